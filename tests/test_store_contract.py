"""One contract, two stores: SQLite and DynamoDB (through moto) must behave alike."""

from dataclasses import replace

import pytest

from mlcc_ci.constants import NEVER_TESTED, RUNNING, TERMINAL_STATUSES, UNTESTED
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.models import Outcome, StageResult, run_of
from mlcc_ci.stores.base import claim, finish
from tests.stores import dynamo_store, registration, sqlite_store

pytestmark = pytest.mark.functional
T0 = "2026-01-01T00:00:00Z"


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, tmp_path):
    maker = sqlite_store(tmp_path) if request.param == "sqlite" else dynamo_store(backoff=0)
    with maker as opened:
        yield opened


def outcome(status="pass", at="2026-01-01T01:00:00Z", **kw):
    stages = {"generate": StageResult("pass", 1.5, "/logs/g.log")}
    if status != "pass":
        stages["build"] = StageResult("fail", 2.0, "/logs/b.log", "boom")
    return Outcome(
        status=status,
        finishedAt=at,
        durationSeconds=3.5,
        stageResults=stages,
        errorMessage="" if status == "pass" else "build failed: boom",
        **kw,
    )


def test_register_created_unchanged_changed(store):
    assert store.register(registration(1), T0) == "created"
    first = store.get(registration(1).configId)
    assert first.testStatus == UNTESTED and first.lastTestTimestamp == NEVER_TESTED
    assert first.createdAt == T0 and first.version == 1 and first.baseImageVersion == "3.12-slim"
    assert store.register(registration(1), "2026-02-01T00:00:00Z") == "unchanged"
    assert store.get(first.configId) == first

    running = claim(store, first, "run-1", "2026-01-01T00:10:00.000Z")
    store.append_run(run_of(running, outcome()))
    finish(store, running, outcome())
    changed = registration(1, config_json='{"projectName":"p1","x":1}')
    assert store.register(changed, "2026-03-01T00:00:00Z") == "changed"
    after = store.get(first.configId)
    assert after.testStatus == UNTESTED and after.previousStatus == "pass"
    assert after.createdAt == T0 and after.configJson == changed.configJson
    assert after.runId is None and after.version == 4
    assert len(store.history(first.configId)) == 1


def test_unsupported_is_marked(store):
    store.register(registration(2, supportState="unsupported", supportReason="no"), T0)
    record = store.get(registration(2).configId)
    assert record.supportState == "unsupported" and record.supportReason == "no"
    assert store.register(registration(2), T0) == "changed"  # now supported
    assert store.get(record.configId).supportReason is None


def test_get_missing_and_delete(store):
    assert store.get("0" * 16) is None
    store.register(registration(3), T0)
    store.delete(registration(3).configId)
    assert store.get(registration(3).configId) is None


def test_records_and_status_queries_paginate(store):
    store.page_size = 3
    for n in range(10):
        store.register(registration(n), T0)
    assert sorted(r.configId for r in store.records()) == [f"{n:016x}" for n in range(10)]
    for n in range(4):
        rec = store.get(f"{n:016x}")
        running = claim(store, rec, f"run-{n}", f"2026-01-0{n + 1}T00:00:00.000Z")
        finish(store, running, outcome("pass", at=f"2026-01-0{n + 1}T01:00:00Z"))
    passed = list(store.by_status("pass"))
    assert [r.configId for r in passed] == [f"{n:016x}" for n in range(4)]  # oldest first
    older = list(store.by_status("pass", before="2026-01-03T00:00:00Z"))
    assert [r.lastTestTimestamp for r in older] == ["2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z"]
    assert len(list(store.by_status(UNTESTED))) == 6


