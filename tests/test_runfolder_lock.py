"""A running run's folder is never removed, by any process (issue 31, item 1): `clean` and
the prune after another process's run leave it alone, and the run passes. Real processes:
the run is `mlcc-ci run --profile example` in the background, paused mid-stage by the
`slow` fault (three seconds, then the stage's own command)."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.stores.open import open_store

pytestmark = pytest.mark.functional


def _mlcc(*args: str) -> list[str]:
    return [sys.executable, "-m", "mlcc_ci", *args]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "MLCC_CI_STORE": f"sqlite:///{tmp_path}/r.db", **extra}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[Path, str], subprocess.Popen[str]]]:
    """Start `mlcc-ci run http-flask` in the background with MLCC_CI_FAULT=`fault`; a run a
    failed test leaves going is killed."""
    started: list[subprocess.Popen[str]] = []

    def begin(work: Path, fault: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            _mlcc("run", "http-flask", "--profile", "example", "--work-dir", str(work), "-q"),
            env=_env(tmp_path, MLCC_CI_FAULT=fault),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield begin
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def _in_build(work: Path, proc: subprocess.Popen[str], before: set[Path]) -> Path:
    """The running run's folder, once its build stage has begun (and sleeps)."""
    deadline = time.monotonic() + 30
    while True:
        found = [p.parent.parent for p in work.glob("http-flask-*/logs/build.log")]
        new = [f for f in found if f not in before]
        if new:
            return new[0]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached its build stage"
        time.sleep(0.02)


def _flask_history(tmp_path: Path) -> list[tuple[str, str]]:
    store = open_store(f"sqlite:///{tmp_path}/r.db", create=False)
    config_id = load_valid_catalog().get("http-flask").config_id
    return [(r.status, r.stageResults["teardown"].status) for r in store.history(config_id)]


