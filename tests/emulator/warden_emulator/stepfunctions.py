"""AWS Step Functions where stock moto 5.2.5 answers unlike AWS's API reference: map runs (ListMapRuns
answers a bare list and DescribeMapRun an empty object, where AWS answers `{"mapRuns": [...]}` and a
Map Run's required fields), an execution's history (moto answers one fixed history, the same for
every execution, whatever happened in it) and DescribeExecution's `stopDate` of a timed-out
execution.

No state machine runs here (moto would need the Lambdas, and Docker): a test plays the engine
through `/_warden/seed/stepfunctions-map-run` — it starts an execution's Distributed Map run, moves
its item counts, records state exits in the execution's history (the Plan state's output) and ends
the execution as the engine would, with its status, output or error and cause. The API then answers
from that record in AWS's shapes."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.stepfunctions import models, responses
from moto.stepfunctions.exceptions import InvalidArn, ResourceNotFound

from .patching import patch

# botocore stepfunctions, shape ExecutionStatus; shape MapRunStatus.
ENDED = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
MAP_RUN_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "ABORTED")
# botocore stepfunctions, shape MapRunItemCounts: every member "Required: Yes".
COUNTS = ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total", "resultsWritten")
# The Service Authorization Reference's mapRun resource:
# arn:${Partition}:states:${Region}:${Account}:mapRun:${StateMachineName}/${MapRunLabel}:${MapRunId}
MAP_RUN_ARN = re.compile(r"arn:[^:]+:states:[-0-9a-z]+:\d{12}:mapRun:[^:/]+/[^:]+:[^:]+")
EXECUTION_ARN = re.compile(r"arn:[^:]+:states:[-0-9a-z]+:\d{12}:execution:[^:]+:[^:]+")
# The terminal event of an execution, and where its details go (botocore shape HistoryEvent).
TERMINAL = {
    "SUCCEEDED": ("ExecutionSucceeded", "executionSucceededEventDetails"),
    "FAILED": ("ExecutionFailed", "executionFailedEventDetails"),
    "TIMED_OUT": ("ExecutionTimedOut", "executionTimedOutEventDetails"),
    "ABORTED": ("ExecutionAborted", "executionAbortedEventDetails"),
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _store(backend: models.StepFunctionBackend) -> dict[str, Any]:
    """Map runs by ARN and seeded history events by execution ARN, kept on moto's backend of one
    account and region (reset with it)."""
    if not hasattr(backend, "_warden_sfn"):
        backend._warden_sfn = {"map_runs": {}, "events": {}}
    return backend._warden_sfn


def _execution(backend: models.StepFunctionBackend, arn: str) -> models.Execution:
    if not isinstance(arn, str) or not EXECUTION_ARN.fullmatch(arn):
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    return backend.describe_execution(arn)


def _describe_execution(self: responses.StepFunctionResponse) -> ActionResult:
    """Stock DescribeExecution, with `stopDate` for every execution that ended (TIMED_OUT too)."""
    arn = self._get_param("executionArn")
    execution = _execution(self.stepfunction_backend, arn)
    answer: dict[str, Any] = {
        "executionArn": arn,
        "input": execution.execution_input,
        "inputDetails": {"included": True},
        "name": execution.name,
        "startDate": execution.start_date,
        "stateMachineArn": execution.state_machine_arn,
        "status": execution.status,
    }
    if execution.status in ENDED:
        answer["stopDate"] = execution.stop_date or execution.start_date
    if execution.status == "SUCCEEDED" and execution.output is not None:
        answer["output"] = execution.output
        answer["outputDetails"] = {"included": True}
    for field in ("error", "cause"):
        if getattr(execution, field) is not None:
            answer[field] = getattr(execution, field)
    return ActionResult(answer)


def _history(backend: models.StepFunctionBackend, execution: models.Execution) -> list[dict[str, Any]]:
    """This execution's events: its start (with its own input), what the engine recorded, its end."""
    role = backend._get_state_machine_for_execution(execution.execution_arn).roleArn
    started = {
        "timestamp": execution.start_date,
        "type": "ExecutionStarted",
        "executionStartedEventDetails": {
            "input": execution.execution_input,
            "inputDetails": {"truncated": False},
            "roleArn": role,
        },
    }
    events = [started, *_store(backend)["events"].get(execution.execution_arn, [])]
    if execution.status in TERMINAL:
        kind, key = TERMINAL[execution.status]
        details: dict[str, Any] = {}
        if execution.status == "SUCCEEDED":
            details = {"output": execution.output or "{}", "outputDetails": {"truncated": False}}
        elif execution.error is not None or execution.cause is not None:
            details = {k: v for k, v in (("error", execution.error), ("cause", execution.cause)) if v is not None}
        events.append({"timestamp": execution.stop_date or _now(), "type": kind, key: details})
    return [{**event, "id": i + 1, "previousEventId": i} for i, event in enumerate(events)]


def _get_execution_history(self: responses.StepFunctionResponse) -> ActionResult:
    """The execution's own history, oldest first (newest first with reverseOrder), paged by
    maxResults (default 100, at most 1000) and nextToken."""
    backend = self.stepfunction_backend
    execution = _execution(backend, self._get_param("executionArn"))
    events = _history(backend, execution)
    if self._get_param("reverseOrder"):
        events.reverse()
    size = self._get_int_param("maxResults") or 100
    start = int(self._get_param("nextToken") or 0)
    page = events[start : start + min(size, 1000)]
    answer: dict[str, Any] = {"events": page}
    if start + len(page) < len(events):
        answer["nextToken"] = str(start + len(page))
    return ActionResult(answer)