def test_claim_is_conditional(store):
    store.register(registration(4), T0)
    record = store.get(registration(4).configId)
    running = claim(store, record, "run-a", "2026-01-01T00:00:00.000Z")
    assert store.get(record.configId).testStatus == RUNNING
    assert running.previousStatus == UNTESTED and running.runId == "run-a"
    with pytest.raises(ConflictError, match="changed since it was read"):
        claim(store, record, "run-b", "2026-01-01T00:00:01.000Z")
    assert store.get(record.configId).runId == "run-a"


def test_result_is_conditional_on_the_run(store):
    store.register(registration(5), T0)
    running = claim(store, store.get(registration(5).configId), "run-a", "2026-01-01T00:00:00.000Z")
    # the configuration changed under the run: its result must not land on the new config
    store.register(registration(5, config_json='{"changed":true}'), T0)
    with pytest.raises(ConflictError):
        finish(store, running, outcome("fail-build"))
    assert store.get(running.configId).testStatus == UNTESTED


def test_finish_writes_result_and_clears_error_on_pass(store):
    store.register(registration(6), T0)
    running = claim(store, store.get(registration(6).configId), "r1", "2026-01-01T00:00:00.000Z")
    failed = finish(store, running, outcome("fail-build"))
    stored = store.get(running.configId)
    assert stored == failed
    assert stored.errorMessage == "build failed: boom"
    assert stored.stageResults["build"] == StageResult("fail", 2.0, "/logs/b.log", "boom")
    running = claim(store, stored, "r2", "2026-01-02T00:00:00.000Z")
    passed = finish(store, running, outcome("pass", at="2026-01-02T01:00:00Z", profile="example"))
    stored = store.get(running.configId)
    assert stored == passed and stored.errorMessage is None
    assert stored.lastPassTimestamp == "2026-01-02T01:00:00Z" and stored.profile == "example"


def test_history_newest_first_with_limit(store):
    store.register(registration(7), T0)
    record = store.get(registration(7).configId)
    for day in range(1, 6):
        running = claim(store, record, f"r{day}", f"2026-01-0{day}T00:00:00.000Z")
        result = outcome("pass" if day % 2 else "fail-build", at=f"2026-01-0{day}T01:00:00Z")
        store.append_run(run_of(running, result))
        record = finish(store, running, result)
    runs = store.history(record.configId)
    assert [r.runId for r in runs] == ["r5", "r4", "r3", "r2", "r1"]
    assert runs[1].status == "fail-build" and runs[1].stageResults["build"].errorSummary == "boom"
    assert [r.runId for r in store.history(record.configId, limit=2)] == ["r5", "r4"]
    assert store.history("f" * 16) == []


def test_invalid_record_is_refused_and_nothing_written(store):
    with pytest.raises(StoreError, match=r"refusing to write record nothex: \$.configId"):
        store.register(registration(8, configId="nothex"), T0)
    assert list(store.records()) == []


def test_both_stores_write_identical_records(tmp_path):
    def scenario(store):
        store.register(registration(9), T0)
        running = claim(store, store.get(registration(9).configId), "r", "2026-01-01T00:00:00.000Z")
        finish(store, running, outcome("fail-deploy_test"))
        store.register(registration(9, config_json='{"v":2}'), "2026-01-05T00:00:00Z")
        return store.get(registration(9).configId).to_item()

    with sqlite_store(tmp_path) as a, dynamo_store() as b:
        assert scenario(a) == scenario(b)


def test_what_other_tools_wrote_survives_every_write(store):
    from tests.stores import add_foreign_attribute, stored_item

    reg = registration(7)
    store.register(reg, T0)
    add_foreign_attribute(store, reg.configId, "ownerTeam", "inference")
    running = claim(store, store.get(reg.configId), "run-7", "2026-01-01T00:30:00.000Z")
    finish(store, running, outcome())
    store.register(registration(7, config_json='{"projectName":"p7b"}'), T0)
    store.register(reg, T0, retest=True)
    item = stored_item(store, reg.configId)
    assert item["ownerTeam"] == "inference"
    assert item["testStatus"] == UNTESTED and item["lastTestDuration"] == 4  # whole seconds


