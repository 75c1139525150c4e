"""The report model (mlcc_ci/report/model.py) as a reader sees it, for hand-built records:
what is tested, untested, unregistered, unsupported, running or removed; the last test, its
duration and whether it is stale; the regression, fix and flakiness flags (never of a
quarantined or removed configuration); costs per run, per day and per month; the summary
line; and what changed against a baseline. Written for make mutation (issue 32 item 2):
each test fails on a mutant of model.py that changes what a report shows."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mlcc_ci import cadence, clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.cost import Prices
from mlcc_ci.models import Blocked, Cost, Failure, Record, Run, StageResult
from mlcc_ci.quarantine import Quarantine
from mlcc_ci.registration import from_entry
from mlcc_ci.report.model import (
    COST_DAYS,
    ConfigReport,
    Report,
    Summary,
    build_report,
    changes,
)
from mlcc_ci.suspects import Suspect
from tests.reporting import config_report

pytestmark = pytest.mark.unit

CATALOG = load_valid_catalog()
FLASK = CATALOG.get("http-flask")  # supported; ml.m5.large in us-east-1, owner ml-platform
NGINX = CATALOG.get("http-nginx")  # unsupported
NOW = datetime(2026, 2, 10, tzinfo=UTC)
DAY = timedelta(hours=24)
PRICES = Prices(
    3,
    "2026-01-01",
    "USD",
    codebuild={},
    instances={"ml.m5.large": {"us-east-1": 0.2}, "ml.c5.xlarge": {"eu-west-1": 0.4}},
    unbilled=frozenset({"local", "dry"}),
)
HALF_HOUR = {"deploy_test": StageResult("pass", 1800.0)}  # 0.1 USD on ml.m5.large


def run(day: int, status: str = "pass", config_id: str | None = None, **fields) -> Run:
    """A run started at 00:00 and finished at 01:00 of February `day`."""
    stages = {"generate": StageResult("pass", 1.0)}
    if status.startswith("fail-"):
        stages[status.removeprefix("fail-")] = StageResult("fail", 2.0, errorSummary="boom")
    base = Run(
        configId=config_id or FLASK.config_id,
        startedAt=f"2026-02-{day:02d}T00:00:00Z",
        runId=f"run-{day}",
        finishedAt=f"2026-02-{day:02d}T01:00:00Z",
        status=status,
        durationSeconds=3.9,
        deploymentConfig="http-flask",
        stageResults=stages,
        estimatedCost=Cost(0.5, "known"),
    )
    return replace(base, **fields)


def record(entry=FLASK, status: str = "pass", day: int | None = 9, **fields) -> Record:
    """The catalog's record of `entry`, last tested at 01:00 on February `day` (None: never)."""
    base = Record.registered(from_entry(entry), "2026-01-01T00:00:00Z")
    if day is not None:
        base = replace(
            base,
            testStatus=status,
            lastTestTimestamp=f"2026-02-{day:02d}T01:00:00Z",
            lastTestDuration=4,
            profile="default",
        )
    return replace(base, **fields)


def custom(status: str = "pass", day: int = 9, name: str = "mine", **fields) -> Record:
    """A project's own configuration, which no catalog entry has."""
    config = {
        "owner": "team-a",
        "architecture": "triton",
        "awsRegion": "eu-west-1",
        "instanceType": "ml.c5.xlarge",
    }
    base = Record(
        configId="00000000000000c1",
        configJson=json.dumps(config),
        deploymentConfig=name,
        buildStrategy="docker-in-docker",
        projectName=f"p-{name}",
        createdAt="2026-01-01T00:00:00Z",
        source="project",
        version=1,
        testStatus=status,
        lastTestTimestamp=f"2026-02-{day:02d}T01:00:00Z",
        lastTestDuration=7,
        profile="default",
    )
    return replace(base, **fields)


def one(*records: Record, entries=(FLASK,), history=None, **kw) -> ConfigReport:
    report = build_report(list(entries), list(records), history or {}, NOW, **kw)
    return report.configurations[0]


def quarantined(entry, until: str):
    return replace(entry, data={**entry.data, "quarantine": {"reason": "known", "until": until}})


# -- the summary line ---------------------------------------------------------------------


def test_the_summary_line_names_every_count_it_has():
    summary = Summary(
        total=8,
        tested=5,
        passing=2,
        failing=2,
        untested=1,
        running=1,
        unsupported=1,
        blocked=1,
        quarantined=1,
        removed=2,
        unproven=1,
    )
    assert summary.line() == (
        "Summary: 8 total | 5 tested | 2 passing | 2 failing | 1 unproven (blocked) | "
        "1 untested | 1 running | 1 unsupported | 62.5% coverage | 1 blocked by infrastructure"
        " | 1 quarantined | 2 removed from the catalog"
    )


