"""Read what a report needs from a store: every record (paginated), which carries its own
recent runs. Only records that carry none (written by another tool, or before records kept
them) have their history read, in batches."""

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from mlcc_ci import decode, settings, suspects
from mlcc_ci.catalog import Catalog
from mlcc_ci.constants import DEFAULT_STALE_HOURS, NEVER_TESTED
from mlcc_ci.cost import prices_of
from mlcc_ci.models import Record, Run
from mlcc_ci.report.model import HISTORY_STRIP, Report, build_report
from mlcc_ci.report.verdict import scopes_of
from mlcc_ci.stores.base import ResultsStore


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading a store and building its report allocate millions of small objects that form
    no cycles; the cyclic collector would walk the growing heap again and again for nothing
    (half the time at 10,000 configurations). Paused meanwhile, back on after, whatever
    happens."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Carried(Mapping[str, Sequence[Run]]):
    """configId -> runs, newest first: the history read for records that carry no runs, and
    the runs records carry, decoded from their stored text when first asked for (a report
    of 10,000 configurations reads them in a fraction of the time it takes to decode them).
    Carried runs none of which can be read are read from the history (`fallback`), as a
    record that carries none."""

    def __init__(
        self,
        read: dict[str, list[Run]],
        raw: Mapping[str, tuple[str, str]],
        fallback: Callable[[str], list[Run]],
    ) -> None:
        self._read: dict[str, Sequence[Run]] = dict(read)
        self._raw = raw
        self._fallback = fallback

    def __getitem__(self, config_id: str) -> Sequence[Run]:
        found = self._read.get(config_id)
        if found is None:
            name, text = self._raw[config_id]
            found = decode.carried_runs(config_id, name, text) or self._fallback(config_id)
            self._read[config_id] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter({**self._raw, **self._read})

    def __len__(self) -> int:
        return len(self._raw.keys() | self._read.keys())


def read(store: ResultsStore) -> tuple[list[Record], Mapping[str, Sequence[Run]], dict[str, str]]:
    """Records, the history of those that carry no recent runs, and the items no one could
    read (configId -> why). A store that can give the runs records carry apart from them,
    undecoded (SQLite), has them decoded as the report asks (Carried)."""
    store.unreadable.clear()
    apart = getattr(store, "records_and_raw_runs", None)
    with collector_paused():
        records, raw = apart() if apart is not None else (list(store.records()), {})
        missing = [
            r.configId
            for r in records
            if not r.recentRuns and r.configId not in raw and r.lastTestTimestamp != NEVER_TESTED
        ]
        history = store.histories(missing, limit=HISTORY_STRIP) if missing else {}
    if not raw:
        return records, history, dict(store.unreadable)

    def fallback(config_id: str) -> list[Run]:
        tested = next(r for r in records if r.configId == config_id).lastTestTimestamp
        if tested == NEVER_TESTED:
            return []
        return store.histories([config_id], limit=HISTORY_STRIP).get(config_id, [])

    return records, Carried(history, raw, fallback), dict(store.unreadable)


def load_report(
    store: ResultsStore,
    catalog: Catalog,
    now: datetime,
    *,
    stale_hours: float | None = None,
    schedule: str | None = None,
) -> Report:
    """`stale_hours`: how often a configuration is due (the schedule the monthly cost
    projects); the scanner's default unless given. `schedule`: the cadence a configuration
    is stale by (confidence or daily); the `schedule` setting's unless given, as `plan`'s
    (MLCC_CI_SCHEDULE, then the settings file)."""
    hours = stale_hours or DEFAULT_STALE_HOURS
    if schedule is None:
        schedule = str(settings.value_of("schedule"))
    with collector_paused():
        records, history, unreadable = read(store)
        report = build_report(
            catalog.entries,
            records,
            history,
            now,
            stale_after=timedelta(hours=hours),
            unreadable=unreadable,
            prices=prices_of(catalog.defaults),
            schedule=schedule,
        )
    report = replace(report, scopes=scopes_of(catalog.defaults.get("profiles") or {}))
    return with_suspects(report, suspects.limit())


def with_suspects(report: Report, rounds: int) -> Report:
    """`report` with the rule named of each configuration blocked more than `rounds` rounds
    in a row (suspects.py)."""
    blocked = {id(c) for c in report.blocked}
    if not blocked:
        return report
    marked = [
        replace(c, suspect=found)
        if id(c) in blocked and (found := suspects.suspect(c.blocked, rounds)) is not None
        else c
        for c in report.configurations
    ]
    return replace(report, configurations=marked)
