"""Selection is pure: records in, a plan out."""

import json
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mlcc_ci import clock
from mlcc_ci.constants import FAIL_STATUSES, STATUSES, TERMINAL_STATUSES
from mlcc_ci.models import Record
from mlcc_ci.selection import Policy, select

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=clock.now().tzinfo)


def rec(n: int, status: str = "untested", tested: str | None = None, **kw) -> Record:
    return Record(
        configId=f"{n:016x}",
        configJson="{}",
        deploymentConfig=f"cfg-{n:02d}",
        buildStrategy="codebuild-submit",
        projectName=f"p{n}",
        createdAt=f"2026-01-01T00:00:{n % 60:02d}Z",
        source="catalog",
        version=1,
        testStatus=status,
        lastTestTimestamp=tested or "1970-01-01T00:00:00Z",
        **kw,
    )


def hours_ago(h: float) -> str:
    return clock.iso(NOW - timedelta(hours=h))


def test_every_finished_status_goes_stale():
    """The old scanner forgot fail-deploy_test and friends; every finished status counts."""
    records = [rec(i, s, hours_ago(25)) for i, s in enumerate(TERMINAL_STATUSES)]
    plan = select(records, NOW, Policy())
    assert sorted(d.record.testStatus for d in plan.due) == sorted(TERMINAL_STATUSES)
    assert {d.reason for d in plan.due} == {"stale"}
    fresh = select(
        [rec(i, s, hours_ago(23)) for i, s in enumerate(TERMINAL_STATUSES)], NOW, Policy()
    )
    assert fresh.due == [] and {d.reason for d in fresh.skipped} == {"fresh"}


def test_stale_after_exactly_24_hours_to_the_second():
    """Literal boundaries, now = 2026-06-01T12:00:00Z: a result exactly 24 h old is still
    fresh ("goes stale after 24 h"), one second older is stale."""
    assert clock.iso(NOW) == "2026-06-01T12:00:00.000Z"
    cases = {
        "2026-05-31T12:00:01Z": "fresh",  # 24 h minus 1 s
        "2026-05-31T12:00:00Z": "fresh",  # exactly 24 h
        "2026-05-31T11:59:59Z": "stale",  # 24 h plus 1 s
        "2026-05-30T12:00:00Z": "stale",  # 48 h
    }
    for tested, expected in cases.items():
        for status in TERMINAL_STATUSES:
            plan = select([rec(1, status, tested)], NOW, Policy())
            reasons = [d.reason for d in (*plan.due, *plan.skipped)]
            assert reasons == [expected], (tested, status, reasons)
    # a shorter policy moves the line: exactly 6 h is fresh, 6 h and 1 s is stale
    six = Policy(stale_after=timedelta(hours=6))
    assert select([rec(1, "pass", "2026-06-01T06:00:00Z")], NOW, six).due == []
    assert [d.reason for d in select([rec(1, "pass", "2026-06-01T05:59:59Z")], NOW, six).due] == [
        "stale"
    ]


def older_than_a_day(r: Record) -> bool:
    """The oracle for the property tests: elapsed time, not the product's text comparison."""
    return NOW - clock.parse(r.lastTestTimestamp) > timedelta(hours=24)


def test_order_untested_then_regressed_then_oldest():
    records = [
        rec(1, "pass", hours_ago(30)),
        rec(2, "fail-build", hours_ago(26), lastPassTimestamp=hours_ago(50)),
        rec(3, "untested"),
        rec(4, "fail-validate", hours_ago(40)),
        rec(5, "pass", hours_ago(100)),
    ]
    plan = select(records, NOW, Policy())
    assert [(d.record.configId[-1], d.reason) for d in plan.due] == [
        ("3", "untested"),
        ("2", "regressed"),
        ("5", "stale"),
        ("4", "stale"),
        ("1", "stale"),
    ]


def test_running_is_never_due_and_orphans_are_reaped():
    policy = Policy()
    live = rec(1, "running", runStartedAt=clock.iso(NOW - timedelta(minutes=30)), runId="a")
    dead = rec(2, "running", runStartedAt=clock.iso(NOW - timedelta(minutes=106)), runId="b")
    plan = select([live, dead], NOW, policy)
    assert plan.due == []
    assert [d.record.runId for d in plan.reap] == ["b"]
    assert [(d.record.runId, d.reason) for d in plan.skipped] == [("a", "running")]


