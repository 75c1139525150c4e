"""`make test`'s pytest runs: every tier but the twin on pytest-xdist's workers, and the twin
tier beside them, in a process of its own.

The twin's builds wait on one another and on the simulated account as much as they compute,
so alone it keeps the machine's two cores only two-thirds busy; beside the other tiers, the
two runs take 11 min 50 s where one after the other took 13 min 10 s. Its output goes to a
log (TWIN_LOG) while it runs, so the two never interleave, and is printed once both have
ended. The exit status is the first failure's: the rest's, else the twin's. (Both write
pytest's cache when they end, the later over the earlier: `--lf` after `make test` may
rerun fewer of the other run's failures; `make twin` and plain pytest keep it whole.)

    python scripts/tiers.py [--jobs N] [--twin-log FILE] [-- PYTEST ARGS FOR BOTH]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TWIN_LOG = REPO / ".twin" / "tier.log"


def commands(python: str, jobs: str, extra: Sequence[str]) -> tuple[list[str], list[str]]:
    """(every tier but the twin, the twin tier): each prints its slowest tests."""
    pytest = [python, "-m", "pytest", "-q"]
    rest = [*pytest, "-n", jobs, "--dist", "loadfile", "--no-loadscope-reorder"]
    return (
        [*rest, "-m", "not twin", "--durations=20", *extra],
        [*pytest, "-m", "twin", "--durations=10", *extra],
    )


def run_beside(rest: Sequence[str], twin: Sequence[str], log: Path) -> int:
    """Run `twin` into `log` while `rest` runs on this terminal; then print the log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"twin tier: running beside the others; its output, shown at the end: {log}")
    sys.stdout.flush()
    with open(log, "w", encoding="utf-8") as out:
        beside = subprocess.Popen(twin, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        stop = lambda number, frame: beside.send_signal(number)  # noqa: E731
        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
        try:
            first = subprocess.run(rest, cwd=REPO, check=False).returncode
            second = beside.wait()
        finally:
            if beside.poll() is None:  # Ctrl-C (the terminal sends it to both) or an error
                beside.terminate()
                beside.wait()
            for number, handler in previous.items():
                signal.signal(number, handler)
    width = shutil.get_terminal_size().columns
    print(f" twin tier ({log}) ".center(min(width, 100), "="))
    sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
    sys.stdout.flush()
    return first or second


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/tiers.py", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", default=os.environ.get("TEST_JOBS", "2"))
    parser.add_argument("--twin-log", type=Path, default=TWIN_LOG)
    parser.add_argument("pytest_args", nargs="*", help="after --: given to both runs")
    args = parser.parse_args(argv)
    rest, twin = commands(sys.executable, args.jobs, args.pytest_args)
    try:
        return run_beside(rest, twin, args.twin_log)
    except KeyboardInterrupt:  # both runs had it too, and have stopped
        return 130


if __name__ == "__main__":
    sys.exit(main())
