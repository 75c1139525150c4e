"""An entry's identity changes: its model changes, it runs and fails, the model is put back
and it runs again. Every output shows the entry once, by the configId the catalog gives it
now; the other identity's runs are its history, never its status, and no phantom
regression fails the check. Run as a team would: its own catalog, the example profile."""

import json
from datetime import UTC, datetime

import pytest

from mlcc_ci import schema

pytestmark = pytest.mark.functional

NAME = "qwen-vllm-small"
SMALL = "Qwen/Qwen2.5-0.5B-Instruct"
LARGER = "Qwen/Qwen2.5-1.5B-Instruct"
ENTRY = f"""\
name: {NAME}
generatorName: transformers-vllm
architecture: transformers
backend: vllm
support:
  state: supported
baseImage: vllm/vllm-openai:v0.10.1
modelName: {SMALL}
instanceType: ml.g5.xlarge
buildStrategy: codebuild-submit
smokeTest:
  payload: {{"messages": [{{"role": "user", "content": "Say hello."}}], "max_tokens": 16}}
  expect: {{"path": "choices.0.message.content"}}
"""


@pytest.fixture
def team(cli, tmp_path, monkeypatch):
    """A team catalog (the shipped transformers-vllm and the team's smaller qwen entry of
    the same generator configuration) and the store its runs go to."""
    folder = tmp_path / "team"
    assert cli("catalog", "init", str(folder), "transformers-vllm").exit_code == 0
    (folder / f"{NAME}.yaml").write_text(ENTRY)
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    return folder


def _in(team):
    return ("--catalog", str(team))


def _run(cli, team, tmp_path, *, fail: str | None = None, monkeypatch=None):
    if fail:
        monkeypatch.setenv("MLCC_CI_FAULT", f"{NAME}:{fail}:fail")
    else:
        monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    work = tmp_path / "work"
    return cli(*_in(team), "run", NAME, "--profile", "example", "--work-dir", str(work))


def _set_model(team, model):
    path = team / f"{NAME}.yaml"
    text = path.read_text()
    path.write_text(text.replace(SMALL, model).replace(LARGER, model))


def _config_id(cli, team):
    listed = json.loads(cli(*_in(team), "catalog", "list", "--json").output)
    return next(e["configId"] for e in listed if e["name"] == NAME)


def _report(cli, team, *args):
    return cli(*_in(team), "report", *args)


def test_a_reverted_model_leaves_no_phantom_regression(cli, team, tmp_path, monkeypatch):
    first = _run(cli, team, tmp_path, monkeypatch=monkeypatch)
    assert first.exit_code == 0, first.output
    small = _config_id(cli, team)

    _set_model(team, LARGER)
    larger = _config_id(cli, team)
    assert larger != small
    failed = _run(cli, team, tmp_path, fail="validate", monkeypatch=monkeypatch)
    assert failed.exit_code == 1, failed.output

    # the larger model is the entry now: its own record, failing, never passed, so no
    # regression; the small model's passing run is history of an earlier identity
    doc = json.loads(_report(cli, team, "--json").output)
    row = doc["configurations"][NAME]
    assert (row["configId"], row["status"], row["regression"]) == (larger, "fail-validate", None)
    assert [(e["configId"], e["lastStatus"], e["runs"]) for e in row["earlierIdentities"]] == [
        (small, "pass", 1)
    ]
    assert row["earlierIdentities"][0]["differs"] == f"model {SMALL}"

    # put back: the small model's record is current again, before any run
    _set_model(team, SMALL)
    assert _config_id(cli, team) == small
    _agree(cli, team, small, larger, runs_of_current=1)

    again = _run(cli, team, tmp_path, monkeypatch=monkeypatch)
    assert again.exit_code == 0, again.output
    _agree(cli, team, small, larger, runs_of_current=2)


