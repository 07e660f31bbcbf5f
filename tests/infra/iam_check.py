"""IAM = code: each function's role in infra/template.yaml grants exactly the actions its code uses,
on resources and under conditions that cover every resource its code names.

The code side is measured, not declared: the integration tests run every function with the
`call-log` feature, which appends each AWS operation a function's handler calls to
`$WARDEN_CALL_LOG/<function>.calls` (and the policy loader's to `policy-load.calls`), with what the
call named (shared/aws/src/runtime/calls.rs):

  ECR.PutImage repository=team-a/api registry=123456789012 region=us-east-1
  DynamoDB.GetItem table=ecr-warden key=verdict#team-a/api@sha256:... region=us-east-1

(a line with no `key=value` fields — an older log — is checked for its action only). The template
side is every statement in the role the function's `Role` points at.

1. Actions:  granted  must equal  observed + init + platform

   where `init` is the policy loader's calls for a function whose environment names an SSM
   parameter, and `platform` is what AWS itself does with the function's role rather than the code
   (listed below, each with its reason). An action granted and never used fails, as does one used
   and not granted.

2. Resources and conditions: every recorded call must be allowed by some statement of the role
   that grants its action, whose Resource patterns cover the ARN the call names (IAM's `*` and `?`)
   and whose Condition holds for what the call names (`dynamodb:LeadingKeys`: the partition key
   values). The call's ARN is built from its fields (an action with no resource type needs `*`).
   The template's ARNs are resolved with the values the tests use:
   - `${AWS::Region}` is the region the function runs in: the line's `home` (the process's
     AWS_REGION: a `warden` the CLI tests run, in whatever region they give it), else the tests'
     REGION, us-east-1 (tests/src/lib.rs). A call in another region (the replicator's copies to
     eu-west-1) must be granted there.
   - `${AWS::AccountId}` stands for any account: every test runs in an account of its own
     (tests/src/lib.rs, `Emulator::account`), which the call log does not record, so the check
     compares everything in an ARN but the deployment's own account (a literal account in the
     template is compared). A call that names no account (no registryId, a bare name) is in the
     caller's, written 123456789012.
   - parameters take their defaults; a resource the stack creates is the one the tests create in
     its place (TEST_RESOURCES); names the tests give differently from a deployment are translated
     (TEST_NAMES).
   - what a call log line cannot name is read from the function's environment in the template:
     scan-gate's grace schedules (GRACE_SCHEDULE: its WARDEN_GRACE_SCHEDULE_GROUP, a stand-in
     name) and the role each schedule passes (IMPLIED: iam:PassRole, authorized with every
     scheduler:CreateSchedule, on WARDEN_GRACE_SCHEDULER_ROLE_ARN, passed to Scheduler); or
     stood in for: the signing job and profile of a Notation signature whose revocation
     scan-gate asks AWS Signer (SIGNER_STAND_INS, in another account).

Usage: python tests/infra/iam_check.py TEMPLATE CALL_LOG_DIR   (SAM YAML or CDK-synthesized JSON)
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from deployment import ROOT, Evaluator, _ref, _statements, functions, load

# SDK service ids (smithy metadata) → IAM service prefixes, where lowercasing is not enough.
# aws-sdk-signerdata (AWS Signer's data plane, signing name `signer`) names its operations
# `Signer Data.<Operation>`; the Service Authorization Reference lists GetRevocationStatus (SDK
# client signer-data) as the IAM action signer:GetRevocationStatus.
PREFIXES = {"Secrets Manager": "secretsmanager", "Signer Data": "signer", "SFN": "states"}

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
    # The fan-out engine's cleanup shards and plans in member accounts (docs/state-machine.md).
    "janitor": {
        "sts:AssumeRole": "aws-config's AssumeRoleProvider, for the policy's member accounts",
    },
    "fanout": {
        "sts:AssumeRole": "aws-config's AssumeRoleProvider, for the policy's member accounts",
    },
}


# Calls the code makes on a path no integration test reaches yet: granted, listed with where the
# code makes them (checked to be there) and why no test reaches them.
UNTESTED: dict[str, dict[str, tuple[str, str]]] = {
    # scan-gate's dynamodb:DeleteItem (undoing a verdict claim when acting on it fails) was listed
    # here until the fault proxy reached it: tests/tests/faults.rs. The replicator's backfill-shard
    # checkpoint (PutItem, DeleteItem) until tests/tests/replicator/shards.rs stopped one for time.
}

# The tests' stand-ins for what the stack creates, by resource type: a Ref / GetAtt to one of these
# in a Resource is the resource the tests create in its place.
TEST_RESOURCES = {
    # tests/src/lib.rs, TestAccount::state_table: the functions' WARDEN_TABLE.
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/ecr-warden",
    # tests/src/lib.rs, TestAccount::topic_with_queue: the functions' WARDEN_TOPIC_ARN.
    "AWS::SNS::Topic": "arn:aws:sns:${AWS::Region}:${AWS::AccountId}:ecr-warden",
    # The fan-out engine's bucket (FanOutFunction's WARDEN_FANOUT_BUCKET): the tests must name
    # theirs ecr-warden-fanout.
    "AWS::S3::Bucket": "arn:aws:s3:::ecr-warden-fanout",
}

# Names the tests give where a deployment's differ: (field, the tests' prefix, the deployment's).
TEST_NAMES = [
    # tests/tests/notifier.rs names its webhook secrets slack/<name>; a deployment keeps them under
    # SlackSecretPrefix (SAM parameter, CDK slackSecretPrefix), default ecr-warden/slack/.
    ("secret", "slack/", "ecr-warden/slack/"),
]

# A call that names no account is in the caller's: this stands for it (the emulator's default).
OWN_ACCOUNT = "123456789012"
OWN_REGION = "us-east-1"  # tests/src/lib.rs, REGION: where the tests run their functions
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::AccountId": "${AWS::AccountId}",
    "AWS::Region": "${AWS::Region}",
    "AWS::StackName": "ecr-warden",
    "AWS::NoValue": None,
}
# In a resolved pattern: the deployment's own account, matching any.
ANY_ACCOUNT = r"\d{12}"


def parse(line: str) -> tuple[str, list[tuple[str, str]]]:
    """`Service.Operation k=v k=v` → the operation and its fields (a service id may hold a space:
    `Secrets Manager.GetSecretValue secret=x`; a field is a trailing token holding `=`)."""
    tokens = line.split(" ")
    n = len(tokens)
    while n > 1 and "=" in tokens[n - 1]:
        n -= 1
    fields = [tuple(t.split("=", 1)) for t in tokens[n:]]
    return " ".join(tokens[:n]), [(k, unquote(v)) for k, v in fields]


# Operations authorized by another action's permission. ECR's API reference, ListImageReferrers:
# "The IAM principal invoking this operation must have the ecr:BatchGetImage permission."
PERMISSION_OF = {"ecr:ListImageReferrers": "ecr:BatchGetImage"}


def iam_action(operation: str) -> str:
    """`ECR.PutImage` (or a whole call-log line) → `ecr:PutImage`; an operation authorized by
    another action's permission → that action."""
    service, name = parse(operation)[0].split(".", 1)
    action = f"{PREFIXES.get(service, service.lower())}:{name}"
    return PERMISSION_OF.get(action, action)


