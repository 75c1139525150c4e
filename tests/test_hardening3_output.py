"""Issue 31, third hardening round: what mlcc-ci writes. Outputs replace regular files only,
long log lines cost linear time, workflow commands cannot be injected, output errors are one
line, `catalog init --owner` writes what validates, and a YAML merge key is credited to its
own file. Each was reproduced against an earlier main."""

import os
import stat
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from tests.test_logs import record_run

pytestmark = pytest.mark.functional
MLCC_CI = [sys.executable, "-m", "mlcc_ci"]


@pytest.fixture
def url(cli, tmp_path) -> str:
    """A store with the shipped catalog registered."""
    store = f"sqlite:///{tmp_path}/r.db"
    assert cli("register", "--from-catalog", "--all", "--store", store).exit_code == 0
    return store


# -- 2. --output replaces regular files only --------------------------------------------------


def _special(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "target")
    to_fifo = tmp_path / "to-fifo"
    to_fifo.symlink_to(fifo)
    return {"fifo": fifo, "link": link, "to-fifo": to_fifo}


@pytest.mark.parametrize("kind", ["fifo", "link", "to-fifo"])
def test_report_output_never_replaces_a_fifo_or_a_link(cli, url, tmp_path, kind):
    path = _special(tmp_path)[kind]
    result = cli("report", "--output", str(path), "--store", url)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: cannot write {path}: ") and "not a regular file" in line
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(path).st_mode)
    else:
        assert path.is_symlink()
    assert not (tmp_path / "target").exists()
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_report_output_writes_new_and_regular_files_and_dash_is_standard_output(
    cli, url, tmp_path, monkeypatch
):
    new = tmp_path / "new.md"
    assert cli("report", "--format", "markdown", "-o", str(new), "--store", url).exit_code == 0
    assert new.read_text().startswith("<!--")
    new.write_text("old")
    assert cli("report", "--format", "markdown", "-o", str(new), "--store", url).exit_code == 0
    assert new.read_text().startswith("<!--")  # replaced whole, as before
    monkeypatch.chdir(tmp_path)
    shown = cli("report", "--format", "markdown", "--output", "-", "--store", url)
    assert shown.exit_code == 0
    assert shown.stdout == cli("report", "--format", "markdown", "--store", url).stdout
    assert not (tmp_path / "-").exists()


def test_allure_results_never_replace_a_fifo_or_a_link(cli, url, tmp_path):
    folder = tmp_path / "allure"
    made = cli("report", "--allure-dir", str(folder), "--store", url)
    assert made.exit_code == 0
    victim = sorted(folder.glob("*-result.json"))[0]
    victim.unlink()
    os.mkfifo(victim)
    (folder / "categories.json").unlink()
    (folder / "categories.json").symlink_to(tmp_path / "elsewhere")
    result = cli("report", "--allure-dir", str(folder), "--store", url)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    # the file, not its folder (a cold trial of issue 31 read "cannot write DIR")
    assert line == f"Error: cannot write {victim}: not a regular file (a FIFO); nothing written"
    assert stat.S_ISFIFO(os.lstat(victim).st_mode)
    assert (folder / "categories.json").is_symlink()
    assert not (tmp_path / "elsewhere").exists()


# -- 9. logs of a long line: linear, whatever the line's length -------------------------------

PROGRESS = b"".join(b"downloading %8d/2000000\r" % i for i in range(1, 800_001))  # 20 MB


def test_logs_of_a_20mb_progress_line_show_its_last_state(cli, tmp_path):
    from mlcc_ci.stores.sqlite import SqliteStore

    assert len(PROGRESS) >= 20_000_000 and b"\n" not in PROGRESS
    store = SqliteStore(tmp_path / "r.db")
    try:
        log = "done\n" + PROGRESS.decode() + "downloading  2000000/2000000"
        record_run(store, tmp_path / "w", "aaaaaaaaaaa1", {"build": ("pass", log, "", "")})
    finally:
        store.close()
    shown = cli("logs", "http-flask", "--store", f"sqlite:///{tmp_path}/r.db")
    assert shown.exit_code == 0
    assert shown.stdout == "done\ndownloading  2000000/2000000\n"


def test_a_20mb_line_without_a_newline_comes_out_whole(cli, tmp_path):
    from mlcc_ci.stores.sqlite import SqliteStore

    line = "".join(f"{i:09d} " for i in range(2_000_000))  # 20 MB, no newline, no CR
    store = SqliteStore(tmp_path / "r.db")
    try:
        record_run(store, tmp_path / "w", "aaaaaaaaaaa1", {"build": ("pass", line, "", "")})
    finally:
        store.close()
    shown = cli("logs", "http-flask", "--store", f"sqlite:///{tmp_path}/r.db")
    assert shown.exit_code == 0
    assert shown.stdout == line + "\n"


def test_a_progress_line_is_read_in_bounded_memory(tmp_path):
    """A line redrawn with CR is kept from its last CR on, never whole: what the old reader
    re-joined and re-split at every 64 KB (quadratic time) it now never holds."""
    from mlcc_ci.logs import file_lines

    log = tmp_path / "build.log"
    log.write_bytes(PROGRESS + b"100%\n")
    tracemalloc.start()
    try:
        lines = list(file_lines(log))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [line.rsplit("\r", 1)[-1] for line in lines] == ["100%"]
    assert peak < 2 * 1024 * 1024, peak


# -- 11. no workflow commands from names and keys ---------------------------------------------


