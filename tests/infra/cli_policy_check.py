"""The operator's permissions = the CLI's calls: docs/cli-policy.json grants each `warden` command
exactly the IAM actions its code calls.

The code side is measured: the CLI's tests run the `warden` binary with the `call-log` feature
(cli/Cargo.toml), which appends every AWS operation a command calls to
`$WARDEN_CALL_LOG/warden-<command>.calls` (`plan-cleanup`, `cleanup`, `gate`, `doctor`,
`replicate-backfill`, `replicate-native`, `probe`, `run`, `invoke-<function>`). The document has one
statement per command, its Sid the command in CamelCase (`PlanCleanup`, `InvokeTagGuard`, ...):

  granted  must equal  recorded + untested + assumed

- `invoke-<function>` runs that function's handler in-process (cli/src/invoke.rs), so its calls
  are the function's: those the integration tests record in `<function>.calls`, the policy
  loader's (`policy-load.calls`: without --policy it reads WARDEN_POLICY_SSM), and
  sts:AssumeRole where the function assumes roles (iam_check.PLATFORM: aws-config's
  AssumeRoleProvider, whose STS client no interceptor counts).
- `untested`: calls a command's code makes on a path its tests do not reach, each with where the
  code makes it (checked to be there) and, where a function's tests reach the same code, that
  function's call log (checked to hold the action).
- Not granted: sts:GetCallerIdentity (every command that finds the caller's account calls it;
  AWS requires no permission for it, and its client is not counted).

A command that calls AWS and has no statement fails, as does an action called and not granted, or
granted and neither called nor listed. Commands that read only files (explain, validate, schema)
must leave no call log.

Usage: python tests/infra/cli_policy_check.py docs/cli-policy.json CALL_LOG_DIR [--write]
       (--write: rewrite the document from the call log and the lists below)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from deployment import ROOT
from iam_check import PLATFORM, observed

# Commands that read only files: no statement, and no call log.
NO_AWS = ("explain", "validate", "schema")

# The commands that call AWS (cli/src/main.rs, Command::name), and the call logs of the code they
# run besides their own.
COMMANDS: dict[str, tuple[str, ...]] = {
    "plan-cleanup": (),
    "cleanup": (),
    "gate": (),
    "doctor": (),
    "replicate-backfill": (),
    "replicate-native": (),
    "probe": (),
    "run": (),
    **{f"invoke-{f}": (f, "policy-load") for f in ("tag-guard", "scan-gate", "notifier", "janitor", "replicator")},
}

# Needs no permission: "No permissions are required to perform this operation" (STS API reference,
# GetCallerIdentity). Never granted; not counted either (shared/aws/src/functions/janitor.rs,
# caller_account, builds its own client).
NO_PERMISSION = {"sts:GetCallerIdentity"}

_WORKLOADS = "shared/aws/src/adapters/workloads.rs"
_ASSUMED = (
    "cli/src/aws.rs",
    "assume_role(",
    None,
    "an image in an account the policy's `accounts` names with a role_arn: the CLI tests use one "
    "account (aws-config's AssumeRoleProvider makes the call; no interceptor counts its client)",
)
# A signatures policy's KMS key, read for its public half (gate and doctor show the evidence):
# tests/tests/scan_gate/signatures.rs reaches it through the Lambda (scan-gate.calls).
_KMS_KEYS = (
    "shared/aws/src/adapters/kms_keys.rs", None, "scan-gate",
    "a signatures policy with a kms_key_id: the CLI tests' keys are PEM",
)
# The janitor run `plan cleanup` and `cleanup` make (janitor::run, as the Lambda's), on paths the
# CLI's tests do not reach; tests/tests/janitor/ reaches each through the Lambda (janitor.calls).
_JANITOR_READS = {
    "ecr:BatchGetImage": (
        "shared/aws/src/adapters/ecr/mod.rs", None, "janitor",
        "manifests of image indexes and artifacts (kept with their children and subjects): "
        "cli/tests/registry.rs pushes single images",
    ),
    "ecr:GetLifecyclePolicy": (
        "shared/aws/src/adapters/ecr/repositories.rs", None, "janitor",
        "a policy with cleanup.lifecycle rules: the CLI tests' policies have none",
    ),
    **{
        action: (_WORKLOADS, None, "janitor",
                 "the in-use check, with ECS clusters, task definitions or Lambda functions in the "
                 "account: the CLI tests create none")
        for action in (
            "ecs:ListServices", "ecs:DescribeServices", "ecs:DescribeServiceRevisions", "ecs:ListTasks",
            "ecs:DescribeTasks", "ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition",
            "lambda:GetFunction", "lambda:ListVersionsByFunction",
        )
    },
}

# Sid → action → (source, marker in it (default: the action in quotes), call log that also holds
# the action (or None), why no CLI test reaches it).
UNTESTED: dict[str, dict[str, tuple[str, str | None, str | None, str]]] = {
    "PlanCleanup": _JANITOR_READS,
    "Cleanup": {
        **_JANITOR_READS,
        "ecr:PutLifecyclePolicy": (
            "shared/aws/src/adapters/ecr/repositories.rs", None, "janitor",
            "--apply with cleanup.lifecycle rules the repository's policy differs from",
        ),
    },
    "Gate": {
        "dynamodb:ConditionCheckItem": (
            "shared/aws/src/adapters/verdicts.rs", "ConditionCheck::builder", "scan-gate",
            "--apply on a platform image of an index (its index's verdict, one transaction): the "
            "CLI tests' images are single",
        ),
        "inspector2:ListFindings": (
            "shared/aws/src/adapters/findings.rs", None, "scan-gate",
            "an image under enhanced scanning (Inspector): the CLI tests' images have basic scans",
        ),
        "inspector2:ListCoverage": (
            "shared/aws/src/adapters/findings.rs", None, "scan-gate",
            "an image under enhanced scanning whose findings are closed (is Inspector still "
            "covering it?)",
        ),
        "sns:Publish": (
            "shared/aws/src/adapters/publisher.rs", None, "scan-gate",
            "--apply with --topic-arn or a policy route: the CLI tests give neither",
        ),
        "sts:AssumeRole": _ASSUMED,
        "kms:GetPublicKey": _KMS_KEYS,
        "ecr:DescribeImageSigningStatus": (
            "shared/aws/src/adapters/ecr/signatures.rs", None, "scan-gate",
            "a signatures policy requiring ecr-managed: the CLI tests' require cosign-key",
        ),
    },
    "Doctor": {"sts:AssumeRole": _ASSUMED, "kms:GetPublicKey": _KMS_KEYS},
    "ReplicateBackfill": {
        **{
            action: ("shared/aws/src/adapters/ecr/repository_create.rs", marker, "replicator",
                     "a destination registry whose repository creation template sets " + what
                     + ": the CLI tests' registries have no template")
            for action, marker, what in (
                ("ecr:TagResource", ".tags(", "resource tags"),
                ("ecr:PutLifecyclePolicy", "LifecycleControl::put_lifecycle_policy", "a lifecycle policy"),
                ("ecr:SetRepositoryPolicy", None, "a repository policy"),
            )
        },
        "sns:Publish": (
            "shared/aws/src/adapters/publisher.rs", None, "replicator",
            "--topic-arn: the CLI tests give none",
        ),
        "sts:AssumeRole": (
            "shared/aws/src/runtime/config.rs", "AssumeRoleProvider", None,
            "a destination in another account, through its role_arn: the CLI tests copy within "
            "one (aws-config's AssumeRoleProvider; no interceptor counts its client)",
        ),
    },
    "Probe": {
        "ecr:DescribeRepositories": (
            "cli/src/probe/mod.rs", None, None,
            "clean-up of a repository whose CreateRepository outcome the probe did not see (an "
            "error or Ctrl-C while it was in flight): the tests interrupt it later",
        ),
        "ecr:ListTagsForResource": (
            "cli/src/probe/mod.rs", None, None,
            "the same clean-up: does that repository carry this run's tag?",
        ),
        "ecr:TagResource": (
            "cli/src/probe/mod.rs", ".tags(run", None,
            "no call of its own: CreateRepository with tags needs it (tag-on-create)",
        ),
    },
}


# Sid → the resources its statement names, where narrower than "*": `warden run`'s Step Functions
# actions, each on its resource type as the Service Authorization Reference for AWS Step Functions
# defines it — StartExecution on a stateMachine
# (arn:${Partition}:states:${Region}:${Account}:stateMachine:${StateMachineName}),
# DescribeExecution, GetExecutionHistory and ListMapRuns on an execution
# (...:execution:${StateMachineName}:${ExecutionId}), DescribeMapRun on a mapRun
# (...:mapRun:${StateMachineName}/${MapRunLabel}:${MapRunId}).
RESOURCES: dict[str, list[str]] = {
    "Run": [
        "arn:aws:states:*:*:stateMachine:*",
        "arn:aws:states:*:*:execution:*:*",
        "arn:aws:states:*:*:mapRun:*/*:*",
    ],
}


def sid(command: str) -> str:
    return "".join(part.capitalize() for part in command.split("-"))


def expected(folder: Path) -> tuple[dict[str, set[str]], dict[str, set[str]], list[str]]:
    """Per Sid: the actions recorded, the actions listed (untested or assumed); and problems."""
    recorded: dict[str, set[str]] = {}
    listed: dict[str, set[str]] = {}
    problems: list[str] = []
    logs = {p.stem.removeprefix("warden-") for p in folder.glob("warden-*.calls")}
    for command in sorted(logs - set(COMMANDS)):
        why = "reads only files" if command in NO_AWS else "is not a command this check knows"
        problems.append(f"warden {command} {why}, but called AWS: {sorted(observed(folder, f'warden-{command}'))}")
    for command, others in COMMANDS.items():
        name = sid(command)
        calls = observed(folder, f"warden-{command}")
        for log in others:
            calls |= observed(folder, log)
        recorded[name] = calls - NO_PERMISSION
        listed[name] = set()
        if command.startswith("invoke-"):
            function = command.removeprefix("invoke-")
            if "sts:AssumeRole" in PLATFORM.get(function, {}):
                listed[name].add("sts:AssumeRole")
        for action, (source, marker, log, _why) in UNTESTED.get(name, {}).items():
            listed[name].add(action)
            marker = marker or f'"{action}"'
            if marker not in (ROOT / source).read_text():
                problems.append(f"{name}: STALE {action}: {source} no longer holds {marker}")
            if log and action not in observed(folder, log):
                problems.append(f"{name}: {action} is listed as reached by the same code in {log}.calls, which lacks it")
        if not recorded[name]:
            problems.append(f"{name}: no calls recorded for warden {command} (run the CLI tests with WARDEN_CALL_LOG)")
    return recorded, listed, problems


def document(recorded: dict[str, set[str]], listed: dict[str, set[str]]) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": name, "Effect": "Allow", "Action": sorted(recorded[name] | listed[name]),
             "Resource": RESOURCES.get(name, "*")}
            for name in (sid(c) for c in COMMANDS)
        ],
    }


def main(doc_path: str, log_dir: str, write: bool = False) -> int:
    folder = Path(log_dir)
    if not any(folder.glob("warden-*.calls")):
        print(f"no warden-*.calls in {folder}: run the CLI tests (cli/tests) with WARDEN_CALL_LOG")
        return 2
    recorded, listed, problems = expected(folder)
    if write:
        Path(doc_path).write_text(json.dumps(document(recorded, listed), indent=2) + "\n")
        print(f"wrote {doc_path}")
    doc = json.loads(Path(doc_path).read_text())
    statements: dict[str, set[str]] = {}
    for statement in doc.get("Statement", []):
        name = statement.get("Sid", "")
        if statement.get("Effect") != "Allow" or "NotAction" in statement or name in statements:
            problems.append(f"{name or '(no Sid)'}: one Allow statement per command, with Action")
        if statement.get("Resource") != RESOURCES.get(name, "*"):
            problems.append(f"{name}: Resource must be {RESOURCES.get(name, '*')}")
        action = statement.get("Action", [])
        statements[name] = {action} if isinstance(action, str) else set(action)
    known = {sid(c) for c in COMMANDS}
    for name in sorted(set(statements) - known):
        problems.append(f"{name}: a statement for no command (known: {', '.join(sorted(known))})")
    for name in sorted(known):
        granted = statements.get(name)
        if granted is None:
            problems.append(f"{name}: no statement, but the command calls AWS: {sorted(recorded[name])}")
            continue
        for action in sorted(recorded[name] - granted):
            problems.append(f"{name}: MISSING {action}: the command calls it, the document does not grant it")
        for action in sorted(granted - recorded[name] - listed[name]):
            problems.append(f"{name}: UNUSED {action}: granted, but no test saw the command call it")
        for action in sorted(granted & NO_PERMISSION):
            problems.append(f"{name}: {action} needs no permission: do not grant it")
        print(
            f"{name}: {len(granted)} actions granted, {len(recorded[name] & granted)} called, "
            f"{len(listed[name] & granted)} on untested paths or assumed"
        )
    for problem in problems:
        print(f"  {problem}")
    if problems:
        print(f"CLI policy check: {len(problems)} problem(s) in {doc_path}")
        return 1
    print(f"CLI policy check ({doc_path}): every command is granted exactly what it calls")
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--write"]
    if len(args) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(args[0], args[1], write="--write" in sys.argv[1:]))
