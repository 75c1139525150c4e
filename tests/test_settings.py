"""The settings file (mlcc-ci.toml or [tool.mlcc-ci]), `mlcc-ci config`, `mlcc-ci clean`,
and the exit codes of the README's table."""

import json
import os
import time

import pytest

from mlcc_ci import settings

pytestmark = pytest.mark.functional


def _config(cli, *args):
    result = cli("config", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_found_upward_and_each_value_says_where_it_came_from(cli, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.mlcc-ci]\nprofile = "static"\njobs = 3\n'
        'catalog = "ci/catalog"\nkeep-runs = 5\n'
    )
    assert cli("catalog", "init", str(tmp_path / "ci" / "catalog")).exit_code == 0
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    found = _config(cli)
    assert found["settingsFile"] == str(tmp_path / "pyproject.toml")
    values = found["settings"]
    assert values["catalog"]["value"] == str(tmp_path / "ci" / "catalog")
    assert values["profile"] == {
        "value": "static",
        "source": f"settings file {tmp_path / 'pyproject.toml'} [tool.mlcc-ci]",
    }
    assert values["jobs"]["value"] == 3 and values["keep-runs"]["value"] == 5
    assert values["store"] == {
        "value": f"sqlite://{tmp_path}/.mlcc-ci/static-results.db",
        "source": "profile static, in .mlcc-ci/ beside the settings file",
    }
    assert values["work"] == {
        "value": str(tmp_path / ".mlcc-ci" / "work"),
        "source": "default, in .mlcc-ci/ beside the settings file",
    }

    # the environment beats the file, a flag beats the environment
    monkeypatch.setenv("MLCC_CI_PROFILE", "example")
    monkeypatch.setenv("MLCC_CI_JOBS", "7")
    values = _config(cli)["settings"]
    assert values["profile"] == {"value": "example", "source": "environment (MLCC_CI_PROFILE)"}
    assert values["jobs"] == {"value": 7, "source": "environment (MLCC_CI_JOBS)"}
    values = _config(cli, "--profile", "default")["settings"]
    assert values["profile"] == {"value": "default", "source": "flag"}