@pytest.mark.parametrize("stored", ["842", "842.0"])
def test_the_doctor_writes_a_foreign_duration_as_whole_seconds(store, stored):
    """The generator's do/register (or do/ci) stored lastTestDuration; the doctor adopts the
    record and writes it back as an integer, since the generator's `do/ci report` reads it
    with int() and dies on '842.0'."""
    import json

    from mlcc_ci import doctor
    from tests.stores import stored_item

    item = {
        "configId": "00000000000000d1",
        "configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "theirs"}),
        "deploymentConfig": "http-flask",
        "testStatus": "pass",
        "lastTestTimestamp": "2026-01-01T00:00:00Z",
    }
    if hasattr(store, "client"):
        raw = {k: {"S": v} for k, v in item.items()}
        store.client.put_item(
            TableName=store.table, Item={**raw, "lastTestDuration": {"N": stored}}
        )
    else:
        with store._write() as conn:
            conn.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item["configId"],
                    "pass",
                    item["lastTestTimestamp"],
                    0,  # another tool's: no version
                    None,
                    json.dumps({**item, "lastTestDuration": float(stored)}),
                ),
            )
    exam = doctor.examine(store)
    assert [r.configId for r in exam.adopt] == ["00000000000000d1"]
    assert doctor.fix(store, exam)[0].startswith("adopted 00000000000000d1")
    duration = stored_item(store, "00000000000000d1")["lastTestDuration"]
    assert str(duration) == "842" and store.get("00000000000000d1").lastTestDuration == 842
    if hasattr(store, "client"):
        key = {"configId": {"S": "00000000000000d1"}}
        got = store.client.get_item(TableName=store.table, Key=key)["Item"]
        assert got["lastTestDuration"] == {"N": "842"}


def test_retest_puts_an_unchanged_record_back_to_untested(store):
    reg = registration(8)
    store.register(reg, T0)
    running = claim(store, store.get(reg.configId), "run-8", "2026-01-01T00:30:00.000Z")
    finish(store, running, outcome())
    assert store.register(reg, T0) == "unchanged"
    assert store.register(reg, T0, retest=True) == "changed"
    again = store.get(reg.configId)
    assert again.testStatus == UNTESTED and again.previousStatus == "pass"
    assert again.lastPassTimestamp == "2026-01-01T01:00:00Z"  # the history stays


def test_unreadable_items_are_skipped_and_named(store):
    reg = registration(9)
    store.register(reg, T0)
    if hasattr(store, "client"):
        store.client.put_item(
            TableName=store.table,
            Item={"configId": {"S": "ffffffffffffffff"}, "configJson": {"S": "{"}},
        )
    else:
        with store._write() as conn:
            conn.execute(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
                ("ffffffffffffffff", "untested", NEVER_TESTED, 1, None, '{"configId": 3}'),
            )
    assert [r.configId for r in store.records()] == [reg.configId]
    assert list(store.unreadable) == ["ffffffffffffffff"]


def test_finish_keeps_the_last_runs_on_the_record_and_clears_progress(store):
    from mlcc_ci.models import RECENT_RUNS, Cost, progressed

    store.register(registration(7), T0)
    record = store.get(registration(7).configId)
    for n in range(RECENT_RUNS + 2):
        running = claim(store, record, f"run-{n}", f"2026-01-01T00:{n:02d}:00.000Z")
        moved = progressed(
            running,
            "build",
            f"2026-01-01T00:{n:02d}:30.000Z",
            {"generate": StageResult("pass", 1.0, "/logs/g.log", "")},
        )
        store.replace(moved, expect_version=running.version, expect_run_id=running.runId)
        seen = store.get(record.configId)
        assert seen.currentStage == "build" and list(seen.runStages) == ["generate"]
        assert seen.runStages["generate"] == StageResult("pass", 1.0)  # timings only
        cost = Cost(0.5 if n % 2 else None, "test")
        record = finish(
            store, moved, outcome("pass", at=f"2026-01-01T01:{n:02d}:00Z", estimatedCost=cost)
        )
    stored = store.get(record.configId)
    assert stored == record
    assert stored.currentStage is None and stored.runStages == {}
    assert [r.runId for r in stored.recentRuns] == [
        f"run-{n}" for n in range(RECENT_RUNS + 1, 1, -1)
    ]
    newest = stored.recentRuns[0]
    assert (
        newest.estimatedCost == Cost(0.5, "test") and stored.estimatedCost == newest.estimatedCost
    )
    assert stored.recentRuns[1].estimatedCost == Cost(None, "test")  # unknown stays unknown
    assert newest.stageResults["generate"].logPointer == ""  # the history keeps the logs


