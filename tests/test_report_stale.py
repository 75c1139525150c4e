"""A report read from a store is stale by the schedule `plan` keeps (issue 34): the
`schedule` setting (MLCC_CI_SCHEDULE, then the settings file), the runs counted as the
store gives them (apart from their records, decoded as the report asks), and its next due
time said in the JSON and the HTML. Expectations come from cadence's own function, never
its curve."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from mlcc_ci import cadence, clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Record, Run, StageResult
from mlcc_ci.report import pagedata, render
from mlcc_ci.report.data import load_report
from tests.stores import registration, sqlite_store

pytestmark = pytest.mark.functional

LAST = "2026-02-07T00:00:00.000Z"  # three days before NOW
NOW = clock.parse("2026-02-10T00:00:00Z")


def streak(n: int, passes: int = 20) -> tuple[Run, ...]:
    """`passes` passing runs a day apart, the newest finishing at LAST."""
    end = clock.parse(LAST)
    return tuple(
        Run(
            configId=registration(n).configId,
            startedAt=clock.iso(end - timedelta(days=i, hours=1)),
            runId=f"r{n}-{i}",
            finishedAt=clock.iso(end - timedelta(days=i)),
            status="pass",
            durationSeconds=3.0,
            deploymentConfig=f"cfg-{n}",
            stageResults={"generate": StageResult("pass", 1.0)},
        ).summary()
        for i in range(passes)
    )


def battle_tested(store, n: int) -> Record:
    store.register(registration(n), "2026-01-01T00:00:00Z")
    record = store.get(registration(n).configId)
    done = replace(
        record,
        version=record.version + 1,
        testStatus="pass",
        lastTestTimestamp=LAST,
        recentRuns=streak(n),
    )
    store.replace(done, expect_version=record.version, expect_run_id=None)
    return done


def test_the_report_is_stale_by_the_schedule_setting_and_says_when_it_is_due(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no settings file but the one written below
    with sqlite_store(tmp_path) as store:
        record = battle_tested(store, 1)
        catalog = load_valid_catalog()
        confident = clock.parse(LAST) + cadence.every(record, timedelta(hours=24), "confidence")
        assert confident - clock.parse(LAST) > timedelta(hours=24)  # the streak counts

        monkeypatch.delenv("MLCC_CI_SCHEDULE", raising=False)
        report = load_report(store, catalog, NOW)  # the default: confidence
        c = next(c for c in report.configurations if c.name == "cfg-1")
        assert (report.schedule, c.stale, c.nextDue) == (
            "confidence",
            confident < NOW,
            clock.iso(confident),
        )
        assert report.configurations[0].nextDue is None  # a catalog entry never registered

        monkeypatch.setenv("MLCC_CI_SCHEDULE", "daily")
        daily = load_report(store, catalog, NOW)
        c = next(c for c in daily.configurations if c.name == "cfg-1")
        assert (daily.schedule, c.stale, c.nextDue) == ("daily", True, "2026-02-08T00:00:00.000Z")
        doc = render.as_dict(daily)["configurations"]["cfg-1"]
        assert (doc["stale"], doc["nextDue"]) == (True, "2026-02-08T00:00:00.000Z")
        page = render.html(daily)
        assert '<span class="muted" title="next test due 2026-02-08 00:00 UTC">(stale)' in page
        # the rows a page loads on demand say it alike
        row = json.dumps(pagedata.row(c, daily.generatedAt, None))
        assert (
            '["e", "span", "muted", " (stale)", {"title": "next test due 2026-02-08 00:00 UTC"}]'
            in row
        )

        # the settings file says it as well; the environment wins over it
        monkeypatch.delenv("MLCC_CI_SCHEDULE")
        (tmp_path / "mlcc-ci.toml").write_text('schedule = "daily"\n')
        assert load_report(store, catalog, NOW).schedule == "daily"
        monkeypatch.setenv("MLCC_CI_SCHEDULE", "confidence")
        assert load_report(store, catalog, NOW).schedule == "confidence"
        assert load_report(store, catalog, NOW, schedule="daily").schedule == "daily"
