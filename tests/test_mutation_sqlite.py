"""The SQLite store's own behaviour beyond the shared contract (tests/test_store_contract.py):
what the dashboard relies on (change_token, remember_decoded), reuse after close, and reads
that meet an item no one can read. Written for make mutation (issue 32)."""

import threading
import time
from types import SimpleNamespace

import pytest

from mlcc_ci.errors import StoreError
from mlcc_ci.models import Run
from mlcc_ci.stores.sqlite import SqliteStore
from tests.stores import registration, sqlite_store

pytestmark = pytest.mark.functional
T0 = "2026-01-01T00:00:00Z"


def run(n: int, day: int) -> Run:
    return Run(
        configId=registration(n).configId,
        startedAt=f"2026-01-0{day}T00:00:00.000Z",
        runId=f"r{n}-{day}",
        finishedAt=f"2026-01-0{day}T01:00:00Z",
        status="pass",
        durationSeconds=3.0,
        deploymentConfig=f"cfg-{n}",
    )


def plant(store: SqliteStore, sql: str, *values: object) -> None:
    """Another writer's row, as it is on disk."""
    with store._write() as conn:
        conn.execute(sql, values)


def test_a_closed_store_opens_again_when_it_is_used(tmp_path):
    with sqlite_store(tmp_path) as store:
        store.register(registration(1), T0)
        before = store.change_token()
        store.close()
        assert store.get(registration(1).configId).projectName == "p1"
        assert store.change_token() == before  # a new watch: nothing written since
        store.register(registration(2), T0)
        assert store.change_token() != before


def test_the_change_token_moves_with_every_commit_of_any_writer_and_only_then(tmp_path):
    with sqlite_store(tmp_path) as store, sqlite_store(tmp_path) as other:
        first = store.change_token()
        assert store.change_token() == first  # reading changes nothing
        list(store.records())
        assert store.change_token() == first
        other.register(registration(1), T0)  # another process's write
        second = store.change_token()
        assert second != first
        store.register(registration(2), T0)  # this store's own write
        assert store.change_token() not in (first, second)


def test_the_change_token_is_read_from_the_dashboard_s_threads(tmp_path):
    with sqlite_store(tmp_path) as store:
        first = store.change_token()
        seen: list[object] = []
        errors: list[BaseException] = []

        def read() -> None:
            try:
                seen.append(store.change_token())
            except BaseException as exc:  # handed to the test's thread
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        reader.join()
        assert errors == [] and seen == [first]


def test_the_change_token_of_a_store_not_made_yet_makes_no_file(tmp_path):
    store = SqliteStore(tmp_path / "none" / "results.db")
    assert store.change_token() == "missing"
    assert not (tmp_path / "none").exists()


def test_the_change_token_of_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "results.db"
    path.write_bytes(b"not a database, " * 512)
    store = SqliteStore(path)
    try:
        with pytest.raises(StoreError, match=rf"^{path}: file is not a database$"):
            store.change_token()
    finally:
        store.close()


def test_remembered_records_are_decoded_again_only_when_their_text_changed(tmp_path):
    with sqlite_store(tmp_path) as store:
        for n in (1, 2, 3):
            store.register(registration(n), T0)
        store.remember_decoded()
        store.remember_decoded()  # a second call keeps what the first remembered
        first = {r.configId: r for r in store.records()}
        assert sorted(first) == [registration(n).configId for n in (1, 2, 3)]
        store.register(registration(2, config_json='{"projectName":"p2","x":1}'), T0)
        store.register(registration(4), T0)
        second = {r.configId: r for r in store.records()}
        assert sorted(second) == [registration(n).configId for n in (1, 2, 3, 4)]
        for n in (1, 3):  # unchanged: the very record decoded before
            assert second[registration(n).configId] is first[registration(n).configId]
        changed = second[registration(2).configId]
        assert changed is not first[registration(2).configId]
        assert changed.configJson == '{"projectName":"p2","x":1}'
        third = {r.configId: r for r in store.records()}
        assert third[registration(2).configId] is changed  # remembered in turn


