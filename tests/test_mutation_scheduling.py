"""Selection and scheduling beyond tests/test_selection.py and the store contract: an entry's
current configId against its stored identity, new entries registered as they run, and a
write that must not land on another run's record. Written for make mutation (issue 33)."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.models import Record, Registration
from mlcc_ci.selection import NEW_DETAIL, Decision, Plan, Policy, select
from mlcc_ci.stores.base import claim, finish
from tests.stores import registration, sqlite_store

pytestmark = pytest.mark.functional
T0 = "2026-01-01T00:00:00Z"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
IDENTITY = {
    "deploymentConfig": "cfg-1",
    "modelName": "m1",
    "instanceType": "ml.g5.xlarge",
    "awsRegion": "us-east-1",
    "deploymentTarget": "realtime-inference",
}


@pytest.fixture
def store(tmp_path):
    with sqlite_store(tmp_path) as opened:
        yield opened


def finished(store, n: int, when: str, config_json: str | None = None) -> Record:
    """Record n registered (with `config_json` as stored), run and passed at `when`."""
    store.register(registration(n, config_json=config_json), T0)
    running = claim(store, store.get(registration(n).configId), f"run-{n}", when)
    return finish(store, running, _passed(when))


def _passed(when: str):
    from mlcc_ci.models import Outcome, StageResult

    return Outcome(
        status="pass",
        finishedAt=when,
        durationSeconds=1.0,
        stageResults={"generate": StageResult("pass", 1.0)},
    )


def test_a_record_under_the_configid_the_catalog_gives_now_is_changed_never_superseded():
    """Its stored configJson may lack identity fields the catalog's entry now has (an older
    write): under the entry's current configId it is the entry itself, due as changed."""
    stored = Record.registered(registration(1), T0)  # configJson names no model, no region
    now = registration(1, config_json=json.dumps(IDENTITY))
    plan = select([stored], NOW, Policy(), {now.configId: now})
    assert [(d.record.configId, d.reason) for d in plan.due] == [(now.configId, "changed")]
    assert plan.skipped == [] and plan.unregistered == []


def test_upcoming_counts_a_record_under_its_entrys_current_configid(store):
    from mlcc_ci.scheduling import upcoming

    finished(store, 1, "2026-05-01T00:00:00.000Z")  # stored without the identity fields
    now = registration(1, config_json=json.dumps(IDENTITY))
    nxt = upcoming(store, Policy(stale_after=timedelta(hours=2)), {now.configId: now})
    assert nxt is not None and nxt.record.configId == now.configId
    assert nxt.at == clock.parse("2026-05-01T02:00:00Z")


def test_a_new_entry_is_registered_as_it_runs_at_the_time_given(store):
    """A "new" decision (an entry with no record: a local store's catalog is the matrix) is
    registered just before it runs; the plan then holds the stored record."""
    from mlcc_ci.scheduling import reregister

    reg = registration(2)
    placeholder = Record.registered(reg, clock.iso(NOW))
    plan = Plan(due=[Decision(placeholder, "new", NEW_DETAIL)], unregistered=["cfg-9"])
    after = reregister(store, plan, {reg.configId: reg}, NOW)
    stored = store.get(reg.configId)
    assert stored is not None and stored.createdAt == "2026-06-01T12:00:00.000Z"
    assert [(d.record, d.reason, d.detail) for d in after.due] == [(stored, "new", NEW_DETAIL)]
    assert after.unregistered == ["cfg-9"]


def test_an_unreadable_new_entry_is_passed_over_and_the_next_registered(store):
    from mlcc_ci.scheduling import reregister

    first, second = registration(3), registration(4)
    store.unreadable[first.configId] = "the stored item is not JSON"
    plan = Plan(
        due=[
            Decision(Record.registered(first, T0), "new", NEW_DETAIL),
            Decision(Record.registered(second, T0), "new", NEW_DETAIL),
        ]
    )
    after = reregister(store, plan, {r.configId: r for r in (first, second)}, NOW)
    assert [d.record.configId for d in after.due] == [second.configId]
    assert store.get(first.configId) is None  # never registered: no one can read its item


class ClaimedOnRegister:
    """A store where another scanner claims each record the moment it is registered."""

    def __init__(self, store):
        self.store = store

    def __getattr__(self, name):
        return getattr(self.store, name)

    def register(self, reg, now, **kw):
        done = self.store.register(reg, now, **kw)
        claim(self.store, self.store.get(reg.configId), "theirs", "2026-06-01T11:59:00.000Z")
        return done


def test_an_entry_another_scanner_claimed_as_it_was_registered_is_not_ours(store):
    from mlcc_ci.scheduling import reregister

    reg = registration(5)
    plan = Plan(due=[Decision(Record.registered(reg, T0), "new", NEW_DETAIL)])
    after = reregister(ClaimedOnRegister(store), plan, {reg.configId: reg}, NOW)
    assert after.due == []
    assert store.get(reg.configId).runId == "theirs"


