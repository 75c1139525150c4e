"""Tests written to kill hand mutations that survived every relevant test (issue 32, item 1):
each names the mutation it fails on.

The retry budget (lifecycle/retry.py) is killed in tests/test_retry.py
(test_no_retry_starts_that_would_outrun_the_budget)."""

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.failures import _CAPTURE_LIMIT, classify, load_rules
from mlcc_ci.lifecycle import Runner
from mlcc_ci.loglinks import confined_log
from mlcc_ci.models import Blocked, Failure, Outcome, Record, StageResult, finished
from mlcc_ci.ownership import AFTER_RUN, Project, decide
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.sqlite import SqliteStore

CATALOG = load_valid_catalog()
NAME = "http-flask"

# A team's rules: SageMaker capacity blocks at once (not retried); a model that fails to load
# is the product's, its capture the rest of the line it is on.
TEAM_RULES = """\
rules:
  - name: sagemaker-capacity
    class: capacity
    stages: [deploy_test]
    pattern: '(Unable to provision requested ML compute capacity)'
    retry: {count: 0, backoffSeconds: 0}
    hint: 'no capacity'
  - name: model-load
    class: product
    stages: [deploy_test]
    pattern: 'model load failed: ([^\\n]*)'
    retry: {count: 0, backoffSeconds: 0}
    hint: 'the model did not load'
"""

# A deploy_test whose error is one line of 20,000 characters
HUGE = "weights " + "x" * 20000
HUGE_LINE_COMMAND = (
    '"$MLCC_PYTHON" -c "import sys; sys.stderr.write(\'model load failed: '
    "weights ' + 'x' * 20000 + '\\n')\"; exit 1"
)


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


def run_once(store, tmp_path, rules, fault="", profile=None):
    """One claimed run of http-flask on `store` (the example profile unless `profile`)."""
    entry = CATALOG.get(NAME)
    store.register(from_entry(entry), clock.iso(clock.now()))
    record = store.get(entry.config_id)
    run_id = f"r{len(store.history(entry.config_id))}"
    record = claim(store, record, run_id, clock.iso(clock.now(), ms=True))
    env = {k: v for k, v in os.environ.items() if k != "MLCC_CI_FAULT"}
    if fault:
        env["MLCC_CI_FAULT"] = fault
    runner = Runner(
        store,
        profile or load_profile(CATALOG, "example"),
        work_root=tmp_path / "work",
        env=env,
        rules=rules,
    )
    return runner.run(record, entry)


# -- models.py, `finished`: a run the product answered clears `blocked` ------------------
# Kills: models.finished keeping `blocked=record.blocked` instead of `blocked=None`.

BLOCK = Blocked(
    "capacity",
    "deploy_test",
    "2026-11-30T10:00:00Z",
    "2026-11-30T10:05:00Z",
    rule="sagemaker-capacity",
    rounds=3,
)


def _record_blocked():
    entry = CATALOG.get(NAME)
    reg = from_entry(entry)

    return Record(
        configId=reg.configId,
        configJson=reg.configJson,
        deploymentConfig=reg.deploymentConfig,
        buildStrategy=reg.buildStrategy,
        projectName=reg.projectName,
        createdAt="2026-11-01T00:00:00Z",
        source="catalog",
        version=7,
        testStatus="running",
        previousStatus="pass",
        runId="r9",
        runStartedAt="2026-11-30T10:10:00Z",
        blocked=BLOCK,
    )


@pytest.mark.unit
def test_a_run_the_product_answered_clears_its_block():
    record = _record_blocked()
    assert record.blocked == BLOCK
    passed = Outcome("pass", "2026-11-30T10:20:00Z", 600.0, {"build": StageResult("pass")})
    after = finished(record, passed)
    assert (after.testStatus, after.blocked, after.version) == ("pass", None, 8)
    # a product failure is an answer too: failed, not blocked
    failed = Outcome(
        "fail-deploy_test",
        "2026-11-30T10:20:00Z",
        600.0,
        {"deploy_test": StageResult("fail", errorSummary="boom")},
        errorMessage="deploy_test failed: boom",
        failure=Failure("product", "deploy_test", "model-load", "boom"),
    )
    after = finished(record, failed)
    assert (after.testStatus, after.blocked) == ("fail-deploy_test", None)
    assert after.failure == Failure("product", "deploy_test", "model-load", "boom")


@pytest.mark.functional
def test_a_blocked_configuration_that_passes_is_no_longer_blocked(store, tmp_path, rules):
    first = run_once(store, tmp_path, rules)
    config_id = first.record.configId
    blocked = run_once(store, tmp_path, rules, f"{NAME}:deploy_test:capacity")
    assert blocked.status == "fail-deploy_test"
    held = store.get(config_id)
    assert (held.testStatus, held.blocked.cls, held.blocked.rule) == (
        "pass",
        "capacity",
        "sagemaker-capacity",
    )

    again = run_once(store, tmp_path, rules)

    assert again.status == "pass"
    stored = store.get(config_id)
    assert (stored.testStatus, stored.blocked, stored.failure) == ("pass", None, None)
    assert stored.lastTestTimestamp == again.outcome.finishedAt
    assert [r.status for r in store.history(config_id)] == ["pass", "fail-deploy_test", "pass"]


