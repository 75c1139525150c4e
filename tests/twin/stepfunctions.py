"""The orchestrator's definition, taken from the template, run state by state (moto cannot
run `codebuild:startBuild.sync` nor the Lambda and DynamoDB integrations): the subset of the
States Language it uses — Choice, Task with Parameters (`.$` paths, States.Format),
ResultSelector, ResultPath, Retry and Catch, Succeed and Fail — with its timeouts.

A `.sync` build that does not succeed fails the task with its Build as the cause, as
DescribeBuild words it (BuildStatus; CurrentPhase COMPLETED once it ended; its Phases, each
with its PhaseStatus: the twin knows QUEUED, a failed DOWNLOAD_SOURCE, and puts a build that
ran and failed in BUILD). `lambda:invoke` calls the function's handler in-process and
answers {"Payload": <what it returned>, "StatusCode": 200}; a handler that raises fails the
task with the exception's type as the error, as Lambda names a Python function's error.

Errors as "Error handling in Step Functions workflows" names them
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html): a Task
past its TimeoutSeconds fails with States.Timeout, which Retry and Catch see; a build that
does not succeed is States.TaskFailed; a service's own error is `<Service>.<Exception>`.
States.ALL matches every error (but States.Runtime and States.DataLimitExceeded);
States.TaskFailed every error but States.Timeout. The execution's own TimeoutSeconds ends it
TIMED_OUT, and no Catch sees that: "catchers are available for Task, Parallel and Map
states, but not for top-level state machine execution failures". Whether Step Functions
stops a `.sync` build whose task or execution timed out, those pages do not say: the twin
leaves it running.
"""

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.twin.buildrules import AccountLimitExceeded
from tests.twin.codebuild import Build

UNCATCHABLE_BY_ALL = {"States.Runtime", "States.DataLimitExceeded"}


