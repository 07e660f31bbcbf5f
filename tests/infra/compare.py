"""SAM and CDK deploy the same thing: the same functions with the same settings, triggers (event
patterns, schedules, queue mappings, subscriptions, retries and dead letters), IAM actions, the
roles AWS services assume on the stack's behalf (EventBridge Scheduler's, for scan-gate's grace
deadlines: the service, its trust conditions and its actions) and the dashboard's widgets and
metrics.

The SAM template is read as the stack its parameters `NAME=VALUE` (the others at their defaults)
deploy: a resource whose condition is false there is left out (FanOut=enabled: the engine's
resources, and not janitor's and tag-guard's own schedules). Give the values the CDK app was
synthesized with (context `fanOut` = parameter `FanOut`).

Usage: python tests/infra/compare.py infra/template.yaml infra/cdk/cdk.out/ecr-warden.template.json [NAME=VALUE ...]
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

from deployment import _actions, _ref, _statements, deployed, functions, load


def dashboard(template: dict) -> Counter:
    """Each dashboard widget's metrics as (title, namespace, name, dimensions, statistic); a
    dimension value the template fills in (a function or queue name) reads `<ref>`."""
    found: Counter = Counter()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            continue
        body = resource["Properties"]["DashboardBody"]
        if isinstance(body, dict) and "Fn::Sub" in body:
            text = body["Fn::Sub"] if isinstance(body["Fn::Sub"], str) else body["Fn::Sub"][0]
            text = re.sub(r"\$\{[^}]+\}", "<ref>", text)
        elif isinstance(body, dict) and "Fn::Join" in body:
            separator, parts = body["Fn::Join"]
            text = separator.join(p if isinstance(p, str) else "<ref>" for p in parts)
        else:
            text = body
        for widget in json.loads(text)["widgets"]:
            previous: list = []
            for metric in widget["properties"].get("metrics", []):
                fields = [f for f in metric if not isinstance(f, dict)]
                # "." repeats the field of the metric before (CloudWatch's shorthand).
                fields = [previous[i] if f == "." and i < len(previous) else f for i, f in enumerate(fields)]
                previous = fields
                namespace, name, *dims = fields
                options = next((f for f in metric if isinstance(f, dict)), {})
                stat = options.get("stat", widget["properties"].get("stat"))
                found[(widget["properties"].get("title"), namespace, name, tuple(dims), stat)] += 1
    return found


def service_roles(template: dict) -> dict[str, set[str]]:
    """Each role some AWS service other than Lambda assumes, by that service: its trust conditions
    (operator and key) and the actions of its policies, inline or a policy of their own
    (AWS::IAM::Policy, AWS::IAM::RolePolicy)."""
    resources = template["Resources"]
    found: dict[str, set[str]] = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resource["Properties"]
        for trust in props["AssumeRolePolicyDocument"]["Statement"]:
            service = trust.get("Principal", {}).get("Service")
            if not isinstance(service, str) or service == "lambda.amazonaws.com":
                continue
            facts = {
                f"trust {operator} {key}"
                for operator, keys in trust.get("Condition", {}).items()
                for key in keys
            }
            actions = _actions(_statements(props.get("Policies", [])))
            for other in resources.values():
                attached = other["Properties"].get("Roles", []) if other["Type"] == "AWS::IAM::Policy" else (
                    [other["Properties"]["RoleName"]] if other["Type"] == "AWS::IAM::RolePolicy" else []
                )
                if any(_ref(r) == logical for r in attached):
                    actions |= _actions(_statements(other["Properties"]["PolicyDocument"]))
            found.setdefault(service, set()).update(facts | {f"action {a}" for a in actions})
    return found


def main(sam_path: str, cdk_path: str, parameters: dict[str, str]) -> int:
    sam_template, cdk_template = deployed(load(sam_path), parameters), load(cdk_path)
    sam, cdk = functions(sam_template), functions(cdk_template)
    differences = []
    if set(sam) != set(cdk):
        differences.append(f"functions: SAM {sorted(sam)} vs CDK {sorted(cdk)}")
    for binary in sorted(set(sam) & set(cdk)):
        a, b = sam[binary], cdk[binary]
        for key in sorted(set(a.settings) | set(b.settings)):
            if a.settings.get(key) != b.settings.get(key):
                differences.append(
                    f"{binary}: {key} is {a.settings.get(key)!r} in SAM, {b.settings.get(key)!r} in CDK"
                )
        for what, left, right in (
            ("environment", a.env, b.env),
            ("IAM actions", a.actions, b.actions),
            ("triggers", a.triggers, b.triggers),
        ):
            for only in sorted(left - right):
                differences.append(f"{binary}: {what}: only in SAM: {only}")
            for only in sorted(right - left):
                differences.append(f"{binary}: {what}: only in CDK: {only}")
        print(
            f"{binary}: {len(a.actions)} IAM actions, {len(a.triggers)} triggers, "
            f"{len(a.env)} variables, {len(a.settings)} settings"
        )
    sam_roles, cdk_roles = service_roles(sam_template), service_roles(cdk_template)
    for service in sorted(set(sam_roles) | set(cdk_roles)):
        left, right = sam_roles.get(service, set()), cdk_roles.get(service, set())
        for only in sorted(left - right):
            differences.append(f"role assumed by {service}: only in SAM: {only}")
        for only in sorted(right - left):
            differences.append(f"role assumed by {service}: only in CDK: {only}")
        print(f"role assumed by {service}: {len(left)} trust conditions and actions")
    sam_board, cdk_board = dashboard(sam_template), dashboard(cdk_template)
    for only in sorted((sam_board - cdk_board).elements()):
        differences.append(f"dashboard: only in SAM: {only}")
    for only in sorted((cdk_board - sam_board).elements()):
        differences.append(f"dashboard: only in CDK: {only}")
    if not sam_board:
        differences.append("dashboard: the SAM template has none (or none with metrics)")
    print(f"dashboard: {sum(sam_board.values())} metrics in {len({t for t, *_ in sam_board})} widgets")
    for line in differences:
        print("  DIFFERS  " + line)
    if differences:
        print(f"SAM and CDK differ in {len(differences)} place(s)")
        return 1
    given = " ".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "defaults"
    print(f"SAM ({given}) and CDK deploy the same functions, triggers and IAM actions")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or not all("=" in a for a in sys.argv[3:]):
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])))