def test_the_summary_line_leaves_out_what_is_zero_and_rounds_coverage():
    summary = Summary(total=3, tested=2, passing=2, failing=0, untested=1, running=0, unsupported=0)
    assert summary.coverage_percent == 66.7
    assert summary.line() == (
        "Summary: 3 total | 2 tested | 2 passing | 0 failing | 1 untested | 0 unsupported | "
        "66.7% coverage"
    )
    empty = Summary(total=0, tested=0, passing=0, failing=0, untested=0, running=0, unsupported=0)
    assert empty.coverage_percent == 0.0
    assert "0.0% coverage" in empty.line()


# -- configurations without records -------------------------------------------------------


def test_entries_never_registered_are_unregistered_or_unsupported_with_the_catalogs_facts():
    report = build_report([FLASK, NGINX], [], {}, NOW)
    flask, nginx = report.configurations
    assert (flask.name, flask.status, flask.supportState) == (
        "http-flask",
        "unregistered",
        "supported",
    )
    assert (nginx.status, nginx.supportState) == ("unsupported", "unsupported")
    assert nginx.supportReason == NGINX.support_reason and nginx.supportReason
    assert flask.supportReason == FLASK.support_reason
    assert (flask.configId, flask.project, flask.lastTest, flask.duration) == (
        FLASK.config_id,
        None,
        None,
        None,
    )
    assert (flask.runs, flask.recordCount, flask.stale, flask.regression) == (0, 0, False, None)
    # as the JSON report writes them: false and 0, never null
    assert (flask.fixed, flask.flips, flask.flaky, flask.removed) == (False, 0, False, False)
    assert all(type(v) is bool for v in (flask.fixed, flask.flaky, flask.removed, nginx.fixed))
    assert type(flask.flips) is int
    assert (flask.owner, flask.architecture, flask.region, flask.instanceType) == (
        "ml-platform",
        "http",
        "us-east-1",
        "ml.m5.large",
    )
    assert not flask.tested and not flask.removed and flask.quarantine is None
    assert [c.name for c in report.untested] == ["http-flask"]
    s = report.summary
    assert (s.total, s.tested, s.untested, s.unsupported, s.passing, s.failing) == (
        2,
        0,
        1,
        1,
        0,
        0,
    )


def test_an_entry_in_quarantine_with_no_record_shows_it():
    c = one(entries=(quarantined(FLASK, "2026-12-31"),))
    assert c.quarantine == Quarantine("known", "2026-12-31")


# -- tested, untested, stale, duration ----------------------------------------------------


def test_a_tested_record_shows_its_last_test_and_the_runs_own_duration():
    """The record keeps whole seconds (4); the run that finished at the record's last test
    says 3.9 s, and that is what is shown."""
    c = one(record(recentRuns=(run(9), run(8)), errorMessage="warned"))
    assert (c.status, c.project, c.configId) == ("pass", "mlcc-ci-http-flask", FLASK.config_id)
    assert c.errorMessage == "warned"
    assert (c.lastTest, c.duration, c.stale, c.recordCount) == (
        "2026-02-09T01:00:00Z",
        3.9,
        False,
        1,
    )
    assert c.tested and c.passing and c.profile == "default"
    assert [r.runId for r in c.history] == ["run-9", "run-8"]


def test_the_last_tests_own_duration_behind_a_newer_blocked_or_error_run():
    """A blocked or harness-error run leaves the record's last test as it was: its duration
    is still that run's own (3.9 s, as `history show` reads it), not the record's 4."""
    newer = run(10, status="error")
    assert one(record(recentRuns=(newer, run(9), run(8)))).duration == 3.9


def test_the_records_duration_when_its_last_test_is_not_the_newest_run_shown():
    assert one(record(recentRuns=(run(8),))).duration == 4
    assert one(record()).duration == 4  # no runs at all


def test_an_untested_record_shows_no_time_nor_duration():
    c = one(record(day=None))
    assert (c.status, c.lastTest, c.duration, c.stale, c.tested) == (
        "untested",
        None,
        None,
        False,
        False,
    )
    assert c.lastCost is None