def test_histories_reads_the_last_runs_of_many_configurations(store):
    ids = []
    for n in (11, 12, 13):
        store.register(registration(n), T0)
        record = store.get(registration(n).configId)
        ids.append(record.configId)
        for day in range(1, 5):
            running = claim(store, record, f"r{n}-{day}", f"2026-01-0{day}T00:00:00.000Z")
            store.append_run(run_of(running, outcome(at=f"2026-01-0{day}T01:00:00Z")))
            record = finish(store, running, outcome(at=f"2026-01-0{day}T01:00:00Z"))
    found = store.histories(ids[:2], limit=3)
    assert set(found) == set(ids[:2])
    for n, config_id in zip((11, 12), ids[:2], strict=True):
        assert [r.runId for r in found[config_id]] == [f"r{n}-4", f"r{n}-3", f"r{n}-2"]
    assert store.histories([], limit=3) == {}


def test_gather_gives_a_stale_record_of_every_finished_status(store):
    """The store query behind the scanner, plan, run --due and trigger: each finished status,
    last tested three days ago, comes back from the status index, and is due."""
    from mlcc_ci import clock
    from mlcc_ci.scheduling import gather
    from mlcc_ci.selection import Policy, select
    from tests.stores import FINISHED_STATUSES, finished_long_ago

    statuses = list(FINISHED_STATUSES)
    assert sorted(statuses) == sorted(TERMINAL_STATUSES)  # every one, named here
    ids = {finished_long_ago(store, s, n).configId: s for n, s in enumerate(statuses, 1)}
    now = clock.now()
    found = {r.configId: r.testStatus for r in gather(store, now, Policy())}
    assert found == ids
    due = {d.record.configId for d in select(gather(store, now, Policy()), now, Policy()).due}
    assert due == set(ids)


def test_classes_blocks_and_attempts_round_trip_and_a_run_can_be_forgotten(store):
    from dataclasses import replace

    from mlcc_ci.models import Blocked, Failure, set_aside

    store.register(registration(7), T0)
    record = store.get(registration(7).configId)
    running = claim(store, record, "run-7a", "2026-01-01T00:10:00.000Z")
    capacity = Failure("capacity", "deploy_test", "sagemaker-capacity", "Unable to provision")
    failed = outcome("fail-deploy_test", failure=capacity, attempt=2)
    blocked = Blocked(
        "capacity",
        "deploy_test",
        "2026-01-01T00:10:00.000Z",
        "2026-01-01T01:20:00Z",
        "sagemaker-capacity",
        "Unable to provision",
        rounds=3,
    )
    new = set_aside(running, failed, blocked)
    store.replace(new, expect_version=running.version, expect_run_id=running.runId)
    store.append_run(run_of(running, failed))

    stored = store.get(record.configId)
    assert stored == new  # every field read back as written
    assert (stored.testStatus, stored.runId, stored.blocked) == (UNTESTED, None, blocked)
    [summary] = stored.recentRuns
    assert (summary.status, summary.failure, summary.attempt) == (
        "fail-deploy_test",
        capacity,
        2,
    )
    [kept] = store.history(record.configId)
    assert (kept.failure, kept.attempt, kept.product) == (capacity, 2, False)
    assert replace(kept, errorMessage="") == replace(run_of(running, failed), errorMessage="")

    store.forget_run(record.configId, kept.startedAt)
    assert store.history(record.configId) == []
    store.forget_run(record.configId, kept.startedAt)  # a second time: nothing to do


