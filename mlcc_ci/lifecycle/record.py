"""The record: what a run writes to the store as it goes (the stage it is in) and at its
end (its result, or the status the record had with the run kept beside it, and what blocks
the configuration when the infrastructure failed it)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

from mlcc_ci import clock
from mlcc_ci.constants import ERROR, INTERRUPTED
from mlcc_ci.errors import CatalogError, ConflictError, StoreError
from mlcc_ci.failures import Rule, load_rules
from mlcc_ci.lifecycle.context import RunContext, RunReport
from mlcc_ci.models import (
    Blocked,
    Failure,
    Outcome,
    Record,
    StageResult,
    progressed,
    run_of,
    set_aside,
)
from mlcc_ci.scheduling import blocked
from mlcc_ci.stores.base import ResultsStore, finish


@dataclass
class Claim:
    """One run's claimed record as last written (each stage's progress moves its version)."""

    record: Record

    def __post_init__(self) -> None:
        self.claimed_id = self.record.runId or ""  # as the scanner or `run` claimed it
        self.first_started = self.record.runStartedAt  # the first attempt's start


def record_progress(
    ctx: RunContext, claim: Claim, stage: str, done: Mapping[str, StageResult]
) -> None:
    """Tell the store which stage the run is in, so a dashboard can show it. Best
    effort: a run never fails because its progress could not be written."""
    current = claim.record
    moved = progressed(current, stage, clock.iso(ctx.now(), ms=True), done)
    try:
        ctx.store.replace(moved, expect_version=current.version, expect_run_id=current.runId)
    except (ConflictError, StoreError):
        return  # re-registered or reaped meanwhile: the final write will say so
    claim.record = moved


def update(ctx: RunContext, report: RunReport) -> Blocked | None:
    """Write the run's result. A product outcome finishes the record; a run that proved
    nothing goes back to the status the record had, kept among its recent runs:
    interrupted, a harness `error`, or a failure the infrastructure caused (then `blocked`
    says so, and is returned). A result the store refuses is kept in the work folder
    (report.stored is then False)."""
    record, outcome = report.record, report.outcome
    blocked = None
    try:
        if outcome.status in (INTERRUPTED, ERROR):
            report.record = write(ctx.store, record, set_aside(record, outcome))
        elif (failure := outcome.blocked_by) is not None:
            started = report.first_started or record.runStartedAt
            blocked = _blocked(ctx, record, outcome, failure, started)
            report.record = write(ctx.store, record, set_aside(record, outcome, blocked))
        else:
            report.record = finish(ctx.store, record, outcome)
    except ConflictError:
        report.notes.append(
            "the record changed during the run (re-registered or reaped): "
            "its result is kept in the history only"
        )
    except StoreError as exc:
        kept = report.work_dir / "result.json"
        kept.write_text(json.dumps(run_of(record, outcome).to_item(), indent=2))
        report.notes.append(f"could not write the result ({exc}); kept in {kept}")
        report.stored = False
        return None
    try:
        ctx.store.append_run(run_of(record, outcome))
    except StoreError as exc:
        report.notes.append(f"could not append the run to the history: {exc}")
    return blocked


def write(store: ResultsStore, running: Record, new: Record) -> Record:
    store.replace(new, expect_version=running.version, expect_run_id=running.runId)
    return new


def _blocked(
    ctx: RunContext, record: Record, outcome: Outcome, failure: Failure, started: str | None
) -> Blocked:
    """What blocks the configuration now, its wait from the backoff of the rule that
    classified the failure (scheduling.blocked)."""
    rule = next((r for r in (ctx.rules or _rules_or_none()) if r.name == failure.rule), None)
    return blocked(record, outcome, failure, rule.retry.backoff_seconds if rule else 0, started)


def label(outcome: Outcome) -> str:
    """A finished run's status as the progress lines show it: `blocked (capacity)` for a
    failure the infrastructure caused."""
    blocked = outcome.blocked_by
    return f"blocked ({blocked.cls})" if blocked else outcome.status


def _rules_or_none() -> tuple[Rule, ...]:
    try:
        return load_rules()
    except CatalogError:
        return ()
