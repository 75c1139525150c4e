"""The confidence of a configuration (mlcc_ci/confidence.py) and what a run keeps of what it
ran with (Run.generatorVersion, Run.provenImage)."""

from datetime import UTC, datetime

import pytest

from mlcc_ci import decode
from mlcc_ci.confidence import (
    BATTLE_TESTED,
    Window,
    assess,
    in_window,
    wilson_lower,
)
from mlcc_ci.models import Outcome, Record, Run, run_of
from mlcc_ci.resultparts import Failure

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)


def run(day: int, status: str = "pass", month: int = 3, **fields) -> Run:
    return Run(
        configId="c1",
        startedAt=f"2026-{month:02d}-{day:02d}T00:00:00.000Z",
        runId=f"r{month}-{day}",
        finishedAt=f"2026-{month:02d}-{day:02d}T01:00:00.000Z",
        status=status,
        durationSeconds=60.0,
        deploymentConfig="x",
        **fields,
    )


def newest_first(statuses: str, month: int = 3) -> list[Run]:
    """One run a day, the last on the 30th, 'p' a pass, 'f' a product failure, 'b' a blocked run,
    'e' a harness error; returned newest first."""
    made = []
    for day, mark in enumerate(statuses, start=31 - len(statuses)):
        if mark == "p":
            made.append(run(day, month=month, generatorVersion=f"1.{day}", provenImage=f"img{day}"))
        elif mark == "f":
            made.append(run(day, "fail-build", month, failure=Failure("product", "build")))
        elif mark == "b":
            made.append(
                run(day, "fail-deploy_test", month, failure=Failure("capacity", "deploy_test"))
            )
        else:
            made.append(run(day, "error", month))
    return made[::-1]


@pytest.mark.parametrize(
    ("passes", "runs", "lower"),
    [(0, 0, 0.0), (3, 3, 0.439), (10, 10, 0.722), (20, 20, 0.839), (9, 10, 0.596), (0, 5, 0.0)],
)
def test_wilson_lower_bound(passes, runs, lower):
    assert round(wilson_lower(passes, runs), 3) == lower


def test_twelve_passes_reach_battle_tested_and_eleven_do_not():
    assert wilson_lower(12, 12) >= BATTLE_TESTED > wilson_lower(11, 11)
    assert assess("c1", "x", newest_first("p" * 12), NOW).level == "battle-tested"
    assert assess("c1", "x", newest_first("p" * 11), NOW).level == "passing"


def test_levels():
    assert assess("c1", "x", [], NOW).level == "unknown"
    assert assess("c1", "x", newest_first("bbe"), NOW).level == "unknown"
    assert assess("c1", "x", newest_first("p" * 15 + "f"), NOW).level == "failing"
    assert assess("c1", "x", newest_first("pp"), NOW).level == "new"
    assert assess("c1", "x", newest_first("ppp"), NOW).level == "passing"
    assert assess("c1", "x", newest_first("p" * 14 + "f" + "p"), NOW).level == "passing"


def test_blocked_and_error_runs_count_for_nothing():
    with_noise = assess("c1", "x", newest_first("pbpepbp"), NOW)
    assert (with_noise.runs, with_noise.passes, with_noise.lower) == (4, 4, 0.51)
    assert with_noise.lastFailure is None


def test_a_stale_streak_is_passing_not_battle_tested():
    old = newest_first("p" * 15, month=1)  # newest pass on Jan 30: 60 days before NOW
    confidence = assess("c1", "x", old, NOW)
    assert confidence.runs == 15 and confidence.level == "passing"


def test_the_window_counts_the_newest_runs_within_its_days():
    runs = newest_first("f" * 10 + "p" * 20)
    assert [r.runId for r in in_window(runs, NOW)] == [r.runId for r in runs[:20]]
    assert assess("c1", "x", runs, NOW).passes == 20
    assert assess("c1", "x", runs, NOW, Window(runs=25)).passes == 20
    assert assess("c1", "x", runs, NOW, Window(runs=25)).runs == 25
    assert in_window(runs, NOW, Window(days=10)) == runs[:9]  # started after Mar 21, 12:00


def test_what_it_passed_with_newest_first_without_repeats_or_blanks():
    runs = [
        run(5, generatorVersion="1.6.0", provenImage="a@sha256:2"),
        run(4, "fail-build", generatorVersion="1.7.0", provenImage="a@sha256:3"),
        run(3, generatorVersion="1.6.0", provenImage="a@sha256:1"),
        run(2),
        run(1, generatorVersion="1.5.0", provenImage="a@sha256:1"),
    ]
    confidence = assess("c1", "x", runs, NOW)
    assert confidence.generatorVersions == ("1.6.0", "1.5.0")
    assert confidence.images == ("a@sha256:2", "a@sha256:1")
    assert confidence.lastPass == "2026-03-05T01:00:00.000Z"
    assert confidence.lastFailure == "2026-03-04T01:00:00.000Z"
    assert confidence.to_json() == {
        "configId": "c1",
        "name": "x",
        "level": "passing",
        "confidence": 0.376,
        "runs": 5,
        "passes": 4,
        "passRate": 0.8,
        "lastPass": "2026-03-05T01:00:00.000Z",
        "lastFailure": "2026-03-04T01:00:00.000Z",
        "generatorVersions": ["1.6.0", "1.5.0"],
        "images": ["a@sha256:2", "a@sha256:1"],
    }


def test_a_run_keeps_what_it_ran_with_through_the_store_item():
    record = Record(
        configId="c1",
        configJson="{}",
        deploymentConfig="x",
        buildStrategy="codebuild",
        projectName="p",
        createdAt="2026-03-01T00:00:00.000Z",
        source="catalog",
        version=2,
        runId="r1",
        runStartedAt="2026-03-01T00:00:00.000Z",
    )
    outcome = Outcome(
        status="pass",
        finishedAt="2026-03-01T00:10:00.000Z",
        durationSeconds=600.0,
        stageResults={},
        generatorVersion="1.6.0",
        provenImage="python@sha256:ab",
    )
    made = run_of(record, outcome)
    assert (made.generatorVersion, made.provenImage) == ("1.6.0", "python@sha256:ab")
    assert decode.run(made.to_item()) == made
    summary = made.summary_item()
    assert summary["generatorVersion"] == "1.6.0" and summary["provenImage"] == "python@sha256:ab"
    bare = run_of(record, Outcome("error", "2026-03-01T00:01:00.000Z", 60.0, {}))
    assert "generatorVersion" not in bare.to_item() and "provenImage" not in bare.summary_item()
    assert decode.run(bare.to_item()).generatorVersion == ""
    assert decode.run(bare.to_item()).provenImage == ""
