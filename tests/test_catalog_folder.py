"""A folder is a catalog when it holds a `_defaults.yaml` or entry files (issue 31, a cold
trial): an empty or wrong folder named as the catalog (`--catalog`, MLCC_CI_CATALOG, `~`)
was taken as a catalog of nothing (`list` printed a blank line, `catalog validate` said
"catalog valid: 0 entries", `status` "no profile 'default' (defined: )")."""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.functional


def _not_a_catalog(folder: Path) -> str:
    """The problem's place is relative, as every catalog problem's; the command to run names
    the folder as `catalog init` would be given it (absolute outside the working folder)."""
    return (
        f"{os.path.relpath(folder)}: not a catalog: it holds no _defaults.yaml and no entry "
        f"files (NAME.yaml): start one with `mlcc-ci catalog init {folder}`"
    )


@pytest.mark.parametrize("command", [("list",), ("status",), ("catalog", "show-defaults")])
def test_an_empty_folder_named_as_the_catalog_is_one_line_exit_2(cli, tmp_path, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("--catalog", str(empty), *command)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: {_not_a_catalog(empty)}"]


def test_catalog_validate_of_an_empty_catalog_is_a_problem_not_0_entries(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("not a catalog file\n")
    result = cli("--catalog", str(empty), "catalog", "validate")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [_not_a_catalog(empty), "1 problem found"]


def test_an_empty_folder_given_to_catalog_validate_is_a_problem(cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("catalog", "validate", str(empty))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [_not_a_catalog(empty), "1 problem found"]


def test_the_home_folder_as_the_catalog_is_not_a_catalog(cli, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("")
    monkeypatch.setenv("HOME", str(home))
    result = cli("list", env={"MLCC_CI_CATALOG": "~"})
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"Error: {_not_a_catalog(home)}"]


def test_a_folder_of_failure_rules_alone_is_no_catalog_to_use(cli, tmp_path):
    """Its rules still validate by name (`catalog validate DIR`, as the pre-commit hook and
    the team-rule tests do); as the catalog in use it has no entries and no profiles."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "_failures.yaml").write_text("rules: []\n")
    assert cli("catalog", "validate", str(rules)).exit_code == 0
    result = cli("--catalog", str(rules), "list")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"Error: {_not_a_catalog(rules)}"]


def test_team_catalogs_from_catalog_init_are_catalogs(cli, tmp_path):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask", "--owner", "a").exit_code == 0
    listed = cli("--catalog", str(team), "list")
    assert listed.exit_code == 0, listed.output
    assert "http-flask" in listed.stdout
    bare = tmp_path / "bare"  # _defaults.yaml only: a catalog of no entries yet
    assert cli("catalog", "init", str(bare), "--no-entries", "--owner", "a").exit_code == 0
    valid = cli("--catalog", str(bare), "catalog", "validate")
    assert valid.exit_code == 0, valid.output
    assert "catalog valid: 0 entries" in valid.stdout


def test_a_folder_of_entries_without_defaults_is_still_read_as_before(cli, tmp_path):
    """Entries and no _defaults.yaml: a catalog whose entries say everything (as before);
    given to `catalog validate` beside the shipped catalog, they take its defaults."""
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask", "--owner", "a").exit_code == 0
    (team / "_defaults.yaml").unlink()
    checked = cli("catalog", "validate", str(team))
    assert checked.exit_code == 0, checked.output
    assert checked.stdout == "catalog valid: 1 entry\n"
    used = cli("--catalog", str(team), "catalog", "validate")  # no defaults to take
    assert used.exit_code == 2
    assert "http-flask $: missing required key 'region'" in used.stderr
    assert "not a catalog" not in used.stderr
