"""Every configuration's confidence (confidence.py), read from a store as the report reads
it: the same rows (report/identities.py: a catalog entry's current identity, with the
records other writers keep of the same deployment; earlier identities are not counted, nor
names the catalog no longer has unless asked for by name), and the runs the records carry.

A record carries its newest RECENT_RUNS runs and, behind them, older product runs until it
holds PRODUCT_RUNS (models.recent_window). That is the whole window (WINDOW_RUNS product
runs) unless blocked, error or interrupted runs are among the newest: then, and for a
record that carries no runs of its own, the history is read, in batches, only for those.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mlcc_ci import clock
from mlcc_ci.catalog import Catalog
from mlcc_ci.confidence import (
    BATTLE_TESTED,
    FRESH_DAYS,
    LEVELS,
    NEW_BELOW,
    Confidence,
    Window,
    assess,
    in_window,
    wilson_lower,
)
from mlcc_ci.constants import NEVER_TESTED
from mlcc_ci.errors import NotFound
from mlcc_ci.models import RECENT_RUNS, Record, Run
from mlcc_ci.report.identities import Row, rows
from mlcc_ci.stores.base import ResultsStore

DOCUMENT_VERSION = 1
MOST_READ = 1000  # the most runs read of one configuration's history to fill its window
WINDOW = Window()  # the documented one (confidence.py)


@dataclass(frozen=True)
class Source:
    """Which profile's results a confidence stands on, and what they cannot prove."""

    profile: str
    note: str | None = None

    def to_json(self) -> dict[str, str]:
        return {"name": self.profile, **({"note": self.note} if self.note else {})}


def source_of(profile: Any) -> Source:
    """The source of a profile's results: the example profile proves the harness on this
    machine; a profile that never runs deploy_test builds and deploys nothing."""
    from mlcc_ci.report.cells import EXAMPLE_NOTE

    if profile.name == "example":
        return Source(profile.name, EXAMPLE_NOTE)
    if not profile.runs("deploy_test"):
        return Source(
            profile.name,
            f"Results from the {profile.name} profile generate and validate each "
            "configuration and deploy nothing: no level here proves a deployment.",
        )
    return Source(profile.name)


@dataclass(frozen=True)
class Assessed:
    """A configuration's confidence and the runs it stands on (all kinds, newest first)."""

    confidence: Confidence
    runs: tuple[Run, ...]
    supported: bool = True
    unreadable: str | None = None  # why its stored record cannot be read (runs: its history)


@dataclass(frozen=True)
class Point:
    """The confidence after one product run: the trend a configuration's page draws."""

    finishedAt: str
    passed: bool
    lower: float


def trend(runs: Sequence[Run], window: Window = WINDOW) -> list[Point]:
    """After each product run of `runs` (newest first), oldest first: the lower bound over
    it and the product runs before it, at most window.runs of them."""
    counted = [r for r in reversed(runs) if r.product]
    points = []
    passes = 0
    for i, run in enumerate(counted):
        passes += run.passed
        if i >= window.runs:
            passes -= counted[i - window.runs].passed  # out of the window ending here
        seen = min(i + 1, window.runs)
        points.append(Point(run.finishedAt, run.passed, round(wilson_lower(passes, seen), 3)))
    return points


def merged(records: Sequence[Record], history: Mapping[str, Sequence[Run]]) -> list[Run]:
    """The runs of a row's records, newest first: what they carry, else their history."""
    if len(records) == 1:
        record = records[0]
        return list(history.get(record.configId) or record.recentRuns)
    return sorted(
        (run for r in records for run in (history.get(r.configId) or r.recentRuns)),
        key=lambda run: run.startedAt,
        reverse=True,
    )


def short(record: Record, now: datetime, window: Window) -> bool:
    """Whether `record`'s carried runs may hold fewer of the window's product runs than its
    history: it carries none though it was tested, or as many as a record keeps with fewer
    than window.runs product runs among them, the oldest still inside the window."""
    carried = record.recentRuns
    if not carried:
        return record.lastTestTimestamp != NEVER_TESTED
    if len(carried) < RECENT_RUNS:
        return False  # a record keeps every run until it has RECENT_RUNS
    if len(in_window(carried, now, window)) >= window.runs:
        return False
    return carried[-1].startedAt >= clock.iso(now - timedelta(days=window.days))


