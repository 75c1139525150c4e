"""Issue 31, the settings and the store URL: each test reproduced its defect on an earlier main
(items 6, 8, 10 and parts of 14)."""

import json
import os
from pathlib import Path

import pytest

from mlcc_ci import __version__
from mlcc_ci.stores.open import open_store, shown_url

pytestmark = pytest.mark.functional
NOBODY = 65534
SAFE = "MLCC_CI_SAFE_DIRECTORIES"
SECRET = "hunter2-not-for-eyes"


@pytest.fixture(autouse=True)
def _no_safe_directories(monkeypatch):
    monkeypatch.delenv(SAFE, raising=False)


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def _config(cli, *args, env=None):
    result = cli("config", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["settings"]


# -- 6. settings and their catalogs from a folder someone else owns or can write -------------


def _hostile_folder(tmp_path: Path) -> Path:
    """The issue's folder: as root, owned by `nobody` and writable by all (no sticky bit);
    as another user (who cannot give files away), writable by all, which is the same attack.
    Its mlcc-ci.toml chooses the example profile; the project is a folder below it."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "mlcc-ci.toml").write_text('profile = "example"\n')
    (shared / "project").mkdir()
    shared.chmod(0o777)
    if os.geteuid() == 0:
        os.chown(shared / "mlcc-ci.toml", NOBODY, NOBODY)
        os.chown(shared, NOBODY, NOBODY)
    return shared


def test_a_settings_file_in_someone_elses_folder_is_refused(cli, tmp_path, monkeypatch):
    shared = _hostile_folder(tmp_path)
    monkeypatch.chdir(shared / "project")
    for args in (("config",), ("run", "http-flask", "--work-dir", str(tmp_path / "work"))):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        line = _one_line(result)
        assert str(shared / "mlcc-ci.toml") in line
        assert f"{SAFE}={shared}" in line  # how to trust it, if it is safe
    assert not (tmp_path / "work").exists()  # no stage ran
    # the user says the folder is safe: by its path, or `*` for every folder
    assert _config(cli, env={SAFE: str(shared)})["profile"]["value"] == "example"
    assert _config(cli, env={SAFE: f"/elsewhere{os.pathsep}*"})["profile"]["value"] == "example"
    assert cli("config", env={SAFE: str(tmp_path / "other")}).exit_code == 2


def test_a_settings_file_others_can_write_is_refused(cli, tmp_path, monkeypatch):
    settings_file = tmp_path / "mlcc-ci.toml"
    settings_file.write_text('profile = "example"\n')
    monkeypatch.chdir(tmp_path)
    settings_file.chmod(0o666)  # the file itself, writable by all
    line = _one_line(cli("config"))
    assert str(settings_file) in line and "writable" in line
    settings_file.chmod(0o644)
    assert _config(cli)["profile"]["value"] == "example"
    tmp_path.chmod(0o777)  # its folder, writable by all: anyone may replace the file
    line = _one_line(cli("config"))
    assert str(settings_file) in line and "its folder is writable by all users" in line
    # a sticky folder writable by all (as /tmp): others may not replace the user's own file
    tmp_path.chmod(0o1777)
    assert _config(cli)["profile"]["value"] == "example"
    tmp_path.chmod(0o700)
    if os.geteuid() == 0:  # a group with other members may write it; root's own may
        settings_file.chmod(0o664)
        os.chown(settings_file, 0, NOBODY)
        line = _one_line(cli("config"))
        assert str(settings_file) in line and "writable by the group" in line
        os.chown(settings_file, 0, 0)
        assert _config(cli)["profile"]["value"] == "example"


def test_the_trust_setting_cannot_come_from_the_untrusted_file(cli, tmp_path, monkeypatch):
    shared = _hostile_folder(tmp_path)
    (shared / "mlcc-ci.toml").write_text('profile = "example"\nsafe-directories = "*"\n')
    monkeypatch.setenv("MLCC_CI_SAFE_DIRECTORIES", "")
    monkeypatch.chdir(shared / "project")
    line = _one_line(cli("config"))
    assert f"{SAFE}=" in line and "unknown setting" not in line


def test_a_catalog_the_settings_file_names_from_an_untrusted_folder_is_refused(
    cli, tmp_path, monkeypatch
):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team)).exit_code == 0
    project = tmp_path / "project"
    project.mkdir()
    (project / "mlcc-ci.toml").write_text(f'catalog = "{team}"\nprofile = "example"\n')
    monkeypatch.chdir(project)
    if os.geteuid() == 0:
        os.chown(team, NOBODY, NOBODY)  # owned by someone else, writable by no one else
        line = _one_line(cli("list"))
        assert str(team) in line and f"{SAFE}={team}" in line
        os.chown(team, 0, 0)
    team.chmod(0o777)
    line = _one_line(cli("list"))
    assert str(team) in line and "writable" in line and f"{SAFE}={team}" in line
    result = cli("list", env={SAFE: str(team)})
    assert result.exit_code == 0, result.output
    # a catalog named on purpose (--catalog, MLCC_CI_CATALOG) is the user's own choice
    monkeypatch.chdir(tmp_path)
    assert cli("--catalog", str(team), "list").exit_code == 0
    assert cli("list", env={"MLCC_CI_CATALOG": str(team)}).exit_code == 0


# -- 8. deeply nested TOML ---------------------------------------------------------------------

DEEP = "x = " + "[" * 500 + "]" * 500 + "\n"


@pytest.mark.parametrize(
    ("name", "text", "ours"),
    [
        ("pyproject.toml", '[project]\nname = "x"\n' + DEEP, False),
        ("pyproject.toml", '[tool.mlcc-ci]\nprofile = "example"\n' + DEEP, True),
        ("mlcc-ci.toml", DEEP, True),
    ],
)
def test_deeply_nested_toml_is_one_line_or_not_ours(cli, tmp_path, monkeypatch, name, text, ours):
    (tmp_path / name).write_text(text)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    result = cli("config")
    if ours:
        assert result.exit_code == 2
        line = _one_line(result)
        assert str(tmp_path / name) in line and "nested too deeply" in line
    else:  # someone else's pyproject, in an ancestor folder: not ours to judge
        assert result.exit_code == 0, result.output
        assert "settings file: none found" in result.output
    version = cli("--version")
    assert version.exit_code == 0 and __version__ in version.output


# -- 10. a password in the store URL ------------------------------------------------------------


def test_a_password_in_the_store_url_is_never_shown(cli, tmp_path, monkeypatch):
    endpoint = f"dynamodb://results?region=us-east-1&endpoint_url=http://ci:{SECRET}@127.0.0.1:9"
    shown = _config(cli, "--store", endpoint)["store"]["value"]
    assert SECRET not in shown and "ci:***@127.0.0.1" in shown
    text = cli("config", "--store", endpoint)
    assert text.exit_code == 0 and SECRET not in text.output and "***" in text.output
    # the same from the environment and from the settings file
    monkeypatch.setenv("MLCC_CI_STORE", endpoint)
    assert SECRET not in json.dumps(_config(cli))
    monkeypatch.delenv("MLCC_CI_STORE")
    (tmp_path / "mlcc-ci.toml").write_text(f'store = "{endpoint}"\n')
    monkeypatch.chdir(tmp_path)
    assert SECRET not in cli("config").output
    # a connection error names the endpoint without its password
    result = cli("status", "--store", endpoint)
    assert result.exit_code == 3 and "cannot reach DynamoDB" in result.output
    assert SECRET not in result.output and "***" in result.output
    # a password where none belongs: refused, and not printed either
    for url in (f"dynamodb://ci:{SECRET}@results", f"postgres://ci:{SECRET}@db/x"):
        result = cli("status", "--store", url)
        assert result.exit_code == 2, result.output
        assert SECRET not in result.output and "***" in result.output
    assert SECRET not in shown_url(f"sqlite://ci:{SECRET}@/x.db")
    (tmp_path / "mlcc-ci.toml").write_text(f'store = "sqlite://ci:{SECRET}@/x.db"\n')
    assert SECRET not in cli("config").output
    result = cli("status")
    assert result.exit_code == 2 and SECRET not in result.output and "***" in result.output


# -- 14a. whole numbers from the environment -------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MLCC_CI_JOBS", "0", "MLCC_CI_JOBS must be between 1 and 1000, not 0"),
        ("MLCC_CI_JOBS", "-5", "MLCC_CI_JOBS must be between 1 and 1000, not -5"),
        ("MLCC_CI_JOBS", "5000", "MLCC_CI_JOBS must be between 1 and 1000, not 5000"),
        ("MLCC_CI_KEEP_RUNS", "-1", "MLCC_CI_KEEP_RUNS must be between 0 and 1000, not -1"),
    ],
)
def test_numbers_from_the_environment_are_checked_as_in_the_file(
    cli, tmp_path, monkeypatch, variable, value, message
):
    monkeypatch.setenv(variable, value)
    work = tmp_path / "work"
    kept = work / "http-flask-000000000001"
    kept.mkdir(parents=True)
    for args in (("config",), ("clean", "--work-dir", str(work)), ("status",)):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        assert _one_line(result) == f"Error: {message}"
    assert kept.is_dir()


# -- 14b. a broken settings file leaves --version and --help working ---------------------------


@pytest.mark.parametrize("text", ["jbos = 2\n", "profile = [\n", DEEP])
def test_version_and_help_work_with_a_broken_settings_file(cli, tmp_path, monkeypatch, text):
    (tmp_path / "mlcc-ci.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    version = cli("--version")
    assert version.exit_code == 0 and version.output.strip() == f"mlcc-ci, version {__version__}"
    for args in (("--help",), ("-h",), ("run", "--help"), ("catalog", "validate", "--help")):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage: " in result.output
    result = cli("status")  # anything else still says what is wrong with the file
    assert result.exit_code == 2 and str(tmp_path / "mlcc-ci.toml") in _one_line(result)


def test_version_works_with_a_bad_number_in_the_environment(cli, monkeypatch):
    monkeypatch.setenv("MLCC_CI_JOBS", "0")
    assert cli("--version").exit_code == 0
    assert cli("--help").exit_code == 0


# -- 14e. `~` in the catalog setting ------------------------------------------------------------


def test_a_tilde_in_the_catalog_setting_is_the_home_folder(cli, tmp_path, monkeypatch):
    home = Path(os.environ["HOME"])
    assert cli("catalog", "init", str(home / "team")).exit_code == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLCC_CI_CATALOG", "~/team")
    assert _config(cli)["catalog"]["value"] == str(home / "team")
    assert cli("list").exit_code == 0
    monkeypatch.delenv("MLCC_CI_CATALOG")
    (tmp_path / "mlcc-ci.toml").write_text('catalog = "~/team"\n')
    assert _config(cli)["catalog"]["value"] == str(home / "team")
    assert cli("--catalog", "~/team", "list").exit_code == 0


# -- 14f. `config` with an invalid catalog -------------------------------------------------------


def test_config_shows_the_settings_and_the_catalogs_problem(cli, tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    assert cli("catalog", "init", str(broken)).exit_code == 0
    (broken / "http-flask.yaml").write_text("name: http-flask\ninstanceType: 3\n")
    (tmp_path / "mlcc-ci.toml").write_text('catalog = "broken"\njobs = 4\nkeep-runs = 2\n')
    monkeypatch.chdir(tmp_path)
    result = cli("config")
    assert result.exit_code == 2
    out = result.output
    assert f"settings file: {tmp_path / 'mlcc-ci.toml'}" in out
    assert f"catalog         {broken}" in out and "jobs            4" in out
    assert "keep-runs       2" in out
    assert "http-flask.yaml" in out.splitlines()[-1]  # the catalog's problem, last
    assert "Traceback" not in out
    as_json = cli("config", "--json")
    assert as_json.exit_code == 2
    found = json.loads(as_json.stdout)
    assert found["settings"]["jobs"]["value"] == 4
    assert found["settings"]["catalog"]["value"] == str(broken)
    assert "http-flask.yaml" in found["catalogProblem"]


# -- 14g. `sqlite:rel.db` ----------------------------------------------------------------------


def test_a_sqlite_url_without_slashes_is_relative(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shown_url("sqlite:rel.db") == f"sqlite://{tmp_path}/rel.db"
    assert _config(cli, "--store", "sqlite:rel.db")["store"]["value"] == (
        f"sqlite://{tmp_path}/rel.db"
    )
    assert open_store("sqlite:rel.db").path == Path("rel.db")  # type: ignore[attr-defined]
    # in the settings file, relative to the file's folder as `sqlite://rel.db` is
    (tmp_path / "mlcc-ci.toml").write_text('store = "sqlite:state/rel.db"\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert _config(cli)["store"]["value"] == f"sqlite://{tmp_path}/state/rel.db"
    result = cli("register", "--from-catalog", "--all")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "state" / "rel.db").is_file()
    assert not Path("/rel.db").exists() and not Path("/state/rel.db").exists()


# -- a cold trial of issue 31: `~user`, an unreachable proxy, query secrets, suspect-rounds ----

NO_USER = "~nosuchuser"


def _no_such_user() -> None:
    import pwd

    with pytest.raises(KeyError):
        pwd.getpwnam(NO_USER[1:])


@pytest.mark.parametrize(
    ("env", "file", "args", "named"),
    [
        ({"MLCC_CI_CATALOG": f"{NO_USER}/x"}, None, ("list",), "MLCC_CI_CATALOG"),
        ({}, None, ("--catalog", f"{NO_USER}/x", "list"), "--catalog"),
        ({"MLCC_CI_STORE": f"sqlite:{NO_USER}/x.db"}, None, ("config",), "MLCC_CI_STORE"),
        ({"MLCC_CI_WORK": f"{NO_USER}/w"}, None, ("config",), "MLCC_CI_WORK"),
        ({}, None, ("status", "--store", f"sqlite:{NO_USER}/x.db"), "store URL"),
        ({}, f'catalog = "{NO_USER}/cat"\n', ("list",), "mlcc-ci.toml: 'catalog'"),
        ({}, f'work = "{NO_USER}/w"\n', ("config",), "mlcc-ci.toml: 'work'"),
        ({}, f'store = "sqlite:{NO_USER}/x.db"\n', ("status",), "mlcc-ci.toml: 'store'"),
    ],
)
def test_a_home_folder_of_no_user_is_one_line_naming_the_setting(
    cli, tmp_path, monkeypatch, env, file, args, named
):
    _no_such_user()
    monkeypatch.chdir(tmp_path)
    if file:
        (tmp_path / "mlcc-ci.toml").write_text(file)
    result = cli(*args, env=env)
    assert result.exit_code == 2, result.output
    line = _one_line(result)
    assert named in line and NO_USER in line and "no user named 'nosuchuser'" in line, line
    if file:
        assert str(tmp_path / "mlcc-ci.toml") in line
    for asks in (("--version",), ("--help",)):
        shown = cli(*args[:-1], *asks, env=env) if args[0] == "--catalog" else cli(*asks, env=env)
        assert shown.exit_code == 0, shown.output
    assert not list(tmp_path.glob("~*")) and not (tmp_path / "x.db").exists()


def test_no_home_folder_at_all_is_one_line(cli, tmp_path, monkeypatch):
    """HOME unset, and the user has no entry in the password database (a container's uid)."""
    import pwd

    def no_entry(uid):
        raise KeyError(uid)

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOME")
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    line = _one_line(cli("list", env={"MLCC_CI_CATALOG": "~/team"}))
    assert "MLCC_CI_CATALOG '~/team'" in line and "HOME is not set" in line
    (tmp_path / "mlcc-ci.toml").write_text('work = "~/w"\n')
    line = _one_line(cli("config"))
    assert "mlcc-ci.toml: 'work'" in line and "HOME is not set" in line
    assert cli("--version").exit_code == 0
    (tmp_path / "mlcc-ci.toml").unlink()
    monkeypatch.delenv("XDG_DATA_HOME")  # the user-wide data folder is below the home folder
    result = cli("status")
    assert result.exit_code == 2, result.output
    assert "HOME is not set" in _one_line(result) and "XDG_DATA_HOME" in result.output


def _unreachable(cli, endpoint, **env):
    base = {
        "HTTPS_PROXY": "http://proxy:" + SECRET + "@127.0.0.1:9",
        "HTTP_PROXY": "http://proxy:" + SECRET + "@127.0.0.1:9",
        "NO_PROXY": "",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "MLCC_CI_STORE": f"dynamodb://tbl?region=us-east-1&endpoint_url={endpoint}",
    }
    return cli("status", env={**base, **env})


@pytest.mark.parametrize(
    ("endpoint", "env"),
    [
        ("http://127.0.0.1:9", {}),
        (f"http://ci:{SECRET}@127.0.0.1:9", {"NO_PROXY": "127.0.0.1"}),
        (f"https://ci:{SECRET}@127.0.0.1:9", {"NO_PROXY": "127.0.0.1,localhost"}),
    ],
)
def test_an_unreachable_proxy_is_one_line_exit_3(cli, endpoint, env):
    result = _unreachable(cli, endpoint, **env)
    assert result.exit_code == 3, result.output
    line = _one_line(result)
    assert line.startswith("Error: cannot reach DynamoDB") and "proxy" in line
    assert SECRET not in result.output and "***" in line


def test_a_programming_error_in_a_store_call_is_not_called_unreachable(monkeypatch):
    """Only the connection's errors are 'cannot reach': a bad parameter still raises."""
    from botocore.exceptions import ParamValidationError

    from mlcc_ci.stores.dynamodb import DynamoStore

    class Client:
        def get_item(self, **kwargs):
            raise ParamValidationError(report="bad")

    store = DynamoStore(Client(), table="t", runs_table="r", region="us-east-1")
    with pytest.raises(ParamValidationError):
        store._call("get_item", TableName="t")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("dynamodb://u:hun@ter2@tbl", "dynamodb://u:***@tbl"),
        ("dynamodb://u@x:hun@ter2@tbl", "dynamodb://u@x:***@tbl"),
        (
            "dynamodb://tbl?region=us-east-1&endpoint_url=http://u:hun@ter2@127.0.0.1:9",
            "dynamodb://tbl?region=us-east-1&endpoint_url=http://u:***@127.0.0.1:9",
        ),
        (
            "dynamodb://tbl?region=us-east-1&aws_secret_access_key=hunter2&token=hunter2&x=1",
            "dynamodb://tbl?region=us-east-1&aws_secret_access_key=***&token=***&x=1",
        ),
        ("sqlite:///tmp/x.db?password=hunter2", "sqlite:///tmp/x.db?password=***"),
        (
            "sqlite:///tmp/x.db?api_key=hunter2&pwd=hunter2",
            "sqlite:///tmp/x.db?api_key=***&pwd=***",
        ),
    ],
)
def test_every_part_of_a_password_is_masked(cli, url, shown):
    assert shown_url(url) == shown
    for args in (("config",), ("config", "--json")):
        result = cli(*args, env={"MLCC_CI_STORE": url})
        assert "hunter2" not in result.output and "ter2" not in result.output
        assert "***" in result.output


