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
    body = json.dumps({"account": "123456789012", "region": "us-east-1", "repository": repo, "digest": digest,
                       "status": "COMPLETE", "findings": findings}).encode()
    req = urllib.request.Request(URL + "/_warden/seed/ecr-scan", data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()


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


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
