"""Failure classes at record time: infrastructure failures retried by their rule, blocked when
they persist, harness failures kept as `error`; the product's numbers count only the product.

Real runs of the example profile (subprocesses, HTTP on 127.0.0.1) with SageMaker's
capacity error injected at deploy_test (MLCC_CI_FAULT=NAME:deploy_test:capacity[:N]).
"""

import os
from dataclasses import replace
from datetime import timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.failures import load_rules
from mlcc_ci.history import analyse
from mlcc_ci.lifecycle import Runner
from mlcc_ci.models import Blocked
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry
from mlcc_ci.selection import Policy, select
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.sqlite import SqliteStore

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()
NAME = "http-flask"

# A team's rules: SageMaker capacity retried twice at once (the shipped rule waits 600 s).
TEAM_RULES = """\
rules:
  - name: sagemaker-capacity
    class: capacity
    stages: [deploy_test]
    pattern: '(Unable to provision requested ML compute capacity)'
    retry: {count: 2, backoffSeconds: 0}
    hint: 'no capacity: retried at once in this test'
"""


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "r.db")
    yield s
    s.close()


@pytest.fixture
def rules(tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    (team / "_failures.yaml").write_text(TEAM_RULES)
    return load_rules(team)


def run_once(store, tmp_path, rules, fault="", entry=None, **kwargs):
    entry = entry or CATALOG.get(NAME)
    store.register(from_entry(entry), clock.iso(clock.now()))
    record = store.get(entry.config_id)
    run_id = f"r{len(store.history(entry.config_id))}"
    record = claim(store, record, run_id, clock.iso(clock.now(), ms=True))
    env = {k: v for k, v in os.environ.items() if k != "MLCC_CI_FAULT"}
    if fault:
        env["MLCC_CI_FAULT"] = fault
    runner = Runner(
        store,
        load_profile(CATALOG, "example"),
        work_root=tmp_path / "work",
        env=env,
        rules=rules,
        **kwargs,
    )
    return runner.run(record, entry)


def test_a_capacity_failure_is_retried_then_passes_and_the_numbers_stay(store, tmp_path, rules):
    first = run_once(store, tmp_path, rules)
    assert first.status == "pass"
    config_id = first.record.configId
    before = analyse(store.history(config_id))

    report = run_once(store, tmp_path, rules, f"{NAME}:deploy_test:capacity:1")

    assert report.status == "pass", (report.outcome, report.notes)
    assert report.outcome.attempt == 2
    history = store.history(config_id)
    assert [(r.status, r.attempt) for r in history] == [
        ("pass", 2),
        ("fail-deploy_test", 1),
        ("pass", 1),
    ]
    failed = history[1].failure
    assert (failed.cls, failed.stage, failed.rule, failed.capture) == (
        "capacity",
        "deploy_test",
        "sagemaker-capacity",
        "Unable to provision requested ML compute capacity",
    )
    # each attempt is a run of its own: a run id, a start and a cost of its own
    assert len({r.runId for r in history}) == 3
    assert history[0].runId == f"{history[1].runId}-r2"  # the claimed id, then its attempt
    assert history[0].estimatedCost is not None and history[1].estimatedCost is not None
    # every attempt ran from the start, the failed one torn down before the wait
    assert history[1].stageResults["teardown"].status == "pass"
    assert history[0].stageResults["build"].durationSeconds > 0
    assert history[0].stageResults["deploy_test"].status == "pass"
    # the capacity failure counts toward nothing the product is judged by
    after = analyse(history)
    assert (before.passRate, before.regression, before.flips) == (1.0, None, 0)
    assert (after.passRate, after.regression, after.flips, after.fixed) == (1.0, None, 0, False)
    stored = store.get(config_id)
    assert (stored.testStatus, stored.blocked, stored.failure) == ("pass", None, None)
    assert [r.status for r in stored.recentRuns] == ["pass", "fail-deploy_test", "pass"]


def test_capacity_that_lasts_blocks_the_configuration_without_failing_it(store, tmp_path, rules):
    sent = []
    first = run_once(store, tmp_path, rules)
    assert first.status == "pass"

    report = run_once(
        store,
        tmp_path,
        rules,
        f"{NAME}:deploy_test:capacity",
        notify=lambda subject, message: sent.append(subject),
        notify_platform=lambda subject, message: sent.append(subject),
    )

    assert report.status == "fail-deploy_test"
    assert report.outcome.attempt == 3  # the first, and the rule's two retries
    stored = store.get(first.record.configId)
    # the product's status is what the product last proved: it passed
    assert stored.testStatus == "pass"
    assert stored.lastTestTimestamp == first.record.lastTestTimestamp
    assert (stored.blocked.cls, stored.blocked.stage, stored.blocked.rule) == (
        "capacity",
        "deploy_test",
        "sagemaker-capacity",
    )
    assert stored.blocked.rounds == 1
    history = store.history(first.record.configId)
    assert stored.blocked.since == history[2].startedAt  # the first attempt's start
    # the rule's backoff is 0 s: at least five minutes, then the scanner may try again
    finished = clock.parse(report.outcome.finishedAt)
    assert clock.parse(stored.blocked.retryAfter) == finished + timedelta(seconds=300)
    assert sent == []  # no regression for the owners; not a day blocked for the platform
    history = store.history(first.record.configId)
    assert [r.status for r in history] == ["fail-deploy_test"] * 3 + ["pass"]
    assert [r.failure.cls for r in history[:3]] == ["capacity"] * 3
    trend = analyse(history)
    assert (trend.passRate, trend.regression, trend.runs) == (1.0, None, 1)


def test_a_blocked_configuration_waits_for_its_retry_time():
    from mlcc_ci.models import Record

    now = clock.parse("2026-11-30T12:00:00Z")
    base = Record(
        configId="a" * 16,
        configJson="{}",
        deploymentConfig="triton-fil",
        buildStrategy="codebuild-submit",
        projectName="p",
        createdAt="2026-11-01T00:00:00Z",
        source="catalog",
        version=3,
        testStatus="pass",
        lastTestTimestamp="2026-11-28T12:00:00Z",  # stale: 48 h ago
    )
    blocked = Blocked(
        "capacity", "deploy_test", "2026-11-30T10:00:00Z", "2026-11-30T12:10:00Z", rounds=2
    )
    plan = select([replace(base, blocked=blocked)], now, Policy())
    assert plan.due == []
    [skipped] = plan.skipped
    assert (skipped.reason, skipped.detail) == (
        "blocked",
        "blocked (capacity) at deploy_test since 2026-11-30 10:00 UTC; "
        "tried again after 2026-11-30 12:10 UTC",
    )
    later = select([replace(base, blocked=blocked)], now + timedelta(minutes=10), Policy())
    [due] = later.due
    assert (due.reason, due.record.configId, due.detail) == (
        "blocked",
        "a" * 16,
        "blocked (capacity) at deploy_test since 2026-11-30 10:00 UTC; its retry time "
        "2026-11-30 12:10 UTC has come",
    )
    # fresh or not: its last attempt proved nothing, so it is tried again at its time
    fresh = replace(base, lastTestTimestamp="2026-11-30T09:00:00Z", blocked=blocked)
    assert [d.reason for d in select([fresh], now, Policy()).due] == []
    assert [d.reason for d in select([fresh], now + timedelta(minutes=10), Policy()).due] == [
        "blocked"
    ]
    # after what is new and what changed, before regressions and stale results
    stale = replace(base, configId="b" * 16, deploymentConfig="triton-onnx", projectName="q")
    untested = replace(
        base,
        configId="c" * 16,
        deploymentConfig="http-flask",
        projectName="r",
        testStatus="untested",
    )
    order = select(
        [stale, replace(base, blocked=blocked), untested], now + timedelta(hours=1), Policy()
    )
    assert [d.reason for d in order.due] == ["untested", "blocked", "stale"]


def test_the_platform_team_hears_of_a_block_older_than_a_day_once(store, tmp_path, rules):
    told = []
    first = run_once(store, tmp_path, rules)
    config_id = first.record.configId
    record = store.get(config_id)
    since = clock.iso(clock.now() - timedelta(days=2))
    old = Blocked("capacity", "deploy_test", since, since, "sagemaker-capacity", rounds=4)
    store.replace(
        replace(record, blocked=old, version=record.version + 1),
        expect_version=record.version,
        expect_run_id=record.runId,
    )
    kwargs = {"notify_platform": lambda subject, message: told.append((subject, message))}
    run_once(store, tmp_path, rules, f"{NAME}:deploy_test:capacity", **kwargs)
    [(subject, message)] = told
    assert subject == "mlcc-ci: http-flask blocked (capacity)"
    assert f"since {since} (5 runs in a row)" in message
    stored = store.get(config_id)
    assert (stored.blocked.since, stored.blocked.rounds, stored.blocked.notified) == (
        since,
        5,
        True,
    )
    run_once(store, tmp_path, rules, f"{NAME}:deploy_test:capacity", **kwargs)
    assert len(told) == 1  # told once per streak
    assert store.get(config_id).blocked.rounds == 6


def test_a_product_failure_is_classified_and_counts(store, tmp_path, rules):
    sent = []
    first = run_once(store, tmp_path, rules)
    report = run_once(
        store,
        tmp_path,
        rules,
        f"{NAME}:deploy_test:fail",
        notify=lambda subject, message: sent.append(subject),
    )
    assert (report.status, report.outcome.attempt) == ("fail-deploy_test", 1)  # not retried
    stored = store.get(first.record.configId)
    assert stored.testStatus == "fail-deploy_test" and stored.blocked is None
    assert (stored.failure.cls, stored.failure.rule) == ("unclassified", "")
    assert sent == ["mlcc-ci: http-flask regressed (fail-deploy_test)"]
    trend = analyse(store.history(first.record.configId))
    assert (trend.passRate, trend.regression.failingRuns) == (0.5, 1)


def test_a_quarantined_entrys_regression_tells_no_one(store, tmp_path, rules):
    """Known bad until its date: the failure is recorded as it is, and no regression notice
    goes to the owners (the flags leave it out too)."""
    sent = []
    plain = CATALOG.get(NAME)
    held = replace(
        plain,
        data={**plain.data, "quarantine": {"reason": "flask 3.1 breaks it", "until": "2099-12-31"}},
    )
    first = run_once(store, tmp_path, rules, entry=held)
    notify = {"notify": lambda subject, message: sent.append(subject)}
    report = run_once(store, tmp_path, rules, f"{NAME}:deploy_test:fail", entry=held, **notify)
    assert report.status == "fail-deploy_test"
    assert store.get(first.record.configId).testStatus == "fail-deploy_test"
    assert sent == []
    assert report.notes[-1] == (
        "no regression notice: quarantined until 2099-12-31: flask 3.1 breaks it"
    )
    # after its date it counts again: the next regression is told
    expired = replace(
        plain,
        data={**plain.data, "quarantine": {"reason": "flask 3.1 breaks it", "until": "2020-01-31"}},
    )
    run_once(store, tmp_path, rules, entry=expired)
    run_once(store, tmp_path, rules, f"{NAME}:deploy_test:fail", entry=expired, **notify)
    assert sent == ["mlcc-ci: http-flask regressed (fail-deploy_test)"]


def test_a_build_leaves_a_long_backoff_to_the_scanner(store, tmp_path, rules):
    slow = tuple(replace(r, retry=replace(r.retry, backoff_seconds=600)) for r in rules)
    first = run_once(store, tmp_path, slow)
    report = run_once(store, tmp_path, slow, f"{NAME}:deploy_test:capacity:1", max_wait=120)
    assert (report.status, report.outcome.attempt) == ("fail-deploy_test", 1)
    assert report.notes[-1] == (
        "attempt 1 failed at deploy_test: its backoff (600s) is the scanner's to wait, "
        "not this build's"
    )
    stored = store.get(first.record.configId)
    assert (stored.testStatus, stored.blocked.cls) == ("pass", "capacity")
    finished = clock.parse(report.outcome.finishedAt)
    assert clock.parse(stored.blocked.retryAfter) == finished + timedelta(seconds=600)


class _LongStages:
    """The lifecycle's clock with every reading of the attempt's timer 100 s after the last:
    an attempt "takes" minutes, known from its record, while its budget is on the real
    monotonic clock (a deadline minutes away is not reached in the seconds a run takes)."""

    def __init__(self) -> None:
        import time

        self.t = 0.0
        self.monotonic = time.monotonic

    def perf_counter(self) -> float:
        self.t += 100.0
        return self.t


def test_no_retry_starts_that_would_outrun_the_budget(store, tmp_path, rules, monkeypatch):
    """A retry needs the time its attempt took (the budget counts it 1.25 times): a deadline
    the backoff alone would fit in but the attempt would not refuses it; one it fits in
    admits it."""
    import time

    from mlcc_ci.lifecycle import attempt

    monkeypatch.setattr(attempt, "time", _LongStages())
    first = run_once(store, tmp_path, rules)
    config_id = first.record.configId
    report = run_once(
        store, tmp_path, rules, f"{NAME}:deploy_test:capacity:1", deadline=time.monotonic() + 600
    )
    assert (report.status, report.outcome.attempt) == ("fail-deploy_test", 1)
    assert report.notes[-1] == (
        "attempt 1 failed at deploy_test: another attempt would not finish within the run's budget"
    )
    took = report.outcome.durationSeconds
    assert 600 < 1.25 * took < 3600  # the backoff (0 s) fits in 600 s; the attempt does not

    # the same attempt with a budget it fits in: retried, and the retry passes
    admitted = run_once(
        store,
        tmp_path,
        rules,
        f"{NAME}:deploy_test:capacity:1",
        deadline=time.monotonic() + 1.25 * took + 600,
    )
    assert (admitted.status, admitted.outcome.attempt) == ("pass", 2)
    retried = store.history(config_id)[1]  # the admitted run's failed first attempt
    assert (retried.attempt, retried.status) == (1, "fail-deploy_test")
    assert retried.durationSeconds == took  # the same attempt as the refused one


def test_the_build_budget_and_wait_come_from_the_buildspec_s_environment():
    import time

    from mlcc_ci.cli.execution import retry_limits

    assert retry_limits({}) == (None, None)
    deadline, wait = retry_limits({"MLCC_CI_RUN_SECONDS": "3600", "CODEBUILD_BUILD_ID": "b:1"})
    assert wait == 120
    assert 3590 < deadline - time.monotonic() <= 3600


def test_no_retry_after_a_teardown_that_failed(store, tmp_path, rules):
    run_once(store, tmp_path, rules)
    fault = f"{NAME}:deploy_test:capacity:1,{NAME}:teardown:fail"
    report = run_once(store, tmp_path, rules, fault)
    assert (report.status, report.outcome.attempt) == ("fail-deploy_test", 1)
    assert report.notes[-1] == (
        "attempt 1 failed at deploy_test: not retried: its teardown failed, and what it made "
        "may still be up"
    )