def read_histories(
    store: ResultsStore, records: Sequence[Record], now: datetime, window: Window
) -> dict[str, list[Run]]:
    """The history of each record whose carried runs may fall short of the window, read in
    batches: twice as many runs each time for those still short, up to MOST_READ."""
    found: dict[str, list[Run]] = {}
    wanted = [r.configId for r in records if short(r, now, window)]
    limit = window.runs * 3
    while wanted:
        read = store.histories(wanted, limit=limit)
        found.update(read)
        if limit >= MOST_READ:
            break
        wanted = [
            c
            for c, runs in read.items()
            if len(runs) == limit and len(in_window(runs, now, window)) < window.runs
        ]
        limit = min(limit * 2, MOST_READ)
    return found


def selected(catalog: Catalog, found: list[Row], names: Sequence[str] | None) -> list[Row]:
    """The rows to assess: every current one (not a name the catalog no longer has), or
    those of `names` (a catalog entry or its alias, or a name the store has), in the order
    given; an unknown name is the catalog's NotFound (did-you-mean)."""
    if not names:
        return [row for row in found if not row.removed]
    by_name = {row.name: row for row in found}
    picked: dict[str, Row] = {}
    for name in names:
        try:
            key = catalog.get(name).name
        except NotFound:
            if name not in by_name:
                raise
            key = name
        picked.setdefault(key, by_name[key])
    return list(picked.values())


def assess_store(
    store: ResultsStore,
    catalog: Catalog,
    now: datetime,
    names: Sequence[str] | None = None,
    window: Window = WINDOW,
) -> list[Assessed]:
    """The confidence of every configuration the report shows (or of `names`), in the
    report's order."""
    store.unreadable.clear()
    records = list(store.records())
    unreadable = dict(store.unreadable)  # configId -> why (decode.shown_id: a valid id as is)
    chosen = selected(catalog, rows(catalog.entries, records), names)
    history = read_histories(store, [r for row in chosen for r in row.current], now, window)
    # a record no one can read still has its history: its runs are read from there
    lost = [r.entry.config_id for r in chosen if r.entry and not r.current]
    lost = [c for c in lost if c in unreadable]
    history.update(store.histories(lost, limit=MOST_READ) if lost else {})
    found = []
    for row in chosen:
        runs = merged(row.current, history)
        if row.entry is not None:
            config_id = row.entry.config_id
            supported = row.entry.supported
            runs = runs or list(history.get(config_id, ()))
        else:
            config_id = row.current[0].configId if row.current else ""
            supported = all(r.supported for r in row.current)
        why = unreadable.get(config_id) if not row.current else None
        confidence = assess(config_id, row.name, runs, now, window)
        found.append(Assessed(confidence, tuple(runs), supported, why))
    return found


def document(
    assessed: Sequence[Assessed],
    now: datetime,
    window: Window = WINDOW,
    links: Mapping[str, Mapping[str, str]] | None = None,
    source: Source | None = None,
) -> dict[str, object]:
    """The confidence document (schema/confidence.schema.json): `mlcc-ci confidence --json`
    and a published site's confidence.json, whose `links` give each configuration's page
    and badge (by name)."""
    from mlcc_ci import __version__

    counts = dict.fromkeys(LEVELS, 0)
    items = []
    for a in assessed:
        c = a.confidence
        counts[c.level] += 1
        item = {**c.to_json(), "supported": a.supported}
        if a.unreadable is not None:
            item["unreadable"] = a.unreadable
        item.update((links or {}).get(c.name, {}))
        items.append(item)
    return {
        "version": DOCUMENT_VERSION,
        "generatedAt": clock.iso(now),
        "generator": f"mlcc-ci {__version__}",
        **({"profile": source.to_json()} if source else {}),
        "window": {"runs": window.runs, "days": window.days},
        "thresholds": {
            "newBelow": NEW_BELOW,
            "battleTested": BATTLE_TESTED,
            "freshDays": FRESH_DAYS,
        },
        "levels": counts,
        "configurations": items,
    }
