"""A quarantined entry keeps running, and until its date its failures stay out of the
verdict (run's exit status, report --fail-on-regression, the pull request's comment) and
the regression flags; everything shows it as quarantined. The day after, it counts again
and `catalog validate` warns."""

import json
import os
from datetime import UTC, datetime

import pytest

from mlcc_ci import schema
from mlcc_ci.quarantine import Quarantine
from mlcc_ci.resources import catalog_dir

pytestmark = pytest.mark.functional

NAME = "http-flask"
REASON = "upstream flask 3.1 breaks the sample model; see issue 42"
HELD = f"quarantine:\n  reason: {REASON}\n  until: 2099-12-31\n"
EXPIRED = f"quarantine:\n  reason: {REASON}\n  until: 2020-01-31\n"


@pytest.fixture
def team(cli, tmp_path, monkeypatch):
    folder = tmp_path / "team"
    assert cli("catalog", "init", str(folder), NAME, "http-fastapi").exit_code == 0
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    return folder


def _quarantine(team, text):
    """Append `text` to the entry; the path, and the line `text` starts on."""
    path = team / f"{NAME}.yaml"
    before = path.read_text()
    path.write_text(before + text)
    return path, len(before.splitlines()) + 1


def _run(cli, team, tmp_path, monkeypatch, fail=False):
    if fail:
        monkeypatch.setenv("MLCC_CI_FAULT", f"{NAME}:deploy_test:fail")
    else:
        monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    work = str(tmp_path / "work")
    return cli("--catalog", str(team), "run", NAME, "--profile", "example", "--work-dir", work)


def _passed_then_failed(cli, team, tmp_path, monkeypatch):
    """A regression: passed, then failed; returns the failing run's output."""
    assert _run(cli, team, tmp_path, monkeypatch).exit_code == 0
    return _run(cli, team, tmp_path, monkeypatch, fail=True)


# -- the date ------------------------------------------------------------------------------