def test_a_record_tested_longer_ago_than_the_schedule_is_stale_and_not_at_exactly_it():
    # tested 23 h before the report
    assert one(record(day=9), stale_after=timedelta(hours=23)).stale is False
    assert one(record(day=9), stale_after=timedelta(hours=22, minutes=59, seconds=59)).stale
    # running: it is being tested now
    c = one(record(status="running", day=1), stale_after=DAY)
    assert c.stale is False and c.lastTest == "2026-02-01T01:00:00Z"


# -- stale by the schedule in force (cadence.py), as `plan` makes it due --------------------


def streak(last: str, passes: int = 20) -> tuple[Run, ...]:
    """`passes` passing runs a day apart, the newest finishing at `last`: a battle-tested
    configuration, on the longest interval the confidence schedule gives."""
    end = clock.parse(last)
    return tuple(
        run(
            9,
            startedAt=clock.iso(end - timedelta(days=i, hours=1)),
            finishedAt=clock.iso(end - timedelta(days=i)),
            runId=f"streak-{i}",
        )
        for i in range(passes)
    )


def battle_tested(last: str, **fields) -> Record:
    return record(lastTestTimestamp=last, recentRuns=streak(last), **fields)


def due(rec: Record, schedule: str, stale_after: timedelta = DAY) -> datetime:
    """When the schedule makes `rec` due again, by cadence's own function (never its curve)."""
    return clock.parse(rec.lastTestTimestamp) + cadence.every(rec, stale_after, schedule)


def test_stale_means_overdue_by_the_confidence_schedule_by_default_and_daily_keeps_24_hours():
    ten_days = battle_tested("2026-01-31T00:00:00Z")  # overdue by any schedule
    assert one(ten_days).stale and one(ten_days, schedule=cadence.DAILY).stale
    two_hours = battle_tested("2026-02-09T22:00:00Z")  # due by none
    assert not one(two_hours).stale and not one(two_hours, schedule=cadence.DAILY).stale
    # three days: stale by the 24 h rule; by the confidence schedule as its interval says
    between = battle_tested("2026-02-07T00:00:00Z")
    daily = one(between, schedule=cadence.DAILY)
    assert (daily.stale, daily.nextDue) == (True, "2026-02-08T00:00:00.000Z")
    expected = due(between, cadence.CONFIDENCE)
    assert expected != due(between, cadence.DAILY)  # the streak lengthens its interval
    c = one(between)  # the default: the confidence schedule
    assert (c.stale, c.nextDue) == (expected < NOW, clock.iso(expected))
    assert one(between, schedule=cadence.CONFIDENCE) == c


def test_the_monthly_cost_is_at_the_schedules_interval_not_always_daily():
    """A battle-tested configuration runs every 3.5 days by the confidence schedule: a
    month of it costs what that many runs cost, not 30 days' worth."""
    cost = Cost(0.7, "a run")
    steady = battle_tested("2026-02-09T00:00:00Z", estimatedCost=cost)
    every = due(steady, cadence.CONFIDENCE) - clock.parse(steady.lastTestTimestamp)
    assert every == 3.5 * DAY
    assert one(steady).monthlyCost == round(0.7 * 730 / (24 * 3.5), 2)
    assert one(steady, schedule=cadence.DAILY).monthlyCost == round(0.7 * 730 / 24, 2)
    # its history, when the record carries none, says the same
    bare = replace(steady, recentRuns=())
    history = {steady.configId: list(steady.recentRuns)}
    assert one(bare, history=history).monthlyCost == one(steady).monthlyCost
    # and twice the base interval doubles it
    assert one(steady, stale_after=2 * DAY).monthlyCost == round(0.7 * 730 / (48 * 3.5), 2)


def test_a_configuration_is_stale_only_after_its_next_due_time_not_at_it():
    rec = battle_tested("2026-02-01T01:00:00Z")
    for schedule in cadence.CADENCES:
        at = due(rec, schedule)

        def then(now: datetime, schedule: str = schedule) -> ConfigReport:
            return build_report([FLASK], [rec], {}, now, schedule=schedule).configurations[0]

        assert (then(at).stale, then(at).nextDue) == (False, clock.iso(at))
        assert then(at + timedelta(seconds=1)).stale
    # daily: every stale_after, whatever the confidence
    quick = build_report([FLASK], [rec], {}, NOW, timedelta(hours=2), schedule=cadence.DAILY)
    assert quick.configurations[0].nextDue == "2026-02-01T03:00:00.000Z"


