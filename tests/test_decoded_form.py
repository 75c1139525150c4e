"""The record as a read decodes it, kept beside its item (stores/decodedform.py): a report's
read uses it instead of decoding the item again, and gets exactly what decoding would give;
any other hand on the row, or another decoder, and the item is decoded afresh."""

import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest

from mlcc_ci import decode
from mlcc_ci.models import Blocked, Cost, Failure, Record, StageResult
from mlcc_ci.stores import decodedform
from tests.stores import registration, sqlite_store
from tests.test_lazy_runs import T0, carrying

PACKAGE = Path(decode.__file__).parent


def forms(store) -> dict[str, tuple[str, int | None]]:
    rows = store._connect().execute("SELECT configId, tag, runsAt FROM decoded").fetchall()
    return {config_id: (tag, runs_at) for config_id, tag, runs_at in rows}


def decoded_afresh(store):
    """records_and_raw_runs with every form dropped: each item decoded as it is stored."""
    with store._write() as conn:
        conn.execute("DELETE FROM decoded")
    return store.records_and_raw_runs()


def busy(store, n: int) -> Record:
    """Configuration `n` written with every part a form holds: stages under way and done, a
    cost, a failure, a block, texts of each kind."""
    record = carrying(store, n)
    stages = {
        "generate": StageResult("pass", 1.5, "/logs/generate.log"),
        "build": StageResult("fail", 20, "/logs/build.log", "ERROR: it broke\nbadly", "a note"),
    }
    written = replace(
        record,
        version=record.version + 1,
        testStatus="running",
        runId="run-1",
        runStartedAt=T0,
        currentStage="build",
        currentStageStartedAt=T0,
        runStages=stages,
        stageResults=stages,
        estimatedCost=Cost(1.25, "30 min BUILD_GENERAL1_LARGE"),
        failure=Failure("product", "build", "rule-a", "capture é"),
        blocked=Blocked("capacity", "deploy_test", T0, T0, "cap", "x", 2, True),
        errorMessage="it broke",
        lastTestDuration=61,
        generatorVersion="1.6.0",
        provenImage="python:3.12@sha256:" + "a" * 64,
        baseImage="python:3.12",
        baseImageVersion="3.12",
    )
    store.replace(written, expect_version=record.version, expect_run_id=None)
    return written


@pytest.mark.functional
def test_a_read_of_forms_gives_what_decoding_the_items_gives(tmp_path):
    with sqlite_store(tmp_path) as store:
        busy(store, 1)
        carrying(store, 2)
        store.register(registration(3), T0)  # carries no runs
        kept = forms(store)
        ids = [registration(n).configId for n in (1, 2, 3)]
        assert sorted(kept) == sorted(ids)
        assert {tag for tag, _ in kept.values()} == {decodedform.tag()}
        assert kept[ids[2]][1] is None  # nothing carried, nowhere to start
        with_forms = store.records_and_raw_runs()
        afresh = decoded_afresh(store)
        assert with_forms == afresh
        assert [r.configId for r in with_forms[0]] == ids
        assert with_forms[0][0].blocked == Blocked(
            "capacity", "deploy_test", T0, T0, "cap", "x", 2, True
        )
        # the carried runs are where the form says, as split_runs finds them
        name, text = with_forms[1][ids[0]]
        runs = decode.carried_runs(ids[0], name, text)
        assert len(runs) == 3 and runs[0].status == "pass"


@pytest.mark.functional
def test_a_form_is_what_the_read_gets(tmp_path):
    """The form, not the item, is read while both stand (so the tests above prove the
    forms, not a decode): a form altered by hand is what comes back."""
    with sqlite_store(tmp_path) as store:
        written = carrying(store, 1)
        altered = decodedform.form_of(replace(written, recentRuns=(), projectName="from-form"))
        with store._write() as conn:
            conn.execute("UPDATE decoded SET form = ?", (altered,))
        (record,), _ = store.records_and_raw_runs()
        assert record.projectName == "from-form"


