"""The member-account template (infra/member.yaml) against the code and the hub template.

  (a) it has no Transform (a service-managed StackSet deploys plain CloudFormation);
  (b) MemberRole grants exactly the actions the hub's functions call through it (MEMBER_CALLS: the
      `ECR.*` and `Inspector2.*` operations in `$CALL_LOG/tag-guard.calls` and `scan-gate.calls`,
      janitor's `ECR.*`, `ECS.*` and `Lambda.*`, the fan-out planner's `ECR.*` in `fanout.calls`),
      each on the same resources as the hub's roles of those functions grant it;
  (c) every source / detail-type the hub's EventBridge rules accept from member accounts (an
      `account` key naming MemberAccountIds) is forwarded by a member rule to the hub's bus, the
      member pattern no narrower than the hub's; each forwarding target has a role, a retry policy
      and a dead-letter queue;
  (d) MemberRole's trust policy demands sts:ExternalId (the ExternalId parameter) and names the
      hub's exact role ARNs (HubRoleArns) in aws:PrincipalArn, in every statement;
  (e) the optional ReplicationRole (a replication destination account) grants exactly the hub
      replicator's `WriteDestinations` actions on the same resources, and trusts the hub's
      replicator role (ReplicatorRoleArn) with the external id.

Usage: python tests/infra/member_check.py MEMBER_TEMPLATE HUB_TEMPLATE CALL_LOG_DIR
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode
from deployment import _binary, _statements, load
from iam_check import iam_action, role_statements

# The functions that act in member accounts, and the services whose clients they build from the
# assumed role (shared/aws/src/functions/tag_guard.rs and scan_gate.rs, `with_named_accounts`);
# janitor (the fan-out engine's cleanup shards: its ECR, ECS and Lambda reads, its deletions) and
# the fan-out planner (its repository listing) act there too (docs/state-machine.md). janitor's
# own-account calls (janitor.calls) stand for what it calls in a member account.
MEMBER_CALLS = {
    "tag-guard": ("ECR", "Inspector2"),
    "scan-gate": ("ECR", "Inspector2"),
    "janitor": ("ECR", "ECS", "Lambda"),
    "fanout": ("ECR",),
}
MEMBER_FUNCTIONS = tuple(MEMBER_CALLS)
MEMBER_SERVICES = tuple(sorted({s for services in MEMBER_CALLS.values() for s in services}))


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def pattern_of(rule: dict[str, Any]) -> dict[str, Any]:
    pattern = rule["Properties"].get("EventPattern", {})
    return json.loads(pattern) if isinstance(pattern, str) else copy.deepcopy(pattern)


def branches(pattern: dict[str, Any]) -> list[dict[str, Any]]:
    """A pattern with `$or` as the plain patterns it matches the union of."""
    alternatives = pattern.pop("$or", None)
    if not alternatives:
        return [pattern]
    found = []
    for alternative in alternatives:
        merged = copy.deepcopy(pattern)
        for key, value in alternative.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        found.extend(branches(merged))
    return found


def covers(broad: Any, narrow: Any) -> bool:
    """Whether every event `narrow` matches is matched by `broad` (exact values and the
    `exists`/prefix objects, compared as written): each field `broad` filters on, `narrow` filters
    on too, with a subset of its values."""
    if isinstance(broad, dict):
        return isinstance(narrow, dict) and all(
            key in narrow and covers(value, narrow[key]) for key, value in broad.items()
        )
    if isinstance(broad, list):
        allowed = {canon(v) for v in broad}
        return isinstance(narrow, list) and all(canon(v) in allowed for v in narrow)
    return canon(broad) == canon(narrow)


def check_transform(member: dict[str, Any]) -> list[str]:
    if "Transform" in member:
        return [f"Transform {member['Transform']!r}: a service-managed StackSet needs plain CloudFormation"]
    return []


def grants(statements) -> dict[str, set[str]]:
    """Action → the resources the statements grant it on (canonical text)."""
    found: dict[str, set[str]] = {}
    for statement in statements:
        actions = statement["Action"]
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in [actions] if isinstance(actions, str) else actions:
            found.setdefault(action, set()).update(canon(t) for t in targets)
    return found


def hub_role_statements(hub: dict[str, Any], binaries: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every statement of the roles of the hub's functions built from `binaries`."""
    return [
        statement
        for logical, resource in hub["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and _binary(resource["Properties"].get("FunctionName")) in binaries
        for statement in role_statements(hub, logical)
    ]


def hub_grants(hub: dict[str, Any]) -> dict[str, set[str]]:
    """ECR/Inspector/ECS/Lambda action → the resources the hub's member-acting roles grant it on."""
    services = {s.lower() for s in MEMBER_SERVICES}
    return {
        action: targets
        for action, targets in grants(hub_role_statements(hub, MEMBER_FUNCTIONS)).items()
        if action.split(":")[0] in services
    }


def check_actions(member: dict[str, Any], hub: dict[str, Any], folder: Path) -> list[str]:
    problems = []
    used: set[str] = set()
    for name, services in MEMBER_CALLS.items():
        path = folder / f"{name}.calls"
        if not path.exists():
            return [f"no call log {path}: run the integration tests with WARDEN_CALL_LOG"]
        for line in path.read_text().splitlines():
            if line.split(".", 1)[0] in services:
                used.add(iam_action(line))
    role = member["Resources"].get("MemberRole")
    if role is None or role["Type"] != "AWS::IAM::Role":
        return ["no AWS::IAM::Role MemberRole"]
    statements = list(_statements(role["Properties"].get("Policies", [])))
    for statement in statements:
        if statement.get("Effect") != "Allow":
            problems.append(f"MemberRole: only Allow statements are expected: {statement}")
    granted = grants(s for s in statements if s.get("Effect") == "Allow")
    for action in sorted(used - set(granted)):
        problems.append(f"MISSING  {action}: {', '.join(MEMBER_FUNCTIONS)} call it, MemberRole does not grant it")
    for action in sorted(set(granted) - used):
        problems.append(f"UNUSED   {action}: MemberRole grants it, no test saw {', '.join(MEMBER_FUNCTIONS)} call it")
    hub = hub_grants(hub)
    for action in sorted(set(granted) & used):
        if action not in hub:
            problems.append(f"SCOPE    {action}: the hub's roles of {', '.join(MEMBER_FUNCTIONS)} do not grant it")
        elif granted[action] != hub[action]:
            problems.append(
                f"SCOPE    {action}: MemberRole grants it on {sorted(granted[action])}, "
                f"the hub on {sorted(hub[action])}"
            )
    print(f"MemberRole: {len(granted)} actions granted, {len(used)} actions called ({', '.join(MEMBER_SERVICES)})")
    return problems


def check_forwarding(member: dict[str, Any], hub: dict[str, Any]) -> list[str]:
    problems = []
    forwarded: list[tuple[str, dict[str, Any]]] = []
    for logical, resource in member["Resources"].items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        targets = resource["Properties"].get("Targets", [])
        to_hub = [t for t in targets if "event-bus/default" in canon(t.get("Arn"))]
        if not to_hub:
            continue
        for target in to_hub:
            for key in ("RoleArn", "RetryPolicy", "DeadLetterConfig"):
                if key not in target:
                    problems.append(f"{logical}, target {target.get('Id')}: no {key}")
        forwarded.extend((logical, b) for b in branches(pattern_of(resource)))
    subscribed = 0
    for logical, resource in sorted(hub["Resources"].items()):
        if resource["Type"] != "AWS::Events::Rule" or "EventPattern" not in resource["Properties"]:
            continue
        pattern = pattern_of(resource)
        if "MemberAccountIds" not in canon(pattern.get("account")):
            continue
        for wanted in branches(pattern):
            wanted.pop("account")
            for source in wanted.get("source", ["<any>"]):
                for detail_type in wanted.get("detail-type", ["<any>"]):
                    one = {**wanted, "source": [source], "detail-type": [detail_type]}
                    subscribed += 1
                    if not any(covers(pattern, one) for _, pattern in forwarded):
                        problems.append(
                            f"NOT FORWARDED  {source} / {detail_type}: hub rule {logical} accepts it "
                            f"from member accounts ({canon(one)}), no member rule forwards all of it"
                        )
    hub_types = {
        (s, d)
        for r in hub["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and "EventPattern" in r["Properties"]
        for b in branches(pattern_of(r))
        for s in b.get("source", [])
        for d in b.get("detail-type", [])
    }
    for logical, pattern in forwarded:
        for source in pattern.get("source", []):
            for detail_type in pattern.get("detail-type", []):
                if (source, detail_type) not in hub_types:
                    print(f"  note: {logical} forwards {source} / {detail_type}, no hub rule takes it yet")
    print(f"forwarding: {subscribed} hub subscriptions for member accounts, {len(forwarded)} member patterns")
    if subscribed == 0:
        problems.append("the hub template has no rule for member accounts' events: nothing was compared")
    return problems


def check_trust(member: dict[str, Any]) -> list[str]:
    role = member["Resources"].get("MemberRole", {})
    statements = role.get("Properties", {}).get("AssumeRolePolicyDocument", {}).get("Statement", [])
    if not statements:
        return ["MemberRole: no trust policy"]
    problems = []
    for i, statement in enumerate(statements):
        condition = statement.get("Condition", {})
        if statement.get("Effect") != "Allow":
            continue
        external = condition.get("StringEquals", {}).get("sts:ExternalId")
        if external != {"Ref": "ExternalId"}:
            problems.append(
                f"MemberRole trust statement {i}: no StringEquals sts:ExternalId = Ref ExternalId (found {external!r})"
            )
        principals = condition.get("ArnEquals", {}).get("aws:PrincipalArn")
        if principals != {"Ref": "HubRoleArns"}:
            problems.append(
                f"MemberRole trust statement {i}: no ArnEquals aws:PrincipalArn = Ref HubRoleArns "
                f"(the hub's role ARNs; found {principals!r})"
            )
    return problems


def check_replication_role(member: dict[str, Any], hub: dict[str, Any]) -> list[str]:
    """The replicator's destination role: optional, grants exactly what the hub grants the
    replicator for destinations in its own account (its `WriteDestinations` and
    `DestinationTemplates` statements, which the IAM check ties to the replicator's calls), on the same resources; trust as MemberRole's."""
    role = member["Resources"].get("ReplicationRole")
    if role is None:
        return ["no ReplicationRole: a destination account has no role for the replicator"]
    problems = []
    if role.get("Condition") != "IsReplicationDestination":
        problems.append("ReplicationRole: not conditioned on IsReplicationDestination (ReplicatorRoleArn given)")
    granted = grants(_statements(role["Properties"].get("Policies", [])))
    wanted = grants(
        s
        for s in hub_role_statements(hub, ("replicator",))
        if s.get("Sid") in ("WriteDestinations", "DestinationTemplates")
    )
    if not wanted:
        return ["the hub's replicator role has no WriteDestinations statement: nothing to compare"]
    for action in sorted(set(wanted) - set(granted)):
        problems.append(f"MISSING  {action}: the replicator writes destinations with it, ReplicationRole does not grant it")
    for action in sorted(set(granted) - set(wanted)):
        problems.append(f"UNUSED   {action}: ReplicationRole grants it, the replicator does not write with it")
    for action in sorted(set(granted) & set(wanted)):
        if granted[action] != wanted[action]:
            problems.append(f"SCOPE    {action}: ReplicationRole on {sorted(granted[action])}, the hub on {sorted(wanted[action])}")
    for i, statement in enumerate(role["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
        condition = statement.get("Condition", {})
        if condition.get("StringEquals", {}).get("sts:ExternalId") != {"Ref": "ExternalId"}:
            problems.append(f"ReplicationRole trust statement {i}: no sts:ExternalId = Ref ExternalId")
        if condition.get("ArnEquals", {}).get("aws:PrincipalArn") != {"Ref": "ReplicatorRoleArn"}:
            problems.append(f"ReplicationRole trust statement {i}: no ArnEquals aws:PrincipalArn = Ref ReplicatorRoleArn")
    print(f"ReplicationRole: {len(granted)} actions, as the hub's replicator writes its own account's destinations")
    return problems


def main(member_path: str, hub_path: str, log_dir: str) -> int:
    # The SAM translator wants a region for its pseudo parameters; nothing here talks to AWS.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    written, errors = decode(member_path)
    if errors:
        print("\n".join(str(e) for e in errors))
        return 1
    member = load(member_path)  # as deployed (a Transform, which (a) refuses, applied)
    hub = load(hub_path)
    failures = 0
    for title, check in (
        ("(a) no Transform", lambda: check_transform(written)),
        ("(b) MemberRole = tag-guard's and scan-gate's ECR/Inspector calls",
         lambda: check_actions(member, hub, Path(log_dir))),
        ("(c) forwarded events cover the hub's member subscriptions", lambda: check_forwarding(member, hub)),
        ("(d) trust demands the external id", lambda: check_trust(member)),
        ("(e) the replicator's destination role = its destination writes in the hub",
         lambda: check_replication_role(member, hub)),
    ):
        problems = check()
        if problems:
            failures += 1
            print(f"FAIL {title}")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(f"ok   {title}")
    if failures:
        print(f"member check ({member_path}): {failures} check(s) failed")
        return 1
    print(f"member check ({member_path}): matches the code and {hub_path}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
