"""The one place where stored items become records, whoever wrote them.

The table is shared: the generator's own `do/register --ci` writes records without a
version or stage results, the original CodeBuild buildspec wrote stage results as a map of
maps with stages this project does not have, and people edit items by hand. Everything
behind this module sees well-formed records: missing optional attributes get defaults,
numbers and strings are coerced where the meaning is clear, unknown stages are kept, and
secrets in a configJson (by key or by the shape of the value) are masked before anyone can
show them. A record is also checked as it is read against the rules its writes keep, so
nothing behind this layer meets what it cannot handle: timestamps parse and lie between 1970
and 2200 (and are written back the one canonical way), statuses and stage statuses are known
or mapped (`FAILED` is `fail`; the original buildspec's `fail-adapter_test` is
`fail-deploy_test`), configJson fields have their types, and text is bounded. Every text
another writer stored is scrubbed as it is read: secrets masked, terminal sequences
removed. An item that still cannot be understood raises `Unreadable`, naming why.

Each value is read by storedvalues.py; this module puts them together. Callers read the
names of both here (`decode.plain`, `decode.config_json`): the `import X as X` below
re-export those this module does not use itself.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from mlcc_ci import fields as field_shapes
from mlcc_ci.constants import NEVER_TESTED, SCHEMA_VERSION, STATUSES
from mlcc_ci.models import MOST_RECENT_RUNS, Record, Run
from mlcc_ci.redact import redact
from mlcc_ci.safetext import capped, printable
from mlcc_ci.storedvalues import CONFIG_LIMIT as CONFIG_LIMIT
from mlcc_ci.storedvalues import EARLIEST as EARLIEST
from mlcc_ci.storedvalues import LATEST as LATEST
from mlcc_ci.storedvalues import (
    TEXT_LIMIT,
    _number,
    _seconds,
    _text,
    _write_limits,
    blocked,
    config_json,
    cost,
    failure,
    moment,
    plain,
    prose,
    stages,
)
from mlcc_ci.storedvalues import scrub as scrub
from mlcc_ci.storedvalues import stage as stage
from mlcc_ci.storedvalues import stage_status as stage_status

CONFIG_ID = re.compile(r"^[0-9a-f]{16}$")
_RECORD_FIELDS = {f.name for f in fields(Record)}
# Statuses other writers use for what ours mean (selection queries them too).
_STATUS_MAP = {"fail-adapter_test": "fail-deploy_test"}
FOREIGN_STATUSES = tuple(_STATUS_MAP)
_TIMES = (
    "lastTestTimestamp",
    "createdAt",
    "runStartedAt",
    "lastPassTimestamp",
    "currentStageStartedAt",
)
_WRITE_LIMITS = _write_limits()


class Unreadable(Exception):
    """An item no reader can make sense of."""

    def __init__(self, config_id: str, reason: str) -> None:
        super().__init__(f"{config_id}: {reason}")
        self.config_id = config_id
        self.reason = reason


def shown_id(value: Any) -> str:
    """A configId as it may be shown, whatever was stored under it: on one line."""
    return printable(str(value)).replace("\n", "?").replace("\t", "?")[:64] or "?"


def record(item: Mapping[str, Any], *, from_json: bool = False) -> Record:
    """A record from an item of any writer; raises Unreadable. `from_json`: the item came
    from json.loads, so it holds no Decimal to make plain."""
    config_id = item.get("configId")
    if not isinstance(config_id, str) or not config_id:
        raise Unreadable(shown_id(config_id or "?"), "no configId")
    if not config_id.isprintable():
        raise Unreadable(shown_id(config_id), "the configId holds control characters")
    try:
        return _record(config_id, item if from_json else plain(item))
    except (ValueError, TypeError) as exc:
        raise Unreadable(config_id, str(exc)) from None


def _record(config_id: str, item: Mapping[str, Any]) -> Record:
    text, config, _ = config_json(item.get("configJson"))
    status = item.get("testStatus", "untested")
    status = _STATUS_MAP.get(status, status) if isinstance(status, str) else status
    if not isinstance(status, str) or status not in STATUSES:
        raise ValueError(f"testStatus {printable(str(status))[:40]!r} is not a status")
    times = {name: moment(item.get(name), name) for name in _TIMES}
    name = _text(item.get("deploymentConfig")) or _text(config.get("deploymentConfig"))
    if not name:
        raise ValueError("no deploymentConfig")
    version = _number(item.get("version"))
    # These become folder names and command arguments: a bad one is never used.
    checks = [("deploymentConfig", name), ("deploymentConfig", config.get("deploymentConfig"))]
    checks += [("projectName", item.get("projectName")), ("projectName", config.get("projectName"))]
    checks += [("runId", item.get("runId"))]
    for field_name, value in checks:
        shown = value if isinstance(value, str) else _text(value)
        if value not in (None, "") and (why := field_shapes.problem(field_name, shown)):
            raise ValueError(why)
    values: dict[str, Any] = {
        "configId": config_id,
        "configJson": text,
        "deploymentConfig": name,
        "buildStrategy": _text(item.get("buildStrategy"))
        or _text(config.get("buildStrategy"))
        or "",
        "projectName": _text(item.get("projectName")) or _text(config.get("projectName")) or "",
        "createdAt": times["createdAt"] or NEVER_TESTED,
        "source": item.get("source") if item.get("source") in ("catalog", "project") else "project",
        # 0: written by another tool, never by mlcc-ci (the first write of ours makes it 1)
        "version": int(version) if version is not None and version >= 0 else 0,
        "testStatus": status,
        "lastTestTimestamp": times["lastTestTimestamp"] or NEVER_TESTED,
        "schemaVersion": int(_number(item.get("schemaVersion")) or SCHEMA_VERSION),
        "lastTestDuration": _seconds(item.get("lastTestDuration")),
        "stageResults": stages(item.get("stageResults") or {}),
    }
    if item.get("supportState") in ("supported", "unsupported"):
        values["supportState"] = item["supportState"]
    for key in ("baseImage", "baseImageVersion", "runId", "profile", "generatorVersion"):
        if (value := _text(item.get(key))) is not None:
            values[key] = capped(value, TEXT_LIMIT)
    for key in ("errorMessage", "supportReason", "provenImage"):
        if (value := prose(item.get(key))) is not None:
            # within what a write of it allows: a record read is a record that can be written
            values[key] = capped(value, _WRITE_LIMITS.get(key, TEXT_LIMIT))
    for key in ("runStartedAt", "lastPassTimestamp"):
        if times[key] is not None:
            values[key] = times[key]
    previous = item.get("previousStatus")
    if isinstance(previous, str) and previous in STATUSES:
        values["previousStatus"] = previous
    values["estimatedCost"] = cost(item.get("estimatedCost"))
    values["failure"] = failure(item.get("failure"))
    values["blocked"] = blocked(item.get("blocked"))
    values["recentRuns"] = recent_runs(config_id, name, item.get("recentRuns"))
    if status == "running":  # progress of a finished run says nothing
        if (value := _text(item.get("currentStage"))) is not None:
            values["currentStage"] = capped(value, 64)
        if times["currentStageStartedAt"] is not None:
            values["currentStageStartedAt"] = times["currentStageStartedAt"]
        if isinstance(item.get("runStages"), Mapping):
            values["runStages"] = stages(item["runStages"])
    return Record(**values)


def recent_runs(config_id: str, name: str, value: Any) -> tuple[Run, ...]:
    """The run summaries a record carries, newest first; ones no one can read are left out."""
    if not isinstance(value, list):
        return ()
    runs = []
    for item in value[:MOST_RECENT_RUNS]:
        if isinstance(item, Mapping):
            try:
                item = {**item, "configId": config_id, "deploymentConfig": name}
                runs.append(_run(item))  # the record was made plain already
            except Unreadable:
                continue
    return tuple(runs)


def carried_runs(config_id: str, name: str, text: str | None) -> tuple[Run, ...]:
    """The run summaries a record carries, from their stored JSON text (read apart from the
    record, and decoded only when a report asks for them): as `recent_runs` reads them;
    none from text that is not JSON."""
    if not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return recent_runs(config_id, name, value)


def secret_texts(item: Mapping[str, Any]) -> list[str]:
    """Where an item's free text (an error another tool stored) holds a secret."""
    found = []
    for key in ("errorMessage", "supportReason"):
        if isinstance(item.get(key), str) and redact(item[key]) != item[key]:
            found.append(key)
    results = item.get("stageResults")
    if isinstance(results, Mapping):
        for name, result in results.items():
            text = result.get("errorSummary") if isinstance(result, Mapping) else None
            if isinstance(text, str) and redact(text) != text:
                found.append(f"stageResults.{name}.errorSummary")
    return found