def _list_map_runs(self: responses.StepFunctionResponse) -> ActionResult:
    backend = self.stepfunction_backend
    execution = _execution(backend, self._get_param("executionArn"))
    runs = [r for r in _store(backend)["map_runs"].values() if r["executionArn"] == execution.execution_arn]
    items = []
    for run in runs:
        item = {k: run[k] for k in ("executionArn", "mapRunArn", "startDate")}
        item["stateMachineArn"] = run["stateMachineArn"]
        if run.get("stopDate") is not None:
            item["stopDate"] = run["stopDate"]
        items.append(item)
    return ActionResult({"mapRuns": items})


def _describe_map_run(self: responses.StepFunctionResponse) -> ActionResult:
    arn = self._get_param("mapRunArn")
    if not isinstance(arn, str) or not MAP_RUN_ARN.fullmatch(arn):
        raise InvalidArn(f"Invalid Arn: '{arn}'")
    run = _store(self.stepfunction_backend)["map_runs"].get(arn)
    if run is None:
        raise ResourceNotFound(arn)
    answer = {k: v for k, v in run.items() if k != "stateMachineArn" and v is not None}
    return ActionResult(answer)


def _counts(given: dict[str, Any]) -> dict[str, int]:
    counts = {k: int(given.get(k, 0)) for k in COUNTS if k not in ("total", "resultsWritten")}
    if any(v < 0 for v in counts.values()):
        raise ValueError("item counts are never negative (MapRunItemCounts: Minimum value of 0)")
    counts["total"] = int(given.get("total", sum(counts.values())))
    counts["resultsWritten"] = int(given.get("resultsWritten", 0))
    return counts


def _seed_map_run(backend: models.StepFunctionBackend, execution: models.Execution, given: dict[str, Any]) -> str:
    """Start the execution's map run (the first time: its MapRunStarted event too), then set its
    counts and status."""
    store = _store(backend)
    run = next((r for r in store["map_runs"].values() if r["executionArn"] == execution.execution_arn), None)
    if run is None:
        machine = execution.execution_arn.split(":")[6]
        prefix = execution.execution_arn.split(":execution:")[0]
        arn = f"{prefix}:mapRun:{machine}/{given.get('label', 'Lanes')}:{uuid.uuid4()}"
        run = {
            "mapRunArn": arn, "executionArn": execution.execution_arn,
            "stateMachineArn": execution.state_machine_arn, "status": "RUNNING", "startDate": _now(),
            "stopDate": None, "maxConcurrency": int(given.get("maxConcurrency", 40)),
            "toleratedFailurePercentage": float(given.get("toleratedFailurePercentage", 10)),
            "toleratedFailureCount": int(given.get("toleratedFailureCount", 0)),
        }
        store["map_runs"][arn] = run
        store["events"].setdefault(execution.execution_arn, []).append(
            {"timestamp": run["startDate"], "type": "MapRunStarted", "mapRunStartedEventDetails": {"mapRunArn": arn}}
        )
    # Without an ItemBatcher, each item is one child workflow execution: the counts are the same.
    run["itemCounts"] = _counts(given.get("itemCounts", {}))
    run["executionCounts"] = dict(run["itemCounts"])
    status = given.get("status", run["status"])
    if status not in MAP_RUN_STATUSES:
        raise ValueError(f"map run status {status!r}: one of {MAP_RUN_STATUSES}")
    run["status"] = status
    if status != "RUNNING" and run["stopDate"] is None:
        run["stopDate"] = _now()
    return run["mapRunArn"]


def _seed_end(execution: models.Execution, given: dict[str, Any]) -> None:
    status = given["status"]
    if status not in ENDED:
        raise ValueError(f"execution status {status!r}: one of {ENDED}")
    if status == "SUCCEEDED":
        execution.output = json.dumps(given.get("output", {}))
    execution.error = given.get("error")
    execution.cause = given.get("cause")
    execution.status = status
    execution.stop_date = _now()


def seed_map_run(body: dict[str, Any]) -> dict[str, Any]:
    """Play the engine on an execution. body: account, region, executionArn, and any of
    `events` (history events to record, e.g. the Plan state's TaskStateExited), `mapRun`
    (`{itemCounts, status?, label?}`: start or move the execution's map run) and `end`
    (`{status, output? | error?, cause?}`: end the execution)."""
    backend = models.stepfunctions_backends[body["account"]][body["region"]]
    execution = backend.describe_execution(body["executionArn"])
    recorded = _store(backend)["events"].setdefault(execution.execution_arn, [])
    for event in body.get("events", []):
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError("each event is an object with a `type` (botocore shape HistoryEventType)")
        recorded.append({"timestamp": _now(), **event})
    answer: dict[str, Any] = {"executionArn": execution.execution_arn}
    if "mapRun" in body:
        answer["mapRunArn"] = _seed_map_run(backend, execution, body["mapRun"])
    if "end" in body:
        _seed_end(execution, body["end"])
    answer["status"] = execution.status
    return answer


def apply() -> None:
    patch(responses.StepFunctionResponse, "describe_execution", _describe_execution)
    patch(responses.StepFunctionResponse, "get_execution_history", _get_execution_history)
    patch(responses.StepFunctionResponse, "list_map_runs", _list_map_runs)
    patch(responses.StepFunctionResponse, "describe_map_run", _describe_map_run)