def test_the_interval_counts_the_runs_read_from_the_store_for_a_record_that_carries_none():
    last = "2026-02-07T00:00:00Z"
    bare = record(lastTestTimestamp=last)
    runs = streak(last)
    expected = due(replace(bare, recentRuns=runs), cadence.CONFIDENCE)
    assert expected != due(bare, cadence.CONFIDENCE)  # the runs lengthen its interval
    c = one(bare, history={FLASK.config_id: list(runs)})
    assert (c.stale, c.nextDue) == (expected < NOW, clock.iso(expected))
    # two records of one configuration: the one tested last's own runs, not the other's
    theirs = record(configId="00000000000000aa", source="project", day=6)
    failed = [run(6, "fail-build", config_id="00000000000000aa")]
    history = {FLASK.config_id: list(runs), "00000000000000aa": failed}
    c = one(bare, theirs, history=history)
    assert (c.recordCount, c.stale, c.nextDue) == (2, expected < NOW, clock.iso(expected))
    # a record's own runs win over any history read for it
    carrying = replace(bare, recentRuns=runs)
    history = {FLASK.config_id: [run(6, "fail-build")], "00000000000000aa": failed}
    assert one(carrying, theirs, history=history).nextDue == clock.iso(expected)


def test_only_a_finished_configuration_has_a_next_due_time():
    assert one(record(day=None)).nextDue is None  # untested
    assert one(record(status="running", day=1)).nextDue is None
    assert one().nextDue is None  # never registered
    failed = record(status="fail-build", day=1)
    assert one(failed).nextDue == clock.iso(due(failed, cadence.CONFIDENCE))


def test_the_report_names_the_schedule_it_is_stale_by():
    assert build_report([FLASK], [], {}, NOW).schedule == cadence.CONFIDENCE
    summary = Summary(total=0, tested=0, passing=0, failing=0, untested=0, running=0, unsupported=0)
    assert Report(clock.iso(NOW), summary, []).schedule == cadence.CONFIDENCE  # the default
    assert build_report([FLASK], [], {}, NOW, schedule=cadence.DAILY).schedule == cadence.DAILY


def test_the_last_pass_is_the_records_or_the_newest_passing_run():
    runs = (run(9, "fail-build"), run(8), run(7))
    assert one(record(status="fail-build", recentRuns=runs)).lastPass == "2026-02-08T01:00:00Z"
    kept = record(status="fail-build", recentRuns=runs, lastPassTimestamp="2026-02-05T01:00:00Z")
    assert one(kept).lastPass == "2026-02-05T01:00:00Z"
    assert one(record(status="fail-build", recentRuns=(run(9, "fail-build"),))).lastPass is None


def test_an_untested_record_of_an_unsupported_entry_is_shown_unsupported():
    assert one(record(NGINX, day=None), entries=(NGINX,)).status == "unsupported"
    tested = one(record(NGINX, status="fail-build"), entries=(NGINX,))
    assert (tested.status, tested.supportState) == ("fail-build", "unsupported")
    assert one(record(day=None)).status == "untested"  # a supported one stays untested


# -- the runs shown, the flags ------------------------------------------------------------


def test_the_history_comes_from_the_store_when_the_record_carries_none():
    c = one(record(), history={FLASK.config_id: [run(9), run(8, "fail-build")]})
    assert [r.runId for r in c.history] == ["run-9", "run-8"]
    assert (c.runs, c.passRate, c.fixed, c.flips) == (2, 0.5, True, 1)
    # the record's own runs win over the store's
    c = one(record(recentRuns=(run(7),)), history={FLASK.config_id: [run(9), run(8)]})
    assert [r.runId for r in c.history] == ["run-7"]


def test_at_most_twenty_runs_are_shown_and_every_run_counts_toward_the_rate():
    runs = tuple(run(28 - i, config_id=None, runId=f"r{i}") for i in range(25))
    c = one(record(recentRuns=runs))
    assert len(c.history) == 20 and c.history[0].runId == "r0" and c.history[-1].runId == "r19"
    assert len(c.runCosts) == 20 and c.runs == 25


def test_a_regression_fix_and_flakiness_are_flagged():
    failing = one(record(status="fail-build", recentRuns=(run(9, "fail-build"), run(8))))
    assert failing.regression is not None and failing.regression.lastPassRunId == "run-8"
    assert failing.failing and not failing.fixed
    flaky_runs = tuple(run(20 - i, "pass" if i % 2 else "fail-build") for i in range(8))
    flaky = one(record(status="fail-build", recentRuns=flaky_runs))
    assert flaky.flaky and flaky.flips == 7
    fixed = one(record(recentRuns=(run(9), run(8, "fail-build"))))
    assert fixed.fixed and fixed.regression is None


