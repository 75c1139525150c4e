"""Issue 32's report survivors: an untested record keeps no old time, and the runs of two
records of one configuration are read newest first."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Record, Run, StageResult
from mlcc_ci.registration import from_entry
from mlcc_ci.report.model import build_report
from mlcc_ci.stores.sqlite import SqliteStore
from tests.reporting import play

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()


def test_a_record_put_back_to_untested_shows_no_old_time_and_is_not_stale(cli, tmp_path):
    """`register --retest` puts a tested record back to untested and keeps its old
    lastTestTimestamp (the stores' if_not_exists): the report shows it untested, with no
    last test, no duration and no stale flag, though its runs are still its history."""
    entry = CATALOG.get("http-flask")
    store = SqliteStore(tmp_path / "r.db")
    play(store, entry, ["pass"])  # 2026-02-01, 3 s: long before now
    assert store.register(from_entry(entry), "2026-03-01T00:00:00Z", retest=True) == "changed"
    kept = store.get(entry.config_id)
    assert (kept.testStatus, kept.lastTestTimestamp, kept.lastTestDuration) == (
        "untested",
        "2026-02-01T01:00:00Z",
        3,
    )
    store.close()
    url = f"sqlite:///{tmp_path}/r.db"

    doc = json.loads(cli("report", "--format", "json", "--store", url).output)
    config = doc["configurations"][entry.name]
    assert {k: config[k] for k in ("status", "lastTest", "duration", "stale", "runs")} == {
        "status": "untested",
        "lastTest": None,
        "duration": None,
        "stale": False,
        "runs": 1,
    }
    assert [run["runId"] for run in config["history"]] == [f"{entry.name}-1"]
    assert entry.name in doc["untestedConfigs"]

    out = cli("report", "--store", url, env={"COLUMNS": "200"}).output
    (row,) = [line for line in out.splitlines() if line.startswith(f"{entry.name} ")]
    # name, status, project, then the last test and its duration: none
    assert row.split()[:5] == [entry.name, "untested", f"mlcc-ci-{entry.name}", "-", "-"]
    assert "2026-02-01" not in row


def _run(config_id: str, day: int, status: str, run_id: str) -> Run:
    stages = {"generate": StageResult("pass", 1.0)}
    if status != "pass":
        stages["build"] = StageResult("fail", 2.0)
    return Run(
        configId=config_id,
        startedAt=f"2026-02-{day:02d}T00:00:00.000Z",
        runId=run_id,
        finishedAt=f"2026-02-{day:02d}T01:00:00Z",
        status=status,
        durationSeconds=3.0,
        deploymentConfig="http-flask",
        stageResults=stages,
    )


def test_two_records_of_one_configuration_are_read_newest_first():
    """The harness's record and another writer's of the same deployment (a project's own
    `do/register --ci`): their runs interleave. The newest two failed, one on each record,
    after a pass: a regression since the other writer's failure, its last pass the
    harness's first run; not fixed."""
    entry = CATALOG.get("http-flask")
    mine = Record.registered(from_entry(entry), "2026-01-01T00:00:00Z")
    mine = replace(
        mine,
        testStatus="fail-build",
        lastTestTimestamp="2026-02-03T01:00:00Z",
        recentRuns=(
            _run(mine.configId, 3, "fail-build", "mine-3"),
            _run(mine.configId, 1, "pass", "mine-1"),
        ),
    )
    theirs = replace(
        mine,
        configId="00000000000000aa",
        source="project",
        lastTestTimestamp="2026-02-02T01:00:00Z",
        recentRuns=(_run("00000000000000aa", 2, "fail-build", "theirs-2"),),
    )
    report = build_report([entry], [theirs, mine], {}, datetime(2026, 2, 4, tzinfo=UTC))
    (row,) = report.configurations
    assert (row.status, row.recordCount, row.lastTest) == ("fail-build", 2, "2026-02-03T01:00:00Z")
    assert [r.runId for r in row.history] == ["mine-3", "theirs-2", "mine-1"]
    assert row.regression is not None
    assert (
        row.regression.since,
        row.regression.lastPass,
        row.regression.lastPassRunId,
        row.regression.failingRuns,
    ) == ("2026-02-02T00:00:00.000Z", "2026-02-01T01:00:00Z", "mine-1", 2)
    assert row.fixed is False
    assert [c.name for c in report.regressions] == [entry.name] and report.fixed == []