# Actions IAM also authorizes for every call of an action, with the environment variable that names
# the resource. EventBridge Scheduler User Guide, "Using identity-based policies": creating a
# schedule whose target names an execution role needs iam:PassRole on that role (the condition
# key iam:PassedToService is scheduler.amazonaws.com). scan-gate's role is
# WARDEN_GRACE_SCHEDULER_ROLE_ARN (shared/aws/src/functions/scan_gate.rs).
IMPLIED = {"scheduler:CreateSchedule": ("iam:PassRole", "WARDEN_GRACE_SCHEDULER_ROLE_ARN", "scheduler.amazonaws.com")}

# The call log names no schedule (shared/aws/src/runtime/calls/log.rs reads no Scheduler member):
# scan-gate names each `warden-grace-<40 hex>` in WARDEN_GRACE_SCHEDULE_GROUP (default `default`),
# shared/aws/src/adapters/deadlines.rs (checked to still say so). The group is read from the
# function's environment in the template, the name stands for every such name.
GRACE_SCHEDULE = ("shared/aws/src/adapters/deadlines.rs", "warden-grace-", "warden-grace-" + "0" * 40)

# What signer:GetRevocationStatus is authorized on: the Service Authorization Reference lists two
# required resource types, signing-job and signing-profile, the signature's own (a Notation
# signature AWS Signer made names both in its signed attributes, com.amazonaws.signer.*). The
# call log names neither unless it records them as `signing_job=` / `signing_profile=` (a REST GET
# whose query string shared/aws/src/runtime/calls/log.rs does not read today): then one job and one
# profile version of another account (a central signing account, the common case) stand for them,
# in the call's region.
SIGNING_ACCOUNT = "210987654321"
SIGNER_STAND_INS = {
    "signing_job": "arn:aws:signer:{region}:" + SIGNING_ACCOUNT + ":/signing-jobs/00000000-0000-0000-0000-000000000000",
    "signing_profile": "arn:aws:signer:{region}:" + SIGNING_ACCOUNT + ":/signing-profiles/warden/abcdef1234",
}

