"""Daily use: help from the catalog, hidden internals, the dry run of a profile that skips."""

import re
import shutil

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
