#!/usr/bin/env bash
# `make demo`: ecr-warden's main job, end to end, on the local AWS emulator (the Makefile starts it;
# WARDEN_EMULATOR_URL points at it). tag-guard runs as the real Lambda binary under the Lambda runtime
# emulator (`cargo lambda watch`), as do scan-gate, the replicator, notifier and janitor; events come from events/,
# the policy from infra/policy.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
aws() { "$py" tests/demo_aws.py "$@"; }
# The whole workspace, as `cargo lambda watch` below builds each function: one feature set, one build.
cargo build --quiet --workspace --bins
# Where cargo puts binaries (CARGO_TARGET_DIR and build.target-dir included).
target_dir=$(cargo metadata --format-version 1 --no-deps | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
warden=$target_dir/debug/warden
# The CLI acts in the same local account as the Lambdas.
export AWS_ENDPOINT_URL="$WARDEN_EMULATOR_URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
work=$(mktemp -d)
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

echo "== 1. The policy is validated before anything acts on it"
$warden validate infra/policy.yaml

echo
echo "== 2. Local AWS: state table, the warden topic (with an inbox queue subscribed)"
topic=$(aws setup)
echo "   topic $topic"

echo
echo "== 3. The functions start as Lambdas (cargo lambda watch on 127.0.0.1:$port)"
"$py" tests/demo_aws.py slack_standin "$work/slack.port" "$work/slack.posts" &
slack_pid=$!
cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$port" \
  --env-var AWS_ENDPOINT_URL="$WARDEN_EMULATOR_URL" --env-var AWS_REGION=us-east-1 \
  --env-var AWS_ACCESS_KEY_ID=demo --env-var AWS_SECRET_ACCESS_KEY=demo \
  --env-var WARDEN_TABLE=ecr-warden --env-var WARDEN_TOPIC_ARN="$topic" \
  --env-var WARDEN_POLICY_FILE="$PWD/infra/policy.yaml" --env-var AWS_LAMBDA_LOG_FORMAT=JSON \
  >"$work/lambda.log" 2>&1 &
watch_pid=$!
trap 'kill $watch_pid $slack_pid 2>/dev/null; wait $watch_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
  (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.2
done
# invoke FILE [FUNCTION]: one event through the real Lambda runtime.
invoke() { timeout 300 cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$1" "${2:-tag-guard}" \
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
echo "== 8. scan-gate: team-a/api:v2 scans with two CRITICALs; CVE-2026-0001 has an exception, CVE-2026-0099 does not"
c=$(aws push team-a/api build-43 v2)
aws push team-a/api build-43 latest >/dev/null
aws seed_scan team-a/api "$c" CVE-2026-0001 CVE-2026-0099
aws event ecr-image-scan.complete.json "$work/scan.json" detail.repository-name=team-a/api detail.image-digest="$c"
"$py" - "$work/scan.json" <<'PY'
import json, sys
p = sys.argv[1]; ev = json.load(open(p))
ev["detail"]["image-tags"] = ["v2", "latest"]; ev["detail"]["finding-severity-counts"] = {"CRITICAL": 2}
json.dump(ev, open(p, "w"))
PY
invoke "$work/scan.json" scan-gate
echo "   after scan-gate (the failing image only; the others are untouched):"
aws tags team-a/api

echo
echo "== 9. notifier: the verdict, from the warden topic, as Slack Block Kit (a local server stands in for Slack)"
aws secret ecr-warden/slack/team-a "http://127.0.0.1:$(cat "$work/slack.port")/services/T000/B000/XXXX"
n=$(aws sns_from_inbox "$work/sns.json")
echo "   $n message(s) delivered to the notifier"
invoke "$work/sns.json" notifier
aws slack_posts "$work/slack.posts"

echo
echo "== 10. replicator: team-a/api:v3 scans clean → PASS → copied where the policy says (v* tags only)"
r=$(aws push_layers team-a/api build-44 v3)
aws seed_scan team-a/api "$r"
aws event ecr-image-scan.complete.json "$work/scan-clean.json" detail.repository-name=team-a/api detail.image-digest="$r"
"$py" - "$work/scan-clean.json" <<'PY'
import json, sys
p = sys.argv[1]; ev = json.load(open(p))
ev["detail"]["image-tags"] = ["v3"]; ev["detail"]["finding-severity-counts"] = {}
json.dump(ev, open(p, "w"))
PY
invoke "$work/scan-clean.json" scan-gate
n=$(aws sns_from_inbox "$work/pass.json")
echo "   scan-gate's PASS, from the warden topic, to the replicator ($n message)"
invoke "$work/pass.json" replicator
aws copies team-a/api "$r" 123456789012/eu-west-1 210987654321/us-west-2
echo "   the same message again (SNS delivers at least once): nothing is uploaded twice"
invoke "$work/pass.json" replicator

echo
echo "== 11. Inspector: team-a/api:v5 gets a CRITICAL, fixable finding (enhanced scanning) → FAIL → quarantined"
i=$(aws push team-a/api build-45 v5)
aws inspector_finding team-a/api "$i" v5 CVE-2026-0777 ACTIVE "$work/finding-open.json"
invoke "$work/finding-open.json" scan-gate
aws tags team-a/api | grep "${i:7:12}"
echo "   an on-call engineer asks why the deployment of team-a/api:v5 cannot pull it:"
$warden doctor team-a/api:v5 --policy infra/policy.yaml --regions eu-west-1 | sed 's/^/   /' || true

echo
echo "== 12. Inspector closes the finding (the advisory was withdrawn; the image is still scanned) → PASS → v5 released"
aws inspector_finding team-a/api "$i" v5 CVE-2026-0777 CLOSED "$work/finding-closed.json"
invoke "$work/finding-closed.json" scan-gate
aws tags team-a/api | grep "${i:7:12}"

echo
echo "== 13. An exception is added for CVE-2026-0099 (team-a/api:v2, quarantined in step 8); warden gate re-evaluates it now"
expires=$(aws add_exception infra/policy.yaml "$work/policy.yaml" CVE-2026-0099 openssl 30)
echo "   exception until $expires, in a copy of the policy: $work/policy.yaml"
$warden gate "team-a/api@$c" --policy "$work/policy.yaml" --table ecr-warden --topic-arn "$topic" | sed 's/^/   /'
echo "   (exit 0: PASS)"
echo "   --apply: scan-gate's release, from the command line"
$warden gate "team-a/api@$c" --policy "$work/policy.yaml" --table ecr-warden --topic-arn "$topic" --apply >/dev/null
aws tags team-a/api | grep "${c:7:12}"

echo
echo "== 14. janitor: sandbox/web's builds, aged as months of CI leave them (cleanup applies there)"
aws create sandbox/web
declare -A build
for n in 1 2 3 4; do build[$n]=$(aws push sandbox/web "sb-$n" "build-$n"); done
read -r index amd64 arm64 <<<"$(aws push_index sandbox/web build-5 sb-5-amd64 sb-5-arm64)"
aws age sandbox/web "${build[1]}=40" "${build[2]}=35" "${build[3]}=30" "${build[4]}=25" \
  "$index=20" "$amd64=20" "$arm64=20"
aws ecs_service prod web "123456789012.dkr.ecr.us-east-1.amazonaws.com/sandbox/web:build-1" 0
echo "   ECS service prod/web runs build-1 (scaled to 0: it still needs that digest); build-5 is a"
echo "   2-platform index whose children are untagged. Before:"
aws tags sandbox/web
echo "   the plan (dry run, changes nothing):"
$warden plan cleanup --policy infra/policy.yaml --repository sandbox/web | sed 's/^/   /'
echo "   the scheduled janitor Lambda applies it:"
invoke events/scheduled-event.json janitor
echo "   after: build-2 and build-3 deleted; build-1 (ECS), the newest two and the index's children stay"
aws tags sandbox/web

echo "== 15. One summary line per event (CloudWatch EMF), from the Lambdas' stdout"
grep -h '"summary":true' "$work/lambda.log" | "$py" -c '
import json, sys
for line in sys.stdin:
    s = json.loads(line)
    calls = ", ".join(f"{k}={v}" for k, v in s["api_calls"].items()) or "none"
    print("   %-10s %-11s %4d ms  calls: %s" % (s["function"], s["kind"][:11], s["DurationMs"], calls))'

echo
echo "== 16. Bad input is refused with the field named (exit 2), never a crash"
for f in events/malformed/*.json; do
  printf '   %-40s ' "$(basename "$f")"
  if $warden explain "$f" >/dev/null 2>"$work/err"; then echo "UNEXPECTEDLY ACCEPTED"; exit 1; fi
  sed 's/^warden: events\/malformed\/[^:]*: //' "$work/err"
done
