"""What the owners hear of a finished run: a regression (it passed, now it fails) and a fix
(it failed, now it passes), once each; nothing while it stays green, nor while it keeps
failing, nor for a first run. The records go through the states a run leaves them in
(models.claimed, then models.finished, as the lifecycle writes them) and the lifecycle's
notice (lifecycle.notices.tell_owners) speaks to a collecting notify. One run through the
CLI, the store and SNS stays in tests/test_sweeper.py."""

from pathlib import Path

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.lifecycle import Runner, RunReport
from mlcc_ci.lifecycle.notices import tell_owners
from mlcc_ci.models import Outcome, Record, StageResult, claimed, finished
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry

CATALOG = load_valid_catalog()
FLASK = CATALOG.get("http-flask")
FAILED = "deploy_test: the endpoint answered 500 to the smoke request"


def told_by_runs(statuses: list[str]) -> list[list[tuple[str, str]]]:
    """Each run of `statuses` in turn on one record, from registration: what each told."""
    sent: list[tuple[str, str]] = []
    runner = Runner(
        None,  # type: ignore[arg-type]  # the notice reads the report only
        load_profile(CATALOG, "example"),
        work_root=Path("unused"),
        env={},
        notify=lambda subject, message: sent.append((subject, message)),
    )
    record = Record.registered(from_entry(FLASK), "2026-01-01T00:00:00Z")
    told = []
    for n, status in enumerate(statuses, start=1):
        running = claimed(record, f"run-{n}", f"2026-01-0{n}T01:00:00.000Z")
        failed = status.startswith("fail-")
        outcome = Outcome(
            status,
            f"2026-01-0{n}T01:30:00Z",
            1800.0,
            {"deploy_test": StageResult("fail" if failed else "pass")},
            errorMessage=FAILED if failed else "",
            profile="example",
        )
        record = finished(running, outcome)
        tell_owners(runner.context, RunReport(record, outcome, Path("unused")))
        told.append(sent[:])
        sent.clear()
    return told


def test_green_runs_tell_no_one():
    assert told_by_runs(["pass", "pass"]) == [[], []]  # untested -> pass -> pass


def test_a_first_run_that_fails_is_no_regression():
    assert told_by_runs(["fail-deploy_test"]) == [[]]


def test_a_regression_tells_once_and_names_what_passed_before():
    first, regressed, still = told_by_runs(["pass", "fail-deploy_test", "fail-deploy_test"])
    assert first == [] and still == []  # still failing: no news
    assert regressed == [
        (
            "mlcc-ci: http-flask regressed (fail-deploy_test)",
            f"http-flask ({FLASK.config_id}) regressed: now fail-deploy_test, before pass.\n"
            "Run run-2, finished 2026-01-02T01:30:00Z, profile example.\n"
            f"First failure: {FAILED}",
        )
    ]


def test_a_fix_tells_once():
    _, regressed, fixed, again = told_by_runs(["pass", "fail-deploy_test", "pass", "pass"])
    assert again == []
    assert [subject for subject, _ in regressed] == [
        "mlcc-ci: http-flask regressed (fail-deploy_test)"
    ]
    assert fixed == [
        (
            "mlcc-ci: http-flask fixed (pass)",
            f"http-flask ({FLASK.config_id}) fixed: now pass, before fail-deploy_test.\n"
            "Run run-3, finished 2026-01-03T01:30:00Z, profile example.",
        )
    ]


def test_a_failure_that_moves_to_another_stage_is_no_news():
    _, regressed, moved = told_by_runs(["pass", "fail-build", "fail-deploy_test"])
    assert [subject for subject, _ in regressed] == ["mlcc-ci: http-flask regressed (fail-build)"]
    assert moved == []