# Actions IAM also authorizes for a call with this field. ECR User Guide, "Using Tag-Based Access
# Control": "If tags are specified in the resource-creating action, Amazon performs additional
# authorization on the ecr:CreateRepository action to verify if users have permissions to create
# tags" (its example grants ecr:TagResource). The call log marks such a call `tagged=yes`.
ALSO_AUTHORIZED = {("ecr:CreateRepository", "tagged"): "ecr:TagResource"}


# DynamoDB Developer Guide, "Using IAM with DynamoDB transactions": "Permissions for Put, Update,
# Delete, and Get actions are governed by the permissions used for the underlying PutItem,
# UpdateItem, DeleteItem, and GetItem operations. For the ConditionCheck action, you can use the
# dynamodb:ConditionCheckItem permission in IAM policies." The call log names each item's kind
# (`item=`).
TRANSACT_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def observed(folder: Path, name: str) -> set[str]:
    return {action for action, _ in recorded(folder, name)}


def recorded(folder: Path, name: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """Each distinct (IAM action, fields) of `<name>.calls`."""
    path = folder / f"{name}.calls"
    if not path.exists():
        return set()
    found = set()
    for line in path.read_text().splitlines():
        if line:
            operation, fields = parse(line)
            action = iam_action(operation)
            if action == "dynamodb:TransactWriteItems":
                # No IAM action of its own: each item is authorized as its operation.
                for key, kind in fields:
                    if key == "item":
                        found.add((TRANSACT_ITEMS[kind], tuple(f for f in fields if f[0] != "item")))
                continue
            found.add((action, tuple(fields)))
            if action in IMPLIED:
                found.add((IMPLIED[action][0], tuple(fields)))
            for key, _ in fields:
                if (action, key) in ALSO_AUTHORIZED:
                    found.add((ALSO_AUTHORIZED[(action, key)], tuple(fields)))
    return found


# ------------------------------------------------------------------------------ the call's side


@dataclass
class Call:
    action: str
    fields: tuple[tuple[str, str], ...]
    resources: list[str]
    home: str = OWN_REGION
    context: dict[str, list[str]] = field(default_factory=dict)

    def shown(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.fields)


def call(action: str, fields: tuple[tuple[str, str], ...], env: dict[str, Any] | None = None) -> Call:
    """The ARNs IAM authorizes `action` against for a call with these fields, and the condition
    keys the call sets; `env` is the function's environment in the template (resolved), for what
    the call log does not name."""
    env = env or {}
    values: dict[str, list[str]] = {}
    for key, value in fields:
        for field_, tests, deployed in TEST_NAMES:
            if key == field_ and value.startswith(tests):
                value = deployed + value[len(tests):]
        values.setdefault(key, []).append(value)
    one = lambda key, default=None: (values.get(key) or [default])[0]  # noqa: E731
    region = one("region", OWN_REGION)
    service, name = action.split(":", 1)
    arn = f"arn:aws:{service}:{region}:{OWN_ACCOUNT}:"
    resources: list[str] = []
    context: dict[str, list[str]] = {}
    if service == "ecr":
        account = one("registry", OWN_ACCOUNT)
        resources = [f"arn:aws:ecr:{region}:{account}:repository/{r}" for r in values.get("repository", [])]
    elif service == "dynamodb":
        resources = [f"{arn}table/{t}" for t in values.get("table", [])]
        if "key" in values:
            context["dynamodb:LeadingKeys"] = values["key"]
    elif service == "sns":
        resources = values.get("topic", []) + values.get("target", [])
    elif service == "sts":
        resources = values.get("role", [])
    elif service == "ssm":
        resources = [
            p if p.startswith("arn:") else f"{arn}parameter{p}" if p.startswith("/") else f"{arn}parameter/{p}"
            for p in values.get("parameter", [])
        ]
    elif service == "secretsmanager":
        # A secret's ARN ends in a random 6-character suffix; AbCdEf stands for it.
        resources = [s if s.startswith("arn:") else f"{arn}secret:{s}-AbCdEf" for s in values.get("secret", [])]
    elif service == "s3":
        # An object: `bucket=` and `key=` (the fan-out planner's manifests under runs/, the map
        # run's results under results/); a call naming no key is authorized against `*`, which no
        # object grant covers: the call log must name it.
        bucket = one("bucket") or env.get("WARDEN_FANOUT_BUCKET")
        # The tests name each account's bucket ecr-warden-fanout-<account> (S3 names are global).
        bucket = re.sub(r"^ecr-warden-fanout-\d{12}$", "ecr-warden-fanout", bucket or "") or None
        resources = [f"arn:aws:s3:::{bucket}/{k}" for k in values.get("key", [])] if bucket else []
    elif service == "lambda":
        resources = [f if f.startswith("arn:") else f"{arn}function:{f}" for f in values.get("function", [])]
    elif service == "ecs":
        cluster = one("cluster", "default").rsplit("/", 1)[-1]
        kinds = {"DescribeServices": "service", "DescribeTasks": "task",
                 "DescribeServiceRevisions": "service-revision"}
        kind = kinds.get(name)
        if kind:
            resources = [v if v.startswith("arn:") else f"{arn}{kind}/{cluster}/{v}" for v in values.get(kind, [])]
    elif service == "kms":
        # A key id, key ARN (an alias would name the alias: none is used by the tests).
        resources = [k if k.startswith("arn:") else f"{arn}key/{k}" for k in values.get("kms_key", [])]
    elif service == "signer" and name == "GetRevocationStatus":
        for key, stand_in in SIGNER_STAND_INS.items():
            resources.extend(values.get(key) or [stand_in.format(region=region)])
    elif service == "scheduler" and name == "CreateSchedule":
        group = one("group") or env.get("WARDEN_GRACE_SCHEDULE_GROUP") or "default"
        resources = [f"{arn}schedule/{group}/{one('schedule') or GRACE_SCHEDULE[2]}"]
    elif action in {implied for implied, _, _ in IMPLIED.values()}:
        for implied, variable, passed_to in IMPLIED.values():
            if implied == action:
                resources = values.get("role") or ([str(env[variable])] if variable in env else [])
                context["iam:PassedToService"] = [passed_to]
    # No resource named (or an action without a resource type): IAM asks for `*`.
    return Call(action, fields, resources or ["*"], one("home", OWN_REGION), context)


# ------------------------------------------------------------------------------ the template's side


class Resolver(Evaluator):
    """A template's values with parameters at their defaults, pseudo parameters as above, the stack's
    own resources as the tests' stand-ins, and conditions evaluated."""

    def ref(self, name: str) -> Any:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        return self.attribute(name, "Ref")

    def attribute(self, logical: str, attribute: str) -> str:
        kind = self.template["Resources"][logical]["Type"]
        if kind in TEST_RESOURCES:
            arn = TEST_RESOURCES[kind]
            if attribute == "Ref" and kind == "AWS::DynamoDB::Table":
                return arn.rsplit("/", 1)[1]
            if attribute == "Ref" and kind == "AWS::S3::Bucket":
                return arn.rsplit(":", 1)[1]
            return arn
        # Not a resource any call names (log groups, queues): named by its logical id.
        return f"<{logical}.{attribute}>"

    def resources(self, statement: dict[str, Any]) -> list[str]:
        found = self.value(statement.get("Resource", []))
        found = found if isinstance(found, list) else [found]
        flat: list[str] = []
        for item in found:
            flat.extend(item if isinstance(item, list) else [item])
        return [r for r in flat if r not in (None, "")]


def glob(pattern: str, home: str = OWN_REGION) -> re.Pattern:
    """IAM's wildcards (`*`, `?`); the deployment's own account (any) and region (`home`)."""
    out = ""
    for piece in re.split(r"(\$\{AWS::(?:AccountId|Region)\}|\*|\?)", pattern):
        special = {"${AWS::AccountId}": ANY_ACCOUNT, "${AWS::Region}": re.escape(home), "*": ".*", "?": "."}
        out += special.get(piece) or re.escape(piece)
    return re.compile(out, re.DOTALL)


def matches(pattern: str, value: str, ignore_case: bool = False, home: str = OWN_REGION) -> bool:
    regex = glob(pattern.lower() if ignore_case else pattern, home)
    return regex.fullmatch(value.lower() if ignore_case else value) is not None


OPERATORS = {
    "StringEquals": lambda p, v: p == v,
    "StringLike": lambda p, v: matches(p, v),
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": lambda p, v: matches(p, v),
}


def condition_holds(condition: dict[str, Any], context: dict[str, list[str]]) -> tuple[bool, str]:
    """Whether every condition of a statement holds for the call; if not, why."""
    for operator, tests in condition.items():
        qualifier, _, base = operator.rpartition(":")
        test = OPERATORS.get(base)
        if test is None or qualifier not in ("", "ForAllValues", "ForAnyValue"):
            return False, f"operator {operator} is not one the check evaluates"
        for key, wanted in tests.items():
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if key not in context:
                return False, f"{key}: the call log names no value for it"
            values = context[key]
            hit = [any(test(w, v) for w in wanted) for v in values]
            ok = all(hit) if qualifier in ("", "ForAllValues") else any(hit)
            if not ok:
                return False, f"{operator} {key} {wanted}"
    return True, ""


def action_matches(pattern: str, action: str) -> bool:
    return matches(pattern, action, ignore_case=True)


def role_statements(template: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    """Every statement of the function's role: its inline policies and the policies attached to it."""
    resources = template["Resources"]
    role_id = _ref(resources[logical_id]["Properties"]["Role"])
    found = list(_statements(resources[role_id]["Properties"].get("Policies", [])))
    for other in resources.values():
        if other["Type"] == "AWS::IAM::Policy" and any(
            _ref(r) == role_id for r in other["Properties"].get("Roles", [])
        ):
            found.extend(_statements(other["Properties"]["PolicyDocument"]))
    return found


def allowed(c: Call, statements: list[dict[str, Any]], resolver: Resolver) -> list[tuple[str, str]]:
    """Each of the call's resources that is not allowed, with why (empty: all are)."""
    problems = []
    for resource in c.resources:
        reasons = []
        for statement in statements:
            if "NotAction" in statement or "NotResource" in statement:
                raise ValueError(f"NotAction/NotResource is not expected: {statement}")
            actions = statement["Action"]
            if not any(action_matches(a, c.action) for a in ([actions] if isinstance(actions, str) else actions)):
                continue
            patterns = resolver.resources(statement)
            sid = statement.get("Sid", "(no Sid)")
            if not any(matches(p, resource, home=c.home) for p in patterns):
                shown = ", ".join(p.replace("${AWS::Region}", c.home) for p in patterns)
                reasons.append(f"{sid} grants it on {shown}")
                continue
            ok, why = condition_holds(resolver.value(statement.get("Condition", {})), c.context)
            if ok:
                reasons = []
                break
            reasons.append(f"{sid} covers it only if {why}")
        if reasons:
            problems.append((f"{c.action} on {resource} ({c.shown()})", "; ".join(reasons)))
    return problems


def main(template_path: str, log_dir: str) -> int:
    folder = Path(log_dir)
    init = observed(folder, "policy-load")
    if not init:
        print(f"no policy-load calls in {folder}: run the integration tests with WARDEN_CALL_LOG")
        return 2
    template = load(template_path)
    resolver = Resolver(template)
    failures = checked = 0
    for name, function in sorted(functions(template).items()):
        grants = function.actions
        used = observed(folder, name)
        if not used:
            print(f"{name}: no calls recorded in {folder}/{name}.calls")
            failures += 1
            continue
        needed = set(used)
        calls = set(recorded(folder, name))
        if "WARDEN_POLICY_SSM" in function.env:
            needed |= init
            calls |= recorded(folder, "policy-load")
        platform = {**PLATFORM["*"], **PLATFORM.get(name, {})}
        untested = UNTESTED.get(name, {})
        source, written, _ = GRACE_SCHEDULE
        if "scheduler:CreateSchedule" in used and f'"{written}' not in (ROOT / source).read_text():
            print(f"  STALE    scheduler:CreateSchedule: {source} no longer names schedules {written}*")
            failures += 1
        for action, (source, _why) in untested.items():
            if f'"{action}"' not in (ROOT / source).read_text():
                print(f"  STALE    {action}: declared untested, but {source} no longer calls it")
                failures += 1
        missing = needed - grants
        unused = grants - needed - set(platform) - set(untested)
        # Resources and conditions: each recorded call that names what it acts on.
        statements = role_statements(template, function.logical_id)
        variables = template["Resources"][function.logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        env = {k: resolver.value(v) for k, v in variables.items()}
        named = [call(action, fields, env) for action, fields in sorted(calls) if fields and action in grants]
        denied = [problem for c in named for problem in allowed(c, statements, resolver)]
        resources = {r for c in named for r in c.resources}
        checked += len(named)
        conditioned = sum(1 for c in named if c.context)
        if missing or unused or denied:
            failures += 1
        print(
            f"{name} ({function.logical_id}): {len(grants)} actions granted, "
            f"{len(used)} called by the code, {len(needed & init)} at init, "
            f"{len(grants & set(platform))} for the platform, "
            f"{len(grants & set(untested))} on untested paths; "
            f"{len(named)} calls naming {len(resources)} resources, {conditioned} under a condition"
        )
        for action in sorted(missing):
            print(f"  MISSING  {action}: the code calls it, the role does not grant it")
        for action in sorted(unused):
            print(f"  UNUSED   {action}: granted, but no test saw the code call it")
        # One line per action and reason: the first call it denies, and how many more.
        by_reason: dict[tuple[str, str], list[str]] = {}
        for what, why in denied:
            by_reason.setdefault((what.split(" ", 1)[0], why), []).append(what)
        for (_action, why), what in by_reason.items():
            more = f" (and {len(what) - 1} more)" if len(what) > 1 else ""
            print(f"  DENIED   {what[0]}{more}: {why}")
        if not named and calls:
            print(f"  (no call in {name}.calls names a resource: an older call log? resources not checked)")
    if failures:
        print(f"IAM check: {failures} function(s) differ from their code")
        return 1
    print(
        f"IAM check ({template_path}): every role grants exactly what its function calls"
        + (", on the resources and under the conditions its calls name" if checked else
           " (no call in the log names a resource: resources and conditions not checked)")
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
