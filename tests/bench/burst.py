"""Bursts through the real Lambda binaries: 1,000 ECR push events (tag-guard) and 2,000 Inspector
finding messages in SQS batches of 10 (scan-gate) for 50 images, delivered at least once and in any
order, each binary serving them one after another from a loopback Lambda Runtime API, as one warm
Lambda container does. Afterwards the emulator's state is read back and every image must be in its
right state; each event's API calls (from the function's summary line) must equal the documented
floors; p50/p99 handler time and the process's peak RSS are printed.

usage: python burst.py BIN_DIR   (WARDEN_EMULATOR_URL: a running emulator; BIN_DIR holds tag-guard
and scan-gate)
"""

from __future__ import annotations

import collections
import hashlib
import http.server
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import demo_aws  # noqa: E402  (images, findings and seeding, shared with the demo)
URL = os.environ["WARDEN_EMULATOR_URL"]
ACCOUNT = "123456789012"
KW = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id="burst", aws_secret_access_key="burst")
REPO = "burst/app"
IMAGES = 50
POLICY = """version: 1
repositories:
  - match: "burst/*"
    immutability: { mode: MUTABLE }
    protected_tags: { patterns: ["v*"] }
    gate: { max_findings: { CRITICAL: 0 }, on_fail: quarantine }
"""


class Driver(http.server.BaseHTTPRequestHandler):
    """The Runtime API for one process: hands out the queued payloads one by one, timing each from
    the moment it is handed out to the moment its response arrives."""

    queue: list[bytes] = []
    times: list[float] = []
    errors: list[str] = []
    started: dict[str, float] = {}
    done = threading.Event()

    def do_GET(self):  # noqa: N802
        cls = type(self)
        if not cls.queue:
            cls.done.set()
            time.sleep(30)
            return
        payload = cls.queue.pop(0)
        request_id = f"burst-{len(cls.times) + len(cls.errors) + len(cls.started)}"
        cls.started[request_id] = time.perf_counter()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 300_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:burst")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):  # noqa: N802
        cls = type(self)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request_id = self.path.split("/")[-2]
        took = time.perf_counter() - cls.started.pop(request_id)
        if self.path.endswith("/error"):
            cls.errors.append(body.decode()[:300])
        else:
            cls.times.append(took)
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(binary: Path, payloads: list[bytes], env: dict[str, str]) -> tuple[list[float], list[str], int, list[dict]]:
    """Run `binary` until it has answered every payload; its handler times, error bodies, peak RSS
    (KiB) and summary lines."""
    handler = type("Api", (Driver,), {"queue": list(payloads), "times": [], "errors": [], "started": {},
                                       "done": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([str(binary)], stdout=log, stderr=subprocess.DEVNULL, env={
        "PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "burst", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "burst", "AWS_SECRET_ACCESS_KEY": "burst", "AWS_ENDPOINT_URL": URL,
        "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN", **env})
    try:
        if not handler.done.wait(900):
            raise RuntimeError(f"{binary.name}: not done within 15 minutes")
        rss = 0
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1])
    finally:
        proc.kill()
        proc.wait()
        server.shutdown()
    log.seek(0)
    summaries = [json.loads(l) for l in log.read().decode().splitlines() if '"summary":true' in l]
    return handler.times, handler.errors, rss, summaries


def event(fixture: str) -> dict:
    return json.loads((ROOT / "events" / fixture).read_text())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name: str, events: int, times: list[float], rss: int) -> None:
    ms = [t * 1000 for t in times]
    print(f"| {name} | {events} | {len(times)} | {statistics.median(ms):.1f} ms | {percentile(ms, 99):.1f} ms | {rss / 1024:.1f} MiB |")


