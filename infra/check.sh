#!/usr/bin/env bash
# The deployment, checked offline (part of `make test`): the SAM template validates and lints
# clean; checkov finds no failed check (each suppression in the template carries its reason);
# every function's role grants exactly the AWS actions its code calls (tests/infra/iam_check.py,
# fed by the call log the integration tests just wrote to $1); the CDK app type-checks and passes
# its assertion tests, and synthesizes the same functions, triggers and IAM as the SAM template
# (with the fan-out engine and without, the SAM conditions decided for each);
# the fan-out state machine's definition and role are the engine contract's in both
# (tests/infra/asl_check.py, with a self-test that mutates the definition and must be rejected).
# The member accounts' template (infra/member.yaml, a StackSet) lints clean, its role grants exactly
# the ECR and Inspector calls tag-guard and scan-gate make, and it forwards every event the hub hears
# from member accounts (tests/infra/member_check.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
call_log=$(realpath -m "${1:?usage: infra/check.sh CALL_LOG_DIR}")
sam=${WARDEN_SAM_VENV:-$root/.venv-sam}/bin
checkov=${WARDEN_CHECKOV_VENV:-$root/.venv-checkov}/bin
# sam validate needs a region; nothing here talks to AWS.
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0
cd "$here"
echo "== sam validate --lint"
"$sam/sam" validate --lint --template-file template.yaml
echo "== cfn-lint"
"$sam/cfn-lint" --non-zero-exit-code informational template.yaml && echo "cfn-lint: no finding"
echo "== checkov"
"$checkov/checkov" --file template.yaml --framework cloudformation --compact --quiet --skip-download
echo "== member template (StackSet): cfn-lint, checkov, member role = code, forwarding = hub"
"$sam/cfn-lint" --non-zero-exit-code informational member.yaml && echo "cfn-lint: no finding (member.yaml)"
"$checkov/checkov" --file member.yaml --framework cloudformation --compact --quiet --skip-download
"$sam/python" "$root/tests/infra/member_check.py" member.yaml template.yaml "$call_log"
echo "== IAM = code"
"$sam/python" "$root/tests/infra/iam_check.py" template.yaml "$call_log"
echo "== each function built alone (sam build's CodeUri): its own SDK features only"
"$sam/python" "$root/tests/infra/features.py" template.yaml
echo "== samconfig: shared settings only"
"$sam/python" "$root/tests/infra/samconfig_check.py" samconfig.toml template.yaml
echo "== CDK app: type check and assertion tests"
cdk_out=$(mktemp -d)
trap 'rm -rf "$cdk_out"' EXIT
(cd cdk && npx tsc --noEmit && npx jest --silent)
echo "== SAM and CDK deploy the same, with the fan-out engine and without"
# Synthesized without bundling (the template is what is compared, not the binaries), with one
# member account and one destination account role, so that the conditional grants appear in both,
# once with the fan-out engine (context fanOut) and once without; the SAM template is read as the
# stack that FanOut value deploys (its conditions decided: with the engine, janitor's and
# tag-guard's own schedules do not exist).
context='"aws:cdk:bundling-stacks": [], "memberAccountIds": "111122223333", "memberAccountRoleArns": "arn:aws:iam::111122223333:role/ecr-warden", "replicationRoleArns": "arn:aws:iam::210987654321:role/ecr-warden-replicator"'
mkdir -p "$cdk_out/single"
(cd cdk && CDK_OUTDIR="$cdk_out" CDK_CONTEXT_JSON="{$context, \"fanOut\": \"enabled\"}" \
  npx ts-node --prefer-ts-exts bin/ecr-warden.ts)
(cd cdk && CDK_OUTDIR="$cdk_out/single" CDK_CONTEXT_JSON="{$context}" \
  npx ts-node --prefer-ts-exts bin/ecr-warden.ts)
"$sam/python" "$root/tests/infra/compare.py" template.yaml "$cdk_out/ecr-warden.template.json" FanOut=enabled
"$sam/python" "$root/tests/infra/compare.py" template.yaml "$cdk_out/single/ecr-warden.template.json" FanOut=disabled
echo "== the fan-out state machine (infra/fanout.asl.json) as SAM and the CDK deploy it = the engine contract"
"$sam/python" "$root/tests/infra/asl_check.py" --self-test template.yaml "$cdk_out/ecr-warden.template.json"
echo "== checkov, CDK"
"$checkov/checkov" --file "$cdk_out/ecr-warden.template.json" --framework cloudformation --compact --quiet --skip-download
echo "== IAM = code, CDK"
"$sam/python" "$root/tests/infra/iam_check.py" "$cdk_out/ecr-warden.template.json" "$call_log"
echo "== the operator's CLI permissions (docs/cli-policy.json) = the CLI's calls"
"$sam/python" "$root/tests/infra/cli_policy_check.py" "$root/docs/cli-policy.json" "$call_log"
