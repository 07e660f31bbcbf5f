"""The demo's view of the local AWS (boto3 from the project venv): set the stage, push images the way a
CI pipeline would (PutImage), show what the functions left behind. The functions themselves run as
real Lambda binaries; nothing here decides anything."""

import hashlib
import json
import os
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3

URL = os.environ["WARDEN_EMULATOR_URL"]
KW = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id="demo", aws_secret_access_key="demo")
ecr, sns, sqs, ddb = (boto3.client(s, **KW) for s in ("ecr", "sns", "sqs", "dynamodb"))


def manifest(seed: str) -> str:
    d = lambda s: "sha256:" + hashlib.sha256(s.encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d("config-" + seed), "size": 1469},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d("layer-" + seed), "size": 3208942}],
    })


def setup() -> None:
    ddb.create_table(TableName="ecr-warden", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    topic = sns.create_topic(Name="ecr-warden")["TopicArn"]
    queue = sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    print(topic)


def create(name: str) -> None:
    ecr.create_repository(repositoryName=name)


def push(repo: str, seed: str, tag: str) -> None:
    body = manifest(seed)
    ecr.put_image(repositoryName=repo, imageManifest=body, imageTag=tag)
    print("sha256:" + hashlib.sha256(body.encode()).hexdigest())


def upload(client, repo: str, blob: bytes) -> str:
    """One blob through ECR's layer upload API (what `docker push` does for each layer)."""
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    upload_id = client.initiate_layer_upload(repositoryName=repo)["uploadId"]
    client.upload_layer_part(repositoryName=repo, uploadId=upload_id, partFirstByte=0,
                             partLastByte=len(blob) - 1, layerPartBlob=blob)
    client.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest])
    return digest


def push_layers(repo: str, seed: str, tag: str) -> None:
    """A real image: its config and two layers uploaded, then its manifest put under `tag`."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layers = [hashlib.sha256(f"{seed}-{i}".encode()).digest() * (4096 * (i + 1)) for i in range(2)]
    body = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": upload(ecr, repo, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": upload(ecr, repo, l), "size": len(l)} for l in layers],
    })
    ecr.put_image(repositoryName=repo, imageManifest=body, imageTag=tag)
    print("sha256:" + hashlib.sha256(body.encode()).hexdigest())


def copies(repo: str, digest: str, *targets: str) -> None:
    """Each target (`account/region`): the image there, compared byte for byte with the source."""
    ids = [{"imageDigest": digest}]
    source = ecr.batch_get_image(repositoryName=repo, imageIds=ids)["images"][0]["imageManifest"]
    for target in targets:
        account, region = target.split("/")
        kw = dict(KW, region_name=region)
        if account != "123456789012":
            creds = boto3.client("sts", **KW).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/ecr-warden-replicator", RoleSessionName="demo")["Credentials"]
            kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"])
        there = boto3.client("ecr", **kw)
        try:
            image = there.batch_get_image(repositoryName=repo, imageIds=ids)["images"]
        except there.exceptions.RepositoryNotFoundException:
            image = []
        if not image:
            print(f"    {target}: no copy")
            continue
        tags = [i.get("imageTag") for i in there.list_images(repositoryName=repo)["imageIds"] if i["imageDigest"] == digest]
        same = "byte-identical manifest" if image[0]["imageManifest"] == source else "DIFFERENT manifest"
        print(f"    {target}/{repo}: {digest[7:19]} {', '.join(t for t in tags if t)} — {same}")


def event(fixture: str, out: str, *edits: str) -> None:
    """Copy a fixture from events/ with KEY.PATH=VALUE edits (detail.image-tag=v1, ...)."""
    with open(os.path.join("events", fixture)) as fh:
        ev = json.load(fh)
    for edit in edits:
        path, value = edit.split("=", 1)
        node = ev
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    with open(out, "w") as fh:
        json.dump(ev, fh)


def mutability(name: str) -> None:
    r = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    filters = [f["filter"] for f in r.get("imageTagMutabilityExclusionFilters", [])]
    print(f"{r['imageTagMutability']} {filters if filters else ''}".strip())


def tags(repo: str) -> None:
    for image in ecr.describe_images(repositoryName=repo)["imageDetails"]:
        print(f"    {image['imageDigest'][7:19]}  {', '.join(image.get('imageTags', [])) or '(untagged)'}")


def seed_scan(repo: str, digest: str, *cves: str) -> None:
    """A finished basic scan with these CRITICAL findings (CVE ids)."""
    findings = [{"name": c, "severity": "CRITICAL", "uri": f"https://nvd.nist.gov/vuln/detail/{c}",
                 "attributes": [{"key": "package_name", "value": "openssl"}, {"key": "package_version", "value": "3.0.12"}]} for c in cves]
    seed_emulator("/_warden/seed/ecr-scan", {"account": "123456789012", "region": "us-east-1", "repository": repo, "digest": digest,
                                     "status": "COMPLETE", "findings": findings})


def secret(name: str, value: str) -> None:
    boto3.client("secretsmanager", **KW).create_secret(Name=name, SecretString=value)


def slack_standin(port_file: str, out_file: str) -> None:
    """A local HTTP server standing in for Slack's incoming webhook: saves each POST body."""
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with open(out_file, "ab") as fh:
                fh.write(body + b"\n")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    with open(port_file, "w") as fh:
        fh.write(str(server.server_port))
    server.serve_forever()