def test_records_are_decoded_afresh_on_each_read_unless_remembered(tmp_path):
    with sqlite_store(tmp_path) as store:
        store.register(registration(1), T0)
        first = next(store.records())
        again = next(store.records())
        assert again == first and again is not first


def test_raw_items_give_none_for_an_item_that_is_not_a_json_object(tmp_path):
    with sqlite_store(tmp_path) as store:
        store.register(registration(1), T0)
        insert = "INSERT INTO records VALUES (?, 'untested', '1970-01-01T00:00:00Z', 1, NULL, ?)"
        plant(store, insert, "a" * 16, "[1, 2]")
        plant(store, insert, "b" * 16, "{not json")
        items = dict(store.raw_items())
        assert items["a" * 16] is None and items["b" * 16] is None
        assert items[registration(1).configId]["projectName"] == "p1"


def test_a_history_item_no_one_can_read_hides_none_of_the_others(tmp_path):
    with sqlite_store(tmp_path) as store:
        for n in (1, 2):
            for day in (1, 3):
                store.append_run(run(n, day))
            for hour, broken in enumerate(("{not json", '{"configId": 3}')):  # day 2 of 1..3
                plant(
                    store,
                    "INSERT INTO runs VALUES (?, ?, ?)",
                    registration(n).configId,
                    f"2026-01-02T0{hour}:00:00.000Z",
                    broken,
                )
        ids = [registration(n).configId for n in (1, 2)]
        assert [r.runId for r in store.history(ids[0])] == ["r1-3", "r1-1"]
        found = store.histories(ids, limit=4)
        assert [r.runId for r in found[ids[0]]] == ["r1-3", "r1-1"]
        assert [r.runId for r in found[ids[1]]] == ["r2-3", "r2-1"]


def test_a_run_recorded_twice_is_kept_once_and_can_be_forgotten(tmp_path):
    with sqlite_store(tmp_path) as store:
        store.append_run(run(1, 1))
        store.append_run(run(1, 2))
        store.append_run(run(1, 2))  # the same start: the later write stands
        assert [r.runId for r in store.history(registration(1).configId)] == ["r1-2", "r1-1"]
        store.forget_run(registration(1).configId, "2026-01-02T00:00:00.000Z")
        assert [r.runId for r in store.history(registration(1).configId)] == ["r1-1"]


def test_a_store_names_itself_by_its_url(tmp_path):
    store = SqliteStore(tmp_path / "results.db")
    assert store.description == f"sqlite://{tmp_path.resolve()}/results.db"


def test_a_file_that_is_not_a_database_is_refused_at_once_by_name(tmp_path, monkeypatch):
    import mlcc_ci.stores.sqlite as module

    def no_wait(seconds: float) -> None:
        raise AssertionError(f"waited {seconds} s on a file that is not a database")

    # this module's clock only: other threads (pytest-xdist's) keep the real one
    monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=time.monotonic, sleep=no_wait))
    path = tmp_path / "results.db"
    path.write_bytes(b"not a database, " * 512)
    store = SqliteStore(path)
    with pytest.raises(StoreError) as raised:
        store.check()
    assert str(raised.value) == f"{path}: not a usable SQLite database (file is not a database)"


def test_a_read_the_database_refuses_is_a_store_error_naming_the_file(tmp_path):
    import sqlite3

    with sqlite_store(tmp_path) as store:
        store.check()
        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute("DROP TABLE records")  # another tool broke the file
        other.close()
        with pytest.raises(StoreError) as raised:
            store.check()
        assert str(raised.value) == f"{store.path}: no such table: records"