def _agree(cli, team, small, larger, runs_of_current):
    """plan, status, the dashboard and report in every format: passing, one row, the failing
    identity shown as an earlier one, nothing regressed, --fail-on-regression content."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.dashboard import ReportCache
    from mlcc_ci.report import render
    from mlcc_ci.resources import use_catalog
    from mlcc_ci.stores.open import open_store

    text = _report(cli, team).output
    assert "REGRESSION" not in text
    row = next(line for line in text.splitlines() if line.startswith(NAME))
    assert row.split()[1] == "pass"
    assert sum(line.startswith(NAME) for line in text.splitlines()) == 1
    earlier = f"EARLIER {NAME}: earlier identity {larger} (model {LARGER}): 1 run, last"
    assert earlier in " ".join(text.split())
    assert "fail-validate on " in " ".join(text.split())

    doc = json.loads(_report(cli, team, "--json").output)
    assert schema.problems(doc, schema.REPORT_SCHEMA) == []
    config = doc["configurations"][NAME]
    assert (config["configId"], config["status"], config["regression"]) == (small, "pass", None)
    assert config["runs"] == runs_of_current and config["passRate"] == 1.0
    assert [e["configId"] for e in config["earlierIdentities"]] == [larger]
    assert doc["regressions"] == [] and doc["summary"]["failing"] == 0
    assert doc["summary"]["passing"] == 1 and doc["summary"]["total"] == 2

    md = _report(cli, team, "--format", "markdown").output
    assert "REGRESSION" not in md and "newly failing" not in md
    assert f"earlier identity {larger}" in md
    html = _report(cli, team, "--format", "html").output
    assert 'class="flag"' not in html and f"earlier identity {larger}" in html

    check = _report(cli, team, "--fail-on-regression")
    assert check.exit_code == 0, check.output

    one = _report(cli, team, NAME).output
    assert one.startswith(f"{NAME}: pass\n")
    assert f"Earlier identities (1), not counted above:\n  earlier identity {larger}" in one

    status = json.loads(cli(*_in(team), "status", "--json").output)
    for key, value in doc["summary"].items():
        assert status[key] == value, key
    plan = json.loads(cli(*_in(team), "plan", "--json").output)
    fresh = [d for d in plan["skipped"] if d["name"] == NAME]
    assert [(d["configId"], d["reason"], d["status"]) for d in fresh] == [(small, "fresh", "pass")]
    assert not [d for d in plan["due"] if d["name"] == NAME]

    use_catalog(team)  # the dashboard reads the same model through its own cache
    store = open_store(None)
    try:
        served = json.loads(ReportCache(store, load_valid_catalog()).answer("json", render.as_json))
    finally:
        store.close()
    assert served["configurations"][NAME]["status"] == "pass"
    assert served["regressions"] == []


def test_a_stale_earlier_identity_is_superseded_never_due(cli, team, tmp_path, monkeypatch):
    """Once both results are stale, only the current identity is due: the other one is
    skipped as superseded, and nothing runs the model the catalog no longer has."""
    assert _run(cli, team, tmp_path, monkeypatch=monkeypatch).exit_code == 0
    small = _config_id(cli, team)
    _set_model(team, LARGER)
    larger = _config_id(cli, team)
    assert _run(cli, team, tmp_path, fail="validate", monkeypatch=monkeypatch).exit_code == 1
    _set_model(team, SMALL)
    later = ("--now", "2099-01-01T00:00:00Z")
    plan = json.loads(cli(*_in(team), "plan", "--json", *later).output)
    mine = [d for d in plan["due"] + plan["skipped"] if d["name"] == NAME]
    assert sorted((d["configId"], d["reason"]) for d in mine) == sorted(
        [(small, "stale"), (larger, "superseded")]
    )
    skipped = next(d for d in mine if d["reason"] == "superseded")
    assert (
        skipped["detail"]
        == f"an earlier identity: the catalog now gives the entry configId {small}"
    )


def test_an_entry_gone_from_the_catalog_is_shown_but_counted_nowhere(
    cli, team, tmp_path, monkeypatch
):
    """Its record stays, with its last result; no failure or regression of it reaches the
    verdict or the summary."""
    assert _run(cli, team, tmp_path, monkeypatch=monkeypatch).exit_code == 0
    assert _run(cli, team, tmp_path, fail="validate", monkeypatch=monkeypatch).exit_code == 1
    assert _report(cli, team, "--fail-on-regression").exit_code == 1  # a real regression
    (team / f"{NAME}.yaml").unlink()

    doc = json.loads(_report(cli, team, "--json").output)
    assert schema.problems(doc, schema.REPORT_SCHEMA) == []
    config = doc["configurations"][NAME]
    assert (config["status"], config["removed"], config["regression"]) == (
        "fail-validate",
        True,
        None,
    )
    assert doc["removed"] == [NAME] and doc["regressions"] == []
    assert doc["summary"]["total"] == 1 and doc["summary"]["failing"] == 0
    assert doc["summary"]["removed"] == 1
    assert _report(cli, team, "--fail-on-regression").exit_code == 0
    text = " ".join(_report(cli, team).output.split())
    assert f"REMOVED {NAME}: not in the catalog any more" in text
    assert "| 1 removed from the catalog" in text
    md = _report(cli, team, "--format", "markdown").output
    assert "Removed from the catalog, their records kept, counted nowhere: qwen" in md
    assert md.splitlines()[1].startswith("**✅")


def test_another_writers_record_of_the_same_deployment_is_the_current_identity():
    """A record under another configId (a generated project's own `do/register --ci` keys
    seven fields) of the deployment the entry describes now counts as the entry's; one of
    another model is an earlier identity."""
    from dataclasses import replace

    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.models import Record
    from mlcc_ci.registration import from_entry
    from mlcc_ci.report.model import build_report

    entry = load_valid_catalog().get("http-flask")
    mine = Record.registered(from_entry(entry), "2026-01-01T00:00:00Z")
    theirs = replace(mine, configId="00000000000000aa", source="project", version=0)
    config = json.loads(mine.configJson)
    old = replace(
        mine,
        configId="00000000000000bb",
        configJson=json.dumps({**config, "instanceType": "ml.m5.xlarge"}),
        testStatus="fail-build",
        lastTestTimestamp="2026-01-02T00:00:00Z",
    )
    report = build_report([entry], [old, theirs, mine], {}, datetime(2026, 2, 1, tzinfo=UTC))
    (row,) = report.configurations
    assert (row.name, row.configId, row.status, row.recordCount) == (
        "http-flask",
        entry.config_id,
        "untested",
        3,
    )
    assert [(e.configId, e.differs, e.lastStatus) for e in row.earlier] == [
        ("00000000000000bb", "instance type ml.m5.xlarge", "fail-build")
    ]
    assert report.summary.failing == 0 and report.summary.untested == 1


def test_a_stack_in_another_region_proves_the_current_identity(cli, tmp_path):
    """`register --region` (and a stack synthesized for another region) give each entry a
    configId of its own there: what runs there is the entry's current identity, never an
    earlier one."""
    store = f"sqlite:///{tmp_path}/shared.db"
    assert cli("register", "--from-catalog", "http-flask", "--store", store).exit_code == 0
    moved = cli(
        "register", "--from-catalog", "http-flask", "--region", "eu-west-1", "--store", store
    )
    assert moved.exit_code == 0, moved.output
    row = json.loads(cli("report", "http-flask", "--store", store, "--format", "json").output)
    assert (row["name"], row["recordCount"], row["earlierIdentities"]) == ("http-flask", 2, [])