def main() -> None:
    bins = Path(sys.argv[1])
    rng = random.Random(20261202)
    ecr, ddb, sns, sqs = (boto3.client(s, **KW) for s in ("ecr", "dynamodb", "sns", "sqs"))
    table = "burst-state"
    ddb.create_table(TableName=table, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    topic = sns.create_topic(Name="burst")["TopicArn"]
    queue = sqs.create_queue(QueueName="burst-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    ecr.create_repository(repositoryName=REPO)
    digests = []
    for i in range(IMAGES):
        body = demo_aws.manifest(f"burst-{i}")
        ecr.put_image(repositoryName=REPO, imageManifest=body, imageTag=f"v{i}")
        digests.append("sha256:" + hashlib.sha256(body.encode()).hexdigest())
    policy = Path(tempfile.mkdtemp()) / "policy.yaml"
    policy.write_text(POLICY)
    env = {"WARDEN_TABLE": table, "WARDEN_TOPIC_ARN": topic, "WARDEN_POLICY_FILE": str(policy)}

    # 1,000 pushes: each image's push event 20 times (EventBridge delivers at least once), shuffled.
    pushes = []
    for i, digest in enumerate(digests):
        e = event("ecr-image-action.push.json")
        e["account"] = ACCOUNT
        e["detail"].update({"repository-name": REPO, "image-digest": digest, "image-tag": f"v{i}"})
        pushes += [json.dumps(e).encode()] * 20
    rng.shuffle(pushes)
    times, errors, rss, summaries = serve(bins / "tag-guard", pushes, env)
    assert not errors, errors[:3]
    calls = collections.Counter(sum(s["api_calls"].values()) for s in summaries)
    assert calls == {1: len(pushes)}, f"tag-guard: calls per push {dict(calls)} (floor: 1)"
    ledger = ddb.scan(TableName=table)["Items"]
    assert len(ledger) == IMAGES, f"{len(ledger)} ledger entries for {IMAGES} protected tags"
    print("| function | events | invocations | p50 handler | p99 handler | peak RSS |\n|---|---:|---:|---:|---:|---:|")
    report("tag-guard (push)", len(pushes), times, rss)

    # 2,000 Inspector finding messages in batches of 10: the first 25 images have an ACTIVE
    # CRITICAL finding (→ FAIL, quarantined), the other 25 a CLOSED one on an image Inspector still
    # scans (→ PASS); each image's message 40 times, shuffled across batches.
    seeded, messages = [], []
    for i, digest in enumerate(digests):
        status = "ACTIVE" if i < IMAGES // 2 else "CLOSED"
        f = demo_aws.finding(REPO, digest, f"v{i}", "CVE-2026-4242", status)
        seeded.append(f)
        messages += [json.dumps(demo_aws.finding_event(f))] * 40
    demo_aws.seed_emulator("/_warden/seed/inspector-findings", {"account": ACCOUNT, "region": "us-east-1", "findings": seeded})
    rng.shuffle(messages)
    batch = event("sqs.inspector2-finding-batch.json")
    template = batch["Records"][0]
    batches, evaluations, passes = [], 0, 0
    for start in range(0, len(messages), 10):
        named = {json.loads(body)["detail"]["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"]
                 for body in messages[start:start + 10]}
        evaluations += len(named)  # one evaluation per image per batch, however many messages name it
        passes += sum(1 for d in named if digests.index(d) >= IMAGES // 2)
        records = []
        for n, body in enumerate(messages[start:start + 10]):
            r = dict(template, messageId=f"m-{start + n}", body=body)
            records.append(r)
        batches.append(json.dumps({"Records": records}).encode())
    times, errors, rss, summaries = serve(bins / "scan-gate", batches, env)
    assert not errors, errors[:3]
    per_batch = collections.Counter()
    totals = collections.Counter()
    for s in summaries:
        for op, n in s["api_calls"].items():
            totals[op] += n
        per_batch[sum(s["api_calls"].values())] += 1
    half = IMAGES // 2
    assert totals["ECR.PutImage"] == half and totals["ECR.BatchDeleteImage"] == half, dict(totals)
    assert totals["SNS.Publish"] == IMAGES, f"one verdict message per image, got {totals['SNS.Publish']}"
    # Floors per evaluation: 1 ListFindings + 1 conditional PutItem (the verdict claim), + 1
    # ListCoverage for a PASS from findings; the quarantine once per failing image: 1 BatchGetImage,
    # 1 PutImage, 1 BatchDeleteImage; 1 Publish per image whose verdict changed (the first).
    assert totals["Inspector2.ListFindings"] == evaluations == totals["DynamoDB.PutItem"], (evaluations, dict(totals))
    assert totals["Inspector2.ListCoverage"] == passes, (passes, dict(totals))
    assert totals["ECR.BatchGetImage"] == half, dict(totals)
    images = {d["imageDigest"]: d.get("imageTags", []) for d in ecr.describe_images(repositoryName=REPO, maxResults=1000)["imageDetails"]}
    for i, digest in enumerate(digests):
        want = [f"quarantine-v{i}-{digest[7:19]}"] if i < half else [f"v{i}"]
        assert images[digest] == want, f"image {i}: {images[digest]} (want {want})"
    report("scan-gate (SQS batches of 10)", len(messages), times, rss)
    print(f"\nscan-gate: {len(batches)} batches, {evaluations} evaluations ({passes} PASS from findings); "
          f"calls {dict(sorted(totals.items()))} — the floors exactly")
    print("end state: 50 protected tags recorded once; 25 images quarantined, 25 untouched; one verdict message each")


if __name__ == "__main__":
    main()
