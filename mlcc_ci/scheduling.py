"""Selection over a store: gather candidates with status queries only, reap orphans, claim."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlcc_ci import clock
from mlcc_ci.cadence import DAILY
from mlcc_ci.constants import RUNNING, TERMINAL_STATUSES, UNTESTED
from mlcc_ci.decode import FOREIGN_STATUSES
from mlcc_ci.errors import CatalogError, ConflictError, StoreError
from mlcc_ci.models import (
    Blocked,
    Cost,
    Failure,
    Outcome,
    Record,
    Registration,
    StageResult,
    run_of,
    set_aside,
)
from mlcc_ci.selection import (
    Decision,
    Plan,
    Policy,
    Upcoming,
    by_name,
    next_due,
    orphan_message,
    select,
    superseding,
)
from mlcc_ci.stores.base import ResultsStore, claim, finish


def gather(
    store: ResultsStore, now: datetime, policy: Policy, config_ids: Iterable[str] = ()
) -> list[Record]:
    """Candidates through the status index: untested, stale finished ones, running; and the
    records of `config_ids` (the catalog's) the index did not give, read one by one, since
    an entry edited since its last run is due however recently it ran. No Scan."""
    cutoff = clock.iso(now - policy.stale_after)
    found = list(store.by_status(UNTESTED))
    for status in (*TERMINAL_STATUSES, *FOREIGN_STATUSES):  # others' names for ours too
        found.extend(store.by_status(status, before=cutoff))
    found.extend(store.by_status(RUNNING))
    seen = {r.configId for r in found}
    for config_id in config_ids:
        if config_id not in seen and (record := store.get(config_id)) is not None:
            found.append(record)
    return found


def upcoming(
    store: ResultsStore, policy: Policy, catalog: Mapping[str, Registration] | None = None
) -> Upcoming | None:
    """When the next finished result goes stale, and whose: under the daily schedule the
    oldest supported record of each finished status (the status index is ordered by time),
    the earliest of them; under the confidence schedule, whose intervals differ, the
    earliest of them all. `catalog` (configId -> registration): an earlier identity of its
    entries is never due."""
    catalog = catalog or {}
    names = by_name(catalog)
    firsts: list[Record] = []
    for status in (*TERMINAL_STATUSES, *FOREIGN_STATUSES):
        # a blocked record falls due at its retry time instead (selection.blocked_next)
        candidates = (
            r
            for r in store.by_status(status)
            if r.supported and not r.blocked and superseding(r, catalog, names) is None
        )
        if policy.cadence != DAILY:
            firsts.extend(candidates)
        elif (first := next(candidates, None)) is not None:
            firsts.append(first)
    return next_due(firsts, policy)


def reregister(
    store: ResultsStore, plan: Plan, catalog: Mapping[str, Registration], now: datetime
) -> Plan:
    """Register, from the catalog, each due record whose entry changed (anew, or under the
    new configId of its new identity) or is new, so that its run tests the entry as it is
    now; the plan then holds the records as they are stored. One the store refuses (or
    cannot read) is named unreadable and left out."""
    due = []
    for decision in plan.due:
        # a generator or base image change (cadence.py) leaves the entry as it is
        if decision.reason not in ("changed", "new") or decision.record.configId not in catalog:
            due.append(decision)
            continue
        config_id = decision.record.configId
        if config_id in store.unreadable:  # a new entry's id, stored as no one can read
            continue
        try:
            store.register(catalog[config_id], clock.iso(now))
            record = store.get(config_id)
        except StoreError as exc:
            store.unreadable[config_id] = f"cannot be registered anew: {exc}"
            continue
        if record is not None and record.testStatus != RUNNING:
            due.append(Decision(record, decision.reason, decision.detail))
    return Plan(due=due, reap=plan.reap, skipped=plan.skipped, unregistered=plan.unregistered)


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def fail_run(
    store: ResultsStore,
    record: Record,
    now: datetime,
    message: str,
    stage: str = "build",
    profile: str | None = None,
) -> Record | None:
    """Record that `record`'s run died without writing its result. None if it already did.
    A failure the rules put on the infrastructure (infra, capacity, quota, credentials)
    blocks the configuration instead, as the runner does: its status stays what it was."""
    started = clock.parse(record.runStartedAt or record.lastTestTimestamp)
    failure, backoff = _classified(stage, message)
    outcome = Outcome(
        failure=failure,
        status=f"fail-{stage}",
        finishedAt=clock.iso(now),
        durationSeconds=max((now - started).total_seconds(), 0.0),  # 0 for a future start
        stageResults={stage: StageResult("fail", errorSummary=message[:500])},
        errorMessage=message,
        profile=profile or record.profile or "default",
        estimatedCost=Cost(None, "the run died before it could time its stages"),
    )
    try:
        if outcome.blocked_by is None:
            done = finish(store, record, outcome)
        else:
            block = blocked(record, outcome, failure, backoff, record.runStartedAt)
            done = set_aside(record, outcome, block)
            store.replace(done, expect_version=record.version, expect_run_id=record.runId)
    except ConflictError:
        return None  # someone else reaped or finished it first
    if record.runId and record.runStartedAt:
        store.append_run(run_of(record, outcome))
    return done


def _classified(stage: str, message: str) -> tuple[Failure, int]:
    """The class of a run that died, by the rules, from what is known of it, and its rule's
    backoff in seconds; unclassified where the rules cannot be read."""
    try:
        from mlcc_ci.failures import classify

        found = classify(stage, message)  # a failable stage: record-failure's choices
    except (ImportError, CatalogError):
        return Failure("unclassified", stage), 0
    return Failure(found.cls, stage, found.rule, found.capture), found.retry.backoff_seconds


# A blocked configuration waits its rule's backoff (at least 5 minutes), doubled for each
# blocked run in a row, at most a day: for the runner (lifecycle/record.py) and for a run
# that died (fail_run) alike.
BLOCKED_MIN_WAIT = 300
BLOCKED_MAX_WAIT = 86400


def blocked(
    record: Record, outcome: Outcome, failure: Failure, backoff: int, started: str | None
) -> Blocked:
    """What blocks the configuration now: since the first blocked run of this streak (this
    run's start, `started`, for the first)."""
    before = record.blocked
    rounds = before.rounds + 1 if before else 1
    wait = min(max(backoff, BLOCKED_MIN_WAIT) * 2 ** min(rounds - 1, 10), BLOCKED_MAX_WAIT)
    after = clock.parse(outcome.finishedAt) + timedelta(seconds=wait)
    return Blocked(
        cls=failure.cls,
        stage=failure.stage,
        since=before.since if before else (started or outcome.finishedAt),
        retryAfter=clock.iso(after),
        rule=failure.rule,
        capture=failure.capture,
        rounds=rounds,
        notified=before.notified if before else False,
    )


def reap(store: ResultsStore, plan: Plan, now: datetime, policy: Policy) -> list[Record]:
    """Record each orphaned run as a failure that says why; keep it in the history."""
    reaped = []
    for decision in plan.reap:
        message = orphan_message(decision.record, now, policy)
        done = fail_run(store, decision.record, now, message)
        if done is not None:
            reaped.append(done)
    return reaped


@dataclass
class Claimed:
    record: Record
    reason: str


def claim_each(
    store: ResultsStore, records: Iterable[Record], now: datetime
) -> tuple[list[Record], list[Record]]:
    """Claim every record with a conditional write: (ours, lost to another claimant). A
    record whose claim the store refuses (its write is checked before anything is written)
    is named unreadable and passed over; the others are claimed all the same."""
    ours, lost = [], []
    for record in records:
        try:
            ours.append(claim(store, record, new_run_id(), clock.iso(now, ms=True)))
        except ConflictError:
            lost.append(record)
        except StoreError as exc:
            store.unreadable[record.configId] = f"cannot be claimed: {exc}"
    return ours, lost


def claim_due(store: ResultsStore, plan: Plan, now: datetime) -> list[Claimed]:
    """Claim every due record; one lost to another scanner is simply not ours to run."""
    reasons = {d.record.configId: d.reason for d in plan.due}
    ours, _ = claim_each(store, (d.record for d in plan.due), now)
    return [Claimed(record, reasons[record.configId]) for record in ours]


def schedule(
    store: ResultsStore,
    now: datetime,
    policy: Policy,
    catalog: Mapping[str, Registration] | None = None,
) -> tuple[Plan, list[Record], list[Claimed]]:
    """`catalog`: configId -> registration of each supported catalog entry; a record the
    catalog registered whose entry changed is registered anew and run at once."""
    catalog = catalog or {}
    plan = select(gather(store, now, policy, catalog), now, policy, catalog)
    reaped = reap(store, plan, now, policy)
    plan = reregister(store, plan, catalog, now)
    return plan, reaped, claim_due(store, plan, now)
