"""The records a `run` takes: one claimed record, what is due, or the named (default: every)
catalog entries, registered first; each narrowed by the filters of picking.py."""

from dataclasses import dataclass, field
from datetime import datetime

from mlcc_ci import clock
from mlcc_ci.cadence import NO_INPUTS, Inputs
from mlcc_ci.catalog import Catalog
from mlcc_ci.constants import RUNNING
from mlcc_ci.errors import NotFound, UsageError
from mlcc_ci.models import Record, Registration
from mlcc_ci.picking import Filters, Picker, nothing_failed
from mlcc_ci.selection import Plan, Policy, Upcoming
from mlcc_ci.stores.base import ResultsStore


@dataclass
class Targets:
    records: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for standard error: what was done, why not
    empty: str | None = None  # when there are no records: why, if not the usual


def claimed(store: ResultsStore, config_id: str, run_id: str | None) -> Targets:
    """The record the scanner claimed for this executor (`run --config-id`)."""
    record = store.get(config_id)
    if record is None:
        raise NotFound(f"no record {config_id} in {store.description}")
    if run_id and (record.testStatus != RUNNING or record.runId != run_id):
        raise UsageError(
            f"record {config_id} is not claimed by run {run_id} "
            f"(status {record.testStatus}, run {record.runId})"
        )
    return Targets([record])


def selected(
    catalog: Catalog,
    store: ResultsStore,
    policy: Policy,
    now: datetime,
    picker: Picker | None = None,
    inputs: Inputs = NO_INPUTS,
) -> tuple[Plan, dict[str, Registration]]:
    """The plan at `now` over what the filters keep, and the catalog's registrations (of
    the entries kept) it was made with. A quarantined entry's failure is never "regressed".
    In a local store the catalog is the matrix: a kept entry with no record under its
    configId is due ("new"); a DynamoDB store's scanner runs what was registered there (and
    an entry whose earlier identity it sees), so its plan says what the scanner would do.
    `inputs`: what the confidence cadence compares and the daily budget prices."""
    from mlcc_ci.quarantine import by_name
    from mlcc_ci.registration import catalog_registrations
    from mlcc_ci.scheduling import gather
    from mlcc_ci.selection import select

    current = catalog_registrations(catalog)
    if picker is not None:
        current = {k: v for k, v in current.items() if picker.keeps_name(v.deploymentConfig)}
    records = gather(store, now, policy, current)
    if picker is not None:  # every running one still counts for MaxConcurrency
        records = [r for r in records if r.testStatus == RUNNING or picker.keeps(r)]
    result = select(
        records,
        now,
        policy,
        current,
        by_name(catalog.entries, now),
        set(store.unreadable),
        new_entries=local(store),
        inputs=inputs,
    )
    return (picker.plan(result) if picker is not None else result), current


def local(store: ResultsStore) -> bool:
    """Whether `store` is this machine's own (SQLite), not a stack's table its scanner runs."""
    return not store.description.startswith("dynamodb://")


def nothing_left(catalog: Catalog, picker: Picker | None, result: Plan) -> str | None:
    """What `run --due` and `plan` say when --last-failed leaves nothing to take or show
    (as `run`'s "no previously failed configurations among ..."); None otherwise."""
    if picker is None or not picker.filters.last_failed:
        return None
    if result.due or result.reap or result.skipped or picker.entries(catalog.entries):
        return None
    return nothing_failed(picker.profile, picker.filters)


def following(
    catalog: Catalog, store: ResultsStore, policy: Policy, result: Plan, picker: Picker | None
) -> Upcoming | None:
    """When idle, what falls due next: a stale result, or a blocked one's retry time; with
    filters, of the entries they keep."""
    from mlcc_ci.registration import catalog_registrations
    from mlcc_ci.scheduling import upcoming
    from mlcc_ci.selection import blocked_next, next_due

    if picker is None:  # an earlier identity of an entry never falls due
        after_stale = upcoming(store, policy, catalog_registrations(catalog))
    else:
        kept = (store.get(e.config_id) for e in picker.entries(catalog.entries))
        after_stale = next_due((r for r in kept if r and not r.blocked), policy)
    after_block = blocked_next(result)
    if after_block is None or (after_stale is not None and after_stale.at <= after_block.at):
        return after_stale
    return after_block


def due(
    catalog: Catalog,
    store: ResultsStore,
    policy: Policy,
    *,
    dry_run: bool = False,
    picker: Picker | None = None,
    inputs: Inputs = NO_INPUTS,
) -> Targets:
    """What is due, as `plan` shows it; for real: orphans reaped, changed entries
    registered anew, new ones (or new identities) registered."""
    from mlcc_ci.scheduling import reap, reregister
    from mlcc_ci.stores.base import reregistered, unchanged

    now = clock.now()
    result, current = selected(catalog, store, policy, now, picker, inputs)
    out = Targets()
    out.empty = nothing_left(catalog, picker, result)
    if dry_run:  # each changed entry as registering it anew would make it (a new one is)
        out.records = [
            reregistered(d.record, current[d.record.configId])
            if d.reason == "changed"
            and d.record.configId in current
            and not unchanged(d.record, current[d.record.configId])
            else d.record
            for d in result.due
        ]
        return out
    for gone in reap(store, result, now, policy):
        out.notes.append(f"reaped {gone.deploymentConfig}: {gone.errorMessage}")
    result = reregister(store, result, current, now)
    for decision in result.due:
        name = decision.record.deploymentConfig
        if decision.reason == "changed":
            out.notes.append(f"registered {name} anew: {decision.detail}")
        elif decision.reason == "new":
            out.notes.append(f"registered {name}: {decision.detail}")
    out.records = [d.record for d in result.due]
    return out


def named(
    catalog: Catalog,
    store: ResultsStore,
    names: tuple[str, ...] = (),
    *,
    dry_run: bool = False,
    picker: Picker | None = None,
) -> Targets:
    """The named entries (none named: every entry) the filters keep, registered first;
    unsupported ones and those already running are passed over, said why."""
    from mlcc_ci.registration import from_entry

    entries = [catalog.get(n) for n in names] if names else catalog.entries
    out = Targets()
    if picker is not None:
        narrowing = Filters(picker.filters.tags, picker.filters.keyword).described()
        if narrowing and names and not any(picker.shown(e) for e in entries):
            raise UsageError(f"none of {', '.join(names)} matches {narrowing}")
        entries = picker.entries(entries)
        if not entries:
            out.empty = nothing_failed(picker.profile, picker.filters)
    for entry in entries:
        if not entry.supported:
            out.notes.append(f"skipped {entry.name}: unsupported ({entry.support_reason})")
            continue
        if not dry_run:
            outcome = store.register(from_entry(entry), clock.iso(clock.now()))
            if outcome != "unchanged":
                out.notes.append(f"registered {entry.name}: {outcome}")
        record = store.get(entry.config_id)
        if record is None:  # dry run of an unregistered entry
            record = Record.registered(from_entry(entry), clock.iso(clock.now()))
        if record.testStatus == RUNNING:
            out.notes.append(f"skipped {entry.name}: already running (run {record.runId})")
            continue
        out.records.append(record)
    return out