def slack_posts(out_file: str) -> None:
    for line in open(out_file):
        payload = json.loads(line)
        blocks = payload["blocks"]
        print(f"    {len(blocks)} blocks · header: {blocks[0]['text']['text']}")
        for b in blocks[1:4]:
            text = b.get("text", {}).get("text") or " · ".join(f["text"].replace(chr(10), " ") for f in b.get("fields", []))
            print("      " + text.replace(chr(10), chr(10) + "      ")[:400])


def sns_from_inbox(out: str) -> None:
    """Take the newest message from the inbox queue and wrap it the way SNS delivers to Lambda."""
    queue = sqs.get_queue_url(QueueName="demo-inbox")["QueueUrl"]
    records = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for m in got:
            envelope = json.loads(m["Body"])
            # Every field SNS sends a Lambda subscriber (aws_lambda_events' SnsEvent requires them).
            records.append({"EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": envelope["TopicArn"] + ":demo", "Sns": {
                "Type": "Notification", "MessageId": envelope["MessageId"], "TopicArn": envelope["TopicArn"],
                "Subject": envelope.get("Subject"), "Message": envelope["Message"], "Timestamp": envelope["Timestamp"],
                "SignatureVersion": envelope.get("SignatureVersion", "1"), "Signature": envelope.get("Signature", "EXAMPLE"),
                "SigningCertUrl": envelope.get("SigningCertURL", "EXAMPLE"), "UnsubscribeUrl": envelope.get("UnsubscribeURL", "EXAMPLE"),
                "MessageAttributes": envelope.get("MessageAttributes", {})}})
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    with open(out, "w") as fh:
        json.dump({"Records": records}, fh)
    print(len(records))


def inbox() -> None:
    queue = sqs.get_queue_url(QueueName="demo-inbox")["QueueUrl"]
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return
        for m in got:
            envelope = json.loads(m["Body"])
            attrs = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            print(f"    subject: {envelope.get('Subject')}")
            print(f"    attributes: kind={attrs.get('kind')} action={attrs.get('action')} repository={attrs.get('repository')}")
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def seed_emulator(path: str, body: dict) -> None:
    """POST to one of the emulator's seeding routes (tests/emulator)."""
    req = urllib.request.Request(URL + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


def finding(repo: str, digest: str, tag: str, cve: str, status: str) -> dict:
    """Inspector's view of one CRITICAL, fixable finding on the image (the API's Finding shape)."""
    return {
        "findingArn": f"arn:aws:inspector2:us-east-1:123456789012:finding/{cve.lower()}-{digest[7:19]}",
        "awsAccountId": "123456789012", "status": status, "severity": "CRITICAL", "type": "PACKAGE_VULNERABILITY",
        "title": f"{cve} - libxml2", "description": "demo", "remediation": {}, "fixAvailable": "YES",
        "firstObservedAt": 1795654030, "lastObservedAt": 1795654030, "updatedAt": 1795654030,
        "packageVulnerabilityDetails": {"vulnerabilityId": cve, "source": "NVD",
            "vulnerablePackages": [{"name": "libxml2", "version": "2.9.14", "fixedInVersion": "2.9.15"}]},
        "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": f"arn:aws:ecr:us-east-1:123456789012:repository/{repo}/{digest}",
            "details": {"awsEcrContainerImage": {"repositoryName": repo, "imageHash": digest, "imageTags": [tag],
                                                 "registry": "123456789012"}}}],
    }


