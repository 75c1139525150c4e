"""`mlcc-ci … | head`: a reader that leaves early stops the output, never the command.

Real shell pipelines around the installed command (`python -m mlcc_ci`, through `main`):
the runs finish and are stored as they really went, the exit status is the command's own,
and nothing is said about the pipe.
"""

import io
import shlex
import subprocess
import sys

import pytest

from mlcc_ci.stores.open import open_store

# Each test carries its tier (no module-wide functional): one that needs the generator is of that
# tier only, so `pytest -m "unit or functional"` runs without it.
MLCC_CI = [sys.executable, "-m", "mlcc_ci"]


def piped(args: list[str], reader: str, env: dict[str, str], before: str = "") -> tuple[int, str]:
    """`[before;] mlcc-ci ARGS | READER` in bash: mlcc-ci's exit status and its stderr."""
    command = shlex.join([*MLCC_CI, *args])
    if before:  # the reader has its lines and has left before mlcc-ci writes
        command = f"{{ {before}; {command}; }}"
    script = f"{command} 2>&3 | {reader} >/dev/null; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", f"{{ {script}; }} 3>&2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return done.returncode, done.stderr


def statuses(url: str) -> dict[str, str]:
    """Each tested record's status; every run in the history, teardown included."""
    store = open_store(url)
    found = {}
    for record in store.records():
        if record.tested:
            (run,) = store.history(record.configId)
            assert run.status == record.testStatus
            assert record.stageResults["teardown"].status in ("pass", "skip"), record
            found[record.deploymentConfig] = record.testStatus
    return found


def quiet(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Error" not in stderr and "Broken pipe" not in stderr, stderr
    assert "internal error" not in stderr, stderr


@pytest.fixture
def env(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    return dict(os.environ)


@pytest.mark.functional
def test_run_into_head_records_the_runs_as_they_went(env, tmp_path):
    args = ["run", "triton-fil", "http-flask", "--profile", "example"]
    code, stderr = piped([*args, "--work-dir", str(tmp_path / "w")], "head -2", env)
    quiet(stderr)
    assert code == 0
    assert statuses(env["MLCC_CI_STORE"]) == {"triton-fil": "pass", "http-flask": "pass"}


@pytest.mark.functional
def test_a_failed_run_still_says_so_through_head(env, tmp_path):
    env["MLCC_CI_FAULT"] = "triton-fil:deploy_test:fail"
    args = ["run", "triton-fil", "http-flask", "--profile", "example"]
    code, stderr = piped([*args, "--work-dir", str(tmp_path / "w")], "head -2", env)
    quiet(stderr)
    assert code == 1  # the runs' verdict, not the pipe's
    assert statuses(env["MLCC_CI_STORE"]) == {
        "triton-fil": "fail-deploy_test",
        "http-flask": "pass",
    }


@pytest.mark.generator
def test_static_profile_into_head(env, tmp_path, pinned_generator):
    import os

    env["MLCC_CI_GENERATOR_HOME"] = os.environ["MLCC_CI_GENERATOR_HOME"]
    args = ["run", "triton-fil", "triton-onnx", "--profile", "static"]
    code, stderr = piped([*args, "--work-dir", str(tmp_path / "w")], "head -2", env)
    quiet(stderr)
    assert code == 0
    assert statuses(env["MLCC_CI_STORE"]) == {"triton-fil": "pass", "triton-onnx": "pass"}


@pytest.fixture(scope="module")
def _one_run() -> dict[str, str]:
    """Filled by the first reading test: where its run of http-flask left its store."""
    return {}


@pytest.fixture
def ran(env, _one_run, tmp_path_factory):
    """`env` onto a store with one passing run of http-flask, made once for every reading
    command (they change neither the store nor the run's folder)."""
    if not _one_run:
        home = tmp_path_factory.mktemp("one-run")
        store = f"sqlite:///{home}/results.db"
        done = subprocess.run(
            [*MLCC_CI, "run", "http-flask", "--profile", "example", "--work-dir", str(home)],
            capture_output=True,
            text=True,
            env={**env, "MLCC_CI_STORE": store, "XDG_DATA_HOME": str(home / "xdg")},
        )
        assert done.returncode == 0, done.stderr
        _one_run.update(MLCC_CI_STORE=store, XDG_DATA_HOME=str(home / "xdg"))
    assert statuses(_one_run["MLCC_CI_STORE"]) == {"http-flask": "pass"}
    return {**env, **_one_run}


@pytest.mark.functional
@pytest.mark.parametrize(
    "args",
    [
        ["report"],
        ["report", "--format", "json"],
        ["plan"],
        ["status"],
        ["logs", "http-flask"],
        ["list"],
    ],
    ids=" ".join,
)
def test_reading_commands_into_head_exit_quietly(ran, args):
    # the reader has read its line and gone before the command writes anything
    code, stderr = piped(args, "head -1", ran, before="echo first; sleep 0.3")
    quiet(stderr)
    assert code == 0


class _Gone(io.StringIO):
    """A stream whose reader has left: every write and flush is a broken pipe."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.functional
def test_the_progress_view_goes_quiet_when_its_reader_leaves():
    from mlcc_ci.cli.progress import ProgressView
    from mlcc_ci.lifecycle import Progress

    with ProgressView(_Gone(), live=False) as view:
        view(Progress("http-flask", "generate", "start"))
        view(Progress("http-flask", "generate", "end", "pass", 0.1))
    assert view.stream.gone  # type: ignore[attr-defined]
