"""The one place where stored items become records, whoever wrote them.

The table is shared: the generator's own `do/register --ci` writes records without a
version or stage results, the original CodeBuild buildspec wrote stage results as a map of
maps with stages this project does not have, and people edit items by hand. Everything
behind this module sees well-formed records: missing optional attributes get defaults,
numbers and strings are coerced where the meaning is clear, unknown stages are kept, and
secrets in a configJson (by key or by the shape of the value) are masked before anyone can
show them. An item that still cannot be understood raises `Unreadable`, naming why.
"""

import json
import math
import re
from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any

from mlcc_ci import fields as field_shapes
from mlcc_ci.constants import NEVER_TESTED, SCHEMA_VERSION, STATUSES
from mlcc_ci.doconfig import is_secret
from mlcc_ci.models import RECENT_RUNS, Cost, Record, Run, StageResult, stage_order
from mlcc_ci.redact import MASK, looks_secret
from mlcc_ci.safetext import printable

CONFIG_ID = re.compile(r"^[0-9a-f]{16}$")
_STATUS = re.compile(r"^(untested|running|pass|fail-[a-z_]{1,40})$")
_RECORD_FIELDS = {f.name for f in fields(Record)}


class Unreadable(Exception):
    """An item no reader can make sense of."""

    def __init__(self, config_id: str, reason: str) -> None:
        super().__init__(f"{config_id}: {reason}")
        self.config_id = config_id
        self.reason = reason


def plain(value: Any) -> Any:
    """DynamoDB gives numbers as Decimal; the model uses int and float."""
    kind = type(value)  # exact types first: this runs on every value of every item read
    if kind is str or kind is int or kind is float or value is None or kind is bool:
        return value
    if kind is dict:
        return {k: plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _number(value: Any) -> float | None:
    """A finite number from a number or numeric text; None for anything else."""
    if type(value) is float:  # the common case, quickly
        return value if math.isfinite(value) else None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = float(Decimal(value.strip()) if isinstance(value, str) else value)
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    """Text another writer stored, made safe for a terminal; numbers as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(plain(value))
    return None


_STAGE_STATUSES = frozenset({"pass", "fail", "skip"})


def stage(value: Any) -> StageResult | None:
    """One stage's result: a map (ours, or the buildspec's map of strings and numbers) or a
    bare status string."""
    if type(value) is dict and value.get("status") in _STAGE_STATUSES and len(value) == 2:
        # the shape a record's recentRuns keeps (status and time only): a quick path
        seconds = value.get("durationSeconds")
        if (type(seconds) is float or type(seconds) is int) and 0 <= seconds < math.inf:
            return StageResult(value["status"], float(seconds))
    if isinstance(value, str):
        return StageResult(printable(value)) if value else None
    if not isinstance(value, Mapping) or not isinstance(value.get("status"), str):
        return None
    duration = _number(value.get("durationSeconds")) or 0.0
    return StageResult(
        status=printable(value["status"]),
        durationSeconds=max(duration, 0.0),
        logPointer=_text(value.get("logPointer")) or "",
        errorSummary=_text(value.get("errorSummary")) or "",
        note=_text(value.get("note")) or "",
    )


def stages(value: Any) -> dict[str, StageResult]:
    """Stage results in lifecycle order (stages of other writers after ours), from a map or
    a JSON string of one. Entries that say nothing are left out."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            raise ValueError("stageResults is a string but not JSON") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"stageResults is a {type(value).__name__}, not a map")
    found = {str(k): r for k, v in value.items() if (r := stage(v)) is not None}
    return {k: found[k] for k in sorted(found, key=stage_order)}