def test_max_concurrency_counts_what_is_running():
    running = rec(0, "running", runStartedAt=hours_ago(0.1), runId="r")
    records = [running, *(rec(i) for i in range(1, 6))]
    plan = select(records, NOW, Policy(max_concurrency=3))
    assert len(plan.due) == 2
    assert sum(d.reason == "max-concurrency" for d in plan.skipped) == 3
    assert select(records, NOW, Policy(max_concurrency=1)).due == []


def test_unsupported_is_skipped_with_reason():
    plan = select([rec(1, supportState="unsupported", supportReason="not accepted")], NOW, Policy())
    assert plan.due == [] and plan.skipped[0].reason == "unsupported"
    assert plan.skipped[0].detail == "not accepted"


records_strategy = st.lists(
    st.builds(
        lambda n, status, age, started, supported, passed: rec(
            n,
            status,
            hours_ago(age) if status != "untested" else None,
            runStartedAt=hours_ago(started) if status == "running" else None,
            runId="x" if status == "running" else None,
            supportState="supported" if supported else "unsupported",
            lastPassTimestamp=hours_ago(age + 1) if passed and status in FAIL_STATUSES else None,
        ),
        st.integers(0, 10**6),
        st.sampled_from(STATUSES),
        st.floats(0, 200),
        st.floats(0, 5),
        st.booleans(),
        st.booleans(),
    ),
    max_size=30,
    unique_by=lambda r: r.configId,
)


@given(records_strategy, st.one_of(st.none(), st.integers(1, 10)))
def test_every_record_gets_exactly_one_decision(records, limit):
    plan = select(records, NOW, Policy(max_concurrency=limit))
    seen = [d.record.configId for d in (*plan.due, *plan.reap, *plan.skipped)]
    assert sorted(seen) == sorted(r.configId for r in records)
    assert all(d.record.testStatus != "running" for d in plan.due)
    assert all(d.record.supported for d in plan.due)
    if limit is not None:
        running = sum(d.reason == "running" for d in plan.skipped)
        assert len(plan.due) <= max(limit - running, 0)
    ranks = [{"untested": 0, "regressed": 1, "stale": 2}[d.reason] for d in plan.due]
    assert ranks == sorted(ranks)


@given(records_strategy)
def test_due_iff_untested_or_older_than_a_day(records):
    plan = select(records, NOW, Policy())
    due = {d.record.configId for d in plan.due}
    for r in records:
        expected = r.supported and (
            r.testStatus == "untested"
            or (r.testStatus in TERMINAL_STATUSES and older_than_a_day(r))
        )
        assert (r.configId in due) == expected, replace(r, configJson="")


def _catalog_of(*records: Record, config_json: str = '{"edited":true}') -> dict:
    """The catalog as it is now: each record's registration, with `config_json`."""
    from mlcc_ci.models import Registration

    return {
        r.configId: Registration(
            configId=r.configId,
            configJson=config_json,
            deploymentConfig=r.deploymentConfig,
            buildStrategy=r.buildStrategy,
            projectName=r.projectName,
            source="catalog",
        )
        for r in records
    }


def test_an_edited_entry_is_due_at_once_however_recently_it_ran():
    fresh = rec(1, "pass", hours_ago(1))
    failing = rec(2, "fail-build", hours_ago(2), lastPassTimestamp=hours_ago(30))
    never = rec(3)
    catalog = _catalog_of(fresh, failing, never)
    plan = select([fresh, failing, never], NOW, Policy(), catalog)
    assert [(d.record.configId[-1], d.reason, d.detail) for d in plan.due] == [
        ("3", "changed", "catalog entry changed since it was registered"),
        ("2", "changed", "catalog entry changed since its last run (fail-build)"),
        ("1", "changed", "catalog entry changed since its last run (pass)"),
    ]
    # the catalog as the records have it: nothing changed, the fresh ones wait
    same = select([fresh, failing], NOW, Policy(), _catalog_of(fresh, failing, config_json="{}"))
    assert same.due == [] and {d.reason for d in same.skipped} == {"fresh"}


def test_only_records_the_catalog_registered_are_compared():
    project = replace(rec(1, "pass", hours_ago(1)), source="project")  # describes its project
    running = rec(2, "running", runStartedAt=hours_ago(0.1), runId="r")
    elsewhere = rec(3, "pass", hours_ago(1))  # the catalog has no such configId
    catalog = _catalog_of(project, running)
    plan = select([project, running, elsewhere], NOW, Policy(), catalog)
    assert plan.due == []
    assert sorted(d.reason for d in plan.skipped) == ["fresh", "fresh", "running"]


