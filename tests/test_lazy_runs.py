"""A report's read of SQLite takes the runs a record carries apart from it, undecoded, and
decodes them when the report asks (stores/sqlite.item_text and split_runs, decode.
carried_runs, report/data.Carried): the same report, without decoding what is not asked."""

import json
from dataclasses import replace

import pytest

from mlcc_ci import clock, decode
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Record, Run, StageResult
from mlcc_ci.report import render
from mlcc_ci.report.data import Carried, load_report, read
from mlcc_ci.report.model import HISTORY_STRIP
from mlcc_ci.stores.sqlite import SqliteStore, item_text, split_runs
from tests.stores import registration, sqlite_store

T0 = "2026-01-01T00:00:00Z"


def run(n: int, day: int, status: str = "pass") -> Run:
    return Run(
        configId=registration(n).configId,
        startedAt=f"2026-01-{day:02d}T00:00:00.000Z",
        runId=f"r{n}-{day}",
        finishedAt=f"2026-01-{day:02d}T01:00:00Z",
        status=status,
        durationSeconds=3.0,
        deploymentConfig=f"cfg-{n}",
        stageResults={"generate": StageResult("pass", 1.0)},
    )


def carrying(store: SqliteStore, n: int, days: int = 3) -> Record:
    """Configuration `n` registered, then written carrying `days` runs (newest first)."""
    store.register(registration(n), T0)
    record = store.get(registration(n).configId)
    runs = tuple(run(n, d, "pass" if d % 2 else "fail-build").summary() for d in range(days, 0, -1))
    done = replace(
        record,
        version=record.version + 1,
        testStatus=runs[0].status,
        lastTestTimestamp=runs[0].finishedAt,
        recentRuns=runs,
    )
    store.replace(done, expect_version=record.version, expect_run_id=None)
    return done


# -- the stored text ------------------------------------------------------------------


