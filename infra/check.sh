#!/usr/bin/env bash
# The deployment, checked offline (part of `make test`): the SAM template validates and lints
# clean, checkov finds no failed check (each suppression in the template carries its reason), and
# every function's role grants exactly the AWS actions its code calls (tests/infra/iam_check.py, fed by
# the call log the integration tests just wrote to $1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
call_log=${1:?usage: infra/check.sh CALL_LOG_DIR}
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
echo "== IAM = code"
"$sam/python" "$root/tests/infra/iam_check.py" template.yaml "$call_log"
