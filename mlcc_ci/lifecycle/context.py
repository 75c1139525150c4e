"""What a run needs, in one object (RunContext): the store and the failure rules it writes
by, the profile it runs with, the clock, whom it tells, its work folder and its budget;
what it shows as it goes (Progress) and what it hands back (RunReport)."""

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypedDict, Unpack

from mlcc_ci import clock
from mlcc_ci.executors.local import LocalExecutor
from mlcc_ci.failures import Rule
from mlcc_ci.models import Outcome, Record
from mlcc_ci.profiles import Profile
from mlcc_ci.stores.base import ResultsStore

# The seed's stages, in order; teardown follows them always, then the record is updated.
RUN_STAGES = ("generate", "validate", "build", "deploy_test", "register")

Send = Callable[[str, str], None]  # (subject, message)


@dataclass(frozen=True)
class Progress:
    name: str
    stage: str
    state: str  # start | end | retry (status: the failure class; elapsed: the wait)
    status: str = ""
    elapsed: float = 0.0
    log: str = ""  # at a stage's end: its local log (stdout; stderr beside it)


@dataclass
class RunReport:
    record: Record
    outcome: Outcome
    work_dir: Path
    notes: list[str] = field(default_factory=list)
    stored: bool = True  # False: the store refused the result; it is kept in the work folder
    first_started: str | None = None  # of the first attempt, when the run was retried
    quarantine: str | None = None  # the entry's quarantine in force: no regression notice

    @property
    def status(self) -> str:
        return self.outcome.status


@dataclass
class Stop:
    """How runs are stopped from outside (matrix.install_signal_handlers): `cancel` stops
    them starting stages (the caller kills the running stage's process group), `reason`
    names the signal, `abandoned` (a third interrupt) says teardown was stopped too."""

    cancel: threading.Event = field(default_factory=threading.Event)
    abandoned: threading.Event = field(default_factory=threading.Event)
    reason: str = "SIGTERM"


@dataclass(frozen=True)
class Budget:
    """Retries within the run: not past `deadline` (time.monotonic(); the executor's run
    budget), nor a backoff longer than `max_wait` seconds (a build does not idle for ten
    minutes: a longer wait is the scanner's, which re-queues after retryAfter); none at all
    when `retry` is False (`run --no-retry`)."""

    deadline: float | None = None
    max_wait: float | None = None
    retry: bool = True


@dataclass(frozen=True)
class Notifier:
    """Whom a run tells, each a (subject, message) sender or None: the owners of a
    regression or a fix, the platform team of a configuration infrastructure has blocked."""

    owners: Send | None = None
    platform: Send | None = None


class RunOptions(TypedDict, total=False):
    """The Runner's keyword options beside store, profile and work_root."""

    executor: LocalExecutor | None
    env: Mapping[str, str] | None  # default: os.environ
    cancel: threading.Event | None
    progress: Callable[[Progress], None] | None
    now: Callable[[], datetime]
    notify: Send | None  # Notifier.owners
    notify_platform: Send | None  # Notifier.platform
    rules: tuple[Rule, ...] | None
    deadline: float | None  # Budget
    max_wait: float | None
    retry: bool


def _unseen(event: Progress) -> None:
    return None


@dataclass(frozen=True)
class RunContext:
    """What every run (and each attempt and stage of it) needs from the one who runs it."""

    store: ResultsStore
    profile: Profile
    rules: tuple[Rule, ...] | None  # the failure rules; None: the catalog's, read at need
    work_root: Path  # each run's folder is made in it
    env: dict[str, str]  # the harness's own environment (a copy); each stage gets its own
    executor: LocalExecutor
    stop: Stop
    progress: Callable[[Progress], None]  # the terminal, the build log
    now: Callable[[], datetime]
    notifier: Notifier
    budget: Budget

    @classmethod
    def create(
        cls, store: ResultsStore, profile: Profile, work_root: Path, **options: Unpack[RunOptions]
    ) -> "RunContext":
        env = options.get("env")
        return cls(
            store=store,
            profile=profile,
            rules=options.get("rules"),
            work_root=work_root,
            env=dict(os.environ if env is None else env),
            executor=options.get("executor") or LocalExecutor(),
            stop=Stop(cancel=options.get("cancel") or threading.Event()),
            progress=options.get("progress") or _unseen,
            now=options.get("now", clock.now),
            notifier=Notifier(options.get("notify"), options.get("notify_platform")),
            budget=Budget(
                options.get("deadline"), options.get("max_wait"), options.get("retry", True)
            ),
        )

    def show(self, event: Progress, notes: list[str]) -> None:
        """Tell `progress` (the terminal, the build log). Best effort: showing a run is not
        the run, so a display that fails is a note, never the run's failure."""
        try:
            self.progress(event)
        except Exception as exc:
            note = f"progress could not be shown: {type(exc).__name__}: {exc}"
            if note not in notes:
                notes.append(note)
