#!/usr/bin/env bash
# `make demo`: ecr-warden's main job, end to end, on the local AWS emulator (started by the Makefile;
# WARDEN_EMULATOR_URL points at it). Every event comes from events/, the policy from infra/policy.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p warden-cli
warden=target/debug/warden

echo "== 1. The policy is checked before anything acts on it"
$warden validate infra/policy.yaml

echo
echo "== 2. Every event ecr-warden receives, parsed (events/*.json)"
for f in events/*.json; do
  printf '  %-58s ' "$(basename "$f")"
  $warden explain "$f" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d.get("repository") or "", " ".join(d.get("tags") or []))'
done

echo
echo "== 3. Bad input is refused with the field named (exit 2), never a crash"
for f in events/malformed/*.json; do
  printf '  %-42s ' "$(basename "$f")"
  if $warden explain "$f" >/dev/null 2>/tmp/warden-demo.err; then echo "UNEXPECTEDLY ACCEPTED"; exit 1; fi
  sed 's/^warden: events\/malformed\/[^:]*: //' /tmp/warden-demo.err
done

echo
echo "== 4. Which policy sections apply to a push into team-a/api"
$warden explain --policy infra/policy.yaml events/ecr-image-action.push.json \
  | python3 -c 'import json,sys
p = json.load(sys.stdin)["policy"]
for k, v in p.items():
    if isinstance(v, dict):
        print("  %-15s from %r" % (k, v["pattern"]))'
