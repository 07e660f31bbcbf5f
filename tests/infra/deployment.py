"""A deployment template, SAM or CDK-synthesized, read as the facts the checks compare.

Both are reduced to plain CloudFormation first (the SAM template through AWS's own SAM
translator, offline), then to one `Function` per Lambda: its binary (from its name,
`<stack>-<binary>`), settings, IAM actions, environment variable names, triggers (EventBridge
rules and schedules, SQS mappings, SNS subscriptions) and async-invocation settings.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode
from samtranslator.translator.transform import transform

ROOT = Path(__file__).resolve().parents[2]
# Every function's binary: each crate under functions/, and each one the SAM template builds
# (`BuildProperties.Binary`), so that a function whose crate is not there yet still has its name.
BINARIES = sorted(
    {p.name for p in (ROOT / "functions").iterdir() if p.is_dir()}
    | set(re.findall(r"^\s+Binary: (\S+)$", (ROOT / "infra" / "template.yaml").read_text(), re.M))
)


@dataclass
class Function:
    binary: str
    logical_id: str
    settings: dict[str, Any]
    env: set[str]
    actions: set[str] = field(default_factory=set)
    triggers: set[str] = field(default_factory=set)


class _NoManagedPolicies:
    """The template names no AWS managed policy, so the translator never needs IAM to look one up."""

    def load(self) -> dict[str, str]:
        return {}


def load(path: str | Path) -> dict[str, Any]:
    """The template as plain CloudFormation (a SAM template is transformed)."""
    path = Path(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    template, errors = decode(str(path))
    if errors:
        raise ValueError("\n".join(str(e) for e in errors))
    if "AWS::Serverless-2016-10-31" not in str(template.get("Transform", "")):
        return template
    sam = copy.deepcopy(template)
    # The translator wants an S3 location; sam build/package put the bundle there.
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/bootstrap.zip"
        # A state machine's local DefinitionUri likewise (tests/infra/asl_check.py reads the file).
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(
            resource["Properties"].get("DefinitionUri"), str
        ):
            resource["Properties"]["DefinitionUri"] = "s3://bucket/" + resource["Properties"]["DefinitionUri"]
    defaults = {k: v.get("Default") for k, v in sam.get("Parameters", {}).items()}
    cfn = transform(sam, defaults, _NoManagedPolicies())
    cfn["Parameters"] = template.get("Parameters", {})
    return cfn


def resolve(value: Any, template: dict[str, Any]) -> Any:
    """Parameter references replaced by their defaults, pseudo parameters by placeholders, and
    `Fn::If` decided by its condition under those defaults (`AWS::NoValue` is None)."""
    params = template.get("Parameters", {})
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in params:
            return params[value["Ref"]].get("Default")
        if set(value) == {"Ref"} and value["Ref"] == "AWS::NoValue":
            return None
        if set(value) == {"Fn::If"}:
            name, then, otherwise = value["Fn::If"]
            return resolve(then if Evaluator(template).condition(name) else otherwise, template)
        return {k: resolve(v, template) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, template) for v in value]
    return value


class Evaluator:
    """A template's intrinsic functions (conditions among them) evaluated with every parameter at
    its default (or the value `parameters` gives it), a CommaDelimitedList's as its list. Pseudo
    parameters and the stack's resources stay as written here; a subclass says what they stand
    for (iam_check.Resolver)."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str] | None = None):
        self.template = template
        specs = template.get("Parameters", {})
        unknown = set(parameters or {}) - set(specs)
        if unknown:
            raise ValueError(f"no such parameter: {sorted(unknown)}")
        self.params = {k: v.get("Default") for k, v in specs.items()} | dict(parameters or {})
        for name, spec in specs.items():
            if spec.get("Type") == "CommaDelimitedList":
                self.params[name] = (self.params[name] or "").split(",")

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template.get("Conditions", {})[name]))

    def ref(self, name: str) -> Any:
        return self.params[name] if name in self.params else {"Ref": name}

    def attribute(self, logical: str, attribute: str) -> Any:
        return {"Fn::GetAtt": [logical, attribute]}

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {k: self.value(v) for k, v in node.items()}
        (fn, arg), = node.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.attribute(logical, attribute)
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::If":
            name, yes, no = arg
            return self.value(yes if self.condition(name) else no)
        if fn == "Fn::Equals":
            # CloudFormation compares the two values as strings.
            a, b = (str(self.value(v)) for v in arg)
            return a == b
        if fn == "Fn::Not":
            return not self.value(arg[0])
        if fn == "Fn::And":
            return all(self.value(v) for v in arg)
        if fn == "Fn::Or":
            return any(self.value(v) for v in arg)
        if fn == "Fn::Join":
            separator, parts = arg
            parts = self.value(parts)
            return separator.join(str(p) for p in (parts if isinstance(parts, list) else [parts]))
        if fn == "Fn::Split":
            separator, text = arg
            return str(self.value(text)).split(separator)
        if fn == "Fn::Select":
            index, items = arg
            return self.value(items)[int(self.value(index))]
        if fn == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else arg
            names = {k: self.value(v) for k, v in names.items()}

            def sub(m: re.Match) -> str:
                ref = m.group(1)
                if ref in names:
                    return str(names[ref])
                if "." in ref and ref.split(".", 1)[0] in self.template["Resources"]:
                    return self.attribute(*ref.split(".", 1))
                return str(self.ref(ref))

            return re.sub(r"\$\{([^}!]+)\}", sub, text)
        return {fn: self.value(arg)}


