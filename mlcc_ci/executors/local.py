"""Run stage commands as local subprocesses, each in its own process group.

When a stage ends — it exits, outlives its timeout, or the run is interrupted — its whole
session is ended (each stage starts one of its own): nothing it started in the background is
left running, even a job `set -m` moved to a process group of its own. (A program that
leaves the session on purpose, with setsid, is the stage's to clean up, as an endpoint is
teardown's.) Teardown is protected: an interrupt that stops the other stages lets it
finish, and only `cancel_all(protected=True)` stops it.
"""

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

KILL_GRACE_SECONDS = 3.0
TAIL_BYTES = 4096


@dataclass(frozen=True)
class StageRun:
    returncode: int | None
    duration: float
    stderr_tail: str
    timed_out: bool = False
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.cancelled


def _session(sid: int) -> list[int]:
    """Every process of the session `sid` (a stage's: started with a session of its own),
    whatever process group it moved to (`set -m` gives each background job its own)."""
    found = []
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) == sid:
                    found.append(int(entry.name))
    return found


def _signal_all(proc: subprocess.Popen[bytes], sig: signal.Signals) -> bool:
    """Send `sig` to the stage's process group and to the rest of its session; whether any
    process was left to signal."""
    alive = False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
        alive = True
    for pid in _session(proc.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            alive = True
    return alive


def _kill_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """End the stage's whole session: SIGTERM, a grace period, then SIGKILL."""
    if not _signal_all(proc, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, so it does not count as alive
        if not _signal_all(proc, 0):  # type: ignore[arg-type]
            return
        time.sleep(0.02 if proc.returncode is None else 0.05)
    _signal_all(proc, signal.SIGKILL)


def _private(path: Path) -> BinaryIO:
    """Open `path` for writing, readable by its owner only (never through a symlink)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - TAIL_BYTES, 0))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


class LocalExecutor:
    def __init__(self, kill_grace: float = KILL_GRACE_SECONDS) -> None:
        self.kill_grace = kill_grace
        self._active: dict[int, subprocess.Popen[bytes]] = {}
        self._protected: set[int] = set()
        self._cancelled: set[int] = set()
        self._lock = threading.Lock()

    def run(
        self,
        command: str,
        *,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        log: Path,
        protected: bool = False,
    ) -> StageRun:
        """Run `command` with bash; stdout to `log`, stderr to `log`.stderr."""
        err_path = log.with_suffix(".stderr.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.parent.chmod(0o700)  # stage output may hold secrets: the owner's alone
        start = time.perf_counter()
        with _private(log) as out, _private(err_path) as err:
            proc = subprocess.Popen(
                ["bash", "-c", command],
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        with self._lock:
            self._active[proc.pid] = proc
            if protected:
                self._protected.add(proc.pid)
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _kill_group(proc, self.kill_grace)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            returncode = proc.wait()
        finally:
            timer.cancel()
            with self._lock:
                self._active.pop(proc.pid, None)
                self._protected.discard(proc.pid)
                cancelled = proc.pid in self._cancelled
                self._cancelled.discard(proc.pid)
        if timed_out.is_set():
            timer.join()  # the group kill has finished
        else:
            _kill_group(proc, self.kill_grace)  # what it left running in the background
        return StageRun(
            returncode=returncode,
            duration=time.perf_counter() - start,
            stderr_tail=_tail(err_path),
            timed_out=timed_out.is_set(),
            cancelled=cancelled,
        )

    def cancel_all(self, *, protected: bool = False) -> None:
        """Kill every running stage's process group (on SIGTERM/SIGINT); teardown's only
        with `protected`."""
        with self._lock:
            procs = [p for p in self._active.values() if protected or p.pid not in self._protected]
            self._cancelled.update(p.pid for p in procs)
        for proc in procs:
            threading.Thread(target=_kill_group, args=(proc, self.kill_grace), daemon=True).start()
