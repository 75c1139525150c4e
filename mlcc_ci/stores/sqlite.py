"""The embedded store: one SQLite file, WAL mode, safe for several local runs at once."""

import json
import random
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcc_ci import decode, settings
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.models import Record, Registration, Run
from mlcc_ci.settings import make_folder
from mlcc_ci.stores import decodedform
from mlcc_ci.stores.base import OWNED, RegisterOutcome, reregistered, unchanged
from mlcc_ci.stores.itemtext import item_text, split_runs
from mlcc_ci.stores.validate import check_record

PAGE = 500
HISTORY_BATCH = 500  # configurations per history query (SQLite allows 32,766 parameters)
SETUP_WAIT_SECONDS = 30


def sqlite_url(path: Path) -> str:
    """A SQLite store's URL as every output shows it (`config`, `status`, `clean`, the run
    folders' marks): `sqlite://` and the file's absolute, resolved path."""
    return f"sqlite://{settings.expand_home(path, 'store URL').resolve()}"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    configId TEXT PRIMARY KEY,
    testStatus TEXT NOT NULL,
    lastTestTimestamp TEXT NOT NULL,
    version INTEGER NOT NULL,
    runId TEXT,
    item TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_status ON records (testStatus, lastTestTimestamp);
CREATE TABLE IF NOT EXISTS runs (
    configId TEXT NOT NULL,
    startedAt TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (configId, startedAt)
);
"""


_COLUMNS = {"configId", "testStatus", "lastTestTimestamp", "version", "runId", "item"}


class ForeignDatabase(sqlite3.DatabaseError):
    """A SQLite file with tables but no store's `records` table: the tables it has."""

    def refused(self, path: Path) -> StoreError:
        return StoreError(
            f"{path}: another program's SQLite database, not an mlcc-ci store "
            f"(its tables: {self}); left as it is: give another file"
        )


class SqliteStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = sqlite_url(path)
        self._local = threading.local()  # one connection per thread
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.page_size = PAGE
        self.unreadable: dict[str, str] = {}
        self._watch: sqlite3.Connection | None = None  # for change_token only
        self._remembered: dict[str, tuple[str, Record]] | None = None  # remember_decoded()

    # -- plumbing -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                make_folder(self.path.parent)  # a .mlcc-ci folder made ignores itself
                conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                self._set_up(conn)
            except ForeignDatabase as exc:
                if conn is not None:
                    conn.close()
                raise exc.refused(self.path) from None
            except (sqlite3.DatabaseError, OSError) as exc:
                raise StoreError(f"{self.path}: not a usable SQLite database ({exc})") from None
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @staticmethod
    def _set_up(conn: sqlite3.Connection) -> None:
        """WAL mode and the schema. Several processes may open a new file at once: switching
        the journal mode takes an exclusive lock that SQLite's busy timeout does not wait
        for, so wait here instead."""
        deadline = time.monotonic() + SETUP_WAIT_SECONDS
        while True:
            try:
                found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                tables = sorted(row[0] for row in found.fetchall())
                columns = {c[1] for c in conn.execute("PRAGMA table_info(records)").fetchall()}
                if tables and not columns >= _COLUMNS:  # never make another's database ours
                    raise ForeignDatabase(", ".join(tables))
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA + decodedform.SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01 + random.random() * 0.05)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self._connect().execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: {exc}") from None

    @staticmethod
    def _row_values(record: Record) -> tuple[Any, ...]:
        item = check_record(record.to_item())
        return (
            record.configId,
            record.testStatus,
            record.lastTestTimestamp,
            record.version,
            record.runId,
            item_text(item),
        )

    def _decode(self, config_id: str, text: str) -> Record | None:
        """The record, or None (and a note in `unreadable`) for an item no one can read."""
        try:
            item = json.loads(text)
        except ValueError:
            self.unreadable[decode.shown_id(config_id)] = "the stored item is not JSON"
            return None
        return self._decode_item(config_id, item)

    def _decode_item(self, config_id: str, item: Any) -> Record | None:
        """`_decode` of an item already parsed."""
        try:
            if not isinstance(item, dict) or item.get("configId") != config_id:
                raise decode.Unreadable(
                    decode.shown_id(config_id), "the stored item does not name its configId"
                )
            return decode.record(item, from_json=True)
        except decode.Unreadable as exc:
            self.unreadable[decode.shown_id(exc.config_id)] = exc.reason
            return None

    @staticmethod
    def _merged(conn: sqlite3.Connection, record: Record) -> tuple[Any, ...]:
        """Row values for `record`, keeping what other tools added to the stored item."""
        values = SqliteStore._row_values(record)
        found = conn.execute("SELECT item FROM records WHERE configId = ?", (record.configId,))
        row = found.fetchone()
        try:
            old = json.loads(row[0]) if row else {}
        except ValueError:
            old = {}
        theirs = {k: v for k, v in old.items() if k not in OWNED} if isinstance(old, dict) else {}
        if not theirs:
            return values
        return (*values[:-1], item_text({**theirs, **json.loads(values[-1])}))

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            self._watch = None
        self._local = threading.local()

    # -- the interface ------------------------------------------------------------------

    def check(self) -> None:
        self._read("SELECT count(*) FROM records")

    def create_tables(self) -> None:
        self._connect()

    def register(self, reg: Registration, now: str, *, retest: bool = False) -> RegisterOutcome:
        with self._write() as conn:
            row = conn.execute("SELECT item FROM records WHERE configId = ?", (reg.configId,))
            found = row.fetchone()
            if found is None:
                new = Record.registered(reg, now)
                values = self._row_values(new)
                conn.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", values)
                decodedform.keep(conn, new.configId, values[-1])
                return "created"
            old = self._decode(reg.configId, found[0])
            if old is None:  # unreadable: registering describes it afresh
                new = Record.registered(reg, now)
            elif unchanged(old, reg) and not retest:
                return "unchanged"
            else:
                new = reregistered(old, reg)
            values = self._merged(conn, new)
            conn.execute(
                "UPDATE records SET testStatus = ?, lastTestTimestamp = ?, version = ?, "
                "runId = ?, item = ? WHERE configId = ?",
                (*values[1:], reg.configId),
            )
            decodedform.keep(conn, reg.configId, values[-1])
            return "changed"

    def get(self, config_id: str) -> Record | None:
        rows = self._read("SELECT item FROM records WHERE configId = ?", (config_id,))
        return self._decode(config_id, rows[0][0]) if rows else None

    def _paged(self, sql: str, *args: Any) -> Iterator[tuple[Any, ...]]:
        """The rows of `sql` (configId first, ordered by it, taking `args`, then the last
        configId read and a page size), page by page."""
        last = ""
        while True:
            rows = self._read(sql, (*args, last, self.page_size))
            yield from (tuple(row) for row in rows)
            if len(rows) < self.page_size:
                return
            last = rows[-1][0]

    def _all_rows(self) -> Iterator[tuple[str, str]]:
        """(configId, stored item text) for every record."""
        sql = "SELECT configId, item FROM records WHERE configId > ? ORDER BY configId LIMIT ?"
        yield from ((row[0], row[1]) for row in self._paged(sql))

    def _rows_and_forms(self) -> Iterator[tuple[str, str, int | None, str | None]]:
        """`_all_rows`, each with the record's form (decodedform) under the running decoder's
        tag and where its carried runs start, or None twice."""
        sql = (
            "SELECT r.configId, r.item, d.runsAt, d.form FROM records r "
            "LEFT JOIN decoded d ON d.configId = r.configId AND d.tag = ? "
            "WHERE r.configId > ? ORDER BY r.configId LIMIT ?"
        )
        yield from ((row[0], row[1], row[2], row[3]) for row in self._paged(sql, decodedform.tag()))

    def records(self) -> Iterator[Record]:
        remembered = self._remembered
        for config_id, text in self._all_rows():
            if remembered is not None:
                known = remembered.get(config_id)
                if known is not None and known[0] == text:  # unchanged since the last read
                    yield known[1]
                    continue
            if (record := self._decode(config_id, text)) is not None:
                if remembered is not None:
                    remembered[config_id] = (text, record)
                yield record

    def records_and_raw_runs(self) -> tuple[list[Record], dict[str, tuple[str, str]]]:
        """Every readable record without the runs it carries, and those runs as stored
        (configId -> (deploymentConfig, JSON text)), not decoded: a report decodes each
        only when it asks (report.data.Carried). An item not written as item_text writes
        it is decoded whole, runs and all; so is every item for a long-lived reader that
        remembers decoded records (the dashboard)."""
        if self._remembered is not None:
            return list(self.records()), {}
        records, carried = [], {}
        for config_id, text, runs_at, form in self._rows_and_forms():
            kept = None if form is None else decodedform.record_of(form)
            if kept is not None and kept.configId == config_id:
                if runs_at is not None:
                    carried[config_id] = (kept.deploymentConfig, text[runs_at:-1])
                records.append(kept)
                continue
            parts = split_runs(text)
            if parts is None:
                record = self._decode(config_id, text)
            elif (record := self._decode_item(config_id, parts[0])) is not None:
                carried[config_id] = (record.deploymentConfig, parts[1])
            if record is not None:
                records.append(record)
        return records, carried

    def remember_decoded(self) -> None:
        """For a long-lived reader (the dashboard): keep each decoded record with the text it
        came from, and decode again only the records whose stored text changed. Records
        are immutable, so the same one can be handed out again."""
        if self._remembered is None:
            self._remembered = {}

    def raw_items(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        for config_id, text in self._all_rows():
            try:
                item = json.loads(text)
            except ValueError:
                item = None
            yield config_id, item if isinstance(item, dict) else None

    def by_status(self, status: str, before: str | None = None) -> Iterator[Record]:
        after: tuple[str, str] = ("", "")
        while True:
            rows = self._read(
                "SELECT configId, lastTestTimestamp, item FROM records "
                "WHERE testStatus = ? AND lastTestTimestamp < ? "
                "AND (lastTestTimestamp, configId) > (?, ?) "
                "ORDER BY lastTestTimestamp, configId LIMIT ?",
                (status, before or "\uffff", after[1], after[0], self.page_size),
            )
            for row in rows:
                if (record := self._decode(row[0], row[2])) is not None:
                    yield record
            if len(rows) < self.page_size:
                return
            after = (rows[-1][0], rows[-1][1])

    def replace(self, record: Record, *, expect_version: int, expect_run_id: str | None) -> None:
        with self._write() as conn:
            values = self._merged(conn, record)
            cur = conn.execute(
                "UPDATE records SET testStatus = ?, lastTestTimestamp = ?, version = ?, "
                "runId = ?, item = ? WHERE configId = ? AND version = ? "
                "AND (? IS NULL OR runId = ?)",
                (*values[1:], record.configId, expect_version, expect_run_id, expect_run_id),
            )
            if cur.rowcount != 1:
                raise ConflictError(
                    f"record {record.configId} changed since it was read "
                    f"(expected version {expect_version}"
                    + (f", run {expect_run_id})" if expect_run_id else ")")
                )
            decodedform.keep(conn, record.configId, values[-1])

    def append_run(self, run: Run) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?)",
                (run.configId, run.startedAt, json.dumps(run.to_item(), sort_keys=True)),
            )

    def forget_run(self, config_id: str, started_at: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM runs WHERE configId = ? AND startedAt = ?", (config_id, started_at)
            )

    def history(self, config_id: str, limit: int | None = None) -> list[Run]:
        rows = self._read(
            "SELECT item FROM runs WHERE configId = ? ORDER BY startedAt DESC LIMIT ?",
            (config_id, -1 if limit is None else limit),
        )
        runs = []
        for row in rows:
            try:
                runs.append(decode.run(json.loads(row[0])))
            except (ValueError, decode.Unreadable):
                continue  # a history item no one can read tells nothing
        return runs

    def change_token(self) -> object:
        """SQLite's own count of commits by other connections (`PRAGMA data_version`), on a
        connection of its own that never writes: exact, and a few microseconds."""
        if not self.path.exists():
            return "missing"
        with self._lock:
            if self._watch is None:
                self._watch = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                self._all.append(self._watch)
            try:
                return self._watch.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: {exc}") from None

    def histories(self, config_ids: Sequence[str], limit: int) -> dict[str, list[Run]]:
        """One query per HISTORY_BATCH configurations: the last `limit` runs of each,
        through the (configId, startedAt) key, newest first."""
        found: dict[str, list[Run]] = {c: [] for c in config_ids}
        for start in range(0, len(config_ids), HISTORY_BATCH):
            batch = list(config_ids[start : start + HISTORY_BATCH])
            marks = ",".join("?" * len(batch))
            rows = self._read(
                "SELECT configId, item FROM (SELECT configId, item, ROW_NUMBER() OVER "
                "(PARTITION BY configId ORDER BY startedAt DESC) AS n FROM runs "
                f"WHERE configId IN ({marks})) WHERE n <= ? ORDER BY configId, n",
                (*batch, limit),
            )
            for config_id, text in rows:
                try:
                    found[config_id].append(decode.run(json.loads(text)))
                except (ValueError, decode.Unreadable):
                    continue  # a history item no one can read tells nothing
        return found

    def delete(self, config_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM records WHERE configId = ?", (config_id,))
