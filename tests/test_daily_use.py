"""Daily use: help from the catalog, hidden internals, the dry run of a profile that skips."""

import re
import shutil
from pathlib import Path

import pytest

from mlcc_ci.resources import data_path

pytestmark = pytest.mark.functional


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/results.db"
    monkeypatch.setenv("MLCC_CI_STORE", url)
    return url


def _help_line(output: str, option: str) -> str:
    """The help of `option`, its wrapped lines joined."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(option))
    text = [lines[start].strip().removeprefix(option).strip()]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 10) or line.strip().startswith("-"):
            break
        text.append(line.strip())
    return " ".join(text)


@pytest.mark.parametrize("command", ["run", "plan", "report", "status", "dashboard", "trigger"])
def test_profile_help_lists_the_catalogs_profiles(cli, command):
    help_text = _help_line(cli(command, "--help").output, "--profile NAME")
    assert help_text.startswith("Run profile from the catalog defaults (default, static, example).")


def test_register_names_the_profiles_whose_store_it_uses(cli):
    help_text = _help_line(cli("register", "--help").output, "--profile NAME")
    assert help_text == (
        "Use the store of this run profile (default, static, example) unless --store is given."
    )


def test_profile_help_follows_a_teams_catalog(cli, tmp_path):
    team = tmp_path / "team"
    shutil.copytree(data_path("catalog"), team)
    defaults = team / "_defaults.yaml"
    defaults.write_text(defaults.read_text().replace("\n  example:\n", "\n  nightly:\n"))
    help_text = _help_line(cli("--catalog", str(team), "run", "--help").output, "--profile NAME")
    assert "(default, static, nightly)" in help_text


def test_dashboard_help_says_how_often_the_page_asks(cli):
    script = (data_path("reports") / "report.js").read_text()
    interval_ms = int(re.search(r"setInterval\(poll, (\d+)\)", script).group(1))
    help_text = " ".join(cli("dashboard", "--help").output.split())
    assert f"every {interval_ms // 1000} s" in help_text
    assert "60 s" not in help_text


def test_internal_commands_are_hidden_but_work(cli):
    listed = cli("--help").output
    assert "record-failure" not in listed
    assert "status" in listed and "report" in listed
    assert cli("record-failure", "--help").exit_code == 0


def test_dry_run_of_static_shows_the_skipped_stages_with_the_reason(cli, store_env):
    out = cli("run", "http-flask", "--dry-run", "--profile", "static").output
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    reason = "skipped: the static profile proves generation and validation only"
    for stage in ("build", "deploy_test", "teardown"):
        assert rows[stage].split(None, 1)[1] == reason
    assert "ml-container-creator" in rows["generate"]
    assert "do/build" not in out and "do/clean" not in out
    every = cli("run", "http-flask", "--dry-run", "--profile", "example").output
    assert "skipped:" not in every and "./do/clean all --force" in every


# -- status and report agree; one configuration with its history ---------------------------


def _every_kind(store):
    """A store with every kind of record: passing, failing (a regression), running (its
    first run), untested, a catalog entry never registered, a second record of one
    configuration (as a generated project registers it), an unsupported entry registered
    and the others not, and a custom configuration the catalog does not have."""
    from dataclasses import replace

    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.registration import from_entry
    from mlcc_ci.stores.base import claim
    from tests.reporting import SHARED_CAUSE, run_through
    from tests.stores import registration

    catalog = load_valid_catalog()
    supported = [e for e in catalog.entries if e.supported]
    unsupported = [e for e in catalog.entries if not e.supported]
    ok = ("pass", "")
    run_through(store, supported[0], [ok, ok, ("fail-build", SHARED_CAUSE)])
    run_through(store, supported[1], [ok])
    store.register(from_entry(supported[2]), "2026-01-01T00:00:00Z")
    claim(store, store.get(supported[2].config_id), "now-1", "2026-03-01T00:00:00.000Z")
    store.register(from_entry(supported[3]), "2026-01-01T00:00:00Z")  # untested
    # supported[4:] never registered
    twin = replace(from_entry(supported[1]), configId="00000000000000aa", source="project")
    store.register(twin, "2026-01-02T00:00:00Z")
    store.register(from_entry(unsupported[0]), "2026-01-01T00:00:00Z")
    custom = registration(99, deploymentConfig="my-custom", source="project")
    store.register(custom, "2026-01-01T00:00:00Z")
    return catalog, supported, unsupported


@pytest.fixture
def every_kind(tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "r.db")
    made = _every_kind(store)
    store.close()
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/r.db")
    return made


def test_status_and_report_agree_on_every_count(cli, every_kind):
    import json

    catalog, supported, unsupported = every_kind
    status = json.loads(cli("status", "--json").output)
    report = json.loads(cli("report", "--json").output)
    for key, value in report["summary"].items():
        assert status[key] == value, key
    assert status["records"] == sum(c["recordCount"] for c in report["configurations"].values())
    # what each count is, so agreeing cannot mean agreeing on something wrong
    assert status["total"] == len(catalog.entries) + 1  # the custom one
    assert status["records"] == 7
    assert status["unsupported"] == len(unsupported) >= 3
    assert (status["passing"], status["failing"], status["running"]) == (1, 1, 1)
    assert status["untested"] == len(supported) - 3 + 1  # the never-run ones and my-custom
    assert status["lastCompleted"] == "2026-02-03T01:00:00Z"

    text = cli("status").output
    summary = next(line for line in cli("report").output.splitlines() if line.startswith("Summary"))
    for label, key in (("Unsupported", "unsupported"), ("Untested", "untested")):
        assert f"  {label + ':':<16} {status[key]}\n" in text
        assert f"| {status[key]} {key} |" in summary


def test_report_name_shows_one_configuration_with_its_history(cli, every_kind):
    _, supported, _ = every_kind
    name = supported[0].name
    out = cli("report", name).output
    assert out.startswith(f"{name}: fail-build [unclassified] ⚠️ REGRESSION\n")
    assert (
        "  stages:     generate ✓  validate ✓  build ✗  deploy_test ·  register ·  teardown ✓"
        in out
    )
    history = out.split("History (newest first, 3 runs; the error under each failure):\n")[1]
    rows = history.splitlines()
    assert rows[0].split() == ["Finished", "Status", "Duration", "Failed", "stage"]
    assert rows[1].split() == ["2026-02-03", "01:00", "UTC", "fail-build", "7m", "25s", "build"]
    assert rows[2].startswith(" " * 24 + "build failed: ERROR: failed to push 123456789012.dkr")
    assert rows[2].endswith(" …") and len(rows[2]) <= 100
    assert rows[3].split()[3:] == ["pass", "27m", "26s", "-"]
    assert len(rows) == 5
    assert all(len(line) <= 100 for line in out.splitlines())
    assert cli("status", name).output == out


def test_report_name_as_json_has_every_run_with_its_error(cli, every_kind):
    import json

    _, supported, _ = every_kind
    name = supported[0].name
    doc = json.loads(cli("report", name, "--json").output)
    assert doc["name"] == name and doc["status"] == "fail-build" and doc["regression"]
    assert [(r["status"], r["failedStage"]) for r in doc["history"]] == [
        ("fail-build", "build"),
        ("pass", None),
        ("pass", None),
    ]
    assert doc["history"][0]["errorMessage"].startswith("build failed: ERROR: failed to push")
    assert json.loads(cli("status", name, "--json").output) == doc


def test_one_configuration_of_two_records_shows_both_histories(cli, every_kind):
    """The harness's record passed on 02-01; the project's own record of the same
    deployment then runs and fails on 02-05: one configuration, both runs, newest first,
    its status the newer run's."""
    import os

    from mlcc_ci.models import Outcome, StageResult, run_of
    from mlcc_ci.stores.base import claim, finish
    from mlcc_ci.stores.sqlite import SqliteStore

    _, supported, _ = every_kind
    store = SqliteStore(Path(os.environ["MLCC_CI_STORE"].removeprefix("sqlite:///")))
    theirs = store.get("00000000000000aa")
    running = claim(store, theirs, "theirs-1", "2026-02-05T00:00:00.000Z")
    outcome = Outcome(
        status="fail-validate",
        finishedAt="2026-02-05T00:02:00Z",
        durationSeconds=120.0,
        stageResults={
            "generate": StageResult("pass", 20.0),
            "validate": StageResult("fail", 100.0, "", "do/validate found errors"),
        },
        errorMessage="validate failed: do/validate found errors",
    )
    store.append_run(run_of(running, outcome))
    finish(store, running, outcome)
    store.close()

    out = cli("report", supported[1].name).output
    assert out.startswith(f"{supported[1].name}: fail-validate [unclassified] ⚠️ REGRESSION\n")
    assert f"  configId:   {supported[1].config_id} (2 records)\n" in out
    assert "  pass rate:  50% of 2\n" in out
    history = out.split("History (newest first, 2 runs; the error under each failure):\n")[1]
    rows = history.splitlines()
    failed = ["2026-02-05", "00:02", "UTC", "fail-validate", "2m", "00s", "validate"]
    assert rows[1].split() == failed
    assert rows[2].strip() == "validate failed: do/validate found errors"
    assert rows[3].split()[:4] == ["2026-02-01", "01:00", "UTC", "pass"]
    assert len(rows) == 4


