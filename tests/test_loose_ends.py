"""Issue 33's loose ends, each said one way: moments written to the millisecond (a short run
never ends before it starts), one pass rate in the HTML trend and its table, `status --json`
naming the blocked configurations, a failure rule's file shown the same from any folder,
and one rounding of a duration in the run's summary and the history it stores."""

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Outcome, Record, StageResult, claimed, run_of
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from tests.reporting import classes_scenario, play

REPO = Path(__file__).resolve().parent.parent
TO_THE_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


# -- one precision --------------------------------------------------------------------------


def test_every_moment_is_written_to_the_millisecond():
    moment = datetime(2026, 6, 1, 12, 0, 5, 700_999, tzinfo=UTC)
    assert clock.iso(moment) == "2026-06-01T12:00:05.700Z"
    assert clock.iso(moment) == clock.iso(moment, ms=True)


@pytest.mark.functional
def test_a_run_that_died_within_its_second_ends_after_it_started(tmp_path):
    """The death of a run the orchestrator or scanner records (scheduling.fail_run): claimed
    at 12:00:05.300 and found dead at 12:00:05.700, its finish was written 12:00:05Z, 300 ms
    before its start."""
    from mlcc_ci.scheduling import fail_run
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "r.db")
    entry = load_valid_catalog().get("http-flask")
    start = datetime(2026, 6, 1, 12, 0, 5, 300_000, tzinfo=UTC)
    store.register(from_entry(entry), clock.iso(start - timedelta(hours=1)))
    running = claim(store, store.get(entry.config_id), "run-1", clock.iso(start))
    assert fail_run(store, running, start + timedelta(milliseconds=400), "died", "build")
    [run] = store.history(entry.config_id)
    store.close()
    assert (run.startedAt, run.finishedAt) == (
        "2026-06-01T12:00:05.300Z",
        "2026-06-01T12:00:05.700Z",
    )


@pytest.mark.functional
def test_a_short_runs_finish_is_never_before_its_start(cli, tmp_path, monkeypatch):
    """A run that fails at once, through `run` as a user starts it: its start and its finish
    in one format, to the millisecond, the finish not before the start."""
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/r.db")
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:generate:fail")
    ran = cli("run", "http-flask", "--profile", "example", "--work-dir", str(tmp_path / "w"))
    assert ran.exit_code == 1, ran.output
    from mlcc_ci.stores.open import open_store

    store = open_store(f"sqlite:///{tmp_path}/r.db")
    record = next(r for r in store.records() if r.deploymentConfig == "http-flask")
    [run] = store.history(record.configId)
    assert TO_THE_MS.fullmatch(run.startedAt) and TO_THE_MS.fullmatch(run.finishedAt), run
    assert clock.parse(run.finishedAt) >= clock.parse(run.startedAt)
    assert record.lastTestTimestamp == run.finishedAt


# -- one pass rate in the trend and the table -------------------------------------------------


@pytest.mark.functional
def test_the_trends_title_quotes_the_tables_pass_rate(tmp_path):
    """Five failures, then five passes: the table's rate over its window is 50% of 10; the
    trend's title said 100% now (the last five runs)."""
    from mlcc_ci.report.data import load_report
    from mlcc_ci.report.page import html
    from mlcc_ci.stores.sqlite import SqliteStore

    catalog = load_valid_catalog()
    store = SqliteStore(tmp_path / "r.db")
    play(store, catalog.get("http-flask"), ["fail-build"] * 5 + ["pass"] * 5, summary="x")
    report = load_report(store, catalog, datetime(2026, 2, 11, tzinfo=UTC))
    store.close()
    page = html(report)
    row = page[page.index('<tr data-config="http-flask"') :]
    cell = row[row.index('<td class="trend">') : row.index("</td>", row.index('class="trend"'))]
    title = re.search(r"<title>(.*?)</title>", cell)
    assert title and title.group(1).endswith(", 50% of 10 now"), cell
    assert cell.endswith("<div>50% of 10</div>")


# -- status --json names the blocked configurations --------------------------------------------


@pytest.mark.functional
def test_status_json_names_the_blocked_configurations(cli, tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "c.db")
    names = ("http-flask", "http-fastapi", "triton-fil", "triton-python", "transformers-vllm")
    classes_scenario(store, names)
    store.close()
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/c.db")
    status = json.loads(cli("status", "--json").output)
    assert status["blocked"] == 1
    assert status["blockedConfigurations"] == [
        {
            "name": "triton-fil",
            "class": "capacity",
            "stage": "deploy_test",
            "since": "2026-02-03T00:00:00.000Z",
            "retryAfter": "2026-02-03T01:30:00Z",
            "rounds": 1,
            "rule": "sagemaker-capacity",
            "capture": "Unable to provision requested ML compute capacity",
        }
    ]


# -- a rule's file, the same from any folder --------------------------------------------------


@pytest.mark.functional
def test_a_rules_file_is_shown_the_same_from_any_folder(cli, tmp_path, monkeypatch):
    """Relative to the catalog in use when it is in it, else absolute; the working directory
    changes nothing (it gave `ci/catalog/_failures.yaml:2` from one folder and
    `_failures.yaml:2` from another)."""
    team = tmp_path / "ci" / "catalog"
    assert cli("catalog", "init", str(team), "http-flask", "--owner", "team-a").exit_code == 0
    (team / "_failures.yaml").write_text(
        "rules:\n  - name: our-proxy\n    class: infra\n    stages: [build]\n"
        "    pattern: 'proxy (refused)'\n    retry: {count: 1, backoffSeconds: 30}\n"
        "    hint: Our proxy; try again.\n"
    )
    shipped = REPO / "catalog" / "_failures.yaml"

    def sources() -> list[str]:
        rules = json.loads(cli("--catalog", str(team), "failures", "rules", "--json").output)
        return [rules[0]["source"], rules[1]["source"]]

    seen = []
    for folder in (tmp_path, team, REPO, tmp_path / "ci"):
        monkeypatch.chdir(folder)
        seen.append(sources())
    assert seen == [["_failures.yaml:2", f"{shipped}:12"]] * 4
    monkeypatch.chdir(tmp_path)  # the shipped catalog in use: its own file, relative to it
    rows = json.loads(cli("failures", "rules", "--json").output)
    assert rows[0]["source"] == "_failures.yaml:12"
    assert os.path.isfile(team / rows[0]["source"].rsplit(":", 1)[0])


# -- one rounding of a duration ----------------------------------------------------------------


@pytest.mark.parametrize("seconds", [9.9496, 3.94951, 59.4996, 0.04951])
def test_a_runs_summary_and_its_stored_history_read_one_duration(seconds):
    """The run's summary shows the outcome's seconds; the history and the report show the
    stored run's, kept to the millisecond: 9.9496 s read 9.9s in the one, 10s in the other."""
    registered = Record.registered(
        from_entry(load_valid_catalog().get("http-flask")), "2026-06-01T11:00:00.000Z"
    )
    running = claimed(registered, "run-1", "2026-06-01T12:00:00.000Z")
    outcome = Outcome(
        "pass", "2026-06-01T12:00:10.000Z", seconds, {"generate": StageResult("pass", 1.0)}
    )
    stored = run_of(running, outcome).durationSeconds
    assert stored == round(seconds, 3)
    assert clock.duration(outcome.durationSeconds) == clock.duration(stored)
