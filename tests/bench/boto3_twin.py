"""The Python twin of scan-gate's count decision, for the cold-start comparison: a Lambda Runtime
API client in Python 3.11 with boto3 clients built at init (ECR, SNS, DynamoDB), the policy loaded
from the same file, and the verdict decided from the event's counts. Not part of ecr-warden."""

import json
import os
import urllib.request

import boto3
import yaml

ecr = boto3.client("ecr")
sns = boto3.client("sns")
dynamodb = boto3.client("dynamodb")
with open(os.environ["WARDEN_POLICY_FILE"]) as f:
    policy = yaml.safe_load(f)

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = f"http://{api}/2018-06-01/runtime/invocation"
with urllib.request.urlopen(f"{base}/next") as response:
    request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(response.read())
counts = event["detail"].get("finding-severity-counts", {})
caps = {}
for rule in policy["repositories"]:
    caps.update((rule.get("gate") or {}).get("max_findings", {}))
failed = [s for s, n in counts.items() if s in caps and n > caps[s]]
answer = json.dumps({"verdict": "FAIL" if failed else "PASS"}).encode()
urllib.request.urlopen(urllib.request.Request(f"{base}/{request_id}/response", data=answer, method="POST"))