def test_a_never_run_or_custom_configuration_and_an_unknown_name(cli, every_kind):
    from mlcc_ci.errors import NotFound

    _, supported, unsupported = every_kind
    never = cli("report", supported[-1].name).output
    assert "  last test:  never" in never and never.endswith("History: no finished runs\n")
    assert cli("status", unsupported[0].name).output.startswith(
        f"{unsupported[0].name}: unsupported"
    )
    assert cli("report", "my-custom").output.startswith("my-custom: untested")
    typo = cli("report", supported[0].name[:-1] + "x")
    assert typo.exit_code == NotFound.exit_code
    assert typo.output == (
        f"Error: no catalog entry named '{supported[0].name[:-1]}x' "
        f"(did you mean '{supported[0].name}'?)\n"
    )
    assert cli("status", "nope").output.startswith("Error: no catalog entry named 'nope' (known: ")
    html = cli("report", supported[0].name, "--format", "html")
    assert html.exit_code == 2
    assert html.output == "Error: report NAME is shown as text or json, not html\n"


# -- an edited entry is due at once; an idle plan says when the next run falls due ---------


@pytest.fixture
def team(tmp_path, store_env):
    """A team catalog of two entries, http-flask passed an hour before --now, triton-fil
    three hours (an entry with no record would be due at once, as new)."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.stores.sqlite import SqliteStore
    from tests.reporting import run_through

    folder = tmp_path / "team"
    shutil.copytree(data_path("catalog"), folder)
    for entry in folder.glob("[!_]*.yaml"):
        if entry.stem not in ("http-flask", "triton-fil"):
            entry.unlink()
    catalog = load_valid_catalog()  # the same entries as the copy
    store = SqliteStore(tmp_path / "results.db")
    run_through(store, catalog.get("triton-fil"), [("pass", "")], day0=1)
    run_through(store, catalog.get("http-flask"), [("pass", "")], day0=2)
    store.close()
    return folder


NOW_ARG = ("--now", "2026-02-02T02:00:00Z")  # http-flask finished 01:00, triton-fil a day ago
FRESH = ("--stale-hours", "87600")


def test_an_idle_plan_says_when_the_next_run_falls_due(cli, team):
    import json

    out = cli("--catalog", str(team), "plan", *NOW_ARG, "--stale-hours", "48").output
    assert out.splitlines()[:2] == [
        "Due (0):",
        "  Nothing is due. Next: triton-fil (pass) at 2026-02-03 01:00 UTC, in 23.0h, when its "
        "result goes stale.",
    ]
    doc = json.loads(
        cli("--catalog", str(team), "plan", *NOW_ARG, "--stale-hours", "48", "--json").output
    )
    assert doc["due"] == [] and doc["nextDue"] == {
        "name": "triton-fil",
        "configId": doc["nextDue"]["configId"],
        "status": "pass",
        "at": "2026-02-03T01:00:00.000Z",
        "blocked": None,
    }
    busy = json.loads(cli("--catalog", str(team), "plan", *NOW_ARG, "--json").output)
    assert [d["name"] for d in busy["due"]] == ["triton-fil"] and busy["nextDue"] is None


def test_an_edited_entry_is_due_at_once_without_register(cli, team, tmp_path):
    import json

    catalog_args = ("--catalog", str(team))
    # both passed months ago: fresh for ten years, so only the edit makes one due
    flask = team / "http-flask.yaml"
    flask.write_text(flask.read_text().replace("python:3.12-slim", "python:3.13-slim"))
    plan = json.loads(cli(*catalog_args, "plan", *FRESH, "--json").output)
    assert [(d["name"], d["reason"], d["detail"]) for d in plan["due"]] == [
        ("http-flask", "changed", "catalog entry changed since its last run (pass)")
    ]
    text = cli(*catalog_args, "plan", *FRESH).output
    assert "  http-flask                   changed          catalog entry changed since" in text
    dry = cli(*catalog_args, "run", "--due", "--dry-run", *FRESH).output
    assert '"baseImage":"python:3.13-slim"' in dry and "3.12" not in dry
    ran = cli(
        *catalog_args,
        "run",
        "--due",
        *FRESH,
        "--profile",
        "example",
        "--work-dir",
        str(tmp_path / "work"),
    )
    assert ran.exit_code == 0, ran.output
    assert (
        "registered http-flask anew: catalog entry changed since its last run (pass)" in ran.output
    )
    assert ran.output.splitlines()[-1].startswith("1 passed, 0 failed")
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "results.db")
    record = next(r for r in store.records() if r.deploymentConfig == "http-flask")
    store.close()
    assert json.loads(record.configJson)["baseImage"] == "python:3.13-slim"
    assert record.testStatus == "pass" and record.profile == "example"
    again = json.loads(cli(*catalog_args, "plan", *FRESH, "--json").output)
    assert again["due"] == []


def test_an_entry_whose_identity_changed_is_due_at_once_without_register(cli, team, tmp_path):
    """A new instance type is a new configId, and no record has it: plan shows the entry due
    ("new"), and `run --due` registers and runs it; the earlier identity stays, never due."""
    import json

    catalog_args = ("--catalog", str(team))
    flask = team / "http-flask.yaml"
    flask.write_text(flask.read_text().replace("ml.m5.large", "ml.m5.xlarge"))
    plan = json.loads(cli(*catalog_args, "plan", *FRESH, "--json").output)
    assert [(d["name"], d["reason"], d["status"]) for d in plan["due"]] == [
        ("http-flask", "new", "untested")
    ]
    assert "Not registered" not in cli(*catalog_args, "plan", *FRESH).output
    work = ("--work-dir", str(tmp_path / "work"))
    ran = cli(*catalog_args, "run", "--due", *FRESH, "--profile", "example", *work)
    assert ran.exit_code == 0, ran.output
    assert "registered http-flask: no record under its configId" in ran.output
    assert ran.output.splitlines()[-1].startswith("1 passed, 0 failed")
    again = json.loads(cli(*catalog_args, "plan", *FRESH, "--json").output)
    assert again["due"] == []
    status = json.loads(cli(*catalog_args, "status", "--json").output)
    assert (status["records"], status["earlierIdentityRecords"]) == (3, 1)


def test_an_idle_plan_names_a_blocked_configuration_and_its_retry_time(cli, team, store_env):
    import json
    from dataclasses import replace

    from mlcc_ci.models import Blocked
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(Path(store_env.removeprefix("sqlite:///")))
    flask = next(r for r in store.records() if r.deploymentConfig == "http-flask")
    fil = next(r for r in store.records() if r.deploymentConfig == "triton-fil")
    # triton-fil goes stale at 2026-02-03 01:00; http-flask's result is stale already, but
    # its last run was blocked: it may be tried again at 12:00, before triton-fil
    block = Blocked("quota", "deploy_test", "2026-02-02T01:30:00Z", "2026-02-02T12:00:00Z")
    stale_flask = replace(flask, lastTestTimestamp="2026-01-31T00:00:00Z", blocked=block)
    store.replace(
        replace(stale_flask, version=flask.version + 1),
        expect_version=flask.version,
        expect_run_id=flask.runId,
    )
    store.close()
    out = cli("--catalog", str(team), "plan", *NOW_ARG, "--stale-hours", "48").output
    assert out.splitlines()[:2] == [
        "Due (0):",
        "  Nothing is due. Next: http-flask (blocked (quota)) at 2026-02-02 12:00 UTC, in "
        "10.0h, when it may be tried again.",
    ]
    skipped = next(
        line for line in out.splitlines() if line.split()[:2] == ["http-flask", "blocked"]
    )
    assert skipped.split(None, 2)[2] == (
        "blocked (quota) at deploy_test since 2026-02-02 01:30 UTC; tried again after "
        "2026-02-02 12:00 UTC"
    )
    doc = json.loads(
        cli("--catalog", str(team), "plan", *NOW_ARG, "--stale-hours", "48", "--json").output
    )
    assert doc["nextDue"] == {
        "name": "http-flask",
        "configId": flask.configId,
        "status": "pass",
        "at": "2026-02-02T12:00:00.000Z",
        "blocked": "quota",
    }
    assert fil.testStatus == "pass"
