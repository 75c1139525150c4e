"""Each value another writer stored, read on its own: numbers, text, moments, stage
results, a cost, a failure, a block and a configJson (decode.py puts them together into
records and runs, and is where the rest of mlcc-ci reads them).

Numbers and strings are coerced where the meaning is clear; timestamps parse and lie between
1970 and 2200 and are written back the one canonical way; stage statuses are known or
mapped; configJson fields have their types and its secrets (by key or by the shape of the
value) are masked; text is bounded, secrets in it masked and terminal sequences removed. A
value that cannot be understood raises ValueError, naming why.
"""

import functools
import json
import math
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mlcc_ci import clock
from mlcc_ci.constants import FAIL_STATUSES
from mlcc_ci.doconfig import is_secret
from mlcc_ci.models import Blocked, Cost, Failure, StageResult, stage_order
from mlcc_ci.redact import MASK, looks_secret, redact
from mlcc_ci.resultparts import BLOCKING
from mlcc_ci.safetext import capped, printable

_STAGE_STATUS = {
    **dict.fromkeys(("pass", "passed", "succeeded", "success", "ok"), "pass"),
    **dict.fromkeys(
        ("fail", "failed", "failure", "error", "fault", "timed_out", "stopped"), "fail"
    ),
    **dict.fromkeys(("skip", "skipped", "not_run"), "skip"),
}
TEXT_LIMIT = 4096  # characters of any one text another writer stored that are kept
CONFIG_LIMIT = 64 * 1024  # a configJson larger than this is no configuration
EARLIEST, LATEST = 1970, 2200  # years a stored moment may lie between
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?Z\Z")
# configJson keys and the type each must have (the generator's own; others pass as they are)
_CONFIG_TYPES: dict[str, type | tuple[type, ...]] = {
    **dict.fromkeys(
        (
            "projectName",
            "deploymentConfig",
            "architecture",
            "backend",
            "modelName",
            "instanceType",
            "awsRegion",
            "deploymentTarget",
            "buildTarget",
            "baseImage",
            "buildStrategy",
            "owner",
        ),
        str,
    ),
    **dict.fromkeys(("endpointConfig", "icConfig", "parameters"), dict),
    "icList": list,
}
_CONFIG_NUMBERS = {
    "endpointConfig": ("initialInstanceCount", "dataCapturePercent", "volumeSize"),
    "icConfig": ("cpuCount", "memorySize", "gpuCount", "copyCount", "modelWeight"),
}


def moment(value: Any, name: str) -> str | None:
    """A stored moment, checked and written the canonical way (UTC, `Z`); None if absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} {printable(str(value))[:40]!r} is not a time")
    if _CANONICAL.match(value) and EARLIEST <= int(value[:4]) <= LATEST:
        try:  # already as mlcc-ci writes it (every run summary is): only check the date
            datetime.fromisoformat(value[:-1])
        except ValueError:
            pass
        else:
            return value
    try:
        parsed = clock.parse(value)
        year = parsed.astimezone(clock.UTC).year
    except (ValueError, OverflowError):
        raise ValueError(f"{name} {printable(value)[:40]!r} is not a time") from None
    if not EARLIEST <= year <= LATEST:
        raise ValueError(f"{name} {printable(value)[:40]!r} lies outside {EARLIEST}-{LATEST}")
    return clock.iso(parsed, ms="." in value)  # with milliseconds when it had a fraction


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


def _seconds(value: Any) -> int | None:
    """Whole seconds, as the generator's own `do/ci report` reads them (`int('842.0')` is an
    error there): a record read is written back so."""
    number = _number(value)
    return None if number is None or number < 0 else round(number)


def _text(value: Any) -> str | None:
    """Text another writer stored, made safe for a terminal; numbers as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(plain(value))
    return None


def prose(value: Any) -> str | None:
    """Free text another writer stored (an error, a note, a log pointer): bounded, secrets
    masked, safe for a terminal."""
    text = _text(value)
    if not text:
        return text
    return capped(redact(text), TEXT_LIMIT)


_STAGE_STATUSES = frozenset({"pass", "fail", "skip"})


def _write_limits(*path: str) -> dict[str, int]:
    """The maxLength of each text a write of a record (or of a part of it) allows."""
    from mlcc_ci.resources import load_schema

    node: Any = load_schema("ci-record.schema.json")
    for key in path:
        node = node[key]
    properties = node.get("properties", {})
    return {k: int(v["maxLength"]) for k, v in properties.items() if "maxLength" in v}


_STAGE_LIMITS = _write_limits("$defs", "stageResult")


def _stage_text(value: Any, limit: int) -> str | None:
    """A stage's text as `_full_stage` reads it (`capped(prose(value) or "", limit)`, limit
    at most TEXT_LIMIT), in fewer steps; None for what is not a string (`_full_stage` reads
    that)."""
    if type(value) is not str:
        return None
    if value.isprintable():  # printable leaves it as it is: prose is redact and the caps
        return capped(redact(value), limit)
    return capped(prose(value) or "", limit)


def stage(value: Any) -> StageResult | None:
    """One stage's result: a map (ours, or the buildspec's map of strings and numbers) or a
    bare status string."""
    if type(value) is dict and value.get("status") in _STAGE_STATUSES and len(value) == 2:
        # the shape a record's recentRuns keeps (status and time only): a quick path
        seconds = value.get("durationSeconds")
        # bounded by the largest float, not infinity: an int beyond it cannot become one
        if (type(seconds) is float or type(seconds) is int) and 0 <= seconds <= sys.float_info.max:
            return StageResult(value["status"], float(seconds))
    return _written_stage(value) or _full_stage(value)