def test_a_quarantined_configuration_raises_no_regression_until_it_ends():
    runs = (run(9, "fail-build"), run(8))
    holding = quarantined(FLASK, "2026-02-10")
    c = one(record(holding, status="fail-build", recentRuns=runs), entries=(holding,))
    assert c.regression is None and c.quarantine == Quarantine("known", "2026-02-10")
    ended = quarantined(FLASK, "2026-02-09")
    c = one(record(ended, status="fail-build", recentRuns=runs), entries=(ended,))
    assert c.regression is not None and c.quarantine is None


def test_a_configuration_the_catalog_no_longer_has_is_shown_and_counted_nowhere():
    """The catalog registered it (source catalog) and has no entry of the name any more."""
    flips = tuple(run(20 - i, "pass" if i % 2 == 0 else "fail-build") for i in range(8))
    gone = record(recentRuns=flips, blocked=Blocked("capacity", "deploy_test", "a", "b"))
    untested = record(NGINX, day=None)
    report = build_report([CATALOG.get("http-fastapi")], [gone, untested], {}, NOW)
    by = {c.name: c for c in report.configurations}
    assert by["http-fastapi"].removed is False
    c = by["http-flask"]
    assert c.removed and (c.regression, c.fixed, c.flaky) == (None, False, False)
    assert c.flips == 7
    assert report.summary.removed == 2 and report.summary.total == 1
    assert report.summary.tested == 0 and report.summary.blocked == 0
    assert [x.name for x in report.untested] == ["http-fastapi"]
    assert report.blocked == [] and report.fixed == []
    assert {x.name for x in report.removed} == {"http-flask", "http-nginx"}


def test_a_removed_configurations_fix_and_flakiness_are_not_flagged():
    fixed = record(recentRuns=(run(9), run(8, "fail-build")))
    c = build_report([], [fixed], {}, NOW).configurations[0]
    assert c.removed and c.fixed is False and c.regression is None


def test_a_project_configuration_takes_its_facts_and_support_reason_from_its_record():
    c = one(custom(supportReason="our own"), entries=())
    assert (c.name, c.configId, c.project, c.removed) == (
        "mine",
        "00000000000000c1",
        "p-mine",
        False,
    )
    assert (c.owner, c.architecture, c.region, c.instanceType) == (
        "team-a",
        "triton",
        "eu-west-1",
        "ml.c5.xlarge",
    )
    assert c.supportReason == "our own" and c.supportState == "supported"


def test_a_catalog_configurations_facts_are_the_catalogs_whatever_its_runs_cost():
    """A stored configJson's owner is never shown for a catalog entry that names none, even
    when the configJson is read to cost a run that has no cost."""
    ownerless = replace(FLASK, data={k: v for k, v in FLASK.data.items() if k != "owner"})
    stored = {**json.loads(record(ownerless).configJson), "owner": "someone-else"}
    uncosted = run(9, estimatedCost=None, stageResults=HALF_HOUR)
    for runs in ((uncosted,), (run(9),)):
        rec = record(ownerless, configJson=json.dumps(stored), recentRuns=runs)
        c = one(rec, entries=(ownerless,), prices=PRICES)
        assert (c.owner, c.instanceType) == ("-", "ml.m5.large")
    assert (
        c.lastCost.usd == 0.5
        and one(
            record(ownerless, recentRuns=(uncosted,)), entries=(ownerless,), prices=PRICES
        ).lastCost.usd
        == 0.1
    )


def test_a_configjson_that_is_not_an_object_gives_no_facts():
    for text in ("not json", "[1, 2]"):
        c = one(custom(configJson=text), entries=())
        assert (c.owner, c.architecture, c.region, c.instanceType) == ("-", "-", "-", "-")


def test_an_unsupported_project_record_is_unsupported():
    c = one(custom(supportState="unsupported", status="untested"), entries=())
    assert (c.status, c.supportState) == ("unsupported", "unsupported")


def test_a_running_record_shows_where_it_is_and_counts_as_running_not_tested():
    stages = {"generate": StageResult("pass", 1.0)}
    live = record(
        status="running",
        runStartedAt="2026-02-10T00:00:00Z",
        currentStage="build",
        currentStageStartedAt="2026-02-10T00:01:00Z",
        runStages=stages,
    )
    report = build_report([FLASK], [live], {}, NOW)
    c = report.configurations[0]
    assert (c.runStartedAt, c.currentStage, c.currentStageStartedAt) == (
        "2026-02-10T00:00:00Z",
        "build",
        "2026-02-10T00:01:00Z",
    )
    assert c.runStages == stages
    assert report.running == [c]
    s = report.summary
    assert (s.running, s.tested, s.untested) == (1, 0, 0)
    # once finished, none of it is shown
    done = one(replace(live, testStatus="pass"))
    assert (done.runStartedAt, done.currentStage, done.currentStageStartedAt) == (None,) * 3
    assert done.runStages == {}