@pytest.mark.functional
@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE records SET item = json_set(item, '$.projectName', 'edited')",
        "UPDATE records SET testStatus = testStatus",  # any change of the row
        "INSERT OR REPLACE INTO records SELECT configId, testStatus, lastTestTimestamp, "
        "version, runId, json_set(item, '$.projectName', 'edited') FROM records",
    ],
)
def test_any_other_hand_on_a_row_drops_its_form(tmp_path, edit):
    with sqlite_store(tmp_path) as store:
        carrying(store, 1)
        carrying(store, 2)
        with store._write() as conn:
            conn.execute(
                edit + (" WHERE configId = ?" if "WHERE" not in edit else ""),
                (registration(1).configId,),
            )
        assert sorted(forms(store)) == [registration(2).configId]
        records, _ = store.records_and_raw_runs()
        assert records == decoded_afresh(store)[0]
        if "edited" in edit:
            assert records[0].projectName == "edited"


@pytest.mark.functional
def test_a_deleted_record_takes_its_form_with_it(tmp_path):
    with sqlite_store(tmp_path) as store:
        carrying(store, 1)
        store.delete(registration(1).configId)
        assert forms(store) == {}


@pytest.mark.functional
def test_a_form_of_another_decoder_or_not_a_record_is_not_used(tmp_path):
    with sqlite_store(tmp_path) as store:
        first, second = carrying(store, 1), carrying(store, 2)
        stale = decodedform.form_of(replace(second, recentRuns=(), projectName="stale"))
        with store._write() as conn:
            conn.execute("UPDATE decoded SET form = '[1, 2]' WHERE configId = ?", (first.configId,))
            conn.execute(
                "UPDATE decoded SET form = ?, tag = 'another' WHERE configId = ?",
                (stale, second.configId),
            )
        records, _ = store.records_and_raw_runs()
        assert records == [replace(first, recentRuns=()), replace(second, recentRuns=())]
        assert store.unreadable == {}


@pytest.mark.unit
def test_record_of_refuses_what_is_not_a_form():
    assert decodedform.record_of("not json") is None
    assert decodedform.record_of('{"a": 1}') is None
    assert decodedform.record_of("[1, 2]") is None
    assert decodedform.record_of("null") is None
    names = len(decodedform._NAMES)
    assert decodedform.record_of(json.dumps([None] * names)) is None  # no stage map
    assert decodedform.record_of(json.dumps([[1]] * names)) is None
    record = decodedform.record_of(decodedform.form_of(RECORD))
    assert record == RECORD
    longer = [*json.loads(decodedform.form_of(RECORD)), "one too many"]
    assert decodedform.record_of(json.dumps(longer)) is None
    assert decodedform.record_of(json.dumps(longer[:-2])) is None


@pytest.mark.functional
def test_an_item_no_one_can_read_keeps_no_form(tmp_path):
    with sqlite_store(tmp_path) as store:
        with store._write() as conn:
            decodedform.keep(conn, "0000000000000001", "not json")
            decodedform.keep(conn, "0000000000000002", '{"configId": "0000000000000002"}')
        assert forms(store) == {}


@pytest.mark.functional
def test_registering_anew_keeps_the_form_of_the_new_item(tmp_path):
    with sqlite_store(tmp_path) as store:
        reg = registration(1)
        store.register(reg, T0)
        changed = replace(reg, configJson=reg.configJson[:-1] + ',"note":"renamed"}')
        assert store.register(changed, T0) == "changed"
        (config_id,) = forms(store)
        assert config_id == reg.configId
        form = store._connect().execute("SELECT form FROM decoded").fetchone()[0]
        assert "renamed" in decodedform.record_of(form).configJson
        assert decodedform.record_of(form) == store.get(reg.configId)