# Selection over a store (mlcc_ci.scheduling): the scanner's steps, on both stores.
NOW = "2026-06-01T12:00:00Z"


def at(text: str):
    from mlcc_ci import clock

    return clock.parse(text)


def test_schedule_reaps_an_orphan_registers_a_changed_entry_anew_and_claims_the_due(store):
    from mlcc_ci.models import Cost
    from mlcc_ci.scheduling import schedule
    from mlcc_ci.selection import Policy

    for n in (1, 2, 3, 4):
        store.register(registration(n), T0)
    orphan = claim(store, store.get(registration(2).configId), "run-2", "2026-01-01T00:00:00.000Z")
    passed = claim(store, store.get(registration(4).configId), "run-4", "2026-06-01T10:00:00.000Z")
    finish(store, passed, outcome("pass", at="2026-06-01T11:00:00Z"))  # fresh: not due
    edited = registration(3, config_json='{"projectName":"p3","x":1}')
    plan, reaped, claimed = schedule(store, at(NOW), Policy(), {edited.configId: edited})

    message = (
        "reaped: run run-2 started 2026-01-01T00:00:00.000Z ran 218160 min with no result, "
        "longer than the build timeout plus grace (105 min); its executor is gone"
    )
    assert [r.configId for r in reaped] == [orphan.configId]
    stored = store.get(orphan.configId)
    assert stored.testStatus == "fail-build" and stored.runId == "run-2"
    # written to the millisecond, as every moment mlcc-ci writes
    assert stored.lastTestTimestamp == "2026-06-01T12:00:00.000Z"
    assert stored.lastTestDuration == 13089600
    assert stored.errorMessage == message
    assert stored.stageResults == {"build": StageResult("fail", errorSummary=message)}
    assert stored.profile == "default"
    assert stored.estimatedCost == Cost(None, "the run died before it could time its stages")
    assert [(r.runId, r.status) for r in store.history(orphan.configId)] == [
        ("run-2", "fail-build")
    ]

    assert [(c.record.configId, c.reason) for c in claimed] == [
        (registration(1).configId, "untested"),
        (registration(3).configId, "changed"),
    ]
    for c in claimed:
        got = store.get(c.record.configId)
        assert got.testStatus == "running" and got.runStartedAt == "2026-06-01T12:00:00.000Z"
        assert got.runId == c.record.runId and len(got.runId) == 12
        int(got.runId, 16)  # hex
    assert claimed[0].record.runId != claimed[1].record.runId
    assert store.get(edited.configId).configJson == edited.configJson  # registered anew
    # a fresh result is not even read: the status index gives only the stale ones
    assert plan.skipped == [] and store.get(passed.configId).testStatus == "pass"
    assert [(d.record.configId, d.reason) for d in plan.reap] == [(orphan.configId, "orphaned")]
    assert [d.detail for d in plan.due] == [
        "registered 2026-01-01 00:00 UTC",
        "catalog entry changed since it was registered",
    ]


def test_schedule_reads_the_catalogs_fresh_records_names_the_unregistered_and_skips_the_running(
    store,
):
    from mlcc_ci.scheduling import schedule
    from mlcc_ci.selection import Policy

    for n in (21, 22):
        store.register(registration(n), T0)
    fresh = claim(store, store.get(registration(21).configId), "run-21", "2026-06-01T10:00:00.000Z")
    finish(store, fresh, outcome("pass", at="2026-06-01T11:00:00Z"))
    claim(store, store.get(registration(22).configId), "run-22", "2026-06-01T11:30:00.000Z")
    edited = registration(21, config_json='{"projectName":"p21","x":1}')
    catalog = {edited.configId: edited, registration(23).configId: registration(23)}
    plan, reaped, claimed = schedule(store, at(NOW), Policy(), catalog)
    assert reaped == [] and plan.unregistered == ["cfg-23"]
    assert [(d.record.configId, d.reason) for d in plan.skipped] == [
        (registration(22).configId, "running")
    ]
    # fresh, but its entry changed: read one by one since the catalog names it, and run
    assert [(c.record.configId, c.reason) for c in claimed] == [
        (registration(21).configId, "changed")
    ]