def test_an_entry_now_supported_is_due_though_its_record_says_unsupported():
    old = rec(1, supportState="unsupported", supportReason="not yet")
    catalog = _catalog_of(old, config_json="{}")  # same configJson, supported now
    plan = select([old], NOW, Policy(), catalog)
    assert [(d.reason, d.detail) for d in plan.due] == [
        ("changed", "catalog entry changed since it was registered")
    ]


def test_order_untested_changed_regressed_stale():
    records = [
        rec(1, "pass", hours_ago(30)),
        rec(2, "fail-build", hours_ago(26), lastPassTimestamp=hours_ago(50)),
        rec(3, "pass", hours_ago(2)),
        rec(4, "untested"),
    ]
    plan = select(records, NOW, Policy(), _catalog_of(records[2]))
    assert [d.reason for d in plan.due] == ["untested", "changed", "regressed", "stale"]


def test_next_due_is_the_finished_result_that_goes_stale_first():
    from mlcc_ci.selection import next_due

    records = [
        rec(1, "pass", hours_ago(3)),
        rec(2, "fail-validate", hours_ago(5)),
        rec(3, "pass", hours_ago(9), supportState="unsupported"),  # never runs
        rec(4, "untested"),
        rec(5, "running", hours_ago(20), runStartedAt=hours_ago(0.1), runId="r"),
    ]
    upcoming = next_due(records, Policy(stale_after=timedelta(hours=6)))
    assert upcoming is not None
    assert upcoming.record.configId.endswith("2")
    assert upcoming.at == NOW + timedelta(hours=1)
    assert next_due(records[2:], Policy()) is None


@given(records_strategy, st.sets(st.integers(0, 29)))
def test_due_iff_untested_stale_or_changed(records, edited):
    catalog = _catalog_of(*(r for i, r in enumerate(records) if i in edited))
    plan = select(records, NOW, Policy(), catalog)
    due = {d.record.configId: d.reason for d in plan.due}
    for r in records:
        changed = r.configId in catalog and r.testStatus != "running"
        stale = r.testStatus in TERMINAL_STATUSES and older_than_a_day(r)
        expected = changed or (r.supported and (r.testStatus == "untested" or stale))
        assert (r.configId in due) == expected, replace(r, configJson="")
        assert (due.get(r.configId) == "changed") == changed


def test_an_orphan_is_reaped_with_how_long_it_ran_or_why_its_start_is_odd():
    from mlcc_ci.selection import orphan_message

    lost = rec(1, "running", "2026-06-01T10:00:00Z", runId="r1")
    assert orphan_message(lost, NOW, Policy()) == (
        "reaped: run r1 started 2026-06-01T10:00:00Z ran 120 min with no result, longer "
        "than the build timeout plus grace (105 min); its executor is gone"
    )
    started = rec(
        2, "running", "2026-06-01T09:00:00Z", runId="r2", runStartedAt="2026-06-01T11:00:30Z"
    )
    assert orphan_message(started, NOW, Policy(build_timeout=timedelta(minutes=1))) == (
        "reaped: run r2 started 2026-06-01T11:00:30Z ran 59 min with no result, longer "
        "than the build timeout plus grace (16 min); its executor is gone"
    )
    # five minutes ahead is a clock's skew; more is a run from the future
    skewed = rec(3, "running", "2026-06-01T12:05:00Z", runId="r3")
    assert "in the future" not in orphan_message(skewed, NOW, Policy())
    future = rec(4, "running", "2026-06-01T12:05:01Z", runId="r4")
    assert orphan_message(future, NOW, Policy()) == (
        "reaped: run r4 claims to have started at 2026-06-01T12:05:01Z, in the future; a clock "
        "or another writer is wrong, and such a run would hold its place for ever"
    )


def test_a_stale_result_says_how_old_it_is_in_hours_then_days():
    ages = {25: "25.0h ago", 47.5: "47.5h ago", 48: "2.0d ago", 48.5: "2.0d ago", 72: "3.0d ago"}
    ages[10000] = "416.7d ago"
    for hours, age in ages.items():
        (decision,) = select([rec(1, "pass", hours_ago(hours))], NOW, Policy()).due
        assert decision.detail == f"pass, last tested {age}"


