"""The fan-out state machine, offline: infra/fanout.asl.json as SAM and the CDK deploy it, against the
engine contract (docs/organization.md, "The engine contract"; docs/state-machine.md).

For each template given (SAM YAML, CDK-synthesized JSON) the state machine's ASL text (SAM:
DefinitionUri, the file; CDK: DefinitionString) is substituted with its DefinitionSubstitutions,
each value resolved symbolically: a function's ARN reads `<function:BINARY>`, the bucket
`<bucket>`, a parameter its default (`<param:NAME>` stands for its reference, so that "comes from
the parameter" is checked), and then:

  (a) graph: every state reachable from StartAt, every Next / Default / Choice / Catch target
      exists, a terminal state (End, Succeed, Fail) in every state list;
  (b) Distributed Map: MaxConcurrency and ToleratedFailurePercentage from the parameters
      FanOutConcurrency and FanOutToleratedFailurePercentage, ItemReader s3:getObject JSON on
      $.plan.manifest, ResultWriter to the bucket, child executions STANDARD, a Catch of States.ALL
      into $.failure to Summarize;
  (c) inner Map: INLINE, MaxConcurrency 1, over $.lane.shards;
  (d) retries: every worker Task retries Throttled (BackoffRate >= 2, JitterStrategy FULL) and
      Retryable with the Lambda service errors; no Task retries NonRetryable; no Retry names
      States.ALL;
  (e) every lambda:invoke's FunctionName is one of the four functions (fanout, janitor, tag-guard,
      replicator), and the worker Choice routes cleanup, sweep and backfill to janitor, tag-guard
      and the replicator;
  (e') a worker's answer is looked at before its stopped_after: a Choice goes on to the
      re-invocation Choice only when $.result.outcome.status is "ok", else to a Fail state
      (Error ShardNotTaken, CausePath $.result.outcome.error), and no path from a worker Task
      reaches the re-invocation Choice around it (an ignored or rejected answer has no
      stopped_after: the re-invocation Choice would fail with States.Runtime);
  (f) the state machine's role grants lambda:InvokeFunction on exactly the functions the
      definition invokes, and the S3 and Step Functions actions AWS documents for a Distributed
      Map's ItemReader, ResultWriter and child executions (nothing more, nothing less);
  (g) both templates yield the same definition.

`--self-test` mutates copies of the definition (a retry removed, NonRetryable retried, a dangling
Next, MaxConcurrency of the inner map raised, a foreign function, ...) and fails unless the
checker rejects each one.

Usage: python tests/infra/asl_check.py [--self-test] TEMPLATE [TEMPLATE ...]
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable

from deployment import ROOT, _binary, _ref, _statements, load

ASL = ROOT / "infra" / "fanout.asl.json"
# The Distributed Map's settings that come from parameters (SAM) or the construct's props (CDK).
PARAMETERS = ("FanOutConcurrency", "FanOutToleratedFailurePercentage")
WORKERS = {"cleanup": "janitor", "sweep": "tag-guard", "backfill": "replicator"}
FUNCTIONS = {"fanout", *WORKERS.values()}
LAMBDA_ERRORS = {
    "Retryable",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# What the role must grant, besides lambda:InvokeFunction on the invoked functions (AWS's "IAM
# policies for using Distributed Map states", docs/state-machine.md), as (action, resource shape).
ROLE_NEEDS = {
    ("s3:GetObject", "<bucket>/runs/*"),
    ("s3:GetObject", "<bucket>/results/*"),
    ("s3:PutObject", "<bucket>/results/*"),
    ("s3:ListMultipartUploadParts", "<bucket>/results/*"),
    ("s3:AbortMultipartUpload", "<bucket>/results/*"),
    ("states:StartExecution", "stateMachine:<stack>-fanout"),
    ("states:DescribeExecution", "execution:<stack>-fanout:*"),
    ("states:StopExecution", "execution:<stack>-fanout:*"),
    *(
        (f"logs:{a}", "*")
        for a in (
            "CreateLogDelivery", "GetLogDelivery", "UpdateLogDelivery", "DeleteLogDelivery",
            "ListLogDeliveries", "PutResourcePolicy", "DescribeResourcePolicies", "DescribeLogGroups",
        )
    ),
}


# ------------------------------------------------------------------------------ from the templates


def symbol(value: Any, template: dict[str, Any]) -> str:
    """A substitution value as a symbol: `<function:BINARY>`, `<bucket>`, `<param:NAME>`, or text."""
    resources = template["Resources"]
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value and value["Ref"] in template.get("Parameters", {}):
        return f"<param:{value['Ref']}>"
    if isinstance(value, dict) and value.get("Ref") == "AWS::Partition":
        return "aws"
    logical = _ref(value)
    if logical in resources:
        kind = resources[logical]["Type"]
        if kind == "AWS::Lambda::Function":
            return f"<function:{_binary(resources[logical]['Properties'].get('FunctionName'))}>"
        if kind == "AWS::S3::Bucket":
            return "<bucket>"
    return f"<{json.dumps(value, sort_keys=True)}>"


def state_machine(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one AWS::StepFunctions::StateMachine: its logical id and properties."""
    found = [(k, r) for k, r in template["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    if len(found) != 1:
        raise ValueError(f"expected one state machine, found {[k for k, _ in found]}")
    return found[0][0], found[0][1]["Properties"]


def definition(template: dict[str, Any]) -> dict[str, Any]:
    """The deployed ASL, substituted symbolically (numbers from parameters stay `<param:NAME>`
    strings, where a literal would be a number)."""
    _, props = state_machine(template)
    if "DefinitionString" in props:
        text = props["DefinitionString"]
        if not isinstance(text, str):
            raise ValueError("DefinitionString is not one literal text: not the ASL file")
        if text != ASL.read_text():
            raise ValueError("DefinitionString differs from infra/fanout.asl.json")
    elif "DefinitionS3Location" in props:
        key = props["DefinitionS3Location"]["Key"]
        if key != ASL.name:
            raise ValueError(f"DefinitionUri {key} is not {ASL.name}")
        text = ASL.read_text()
    else:
        raise ValueError("the state machine has neither DefinitionString nor DefinitionUri")
    values = {k: symbol(v, template) for k, v in props.get("DefinitionSubstitutions", {}).items()}
    # The CDK has no parameters: there the value comes from the construct's prop of that name
    # (context fanOutConcurrency, ...), a literal in the template; it stands for the parameter.
    for key in PARAMETERS:
        if key in values and key not in template.get("Parameters", {}) and values[key].isdigit():
            values[key] = f"<param:{key}>"
    return substitute(text, values)


def substitute(text: str, values: dict[str, str]) -> dict[str, Any]:
    def one(m: re.Match) -> str:
        name = m.group(1)
        if name not in values:
            raise ValueError(f"${{{name}}} has no DefinitionSubstitutions value")
        value = values[name]
        # A placeholder outside a JSON string (a number: `"MaxConcurrency": ${X},`) becomes a
        # quoted symbol; one inside a string is replaced in it.
        line = text[text.rfind("\n", 0, m.start()) + 1 : m.start()]
        outside = len(re.findall(r'(?<!\\)"', line)) % 2 == 0
        return json.dumps(value) if outside else value.replace('"', "'")

    return json.loads(re.sub(r"\$\{([A-Za-z0-9_]+)\}", one, text))


def role_grants(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(action, resource symbol) the state machine's role grants."""
    _, props = state_machine(template)
    role = template["Resources"][_ref(props["RoleArn"])]
    found = set()
    for statement in _statements(role["Properties"].get("Policies", [])):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            for resource in resources:
                found.add((action, resource_symbol(resource, template)))
    return found


def resource_symbol(value: Any, template: dict[str, Any]) -> str:
    """A granted resource as a symbol: functions and the bucket as above, the stack's name <stack>."""
    if isinstance(value, str):
        return value
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        text = text.replace("${AWS::StackName}", "<stack>")
        text = re.sub(r"\$\{(\w+)\.Arn\}", lambda m: symbol({"Fn::GetAtt": [m.group(1), "Arn"]}, template), text)
        text = re.sub(r"\$\{(\w+)\}", lambda m: symbol({"Ref": m.group(1)}, template), text)
        return re.sub(r"^arn:\$\{AWS::Partition\}:(s3:::|states:\$\{AWS::Region\}:\$\{AWS::AccountId\}:)", "", text)
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        pseudo = {"AWS::StackName": "<stack>", "AWS::Partition": "aws", "AWS::Region": "{region}", "AWS::AccountId": "{account}"}
        text = sep.join(
            pseudo[p["Ref"]] if isinstance(p, dict) and p.get("Ref") in pseudo
            else p if isinstance(p, str) else symbol(p, template)
            for p in parts
        )
        # The CDK writes the state machine's name, `<stack>-fanout`, as a literal.
        name = state_machine(template)[1].get("StateMachineName")
        if isinstance(name, str) and name.endswith("-fanout"):
            text = text.replace(name, "<stack>-fanout")
        text = re.sub(r"^arn:aws:states:\{region\}:\{account\}:", "", text)
        # A bucket's objects: <bucket ARN>/key (GetAtt Arn of the bucket) → <bucket>/key.
        text = re.sub(r"^<\{\"Fn::GetAtt\": \[\"\w+\", \"Arn\"\]\}>", "<bucket>", text)
        return text
    return symbol(value, template)


# ------------------------------------------------------------------------------ the checks


def states_of(machine: dict[str, Any]):
    """Every state list (the top one and each Map's processor), with a path for messages."""
    todo = [("", machine)]
    while todo:
        where, block = todo.pop()
        yield where, block
        for name, state in block["States"].items():
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                todo.append((f"{where}{name}/", processor))


def all_states(machine: dict[str, Any]):
    for where, block in states_of(machine):
        for name, state in block["States"].items():
            yield f"{where}{name}", state


def check_graph(machine: dict[str, Any]) -> list[str]:
    problems = []
    for where, block in states_of(machine):
        states = block["States"]
        if block.get("StartAt") not in states:
            problems.append(f"{where or '/'}: StartAt {block.get('StartAt')!r} is no state")
            continue
        edges: dict[str, list[str]] = {}
        for name, state in states.items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c.get("Next") for c in state.get("Choices", [])]
            targets += [c.get("Next") for c in state.get("Catch", [])]
            edges[name] = [t for t in targets if t is not None]
            for target in edges[name]:
                if target not in states:
                    problems.append(f"{where}{name}: goes to {target!r}, which is no state")
            terminal = state.get("End") is True or state["Type"] in ("Succeed", "Fail")
            if not terminal and not state.get("Next") and state["Type"] != "Choice":
                problems.append(f"{where}{name}: neither Next nor End")
        seen, todo = set(), [block["StartAt"]]
        while todo:
            name = todo.pop()
            if name in seen or name not in states:
                continue
            seen.add(name)
            todo.extend(edges[name])
        for name in sorted(set(states) - seen):
            problems.append(f"{where}{name}: unreachable from {block['StartAt']}")
        if not any(s.get("End") is True or s["Type"] in ("Succeed", "Fail") for s in states.values()):
            problems.append(f"{where or '/'}: no terminal state")
    return problems


def distributed_maps(machine: dict[str, Any]):
    return [
        (name, s) for name, s in all_states(machine)
        if s["Type"] == "Map" and (s.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED")
    ]


def check_distributed_map(machine: dict[str, Any]) -> list[str]:
    found = distributed_maps(machine)
    if len(found) != 1:
        return [f"expected one Distributed Map, found {[n for n, _ in found]}"]
    name, lanes = found[0]
    problems = []
    wanted = {
        "MaxConcurrency": "<param:FanOutConcurrency>",
        "ToleratedFailurePercentage": "<param:FanOutToleratedFailurePercentage>",
    }
    for key, value in wanted.items():
        if lanes.get(key) != value:
            problems.append(f"{name}: {key} is {lanes.get(key)!r}, not from the parameter ({value})")
    reader = lanes.get("ItemReader", {})
    if not str(reader.get("Resource", "")).endswith(":states:::s3:getObject"):
        problems.append(f"{name}: ItemReader resource {reader.get('Resource')!r}, not s3:getObject")
    if reader.get("ReaderConfig", {}).get("InputType") != "JSON":
        problems.append(f"{name}: ItemReader InputType is not JSON")
    if reader.get("Parameters") != {"Bucket.$": "$.plan.manifest.bucket", "Key.$": "$.plan.manifest.key"}:
        problems.append(f"{name}: ItemReader does not read $.plan.manifest: {reader.get('Parameters')}")
    if lanes.get("ItemSelector") != {"job.$": "$.job", "lane.$": "$$.Map.Item.Value"}:
        problems.append(f"{name}: ItemSelector {lanes.get('ItemSelector')} is not the contract's")
    writer = lanes.get("ResultWriter", {})
    if not str(writer.get("Resource", "")).endswith(":states:::s3:putObject"):
        problems.append(f"{name}: ResultWriter resource {writer.get('Resource')!r}, not s3:putObject")
    if writer.get("Parameters", {}).get("Bucket") != "<bucket>":
        problems.append(f"{name}: ResultWriter bucket {writer.get('Parameters', {}).get('Bucket')!r}, not the stack's")
    if lanes["ItemProcessor"]["ProcessorConfig"].get("ExecutionType") != "STANDARD":
        problems.append(f"{name}: child executions are not STANDARD")
    if lanes.get("ResultPath") != "$.lanes":
        problems.append(f"{name}: ResultPath {lanes.get('ResultPath')!r}, not $.lanes")
    catches = [c for c in lanes.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
    if not catches or catches[0].get("ResultPath") != "$.failure" or catches[0].get("Next") != "Summarize":
        problems.append(f"{name}: no Catch of States.ALL into $.failure going to Summarize")
    inner = [s for s in lanes["ItemProcessor"]["States"].values() if s["Type"] == "Map"]
    if len(inner) != 1:
        problems.append(f"{name}: expected one inline Map over the lane's shards, found {len(inner)}")
    else:
        shards = inner[0]
        if shards.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode", "INLINE") != "INLINE":
            problems.append(f"{name}: the shards' Map is not INLINE")
        if shards.get("MaxConcurrency") != 1:
            problems.append(f"{name}: the shards' Map has MaxConcurrency {shards.get('MaxConcurrency')!r}, not 1")
        if shards.get("ItemsPath") != "$.lane.shards":
            problems.append(f"{name}: the shards' Map runs over {shards.get('ItemsPath')!r}, not $.lane.shards")
    return problems


def invoked(state: dict[str, Any]) -> str | None:
    """The function a lambda:invoke Task names (a `<function:X>` symbol → X)."""
    if state["Type"] != "Task" or not str(state.get("Resource", "")).endswith(":states:::lambda:invoke"):
        return None
    name = state.get("Parameters", {}).get("FunctionName", "")
    m = re.fullmatch(r"<function:([a-z-]+)>", str(name))
    return m.group(1) if m else f"(not one of the stack's functions: {name!r})"


def check_tasks(machine: dict[str, Any]) -> list[str]:
    problems = []
    workers = set()
    for name, state in all_states(machine):
        for retry in state.get("Retry", []):
            if "States.ALL" in retry["ErrorEquals"]:
                problems.append(f"{name}: a Retry names States.ALL (NonRetryable would be retried)")
            if "NonRetryable" in retry["ErrorEquals"]:
                problems.append(f"{name}: retries NonRetryable")
        if state["Type"] != "Task":
            continue
        function = invoked(state)
        if function is None:
            if state.get("Resource", "").endswith(":states:::lambda:invoke") is False:
                problems.append(f"{name}: a Task that is no lambda:invoke ({state.get('Resource')})")
            continue
        if function not in FUNCTIONS:
            problems.append(f"{name}: invokes {function}, not one of {sorted(FUNCTIONS)}")
            continue
        if function != "fanout":
            workers.add(function)
        retries = state.get("Retry", [])
        throttled = [r for r in retries if r["ErrorEquals"] == ["Throttled"]]
        if not throttled:
            problems.append(f"{name}: no Retry of Throttled")
        for r in throttled:
            if r.get("BackoffRate", 2.0) < 2 or r.get("JitterStrategy") != "FULL":
                problems.append(f"{name}: Throttled retried with BackoffRate {r.get('BackoffRate')} / jitter {r.get('JitterStrategy')}")
            if (r.get("IntervalSeconds"), r.get("MaxAttempts")) != (5, 8):
                problems.append(f"{name}: Throttled retried every {r.get('IntervalSeconds')} s x {r.get('MaxAttempts')}, not 5 s x 8")
        lambda_retry = [r for r in retries if set(r["ErrorEquals"]) == LAMBDA_ERRORS]
        if not lambda_retry:
            problems.append(f"{name}: no Retry of {sorted(LAMBDA_ERRORS)}")
        for r in lambda_retry:
            if (r.get("IntervalSeconds"), r.get("BackoffRate"), r.get("MaxAttempts"), r.get("JitterStrategy")) != (2, 2, 6, "FULL"):
                problems.append(f"{name}: Retryable/Lambda retry is not 2 s, x2, 6 attempts, FULL jitter")
        if function != "fanout" and (
            state.get("Parameters", {}).get("Payload") != {"shard.$": "$.shard"}
            or state.get("ResultSelector") != {"outcome.$": "$.Payload"}
            or state.get("ResultPath") != "$.result"
        ):
            problems.append(f"{name}: payload/ResultSelector/ResultPath are not the contract's")
    if workers != set(WORKERS.values()):
        problems.append(f"the workers invoked are {sorted(workers)}, not {sorted(WORKERS.values())}")
    # The worker Choice: each job to its worker's Task.
    for where, block in states_of(machine):
        for name, state in block["States"].items():
            routes = {
                c.get("StringEquals"): c["Next"] for c in state.get("Choices", []) if c.get("Variable") == "$.job"
            }
            if not routes:
                continue
            for job, worker in WORKERS.items():
                target = block["States"].get(routes.get(job, ""), {})
                if invoked(target) != worker:
                    problems.append(f"{where}{name}: job {job} does not go to a Task invoking {worker}")
    # Re-invocation while the worker stopped after a repository.
    loops = [
        (name, s) for name, s in all_states(machine)
        if s["Type"] == "Choice"
        and any(c.get("Variable") == "$.result.outcome.stopped_after" and c.get("IsNull") is False for c in s["Choices"])
    ]
    if not loops:
        problems.append("no Choice invokes the worker again while $.result.outcome.stopped_after is not null")
    records = [s for _, s in all_states(machine) if s["Type"] == "Pass" and "States.Array($.done, $.result.outcome)" in json.dumps(s)]
    if not records:
        problems.append("no Pass state accumulates done with States.Array($.done, $.result.outcome)")
    return problems


STATUS, OK = "$.result.outcome.status", "ok"
NOT_TAKEN = {"Error": "ShardNotTaken", "CausePath": "$.result.outcome.error"}


def check_answered(machine: dict[str, Any]) -> list[str]:
    """Before the re-invocation Choice reads stopped_after, a Choice lets only an "ok" answer on;
    any other (ignored, rejected: no stopped_after) ends the shard in a Fail state naming it."""
    problems = []
    for where, block in states_of(machine):
        states = block["States"]
        stops = {
            n for n, s in states.items()
            if s["Type"] == "Choice" and any(c.get("Variable") == "$.result.outcome.stopped_after" for c in s["Choices"])
        }
        if not stops:
            continue
        workers = [n for n, s in states.items() if invoked(s) in WORKERS.values()]
        gates = {
            n: s for n, s in states.items()
            if s["Type"] == "Choice" and any(c.get("Variable") == STATUS for c in s.get("Choices", []))
        }
        if len(gates) != 1:
            problems.append(f"{where}: expected one Choice on {STATUS} before {sorted(stops)}, found {sorted(gates)}")
            continue
        (name, gate), = gates.items()
        rules = gate["Choices"]
        if len(rules) != 1 or rules[0].get("StringEquals") != OK or set(rules[0]) != {"Variable", "StringEquals", "Next"}:
            problems.append(f"{where}{name}: its one rule must be {STATUS} StringEquals {OK!r}, not {rules}")
        elif rules[0]["Next"] not in stops:
            problems.append(f"{where}{name}: an {OK!r} answer goes to {rules[0]['Next']!r}, not the re-invocation Choice")
        fail = states.get(gate.get("Default", ""), {})
        if fail.get("Type") != "Fail" or {k: fail.get(k) for k in NOT_TAKEN} != NOT_TAKEN or "Cause" in fail:
            problems.append(
                f"{where}{name}: any other answer goes to {gate.get('Default')!r}, not a Fail state with "
                f"Error {NOT_TAKEN['Error']} and CausePath {NOT_TAKEN['CausePath']} (and no Cause)"
            )
        # No way from a worker to the re-invocation Choice but through the gate.
        todo, seen = list(workers), set()
        while todo:
            current = todo.pop()
            if current in seen or current == name or current not in states:
                continue
            seen.add(current)
            s = states[current]
            todo += [s.get("Next"), s.get("Default")] + [c.get("Next") for c in s.get("Choices", []) + s.get("Catch", [])]
        for stop in sorted(stops & seen):
            problems.append(f"{where}{stop}: reached from a worker without {name} looking at {STATUS} first")
    if not any(
        s["Type"] == "Choice" and any(c.get("Variable") == STATUS for c in s.get("Choices", []))
        for _, s in all_states(machine)
    ):
        problems.append(f"no Choice looks at {STATUS} before the re-invocation Choice")
    return problems


def check_role(machine: dict[str, Any], grants: set[tuple[str, str]]) -> list[str]:
    functions = {f"<function:{invoked(s)}>" for _, s in all_states(machine) if invoked(s)}
    needed = {("lambda:InvokeFunction", f) for f in functions} | ROLE_NEEDS
    problems = [f"role lacks {a} on {r}" for a, r in sorted(needed - grants)]
    problems += [f"role grants {a} on {r}, which the definition does not need" for a, r in sorted(grants - needed)]
    return problems


def check_output(machine: dict[str, Any]) -> list[str]:
    """A run that succeeds answers its summary: every top-level Succeed state outputs Summarize's
    answer (what `warden run --wait` prints per account)."""
    return [
        f"{name}: a successful run's output must be the summary (OutputPath $.summary.summary)"
        for name, state in machine["States"].items()
        if state["Type"] == "Succeed" and state.get("OutputPath") != "$.summary.summary"
    ]


def check(machine: dict[str, Any], grants: set[tuple[str, str]] | None) -> list[str]:
    problems = (
        check_graph(machine) + check_distributed_map(machine) + check_tasks(machine)
        + check_answered(machine) + check_output(machine)
    )
    if grants is not None:
        problems += check_role(machine, grants)
    return problems


# ------------------------------------------------------------------------------ self-test


def mutations() -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    def worker(machine, name="Janitor"):
        return next(s for n, s in all_states(machine) if n.endswith("/" + name))

    def lanes(machine):
        return distributed_maps(machine)[0][1]

    def inner(machine):
        return next(s for s in lanes(machine)["ItemProcessor"]["States"].values() if s["Type"] == "Map")

    def shard_states(machine):
        return inner(machine)["ItemProcessor"]["States"]

    def answered(machine):
        return next(
            s for s in shard_states(machine).values()
            if s["Type"] == "Choice" and any(c.get("Variable") == STATUS for c in s["Choices"])
        )

    def not_taken(machine):
        return shard_states(machine)[answered(machine)["Default"]]

    def static_cause(machine):
        fail = not_taken(machine)
        fail.pop("CausePath")
        fail["Cause"] = "not taken"

    return [
        ("the Throttled retry removed", lambda m: worker(m)["Retry"].pop(0)),
        ("Throttled backoff 1.5", lambda m: worker(m)["Retry"][0].update(BackoffRate=1.5)),
        ("jitter NONE", lambda m: worker(m, "Replicator")["Retry"][0].update(JitterStrategy="NONE")),
        ("NonRetryable retried", lambda m: worker(m)["Retry"].append({"ErrorEquals": ["NonRetryable"], "MaxAttempts": 2})),
        ("States.ALL retried", lambda m: worker(m, "TagGuard")["Retry"][1]["ErrorEquals"].append("States.ALL")),
        ("the Lambda retry removed", lambda m: worker(m, "TagGuard")["Retry"].pop(1)),
        ("a dangling Next", lambda m: worker(m).update(Next="Nowhere")),
        ("an unreachable state", lambda m: m["States"].update(Orphan={"Type": "Succeed"})),
        ("inner MaxConcurrency 2", lambda m: inner(m).update(MaxConcurrency=2)),
        ("a literal MaxConcurrency", lambda m: lanes(m).update(MaxConcurrency=40)),
        ("EXPRESS children", lambda m: lanes(m)["ItemProcessor"]["ProcessorConfig"].update(ExecutionType="EXPRESS")),
        ("ItemReader CSV", lambda m: lanes(m)["ItemReader"]["ReaderConfig"].update(InputType="CSV")),
        ("a foreign function", lambda m: worker(m)["Parameters"].update(FunctionName="arn:aws:lambda:us-east-1:1:function:x")),
        ("sweep routed to janitor", lambda m: next(
            c for _, s in all_states(m) for c in s.get("Choices", []) if c.get("StringEquals") == "sweep"
        ).update(Next="Janitor")),
        ("no Catch on the lanes", lambda m: lanes(m).pop("Catch")),
        ("no re-invocation", lambda m: next(
            s for _, s in all_states(m)
            if s["Type"] == "Choice" and any(c.get("Variable") == "$.result.outcome.stopped_after" for c in s["Choices"])
        )["Choices"][0].update(IsNull=True)),
        ("no answer check (Record to Stopped)", lambda m: shard_states(m)["Record"].update(Next="Stopped")),
        ("a worker around the answer check", lambda m: worker(m, "TagGuard").update(Next="Stopped")),
        ("an ignored answer let on", lambda m: answered(m)["Choices"][0].update(StringEquals="ignored")),
        ("a not-taken shard ends as done", lambda m: answered(m).update(Default="ShardDone")),
        ("ShardNotTaken with a static Cause", static_cause),
        ("ShardNotTaken named otherwise", lambda m: not_taken(m).update(Error="States.TaskFailed")),
        ("the whole state as the run's output", lambda m: m["States"]["Done"].pop("OutputPath")),
    ]


def self_test(machine: dict[str, Any], grants: set[tuple[str, str]]) -> int:
    failures = 0
    for what, mutate in mutations():
        copy_ = copy.deepcopy(machine)
        mutate(copy_)
        problems = check(copy_, grants)
        print(f"  {'rejects' if problems else 'ACCEPTS'}  {what}" + (f": {problems[0]}" if problems else ""))
        failures += not problems
    extra = set(grants) | {("lambda:InvokeFunction", "<function:notifier>")}
    problems = check_role(machine, extra)
    print(f"  {'rejects' if problems else 'ACCEPTS'}  a role that may invoke the notifier too" + (f": {problems[0]}" if problems else ""))
    failures += not problems
    fewer = {g for g in grants if g[0] != "states:StartExecution"}
    problems = check_role(machine, fewer)
    print(f"  {'rejects' if problems else 'ACCEPTS'}  a role without states:StartExecution" + (f": {problems[0]}" if problems else ""))
    failures += not problems
    return failures


def main(args: list[str]) -> int:
    testing = "--self-test" in args
    paths = [a for a in args if a != "--self-test"]
    if not paths:
        print(__doc__)
        return 2
    failures = 0
    seen: dict[str, str] = {}
    for path in paths:
        template = load(path)
        machine = definition(template)
        grants = role_grants(template)
        problems = check(machine, grants)
        for problem in problems:
            print(f"  FAIL  {problem}")
        count = sum(1 for _ in all_states(machine))
        print(f"{path}: {count} states, {len(grants)} grants of the state machine's role: "
              + ("as the contract says" if not problems else f"{len(problems)} problem(s)"))
        failures += bool(problems)
        seen[path] = json.dumps(machine, sort_keys=True)
        if testing:
            missed = self_test(machine, grants)
            print(f"{path}: self-test: {len(mutations()) + 2 - missed} mutations rejected, {missed} accepted")
            failures += bool(missed)
    if len(set(seen.values())) > 1:
        print(f"  FAIL  the templates deploy different definitions: {list(seen)}")
        failures += 1
    if failures:
        print(f"ASL check: {failures} failure(s)")
        return 1
    print("ASL check: the fan-out state machine is the contract's" + (", and the checker rejects every mutation" if testing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
