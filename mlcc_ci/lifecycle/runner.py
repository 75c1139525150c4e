"""One run of one configuration: generate → validate → build → deploy_test → register →
teardown → update.

The first failure skips the stages after it, except teardown and update, which always run:
after a failure, a timeout, SIGTERM/SIGINT (the caller sets `cancel` and kills the
running stage's process group) or an exception inside the harness.

Behind the Runner, a room each: attempt.py (the stages in order, teardown always),
stage.py (one stage), stageenv.py (its folder and environment), smoke.py (the endpoint),
retry.py (retry and backoff), record.py (what goes to the store), notices.py (owners and
the platform team), injection.py (MLCC_CI_FAULT); context.py carries what they all need.
"""

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Unpack

from mlcc_ci import clock, quarantine, workdirs
from mlcc_ci.catalog import Entry
from mlcc_ci.constants import ERROR
from mlcc_ci.executors.local import LocalExecutor
from mlcc_ci.failures import HARNESS
from mlcc_ci.lifecycle.context import Progress, RunContext, RunOptions, RunReport
from mlcc_ci.lifecycle.notices import tell
from mlcc_ci.lifecycle.record import Claim, label, update
from mlcc_ci.lifecycle.retry import attempts
from mlcc_ci.models import Failure, Outcome, Record, StageResult
from mlcc_ci.profiles import Profile
from mlcc_ci.stores.base import ResultsStore


class Runner:
    """Runs claimed records, each on its own thread if the caller likes (matrix.run_all),
    with what `RunContext` carries; `run` is the whole of one."""

    def __init__(
        self,
        store: ResultsStore,
        profile: Profile,
        *,
        work_root: Path,
        **options: Unpack[RunOptions],
    ) -> None:
        self.context = RunContext.create(store, profile, work_root, **options)

    def run(self, record: Record, entry: Entry) -> RunReport:
        """Run the claimed record through every stage and write its result.

        Whatever goes wrong inside the harness, the claim is not left `running`."""
        ctx = self.context
        claim = Claim(record)
        try:
            with workdirs.holding():  # its folders are the run's, locked, until it ends
                report = attempts(ctx, claim, entry)  # generate … teardown, retried by rule
                report.first_started = claim.first_started
                if (held := quarantine.in_force(entry, ctx.now())) is not None:
                    report.quarantine = held.text
                ctx.show(Progress(entry.name, "update", "start"), report.notes)
                _update(ctx, report)
                status = label(report.outcome)
                ctx.show(Progress(entry.name, "update", "end", status), report.notes)
                return report
        except Exception as exc:
            # mlcc-ci broke, not the configuration: an `error` in the history, and the
            # record goes back to the status it had
            report = _broken(ctx, claim, exc)
            _update(ctx, report)
            return report

    # -- what its callers reach: the signal handlers (matrix.install_signal_handlers), and
    # tests that change a runner's profile, display or environment after making it

    @property
    def profile(self) -> Profile:
        return self.context.profile

    @profile.setter
    def profile(self, profile: Profile) -> None:
        self.context = replace(self.context, profile=profile)

    @property
    def progress(self) -> Callable[[Progress], None]:
        return self.context.progress

    @progress.setter
    def progress(self, progress: Callable[[Progress], None]) -> None:
        self.context = replace(self.context, progress=progress)

    @property
    def env(self) -> dict[str, str]:
        """The harness's own environment (a copy of the one it was given)."""
        return self.context.env

    @property
    def executor(self) -> LocalExecutor:
        return self.context.executor

    @property
    def cancel(self) -> threading.Event:
        return self.context.stop.cancel

    @property
    def abandoned(self) -> threading.Event:
        """Set by a third interrupt: teardown was stopped too."""
        return self.context.stop.abandoned

    @property
    def cancel_reason(self) -> str:
        return self.context.stop.reason

    @cancel_reason.setter
    def cancel_reason(self, reason: str) -> None:
        self.context.stop.reason = reason


def _update(ctx: RunContext, report: RunReport) -> None:
    """Write the run's result, then tell whom it concerns (once it is written)."""
    blocked = update(ctx, report)
    if report.stored:
        tell(ctx, report, blocked)


def _broken(ctx: RunContext, claim: Claim, exc: Exception) -> RunReport:
    """The run's report when the harness itself failed."""
    message = f"internal error in the harness: {type(exc).__name__}: {exc}"[:500]
    outcome = Outcome(
        status=ERROR,
        finishedAt=clock.iso(ctx.now()),
        durationSeconds=0.0,
        stageResults={"generate": StageResult("fail", errorSummary=message)},
        errorMessage=message,
        profile=ctx.profile.name,
        failure=Failure(HARNESS, "generate", "harness-internal-error", type(exc).__name__),
    )
    return RunReport(claim.record, outcome, ctx.work_root, [message])