@pytest.mark.unit
def test_item_text_sorts_the_keys_but_puts_the_carried_runs_last():
    item = {"z": 1, "recentRuns": [{"b": 2, "a": 1}], "a": "x"}
    text = item_text(item)
    assert text == '{"a": "x", "z": 1, "recentRuns": [{"a": 1, "b": 2}]}'
    assert json.loads(text) == item
    assert item_text({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
    assert item_text({"recentRuns": []}) == '{"recentRuns": []}'


@pytest.mark.unit
def test_split_runs_takes_apart_what_item_text_wrote():
    item = {"configId": "c", "recentRuns": [{"status": "pass"}], "version": 2}
    rest, runs = split_runs(item_text(item))
    assert rest == {"configId": "c", "version": 2}
    assert runs == '[{"status": "pass"}]'
    # an empty list is a list
    assert split_runs('{"a": 1, "recentRuns": []}') == ({"a": 1}, "[]")
    # a run holding a key of that name (another tool's): the item's own comes first
    nested = '{"a": 1, "recentRuns": [{"b": 1, "recentRuns": [2]}]}'
    assert split_runs(nested) == ({"a": 1}, '[{"b": 1, "recentRuns": [2]}]')


@pytest.mark.unit
@pytest.mark.parametrize(
    "text",
    [
        # written with every key sorted (before item_text): the runs are not last
        '{"a": 1, "recentRuns": [1], "version": 2}',
        '{"a": 1}',
        '{"recentRuns": [1]}',  # nothing before them: no ", " to find
        # the key found is one inside a value: the rest does not parse
        '{"a": [{"b": 1, "recentRuns": [2]}], "c": [3]}',
        '{"a": {"b": 1, "recentRuns": [2]}}',
        # the runs are not a list
        '{"a": 1, "recentRuns": {"x": [1]}}',
        # a second recentRuns before them: the whole item decides
        '{"recentRuns": [1], "a": 1, "recentRuns": [2]}',
        # not JSON before them
        '{"a": , "recentRuns": [1]}',
        # not an object
        '[1, "recentRuns": [2]]',
    ],
)
def test_split_runs_leaves_anything_else_to_a_whole_parse(text):
    assert split_runs(text) is None


@pytest.mark.unit
def test_carried_runs_decodes_the_text_as_recent_runs_would():
    items = [run(1, 2).summary_item(), {"no": "startedAt"}, run(1, 1, "fail-build").summary_item()]
    text = json.dumps(items)
    found = decode.carried_runs("0000000000000001", "cfg-1", text)
    assert found == decode.recent_runs("0000000000000001", "cfg-1", items)
    assert [r.runId for r in found] == ["r1-2", "r1-1"]
    assert {(r.configId, r.deploymentConfig) for r in found} == {("0000000000000001", "cfg-1")}
    assert decode.carried_runs("c", "n", None) == ()
    assert decode.carried_runs("c", "n", "") == ()
    assert decode.carried_runs("c", "n", "[{") == ()
    assert decode.carried_runs("c", "n", '{"a": 1}') == ()


# -- the store ------------------------------------------------------------------------


@pytest.mark.functional
def test_records_and_raw_runs_keeps_the_runs_apart_undecoded(tmp_path):
    with sqlite_store(tmp_path) as store:
        written = carrying(store, 1)
        store.register(registration(2), T0)  # carries nothing
        # a record written before item_text, keys sorted: read whole
        legacy = replace(carrying(store, 3), version=9)
        with store._write() as conn:
            conn.execute(
                "UPDATE records SET item = ? WHERE configId = ?",
                (json.dumps(legacy.to_item(), sort_keys=True), legacy.configId),
            )
        records, carried = store.records_and_raw_runs()
        by_id = {r.configId: r for r in records}
        assert sorted(by_id) == [registration(n).configId for n in (1, 2, 3)]
        assert by_id[written.configId] == replace(written, recentRuns=())
        assert by_id[legacy.configId] == legacy  # decoded whole, runs and all
        assert list(carried) == [written.configId]
        name, text = carried[written.configId]
        assert name == "cfg-1"
        assert decode.carried_runs(written.configId, name, text) == written.recentRuns
        # the dashboard remembers decoded records: it reads them whole
        store.remember_decoded()
        records, carried = store.records_and_raw_runs()
        assert carried == {} and {r.configId: r for r in records}[written.configId] == written


@pytest.mark.functional
def test_records_and_raw_runs_notes_an_unreadable_item(tmp_path):
    with sqlite_store(tmp_path) as store:
        carrying(store, 1)
        with store._write() as conn:
            conn.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
                ("bad", "pass", T0, 1, None, '{"configId": "bad", "recentRuns": [1]}'),
            )
            conn.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
                ("worse", "pass", T0, 1, None, '{"configId": "x", "a": 1, "recentRuns": [1]}'),
            )
        records, carried = store.records_and_raw_runs()
        assert [r.configId for r in records] == [registration(1).configId]
        assert list(carried) == [registration(1).configId]
        assert store.unreadable == {
            "bad": "configJson is missing",
            "worse": "the stored item does not name its configId",
        }


# -- the report -----------------------------------------------------------------------


@pytest.mark.unit
def test_carried_decodes_each_configurations_runs_once_when_asked():
    text = json.dumps([run(1, 2).summary_item()])
    asked: list[str] = []

    def fallback(config_id):
        asked.append(config_id)
        return [run(2, 1)]

    carried = Carried({"h": [run(3, 1)]}, {"c1": ("cfg-1", text), "c2": ("cfg-2", "[]")}, fallback)
    assert sorted(carried) == ["c1", "c2", "h"] and len(carried) == 3
    first = carried["c1"]
    assert [r.runId for r in first] == ["r1-2"] and first[0].configId == "c1"
    assert carried["c1"] is first  # decoded once
    assert carried["h"] == [run(3, 1)] and asked == []
    assert carried["c2"] == [run(2, 1)] and asked == ["c2"]  # none readable: the history
    assert carried["c2"] == [run(2, 1)] and asked == ["c2"]
    assert carried.get("nope") is None
    with pytest.raises(KeyError):
        carried["nope"]