def _written_stage(value: Any) -> StageResult | None:
    """`_full_stage(value)` in fewer steps, for the shape mlcc-ci writes (a known status,
    seconds, texts); None for any other shape (`_full_stage` reads it)."""
    if type(value) is not dict or value.get("status") not in _STAGE_STATUSES:
        return None
    seconds = value.get("durationSeconds")
    if type(seconds) is not float and type(seconds) is not int:
        return None
    if not 0 <= seconds <= sys.float_info.max:  # an int beyond it cannot become a float
        return None
    log = _stage_text(value.get("logPointer", ""), TEXT_LIMIT)
    error = _stage_text(value.get("errorSummary", ""), _STAGE_LIMITS["errorSummary"])
    note = _stage_text(value.get("note", ""), _STAGE_LIMITS["note"])
    if log is None or error is None or note is None:
        return None
    # `or 0.0`: -0.0 is 0.0, as _number's `or 0.0` makes it
    return StageResult(value["status"], float(seconds) or 0.0, log, error, note)


def _full_stage(value: Any) -> StageResult | None:
    """`stage` for any shape and value, checked and cleaned step by step."""
    if isinstance(value, str):
        return StageResult(stage_status(value)) if value else None
    if not isinstance(value, Mapping) or not isinstance(value.get("status"), str):
        return None
    duration = _number(value.get("durationSeconds")) or 0.0
    return StageResult(
        status=stage_status(value["status"]),
        durationSeconds=max(duration, 0.0),
        logPointer=prose(value.get("logPointer")) or "",
        errorSummary=capped(prose(value.get("errorSummary")) or "", _STAGE_LIMITS["errorSummary"]),
        note=capped(prose(value.get("note")) or "", _STAGE_LIMITS["note"]),
    )


def stage_status(value: str) -> str:
    """pass, fail or skip, from what any writer calls them; ValueError for anything else."""
    found = _STAGE_STATUS.get(value.strip().lower())
    if found is None:
        raise ValueError(f"stage status {printable(value)[:40]!r} is not pass, fail or skip")
    return found


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


# whether a configJson key names a secret: the same few keys in every item, so remembered
_secret_key = functools.lru_cache(maxsize=1024)(is_secret)


def scrub(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """`value` with every secret masked (a secret-named key, or a value shaped like a
    credential), and the paths where one was found."""
    found: list[str] = []
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if _secret_key(str(key)) and isinstance(item, str) and item and item != MASK:
                out[key] = MASK
                found.append(where)
            else:
                out[key], more = scrub(item, where)
                found += more
        return out, found
    if isinstance(value, list):
        items = [scrub(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return [i[0] for i in items], [p for i in items for p in i[1]]
    if isinstance(value, str):
        if looks_secret(value):
            return MASK, [path]
        return printable(value), found  # an owner or a name reaches terminals too
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
    for key, kind in _CONFIG_TYPES.items():
        if parsed.get(key) is not None and not isinstance(parsed[key], kind):
            raise ValueError(f"configJson {key} is a {type(parsed[key]).__name__}")
    for block, keys in _CONFIG_NUMBERS.items():
        for key in keys:
            number = (parsed.get(block) or {}).get(key)
            if number is not None and (isinstance(number, bool) or _number(number) is None):
                raise ValueError(
                    f"configJson {block}.{key} {printable(str(number))[:40]!r} is not a number"
                )
    clean, found = scrub(parsed)
    text = json.dumps(clean, separators=(",", ":"), ensure_ascii=False)
    if len(text) > CONFIG_LIMIT:
        raise ValueError(
            f"configJson is {len(text) // 1024} KB, more than {CONFIG_LIMIT // 1024} KB"
        )
    return text, clean, found


def cost(value: Any) -> Cost | None:
    """An estimated cost as stored; None when there is none (or it makes no sense)."""
    if not isinstance(value, Mapping) or "usd" not in value:
        return None
    usd = None if value["usd"] is None else _number(value["usd"])
    if usd is not None and usd < 0:
        return None
    return Cost(usd, _text(value.get("basis")) or "")


_FAILURE_CLASSES = frozenset(
    ("product", "infra", "capacity", "quota", "credentials", "harness", "unclassified")
)


def failure(value: Any) -> Failure | None:
    """A run's classification as stored; None when there is none or it is not one."""
    if not isinstance(value, Mapping) or value.get("class") not in _FAILURE_CLASSES:
        return None
    return Failure(
        cls=value["class"],
        stage=capped(_text(value.get("stage")) or "", 64),
        rule=capped(_text(value.get("rule")) or "", 128),
        capture=capped(prose(value.get("capture")) or "", 200),
        statusBefore=_status_before(value.get("statusBefore")),
    )


def _status_before(value: Any) -> str:
    """The status a relabel to the harness replaced: a failed stage's, else none."""
    return value if value in FAIL_STATUSES else ""


def blocked(value: Any) -> Blocked | None:
    """What blocks a configuration, as stored; None when nothing readable does."""
    if not isinstance(value, Mapping) or value.get("class") not in BLOCKING:
        return None
    try:
        since, after = (moment(value.get(key), key) for key in ("since", "retryAfter"))
    except ValueError:
        return None
    if since is None or after is None:
        return None
    rounds = _number(value.get("rounds"))
    return Blocked(
        cls=value["class"],
        stage=capped(_text(value.get("stage")) or "", 64),
        since=since,
        retryAfter=after,
        rule=capped(_text(value.get("rule")) or "", 128),
        capture=capped(prose(value.get("capture")) or "", 200),
        rounds=max(int(rounds), 1) if rounds is not None and rounds < 2**31 else 1,
        notified=value.get("notified") is True,
    )
