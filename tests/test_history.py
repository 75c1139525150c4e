from dataclasses import replace

import pytest

from mlcc_ci.history import analyse, rounds
from mlcc_ci.models import Run


def run(i: int, status: str) -> Run:
    return Run(
        configId="c",
        startedAt=f"2026-01-{i:02d}T00:00:00.000Z",
        runId=f"r{i}",
        finishedAt=f"2026-01-{i:02d}T01:00:00Z",
        status=status,
        durationSeconds=1.0,
        deploymentConfig="x",
    )


def newest_first(statuses):
    return [run(i + 1, s) for i, s in reversed(list(enumerate(statuses)))]


def test_regression_since_the_first_failure_with_the_last_pass():
    trend = analyse(newest_first(["pass", "pass", "fail-build", "fail-deploy_test"]))
    assert trend.regression is not None
    assert trend.regression.since == "2026-01-03T00:00:00.000Z"
    assert trend.regression.lastPass == "2026-01-02T01:00:00Z"
    assert trend.regression.lastPassRunId == "r2" and trend.regression.failingRuns == 2
    assert not trend.fixed and trend.passRate == 0.5


def test_fixed_and_never_passed():
    assert analyse(newest_first(["fail-build", "pass"])).fixed
    assert analyse(newest_first(["fail-build", "fail-build"])).regression is None
    assert analyse([]).passRate is None


def test_flakiness_counts_changes_in_the_window():
    trend = analyse(newest_first(["pass", "fail-build", "pass", "fail-build", "pass"]))
    assert trend.flips == 4 and trend.flaky
    assert not analyse(newest_first(["pass"] * 12)).flaky


# Oldest first -> (the regression as (since run, last passing run, failing runs) or None,
# fixed, pass rate over the last 10). Literal: the table does not restate the rule.
HISTORIES = [
    (["pass"], None, False, 1.0),
    (["fail-build"], None, False, 0.0),
    (["pass", "pass"], None, False, 1.0),
    (["pass", "fail-build"], ("r2", "r1", 1), False, 0.5),
    (["fail-build", "pass"], None, True, 0.5),
    (["fail-build", "fail-validate"], None, False, 0.0),  # never passed: no regression
    (["pass", "fail-build", "fail-validate"], ("r2", "r1", 2), False, 0.333),
    (["fail-build", "pass", "fail-build"], ("r3", "r2", 1), False, 0.333),
    (["pass", "fail-build", "pass"], None, True, 0.667),
    (["fail-build", "pass", "pass"], None, False, 0.667),  # fixed once, not again
    (["pass", "fail-build", "interrupted"], ("r2", "r1", 1), False, 0.5),
    (["fail-build", "interrupted", "pass"], None, True, 0.5),
    (["pass", "interrupted", "fail-build"], ("r3", "r1", 1), False, 0.5),
    (["fail-build"] + ["pass"] * 10, None, False, 1.0),  # the window is the last 10
    (["pass"] + ["fail-build"] * 10, ("r2", "r1", 10), False, 0.0),
]


@pytest.mark.parametrize(("history", "regression", "fixed", "rate"), HISTORIES)
def test_regression_fixed_and_pass_rate_by_example(history, regression, fixed, rate):
    trend = analyse(newest_first(history))
    if regression is None:
        assert trend.regression is None
    else:
        since, last_pass, failing = regression
        assert trend.regression is not None
        got = trend.regression
        assert got.since == f"2026-01-{int(since[1:]):02d}T00:00:00.000Z"
        assert got.lastPass == f"2026-01-{int(last_pass[1:]):02d}T01:00:00Z"
        assert (got.lastPassRunId, got.failingRuns) == (last_pass, failing)
    assert trend.fixed is fixed
    assert trend.passRate == rate


def test_transition_literal_cases():
    """Only pass -> fail is a regression and only fail -> pass a fix; nothing else is news."""
    from mlcc_ci.history import transition

    assert transition(None, "fail-build") is None  # never ran before: a first failure
    assert transition("untested", "fail-build") is None
    assert transition("running", "fail-validate") is None
    assert transition("fail-build", "fail-deploy_test") is None  # the failing stage moved
    assert transition("fail-build", "fail-build") is None
    assert transition("pass", "pass") is None
    assert transition(None, "pass") is None
    assert transition("fail-teardown", "pass") == "fixed"
    assert transition("pass", "fail-register") == "regressed"
    assert transition("pass", "interrupted") is None