def test_a_failure_is_shown_while_failing_a_block_and_a_harness_error_as_recorded():
    failure = Failure("product", "build", "oom", "killed")
    block = Blocked("capacity", "deploy_test", "2026-02-08T00:00:00Z", "2026-02-11T00:00:00Z")
    error = run(9, "error")
    c = one(record(status="fail-build", failure=failure, blocked=block, recentRuns=(error,)))
    assert (c.failure, c.blocked, c.lastError) == (failure, block, error)
    c = one(record(failure=failure, recentRuns=(run(9), error)))
    assert (c.failure, c.lastError) == (None, None)


# -- costs --------------------------------------------------------------------------------


def test_a_run_without_a_cost_is_estimated_from_the_records_configuration():
    """The catalog entry is known, but the run was recorded before costs were: its cost is
    worked out from the record's configJson (region and instance type)."""
    old = run(9, estimatedCost=None, stageResults=HALF_HOUR)
    c = one(record(recentRuns=(old, run(8))), prices=PRICES, stale_after=DAY)
    assert [x.usd for x in c.runCosts] == [0.1, 0.5]
    assert c.lastCost.usd == 0.1
    assert c.monthlyCost == round(0.1 * 730 / 24, 2)
    # a catalog configuration's only run, without a cost, the same way
    alone = one(record(recentRuns=(old,)), prices=PRICES, stale_after=DAY)
    assert [x.usd for x in alone.runCosts] == [0.1] and alone.lastCost.usd == 0.1
    # a project configuration's is worked out from its own
    mine = custom(recentRuns=(run(9, estimatedCost=None, stageResults=HALF_HOUR),))
    assert one(mine, entries=(), prices=PRICES).runCosts[0].usd == 0.2


def test_the_records_cost_is_the_last_one_and_an_unsupported_one_costs_nothing_a_month():
    c = one(record(estimatedCost=Cost(0.3, "rec"), recentRuns=(run(9),)), stale_after=DAY)
    assert c.lastCost == Cost(0.3, "rec") and c.monthlyCost == round(0.3 * 730 / 24, 2)
    unsupported = one(record(NGINX, recentRuns=(run(9),)), entries=(NGINX,))
    assert unsupported.lastCost == Cost(0.5, "known") and unsupported.monthlyCost is None
    assert one(record(recentRuns=())).lastCost is None  # tested, nothing to cost
    assert one(record(day=None, recentRuns=(run(9),))).lastCost == Cost(0.5, "known")


def test_the_report_names_its_price_table_schedule_and_unbilled_profiles():
    runs = (run(9, profile="local"), run(8, profile="dry"), run(7, profile="other"))
    report = build_report([FLASK], [record(recentRuns=runs)], {}, NOW, DAY / 2, None, PRICES)
    assert (report.prices, report.scheduleHours) == ("price table v3 of 2026-01-01", 12.0)
    assert report.unbilled == ["dry", "local"]
    assert report.generatedAt.startswith("2026-02-10T00:00:00")
    plain = build_report([FLASK], [], {}, NOW, unreadable={"x": "bad"})
    assert (plain.prices, plain.unbilled, plain.unreadable) == ("no price table", [], {"x": "bad"})


def test_profiles_count_the_tested_configurations_of_each():
    records = [
        record(profile="smoke"),
        record(NGINX, profile="smoke"),
        custom(profile="full"),
        custom(
            name="other",
            profile="full",
            status="untested",
            lastTestTimestamp="1970-01-01T00:00:00Z",
        ),
    ]
    report = build_report([FLASK, NGINX], records, {}, NOW)
    assert report.profiles == {"smoke": 2, "full": 1}


def cr(name: str, status: str = "pass", **fields) -> ConfigReport:
    return config_report(name, status, **fields)


def rep(*configs: ConfigReport) -> Report:
    summary = Summary(total=0, tested=0, passing=0, failing=0, untested=0, running=0, unsupported=0)
    return Report("2026-02-10T00:00:00Z", summary, configs)