@pytest.mark.functional
def test_a_report_read_apart_is_the_report_read_whole(tmp_path):
    with sqlite_store(tmp_path) as store:
        for n in range(1, 4):
            carrying(store, n, days=n + 1)
        store.register(registration(4), T0)  # never tested
        # 5 carries runs none of which can be read: its history is read instead
        broken = carrying(store, 5)
        store.append_run(run(5, 7, "fail-build"))
        with store._write() as conn:
            item = json.dumps({**broken.to_item(), "recentRuns": [{"x": 1}]}, sort_keys=True)
            conn.execute(
                "UPDATE records SET item = ? WHERE configId = ?",
                (item_text(json.loads(item)), broken.configId),
            )
        records, history, unreadable = read(store)
        assert all(r.recentRuns == () for r in records) and unreadable == {}
        assert isinstance(history, Carried)
        assert [r.runId for r in history[registration(2).configId]] == ["r2-3", "r2-2", "r2-1"]
        assert [r.runId for r in history[broken.configId]] == ["r5-7"]
        assert history.get(registration(4).configId, ()) == ()

        now = clock.parse("2026-01-20T00:00:00Z")
        catalog = load_valid_catalog()
        apart = render.as_json(load_report(store, catalog, now))
        whole = SqliteStore(store.path)
        whole.remember_decoded()  # reads every record whole
        try:
            assert render.as_json(load_report(whole, catalog, now)) == apart
        finally:
            whole.close()
        assert '"runId":"r2-1"' in apart and '"runId":"r5-7"' in apart
        assert store.histories([broken.configId], limit=HISTORY_STRIP)[broken.configId]


# -- what decoding a record costs: the redaction's one search first ---------------------

CREDENTIALS = [
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "ASIA" + "ABCDEFGHIJKLMNOP",
    "hf_" + "a1B2c3D4e5F6g7H8",
    "nvapi-" + "abcdefgh12",
    *(f"gh{k}_" + "a1" * 10 for k in "pousr"),
    "github_pat_" + "A1" * 11,
    *(f"xox{k}-" + "1234567890" for k in "abpr"),
    "-----BEGIN RSA " + "PRIVATE KEY-----\nabc\n-----END RSA " + "PRIVATE KEY-----",
    "https://hooks.slack.com/" + "services/T000/B000/XXXX",
    "https://discord.com/api/" + "webhooks/1/abc",
    "https://acme.webhook.office.com/" + "webhookb2/abc",
    "postgres://app:" + "pw@db/x",
]
ASSIGNED = ["API_KEY=abc", "password: hunter2", "Token = x", "SECRET=y", "passwd=z", "api-key: q"]


@pytest.mark.unit
@pytest.mark.parametrize("secret", CREDENTIALS)
def test_every_credential_shape_passes_the_first_search(secret):
    from mlcc_ci.redact import looks_secret, redact

    assert looks_secret(f"x {secret} y")
    assert secret not in redact(f"before {secret} after")


@pytest.mark.unit
@pytest.mark.parametrize("said", [*ASSIGNED, "Authorization: Bearer abcdefgh12345"])
def test_every_secret_named_value_passes_the_first_search(said):
    from mlcc_ci.redact import looks_secret, redact

    assert redact(said).endswith("***") and not looks_secret(said.split()[0].rstrip(":="))


@pytest.mark.unit
def test_text_with_nothing_to_mask_is_given_back_as_it_is():
    from mlcc_ci.redact import looks_secret, redact

    text = "endpoint never InService after 900 s: /work/cfg-1/deploy_test.log " * 3
    assert redact(text) is text and not looks_secret(text)
    assert redact("AP" + "I") == "API" and redact("the api") == "the api"
    assert redact("s3cr3t-value in it", ["s3cr3t-value"]) == "*** in it"