@pytest.mark.parametrize(
    ("status", "cls", "product"),
    [
        ("pass", None, True),
        ("fail-build", None, True),  # another writer's failure, never classified
        ("fail-build", "product", True),
        ("fail-build", "unclassified", True),  # no rule could show it was not the product
        ("fail-deploy_test", "capacity", False),
        ("fail-deploy_test", "quota", False),
        ("fail-build", "infra", False),
        ("fail-validate", "credentials", False),
        ("error", "harness", False),
        ("interrupted", None, False),
    ],
)
def test_which_runs_count_for_the_product(status, cls, product):
    from dataclasses import replace

    from mlcc_ci.models import Failure

    failure = Failure(cls, status.removeprefix("fail-")) if cls else None
    assert replace(run(1, status), failure=failure).product is product


def test_runs_the_product_did_not_cause_leave_its_numbers_alone():
    from dataclasses import replace

    from mlcc_ci.models import Failure

    capacity = Failure("capacity", "deploy_test", "sagemaker-capacity")
    runs = [
        replace(run(5, "fail-deploy_test"), failure=capacity),
        run(4, "error"),
        replace(run(3, "fail-deploy_test"), failure=capacity),
        run(2, "pass"),
        run(1, "pass"),
    ]
    trend = analyse(runs)
    assert (trend.regression, trend.fixed, trend.flips, trend.passRate, trend.runs) == (
        None,
        False,
        0,
        1.0,
        2,
    )


def test_no_runs_and_only_interrupted_runs_say_nothing():
    from mlcc_ci.history import Trend

    assert analyse([]) == Trend(None, False, 0, None, 0)
    assert analyse(newest_first(["interrupted", "interrupted"])) == Trend(None, False, 0, None, 0)
    assert analyse(newest_first(["pass", "interrupted", "pass"])).runs == 2


def test_a_signature_takes_out_what_differs_from_run_to_run():
    from mlcc_ci.history import signature

    text = (
        "Build of http-flask failed at 2026-01-02T03:04:05.123Z: exit 2 (id 0a1b2c3d4e5f) "
        "in /tmp/work/do/build\n  twice"
    )
    # the longest name first (http-flask, not http + -flask); an empty name is no name
    assert signature(text, ["http", "", "http-flask"]) == (
        "Build of <config> failed at <time>: exit <n> (id <id>) in <path> twice"
    )
    assert signature("  two   spaces\n and 3.5 s  ") == "two spaces and <n> s"


def test_a_signature_replaces_the_longest_name_first_not_the_last_in_order():
    from mlcc_ci.history import signature

    assert signature("abc-xyz failed", ["xyz", "abc-xyz"]) == "<config> failed"


# -- rounds: `history show --limit N` counts a run's attempts as one ----------------------


def attempts(*numbers: int) -> list[Run]:
    """Runs newest first, with these attempt numbers (a round: 1, then its retries 2, 3...
    listed before it)."""
    return [replace(run(len(numbers) - i, "pass"), attempt=n) for i, n in enumerate(numbers)]


def ids(runs: list[Run]) -> list[str]:
    return [r.runId for r in runs]


def test_rounds_keeps_each_run_with_its_retries():
    runs = attempts(3, 2, 1, 2, 1, 1)  # rounds: (3, 2, 1), (2, 1), (1)
    assert (ids(rounds(runs, 1)[0]), rounds(runs, 1)[1]) == (["r6", "r5", "r4"], False)
    assert (ids(rounds(runs, 2)[0]), rounds(runs, 2)[1]) == (["r6", "r5", "r4", "r3", "r2"], False)
    assert rounds(runs, 3) == (runs, True)
    assert rounds(runs, 4) == (runs, True)


def test_a_round_whose_first_attempt_was_forgotten_still_ends():
    runs = attempts(2, 3, 2)  # 2 | 3, 2: the second round lost its first attempt
    assert (ids(rounds(runs, 1)[0]), rounds(runs, 1)[1]) == (["r3"], False)
    assert rounds(runs, 2) == (runs, True)


def test_no_runs_and_no_rounds():
    assert rounds([], 3) == ([], True)
    runs = attempts(1, 1)
    assert rounds(runs, 0) == ([], False)
    assert rounds(runs, 1) == (runs[:1], False)  # two first attempts: two rounds
