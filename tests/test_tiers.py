"""`make test`'s runner (scripts/tiers.py): the twin tier runs at the same time as the rest,
its output kept apart and shown after the rest's; either's failure fails the whole, and a
signal sent to the runner reaches both."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.functional


def _load_script():
    spec = importlib.util.spec_from_file_location("tiers_script", REPO / "scripts" / "tiers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiers = _load_script()


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _meets(mine: Path, theirs: Path, said: str) -> list[str]:
    """A run that says it started, then ends only once the other has said so too (within
    30 s, else it fails): both pass only if they run at the same time."""
    return _python(
        "import pathlib, sys, time\n"
        f"pathlib.Path({str(mine)!r}).touch()\n"
        "deadline = time.monotonic() + 30\n"
        f"while not pathlib.Path({str(theirs)!r}).exists():\n"
        "    if time.monotonic() > deadline: sys.exit(1)\n"
        "    time.sleep(0.01)\n"
        f"print({said!r})"
    )


def test_the_twin_runs_while_the_rest_does_and_its_output_comes_after(tmp_path, capfd):
    rest_started, twin_started = tmp_path / "rest", tmp_path / "twin"
    rest = _meets(rest_started, twin_started, "rest: 2279 passed")
    twin = _meets(twin_started, rest_started, "twin: 33 passed")
    log = tmp_path / "logs" / "tier.log"
    assert tiers.run_beside(rest, twin, log) == 0
    out = capfd.readouterr().out
    assert out.index(f"its output, shown at the end: {log}") < out.index("rest: 2279 passed")
    assert out.index("rest: 2279 passed") < out.index(f" twin tier ({log}) ")
    assert out.index(f" twin tier ({log}) ") < out.index("twin: 33 passed")
    assert log.read_text() == "twin: 33 passed\n"


def test_a_twin_still_running_when_the_rest_ends_is_said_to_be_waited_for(tmp_path, capfd):
    log = tmp_path / "tier.log"
    assert tiers.run_beside(_python("pass"), _python("import time; time.sleep(1)"), log) == 0
    assert f"waiting for the twin tier to end (tail -f {log})" in capfd.readouterr().out


KILLED = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"


@pytest.mark.parametrize(
    ("rest_code", "twin_code", "status"),
    [
        ("raise SystemExit(0)", "raise SystemExit(3)", 3),
        ("raise SystemExit(1)", "raise SystemExit(0)", 1),
        ("raise SystemExit(1)", "raise SystemExit(3)", 1),
        ("raise SystemExit(0)", KILLED, 128 + 9),
        # `-- -k NAME` selects from one tier only: the other's "no tests" is no failure ...
        ("raise SystemExit(5)", "raise SystemExit(0)", 0),
        ("raise SystemExit(0)", "raise SystemExit(5)", 0),
        # ... unless neither ran a test, or the other failed
        ("raise SystemExit(5)", "raise SystemExit(5)", 5),
        ("raise SystemExit(5)", "raise SystemExit(1)", 1),
    ],
)
def test_either_tiers_failure_is_the_runs(tmp_path, capfd, rest_code, twin_code, status):
    twin = _python(f"print('twin said this')\n{twin_code}")
    assert tiers.run_beside(_python(rest_code), twin, tmp_path / "tier.log") == status
    assert "twin said this" in capfd.readouterr().out


DRIVER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("tiers", sys.argv[1])
tiers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tiers)
sleeper = [sys.executable, "-c", sys.argv[2]]
here = tiers.Path.cwd()
rest, twin = sleeper + [str(here / "rest")], sleeper + [str(here / "twin")]
sys.exit(tiers.run_beside(rest, twin, here / "tier.log"))
"""
# each run: says it is ready, then sleeps until SIGTERM, which it writes down before ending,
# or until Ctrl-C, after which it takes half a second to tear down, as pytest's fixtures do
SLEEPER = """
import pathlib, signal, sys, time
name = sys.argv[1]
def stop(number, frame):
    pathlib.Path(name + ".stopped").write_text(str(number))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
pathlib.Path(name + ".ready").touch()
try:
    time.sleep(60)
except KeyboardInterrupt:
    time.sleep(0.5)
    pathlib.Path(name + ".torn-down").touch()
    sys.exit(2)
"""


def _start(tmp_path: Path) -> subprocess.Popen:
    """The runner over two sleepers, in a process group of its own (as a terminal's job),
    once both are ready."""
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(REPO / "scripts" / "tiers.py"), SLEEPER],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ready = [tmp_path / "rest.ready", tmp_path / "twin.ready"]
    deadline = time.monotonic() + 30
    while not all(path.exists() for path in ready) and time.monotonic() < deadline:
        time.sleep(0.02)
    return driver


def test_ctrl_c_lets_both_runs_tear_down_and_shows_the_twins_log(tmp_path):
    driver = _start(tmp_path)
    os.killpg(driver.pid, signal.SIGINT)  # what the terminal does: to the whole job
    out, _ = driver.communicate(timeout=30)
    assert driver.returncode == 128 + signal.SIGINT, out
    assert (tmp_path / "rest.torn-down").exists() and (tmp_path / "twin.torn-down").exists()
    assert " twin tier (" in out


def test_sigterm_to_the_runner_stops_both_runs_and_is_its_exit_status(tmp_path):
    driver = _start(tmp_path)
    os.kill(driver.pid, signal.SIGTERM)  # to the runner alone, as make passes it on
    out, _ = driver.communicate(timeout=30)
    assert driver.returncode == 128 + signal.SIGTERM, out
    for name in ("rest", "twin"):
        assert (tmp_path / f"{name}.stopped").read_text() == str(int(signal.SIGTERM))
    assert " twin tier (" in out