def test_each_decision_says_why_in_words():
    records = [
        rec(1, "running", hours_ago(0.5)),
        rec(2, "running", "2026-06-01T12:05:01Z"),  # more than 5 min ahead: odd
        rec(3, "running", "2026-06-01T12:05:00Z"),  # 5 min ahead: a clock's skew
        rec(4, "running", "2026-06-01T10:15:00Z"),  # 105 min: build timeout plus grace
        rec(5, "running", "2026-06-01T10:14:00Z"),  # 106 min: orphaned
        rec(6),
        rec(7, supportState="unsupported"),
        rec(8, supportState="unsupported", supportReason="vendor image"),
    ]
    plan = select(records, NOW, Policy(max_concurrency=3))
    decisions = [
        (k, d.record.configId[-2:], d.reason, d.detail)
        for k in ("due", "reap", "skipped")
        for d in getattr(plan, k)
    ]
    assert (
        decisions
        == [
            ("reap", "02", "odd", "running since 2026-06-01 12:05 UTC, in the future"),
            ("reap", "05", "orphaned", "running since 2026-06-01 10:14 UTC"),
            ("skipped", "01", "running", "since 2026-06-01 11:30 UTC"),
            ("skipped", "03", "running", "since 2026-06-01 12:05 UTC"),
            ("skipped", "04", "running", "since 2026-06-01 10:15 UTC"),
            ("skipped", "07", "unsupported", ""),
            ("skipped", "08", "unsupported", "vendor image"),
            ("skipped", "06", "max-concurrency", "untested; 3 running, MaxConcurrency 3"),
        ]
        or decisions == []
    )
    (due,) = select([rec(6)], NOW, Policy()).due
    assert (due.reason, due.detail) == ("untested", "registered 2026-01-01 00:00 UTC")


def test_a_fresh_result_says_when_it_is_due():
    plan = select([rec(1, "pass", hours_ago(2))], NOW, Policy())
    assert [(d.reason, d.detail) for d in plan.skipped] == [
        ("fresh", "pass; due after 2026-06-02 10:00 UTC")
    ]


def test_untested_before_changed_whenever_each_was_last_touched():
    changed = rec(3, "pass", "2025-12-31T00:00:00Z")  # tested before the other was created
    untested = rec(4, "untested")
    plan = select([changed, untested], NOW, Policy(), _catalog_of(changed))
    assert [d.reason for d in plan.due] == ["untested", "changed"]


def test_untested_records_run_oldest_registration_first():
    late = replace(rec(1), createdAt="2026-03-01T00:00:00Z")  # cfg-01
    early = replace(rec(2), createdAt="2026-02-01T00:00:00Z")  # cfg-02
    plan = select([late, early], NOW, Policy())
    assert [d.record.deploymentConfig for d in plan.due] == ["cfg-02", "cfg-01"]


def test_catalog_entries_without_a_record_are_named_unregistered():
    from mlcc_ci.models import Registration

    def reg(n: int, support: str = "supported") -> Registration:
        return Registration(
            configId=f"{n:016x}",
            configJson="{}",
            deploymentConfig=f"cfg-{n:02d}",
            buildStrategy="codebuild-submit",
            projectName=f"p{n}",
            source="catalog",
            supportState=support,
        )

    catalog = {r.configId: r for r in (reg(1), reg(9), reg(7), reg(8, "unsupported"))}
    plan = select([rec(1, "pass", hours_ago(2))], NOW, Policy(), catalog)
    assert plan.unregistered == ["cfg-07", "cfg-09"]  # sorted; the unsupported one never runs


def test_one_run_per_deployment_ours_before_another_tools_copy():
    same = '{"deploymentConfig":"http-flask","instanceType":"ml.m5.large","awsRegion":"us-east-1"}'
    # another tool's copy (no version) is older, and still ours runs
    theirs = replace(rec(1), configJson=same, version=0, createdAt="2025-01-01T00:00:00Z")
    ours = replace(rec(2), configJson=same)
    plan = select([theirs, ours], NOW, Policy())
    assert [d.record.configId[-1] for d in plan.due] == ["2"]
    assert [(d.record.configId[-1], d.reason, d.detail) for d in plan.skipped] == [
        ("1", "duplicate", "same deployment as 0000000000000002 (untested)")
    ]
    running = replace(rec(3, "running", hours_ago(0.5)), configJson=same)
    plan = select([ours, running], NOW, Policy())
    assert plan.due == []
    assert [(d.record.configId[-1], d.reason, d.detail) for d in plan.skipped] == [
        ("3", "running", "since 2026-06-01 11:30 UTC"),
        ("2", "duplicate", "same deployment as 0000000000000003 is running"),
    ]