def test_reads_reuse_the_thread_s_connection(tmp_path):
    """A connection a read or write opened anew each time would stay open until close: the
    open files would grow with every call (a dashboard reads for hours)."""
    import gc
    import os

    def open_files() -> int:
        gc.collect()  # what earlier tests left unreferenced closes now, not while we count
        return len(os.listdir("/dev/fd"))

    with sqlite_store(tmp_path) as store:
        store.register(registration(1), T0)
        before = open_files()
        for _ in range(20):
            assert store.get(registration(1).configId) is not None
            store.register(registration(1), T0)
        assert open_files() <= before


def test_a_writer_waits_30_s_for_another_writer(tmp_path):
    """Several local runs (mlcc-ci run -j, several shells) write one file at once: SQLite's
    busy timeout is what a write waits for another's transaction before it fails."""
    with sqlite_store(tmp_path) as store:
        store.check()
        assert store._connect().execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert store._connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.change_token()  # the dashboard's watch on the file waits as long
        assert store._watch.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


def test_a_store_used_in_another_thread_is_closed_from_this_one(tmp_path):
    with sqlite_store(tmp_path) as store:
        store.register(registration(1), T0)
        errors: list[BaseException] = []

        def read() -> None:
            try:
                assert store.get(registration(1).configId) is not None
            except BaseException as exc:  # handed to the test's thread
                errors.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        reader.join()
        assert errors == []
        store.close()  # the reader thread's connection too: no error, no file left open
        assert store.get(registration(1).configId) is not None


class _Locked:
    """A connection that another process's set-up keeps locked for `times` statements."""

    def __init__(self, conn, times: int) -> None:
        self.conn, self.times = conn, times

    def _locked(self) -> None:
        import sqlite3

        if self.times:
            self.times -= 1
            raise sqlite3.OperationalError("database is locked")

    def execute(self, sql: str):
        self._locked()
        return self.conn.execute(sql)

    def executescript(self, sql: str):
        self._locked()
        return self.conn.executescript(sql)


@pytest.fixture
def clock(monkeypatch):
    """SQLite set-up's clock and sleep, faked: each wait moves the clock on 10 s (a machine
    so loaded that a short sleep lasts that long), so 30 s of locks are three waits."""
    import mlcc_ci.stores.sqlite as module

    now = [1000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        assert 0 < seconds < 0.1, f"a wait of {seconds} s between tries"
        waits.append(seconds)
        now[0] += 10.0

    # this module's clock and randomness only: other threads keep the real ones
    monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=lambda: now[0], sleep=sleep))
    monkeypatch.setattr(module, "random", SimpleNamespace(random=lambda: 0.5))
    return now, waits


def test_a_new_file_another_process_is_setting_up_is_waited_for(tmp_path, clock):
    import sqlite3

    _, waits = clock
    conn = sqlite3.connect(tmp_path / "results.db", isolation_level=None)
    SqliteStore._set_up(_Locked(conn, 3))
    assert waits == [0.035] * 3  # a short wait, jittered (random() faked to 0.5)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"records", "runs"} <= tables
    conn.close()


