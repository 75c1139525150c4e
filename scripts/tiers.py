"""Run `make test`'s two pytest runs at once: the twin tier and every other tier.

Every tier but the twin runs on pytest-xdist's workers, its output on this terminal; the
twin tier runs beside it, in a process of its own. The twin's builds wait on one another and
on the simulated account as much as they compute, so alone it keeps the machine's two cores
only two-thirds busy; beside the other tiers, the two runs take 11 min 50 s where one after
the other took 13 min 10 s. Its output goes to a log (TWIN_LOG) while it runs, so the two
never interleave, and is printed once both have ended.

The exit status is the first failure's: the rest's, else the twin's. Arguments after `--`
go to both runs; a run they select nothing from (pytest's 5) is no failure if the other ran
tests. Ctrl-C reaches both runs from the terminal (a second one stops them at once), and
SIGTERM or SIGHUP sent here is passed to both: each tears down as pytest does, and this
exits 128 + the signal. (Both write pytest's cache when they end, the later over the
earlier: `--lf` after `make test` may rerun fewer of the other run's failures; `make twin`
and plain pytest keep it whole.)

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
NO_TESTS = 5  # pytest's exit status when it collected nothing
FORWARDED = (signal.SIGTERM, signal.SIGHUP)


def commands(python: str, jobs: str, extra: Sequence[str]) -> tuple[list[str], list[str]]:
    """(every tier but the twin, the twin tier): each prints its slowest tests."""
    pytest = [python, "-m", "pytest", "-q"]
    rest = [*pytest, "-n", jobs, "--dist", "loadfile", "--no-loadscope-reorder"]
    return (
        [*rest, "-m", "not twin", "--durations=20", *extra],
        [*pytest, "-m", "twin", "--durations=10", *extra],
    )


def status(rest: int, twin: int) -> int:
    """The run's exit status from its two: the first failure's, a signal's death as the
    shell says it (128 + N); a run that selected nothing (`-- -k NAME` of one tier) counts
    as passed when the other ran its tests."""
    codes = [128 - code if code < 0 else code for code in (rest, twin)]
    failures = [code for code in codes if code not in (0, NO_TESTS)]
    if failures:
        return failures[0]
    return 0 if 0 in codes else NO_TESTS


def _wait(process: subprocess.Popen, received: list[int]) -> int:
    """Its exit status, waiting through a Ctrl-C: the terminal sent it there too, and it is
    tearing down; at a second Ctrl-C it is stopped at once."""
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            received.append(signal.SIGINT)
            if received.count(signal.SIGINT) > 1:
                process.kill()


def run_beside(rest: Sequence[str], twin: Sequence[str], log: Path) -> int:
    """Run `twin` into `log` while `rest` runs on this terminal; then print the log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"twin tier: running beside the others; its output, shown at the end: {log}")
    sys.stdout.flush()
    received: list[int] = []
    with open(log, "w", encoding="utf-8") as out:
        beside = subprocess.Popen(twin, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        here = subprocess.Popen(rest, cwd=REPO)

        def forward(number: int, frame: object) -> None:
            received.append(number)
            for process in (here, beside):
                if process.poll() is None:
                    process.send_signal(number)

        previous = {number: signal.signal(number, forward) for number in FORWARDED}
        try:
            first = _wait(here, received)
            if beside.poll() is None and not received:
                print(f"waiting for the twin tier to end (tail -f {log})")
                sys.stdout.flush()
            second = _wait(beside, received)
        finally:
            for process in (here, beside):
                if process.poll() is None:  # an error of this script's own
                    process.kill()
                    process.wait()
            for number, handler in previous.items():
                signal.signal(number, handler)
    width = shutil.get_terminal_size().columns
    print(f" twin tier ({log}) ".center(min(width, 100), "="))
    sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
    sys.stdout.flush()
    return 128 + received[0] if received else status(first, second)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/tiers.py",
        description="make test's pytest runs: the twin tier beside every other tier",
    )
    parser.add_argument("--jobs", default=os.environ.get("TEST_JOBS", "2"))
    parser.add_argument("--twin-log", type=Path, default=TWIN_LOG)
    parser.add_argument("pytest_args", nargs="*", help="after --: given to both runs")
    args = parser.parse_args(argv)
    rest, twin = commands(sys.executable, args.jobs, args.pytest_args)
    return run_beside(rest, twin, args.twin_log)


if __name__ == "__main__":
    sys.exit(main())