@pytest.mark.functional
def test_forms_are_read_page_by_page(tmp_path):
    with sqlite_store(tmp_path) as store:
        written = [carrying(store, n) for n in range(1, 6)]
        store.page_size = 3  # two pages, each ended by its last row (not its second)
        records, carried = store.records_and_raw_runs()
        assert records == [replace(w, recentRuns=()) for w in written]
        assert list(carried) == [w.configId for w in written]
        assert len(forms(store)) == 5


RECORD = Record(
    configId="0123456789abcdef",
    configJson="{}",
    deploymentConfig="cfg",
    buildStrategy="",
    projectName="p",
    createdAt=T0,
    source="catalog",
    version=1,
    stageResults={"build": StageResult("pass", 3)},
)


@pytest.mark.unit
def test_form_of_keeps_no_runs_and_nothing_that_would_read_back_otherwise():
    record = RECORD
    form = decodedform.form_of(record)
    assert form is not None and decodedform.record_of(form) == record
    nan = replace(record, stageResults={"build": StageResult("pass", float("nan"))})
    assert decodedform.form_of(nan) is None  # NaN is not NaN: it would not read back equal
    carried = replace(record, recentRuns=(object(),))  # type: ignore[arg-type]
    assert decodedform.form_of(carried) is None


def _imports(module: str) -> set[str]:
    """The mlcc_ci modules `module` imports anywhere in it (inside functions too)."""
    tree = ast.parse((PACKAGE / (module.replace(".", "/") + ".py")).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "mlcc_ci":
            found |= {a.name for a in node.names}  # from mlcc_ci import clock
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlcc_ci."):
            found.add(node.module.removeprefix("mlcc_ci."))
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("mlcc_ci.") for a in node.names if a.name.startswith("mlcc_ci.")
            }
    return {m for m in found if m}


@pytest.mark.unit
def test_the_tag_covers_every_module_decode_reads_with():
    closure, todo = set(), ["decode"]
    while todo:
        module = todo.pop()
        if module not in closure:
            closure.add(module)
            todo += _imports(module)
    assert closure == set(decodedform.DECODER_MODULES)
    storedvalues = (PACKAGE / "storedvalues.py").read_text()
    assert f'load_schema("{decodedform.DECODER_SCHEMA}")' in storedvalues


@pytest.mark.unit
def test_the_tag_changes_with_the_decoder(monkeypatch, tmp_path):
    before = decodedform.tag()
    assert before == decodedform.tag() and len(before) == 24
    copy = tmp_path / "redact.py"
    from mlcc_ci import redact

    copy.write_text(Path(redact.__file__).read_text() + "\n# another pattern\n")
    monkeypatch.setattr(redact, "__file__", str(copy))
    decodedform.tag.cache_clear()
    try:
        assert decodedform.tag() != before
    finally:
        monkeypatch.undo()
        decodedform.tag.cache_clear()
    assert decodedform.tag() == before


@pytest.mark.functional
def test_without_the_decoders_source_no_form_is_kept_or_read(tmp_path, monkeypatch):
    """A package without its source files (zipped, frozen) cannot name its decoder: every
    item is decoded, as before forms."""
    from mlcc_ci import redact

    with sqlite_store(tmp_path) as store:
        first = carrying(store, 1)  # a form under the real tag
        monkeypatch.setattr(redact, "__file__", str(tmp_path / "gone" / "redact.py"))
        decodedform.tag.cache_clear()
        try:
            assert decodedform.tag() == ""
            second = carrying(store, 2)
            assert sorted(forms(store)) == [first.configId]  # none kept for the second
            altered = decodedform.form_of(replace(first, recentRuns=(), projectName="form"))
            with store._write() as conn:  # the first's form altered: it is not read
                conn.execute("UPDATE decoded SET form = ?", (altered,))
            records, _ = store.records_and_raw_runs()
            assert records == [replace(first, recentRuns=()), replace(second, recentRuns=())]
        finally:
            monkeypatch.undo()
            decodedform.tag.cache_clear()