def test_it_holds_to_the_end_of_its_day_in_utc():
    q = Quarantine("r", "2026-03-01")
    assert q.holds(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC))
    assert not q.holds(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    assert not Quarantine("r", "2026-02-30").holds(datetime(2020, 1, 1, tzinfo=UTC))


# -- the catalog ---------------------------------------------------------------------------


def test_a_quarantine_needs_a_reason_and_a_real_date(cli, team):
    path, at = _quarantine(team, "quarantine:\n  until: 2026-02-30\n  reson: flaky\n")
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 2
    where = os.path.relpath(path)
    lines = [x for x in result.output.splitlines() if not x.startswith("note: ")]
    assert lines == [
        f"{where}:{at}: {NAME} $.quarantine: missing required key 'reason'",
        f'{where}:{at + 2}: {NAME} $.quarantine.reson: unknown key "reson" '
        "(did you mean 'reason'?)",
        "2 problems found",
    ]
    path.write_text(path.read_text().replace("reson: flaky", "reason: flaky"))
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 2
    said = f"{where}:{at + 1}: {NAME} $.quarantine.until: '2026-02-30' is not a day of the "
    assert said + "calendar (YYYY-MM-DD)" in result.output.splitlines()
    path.write_text(path.read_text().replace("2026-02-30", "next week"))
    assert "does not match pattern" in cli("catalog", "validate", str(team)).output


def test_the_schema_declares_the_field_as_the_loader_reads_it(team):
    from mlcc_ci.catalog import load_valid_catalog

    _quarantine(team, HELD)  # an unquoted date: YAML reads a date, the entry keeps the text
    entry = load_valid_catalog([team]).get(NAME)
    assert entry.data["quarantine"] == {"reason": REASON, "until": "2099-12-31"}
    assert schema.problems(dict(entry.data), schema.ENTRY_SCHEMA) == []
    assert entry.config_id == load_valid_catalog([catalog_dir()]).get(NAME).config_id


def test_validate_warns_when_a_quarantine_expired_and_still_passes(cli, team):
    path, at = _quarantine(team, EXPIRED)
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 0, result.output
    warning = (
        f"{os.path.relpath(path)}:{at + 2}: {NAME} $.quarantine.until: warning: the quarantine "
        "expired on 2020-01-31: its failures count again (fix the entry, then remove the "
        "quarantine, or give it a later date)"
    )
    assert warning in result.output.splitlines()
    assert result.output.splitlines()[-1] == "catalog valid: 2 entries"
    # in a pull request's check, a warning annotation on that line (the check still passes)
    github = cli("catalog", "validate", "--format", "github", str(team))
    assert github.exit_code == 0
    (annotation,) = [line for line in github.output.splitlines() if line.startswith("::")]
    assert annotation == (
        f"::warning file={os.path.relpath(path)},line={at + 2},title=mlcc-ci catalog::"
        + warning.split(": ", 1)[1]
    )
    path.write_text(path.read_text().replace("2020-01-31", "2099-12-31"))
    assert "expired" not in cli("catalog", "validate", str(team)).output


# -- in force: kept out of the verdict, shown everywhere -----------------------------------


def test_a_quarantined_failure_is_out_of_the_verdict_and_shown_everywhere(
    cli, team, tmp_path, monkeypatch
):
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.dashboard import ReportCache
    from mlcc_ci.report import render
    from mlcc_ci.resources import use_catalog
    from mlcc_ci.stores.open import open_store

    _quarantine(team, HELD)
    ran = _passed_then_failed(cli, team, tmp_path, monkeypatch)
    assert ran.exit_code == 0, ran.output  # it ran, failed, and does not fail the run
    row = next(x for x in ran.output.splitlines() if x.split()[:2] == [NAME, "fail-deploy_test"])
    assert "(quarantined until 2099-12-31)" in row
    assert ran.output.splitlines()[-1].startswith("0 passed, 0 failed, 1 quarantined (not counted)")

    at = ("--catalog", str(team))
    assert cli(*at, "report", "--fail-on-regression").exit_code == 0
    doc = json.loads(cli(*at, "report", "--json").output)
    assert schema.problems(doc, schema.REPORT_SCHEMA) == []
    config = doc["configurations"][NAME]
    assert config["status"] == "fail-deploy_test" and config["regression"] is None
    assert config["quarantine"] == {"reason": REASON, "until": "2099-12-31"}
    assert doc["quarantined"] == [NAME] and doc["regressions"] == []
    assert (doc["summary"]["failing"], doc["summary"]["quarantined"]) == (1, 1)

    text = " ".join(cli(*at, "report").output.split())
    assert "REGRESSION" not in text
    assert f"QUARANTINED {NAME}: until 2099-12-31 (its failures are not counted): {REASON}" in text
    assert "| 1 quarantined" in text

    md = cli(*at, "report", "--format", "markdown").output
    verdict = md.splitlines()[1]
    assert verdict.startswith("**✅ no failures caused by this change")
    assert f"1 quarantined, not counted ({NAME} until 2099-12-31)" in verdict
    assert "### Quarantined" in md and "REGRESSION" not in md and "Caused by" not in md
    assert "| 🔇 fail-deploy\\_test \\[unclassified\\] (quarantined until 2099-12-31) |" in md

    page = cli(*at, "report", "--format", "html").output
    assert '<ul id="quarantined">' in page and "quarantined until 2099-12-31" in page
    assert REASON in page and 'data-group="quarantined"' in page

    junit = cli(*at, "report", "--format", "junit").output  # a test reporter fails no check
    assert "<failure" not in junit
    assert f'<skipped message="quarantined until 2099-12-31: {REASON}; last result' in junit
    (annotation,) = cli(*at, "report", "--format", "github").output.splitlines()
    assert annotation.startswith("::warning ") and "quarantined until 2099-12-31" in annotation

    one = cli(*at, "report", NAME).output
    assert (
        one.splitlines()[0]
        == f"{NAME}: fail-deploy_test [unclassified] (quarantined until 2099-12-31)"
    )
    said = f"QUARANTINE: until 2099-12-31 (its failures are not counted): {REASON}"
    assert said in " ".join(one.split()) and "REGRESSION" not in one

    status = cli(*at, "status").output
    assert "  Quarantined:     1 (counted above; their failures are left out of the verdict)" in (
        status
    )
    assert f"  - {NAME}: fail-deploy_test [unclassified], until 2099-12-31" in status
    plan = json.loads(cli(*at, "plan", "--json", "--now", "2099-06-01T00:00:00Z").output)
    due = next(d for d in plan["due"] if d["name"] == NAME)
    assert due["reason"] == "stale"  # never "regressed" while quarantined
    assert due["quarantine"] == {"reason": REASON, "until": "2099-12-31"}
    shown = cli(*at, "plan", "--now", "2099-06-01T00:00:00Z").output
    line = next(x for x in shown.splitlines() if x.startswith(f"  {NAME} "))
    assert line.endswith(f"[quarantined until 2099-12-31: {REASON}]")

    use_catalog(team)
    store = open_store(None)
    try:
        cache = ReportCache(store, load_valid_catalog())
        served = cache.answer("html", lambda r: render.html(r, live=True))
    finally:
        store.close()
    assert b"quarantined until 2099-12-31" in served


def test_after_its_date_the_failure_counts_again(cli, team, tmp_path, monkeypatch):
    _quarantine(team, EXPIRED)
    ran = _passed_then_failed(cli, team, tmp_path, monkeypatch)
    assert ran.exit_code == 1
    assert "quarantined" not in ran.output
    at = ("--catalog", str(team))
    check = cli(*at, "report", "--fail-on-regression")
    assert check.exit_code == 1 and f"regression: {NAME}" in check.output
    doc = json.loads(cli(*at, "report", "--json").output)
    assert doc["configurations"][NAME]["quarantine"] is None and doc["quarantined"] == []
    md = cli(*at, "report", "--format", "markdown").output
    assert md.splitlines()[1].startswith(f"**❌ 1 configuration newly failing ({NAME})")