def test_a_run_that_died_is_failed_once_with_what_it_said(store):
    from mlcc_ci.scheduling import fail_run

    store.register(registration(5), T0)
    running = claim(store, store.get(registration(5).configId), "run-5", "2026-06-01T13:00:00.000Z")
    long = "x" * 600
    done = fail_run(store, running, at(NOW), long, stage="deploy_test", profile="static")
    assert done is not None and done.testStatus == "fail-deploy_test"
    stored = store.get(running.configId)
    assert stored.lastTestDuration == 0  # it claims to start in the future: 0, not negative
    assert stored.stageResults["deploy_test"].errorSummary == "x" * 500
    assert stored.errorMessage == long and stored.profile == "static"
    assert len(store.history(running.configId)) == 1
    # another writer's record with a run id but no start: failed, with no run in the history
    store.register(registration(24), T0)
    theirs = claim(
        store, store.get(registration(24).configId), "run-24", "2026-06-01T11:00:00.000Z"
    )
    assert fail_run(store, replace(theirs, runStartedAt=None), at(NOW), "lost") is not None
    assert store.history(theirs.configId) == []
    # already finished: someone else reaped it first, nothing more is written
    assert fail_run(store, running, at(NOW), "again") is None
    assert store.get(running.configId).errorMessage == long
    assert len(store.history(running.configId)) == 1


def test_a_claim_lost_to_another_scanner_is_not_ours(store):
    from mlcc_ci.scheduling import claim_each

    store.register(registration(6), T0)
    store.register(registration(7), T0)
    six, seven = store.get(registration(6).configId), store.get(registration(7).configId)
    claim(store, six, "other", "2026-06-01T11:00:00.000Z")  # another scanner was first
    ours, lost = claim_each(store, [six, seven], at(NOW))
    assert [r.configId for r in ours] == [seven.configId] and lost == [six]
    assert store.get(six.configId).runId == "other"


def test_upcoming_is_the_supported_result_that_goes_stale_first(store):
    from datetime import timedelta

    from mlcc_ci.scheduling import upcoming
    from mlcc_ci.selection import Policy

    assert upcoming(store, Policy()) is None  # nothing finished
    times = {8: "2026-05-01T00:00:00Z", 9: "2026-05-02T00:00:00Z", 10: "2026-04-01T00:00:00Z"}
    for n, when in times.items():
        support = {"supportState": "unsupported", "supportReason": "no"} if n == 10 else {}
        store.register(registration(n, **support), T0)
        running = claim(store, store.get(registration(n).configId), f"run-{n}", when)
        finish(store, running, outcome("pass" if n == 8 else "fail-build", at=when))
    nxt = upcoming(store, Policy(stale_after=timedelta(hours=2)))
    assert nxt is not None
    assert nxt.record.configId == registration(8).configId  # the unsupported one is older
    assert nxt.at == at("2026-05-01T02:00:00Z")