def scrub(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """`value` with every secret masked (a secret-named key, or a value shaped like a
    credential), and the paths where one was found."""
    found: list[str] = []
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if is_secret(str(key)) and isinstance(item, str) and item and item != MASK:
                out[key] = MASK
                found.append(where)
            else:
                out[key], more = scrub(item, where)
                found += more
        return out, found
    if isinstance(value, list):
        items = [scrub(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return [i[0] for i in items], [p for i in items for p in i[1]]
    if isinstance(value, str) and looks_secret(value):
        return MASK, [path]
    return value, found


def config_json(value: Any) -> tuple[str, dict[str, Any], list[str]]:
    """The compact configJson with secrets masked, its parsed form, and where secrets were."""
    if isinstance(value, Mapping):
        parsed: Any = plain(value)
    elif isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise ValueError("configJson is not JSON") from None
    else:
        raise ValueError("configJson is missing")
    if not isinstance(parsed, dict):
        raise ValueError("configJson is not a JSON object")
    clean, found = scrub(parsed)
    return json.dumps(clean, separators=(",", ":"), ensure_ascii=False), clean, found


def record(item: Mapping[str, Any], *, from_json: bool = False) -> Record:
    """A record from an item of any writer; raises Unreadable. `from_json`: the item came
    from json.loads, so it holds no Decimal to make plain."""
    config_id = item.get("configId")
    if not isinstance(config_id, str) or not config_id:
        raise Unreadable(str(config_id or "?"), "no configId")
    try:
        return _record(config_id, item if from_json else plain(item))
    except (ValueError, TypeError) as exc:
        raise Unreadable(config_id, str(exc)) from None


def _record(config_id: str, item: Mapping[str, Any]) -> Record:
    text, config, _ = config_json(item.get("configJson"))
    status = item.get("testStatus", "untested")
    if not isinstance(status, str) or not _STATUS.match(status):
        raise ValueError(f"testStatus {status!r} is not a status")
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
        "createdAt": _text(item.get("createdAt")) or NEVER_TESTED,
        "source": item.get("source") if item.get("source") in ("catalog", "project") else "project",
        # 0: written by another tool, never by mlcc-ci (the first write of ours makes it 1)
        "version": int(version) if version is not None and version >= 0 else 0,
        "testStatus": status,
        "lastTestTimestamp": _text(item.get("lastTestTimestamp")) or NEVER_TESTED,
        "schemaVersion": int(_number(item.get("schemaVersion")) or SCHEMA_VERSION),
        "lastTestDuration": _number(item.get("lastTestDuration")),
        "stageResults": stages(item.get("stageResults") or {}),
    }
    if item.get("supportState") in ("supported", "unsupported"):
        values["supportState"] = item["supportState"]
    for key in (
        "baseImage",
        "baseImageVersion",
        "errorMessage",
        "runId",
        "runStartedAt",
        "lastPassTimestamp",
        "supportReason",
        "profile",
        "generatorVersion",
        "provenImage",
    ):
        if (value := _text(item.get(key))) is not None:
            values[key] = value
    previous = item.get("previousStatus")
    if isinstance(previous, str) and previous in STATUSES:
        values["previousStatus"] = previous
    values["estimatedCost"] = cost(item.get("estimatedCost"))
    values["recentRuns"] = recent_runs(config_id, name, item.get("recentRuns"))
    if status == "running":  # progress of a finished run says nothing
        for key in ("currentStage", "currentStageStartedAt"):
            if (value := _text(item.get(key))) is not None:
                values[key] = value
        if isinstance(item.get("runStages"), Mapping):
            values["runStages"] = stages(item["runStages"])
    return Record(**values)


def cost(value: Any) -> Cost | None:
    """An estimated cost as stored; None when there is none (or it makes no sense)."""
    if not isinstance(value, Mapping) or "usd" not in value:
        return None
    usd = None if value["usd"] is None else _number(value["usd"])
    if usd is not None and usd < 0:
        return None
    return Cost(usd, _text(value.get("basis")) or "")


def recent_runs(config_id: str, name: str, value: Any) -> tuple[Run, ...]:
    """The run summaries a record carries, newest first; ones no one can read are left out."""
    if not isinstance(value, list):
        return ()
    runs = []
    for item in value[:RECENT_RUNS]:
        if isinstance(item, Mapping):
            try:
                item = {**item, "configId": config_id, "deploymentConfig": name}
                runs.append(_run(item))  # the record was made plain already
            except Unreadable:
                continue
    return tuple(runs)


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


def _run(values: Mapping[str, Any]) -> Run:
    config_id = str(values.get("configId", "?"))
    started = _text(values.get("startedAt"))
    if not started:
        raise Unreadable(config_id, "history item: no startedAt")
    try:
        return Run(
            configId=config_id,
            startedAt=started,
            runId=_text(values.get("runId")) or started,
            finishedAt=_text(values.get("finishedAt")) or started,
            status=_text(values.get("status")) or "",
            durationSeconds=_number(values.get("durationSeconds")) or 0.0,
            deploymentConfig=_text(values.get("deploymentConfig")) or "",
            stageResults=stages(values.get("stageResults") or {}),
            errorMessage=_text(values.get("errorMessage")) or "",
            profile=_text(values.get("profile")) or "default",
            estimatedCost=cost(values.get("estimatedCost")),
        )
    except ValueError as exc:
        raise Unreadable(config_id, f"history item: {exc}") from None
