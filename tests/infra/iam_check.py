"""IAM = code: each function's role in infra/template.yaml grants exactly the actions its code uses.

The code side is measured, not declared: the integration tests run every function with the
`call-log` feature, which appends each AWS operation a function's handler calls to
`$WARDEN_CALL_LOG/<function>.calls` (and the policy loader's to `policy-load.calls`). The template
side is every action in the role the function's `Role` points at.

  granted  must equal  observed + init + platform

where `init` is the policy loader's calls for a function whose environment names an SSM parameter,
and `platform` is what AWS itself does with the function's role rather than the code (listed below,
each with its reason). An action granted and never used fails, as does one used and not granted.

Usage: python tests/infra/iam_check.py TEMPLATE CALL_LOG_DIR   (SAM YAML or CDK-synthesized JSON)
"""

from __future__ import annotations

import sys
from pathlib import Path

from deployment import ROOT, functions, load

# SDK service ids (smithy metadata) → IAM service prefixes, where lowercasing is not enough.
PREFIXES = {"Secrets Manager": "secretsmanager"}

# What AWS does with a function's role on its behalf: no SDK call of ours shows it.
PLATFORM = {
    "*": {
        "logs:CreateLogStream": "Lambda writes the function's logs to its log group",
        "logs:PutLogEvents": "Lambda writes the function's logs to its log group",
        "sqs:SendMessage": "Lambda sends a failed asynchronous invocation to the on-failure queue",
    },
    "scan-gate": {
        "sqs:ReceiveMessage": "the SQS event source mapping polls the findings queue",
        "sqs:DeleteMessage": "the SQS event source mapping deletes what the batch handled",
        "sqs:GetQueueAttributes": "the SQS event source mapping reads the queue's settings",
        "sts:AssumeRole": "aws-config's AssumeRoleProvider, for the policy's member accounts",
    },
    "tag-guard": {
        "sts:AssumeRole": "aws-config's AssumeRoleProvider, for the policy's member accounts",
    },
    "replicator": {
        "sts:AssumeRole": "aws-config's AssumeRoleProvider, for destination accounts' roles "
        "(tests/tests/replicator/ copies to a second account through one)",
    },
}


# Calls the code makes on a path no integration test reaches yet: granted, listed with where the
# code makes them (checked to be there) and why no test reaches them.
UNTESTED: dict[str, dict[str, tuple[str, str]]] = {
    # scan-gate's dynamodb:DeleteItem (undoing a verdict claim when acting on it fails) was listed
    # here until the fault proxy reached it: tests/tests/faults.rs.
}


def iam_action(operation: str) -> str:
    service, name = operation.split(".", 1)
    return f"{PREFIXES.get(service, service.lower())}:{name}"


def observed(folder: Path, name: str) -> set[str]:
    path = folder / f"{name}.calls"
    if not path.exists():
        return set()
    return {iam_action(line) for line in path.read_text().splitlines() if line}


def main(template_path: str, log_dir: str) -> int:
    folder = Path(log_dir)
    init = observed(folder, "policy-load")
    if not init:
        print(f"no policy-load calls in {folder}: run the integration tests with WARDEN_CALL_LOG")
        return 2
    failures = 0
    for name, function in sorted(functions(load(template_path)).items()):
        grants = function.actions
        used = observed(folder, name)
        if not used:
            print(f"{name}: no calls recorded in {folder}/{name}.calls")
            failures += 1
            continue
        needed = set(used)
        if "WARDEN_POLICY_SSM" in function.env:
            needed |= init
        platform = {**PLATFORM["*"], **PLATFORM.get(name, {})}
        untested = UNTESTED.get(name, {})
        for action, (source, _why) in untested.items():
            if f'"{action}"' not in (ROOT / source).read_text():
                print(f"  STALE    {action}: declared untested, but {source} no longer calls it")
                failures += 1
        missing = needed - grants
        unused = grants - needed - set(platform) - set(untested)
        if missing or unused:
            failures += 1
        print(
            f"{name} ({function.logical_id}): {len(grants)} actions granted, "
            f"{len(used)} called by the code, {len(needed & init)} at init, "
            f"{len(grants & set(platform))} for the platform, "
            f"{len(grants & set(untested))} on untested paths"
        )
        for action in sorted(missing):
            print(f"  MISSING  {action}: the code calls it, the role does not grant it")
        for action in sorted(unused):
            print(f"  UNUSED   {action}: granted, but no test saw the code call it")
    if failures:
        print(f"IAM check: {failures} function(s) differ from their code")
        return 1
    print(f"IAM check ({template_path}): every role grants exactly what its function calls")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