def test_gather_reads_the_catalogs_records_the_status_index_did_not_give(store):
    from mlcc_ci.scheduling import gather
    from mlcc_ci.selection import Policy

    for n in (11, 12, 13):
        store.register(registration(n), T0)
    fresh = claim(store, store.get(registration(11).configId), "run-11", "2026-06-01T10:00:00.000Z")
    finish(store, fresh, outcome("pass", at="2026-06-01T11:00:00Z"))
    running = claim(
        store, store.get(registration(12).configId), "run-12", "2026-06-01T11:30:00.000Z"
    )
    ids = [registration(11).configId, registration(13).configId, "f" * 16]  # the last: no record
    found = gather(store, at(NOW), Policy(), ids)
    assert sorted((r.configId, r.testStatus) for r in found) == [
        (registration(11).configId, "pass"),  # fresh, read one by one since the catalog names it
        (registration(12).configId, "running"),
        (registration(13).configId, "untested"),  # once, though the catalog names it too
    ]
    assert running.configId in {r.configId for r in found}
    assert [r.configId for r in gather(store, at(NOW), Policy())].count(
        registration(11).configId
    ) == 0


def test_a_run_that_died_is_classified_by_the_rules_from_its_message(store):
    from datetime import UTC, datetime

    from mlcc_ci.scheduling import fail_run

    now = datetime(2026, 1, 2, tzinfo=UTC)
    said = "deploy failed: Unable to provision requested ML compute capacity for ml.g5.xlarge"
    cases = [
        (
            "deploy_test",
            said,
            (
                "capacity",
                "deploy_test",
                "sagemaker-capacity",
                "Unable to provision requested ML compute capacity",
            ),
        ),
        # the capacity rule is deploy_test's: another stage's failure is not its
        ("build", said, ("unclassified", "build", "", "")),
        ("build", "reaped: its executor is gone", ("unclassified", "build", "", "")),
    ]
    for n, (stage, message, expected) in enumerate(cases, start=20):
        store.register(registration(n), T0)
        record = store.get(registration(n).configId)
        running = claim(store, record, f"run-{n}", "2026-01-01T00:10:00.000Z")
        done = fail_run(store, running, now, message, stage)
        # capacity blocks the configuration (its status kept); the rest fail it
        got = done.blocked if expected[0] == "capacity" else done.failure
        assert (got.cls, got.stage, got.rule, got.capture) == expected
        assert done.testStatus == ("untested" if done.blocked else f"fail-{stage}")
        [kept] = store.history(record.configId)
        failure = kept.failure
        assert (failure.cls, failure.stage, failure.rule, failure.capture) == expected


def test_a_run_that_died_is_unclassified_when_the_rules_cannot_be_read(store, tmp_path):
    from datetime import UTC, datetime

    from mlcc_ci import resources
    from mlcc_ci.scheduling import fail_run

    team = tmp_path / "team"
    team.mkdir()
    (team / "_failures.yaml").write_text("rules: [{name: x}]\n")
    resources.use_catalog(team)
    try:
        store.register(registration(30), T0)
        record = store.get(registration(30).configId)
        running = claim(store, record, "run-30", "2026-01-01T00:10:00.000Z")
        said = "Unable to provision requested ML compute capacity"
        done = fail_run(store, running, datetime(2026, 1, 2, tzinfo=UTC), said, "deploy_test")
    finally:
        resources.use_catalog(None)
    assert (done.failure.cls, done.failure.stage, done.failure.rule) == (
        "unclassified",
        "deploy_test",
        "",
    )


def test_upcoming_passes_over_a_blocked_record(store):
    from dataclasses import replace
    from datetime import timedelta

    from mlcc_ci.models import Blocked
    from mlcc_ci.scheduling import upcoming
    from mlcc_ci.selection import Policy

    for n, when in {40: "2026-03-01T00:00:00Z", 41: "2026-03-02T00:00:00Z"}.items():
        store.register(registration(n), T0)
        running = claim(store, store.get(registration(n).configId), f"run-{n}", when)
        done = finish(store, running, outcome("pass", at=when))
        if n == 40:  # the older one is blocked: it falls due at its retry time instead
            block = Blocked("quota", "build", when, "2026-03-05T00:00:00Z")
            new = replace(done, blocked=block, version=done.version + 1)
            store.replace(new, expect_version=done.version, expect_run_id=done.runId)
    nxt = upcoming(store, Policy(stale_after=timedelta(hours=2)))
    assert nxt.record.configId == registration(41).configId