def test_a_sqlite_url_refuses_a_query_it_does_not_take(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/x.db?password=hunter2"
    for args in (
        ("status", "--store", url),
        ("register", "--from-catalog", "--all", "--store", url),
    ):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        line = _one_line(result)
        assert "hunter2" not in line and "password=***" in line and "takes no" in line
    assert not (tmp_path / "x.db").exists()


def test_config_shows_every_setting(cli, monkeypatch):
    from mlcc_ci.settings import SETTINGS

    shown = _config(cli, env={"MLCC_CI_SUSPECT_ROUNDS": "5"})
    assert set(shown) == {s.key for s in SETTINGS}
    assert shown["suspect-rounds"] == {
        "value": 5,
        "source": "environment (MLCC_CI_SUSPECT_ROUNDS)",
    }
    text = cli("config").output
    assert "suspect-rounds  3  (default)" in text


def test_a_safe_directory_with_a_trailing_slash_is_that_folder(cli, tmp_path, monkeypatch):
    shared = _hostile_folder(tmp_path)
    monkeypatch.chdir(shared / "project")
    entries = (f"{shared}/", f"{shared}//", f"{tmp_path}/./shared/", f"{tmp_path}//*")
    for entry in (*entries, f"{tmp_path}/*/", f"{tmp_path}/*//", f" {shared}/ "):
        assert _config(cli, env={SAFE: entry})["profile"]["value"] == "example", entry
    assert cli("config", env={SAFE: f"{shared}x/"}).exit_code == 2