def test_catalog_validate_github_escapes_file_names_and_keys_on_stderr(cli, tmp_path, monkeypatch):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask").exit_code == 0
    evil = team / "x\n::warning title=pwn::injected\n.yaml"
    (team / "http-flask.yaml").rename(evil)
    with evil.open("a") as fh:
        fh.write("bogus: 1\n")
    with (team / "_defaults.yaml").open("a") as fh:
        fh.write('"k\\r\\n::error::keyinjected%0A": 1\n')
    monkeypatch.chdir(tmp_path)
    result = cli("catalog", "validate", "--format", "github", str(team))
    assert result.exit_code == 2
    for stream in (result.stdout, result.stderr):
        for line in stream.splitlines():
            assert not line.lstrip().startswith(("::warning", "::error::keyinjected")), line
    assert len(result.stdout.splitlines()) == 2  # one ::error per problem
    assert all(line.startswith("::error file=") for line in result.stdout.splitlines())
    assert len(result.stderr.splitlines()) == 3  # the two problems and the count
    assert "%0A%3A%3Awarning" in result.stdout or "%0A::warning" in result.stdout
    assert "%0A::error::keyinjected%250A: unknown key" in result.stderr


def test_a_file_name_that_starts_a_workflow_command_is_no_command(cli, tmp_path, monkeypatch):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask").exit_code == 0
    evil = team / "::warning::x.yaml"
    (team / "http-flask.yaml").rename(evil)
    with evil.open("a") as fh:
        fh.write("bogus: 1\n")
    monkeypatch.chdir(team)
    result = cli("catalog", "validate", "--format", "github", ".")
    assert result.exit_code == 2
    for line in (result.stdout + result.stderr).splitlines():
        assert not line.lstrip().startswith("::warning"), line


# -- 12. output errors are one line -----------------------------------------------------------


def _sh(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_closed_standard_output_is_one_line_of_error(tmp_path):
    env = dict(os.environ, MLCC_CI_STORE=f"sqlite:///{tmp_path}/r.db")
    done = _sh(" ".join(MLCC_CI) + " config >&-", env)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines() == ["Error: cannot write to standard output: it is closed"]
    assert done.returncode == 3


@pytest.mark.parametrize("args", [["report"], ["report", "--format", "json"], ["config"]])
def test_a_full_standard_output_is_one_line_of_error(url, args):
    assert os.path.exists("/dev/full")
    env = dict(os.environ, MLCC_CI_STORE=url)
    done = _sh(" ".join([*MLCC_CI, *args]) + " >/dev/full", env)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.splitlines() == [
        "Error: cannot write to standard output: No space left on device"
    ]
    assert done.returncode == 3


def test_a_closed_standard_output_with_nothing_to_write_is_no_error(tmp_path):
    env = dict(os.environ, MLCC_CI_STORE=f"sqlite:///{tmp_path}/r.db")
    done = _sh(" ".join(MLCC_CI) + " report --output out.txt >&-", env)  # no store: an error
    assert "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("Error: no store")


# -- 13. catalog init --owner writes what validates -------------------------------------------


@pytest.mark.parametrize(
    "owner", ["1234", "true", "yes", "null", "-", "0x10", "1_000", "017", "1.5", ".inf", "NO"]
)
def test_catalog_init_keeps_the_owner_a_string(cli, tmp_path, owner):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "--no-entries", "--owner", owner).exit_code == 0
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 0, result.output
    shown = cli("--catalog", str(team), "catalog", "show-defaults").stdout.splitlines()
    import yaml

    owner_line = next(line for line in shown if line.startswith("owner:"))
    assert yaml.safe_load(owner_line) == {"owner": owner}


@pytest.mark.parametrize(
    "owner",
    ["1e3", "1.0e3", "0o17", "-0x1F", "1E-3", "0b101", "1_000.5", ".5", "1.", "y", "N", "On"],
)
def test_catalog_init_quotes_an_owner_a_yaml_1_2_reader_takes_for_no_string(cli, tmp_path, owner):
    """PyYAML (YAML 1.1) reads these as strings, but a YAML 1.2 reader (an editor's
    language server, js-yaml, Go's yaml.v3) as numbers or booleans, against the schema:
    written quoted, they are strings to both (issue 31, a cold trial)."""
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "--no-entries", "--owner", owner).exit_code == 0
    assert f"\nowner: '{owner}'\n" in (team / "_defaults.yaml").read_text()
    assert cli("catalog", "validate", str(team)).exit_code == 0


@pytest.mark.parametrize("owner", ["team-a", "ml-platform", "e3", "0o", "x1e3", "1.2.3", "v2"])
def test_catalog_init_writes_a_plain_owner_unquoted(cli, tmp_path, owner):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "--no-entries", "--owner", owner).exit_code == 0
    assert f"\nowner: {owner}\n" in (team / "_defaults.yaml").read_text()


def test_catalog_init_writes_the_owner_team_a_unquoted(cli, tmp_path):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "--no-entries", "--owner", "team-a").exit_code == 0
    assert "\nowner: team-a\n" in (team / "_defaults.yaml").read_text()


# -- 14c. a merge key's values are credited to their own file ---------------------------------


def test_show_defaults_credits_a_merge_key_to_its_file_and_line(cli, tmp_path):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "--no-entries").exit_code == 0
    defaults = team / "_defaults.yaml"
    text = defaults.read_text().replace("owner: my-team\n", "")
    lines = text.count("\n")
    defaults.write_text(
        text + "<<:\n" + "  - {owner: merged-team, region: eu-west-1}\n" + "  - {owner: second}\n"
    )
    shown = cli("--catalog", str(team), "catalog", "show-defaults")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout.splitlines()
    # PyYAML lets the last mapping of a merge list win a key both name
    assert out[out.index("owner: second") - 1] == f"# {defaults}:{lines + 3}"
    assert out[out.index("region: eu-west-1") - 1] == f"# {defaults}:{lines + 2}"