class Refusing:
    """A store that refuses every write of one configuration."""

    def __init__(self, store, config_id):
        self.store, self.config_id = store, config_id

    def __getattr__(self, name):
        return getattr(self.store, name)

    def replace(self, record, **kw):
        if record.configId == self.config_id:
            raise StoreError("database or disk is full")
        return self.store.replace(record, **kw)

    def register(self, reg, now, **kw):
        if reg.configId == self.config_id:
            raise StoreError("database or disk is full")
        return self.store.register(reg, now, **kw)


def test_a_claim_or_a_registration_the_store_refuses_is_named_and_the_rest_go_on(store):
    from datetime import UTC, datetime

    from mlcc_ci.scheduling import claim_each, reregister
    from mlcc_ci.selection import Decision, Plan

    now = datetime(2026, 1, 2, tzinfo=UTC)
    for n in (50, 51, 52):
        store.register(registration(n), T0)
    bad, good, other = (store.get(registration(n).configId) for n in (50, 51, 52))
    refusing = Refusing(store, bad.configId)
    ours, lost = claim_each(refusing, [bad, good], now)
    assert ([r.configId for r in ours], lost) == ([good.configId], [])
    assert store.unreadable[bad.configId] == "cannot be claimed: database or disk is full"

    store.unreadable.clear()
    changed = {n: registration(n, config_json=f'{{"projectName":"p{n}","x":2}}') for n in (50, 52)}
    plan = Plan(
        due=[
            Decision(bad, "changed", "catalog entry changed"),
            Decision(other, "changed", "catalog entry changed"),
        ]
    )
    catalog = {r.configId: r for r in changed.values()}
    after = reregister(refusing, plan, catalog, now)
    assert [(d.record.configId, d.record.configJson) for d in after.due] == [
        (other.configId, '{"projectName":"p52","x":2}')
    ]
    assert store.unreadable == {bad.configId: "cannot be registered anew: database or disk is full"}


def test_a_run_that_died_of_a_blocking_class_blocks_with_a_doubling_wait(store):
    """What record-failure writes for a run that died of capacity (the shipped rule's
    backoff, 600 s, doubled for each blocked run in a row; since the streak's first run)."""
    from mlcc_ci.scheduling import fail_run

    capacity = "Unable to provision requested ML compute capacity for ml.g5.2xlarge"
    store.register(registration(6), T0)
    first = claim(store, store.get(registration(6).configId), "run-6", "2026-06-01T11:00:00.000Z")
    done = fail_run(store, first, at(NOW), capacity, stage="deploy_test")
    assert done is not None and done.testStatus == "untested"  # set aside: as before the run
    blocked = store.get(first.configId).blocked
    assert (blocked.cls, blocked.stage, blocked.rule, blocked.rounds) == (
        "capacity",
        "deploy_test",
        "sagemaker-capacity",
        1,
    )
    assert (blocked.since, blocked.retryAfter) == (
        "2026-06-01T11:00:00.000Z",
        "2026-06-01T12:10:00.000Z",
    )
    assert blocked.capture == "Unable to provision requested ML compute capacity"
    assert blocked.notified is False
    store.replace(
        replace(store.get(first.configId), blocked=replace(blocked, notified=True)),
        expect_version=store.get(first.configId).version,
        expect_run_id=None,
    )
    again = claim(store, store.get(first.configId), "run-7", "2026-06-01T13:00:00.000Z")
    fail_run(store, again, at("2026-06-01T13:30:00Z"), capacity, stage="deploy_test")
    second = store.get(first.configId).blocked
    assert (second.rounds, second.since, second.notified) == (2, blocked.since, True)
    assert second.retryAfter == "2026-06-01T13:50:00.000Z"  # 1,200 s: twice the backoff
