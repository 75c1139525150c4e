"""Replay a world through the real scheduling code, one policy at a time.

The store is a real SQLite store in a temporary folder, the catalog's entries registered
in it as `register --from-catalog --all` does at the world's origin (before its warm-up, if
it has one). Every `scan_every` (the stack's scanner runs
hourly) the policy's scan runs as the scanner's does: gather, select (mlcc_ci.selection),
reap, register anew what the world's catalog changed, claim what is due, within the
policy's MaxConcurrency. Only the lifecycle is replaced: the world says how each claimed
run ends and how long it took; the result is written with the runner's own transitions
(models.finished, or models.set_aside with scheduling.blocked's backoff for a run the
infrastructure blocked) and its history item is models.run_of's. Each run is priced by
the cost table (cost.estimate, in the executor, as the stack runs it).
"""

import functools
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mlcc_ci import cadence, clock
from mlcc_ci.constants import DEFAULT_MAX_CONCURRENCY
from mlcc_ci.cost import Prices, estimate, expected
from mlcc_ci.models import Outcome, Record, Registration, Run, run_of, set_aside
from mlcc_ci.scheduling import Claimed, blocked, claim_due, gather, reap, reregister
from mlcc_ci.selection import Policy, select
from mlcc_ci.simulation.world import Attempt, World
from mlcc_ci.stores.base import ResultsStore, finish
from mlcc_ci.stores.sqlite import SqliteStore

SCAN_EVERY = timedelta(hours=1)  # the stack's ScannerSchedule default, rate(1 hour)
PROFILE = "default"


@dataclass(frozen=True)
class Scan:
    """What a policy's scan sees of the world at a moment: the catalog as it is then, and
    (for a policy that looks) the pinned generator's version and a base image's digest."""

    now: datetime
    catalog: Mapping[str, Registration]
    generator_version: str
    digest: Callable[[str], str]


# A policy: given the store and the scan, the records it claimed (and why).
Scanner = Callable[[ResultsStore, Scan], list[Claimed]]


@dataclass(frozen=True)
class Setting:
    """What every policy of a comparison shares."""

    prices: Prices
    timeouts: Mapping[str, float]  # stage -> seconds: what a run never run may cost at most
    concurrency: int = DEFAULT_MAX_CONCURRENCY
    daily_budget: float | None = None  # dollars, for the default policy; None: none
    image_digests: bool = True  # base image digests looked up (the image-digests setting)

    def price(self, record: Record) -> float | None:
        """What the next run of `record` is expected to cost (cost.expected)."""
        return expected(record, self.prices, PROFILE, self.timeouts)[0].usd


def scanner(policy: Policy, setting: Setting) -> Scanner:
    """A scan as the stack's scanner makes one (aws/scanner.py: gather, select, reap,
    register anew, claim; scheduling.schedule's steps), told what the world is generated
    from now (cadence.Inputs: the pinned generator, the digests of the base images the
    records ran with, each record's expected price, the executor's profile)."""

    def scan(store: ResultsStore, seen: Scan) -> list[Claimed]:
        records = gather(store, seen.now, policy, seen.catalog)
        inputs = cadence.Inputs(
            generator_version=seen.generator_version,
            digests={image: seen.digest(image) for image in cadence.to_look_up(records)}
            if setting.image_digests
            else {},
            price=setting.price,
            profile=PROFILE,
        )
        plan = select(records, seen.now, policy, seen.catalog, inputs=inputs)
        reap(store, plan, seen.now, policy)
        plan = reregister(store, plan, seen.catalog, seen.now)
        return claim_due(store, plan, seen.now)

    return scan


@dataclass(frozen=True)
class PolicySpec:
    name: str
    description: str
    make: Callable[[Setting], Policy]


POLICIES: dict[str, PolicySpec] = {
    "default": PolicySpec(
        "default",
        "confidence-driven: change first, then every 1 to 3.5 days as confidence grows",
        lambda s: Policy(max_concurrency=s.concurrency, daily_budget_usd=s.daily_budget),
    ),
    "seed": PolicySpec(
        "seed",
        "the seed's: every configuration whose last result is 24 h old",
        lambda s: Policy(max_concurrency=s.concurrency, cadence=cadence.DAILY),
    ),
    "weekly": PolicySpec(
        "weekly",
        "every 7 days, whatever changed (for reference)",
        lambda s: Policy(
            stale_after=timedelta(days=7), max_concurrency=s.concurrency, cadence=cadence.DAILY
        ),
    ),
}


@dataclass
class Result:
    """What one policy did in one world."""

    policy: str
    runs: list[Run] = field(default_factory=list)  # every run's history item, in order
    causes: dict[str, str] = field(default_factory=dict)  # runId -> the world's cause
    reasons: dict[str, str] = field(default_factory=dict)  # runId -> why it was due
    scans: int = 0
    seconds: float = 0.0  # wall time of the replay


