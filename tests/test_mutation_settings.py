"""The settings file (mlcc_ci/settings.py), read in-process: which file is found, each value
checked with the one line a person reads when it is wrong, where each value comes from,
relative paths and stores beside the file, the state and work folders, and a `.mlcc-ci`
folder that ignores itself. Written for make mutation (issue 32 item 2): each test fails on a
mutant of settings.py that changes a value, a source or a message."""

import os

import pytest

from mlcc_ci import settings
from mlcc_ci.errors import UsageError
from mlcc_ci.settings import (
    BY_KEY,
    SettingsFile,
    expand_home,
    find,
    load,
    make_folder,
    resolve,
    state_dir,
    value_of,
    work_root,
)

pytestmark = pytest.mark.unit

OURS = "[tool.mlcc-ci]\njobs = 2\n"
NO_USER = "cannot expand '~nosuchuser-mlcc': no user named 'nosuchuser-mlcc'"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """An empty folder as the working directory, no setting in the environment."""
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(root / "a" / "b")
    return root


def env_of(**values):
    return {"XDG_DATA_HOME": "/xdg", **values}


# -- find ------------------------------------------------------------------------------------


def test_the_nearest_settings_file_upward_wins(repo):
    assert find(repo / "a" / "b") is None
    (repo / "mlcc-ci.toml").write_text("")
    assert find(repo / "a" / "b") == repo / "mlcc-ci.toml"
    assert find() == repo / "mlcc-ci.toml"  # from the working directory
    (repo / "a" / "pyproject.toml").write_text(OURS)
    assert find(repo / "a" / "b") == repo / "a" / "pyproject.toml"
    (repo / "a" / "mlcc-ci.toml").write_text("")
    assert find(repo / "a" / "b") == repo / "a" / "mlcc-ci.toml"  # over pyproject, one folder