def test_a_blocked_run_that_died_is_not_written_over_another_runs_record(store):
    """fail_run blocks only the run it was given: a record another run holds at the same
    version (a writer that keeps the version) is not overwritten."""
    from mlcc_ci.scheduling import fail_run

    store.register(registration(6), T0)
    running = claim(store, store.get(registration(6).configId), "run-6", T0)
    other = replace(running, runId="run-other")
    store.replace(other, expect_version=running.version, expect_run_id=running.runId)
    capacity = "Unable to provision requested ML compute capacity for ml.g5.2xlarge"
    assert fail_run(store, running, NOW, capacity, stage="deploy_test") is None
    kept = store.get(running.configId)
    assert (kept.runId, kept.testStatus, kept.blocked) == ("run-other", "running", None)
    assert store.history(running.configId) == []


def _entry(n: int, config_id: str | None = None, **identity) -> Registration:
    """Catalog entry cfg-N with the IDENTITY fields (its generator cfg-N), changed by
    `identity`; under `config_id` (else its own number's)."""
    config = {**IDENTITY, "deploymentConfig": f"cfg-{n}", **identity}
    reg = registration(n, config_json=json.dumps(config))
    return replace(reg, configId=config_id) if config_id else reg


def test_an_entry_whose_earlier_identity_is_in_view_is_due_changed_under_its_new_configid():
    """The entry's new identity has no record yet: due at once ("changed"), as the catalog
    registers it now, saying what changed since which configId; its earlier record is
    superseded, and the entry is not named unregistered."""
    old = Record.registered(_entry(1, "00000000000000aa"), T0)
    old = replace(old, testStatus="pass", lastTestTimestamp="2026-05-31T00:00:00Z")
    now = _entry(1, instanceType="ml.g5.2xlarge")
    for new_entries in (False, True):
        plan = select([old], NOW, Policy(), {now.configId: now}, new_entries=new_entries)
        assert [(d.record.configId, d.reason) for d in plan.skipped] == [
            ("00000000000000aa", "superseded")
        ]
        assert [(d.record, d.reason, d.detail) for d in plan.due] == [
            (
                Record.registered(now, "2026-06-01T12:00:00.000Z"),
                "changed",
                "identity changed (instance type ml.g5.xlarge -> ml.g5.2xlarge) since"
                " 00000000000000aa: a new configId",
            )
        ]
        assert plan.unregistered == []


def test_new_entries_are_due_new_and_one_another_writer_stands_for_only_named():
    """With the catalog as the matrix (`new_entries`), an entry with no record is due
    ("new"); one whose deployment another writer's record (under another configId) stands
    for is not, only named; nor is any without `new_entries`."""
    theirs = replace(
        Record.registered(_entry(2), T0), configId="00000000000000bb", source="project"
    )
    theirs = replace(theirs, testStatus="pass", lastTestTimestamp="2026-06-01T11:00:00Z")
    catalog = {r.configId: r for r in (_entry(2), _entry(3))}
    plan = select([theirs], NOW, Policy(), catalog, new_entries=True)
    assert [(d.record, d.reason, d.detail) for d in plan.due] == [
        (Record.registered(_entry(3), "2026-06-01T12:00:00.000Z"), "new", NEW_DETAIL)
    ]
    assert plan.unregistered == ["cfg-2"]
    assert [d.reason for d in plan.skipped] == ["fresh"]
    plain = select([theirs], NOW, Policy(), catalog)
    assert plain.due == [] and plain.unregistered == ["cfg-2", "cfg-3"]


def test_a_new_entry_runs_before_a_changed_one_whatever_their_names():
    """New ranks with untested, before changed: an untested record whose entry changed, of a
    name first in order, still runs after the new entry."""
    changed = Record.registered(_entry(1), T0)  # untested; the catalog's entry differs now
    edited = replace(_entry(1), configJson=json.dumps({**IDENTITY, "x": 1}))
    new = _entry(5, instanceType="ml.g5.4xlarge")
    catalog = {edited.configId: edited, new.configId: new}
    plan = select([changed], NOW, Policy(), catalog, new_entries=True)
    assert [(d.record.deploymentConfig, d.reason) for d in plan.due] == [
        ("cfg-5", "new"),
        ("cfg-1", "changed"),
    ]


def test_superseding_finds_the_entrys_current_registration_by_name_itself():
    """Without `names` it makes by_name(catalog) itself: the same answer as with it."""
    from mlcc_ci.selection import by_name, superseding

    old = Record.registered(_entry(1, "00000000000000aa"), T0)
    now = _entry(1, instanceType="ml.g5.2xlarge")
    catalog = {now.configId: now}
    assert superseding(old, catalog) == now == superseding(old, catalog, by_name(catalog))
    current = Record.registered(now, T0)
    assert superseding(current, catalog) is None
    assert superseding(old, {}) is None  # its entry is gone from the catalog