class _Store(SqliteStore):
    """The SQLite store, decoding each stored item once: every scan reads every record, and
    decoding is most of a replay's time otherwise. A stored text decodes to the same
    immutable record each time (as SqliteStore.remember_decoded does for records()).
    Unless `checked`, what is written is not checked against the record schema first (the
    other half of the time; a replay with checks is in the tests)."""

    def __init__(self, path: Path, checked: bool = True) -> None:
        super().__init__(path)
        self._decoded: dict[str, tuple[str, Record | None]] = {}
        self.checked = checked

    def _decode(self, config_id: str, text: str) -> Record | None:
        known = self._decoded.get(config_id)
        if known is not None and known[0] == text:
            return known[1]
        record = super()._decode(config_id, text)
        self._decoded[config_id] = (text, record)
        return record

    def _merged(self, conn: sqlite3.Connection, record: Record) -> tuple[Any, ...]:  # type: ignore[override]
        if self.checked:
            return SqliteStore._merged(conn, record)
        # nothing but the simulation writes to this store: no other tool's attributes to keep
        return _unchecked_row_values(record)


def _unchecked_row_values(record: Record) -> tuple[Any, ...]:
    """SqliteStore._row_values without the schema check."""
    item = record.to_item()
    return (
        record.configId,
        record.testStatus,
        record.lastTestTimestamp,
        record.version,
        record.runId,
        json.dumps(item, sort_keys=True),
    )


@dataclass
class _Running:
    finishes: datetime
    record: Record  # as claimed
    attempt: Attempt


def replay(
    world: World,
    policy: str,
    registrations: Mapping[str, Registration],
    setting: Setting,
    scan_every: timedelta = SCAN_EVERY,
    checked: bool = False,
) -> Result:
    """Replay `world` under `policy` (a name in POLICIES). `registrations`: every catalog
    entry's, supported or not, as registered at the start. `checked`: the store checks
    each record it writes against the schema, as it does outside a simulation."""
    started = time.perf_counter()
    scan = scanner(POLICIES[policy].make(setting), setting)
    result = Result(policy)
    with tempfile.TemporaryDirectory(prefix="mlcc-ci-simulate-") as folder:
        store = _Store(Path(folder) / "simulation.db", checked)
        try:
            store.create_tables()
            for reg in sorted(registrations.values(), key=lambda r: r.deploymentConfig):
                store.register(reg, clock.iso(world.origin))
            running: list[_Running] = []
            now = world.origin
            while now < world.end:
                running = _write_finished(store, running, now, setting, result)
                seen = Scan(
                    now=now,
                    catalog=world.catalog(now),
                    generator_version=world.generator_version(now),
                    digest=functools.partial(world.digest, at=now),
                )
                for claim in scan(store, seen):
                    attempt = world.attempt(claim.record.deploymentConfig, now)
                    finishes = now + timedelta(seconds=attempt.seconds)
                    running.append(_Running(finishes, claim.record, attempt))
                    result.reasons[claim.record.runId or ""] = claim.reason
                result.scans += 1
                now += scan_every
            # runs started within the days end and are paid for
            _write_finished(
                store, running, datetime.max.replace(tzinfo=now.tzinfo), setting, result
            )
        finally:
            store.close()
    result.seconds = time.perf_counter() - started
    return result


def _write_finished(
    store: ResultsStore, running: list["_Running"], now: datetime, setting: Setting, result: Result
) -> list["_Running"]:
    """Write the result of each run finished by `now`, in the order they finished; the
    runs still going."""
    done = sorted((r for r in running if r.finishes <= now), key=lambda r: r.finishes)
    for r in done:
        run = _write(store, r, setting)
        result.runs.append(run)
        result.causes[run.runId] = r.attempt.cause
    return [r for r in running if r.finishes > now]


def _write(store: ResultsStore, running: _Running, setting: Setting) -> Run:
    """What the runner writes when a run ends (lifecycle/record.py): the product's result,
    or a block with its rule's backoff; and the history item. The base image it built on
    has its digest only when lookups are on (registry.recorded)."""
    record, attempt = running.record, running.attempt
    image = attempt.image if setting.image_digests else attempt.image.split("@", 1)[0]
    config = json.loads(record.configJson)
    outcome = Outcome(
        status=attempt.status,
        finishedAt=clock.iso(running.finishes),
        durationSeconds=attempt.seconds,
        stageResults=attempt.stages,
        errorMessage=attempt.message,
        profile=PROFILE,
        generatorVersion=attempt.generator_version,
        provenImage=image,
        estimatedCost=estimate(
            setting.prices,
            config,
            attempt.stages,
            profile=PROFILE,
            run_seconds=attempt.seconds,
            in_executor=True,
        ),
        failure=attempt.failure,
    )
    failure = outcome.blocked_by
    if failure is None:
        finish(store, record, outcome)
    else:
        block = blocked(record, outcome, failure, attempt.backoff, record.runStartedAt)
        new = set_aside(record, outcome, block)
        store.replace(new, expect_version=record.version, expect_run_id=record.runId)
    run = run_of(record, outcome)
    store.append_run(run)
    return run
