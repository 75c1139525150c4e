"""A record as decode.record read it, kept beside its stored item so that a report of
thousands of records need not check and clean each one again (SQLite only).

The item stays the truth. When the store writes an item it decodes what it wrote, exactly as
a read would, and keeps the result here as a JSON list of the record's values (its `form`),
under a `tag` naming the decoder that made it: a digest of the decoder's own source and the
schema it reads its limits from. A read uses a form only under the running decoder's tag, so
a release that reads differently (a new secret pattern, a new field) decodes every item
afresh until it is written again. A trigger drops a record's form whenever its row changes
by any other hand (a hand edit, an older mlcc-ci): nothing but the store's own write, which
makes a new one in the same transaction, can leave a form that is not what decoding its item
gives. The form holds no carried runs: those stay undecoded in the item until a report asks.
"""

import functools
import hashlib
import importlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from mlcc_ci import decode
from mlcc_ci.models import Record
from mlcc_ci.resources import data_path
from mlcc_ci.resultparts import Blocked, Cost, Failure, StageResult
from mlcc_ci.stores.itemtext import split_runs

FORMAT = "1"  # this module's layout of a form
# The modules decode.record reads an item with (tests/test_decoded_form.py checks that this
# is every mlcc_ci module decode imports, directly or not), and the schema it takes limits
# from: a change to any of them is another decoder.
DECODER_MODULES = (
    "clock",
    "constants",
    "decode",
    "doconfig",
    "errors",
    "fields",
    "files",
    "models",
    "redact",
    "resources",
    "resultparts",
    "safetext",
    "storedvalues",
)
DECODER_SCHEMA = "ci-record.schema.json"

SCHEMA = """
CREATE TABLE IF NOT EXISTS decoded (
    configId TEXT NOT NULL PRIMARY KEY,
    tag TEXT NOT NULL,
    runsAt INTEGER,
    form TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS decoded_stale_on_update AFTER UPDATE ON records BEGIN
    DELETE FROM decoded WHERE configId IN (OLD.configId, NEW.configId);
END;
CREATE TRIGGER IF NOT EXISTS decoded_stale_on_insert AFTER INSERT ON records BEGIN
    DELETE FROM decoded WHERE configId = NEW.configId;
END;
CREATE TRIGGER IF NOT EXISTS decoded_stale_on_delete AFTER DELETE ON records BEGIN
    DELETE FROM decoded WHERE configId = OLD.configId;
END;
"""

_NAMES = tuple(f.name for f in fields(Record))
_PARTS: dict[str, type] = {"estimatedCost": Cost, "failure": Failure, "blocked": Blocked}
_STAGE_MAPS = ("stageResults", "runStages")


@functools.cache
def tag() -> str:
    """The running decoder's name: a digest of FORMAT, the source of DECODER_MODULES and
    DECODER_SCHEMA; "" when a source cannot be read (no form is then kept or read)."""
    digest = hashlib.blake2b(FORMAT.encode(), digest_size=12)
    try:
        for name in DECODER_MODULES:
            source = importlib.import_module(f"mlcc_ci.{name}").__file__
            digest.update(Path(str(source)).read_bytes())
        digest.update((data_path("schema") / DECODER_SCHEMA).read_bytes())
    except OSError:  # a package without its source files (zipped, frozen): decode as ever
        return ""
    return digest.hexdigest()


def _plain(name: str, value: Any) -> Any:
    if name in _STAGE_MAPS:
        return [[key, *_values(result)] for key, result in value.items()]
    if name in _PARTS:
        return None if value is None else _values(value)
    return value


def _values(part: Any) -> list[Any]:
    return [getattr(part, f.name) for f in fields(part)]


def form_of(record: Record) -> str | None:
    """`record` (decoded, carrying no runs) as a form; None for one that would not read back
    as the same record."""
    if record.recentRuns:
        return None
    form = json.dumps([_plain(name, getattr(record, name)) for name in _NAMES])
    return form if record_of(form) == record else None


def _stage_map(value: list[list[Any]]) -> Mapping[str, StageResult]:
    return {entry[0]: StageResult(*entry[1:]) for entry in value}


def record_of(form: str) -> Record | None:
    """The record a form holds; None for anything that is not one (the item is decoded)."""
    try:
        values = json.loads(form)
        if type(values) is not list:
            return None
        given = dict(zip(_NAMES, values, strict=True))  # ValueError unless one value a field
        for name in _STAGE_MAPS:
            given[name] = _stage_map(given[name])
        for name, part in _PARTS.items():
            if given[name] is not None:
                given[name] = part(*given[name])
        given["recentRuns"] = ()
        return Record(**given)
    except (ValueError, TypeError, IndexError, AttributeError):
        return None


def keep(conn: sqlite3.Connection, config_id: str, text: str) -> None:
    """Keep the record just written as `text` as a read decodes it, in the write's
    transaction (`conn`); none for an item no one can read."""
    if not tag():
        return
    parts = split_runs(text)
    try:
        item = json.loads(text) if parts is None else parts[0]
        form = form_of(decode.record(item, from_json=True))
    except (ValueError, decode.Unreadable):
        form = None
    if form is not None:
        runs_at = None if parts is None else len(text) - len(parts[1]) - 1
        conn.execute(
            "INSERT OR REPLACE INTO decoded VALUES (?, ?, ?, ?)", (config_id, tag(), runs_at, form)
        )