def test_set_up_gives_up_once_the_file_stays_locked_for_30_s(tmp_path, clock):
    import sqlite3

    now, waits = clock
    conn = sqlite3.connect(tmp_path / "results.db", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        SqliteStore._set_up(_Locked(conn, 100))
    # tries at 0, 10, 20 and 30 s (still within the 30 s), then at 40 s it gives up
    assert len(waits) == 4 and now[0] == 1040.0
    conn.close()


def test_set_up_refuses_any_other_error_at_once(tmp_path, clock):
    import sqlite3

    _, waits = clock

    class Broken:
        def execute(self, sql: str):
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        SqliteStore._set_up(Broken())
    assert waits == []


INSERT_RECORD = "INSERT INTO records VALUES (?, 'untested', '1970-01-01T00:00:00Z', 1, NULL, ?)"


def test_what_no_one_can_read_is_named_with_its_reason_and_the_rest_is_read(tmp_path):
    import json

    with sqlite_store(tmp_path) as store:
        store.register(registration(1), T0)
        text = stored_text(store, registration(1).configId)
        plant(store, INSERT_RECORD, "a" * 16, "{not json")
        plant(store, INSERT_RECORD, "b" * 16, text)  # a whole record, under another key
        plant(store, INSERT_RECORD, "c" * 16, "[1, 2]")
        plant(store, INSERT_RECORD, "d" * 16, json.dumps({"configId": "d" * 16}))
        assert [r.configId for r in store.records()] == [registration(1).configId]
        assert store.get("b" * 16) is None
        assert store.unreadable == {
            "a" * 16: "the stored item is not JSON",
            "b" * 16: "the stored item does not name its configId",
            "c" * 16: "the stored item does not name its configId",
            "d" * 16: "configJson is missing",
        }


def stored_text(store: SqliteStore, config_id: str) -> str:
    return store._read("SELECT item FROM records WHERE configId = ?", (config_id,))[0][0]


def test_registering_over_an_item_no_one_can_read_describes_it_afresh(tmp_path):
    with sqlite_store(tmp_path) as store:
        for n, text in ((1, "{not json"), (2, "[1, 2]")):
            plant(store, INSERT_RECORD, registration(n).configId, text)
            assert store.register(registration(n), T0) == "changed"
            again = store.get(registration(n).configId)
            assert again.projectName == f"p{n}" and again.createdAt == T0


def test_a_record_deleted_while_it_was_read_is_a_conflict(tmp_path):
    from mlcc_ci.errors import ConflictError

    with sqlite_store(tmp_path) as store:
        store.register(registration(1), T0)
        record = store.get(registration(1).configId)
        store.delete(record.configId)
        with pytest.raises(ConflictError) as raised:
            store.replace(record, expect_version=record.version, expect_run_id=None)
        said = f"record {record.configId} changed since it was read (expected version 1"
        assert str(raised.value) == said + ")"
        with pytest.raises(ConflictError) as raised:
            store.replace(record, expect_version=record.version, expect_run_id="run-9")
        assert str(raised.value) == said + ", run run-9)"
        assert store.get(record.configId) is None


@pytest.mark.unit
def test_a_store_path_under_a_home_that_does_not_exist_is_named_as_the_store_url():
    from pathlib import Path

    from mlcc_ci.errors import UsageError
    from mlcc_ci.stores.sqlite import sqlite_url

    with pytest.raises(UsageError) as refused:
        sqlite_url(Path("~no-such-user-mlcc/results.db"))
    assert str(refused.value) == (
        "store URL '~no-such-user-mlcc/results.db': cannot expand '~no-such-user-mlcc': "
        "no user named 'no-such-user-mlcc'"
    )


@pytest.mark.functional
def test_another_programs_database_is_refused_and_left_as_it_is(tmp_path):
    """A store URL that names some other SQLite database (a typo, a wrong folder): no
    table of ours made in it, its journal mode unchanged, one line naming its tables."""
    import sqlite3

    path = tmp_path / "theirs.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (a)")
    db.execute("CREATE TABLE u (b)")
    db.commit()
    db.close()
    store = SqliteStore(path)
    with pytest.raises(StoreError) as refused:
        list(store.records())
    # the connection it opened to look is closed again: nothing holds the file
    import os

    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the listing's own, closed by now
            continue
    assert str(path) not in held
    assert str(refused.value) == (
        f"{path}: another program's SQLite database, not an mlcc-ci store (its tables: t, u); "
        "left as it is: give another file"
    )
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master ORDER BY name")]
        assert tables == ["t", "u"]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    # one that has a table named records, but not ours, is refused alike
    other = tmp_path / "records.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE records (id, name)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"not an mlcc-ci store \(its tables: records\)"):
        list(SqliteStore(other).records())
    with sqlite3.connect(other) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    # an empty file, or one of ours, is set up as ever
    empty = SqliteStore(tmp_path / "new.db")
    assert list(empty.records()) == []
    store.close()
    empty.close()