def test_a_pyproject_counts_only_with_our_table(repo):
    (repo / "mlcc-ci.toml").write_text("")
    (repo / "a" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert find(repo / "a") == repo / "mlcc-ci.toml"
    (repo / "a" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find(repo / "a") == repo / "mlcc-ci.toml"
    # someone else's broken pyproject is not ours to judge
    (repo / "a" / "pyproject.toml").write_text("[tool.ruff\n")
    assert find(repo / "a") == repo / "mlcc-ci.toml"


@pytest.mark.parametrize(
    "text",
    [
        "[tool.mlcc-ci]\njobs = \n",
        '[tool."mlcc-ci".x]\n= 1\n',
        "  [ tool . 'mlcc-ci' ]\nbroken = \n",
        "tool.mlcc-ci.jobs = \n",
    ],
)
def test_a_broken_pyproject_that_names_our_table_is_said(repo, text):
    (repo / "a" / "pyproject.toml").write_text(text)
    with pytest.raises(UsageError, match=r"pyproject.toml: not valid TOML: "):
        find(repo / "a")


def test_a_removed_working_directory_has_no_settings(repo, tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert find() is None


def test_an_unreadable_or_deep_file_is_one_line(repo):
    path = repo / "mlcc-ci.toml"
    path.write_bytes(b"jobs = 2\n\xff\n")
    with pytest.raises(UsageError) as raised:
        load(repo)
    assert str(raised.value).startswith(f"{path}: cannot read the settings file (")
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(UsageError) as raised:
        load(repo)
    assert str(raised.value) == f"{path}: not valid TOML: nested too deeply"
    path.write_text("jobs = = 2\n")
    with pytest.raises(UsageError) as raised:
        load(repo)
    assert str(raised.value).startswith(f"{path}: not valid TOML: Invalid value")


# -- load: each value checked ----------------------------------------------------------------


def test_no_settings_file(repo):
    found = load(repo, env_of())
    assert found == SettingsFile(None) and found.values == {}
    assert found.label == "no settings file"


def test_values_of_our_file_and_of_a_pyprojects_table(repo):
    (repo / "mlcc-ci.toml").write_text('jobs = 4\nkeep_runs = 0\nprofile = "static"\n')
    found = load(repo / "a", env_of())
    assert found.values == {"jobs": 4, "keep-runs": 0, "profile": "static"}
    assert found.label == str(repo / "mlcc-ci.toml")
    (repo / "a" / "pyproject.toml").write_text("[tool.mlcc-ci]\nsuspect-rounds = 1000\n")
    found = load(repo / "a", env_of())
    assert found.values == {"suspect-rounds": 1000}
    assert found.label == f"{repo / 'a' / 'pyproject.toml'} [tool.mlcc-ci]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jbos = 2\n", "unknown setting 'jbos' (did you mean 'jobs'?)"),
        (
            "zzz = 2\n",
            "unknown setting 'zzz' (known: catalog, profile, store, jobs, keep-runs, work,"
            " suspect-rounds, schedule, daily-budget, image-digests)",
        ),
        ('jobs = "2"\n', "'jobs' must be an integer, not '2'"),
        ("jobs = true\n", "'jobs' must be an integer, not True"),
        ("profile = 2\n", "'profile' must be a string, not 2"),
        ("profile = false\n", "'profile' must be a string, not False"),
        ("jobs = 0\n", "'jobs' must be between 1 and 1000, not 0"),
        ("jobs = 1001\n", "'jobs' must be between 1 and 1000, not 1001"),
        ("keep-runs = -1\n", "'keep-runs' must be between 0 and 1000, not -1"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_file(repo, text, message):
    (repo / "mlcc-ci.toml").write_text(text)
    with pytest.raises(UsageError) as raised:
        load(repo, env_of())
    assert str(raised.value) == f"{repo / 'mlcc-ci.toml'}: {message}"


def test_a_pyprojects_table_is_named_in_its_messages(repo):
    (repo / "pyproject.toml").write_text("[tool.mlcc-ci]\njobs = 0\n")
    with pytest.raises(UsageError) as raised:
        load(repo, env_of())
    assert str(raised.value) == (
        f"{repo / 'pyproject.toml'}: [tool.mlcc-ci]: 'jobs' must be between 1 and 1000, not 0"
    )
    (repo / "pyproject.toml").write_text("[tool]\nmlcc-ci = 3\n")
    with pytest.raises(UsageError) as raised:
        load(repo, env_of())
    assert (
        str(raised.value)
        == f"{repo / 'pyproject.toml'}: [tool.mlcc-ci]: expected a table of settings"
    )


def test_the_edges_of_the_ranges_are_accepted(repo):
    (repo / "mlcc-ci.toml").write_text("jobs = 1\nkeep-runs = 1000\n")
    assert load(repo, env_of()).values == {"jobs": 1, "keep-runs": 1000}


def test_paths_in_the_file_are_relative_to_it(repo):
    (repo / "catalog").mkdir()
    (repo / "mlcc-ci.toml").write_text(
        'catalog = "catalog"\nwork = "../runs"\nstore = "sqlite://state/results.db?timeout=5"\n'
    )
    found = load(repo / "a" / "b", env_of())
    assert found.values == {
        "catalog": str((repo / "catalog").resolve()),
        "work": str((repo.parent / "runs").resolve()),
        "store": f"sqlite:///{(repo / 'state' / 'results.db').resolve()}?timeout=5",
    }


@pytest.mark.parametrize(
    ("url", "beside"),
    [
        ("sqlite:rel/results.db", "sqlite:///{repo}/rel/results.db"),
        ("sqlite://rel/results.db", "sqlite:///{repo}/rel/results.db"),
        ("sqlite:///abs/results.db", "sqlite:///abs/results.db"),
        ("sqlite:/abs/results.db", "sqlite:/abs/results.db"),
        ("sqlite://rel.db?mode=ro&x=1", "sqlite:///{repo}/rel.db?mode=ro&x=1"),
        ("sqlite:", "sqlite:"),
        ("sqlite:?x=1", "sqlite:?x=1"),
        ("sqlite:~/results.db", "sqlite:~/results.db"),
        ("sqlite://user:pw@host/x.db", "sqlite://user:pw@host/x.db"),
        ("dynamodb://table", "dynamodb://table"),
        ("results.db", "results.db"),
    ],
)
def test_a_sqlite_store_named_relatively_lies_beside_the_file(repo, url, beside):
    assert settings._store_beside(url, repo) == beside.format(repo=repo.resolve())


def test_a_home_that_cannot_be_found_is_one_line(repo):
    assert expand_home("~/x", "it") == settings.Path(os.path.expanduser("~/x"))
    assert expand_home("plain/x", "it") == settings.Path("plain/x")
    with pytest.raises(UsageError) as raised:
        expand_home("~nosuchuser-mlcc/x", "MLCC_CI_WORK")
    assert str(raised.value) == (
        "MLCC_CI_WORK '~nosuchuser-mlcc/x': cannot expand '~nosuchuser-mlcc': no user named"
        " 'nosuchuser-mlcc'"
    )
    with pytest.raises(UsageError) as raised:
        expand_home("~nosuchuser-mlcc", "it", "shown")
    assert str(raised.value) == (
        "it shown: cannot expand '~nosuchuser-mlcc': no user named 'nosuchuser-mlcc'"
    )
    (repo / "mlcc-ci.toml").write_text('work = "~nosuchuser-mlcc/runs"\n')
    with pytest.raises(UsageError) as raised:
        load(repo, env_of())
    assert (
        str(raised.value) == f"{repo / 'mlcc-ci.toml'}: 'work' '~nosuchuser-mlcc/runs': {NO_USER}"
    )
    (repo / "mlcc-ci.toml").write_text('store = "sqlite:~nosuchuser-mlcc/r.db"\n')
    with pytest.raises(UsageError) as raised:
        load(repo, env_of())
    assert str(raised.value) == (
        f"{repo / 'mlcc-ci.toml'}: 'store' 'sqlite:~nosuchuser-mlcc/r.db': cannot expand"
        " '~nosuchuser-mlcc': no user named 'nosuchuser-mlcc'"
    )


def test_a_home_with_no_home_at_all(monkeypatch):
    import pathlib

    def nowhere(self):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(pathlib.Path, "expanduser", nowhere)
    with pytest.raises(UsageError) as raised:
        expand_home("~/x", "HOME")
    assert str(raised.value) == (
        "HOME '~/x': cannot expand '~': HOME is not set and this user has no home folder"
    )


# -- the environment -------------------------------------------------------------------------


def test_the_environment_is_checked_as_the_file_is(repo):
    with pytest.raises(UsageError) as raised:
        load(repo, env_of(MLCC_CI_JOBS="two"))
    assert str(raised.value) == "MLCC_CI_JOBS must be a whole number, not 'two'"
    with pytest.raises(UsageError) as raised:
        load(repo, env_of(MLCC_CI_JOBS="1001"))
    assert str(raised.value) == "MLCC_CI_JOBS must be between 1 and 1000, not 1001"
    with pytest.raises(UsageError) as raised:
        load(repo, env_of(MLCC_CI_KEEP_RUNS="-1"))
    assert str(raised.value) == "MLCC_CI_KEEP_RUNS must be between 0 and 1000, not -1"
    with pytest.raises(UsageError) as raised:
        load(repo, env_of(MLCC_CI_STORE="sqlite:~nosuchuser-mlcc/r.db"))
    assert str(raised.value) == f"MLCC_CI_STORE 'sqlite:~nosuchuser-mlcc/r.db': {NO_USER}"
    with pytest.raises(UsageError) as raised:
        load(repo, env_of(MLCC_CI_CATALOG="~nosuchuser-mlcc"))
    assert str(raised.value) == f"MLCC_CI_CATALOG '~nosuchuser-mlcc': {NO_USER}"
    assert load(repo, env_of(MLCC_CI_JOBS="")).path is None  # empty: not set


def test_each_value_says_where_it_came_from(repo):
    (repo / "mlcc-ci.toml").write_text('jobs = 3\nprofile = "static"\n')
    env = env_of(MLCC_CI_JOBS="5", MLCC_CI_WORK="~/runs", MLCC_CI_PROFILE="")
    found = resolve(load(repo, env), env)
    by_key = {s.key: (value, source) for s, value, source in found}
    assert [s.key for s, _, _ in found] == list(BY_KEY)
    assert by_key == {
        "catalog": (None, "default"),
        "profile": ("static", f"settings file {repo / 'mlcc-ci.toml'}"),
        "store": (None, "default"),
        "jobs": (5, "environment (MLCC_CI_JOBS)"),
        "keep-runs": (3, "default"),
        "work": (os.path.expanduser("~/runs"), "environment (MLCC_CI_WORK)"),
        "suspect-rounds": (3, "default"),
        "schedule": ("confidence", "default"),
        "daily-budget": (0.0, "default"),
        "image-digests": ("off", "default"),
    }
    store = "sqlite:///x.db"
    assert value_of("store", env_of(MLCC_CI_STORE=store)) == store
    assert value_of("jobs", env_of()) == 3  # the file's
    assert value_of("keep-runs", env_of(MLCC_CI_KEEP_RUNS="0")) == 0
    with pytest.raises(KeyError):
        value_of("nothing", env_of())


# -- the state and work folders --------------------------------------------------------------


def test_the_state_folder_is_beside_the_settings_file(repo):
    assert state_dir(env_of(), repo) == settings.Path("/xdg/mlcc-ci")
    (repo / "mlcc-ci.toml").write_text("")
    assert state_dir(env_of(), repo / "a") == repo / ".mlcc-ci"
    assert state_dir(env_of()) == repo / ".mlcc-ci"  # from the working directory


def test_the_work_folder(repo):
    assert work_root(env_of()) == settings.Path("/xdg/mlcc-ci/work")
    (repo / "mlcc-ci.toml").write_text('work = "runs"\n')
    assert work_root(env_of()) == (repo / "runs").resolve()
    assert work_root(env_of(MLCC_CI_WORK="rel")) == repo / "a" / "b" / "rel"
    (repo / "mlcc-ci.toml").write_text("")
    assert work_root(env_of()) == repo / ".mlcc-ci" / "work"


def test_a_state_folder_made_on_the_way_ignores_itself(tmp_path, monkeypatch):
    target = tmp_path / "x" / ".mlcc-ci" / "work" / "run"
    make_folder(target)
    assert target.is_dir()
    ignore = tmp_path / "x" / ".mlcc-ci" / ".gitignore"
    assert ignore.read_text() == (
        "# Made by mlcc-ci: its results and run folders, never committed.\n*\n"
    )
    assert not (target / ".gitignore").exists()
    assert not (tmp_path / "x" / ".gitignore").exists()
    # one that exists is its owner's: left as it is
    ignore.write_text("mine\n")
    make_folder(tmp_path / "x" / ".mlcc-ci" / "other")
    assert ignore.read_text() == "mine\n"
    # the state folder itself, named relatively
    monkeypatch.chdir(tmp_path)
    make_folder(settings.Path("y") / ".mlcc-ci")
    assert (tmp_path / "y" / ".mlcc-ci" / ".gitignore").is_file()
    make_folder(settings.Path("plain"))
    assert (tmp_path / "plain").is_dir() and not (tmp_path / "plain" / ".gitignore").exists()


# -- more edges: each kills a survivor of make mutation ---------------------------------------


def test_the_top_of_a_range_from_the_environment(repo):
    assert load(repo, env_of(MLCC_CI_JOBS="1000")).path is None
    assert value_of("jobs", env_of(MLCC_CI_JOBS="1000")) == 1000


def test_an_unreadable_pyproject_is_not_ours(repo, tmp_path):
    (repo / "mlcc-ci.toml").write_text("")
    real = tmp_path / "elsewhere.toml"
    real.write_text("[tool.mlcc-ci]\njobs = \n")
    (repo / "a" / "pyproject.toml").symlink_to(real)  # never read through a link
    assert find(repo / "a") == repo / "mlcc-ci.toml"


def test_a_pyproject_not_in_utf_8_that_names_our_table_is_said(repo):
    path = repo / "a" / "pyproject.toml"
    path.write_bytes(b"[tool.mlcc-ci]\n# caf\xe9\njobs = 2\n")
    with pytest.raises(UsageError) as raised:
        find(repo / "a")
    assert str(raised.value).startswith(f"{path}: cannot read the settings file (")


def test_a_store_query_keeps_every_question_mark(repo):
    assert settings._store_beside("sqlite://rel.db?a=1?b=2", repo) == (
        f"sqlite:///{(repo / 'rel.db').resolve()}?a=1?b=2"
    )
    # the path ends at the first "?": what follows is the query, even a "/../" in it
    assert settings._store_beside("sqlite://d/x.db?q/../y?z", repo) == (
        f"sqlite:///{(repo / 'd' / 'x.db').resolve()}?q/../y?z"
    )


def test_a_home_named_deeper_is_said_by_its_first_part():
    with pytest.raises(UsageError) as raised:
        expand_home("~nosuchuser-mlcc/x/y", "it")
    assert str(raised.value) == f"it '~nosuchuser-mlcc/x/y': {NO_USER}"


def test_the_user_wide_data_folder():
    assert settings.data_dir({"XDG_DATA_HOME": "/xdg"}) == settings.Path("/xdg/mlcc-ci")
    assert settings.data_dir({"HOME": "/h"}) == settings.Path("/h/.local/share/mlcc-ci")
    assert settings.data_dir({"XDG_DATA_HOME": "", "HOME": "/h"}) == (
        settings.Path("/h/.local/share/mlcc-ci")
    )
    home = os.path.expanduser("~")
    assert settings.data_dir({}) == settings.Path(home) / ".local/share/mlcc-ci"


def test_no_user_wide_data_folder_is_one_line(monkeypatch):
    import pathlib

    def nowhere(self):
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(pathlib.Path, "expanduser", nowhere)
    with pytest.raises(UsageError) as raised:
        settings.data_dir({})
    assert str(raised.value) == (
        "no user-wide data folder: HOME '~': cannot expand '~': HOME is not set and this user"
        " has no home folder; set XDG_DATA_HOME (or HOME), or name a store (--store,"
        " MLCC_CI_STORE)"
    )


def test_a_file_found_from_where_it_is_asked_not_the_working_directory(repo, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "mlcc-ci.toml").write_text("jobs = 7\n")
    assert load(other, env_of()).values == {"jobs": 7}
    assert state_dir(env_of(), other) == other / ".mlcc-ci"


def test_a_settings_file_in_a_folder_others_can_write_is_refused_unless_declared_safe(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "mlcc-ci.toml").write_text("jobs = 2\n")
    shared.chmod(0o777)
    with pytest.raises(UsageError) as raised:
        load(shared, env_of())
    assert str(raised.value).startswith(
        f"{shared / 'mlcc-ci.toml'}: refusing the settings file: its folder is writable by all"
    )
    assert load(shared, env_of(MLCC_CI_SAFE_DIRECTORIES=str(shared))).values == {"jobs": 2}


def test_a_catalog_others_can_write_is_refused_unless_declared_safe(repo):
    catalog = repo / "catalog"
    catalog.mkdir()
    catalog.chmod(0o777)
    (repo / "mlcc-ci.toml").write_text('catalog = "catalog"\n')
    with pytest.raises(UsageError) as raised:
        load(repo, env_of())
    assert str(raised.value).startswith(
        f"{repo / 'mlcc-ci.toml'}: refusing the catalog {catalog.resolve()} it names: that"
        " folder is writable by all users"
    )
    safe = env_of(MLCC_CI_SAFE_DIRECTORIES=str(catalog))
    assert load(repo, safe).values == {"catalog": str(catalog.resolve())}


def test_a_value_that_reads_as_a_store_url_is_a_store_only_as_the_store(repo):
    (repo / "mlcc-ci.toml").write_text('profile = "sqlite:rel.db"\n')
    assert load(repo, env_of()).values == {"profile": "sqlite:rel.db"}


def test_every_state_folder_on_the_way_ignores_itself(tmp_path):
    (tmp_path / ".mlcc-ci").mkdir()  # someone's own: left alone
    make_folder(tmp_path / ".mlcc-ci" / "x" / ".mlcc-ci" / "work")
    assert not (tmp_path / ".mlcc-ci" / ".gitignore").exists()
    assert (tmp_path / ".mlcc-ci" / "x" / ".mlcc-ci" / ".gitignore").is_file()


def test_an_unknown_setting_is_named_by_its_key(repo):
    with pytest.raises(KeyError) as raised:
        value_of("nothing", env_of())
    assert raised.value.args == ("nothing",)
