"""Which configurations are due, which are skipped, and which runs are orphaned. Pure.

Due: untested; a catalog record whose catalog entry changed since its last run (however
recently it ran); any finished status (pass and every fail-*) not tested for `stale_after`.
A record of an entry whose identity (model, instance type, region, target) changed since is
an earlier identity, superseded by the configId the catalog gives the entry now: never due,
as reports never show it as the entry's status; a revert makes it current again. The entry
itself, with no record under its new configId, is due at once ("changed") where its earlier
identity is in view, and registered just before it runs. Where the catalog is the matrix
(`new_entries`: a local store), every supported entry with no record is due at once ("new").
A record the infrastructure blocked (capacity, quota, ...) waits until its retryAfter, then
is due ("blocked"), fresh or not: the scanner's re-queue with backoff. Running records are
never due; one running longer than the build timeout plus a grace period has lost its
executor and is reaped. MaxConcurrency counts what is running. Order: untested and new, then
changed, then blocked, then regressed, then oldest. Records that describe one deployment
(written by different tools) never run twice in one scan, nor while one of them is running.

The cadence (cadence.py): `daily`, the seed's, is the above with `stale_after`; `confidence`
(the default) also makes a finished record due at once ("changed") when its generator or base
image digest is not what its newest product run ran with, makes it stale only `cadence.every`
after its last test (stale_after times 1 to 3.5, growing with confidence; a failure that
repeats the same way: 1, 2, 4, then 7 days), and orders stale ones by what they may prove
per dollar. A daily budget (dailycap.py) leaves out, in order, what
would pass it ("daily-budget").
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlcc_ci import cadence, clock, dailycap
from mlcc_ci.constants import (
    BUILD_TIMEOUT_MINUTES,
    DEFAULT_STALE_HOURS,
    FAIL_STATUSES,
    NEVER_TESTED,
    PASS,
    RUNNING,
    TERMINAL_STATUSES,
    UNTESTED,
)
from mlcc_ci.identity import Deployment, deployment
from mlcc_ci.models import Record, Registration

ORPHAN_GRACE_MINUTES = 15
# A run that claims to start later than this from now is no run: it is reaped as odd.
FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Policy:
    stale_after: timedelta = timedelta(hours=DEFAULT_STALE_HOURS)
    max_concurrency: int | None = None  # None: no limit
    build_timeout: timedelta = timedelta(minutes=BUILD_TIMEOUT_MINUTES)
    grace: timedelta = timedelta(minutes=ORPHAN_GRACE_MINUTES)
    cadence: str = cadence.CONFIDENCE  # or cadence.DAILY: the seed's, every stale_after
    daily_budget_usd: float | None = None  # None: no budget (dailycap.py)

    @property
    def orphan_after(self) -> timedelta:
        return self.build_timeout + self.grace


@dataclass(frozen=True)
class Decision:
    record: Record
    reason: str
    detail: str = ""


@dataclass
class Plan:
    due: list[Decision] = field(default_factory=list)
    reap: list[Decision] = field(default_factory=list)
    skipped: list[Decision] = field(default_factory=list)
    unregistered: list[str] = field(default_factory=list)  # catalog entries with no record
    budget: dailycap.Budget | None = None  # what the daily budget kept and left out


def regressed(record: Record) -> bool:
    """Failing now after having passed before."""
    return record.testStatus in FAIL_STATUSES and (
        record.lastPassTimestamp is not None or record.previousStatus == PASS
    )


def by_name(catalog: Mapping[str, Registration]) -> dict[str, Registration]:
    """Entry name -> its registration, of `catalog` (configId -> registration)."""
    return {r.deploymentConfig: r for r in catalog.values()}


def superseding(
    record: Record,
    catalog: Mapping[str, Registration],
    names: Mapping[str, Registration] | None = None,
) -> Registration | None:
    """The catalog's current registration of the entry `record` is an earlier identity of,
    or None: the record bears the entry's name, not the configId the catalog gives it now,
    and describes another deployment (not merely another writer's key for the same one).
    `names`: by_name(catalog), when the caller asks for many records."""
    if record.configId in catalog:
        return None
    now = (by_name(catalog) if names is None else names).get(record.deploymentConfig)
    if now is None or deployment(record) == deployment(Record.registered(now, NEVER_TESTED)):
        return None
    return now


def changed(record: Record, catalog: Mapping[str, Registration]) -> bool:
    """A record the catalog registered, whose entry now says otherwise (its configJson, or
    supported where the record says unsupported). Records a project registered describe
    that project and are never compared. `catalog`: configId -> the supported entries'
    registrations as the catalog makes them now."""
    reg = catalog.get(record.configId)
    return (
        reg is not None
        and record.source == "catalog"
        and (record.configJson != reg.configJson or record.supportState != reg.supportState)
    )


@dataclass(frozen=True)
class Upcoming:
    record: Record
    at: datetime
    blocked: bool = False  # due then because its block's retry time comes


def blocked_next(plan: Plan) -> Upcoming | None:
    """Of the blocked records `plan` skipped, the one due first, and when: at its retry
    time."""
    found = []
    for decision in plan.skipped:
        record = decision.record
        if decision.reason != "blocked" or record.blocked is None:
            continue
        found.append(Upcoming(record, clock.parse(record.blocked.retryAfter), blocked=True))
    return min(found, key=lambda u: (u.at, u.record.deploymentConfig), default=None)


def next_due(records: Iterable[Record], policy: Policy) -> Upcoming | None:
    """Of the finished, supported records, the one whose result goes stale first, and when."""
    finished = [r for r in records if r.supported and r.testStatus in TERMINAL_STATUSES]
    if not finished:
        return None
    return min(
        (Upcoming(r, clock.parse(r.lastTestTimestamp) + _every(r, policy)) for r in finished),
        key=lambda u: (u.at, u.record.deploymentConfig),
    )


def _every(record: Record, policy: Policy, known: cadence.Intervals | None = None) -> timedelta:
    return cadence.every(record, policy.stale_after, policy.cadence, known)


def _age(moment: datetime, text: str) -> str:
    delta = moment - clock.parse(text)
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f}h ago" if hours < 48 else f"{hours / 24:.1f}d ago"


def select(
    records: Iterable[Record],
    now: datetime,
    policy: Policy,
    catalog: Mapping[str, Registration] | None = None,
    quarantined: Collection[str] = (),
    unreadable: Collection[str] = (),
    new_entries: bool = False,
    inputs: cadence.Inputs = cadence.NO_INPUTS,
) -> Plan:
    """`catalog`: configId -> registration of each supported catalog entry, as the catalog
    makes it now; a record it registered that differs is due at once ("changed"), and so is
    an entry with no record under its configId whose earlier identity is among `records`.
    `new_entries`: every supported entry with no record is due at once ("new"); otherwise
    one with no earlier identity in view is only named (`unregistered`). `quarantined`: the
    names of entries in quarantine, whose failures raise no regression: stale like any
    other, never "regressed". `unreadable`: configIds whose stored item no one can read:
    named so elsewhere, never taken for a missing record. `inputs`: what the confidence
    cadence compares and the budget prices (cadence.Inputs)."""
    plan = Plan()
    catalog = catalog or {}
    names = by_name(catalog)
    confident = policy.cadence == cadence.CONFIDENCE
    known = cadence.Intervals(policy.stale_after)
    records = list(records)
    running = 0
    due: list[Decision] = []
    for record in records:
        status = record.testStatus
        if status == RUNNING:
            started = record.runStartedAt or record.lastTestTimestamp
            if clock.parse(started) > now + FUTURE_SKEW:
                detail = f"running since {clock.display(started)}, in the future"
                plan.reap.append(Decision(record, "odd", detail))
            elif now - clock.parse(started) > policy.orphan_after:
                plan.reap.append(
                    Decision(record, "orphaned", f"running since {clock.display(started)}")
                )
            else:
                running += 1
                plan.skipped.append(Decision(record, "running", f"since {clock.display(started)}"))
        elif (successor := superseding(record, catalog, names)) is not None:
            detail = (
                "an earlier identity: the catalog now gives the entry configId "
                f"{successor.configId}"
            )
            plan.skipped.append(Decision(record, "superseded", detail))
        elif changed(record, catalog):
            since = "it was registered" if status == UNTESTED else f"its last run ({status})"
            due.append(Decision(record, "changed", f"catalog entry changed since {since}"))
        elif not record.supported:
            plan.skipped.append(Decision(record, "unsupported", record.supportReason or ""))
        elif (blocked := record.blocked) is not None and clock.parse(blocked.retryAfter) > now:
            detail = (
                f"blocked ({blocked.cls}) at {blocked.stage} since "
                f"{clock.display(blocked.since)}; tried again after "
                f"{clock.display(blocked.retryAfter)}"
            )
            plan.skipped.append(Decision(record, "blocked", detail))
        elif (blocked := record.blocked) is not None and status in (UNTESTED, *TERMINAL_STATUSES):
            # its retry time has come: its last attempt proved nothing, fresh or not
            detail = (
                f"blocked ({blocked.cls}) at {blocked.stage} since "
                f"{clock.display(blocked.since)}; its retry time "
                f"{clock.display(blocked.retryAfter)} has come"
            )
            due.append(Decision(record, "blocked", detail))
        elif status == UNTESTED:
            due.append(
                Decision(record, "untested", f"registered {clock.display(record.createdAt)}")
            )
        elif (
            confident
            and status in TERMINAL_STATUSES
            and (what := cadence.what_changed(record, inputs)) is not None
        ):
            due.append(Decision(record, "changed", what))
        elif status in TERMINAL_STATUSES and record.lastTestTimestamp < clock.iso(
            now - _every(record, policy, known)
        ):
            flagged = regressed(record) and record.deploymentConfig not in quarantined
            reason = "regressed" if flagged else "stale"
            detail = f"{status}, last tested {_age(now, record.lastTestTimestamp)}"
            due.append(Decision(record, reason, detail + _why(record, policy, inputs, known)))
        else:
            fresh_until = clock.parse(record.lastTestTimestamp) + _every(record, policy, known)
            detail = f"{status}; due after {clock.display(clock.iso(fresh_until))}"
            why = _why(record, policy, inputs, known)
            plan.skipped.append(Decision(record, "fresh", detail + why))
    missing, plan.unregistered = _missing(
        catalog, (*due, *plan.skipped, *plan.reap), now, unreadable, new_entries
    )
    due.extend(missing)
    due = _one_per_deployment(due, plan)
    rank = {"untested": 0, "new": 0, "changed": 1, "blocked": 2, "regressed": 3, "stale": 4}
    due.sort(
        key=lambda d: (
            rank[d.reason],
            -cadence.worth(d.record, inputs, known) if confident and d.reason == "stale" else 0.0,
            d.record.createdAt if rank[d.reason] == 0 else d.record.lastTestTimestamp,
            d.record.deploymentConfig,
        )
    )
    slots = None if policy.max_concurrency is None else max(policy.max_concurrency - running, 0)
    if policy.daily_budget_usd is not None:
        due = _within_budget(due, plan, records, now, policy.daily_budget_usd, inputs, slots)
    if policy.max_concurrency is not None:
        slots = max(policy.max_concurrency - running, 0)
        for decision in due[slots:]:
            plan.skipped.append(
                Decision(
                    decision.record,
                    "max-concurrency",
                    f"{decision.reason}; {running} running, MaxConcurrency "
                    f"{policy.max_concurrency}",
                )
            )
        due = due[:slots]
    plan.due = due
    return plan


def _why(record: Record, policy: Policy, inputs: cadence.Inputs, known: cadence.Intervals) -> str:
    """What the confidence cadence adds to a finished record's line: its interval when
    longer than stale_after, and a lookup that failed."""
    if policy.cadence != cadence.CONFIDENCE:
        return ""
    every = known.of(record)
    grown = f" ({every.text})" if every.every > policy.stale_after else ""
    return grown + cadence.unlooked(record, inputs)


def _within_budget(
    due: list[Decision],
    plan: Plan,
    records: Sequence[Record],
    now: datetime,
    cap: float,
    inputs: cadence.Inputs,
    slots: int | None,
) -> list[Decision]:
    """What today's budget takes of `due`; what it leaves out is skipped, said why."""
    spent, unpriced = dailycap.spent_today(records, now, inputs.price)
    if inputs.spent_today is not None:
        spent, unpriced = inputs.spent_today, 0
    kept, over, planned = dailycap.within(due, cap, spent, inputs.price, slots)
    for decision, why in over:
        plan.skipped.append(Decision(decision.record, dailycap.REASON, why))
    plan.budget = dailycap.Budget(cap, spent, planned, len(over), unpriced)
    return kept


def _missing(
    catalog: Mapping[str, Registration],
    decided: Sequence[Decision],
    now: datetime,
    unreadable: Collection[str],
    new_entries: bool,
) -> tuple[list[Decision], list[str]]:
    """The supported entries with no record under the configId the catalog gives them now:
    those due, as the catalog registers them (the caller registers each just before it
    runs), and the names of the others. An entry whose earlier identity is in view changed
    ("changed"); any other is new ("new", when `new_entries`). One whose deployment another
    writer's record in view stands for is not due."""
    seen = {d.record.configId for d in decided} | set(unreadable)
    missing = sorted(
        (r for r in catalog.values() if r.configId not in seen and r.supportState == "supported"),
        key=lambda r: r.deploymentConfig,
    )
    if not missing:
        return [], []
    present = {deployment(d.record) for d in decided}
    earlier = {d.record.deploymentConfig: d.record for d in decided if d.reason == "superseded"}
    due, named = [], []
    for reg in missing:
        placeholder = Record.registered(reg, clock.iso(now))
        before = earlier.get(reg.deploymentConfig)
        if deployment(placeholder) in present:
            named.append(reg.deploymentConfig)
        elif before is not None:
            due.append(Decision(placeholder, "changed", identity_changed(before, placeholder)))
        elif new_entries:
            due.append(Decision(placeholder, "new", NEW_DETAIL))
        else:
            named.append(reg.deploymentConfig)
    return due, named


NEW_DETAIL = (
    "no record under its configId: a new entry, or a new model, instance type, region or target"
)
_FIELDS = ("generator", "model", "instance type", "region", "target")


def identity_changed(before: Record, now: Record) -> str:
    """`identity changed (instance type ml.g5.xlarge -> ml.g5.2xlarge) since 0123...`."""
    changes = ", ".join(
        f"{label} {old} -> {new}"
        for label, old, new in zip(_FIELDS, deployment(before), deployment(now), strict=True)
        if old != new
    )
    return f"identity changed ({changes}) since {before.configId}: a new configId"


def _one_per_deployment(due: list[Decision], plan: Plan) -> list[Decision]:
    taken: dict[Deployment, str] = {
        deployment(d.record): f"{d.record.configId} is running"
        for d in plan.skipped
        if d.reason == "running"
    }
    kept = []
    # mlcc-ci's own record of a deployment runs rather than another tool's copy of it
    for decision in sorted(due, key=lambda d: (d.record.version == 0, d.record.createdAt)):
        key = deployment(decision.record)
        if key in taken:
            detail = f"same deployment as {taken[key]}"
            plan.skipped.append(Decision(decision.record, "duplicate", detail))
        else:
            taken[key] = f"{decision.record.configId} ({decision.reason})"
            kept.append(decision)
    return kept


def orphan_message(record: Record, now: datetime, policy: Policy) -> str:
    started = record.runStartedAt or record.lastTestTimestamp
    if clock.parse(started) > now + FUTURE_SKEW:
        return (
            f"reaped: run {record.runId} claims to have started at {started}, in the future; "
            "a clock or another writer is wrong, and such a run would hold its place for ever"
        )
    minutes = int((now - clock.parse(started)).total_seconds() // 60)
    limit = int(policy.orphan_after.total_seconds() // 60)
    return (
        f"reaped: run {record.runId} started {started} ran {minutes} min with no result, "
        f"longer than the build timeout plus grace ({limit} min); its executor is gone"
    )