def test_clean_keep_0_during_a_run_leaves_its_folder_and_the_run_passes(tmp_path, start):
    work = tmp_path / "work"
    running = start(work, "http-flask:build:slow")
    folder = _in_build(work, running, set())

    cleaned = subprocess.run(
        _mlcc("clean", "--keep", "0", "--profile", "example", "--work-dir", str(work)),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cleaned.returncode == 0, cleaned.stderr
    assert running.poll() is None, "the run ended before `clean` ran: nothing was proven"
    assert folder.is_dir() and (folder / "logs" / "build.log").is_file()
    assert cleaned.stdout.startswith(f"nothing to clean in {work} (1 run folder of "), cleaned
    assert cleaned.stdout.rstrip().endswith(
        "keeping 0 per configuration; 1 running run folder left alone)"
    ), cleaned.stdout

    out, err = running.communicate(timeout=60)
    assert running.returncode == 0, out + err
    assert _flask_history(tmp_path) == [("pass", "pass")]
    assert folder.is_dir()

    # once the run is over its folder is no longer running: `clean` removes it
    again = subprocess.run(
        _mlcc("clean", "--keep", "0", "--profile", "example", "--work-dir", str(work)),
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert f"removed {folder.name}\n" in again.stdout and "running" not in again.stdout
    assert not folder.exists()


def test_another_process_pruning_leaves_a_running_runs_folder(cli, tmp_path, monkeypatch, start):
    work = tmp_path / "work"
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/r.db")
    done = cli("run", "http-flask", "--profile", "example", "--work-dir", str(work), "-q")
    assert done.exit_code == 0, done.output
    earlier = set(work.glob("http-flask-*"))
    assert len(earlier) == 1

    # paused in build and again in deploy_test: six seconds for the other process's run
    running = start(work, "http-flask:build:slow,http-flask:deploy_test:slow")
    folder = _in_build(work, running, earlier)
    # A run that began long ago (a deploy takes an hour): by age, the finished run's folder
    # is the newest of http-flask, and with keep-runs = 1 the running one is the surplus.
    hour_ago = time.time() - 3600
    os.utime(folder, (hour_ago, hour_ago))

    other = subprocess.run(
        _mlcc("run", "http-fastapi", "--profile", "example", "--work-dir", str(work), "-q"),
        env=_env(tmp_path, MLCC_CI_KEEP_RUNS="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 0, other.stdout + other.stderr
    assert running.poll() is None, "the run ended before the other one pruned: nothing proven"
    assert folder.is_dir() and (folder / "logs" / "build.log").is_file()
    assert len(list(work.glob("http-fastapi-*"))) == 1

    out, err = running.communicate(timeout=60)
    assert running.returncode == 0, out + err
    assert _flask_history(tmp_path) == [("pass", "pass"), ("pass", "pass")]
    assert folder.is_dir()


# -- the lock itself, in one process: a second descriptor is another owner ----------------


def _hold(folder: Path) -> int:
    """Hold `folder`'s lock as a run in another process would."""
    import fcntl

    fd = os.open(folder / ".mlcc-ci-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


@pytest.mark.unit
def test_a_run_holds_its_folder_until_it_ends(tmp_path):
    from mlcc_ci import workdirs

    store = open_store(f"sqlite:///{tmp_path}/r.db")
    owner = workdirs.owner_of(store)
    folder = tmp_path / "work" / "http-flask-0123456789ab"
    with workdirs.holding():
        workdirs.make(folder, store)
        assert (folder / ".mlcc-ci-lock").read_text() == f"{os.getpid()}\n"
        going, busy = workdirs.sort_out(tmp_path / "work", 0, owner)
        assert (going, [f.path for f in busy]) == ([], [folder])
        with pytest.raises(BlockingIOError):
            _hold(folder)
    going, busy = workdirs.sort_out(tmp_path / "work", 0, owner)
    assert ([f.path for f in going], busy) == ([folder], [])
    assert workdirs.remove(going)[1] == [] and not folder.exists()


@pytest.mark.unit
def test_remove_checks_the_lock_again_right_before_deleting(tmp_path):
    from mlcc_ci import workdirs

    store = open_store(f"sqlite:///{tmp_path}/r.db")
    folder = tmp_path / "work" / "http-flask-0123456789ab"
    workdirs.make(folder, store)  # outside a run: released at once
    going = workdirs.surplus(tmp_path / "work", 0, workdirs.owner_of(store))
    assert [f.path for f in going] == [folder]
    fd = _hold(folder)  # a run took it meanwhile
    try:
        freed, left = workdirs.remove(going)
    finally:
        os.close(fd)
    assert (freed, left) == (0, going) and (folder / ".mlcc-ci-store").is_file()


@pytest.mark.unit
def test_a_run_waits_for_a_removal_then_makes_its_folder_again(tmp_path):
    import shutil
    import threading

    from mlcc_ci import workdirs

    store = open_store(f"sqlite:///{tmp_path}/r.db")
    folder = tmp_path / "work" / "http-flask-0123456789ab"
    folder.mkdir(parents=True)
    fd = _hold(folder)  # a remover is deleting it
    made = threading.Event()

    def run() -> None:
        with workdirs.holding():
            workdirs.make(folder, store)
            made.set()
            time.sleep(0.5)

    runner = threading.Thread(target=run)
    runner.start()
    assert not made.wait(0.3)  # it waits for the remover
    shutil.rmtree(folder)
    os.close(fd)
    assert made.wait(5)
    assert (folder / ".mlcc-ci-store").is_file()
    with pytest.raises(BlockingIOError):
        _hold(folder)  # and holds the folder made again
    runner.join()


@pytest.mark.unit
def test_a_link_in_place_of_the_lock_is_never_followed(cli, tmp_path):
    from mlcc_ci import workdirs

    store = open_store(f"sqlite:///{tmp_path}/r.db")
    folder = tmp_path / "work" / "http-flask-0123456789ab"
    workdirs.make(folder, store)
    target = tmp_path / "elsewhere"
    target.write_text("keep me\n")
    (folder / ".mlcc-ci-lock").unlink()
    (folder / ".mlcc-ci-lock").symlink_to(target)
    result = cli(
        "clean",
        "--keep",
        "0",
        "--store",
        f"sqlite:///{tmp_path}/r.db",
        "--work-dir",
        str(tmp_path / "work"),
    )
    assert result.exit_code == 0, result.output
    assert "1 running run folder left alone" in result.output and folder.is_dir()
    assert target.read_text() == "keep me\n"
    with pytest.raises(OSError), workdirs.holding():
        workdirs.make(folder, store)
    assert target.read_text() == "keep me\n"


@pytest.mark.unit
def test_a_filesystem_that_cannot_lock_runs_and_prunes_as_before(tmp_path, monkeypatch):
    import errno
    import fcntl

    from mlcc_ci import workdirs

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    folder = tmp_path / "work" / "http-flask-0123456789ab"
    with workdirs.holding():
        workdirs.make(folder, store)  # the run goes on, unguarded
    going = workdirs.surplus(tmp_path / "work", 0, workdirs.owner_of(store))
    assert [f.path for f in going] == [folder]
    assert workdirs.remove(going)[1] == [] and not folder.exists()
