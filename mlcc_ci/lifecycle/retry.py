"""Retry and backoff: a failure its rule calls infra, capacity or quota is tried again by
the rule's policy (count and backoff), from the start (teardown has removed all the attempt
made: the endpoint must not stay up through a backoff, and `do/clean all` takes the image
too), within the run's budget. Each attempt is a run of its own in the history (a run id,
a start, a cost); the claim is held across them."""

import time

from mlcc_ci import clock
from mlcc_ci.catalog import Entry
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.failures import NO_RETRY, RETRIED, Classification
from mlcc_ci.lifecycle.attempt import attempt
from mlcc_ci.lifecycle.context import Budget, Progress, RunContext, RunReport
from mlcc_ci.lifecycle.record import Claim
from mlcc_ci.models import Outcome, reclaimed, run_of


def attempt_run_id(claimed_id: str, attempt: int) -> str:
    """Attempt 2 and on of a claimed run: `<claimed id>-r<N>`, so whoever holds the claimed
    id (the executor's post_build, the orchestrator) still knows the record as its run's."""
    return f"{claimed_id}-r{attempt}"


def attempts(ctx: RunContext, claim: Claim, entry: Entry) -> RunReport:
    """Attempts of the run until one proves something or may not be retried: the last."""
    number = 1
    notes: list[str] = []
    while True:
        report, found = attempt(ctx, claim, entry, number, notes)
        if not _again(ctx, claim, entry, report, found, number):
            return report
        number += 1


def _again(
    ctx: RunContext,
    claim: Claim,
    entry: Entry,
    report: RunReport,
    found: Classification | None,
    number: int,
) -> bool:
    """Whether attempt `number` is followed by another: its failure's rule retries it, the
    budget leaves room, the backoff passed uninterrupted and the claim was handed on."""
    failure = report.outcome.failure
    policy = found.retry if found is not None else NO_RETRY
    if (
        failure is None
        or failure.cls not in RETRIED
        or number > policy.count
        or ctx.stop.cancel.is_set()
    ):
        return False
    wait = policy.backoff_seconds
    why_not = _not_now(ctx.budget, wait, report.outcome)
    if why_not:
        report.notes.append(f"attempt {number} failed at {failure.stage}: {why_not}")
        return False
    report.notes.append(
        f"attempt {number} failed at {failure.stage}: {failure.cls} ({failure.rule}); "
        f"attempt {number + 1} of {policy.count + 1} in {wait:g}s"
    )
    ctx.show(Progress(entry.name, failure.stage, "retry", failure.cls, wait), report.notes)
    if ctx.stop.cancel.wait(wait):  # interrupted while waiting: the last attempt stands
        return False
    return _hand_on(ctx, claim, report)


def _not_now(budget: Budget, wait: float, outcome: Outcome) -> str | None:
    """Why a retry waits for the scanner instead of running now; None if it may run."""
    took = outcome.durationSeconds
    teardown = outcome.stageResults.get("teardown")
    if teardown is not None and teardown.status == "fail":
        return "not retried: its teardown failed, and what it made may still be up"
    if not budget.retry:
        return "not retried (--no-retry): it waits as blocked for `run --due`"
    if budget.max_wait is not None and wait > budget.max_wait:
        return f"its backoff ({wait:g}s) is the scanner's to wait, not this build's"
    if budget.deadline is not None and time.monotonic() + wait + 1.25 * took > budget.deadline:
        return "another attempt would not finish within the run's budget"
    return None


def _hand_on(ctx: RunContext, claim: Claim, report: RunReport) -> bool:
    """Keep the failed attempt in the history and hand the claim to the next one."""
    current = claim.record
    run = run_of(current, report.outcome)
    next_id = attempt_run_id(claim.claimed_id, run.attempt + 1)
    moved = reclaimed(current, next_id, clock.iso(ctx.now(), ms=True), run)
    try:
        ctx.store.replace(moved, expect_version=current.version, expect_run_id=current.runId)
    except (ConflictError, StoreError) as exc:
        report.notes.append(f"not retried: the record could not be handed on ({exc})")
        return False
    claim.record = moved
    try:
        ctx.store.append_run(run)
    except StoreError as exc:
        report.notes.append(f"could not append attempt {run.attempt} to the history: {exc}")
    return True
