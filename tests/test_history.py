from hypothesis import given
from hypothesis import strategies as st

from mlcc_ci.history import analyse
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


statuses = st.lists(
    st.sampled_from(["pass", "fail-build", "fail-validate"]), min_size=1, max_size=25
)


@given(statuses)
def test_regression_iff_latest_failed_after_an_earlier_pass(history):
    trend = analyse(newest_first(history))
    expected = history[-1] != "pass" and "pass" in history[:-1]
    assert (trend.regression is not None) == expected
    assert trend.fixed == (history[-1] == "pass" and len(history) > 1 and history[-2] != "pass")
    window = history[-10:]
    assert trend.passRate == round(window.count("pass") / len(window), 3)


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