def test_costs_by_day_newest_first_for_the_last_fourteen_days_with_runs():
    history = tuple(run(d) for d in range(28, 0, -1))
    costs = tuple(Cost(float(d)) for d in range(28, 0, -1))
    other = cr("b", history=(run(28), run(27)), runCosts=(Cost(None), Cost(1.0)))
    report = rep(cr("a", history=history, runCosts=costs), other)
    days = report.cost_by_day
    assert len(days) == COST_DAYS == 14
    assert [d for d, _ in days[:2]] == ["2026-02-28", "2026-02-27"] and days[-1][0] == "2026-02-15"
    assert (days[0][1].usd, days[0][1].unknown, days[1][1].usd) == (28.0, 1, 28.0)
    assert report.cost_shown.usd == sum(range(1, 29)) + 1.0 and report.cost_shown.unknown == 1


def test_the_monthly_cost_counts_supported_configurations_that_ran():
    ran = (run(9),)
    report = rep(
        cr("a", history=ran, monthlyCost=10.0),
        cr("b", history=ran, monthlyCost=None),
        cr("c", history=(), monthlyCost=5.0),
        cr("d", history=ran, monthlyCost=7.0, supportState="unsupported"),
    )
    assert (report.monthly.usd, report.monthly.unknown, report.monthly.counted) == (10.0, 1, 1)


def test_the_reports_lists_of_configurations():
    block = Blocked("capacity", "deploy_test", "a", "b")
    suspect = Suspect("capacity-rule", "-", "capacity", 5)
    q = Quarantine("known", "2026-12-31")
    c = [
        cr("regressed", "fail-build", regression=object()),
        cr("fixed", fixed=True),
        cr("flaky", flaky=True),
        cr("untested", "untested"),
        cr("unregistered", "unregistered"),
        cr("gone-untested", "untested", removed=True),
        cr("blocked", blocked=block),
        cr("suspect", blocked=block, suspect=suspect),
        cr("blocked-running", "running", blocked=block),
        cr("blocked-gone", blocked=block, removed=True),
        cr("error", lastError=run(9, "error"), history=(run(9, "error"),)),
        cr("error-gone", lastError=run(9, "error"), removed=True),
        cr("quarantined", "fail-build", quarantine=q),
        cr("failing", "fail-deploy_test"),
    ]
    report = rep(*c)

    def names(found):
        return [x.name for x in found]

    assert names(report.regressions) == ["regressed"]
    assert names(report.fixed) == ["fixed"] and names(report.flaky) == ["flaky"]
    assert names(report.untested) == ["untested", "unregistered"]
    assert names(report.blocked) == ["blocked", "suspect"]
    assert names(report.suspects) == ["suspect"]
    assert names(report.errors) == ["error"]
    assert names(report.quarantined) == ["quarantined"]
    assert names(report.removed) == ["gone-untested", "blocked-gone", "error-gone"]
    assert names(report.counted_failures) == ["regressed", "failing"]
    assert names(report.running) == ["blocked-running"]
    groups = report.failure_groups  # the groups of classes.failure_groups
    assert [(g.kind, g.configurations) for g in groups] == [
        ("blocked", ("blocked", "suspect", "blocked-gone")),
        ("error", ("error", "error-gone")),
    ]
    assert (report.noise.runs, report.noise.errors) == (1, 1)  # classes.noise


def test_the_summary_counts_blocked_unproven_and_quarantined():
    block = Blocked("capacity", "deploy_test", "2026-02-08T00:00:00Z", "2026-02-11T00:00:00Z")
    holding = quarantined(NGINX, "2026-12-31")
    fastapi = CATALOG.get("http-fastapi")
    records = [record(blocked=block), record(holding, status="fail-build"), record(fastapi)]
    report = build_report([FLASK, holding, fastapi], records, {}, NOW)
    s = report.summary
    assert (s.total, s.tested, s.passing, s.failing, s.unproven) == (3, 3, 1, 1, 1)
    assert (s.blocked, s.quarantined, s.unsupported, s.removed) == (1, 1, 1, 0)
    running = build_report([FLASK], [record(status="running", blocked=block)], {}, NOW)
    assert running.summary.blocked == 0


# -- against a baseline -------------------------------------------------------------------


def test_changes_against_a_baseline():
    block = Blocked("capacity", "deploy_test", "a", "b")
    report = rep(
        cr("broke", "fail-build"),
        cr("still", "fail-build"),
        cr("healed"),
        cr("healed-blocked", blocked=block),
        cr("brand-new", "fail-validate"),
        cr("gone", "fail-build", removed=True),
        cr("same"),
        cr("was-missing-now-pass"),
    )
    baseline = {
        "broke": "pass",
        "still": "fail-build",
        "healed": "fail-deploy_test",
        "healed-blocked": "fail-build",
        "gone": "pass",
        "same": "pass",
    }
    found = changes(report, baseline)
    assert found.newly_failing == ("broke",)
    assert found.newly_passing == ("healed",)
    assert found.new == ("brand-new", "was-missing-now-pass")