def finding_event(f: dict) -> dict:
    """The `Inspector2 Finding` EventBridge event for a finding (Inspector's date format)."""
    with open(os.path.join(os.path.dirname(__file__), "..", "events", "inspector2-finding.active.json")) as fh:
        ev = json.load(fh)
    ev["account"] = f["awsAccountId"]
    ev["detail"] = dict(f, firstObservedAt="Nov 28, 2026, 10:47:10 PM", lastObservedAt="Nov 28, 2026, 10:47:10 PM",
                        updatedAt="Dec 2, 2026, 09:12:00 AM")
    return ev


def inspector_finding(repo: str, digest: str, tag: str, cve: str, status: str, out: str) -> None:
    """Seed the finding in the emulator and write the event Inspector sends when it opens or closes it."""
    f = finding(repo, digest, tag, cve, status)
    seed_emulator("/_warden/seed/inspector-findings", {"account": "123456789012", "region": "us-east-1", "findings": [f]})
    with open(out, "w") as fh:
        json.dump(finding_event(f), fh)


def add_exception(src: str, dst: str, cve: str, package: str, days: str) -> None:
    """A copy of the policy with one more time-boxed exception in team-a's gate."""
    import datetime
    expires = (datetime.date.today() + datetime.timedelta(days=int(days))).isoformat()
    text = open(src).read()
    entry = (f"      exceptions:\n        - cve: {cve}\n          package: {package}\n          expires: {expires}\n"
             f"          reason: \"Fixed upstream; rebuild scheduled (SEC-2001)\"\n")
    assert "      exceptions:\n" in text, "team-a's gate has an exceptions list"
    open(dst, "w").write(text.replace("      exceptions:\n", entry, 1))
    print(expires)


def push_index(repo: str, tag: str, *seeds: str) -> None:
    """A multi-arch image: one untagged child per seed (linux/amd64, linux/arm64), then the index
    naming them, under `tag`. Prints the index digest, then each child's."""
    children = []
    for seed, arch in zip(seeds, ("amd64", "arm64")):
        body = manifest(seed)
        ecr.put_image(repositoryName=repo, imageManifest=body)
        children.append(("sha256:" + hashlib.sha256(body.encode()).hexdigest(), len(body), arch))
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": n,
                       "platform": {"architecture": a, "os": "linux"}} for d, n, a in children],
    })
    ecr.put_image(repositoryName=repo, imageManifest=index, imageTag=tag)
    print(" ".join(["sha256:" + hashlib.sha256(index.encode()).hexdigest()] + [d for d, _, _ in children]))


def age(repo: str, *entries: str) -> None:
    """Make images old, as months of CI leave them: DIGEST=DAYS (pushed that many days ago)."""
    import time
    now = int(time.time())
    images = [{"digest": e.split("=")[0], "pushed_at": now - int(e.split("=")[1]) * 86400} for e in entries]
    seed_emulator("/_warden/seed/image-times", {"account": "123456789012", "region": "us-east-1", "repository": repo, "images": images})


def ecs_service(cluster: str, service: str, image: str, desired: str) -> None:
    """An ECS service running `image` (a tag: ECS resolves it to a digest when it deploys)."""
    ecs = boto3.client("ecs", **KW)
    ecs.create_cluster(clusterName=cluster)
    family = ecs.register_task_definition(family=service, containerDefinitions=[
        {"name": "web", "image": image, "memory": 256}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=family, desiredCount=int(desired))


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