def foreign(item: Mapping[str, Any]) -> list[str]:
    """How an item differs from what mlcc-ci writes (empty for its own)."""
    shape = []
    if "version" not in item:
        shape.append("no version")
    if isinstance(item.get("stageResults"), str):
        shape.append("stageResults stored as a string")
    others = sorted(set(item) - _RECORD_FIELDS)
    if others:
        shape.append(f"attributes of another tool: {', '.join(others)}")
    return shape


def run(item: Mapping[str, Any]) -> Run:
    """A history item; raises Unreadable."""
    return _run(plain(item))


def _attempt(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None and 1 <= number < 1000 else 1


def _run(values: Mapping[str, Any]) -> Run:
    config_id = printable(str(values.get("configId", "?")))
    try:
        started = moment(values.get("startedAt"), "startedAt")
        if not started:
            raise Unreadable(config_id, "history item: no startedAt")
        status = _text(values.get("status")) or ""
        status = _STATUS_MAP.get(status, status)
        return Run(
            configId=config_id,
            startedAt=started,
            runId=_text(values.get("runId")) or started,
            finishedAt=moment(values.get("finishedAt"), "finishedAt") or started,
            status=status,
            durationSeconds=_number(values.get("durationSeconds")) or 0.0,
            deploymentConfig=_text(values.get("deploymentConfig")) or "",
            stageResults=stages(values.get("stageResults") or {}),
            errorMessage=prose(values.get("errorMessage")) or "",
            profile=_text(values.get("profile")) or "default",
            estimatedCost=cost(values.get("estimatedCost")),
            failure=failure(values.get("failure")),
            attempt=_attempt(values.get("attempt")),
            generatorVersion=_text(values.get("generatorVersion")) or "",
            provenImage=_text(values.get("provenImage")) or "",
        )
    except ValueError as exc:
        raise Unreadable(config_id, f"history item: {exc}") from None