def test_the_file_reaches_every_command(cli, tmp_path, monkeypatch):
    """`run` with no flags at all takes profile, store and jobs from mlcc-ci.toml."""
    store = tmp_path / "mine.db"
    (tmp_path / "mlcc-ci.toml").write_text(
        f'profile = "example"\nstore = "sqlite:///{store}"\njobs = 2\n'
    )
    # mlcc-ci.toml wins over a pyproject.toml in the same folder
    (tmp_path / "pyproject.toml").write_text('[tool.mlcc-ci]\nprofile = "nope"\n')
    monkeypatch.chdir(tmp_path)
    result = cli("run", "http-flask", "--work-dir", str(tmp_path / "work"))
    assert result.exit_code == 0, result.output
    assert "profile example" in result.output
    assert store.is_file()
    status = json.loads(cli("status", "--json").output)
    assert status["passing"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jbos = 2\n", "unknown setting 'jbos' (did you mean 'jobs'?)"),
        ('jobs = "two"\n', "'jobs' must be an integer, not 'two'"),
        ("jobs = 0\n", "'jobs' must be between 1 and 1000, not 0"),
        ("profile = [\n", "not valid TOML"),
    ],
)
def test_a_bad_settings_file_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, text, message):
    (tmp_path / "mlcc-ci.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = cli("status")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "mlcc-ci.toml") in lines[0], result.output
    assert message in lines[0]


def test_a_settings_catalog_that_is_missing_says_how_to_start_one(cli, tmp_path, monkeypatch):
    (tmp_path / "mlcc-ci.toml").write_text('catalog = "team"\n')
    monkeypatch.chdir(tmp_path)
    result = cli("list")
    assert result.exit_code == 2
    assert "from the settings file" in result.output
    assert f"mlcc-ci catalog init {tmp_path / 'team'}" in result.output


def test_someone_elses_pyproject_is_not_ours(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert settings.find(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("this is not toml [")
    assert settings.find(tmp_path) is None


def test_a_missing_store_names_the_stores_that_exist(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert cli("run", "http-flask", "--profile", "example").exit_code == 0
    result = cli("status")
    assert result.exit_code == 3
    assert "no store at" in result.output
    assert "example-results.db (--profile example)" in result.output


def _run_folder(root, name, run_id, age, store="sqlite:///{data_dir}/results.db"):
    from mlcc_ci.stores.open import open_store
    from mlcc_ci.workdirs import make

    folder = root / f"{name}-{run_id}"
    make(folder, open_store(store))  # marked as the store's, as a run marks its folder
    (folder / "logs").mkdir()
    (folder / "logs" / "build.log").write_text("x" * 1000)
    stamp = time.time() - age
    os.utime(folder, (stamp, stamp))
    return folder


def test_clean_keeps_the_newest_of_each_configuration(cli, tmp_path, monkeypatch):
    root = tmp_path / "work"
    flask = [_run_folder(root, "http-flask", f"{i:012x}", age=100 * i) for i in range(4)]
    flask.append(_run_folder(root, "http-flask", "00000000000a-r2", age=500))  # a retry's
    onnx = [_run_folder(root, "triton-onnx", f"a{i:011x}", age=100 * i) for i in range(2)]
    # another store's, and one of no store (from before run folders named theirs)
    elsewhere = _run_folder(root, "http-flask", "0000000000b1", 900, f"sqlite:///{tmp_path}/o.db")
    unmarked = root / "http-flask-0000000000b2"
    (unmarked / "logs").mkdir(parents=True)
    (root / "notes").mkdir()  # not a run folder: never touched
    (root / "http-flask-000000000099").symlink_to(tmp_path)  # a link: never followed
    dry = cli("clean", "--keep", "2", "--dry-run", "--work-dir", str(root))
    assert dry.exit_code == 0 and "would remove 3 run folders" in dry.output
    assert dry.output.endswith(
        "keeping 2 per configuration; 2 of other stores, or of none, left alone\n"
    )
    assert all(f.exists() for f in flask)

    monkeypatch.setenv("MLCC_CI_KEEP_RUNS", "2")
    done = cli("clean", "--work-dir", str(root))
    assert done.exit_code == 0, done.output
    assert [f.exists() for f in flask] == [True, True, False, False, False]
    assert all(f.exists() for f in onnx) and elsewhere.exists() and unmarked.exists()
    assert (root / "notes").is_dir() and (tmp_path / "work").is_dir()
    assert "removed 3 run folders" in done.output
    again = cli("clean", "--work-dir", str(root))
    assert "nothing to clean" in again.output


def test_runs_keep_only_the_last_n_folders(cli, tmp_path, monkeypatch):
    (tmp_path / "mlcc-ci.toml").write_text('profile = "example"\nkeep-runs = 2\n')
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "work"
    for _ in range(3):
        assert cli("run", "http-flask", "--work-dir", str(root)).exit_code == 0
    folders = [p.name for p in root.iterdir() if p.name.startswith("http-flask-")]
    assert len(folders) == 2


# The README's table: 0 all well; 1 a configuration failed or regressed; 2 usage or
# configuration error; 3 the harness could not do its job.
def test_exit_codes(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    work = ["--work-dir", str(tmp_path / "work")]
    assert cli("run", "http-flask", "--profile", "example", *work).exit_code == 0
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    assert cli("run", "http-flask", "--profile", "example", *work).exit_code == 1
    monkeypatch.delenv("MLCC_CI_FAULT")
    regressed = cli("report", "--profile", "example", "--fail-on-regression")
    assert regressed.exit_code == 1
    unknown = cli("run", "http-flaks", "--profile", "example")
    assert unknown.exit_code == 2 and "did you mean 'http-flask'?" in unknown.output
    assert cli("run", "--bogus-flag").exit_code == 2
    broken = tmp_path / "broken"
    assert cli("catalog", "init", str(broken)).exit_code == 0
    (broken / "http-flask.yaml").write_text("name: http-flask\ninstanceType: 3\n")
    assert cli("--catalog", str(broken), "catalog", "validate").exit_code == 2
    assert cli("--catalog", str(broken), "list").exit_code == 2
    assert cli("status", "--store", f"sqlite:///{tmp_path}/none.db").exit_code == 3
    monkeypatch.setenv("MLCC_CI_GENERATOR_HOME", str(tmp_path / "no-generator"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert cli("generator", "where").exit_code == 3


def test_a_relative_store_in_the_file_lies_beside_it(cli, tmp_path, monkeypatch):
    """The README's example: `sqlite://.mlcc-ci/results.db`, read from a subfolder."""
    (tmp_path / "mlcc-ci.toml").write_text(
        'profile = "example"\nstore = "sqlite://.mlcc-ci/results.db"\n'
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    values = _config(cli)["settings"]
    assert values["store"]["value"] == f"sqlite://{tmp_path}/.mlcc-ci/results.db"
    result = cli("run", "http-flask", "--work-dir", str(tmp_path / "work"), "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".mlcc-ci" / "results.db").is_file()
    assert not (tmp_path / "sub" / ".mlcc-ci").exists()
