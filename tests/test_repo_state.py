"""One repository, one state (issue 30): with a settings file the store and the run folders
default to `.mlcc-ci/` beside it; `work` is a setting; `keep-runs` and `clean` prune only
the runs of the store in use, whoever else shares the work folder."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from mlcc_ci.stores.open import open_store

pytestmark = pytest.mark.functional

FAIL_BUILD = "http-flask:build:fail"


def _repo(root: Path, settings: str) -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "mlcc-ci.toml").write_text(settings)
    return root


def _run(cli, monkeypatch, repo: Path, *, fail: bool = False) -> int:
    monkeypatch.chdir(repo)
    if fail:
        monkeypatch.setenv("MLCC_CI_FAULT", FAIL_BUILD)
    result = cli("run", "http-flask", "-q")
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    assert result.exit_code == (1 if fail else 0), result.output
    return result.exit_code


def _folders(work: Path) -> list[Path]:
    return sorted(work.glob("http-flask-*"))


def _history(db: Path) -> list[str]:
    from mlcc_ci.catalog import load_valid_catalog

    store = open_store(f"sqlite:///{db}", create=False)
    return [r.status for r in store.history(load_valid_catalog().get("http-flask").config_id)]


def _config(cli) -> dict:
    result = cli("config", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_two_repositories_keep_their_own_results_and_logs(cli, tmp_path, monkeypatch):
    settings = 'profile = "example"\nkeep-runs = 1\n'
    team = _repo(tmp_path / "team", settings)
    other = _repo(tmp_path / "other", settings)
    user_wide = Path(os.environ["XDG_DATA_HOME"]) / "mlcc-ci"

    _run(cli, monkeypatch, team, fail=True)
    (failing,) = _folders(team / ".mlcc-ci" / "work")
    for _ in range(3):  # the shipped http-flask, three times, elsewhere
        _run(cli, monkeypatch, other)

    assert _folders(team / ".mlcc-ci" / "work") == [failing]
    assert len(_folders(other / ".mlcc-ci" / "work")) == 1  # its own keep-runs
    assert _history(team / ".mlcc-ci" / "example-results.db") == ["fail-build"]
    assert _history(other / ".mlcc-ci" / "example-results.db") == ["pass"] * 3
    # nothing user-wide (the generator's own cache aside): no store, no run folder
    assert not list(user_wide.glob("*.db")) and not (user_wide / "work").exists()

    monkeypatch.chdir(team)
    shown = cli("logs", "http-flask")
    assert shown.exit_code == 0, shown.output
    assert "mlcc-ci: injected failure" in shown.output
    explained = cli("failures", "explain", failing.name.removeprefix("http-flask-"), "--json")
    assert explained.exit_code == 0, explained.output
    assert json.loads(explained.output)["from"] == str(failing / "logs" / "build.log")

    # .mlcc-ci/ ignores itself: git sees the settings file only
    for repo in (team, other):
        assert (repo / ".mlcc-ci" / ".gitignore").read_text().splitlines()[-1] == "*"
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        )
        assert status.stdout == "?? mlcc-ci.toml\n"

    # the team's own next runs prune its own runs, and only them
    _run(cli, monkeypatch, team)
    (newest,) = _folders(team / ".mlcc-ci" / "work")
    assert newest != failing
    assert len(_folders(other / ".mlcc-ci" / "work")) == 1


def test_a_work_folder_shared_by_choice_is_pruned_store_by_store(cli, tmp_path, monkeypatch):
    settings = 'profile = "example"\nkeep-runs = 1\nwork = "../shared"\n'
    team = _repo(tmp_path / "team", settings)
    other = _repo(tmp_path / "other", settings)
    shared = tmp_path / "shared"

    monkeypatch.chdir(team)
    values = _config(cli)["settings"]
    assert values["work"] == {
        "value": str(shared),
        "source": f"settings file {team / 'mlcc-ci.toml'}",
    }
    _run(cli, monkeypatch, team, fail=True)
    (failing,) = _folders(shared)
    assert (failing / ".mlcc-ci-store").read_text() == (
        f"sqlite://{team / '.mlcc-ci' / 'example-results.db'}\n"
    )
    for _ in range(3):
        _run(cli, monkeypatch, other)
    kept = _folders(shared)
    assert failing in kept and len(kept) == 2  # the team's failing run and other's newest

    # the dashboard the team starts serves its run's log from the shared folder
    monkeypatch.chdir(team)
    server = subprocess.Popen(
        [sys.executable, "-m", "mlcc_ci", "dashboard", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        url = server.stderr.readline().split(" on ", 1)[1].split()[0]
        with urllib.request.urlopen(f"{url}logs/{failing.name}/build.log", timeout=30) as page:
            assert "mlcc-ci: injected failure" in page.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)

    # `clean` removes only its own store's runs, and says what it left alone
    monkeypatch.chdir(other)
    dry = cli("clean", "--keep", "0", "--dry-run")
    assert dry.exit_code == 0, dry.output
    owner = f"sqlite://{other / '.mlcc-ci' / 'example-results.db'}"
    assert re.fullmatch(
        rf"would remove 1 run folder \([0-9.]+ MB\) of {re.escape(owner)} from "
        rf"{re.escape(str(shared))}, keeping 0 per configuration; "
        r"1 of other stores, or of none, left alone",
        dry.output.splitlines()[-1],
    ), dry.output
    assert cli("clean", "--keep", "0").exit_code == 0
    assert _folders(shared) == [failing]
    monkeypatch.chdir(team)
    assert "nothing to clean" not in cli("clean", "--keep", "0", "--dry-run").output
    assert cli("clean").output.startswith(f"nothing to clean in {shared} (1 run folder of ")


def test_a_store_shared_on_purpose_is_one_history(cli, tmp_path, monkeypatch):
    """Two spellings of one store (relative in one file, absolute in the other) are one
    store: one history, and the runs of it are pruned together, as it was chosen."""
    team = _repo(
        tmp_path / "team",
        'profile = "example"\nkeep-runs = 1\nstore = "sqlite://../team.db"\nwork = "../w"\n',
    )
    other = _repo(
        tmp_path / "other",
        f'profile = "example"\nkeep-runs = 1\nstore = "sqlite:///{tmp_path}/team.db"\n'
        'work = "../w"\n',
    )
    _run(cli, monkeypatch, team, fail=True)
    _run(cli, monkeypatch, other)
    assert _history(tmp_path / "team.db") == ["pass", "fail-build"]
    assert not list(tmp_path.glob("*/.mlcc-ci/*.db"))
    (kept,) = _folders(tmp_path / "w")  # one store: its keep-runs counts both repositories
    assert (kept / ".mlcc-ci-store").read_text() == f"sqlite://{tmp_path / 'team.db'}\n"
    monkeypatch.chdir(team)
    shown = cli("logs", "http-flask", "--stage", "generate")
    assert shown.exit_code == 0 and str(kept) in shown.output


def test_work_from_pyproject_and_the_environment(cli, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.mlcc-ci]\nprofile = "example"\nwork = "runs"\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    found = _config(cli)
    assert found["stateDir"] == str(tmp_path / ".mlcc-ci")
    values = found["settings"]
    assert values["work"] == {
        "value": str(tmp_path / "runs"),
        "source": f"settings file {tmp_path / 'pyproject.toml'} [tool.mlcc-ci]",
    }
    assert values["store"] == {
        "value": f"sqlite://{tmp_path}/.mlcc-ci/example-results.db",
        "source": "profile example, in .mlcc-ci/ beside the settings file",
    }
    assert cli("run", "http-flask", "-q").exit_code == 0
    assert len(_folders(tmp_path / "runs")) == 1
    assert (tmp_path / ".mlcc-ci" / ".gitignore").is_file()
    assert not (tmp_path / ".mlcc-ci" / "work").exists()

    monkeypatch.setenv("MLCC_CI_WORK", "mine")  # relative to where the command runs
    values = _config(cli)["settings"]
    assert values["work"] == {
        "value": str(tmp_path / "sub" / "mine"),
        "source": "environment (MLCC_CI_WORK)",
    }
    assert cli("run", "http-flask", "-q").exit_code == 0
    assert len(_folders(tmp_path / "sub" / "mine")) == 1
    assert not (tmp_path / "sub" / ".mlcc-ci").exists()


def test_a_work_that_is_not_a_path_is_one_line(cli, tmp_path, monkeypatch):
    (tmp_path / "mlcc-ci.toml").write_text("work = 3\n")
    monkeypatch.chdir(tmp_path)
    result = cli("config")
    assert result.exit_code == 2
    assert result.output == f"Error: {tmp_path / 'mlcc-ci.toml'}: 'work' must be a string, not 3\n"


def test_no_settings_file_keeps_the_user_wide_defaults(cli, tmp_path, monkeypatch):
    user_wide = Path(os.environ["XDG_DATA_HOME"]) / "mlcc-ci"
    monkeypatch.chdir(tmp_path)
    found = _config(cli)
    assert found["settingsFile"] is None and found["stateDir"] == str(user_wide)
    assert found["settings"]["work"] == {
        "value": str(user_wide / "work"),
        "source": "default, user-wide, no settings file",
    }
    assert found["settings"]["store"] == {
        "value": f"sqlite://{user_wide}/results.db",
        "source": "default, user-wide, no settings file",
    }
    assert cli("run", "http-flask", "--profile", "example", "-q").exit_code == 0
    assert (user_wide / "example-results.db").is_file()
    (folder,) = _folders(user_wide / "work")
    assert (folder / ".mlcc-ci-store").read_text() == (
        f"sqlite://{user_wide / 'example-results.db'}\n"
    )
    assert not (tmp_path / ".mlcc-ci").exists()
    assert not (user_wide / ".gitignore").exists()  # only a .mlcc-ci folder ignores itself

    # a repository's settings file then finds its own store, and names the user-wide one
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "mlcc-ci.toml").write_text('profile = "example"\n')
    monkeypatch.chdir(tmp_path / "repo")
    missing = cli("logs", "http-flask")
    assert missing.exit_code == 3
    assert missing.output == (
        f"Error: no store at {tmp_path}/repo/.mlcc-ci/example-results.db: nothing was "
        f"registered there. Stores that exist: {user_wide}/example-results.db "
        f"(--store sqlite://{user_wide}/example-results.db)\n"
    )
    assert not (tmp_path / "repo" / ".mlcc-ci").exists()  # reading makes nothing
