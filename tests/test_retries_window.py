"""Retried attempts never push a configuration's passes out of its record (issue 31, cold
trial): a team catalog from `catalog init` with an `infra` rule retried three times (four
attempts a round), two passes, then five blocked rounds (twenty attempts), through the
command line on a SQLite store. The record keeps its last product runs, so the pass rate
stays 1.0, and `history show` counts rounds, not attempts."""

import json

import pytest

from mlcc_ci.decode import recent_runs
from mlcc_ci.models import RECENT_RUNS, Run
from tests.teamcat import FLASK, make_team, rule, run, stored

pytestmark = pytest.mark.functional

RETRIED = rule("flaky-build", "infra", 3, "the build farm drops builds")


@pytest.fixture
def team(cli, tmp_path, monkeypatch):
    return make_team(cli, tmp_path, monkeypatch, RETRIED)


@pytest.fixture
def blocked_after_passes(cli, team, tmp_path, monkeypatch):
    """Two passes, then five blocked rounds of four attempts."""
    for _ in range(2):
        assert run(cli, monkeypatch).exit_code == 0
    for _ in range(5):
        assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    return tmp_path


def test_the_record_keeps_its_passes_behind_twenty_retried_attempts(
    cli, blocked_after_passes, tmp_path
):
    runs, record = stored(tmp_path)
    assert len(runs) == 22
    assert [r.attempt for r in runs[:4]] == [4, 3, 2, 1]
    # the newest twenty, then older runs until it holds the pass-rate window's product runs
    recent = record.recentRuns
    assert len(recent) == 22
    assert [r.runId for r in recent] == [r.runId for r in runs]
    assert [r.status for r in recent[-2:]] == ["pass", "pass"]

    data = json.loads(cli("report", "--profile", "example", "--format", "json").output)
    flask = data["configurations"]["http-flask"]
    assert (flask["passRate"], flask["runs"]) == (1.0, 2)
    assert len(flask["history"]) == 20  # the strip shows the newest twenty
    text = cli("report", "--profile", "example", "--format", "text").output
    assert "100% of 2" in text


def test_history_show_counts_rounds_not_attempts(cli, blocked_after_passes, tmp_path):
    runs, _ = stored(tmp_path)
    lines = cli("history", "show", "http-flask", "--limit", "6").output.splitlines()
    # six rounds: five blocked rounds of four attempts, and the last pass
    table = [line for line in lines[2:] if line.strip()]
    assert len(table) == 21
    assert [line.split()[0] for line in table] == [r.runId for r in runs[:21]]
    assert table[-1].split()[4] == "pass"
    # the default limit shows both passes behind the twenty attempts
    default = cli("history", "show", "http-flask").output
    assert all(r.runId in default for r in runs)

    shown = json.loads(cli("history", "show", "http-flask", "--limit", "6", "--json").output)
    assert [r["runId"] for r in shown] == [r.runId for r in runs[:21]]
    assert [r.get("attempt", 1) for r in shown[:4]] == [4, 3, 2, 1]


@pytest.mark.unit
def test_a_record_reads_back_its_window_and_no_more():
    from mlcc_ci.models import PRODUCT_RUNS

    def item(i: int, status: str) -> dict:
        return {
            "runId": f"r{i}",
            "startedAt": f"2026-01-01T00:{i:02d}:00Z",
            "finishedAt": f"2026-01-01T00:{i:02d}:30Z",
            "status": status,
            "durationSeconds": 1.0,
            "profile": "example",
            "stageResults": {},
        }

    stored_items = [item(i, "error") for i in range(40)]
    runs = recent_runs(FLASK, "http-flask", stored_items)
    assert len(runs) == RECENT_RUNS + PRODUCT_RUNS
    assert all(isinstance(r, Run) for r in runs)


def test_a_kept_pass_behind_the_retries_can_be_forgotten_by_its_id(
    cli, blocked_after_passes, tmp_path
):
    runs, _ = stored(tmp_path)
    oldest = runs[-1]
    result = cli("history", "forget", oldest.runId, "--yes")
    assert result.exit_code == 0, result.output
    assert f"forgot run {oldest.runId}" in result.output
    after, record = stored(tmp_path)
    assert oldest.runId not in [r.runId for r in after]
    assert [r.runId for r in record.recentRuns] == [r.runId for r in after]


def summary(i: int, status: str, attempt: int = 1, cls: str = "") -> Run:
    from mlcc_ci.models import Failure

    failure = Failure(cls, "build", "rule") if cls else None
    at = f"2026-01-01T{i // 60:02d}:{i % 60:02d}:00.000Z"
    return Run(
        FLASK, at, f"r{i}", at, status, 1.0, "http-flask", {}, "", "example", None, failure, attempt
    )


@pytest.mark.unit
def test_the_window_keeps_older_product_runs_only_until_it_holds_ten():
    from mlcc_ci.models import PRODUCT_RUNS, recent_window

    # newest first: 25 infra attempts, then 3 passes, an error, 12 product failures
    runs = (
        [summary(100 - i, "fail-build", cls="infra") for i in range(25)]
        + [summary(70 - i, "pass") for i in range(3)]
        + [summary(60, "error")]
        + [summary(50 - i, "fail-build") for i in range(12)]
    )
    kept = recent_window(tuple(runs))
    assert kept[:RECENT_RUNS] == tuple(runs[:RECENT_RUNS])
    older = kept[RECENT_RUNS:]
    assert [r.runId for r in older] == ["r70", "r69", "r68", *[f"r{50 - i}" for i in range(7)]]
    assert len(kept) == RECENT_RUNS + PRODUCT_RUNS
    # product runs among the newest twenty count toward the ten
    mixed = [summary(100 - i, "pass" if i % 2 else "error") for i in range(20)]
    mixed += [summary(50 - i, "pass") for i in range(10)]
    assert len(recent_window(tuple(mixed))) == RECENT_RUNS
    assert recent_window(tuple(mixed[:7])) == tuple(mixed[:7])


@pytest.mark.unit
def test_a_round_ends_at_its_first_attempt_or_where_one_was_forgotten():
    from mlcc_ci.history import rounds

    runs = [
        summary(9, "fail-build", 3, "infra"),
        summary(8, "fail-build", 2, "infra"),  # its first attempt was forgotten
        summary(7, "fail-build", 2, "infra"),
        summary(6, "fail-build", 1, "infra"),
        summary(5, "pass"),
        summary(4, "pass"),
    ]
    assert [r.runId for r in rounds(runs, 1)[0]] == ["r9", "r8"]
    assert rounds(runs, 2) == (runs[:4], False)
    assert rounds(runs, 3) == (runs[:5], False)
    assert rounds(runs, 4) == (runs, True)
    assert rounds(runs, 9) == (runs, True)
