"""JSON Schema validation with messages a person can act on.

Each problem names the JSON path, never echoes a long value, and unknown keys come with
a "did you mean".
"""

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from mlcc_ci.resources import load_schema

ENTRY_SCHEMA = "catalog-entry.schema.json"
DEFAULTS_SCHEMA = "catalog-defaults.schema.json"
RECORD_SCHEMA = "ci-record.schema.json"
REPORT_SCHEMA = "report.schema.json"
FAILURES_SCHEMA = "failure-rules.schema.json"

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str


def short(value: Any, limit: int = 40) -> str:
    """A value as JSON, cut to `limit` characters so errors stay one short line."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_path(path: Path) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@cache
def _validator(name: str, pointer: str | None = None) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = [
        Resource.from_contents(load_schema(n))
        for n in (ENTRY_SCHEMA, DEFAULTS_SCHEMA, RECORD_SCHEMA)
    ]
    registry: Registry[Any] = Registry().with_resources((r.contents["$id"], r) for r in resources)
    root = load_schema(name)
    schema = root if pointer is None else {"$ref": f"{root['$id']}#{pointer}"}
    return Draft202012Validator(schema, registry=registry)


def _type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _describe(error: Any) -> Iterator[Problem]:
    path: Path = tuple(error.absolute_path)
    kind = error.validator
    value = error.instance
    if kind == "additionalProperties" and isinstance(value, dict):
        known = sorted(error.schema.get("properties", {}))
        for key in value:
            if key in known:
                continue
            hint = difflib.get_close_matches(str(key), known, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            yield Problem((*path, key), f"unknown key {short(key)}{suggestion}")
        return
    if kind == "oneOf" and error.context:
        from jsonschema.exceptions import best_match

        # Prefer the branch with a matching type: its complaint is the useful one.
        typed = [e for e in error.context if e.validator != "type"]
        yield from _describe(best_match(typed or error.context))
        return
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        message = f"expected {expected}, got {_type_name(value)}"
    elif kind == "required":
        missing = [k for k in error.validator_value if k not in value]
        message = "missing required key " + ", ".join(f"'{k}'" for k in missing)
    elif kind in ("enum", "const"):
        allowed = error.validator_value if kind == "enum" else [error.validator_value]
        message = f"{short(value)} is not one of: " + ", ".join(str(a) for a in allowed)
    elif kind == "pattern":
        message = f"{short(value)} does not match pattern {error.validator_value}"
    elif kind in ("minimum", "maximum", "minLength", "maxLength", "minProperties"):
        message = f"{short(value)} breaks {kind} {error.validator_value}"
    elif kind == "uniqueItems":
        message = "items must be unique"
    else:
        message = error.message if len(error.message) <= 120 else error.message[:117] + "..."
    yield Problem(path, message)


def _not_numbers(value: Any, path: Path) -> Iterator[Problem]:
    if isinstance(value, float) and value != value:
        yield Problem(path, "NaN is not a number")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _not_numbers(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _not_numbers(item, (*path, index))


def problems(instance: Any, schema: str, pointer: str | None = None) -> list[Problem]:
    """Every problem of `instance` against `schema` (optionally a `#/$defs/...` pointer)."""
    validator = _validator(schema, pointer)
    found: list[Problem] = list(_not_numbers(instance, ()))  # NaN passes every bound
    for error in validator.iter_errors(instance):
        # allOf/$ref wrap real errors; iter_errors already descends, so unwrap contexts only
        # for the combinators that hide them.
        if error.validator == "allOf" and error.context:
            for sub in error.context:
                found.extend(_describe(sub))
        else:
            found.extend(_describe(error))
    unique = {(p.path, p.message): p for p in found}
    return sorted(unique.values(), key=lambda p: [str(x) for x in p.path])
