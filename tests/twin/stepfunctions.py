"""The orchestrator's definition, taken from the template, run state by state (moto cannot
run `codebuild:startBuild.sync` nor the DynamoDB integrations): the subset of the States
Language it uses — Choice, Task with Parameters (`.$` paths, States.Format), ResultSelector,
ResultPath and Catch, Succeed and Fail."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.twin.codebuild import Build


class TaskFailed(Exception):
    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error, self.cause = error, cause


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
    ) -> None:
        self.definition = definition
        self.start_build = start_build
        self.dynamodb = dynamodb
        self.builds: list[Build] = []

    def _task(self, state: dict[str, Any], params: dict[str, Any]) -> Any:
        resource = state["Resource"].split(":::", 1)[1]
        if resource == "codebuild:startBuild.sync":
            build = self.start_build(params)
            self.builds.append(build)
            status = build.wait(timeout=state.get("TimeoutSeconds"))
            description = {"Build": {"Id": build.id, "BuildStatus": status}}
            if status != "SUCCEEDED":
                raise TaskFailed("States.TaskFailed", json.dumps(description))
            return description
        if resource.startswith("dynamodb:"):
            method = re.sub(r"(?<!^)([A-Z])", r"_\1", resource.split(":")[1]).lower()
            try:
                return getattr(self.dynamodb, method)(**params)
            except self.dynamodb.exceptions.ConditionalCheckFailedException as exc:
                raise TaskFailed("DynamoDB.ConditionalCheckFailedException", str(exc)) from None
        raise NotImplementedError(resource)

    def run(self, data: dict[str, Any]) -> Execution:
        name = self.definition["StartAt"]
        visited = []
        doc = dict(data)
        while True:
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
                result = self._task(state, parameters(state.get("Parameters", {}), doc, context))
            except TaskFailed as failure:
                catch = next(
                    (
                        c
                        for c in state.get("Catch", [])
                        if failure.error in c["ErrorEquals"] or "States.ALL" in c["ErrorEquals"]
                    ),
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
