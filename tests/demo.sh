#!/usr/bin/env bash
# `make demo`: ecr-warden's main job, end to end, on the local AWS emulator (the Makefile starts it;
# WARDEN_EMULATOR_URL points at it). tag-guard runs as the real Lambda binary under the Lambda runtime
# emulator (`cargo lambda watch`); events come from events/, the policy from infra/policy.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
aws() { "$py" tests/demo_aws.py "$@"; }
cargo build --quiet -p warden-cli -p tag-guard
warden=target/debug/warden
work=$(mktemp -d)
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

echo "== 1. The policy is validated before anything acts on it"
$warden validate infra/policy.yaml

echo
echo "== 2. Local AWS: state table, the warden topic (with an inbox queue subscribed)"
topic=$(aws setup)
echo "   topic $topic"

echo
echo "== 3. tag-guard starts as a Lambda (cargo lambda watch on 127.0.0.1:$port)"
cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$port" -p tag-guard \
  --env-var AWS_ENDPOINT_URL="$WARDEN_EMULATOR_URL" --env-var AWS_REGION=us-east-1 \
  --env-var AWS_ACCESS_KEY_ID=demo --env-var AWS_SECRET_ACCESS_KEY=demo \
  --env-var WARDEN_TABLE=ecr-warden --env-var WARDEN_TOPIC_ARN="$topic" \
  --env-var WARDEN_POLICY_FILE="$PWD/infra/policy.yaml" --env-var AWS_LAMBDA_LOG_FORMAT=JSON \
  >"$work/lambda.log" 2>&1 &
watch_pid=$!
trap 'kill $watch_pid 2>/dev/null; wait $watch_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
  (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.2
done
invoke() { timeout 120 cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$1" tag-guard \
  | "$py" -c 'import json,sys; r=json.load(sys.stdin); print("   decision:", r.get("decision", r))'; }

echo
echo "== 4. Someone creates svc/payments MUTABLE; the policy says IMMUTABLE_WITH_EXCLUSION"
aws create svc/payments
echo "   before: $(aws mutability svc/payments)"
aws event cloudtrail.create-repository.json "$work/ct.json" \
  detail.requestParameters.repositoryName=svc/payments detail.responseElements.repository.repositoryName=svc/payments
invoke "$work/ct.json"
echo "   after:  $(aws mutability svc/payments)"

echo
echo "== 5. team-a/api is MUTABLE, but v* tags are protected: v1.2.3 is pushed, then moved"
aws create team-a/api
a=$(aws push team-a/api build-41 v1.2.3)
aws event ecr-image-action.push.json "$work/push-a.json" detail.repository-name=team-a/api detail.image-tag=v1.2.3 \
  detail.image-digest="$a" time=2026-11-28T10:00:00Z
invoke "$work/push-a.json"
b=$(aws push team-a/api build-42 v1.2.3)
echo "   v1.2.3 was moved from ${a:7:12} to ${b:7:12}:"
aws tags team-a/api
aws event ecr-image-action.push.json "$work/push-b.json" detail.repository-name=team-a/api detail.image-tag=v1.2.3 \
  detail.image-digest="$b" time=2026-11-28T10:05:00Z
invoke "$work/push-b.json"
echo "   after tag-guard:"
aws tags team-a/api

echo
echo "== 6. The same event again (EventBridge delivers at least once): nothing more happens"
invoke "$work/push-b.json"

echo
echo "== 7. What the warden topic published"
aws inbox

echo
echo "== 8. One summary line per event (CloudWatch EMF), from the Lambda's stdout"
grep -h '"summary":true' "$work/lambda.log" | "$py" -c '
import json, sys
for line in sys.stdin:
    s = json.loads(line)
    calls = ", ".join(f"{k}={v}" for k, v in s["api_calls"].items()) or "none"
    print("   %-11s %4d ms  calls: %s" % (s["kind"], s["DurationMs"], calls))'

echo
echo "== 9. Bad input is refused with the field named (exit 2), never a crash"
for f in events/malformed/*.json; do
  printf '   %-40s ' "$(basename "$f")"
  if $warden explain "$f" >/dev/null 2>"$work/err"; then echo "UNEXPECTEDLY ACCEPTED"; exit 1; fi
  sed 's/^warden: events\/malformed\/[^:]*: //' "$work/err"
done