class TaskFailed(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


class ExecutionTimedOut(Exception):
    """The execution's TimeoutSeconds passed: it ends TIMED_OUT, whatever state it was in."""


def matches(error: str, names: list[str]) -> bool:
    """Whether a Retrier's or Catcher's ErrorEquals covers `error`."""
    if error in names:
        return True
    if "States.ALL" in names and error not in UNCATCHABLE_BY_ALL:
        return True
    return "States.TaskFailed" in names and error not in (UNCATCHABLE_BY_ALL | {"States.Timeout"})


def _path(doc: Any, path: str, context: dict[str, Any]) -> Any:
    root, rest = (context, path[2:]) if path.startswith("$$") else (doc, path[1:])
    value = root
    for part in (p for p in rest.split(".") if p):
        value = value[part]
    return value


def _format(expression: str, doc: Any, context: dict[str, Any]) -> str:
    match = re.fullmatch(
        r"States\.Format\('((?:[^'\\]|\\.)*)'((?:\s*,\s*\$[\w.$]*)*)\)", expression
    )
    if not match:
        raise NotImplementedError(expression)
    template, args = match.group(1), [a.strip() for a in match.group(2).split(",") if a.strip()]
    values = iter(str(_path(doc, a, context)) for a in args)
    return re.sub(r"\{\}", lambda _: next(values), template)


def parameters(spec: Any, doc: Any, context: dict[str, Any]) -> Any:
    if isinstance(spec, list):
        return [parameters(v, doc, context) for v in spec]
    if not isinstance(spec, dict):
        return spec
    out = {}
    for key, value in spec.items():
        if key.endswith(".$"):
            out[key[:-2]] = (
                _format(value, doc, context)
                if value.startswith("States.")
                else _path(doc, value, context)
            )
        else:
            out[key] = parameters(value, doc, context)
    return out


def _place(doc: dict[str, Any], path: str | None, result: Any) -> dict[str, Any]:
    if path is None:
        return doc  # ResultPath null: discard
    if path == "$":
        return dict(result)
    out = json.loads(json.dumps(doc))
    target = out
    parts = path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = result
    return dict(out)


def described(build: Build, status: str) -> dict[str, Any]:
    """The ended `build` as DescribeBuild (BatchGetBuilds) gives it to a `.sync` task."""
    phases = [{"PhaseType": "SUBMITTED", "PhaseStatus": "SUCCEEDED"}]
    phases += [{"PhaseType": kind, "PhaseStatus": state} for kind, state, _ in build.phases]
    failed = any(p["PhaseStatus"] != "SUCCEEDED" for p in phases)
    if status != "SUCCEEDED" and not failed and build.proc is not None:
        phases.append({"PhaseType": "BUILD", "PhaseStatus": status})
    phases.append({"PhaseType": "COMPLETED"})
    return {
        "Id": build.id,
        "BuildStatus": status,
        "BuildComplete": True,
        "CurrentPhase": "COMPLETED",
        "Phases": phases,
    }


@dataclass
class Execution:
    status: str
    output: dict[str, Any]
    visited: list[str]
    error: str = ""


class StateMachine:
    def __init__(
        self,
        definition: dict[str, Any],
        start_build: Callable[[dict[str, Any]], Build],
        dynamodb: Any,
        *,
        lambdas: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.definition = definition
        self.start_build = start_build
        self.dynamodb = dynamodb
        self.lambdas = lambdas or {}  # function name -> its handler, invoked with a payload
        self.sleep = sleep  # Retry's intervals: tests pass one that returns at once
        self.clock = clock
        self.builds: list[Build] = []

    def _wait(self, build: Build, state: dict[str, Any], deadline: float | None) -> str:
        """Until the build ends, the task's TimeoutSeconds passes (States.Timeout), or the
        execution's does (ExecutionTimedOut)."""
        if "HeartbeatSeconds" in state:
            # a .sync task polls its job: no heartbeat is ever sent; not modelled
            raise NotImplementedError("HeartbeatSeconds on a .sync task")
        now = self.clock()
        timeout = state.get("TimeoutSeconds")
        task_end = now + timeout if timeout is not None else None
        ends = [t for t in (task_end, deadline) if t is not None]
        if build.done.wait(max(min(ends) - now, 0) if ends else None):
            return build.status
        if deadline is not None and (task_end is None or deadline <= task_end):
            raise ExecutionTimedOut
        raise TaskFailed("States.Timeout", f"Task timed out after {timeout} seconds")

    def _attempts(
        self, state: dict[str, Any], params: dict[str, Any], deadline: float | None
    ) -> Any:
        """The task, retried as its first matching Retrier says: IntervalSeconds (1),
        times BackoffRate (2.0) per attempt, MaxAttempts (3) at most, MaxDelaySeconds."""
        retriers = state.get("Retry", [])
        counts = [0] * len(retriers)
        while True:
            try:
                return self._task(state, params, deadline)
            except TaskFailed as failure:
                index = next(
                    (i for i, r in enumerate(retriers) if matches(failure.error, r["ErrorEquals"])),
                    None,
                )
                if index is None:
                    raise
                retrier = retriers[index]
                if counts[index] >= retrier.get("MaxAttempts", 3):
                    raise
                delay = (
                    retrier.get("IntervalSeconds", 1)
                    * retrier.get("BackoffRate", 2.0) ** (counts[index])
                )
                delay = min(delay, retrier.get("MaxDelaySeconds", delay))
                counts[index] += 1
                if deadline is not None and self.clock() + delay >= deadline:
                    raise ExecutionTimedOut from None
                self.sleep(delay)

    def _task(self, state: dict[str, Any], params: dict[str, Any], deadline: float | None) -> Any:
        resource = state["Resource"].split(":::", 1)[1]
        if resource == "codebuild:startBuild.sync":
            try:
                build = self.start_build(params)
            except AccountLimitExceeded as exc:
                # the service's error, as the integration names it
                raise TaskFailed("CodeBuild.AccountLimitExceededException", str(exc)) from None
            self.builds.append(build)
            status = self._wait(build, state, deadline)
            description = {"Build": described(build, status)}
            if status != "SUCCEEDED":
                raise TaskFailed("States.TaskFailed", json.dumps(description))
            return description
        if resource == "lambda:invoke":
            name = str(params["FunctionName"]).rsplit(":function:", 1)[-1].split(":")[0]
            try:
                payload = self.lambdas[name](params.get("Payload", {}))
            except Exception as exc:  # the function's error, as Lambda reports it
                raise TaskFailed(type(exc).__name__, str(exc)) from None
            return {"Payload": payload, "StatusCode": 200}
        if resource.startswith("dynamodb:"):
            method = re.sub(r"(?<!^)([A-Z])", r"_\1", resource.split(":")[1]).lower()
            try:
                return getattr(self.dynamodb, method)(**params)
            except self.dynamodb.exceptions.ConditionalCheckFailedException as exc:
                raise TaskFailed("DynamoDB.ConditionalCheckFailedException", str(exc)) from None
        raise NotImplementedError(resource)

    def run(self, data: dict[str, Any]) -> Execution:
        name = self.definition["StartAt"]
        visited: list[str] = []
        doc = dict(data)
        limit = self.definition.get("TimeoutSeconds")
        deadline = self.clock() + limit if limit is not None else None
        while True:
            if deadline is not None and self.clock() >= deadline:
                return Execution("TIMED_OUT", doc, visited, "States.Timeout")
            visited.append(name)
            state = self.definition["States"][name]
            context = {
                "State": {
                    "EnteredTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    "Name": name,
                }
            }
            kind = state["Type"]
            if kind == "Succeed":
                return Execution("SUCCEEDED", doc, visited)
            if kind == "Fail":
                return Execution("FAILED", doc, visited, state.get("Error", ""))
            if kind == "Choice":
                name = next(
                    (
                        c["Next"]
                        for c in state["Choices"]
                        if _path(doc, c["Variable"], context) == c["StringEquals"]
                    ),
                    state.get("Default", ""),
                )
                continue
            if kind != "Task":
                raise NotImplementedError(kind)
            try:
                params = parameters(state.get("Parameters", {}), doc, context)
                result = self._attempts(state, params, deadline)
            except ExecutionTimedOut:
                return Execution("TIMED_OUT", doc, visited, "States.Timeout")
            except TaskFailed as failure:
                catch = next(
                    (c for c in state.get("Catch", []) if matches(failure.error, c["ErrorEquals"])),
                    None,
                )
                if catch is None:
                    return Execution("FAILED", doc, visited, failure.error)
                doc = _place(
                    doc,
                    catch.get("ResultPath", "$"),
                    {"Error": failure.error, "Cause": failure.cause},
                )
                name = catch["Next"]
                continue
            if "ResultSelector" in state:
                result = parameters(state["ResultSelector"], result, context)
            doc = _place(doc, state.get("ResultPath", "$"), result)
            if state.get("End"):
                return Execution("SUCCEEDED", doc, visited)
            name = state["Next"]