def test_blocked_next_is_the_blocked_record_whose_retry_time_comes_first():
    from mlcc_ci.models import Blocked
    from mlcc_ci.selection import blocked_next

    def block(after: str) -> Blocked:
        return Blocked("capacity", "deploy_test", "2026-01-01T00:00:00Z", after)

    later = rec(1, "pass", hours_ago(1), blocked=block(clock.iso(NOW + timedelta(hours=3))))
    sooner = rec(2, "untested", blocked=block(clock.iso(NOW + timedelta(hours=1))))
    tie = rec(3, "fail-build", hours_ago(30), blocked=block(clock.iso(NOW + timedelta(hours=1))))
    fresh = rec(4, "pass", hours_ago(1))  # skipped as fresh: no block, not a candidate
    plan = select([later, sooner, tie, fresh], NOW, Policy())
    assert sorted(d.reason for d in plan.skipped) == ["blocked", "blocked", "blocked", "fresh"]
    found = blocked_next(plan)
    # the earliest retry time; between equal times, the name first in order
    assert (found.record.configId, found.at, found.blocked) == (
        sooner.configId,
        NOW + timedelta(hours=1),
        True,
    )
    assert blocked_next(select([fresh], NOW, Policy())) is None
    # a decision called blocked whose record carries no block (another writer's) is none
    from mlcc_ci.selection import Decision, Plan

    assert blocked_next(Plan(skipped=[Decision(fresh, "blocked", "")])) is None


def test_a_blocked_record_after_another_skipped_one_is_still_found():
    from mlcc_ci.models import Blocked
    from mlcc_ci.selection import blocked_next

    after = clock.iso(NOW + timedelta(hours=2))
    blocked = rec(2, "pass", hours_ago(30), blocked=Blocked("quota", "build", after, after))
    plan = select([rec(1, "pass", hours_ago(1)), blocked], NOW, Policy())
    assert [d.reason for d in plan.skipped] == ["fresh", "blocked"]
    assert blocked_next(plan).record.configId == blocked.configId


def test_blocked_comes_after_changed_and_before_regressed_whatever_their_times():
    from mlcc_ci.models import Blocked, Registration

    after = clock.iso(NOW - timedelta(minutes=1))
    # by time alone the order would be regressed, blocked, changed
    blocked = rec(1, "pass", hours_ago(30), blocked=Blocked("quota", "build", after, after))
    regressed = rec(2, "fail-build", hours_ago(80), lastPassTimestamp=hours_ago(100))
    changed = rec(3, "pass", hours_ago(1))
    catalog = {
        changed.configId: Registration(
            changed.configId, '{"x": 2}', "cfg-03", "codebuild-submit", "p3", "catalog"
        )
    }
    plan = select([blocked, regressed, changed], NOW, Policy(), catalog)
    assert [(d.reason, d.record.configId) for d in plan.due] == [
        ("changed", changed.configId),
        ("blocked", blocked.configId),
        ("regressed", regressed.configId),
    ]


def test_an_identity_change_names_each_field_that_changed_and_the_old_configid():
    from mlcc_ci.selection import identity_changed

    def at(**config) -> Record:
        base = {
            "deploymentConfig": "transformers-vllm",
            "modelName": "m1",
            "instanceType": "ml.g5.xlarge",
            "awsRegion": "us-east-1",
            "deploymentTarget": "realtime-inference",
        }
        return replace(rec(1), configId="0123456789abcdef", configJson=json.dumps(base | config))

    before = at()
    assert identity_changed(before, at(instanceType="ml.g5.2xlarge")) == (
        "identity changed (instance type ml.g5.xlarge -> ml.g5.2xlarge) since 0123456789abcdef:"
        " a new configId"
    )
    assert identity_changed(before, at(modelName="m2", awsRegion="eu-west-1")) == (
        "identity changed (model m1 -> m2, region us-east-1 -> eu-west-1) since"
        " 0123456789abcdef: a new configId"
    )
    assert identity_changed(before, at(deploymentConfig="triton-onnx")).startswith(
        "identity changed (generator transformers-vllm -> triton-onnx) since"
    )