def test_an_entry_whose_only_record_is_of_an_earlier_identity_is_unregistered():
    """Its instance type changed since its record was written: the record is an earlier
    identity, counted among the records, and the entry itself is not registered yet."""
    old = json.loads(record().configJson) | {"instanceType": "ml.m5.xlarge"}
    earlier = record(configId="00000000000000e1", configJson=json.dumps(old))
    c = one(earlier)
    assert (c.status, c.recordCount, c.runs) == ("unregistered", 1, 0)
    assert [(e.configId, e.differs) for e in c.earlier] == [
        ("00000000000000e1", "instance type ml.m5.xlarge")
    ]


def test_a_project_configuration_is_unsupported_when_any_of_its_records_is():
    old = custom(
        configId="00000000000000c0",
        configJson=json.dumps({"instanceType": "ml.g5.xlarge"}),
        supportState="unsupported",
        lastTestTimestamp="2026-02-01T01:00:00Z",
    )
    c = one(custom(), old, entries=())
    assert (c.status, c.supportState, c.recordCount) == ("pass", "unsupported", 2)
    assert one(custom(), entries=()).supportState == "supported"


def test_a_run_of_an_unbilled_profile_recorded_without_a_cost_costs_nothing():
    local = run(9, estimatedCost=None, stageResults=HALF_HOUR, profile="local")
    (cost,) = one(record(recentRuns=(local,)), prices=PRICES).runCosts
    assert cost == Cost(0.0, "profile local runs nothing in AWS")


def test_an_untested_record_shows_no_cost_even_if_it_kept_one():
    assert one(record(day=None, estimatedCost=Cost(0.3, "rec"))).lastCost is None


def test_an_entry_without_an_owner_shows_none():
    data = {k: v for k, v in FLASK.data.items() if k != "owner"}
    ownerless = replace(FLASK, data=data)
    assert one(entries=(ownerless,)).owner == "-"
    assert one(record(ownerless), entries=(ownerless,)).owner == "-"


def test_a_tested_record_of_an_entry_takes_the_facts_from_the_catalog():
    """Even when the record's configJson says nothing of them."""
    c = one(record(configJson="{}"))
    assert (c.owner, c.architecture, c.region, c.instanceType) == (
        "ml-platform",
        "http",
        "us-east-1",
        "ml.m5.large",
    )


def test_another_writers_record_is_shown_under_the_catalogs_configid():
    theirs = record(configId="00000000000000aa", source="project")
    c = one(theirs)
    assert (c.configId, c.status, c.recordCount) == (FLASK.config_id, "pass", 1)


def test_earlier_identities_are_counted_and_their_runs_read_from_the_store():
    old = json.loads(record().configJson) | {"instanceType": "ml.m5.xlarge"}
    earlier = record(configId="00000000000000e1", configJson=json.dumps(old), day=5)
    history = {"00000000000000e1": [run(5, config_id="00000000000000e1"), run(4)]}
    c = one(record(recentRuns=(run(9),)), earlier, history=history)
    assert (c.recordCount, c.runs, [r.runId for r in c.history]) == (2, 1, ["run-9"])
    (identity,) = c.earlier
    assert (identity.configId, identity.runs, identity.lastTest) == (
        "00000000000000e1",
        2,
        "2026-02-05T01:00:00Z",
    )


def test_two_records_of_one_configuration_read_their_runs_from_the_store_newest_first():
    theirs = record(configId="00000000000000aa", source="project", day=8)
    history = {
        FLASK.config_id: [run(9), run(7, "fail-build")],
        "00000000000000aa": [run(8, "fail-build", config_id="00000000000000aa")],
    }
    c = one(record(), theirs, history=history)
    assert [r.runId for r in c.history] == ["run-9", "run-8", "run-7"]
    assert (c.recordCount, c.runs, c.fixed) == (2, 3, True)
    # one of them never ran: the other's runs only
    c = one(record(), theirs, history={FLASK.config_id: [run(9)]})
    assert [r.runId for r in c.history] == ["run-9"] and c.recordCount == 2


def test_a_run_over_midnight_is_costed_on_the_day_it_finished():
    late = run(27, startedAt="2026-02-26T23:30:00Z", finishedAt="2026-02-27T00:30:00Z")
    report = rep(cr("a", history=(late,), runCosts=(Cost(2.0),)))
    assert [(day, t.usd) for day, t in report.cost_by_day] == [("2026-02-27", 2.0)]