# -- failures.py, the capture: bounded, so the store takes the result --------------------
# Kills: failures._capture returning the whole capture (no _CAPTURE_LIMIT).


@pytest.mark.unit
def test_a_huge_capture_is_cut_to_its_bound(rules):
    log = f"starting\nmodel load failed: {HUGE}\nexit code 1\n"
    found = classify("deploy_test", log, rules)
    assert (found.cls, found.rule) == ("product", "model-load")
    assert len(found.capture) == _CAPTURE_LIMIT == 200
    assert found.capture == HUGE[: _CAPTURE_LIMIT - 3] + "..."
    # a capture within the bound is kept whole
    short = classify("deploy_test", "model load failed: weights missing\n", rules)
    assert short.capture == "weights missing"


@pytest.mark.functional
def test_a_run_with_a_huge_matching_line_is_stored(store, tmp_path, rules):
    example = load_profile(CATALOG, "example")
    stages = {**example.stages, "deploy_test": {"command": HUGE_LINE_COMMAND, "timeoutSeconds": 60}}
    profile = replace(example, stages=stages)
    run_once(store, tmp_path, rules)

    report = run_once(store, tmp_path, rules, profile=profile)

    assert report.status == "fail-deploy_test"
    expected = Failure("product", "deploy_test", "model-load", HUGE[:197] + "...")
    stored = store.get(report.record.configId)  # the store took the result
    assert (stored.testStatus, stored.failure) == ("fail-deploy_test", expected)
    assert report.outcome.failure == expected
    assert stored.errorMessage == "deploy_test failed: exit code 1"
    log = tmp_path / "work" / f"{NAME}-r1" / "logs" / "deploy_test.stderr.log"
    assert log.read_text() == f"model load failed: {HUGE}\n"  # the whole line, in the log
    [latest, _] = store.history(report.record.configId)
    assert (latest.status, latest.failure) == ("fail-deploy_test", expected)


# -- ownership.py, the window: created before a run began is not the run's ---------------
# Kills: ownership.decide without the window's lower bound (`created <= end + AFTER_RUN`).

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.unit
def test_an_endpoint_made_before_every_run_is_left_alone():
    project = Project("mlcc-ci-flask", live=False, windows=((T0, T0 + timedelta(minutes=30)),))
    name = "mlcc-ci-flask-endpoint-1764500000"
    for before in (timedelta(seconds=1), timedelta(hours=3), timedelta(days=40)):
        decision = decide(name, "endpoint", T0 - before, [project])
        assert (decision.action, decision.reason) == (
            "leave",
            "made outside every recorded run of mlcc-ci-flask (by hand?)",
        ), before
    # the window's own ends: made as the run began, and in the minutes after it recorded its end
    for at in (T0, T0 + timedelta(minutes=30) + AFTER_RUN):
        decision = decide(name, "endpoint", at, [project])
        assert (decision.action, decision.reason) == (
            "delete",
            "left by a finished run of mlcc-ci-flask",
        )
    # made before the second of two runs, after the first's window closed
    two = replace(
        project,
        windows=(*project.windows, (T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1))),
    )
    late = decide(name, "endpoint", T0 + timedelta(hours=12), [two])
    assert late.action == "leave"


# -- loglinks.py, `confined_log`: a linked run folder is not followed --------------------
# Kills: confined_log using os.stat (which follows a link) instead of os.lstat.


def _run_folder(root, name):
    logs = root / name / "logs"
    logs.mkdir(parents=True)
    (logs / "deploy_test.log").write_text("deployed\n")
    return logs


@pytest.mark.unit
def test_confined_log_refuses_a_linked_run_folder_even_inside_the_work_root(tmp_path):
    root = tmp_path / "work"
    _run_folder(root, "http-flask-r1")
    assert confined_log(root, "http-flask-r1", "deploy_test") == (
        root.resolve() / "http-flask-r1" / "logs" / "deploy_test.log"
    )
    # a link to a real run folder in the same work root: everything it leads to is inside,
    # so only the refusal to follow links keeps it out
    (root / "http-flask-r2").symlink_to(root / "http-flask-r1", target_is_directory=True)
    assert confined_log(root, "http-flask-r2", "deploy_test") is None
    # ... and a run folder whose logs folder is such a link
    (root / "http-flask-r3").mkdir()
    (root / "http-flask-r3" / "logs").symlink_to(
        root / "http-flask-r1" / "logs", target_is_directory=True
    )
    assert confined_log(root, "http-flask-r3", "deploy_test") is None
    # a link out of the work root
    outside = _run_folder(tmp_path / "elsewhere", "http-flask-r1")
    (root / "http-flask-r4").symlink_to(outside.parent, target_is_directory=True)
    assert confined_log(root, "http-flask-r4", "deploy_test") is None
