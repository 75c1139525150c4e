"""One run, said one way everywhere: its duration reads the same in the run's summary, the
report and the history; `plan` shows every moment in one format; one run is "1 run"."""

import re

import pytest

from mlcc_ci import clock

pytestmark = pytest.mark.functional


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0, "0.0s"),
        (3.94, "3.9s"),
        (9.94, "9.9s"),
        (9.96, "10s"),  # never "10.0s", which 10 itself would not read
        (42.4, "42s"),
        (425.0, "7m 05s"),
        (7380.0, "2h 03m"),
        (-0.5, "0.0s"),
    ],
)
def test_one_way_to_show_a_duration(seconds, shown):
    assert clock.duration(seconds) == shown


def test_summary_report_and_history_agree_on_a_runs_duration(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/r.db")
    ran = cli("run", "http-flask", "--profile", "example", "--work-dir", str(tmp_path / "w"))
    assert ran.exit_code == 0, ran.output
    summary = next(x for x in ran.output.splitlines() if x.split()[:2] == ["http-flask", "pass"])
    took = summary.split()[2]
    assert re.fullmatch(r"\d+\.\ds|\d+s|\d+m \d\ds", took)
    md = cli("report", "--format", "markdown").output
    report = next(x for x in md.splitlines() if x.startswith("| http-flask |"))
    history = cli("history", "show", "http-flask").output.splitlines()[2]
    one = cli("report", "http-flask").output
    assert report.split(" | ")[3] == took
    assert history.endswith(f" {took}")
    assert "profile example" in one and f", {took}, profile example" in one
    assert "History (newest first, 1 run; the error under each failure):" in one
    assert "Infrastructure noise in the 1 run shown" in " ".join(cli("report").output.split())


def test_plan_shows_every_moment_one_way(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/r.db")
    work = str(tmp_path / "w")
    assert cli("run", "http-flask", "--profile", "example", "--work-dir", work).exit_code == 0
    out = cli("plan").output
    fresh = next(x for x in out.splitlines() if x.split()[:2] == ["http-flask", "fresh"])
    assert re.search(r"due after \d{4}-\d\d-\d\d \d\d:\d\d UTC$", fresh)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", out)  # no ISO time beside them