def deployed(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The template as a stack with those parameter values (the others at their defaults) has it:
    each resource whose `Condition` is false left out. (Without this the checks see every resource,
    whatever its condition.)"""
    evaluator = Evaluator(template, parameters)
    kept = copy.copy(template)
    kept["Resources"] = {
        logical: resource
        for logical, resource in template["Resources"].items()
        if "Condition" not in resource or evaluator.condition(resource["Condition"])
    }
    return kept


def _ref(value: Any) -> str | None:
    """The logical id a Ref / Fn::GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".")[0]
    return None


def _binary(name: Any) -> str | None:
    text = json.dumps(name)
    for binary in sorted(BINARIES, key=len, reverse=True):
        if f'-{binary}"' in text:
            return binary
    return None


def _statements(node: Any):
    if isinstance(node, list):
        for item in node:
            yield from _statements(item)
    elif isinstance(node, dict):
        if "Fn::If" in node:
            for branch in node["Fn::If"][1:]:
                yield from _statements(branch)
        elif "PolicyDocument" in node:
            yield from node["PolicyDocument"]["Statement"]
        elif "Statement" in node:
            yield from node["Statement"]


def _actions(statements) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Allow":
            raise ValueError(f"only Allow statements are expected: {statement}")
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def _pattern(rule: dict[str, Any]) -> str:
    """A rule's event pattern, the account list (own account + members) normalised."""
    pattern = copy.deepcopy(rule.get("EventPattern"))
    if isinstance(pattern, str):
        pattern = json.loads(pattern)
    if "account" in pattern:
        pattern["account"] = "<this account and the member accounts>"
    return json.dumps(pattern, sort_keys=True)


def functions(template: dict[str, Any]) -> dict[str, Function]:
    resources = template["Resources"]
    found: dict[str, Function] = {}
    by_logical: dict[str, Function] = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        binary = _binary(props.get("FunctionName"))
        if binary is None:
            raise ValueError(f"{logical}: FunctionName does not end in a function's binary name")
        settings = {
            key: resolve(props.get(key), template)
            for key in ("Runtime", "Architectures", "Handler", "Timeout", "MemorySize",
                        "ReservedConcurrentExecutions")
        }
        logging = props.get("LoggingConfig", {})
        settings["LogFormat"] = logging.get("LogFormat")
        settings["SystemLogLevel"] = logging.get("SystemLogLevel")
        env = set(props.get("Environment", {}).get("Variables", {}))
        function = Function(binary, logical, settings, env)
        role_id = _ref(props["Role"])
        role = resources[role_id]
        function.actions |= _actions(_statements(role["Properties"].get("Policies", [])))
        found[binary] = by_logical[logical] = function
        for other in resources.values():
            if other["Type"] == "AWS::IAM::Policy" and any(
                _ref(r) == role_id for r in other["Properties"].get("Roles", [])
            ):
                function.actions |= _actions(_statements(other["Properties"]["PolicyDocument"]))
    queues: dict[str | None, set[str]] = {}
    # Rules first: a queue's mapping names the rules that feed the queue.
    ordered = sorted(resources.values(), key=lambda r: r["Type"] != "AWS::Events::Rule")
    for resource in ordered:
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Lambda::EventInvokeConfig":
            target = by_logical.get(_ref(props["FunctionName"]) or "")
            if target:
                on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                target.settings["AsyncRetries"] = props.get("MaximumRetryAttempts")
                target.settings["AsyncMaxEventAge"] = props.get("MaximumEventAgeInSeconds")
                target.settings["OnFailure"] = _ref(on_failure) is not None
        elif kind == "AWS::Events::Rule":
            for t in props.get("Targets", []):
                what = by_logical.get(_ref(t["Arn"]) or "")
                trigger = (
                    f"schedule {resolve(props['ScheduleExpression'], template)}"
                    if "ScheduleExpression" in props
                    else f"rule {_pattern(props)}"
                )
                retry = t.get("RetryPolicy", {})
                trigger += (
                    f" retries={retry.get('MaximumRetryAttempts')}"
                    f" max_age={retry.get('MaximumEventAgeInSeconds')}"
                    f" dead_letter={'DeadLetterConfig' in t}"
                )
                if what:
                    what.triggers.add(trigger)
                else:
                    queues.setdefault(_ref(t["Arn"]), set()).add(trigger)
        elif kind == "AWS::Lambda::EventSourceMapping":
            target = by_logical.get(_ref(props["FunctionName"]) or "")
            source = _ref(props["EventSourceArn"])
            rules = sorted(queues.get(source, set())) if source else []
            target.triggers.add(
                f"sqs batch={props.get('BatchSize')}"
                f" window={props.get('MaximumBatchingWindowInSeconds')}"
                f" response={props.get('FunctionResponseTypes')}"
                f" concurrency={props.get('ScalingConfig', {}).get('MaximumConcurrency')}"
                f" fed by {rules}"
            )
        elif kind == "AWS::SNS::Subscription" and props.get("Protocol") == "lambda":
            target = by_logical.get(_ref(props["Endpoint"]) or "")
            target.triggers.add(
                f"sns dead_letter={'RedrivePolicy' in props} filter={_canonical(props.get('FilterPolicy'))}"
            )
    return found


def _canonical(value: object) -> str:
    """A filter policy as comparable text (key order and list order do not matter to SNS)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(sorted(_canonical(v) for v in value)) + "]"
    return str(value)
