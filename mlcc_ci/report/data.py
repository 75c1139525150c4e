"""Read what a report needs from a store: every record (paginated) and its recent history."""

from collections.abc import Iterable
from datetime import datetime

from mlcc_ci.catalog import Entry
from mlcc_ci.models import Record, Run
from mlcc_ci.report.model import Report, build_report
from mlcc_ci.stores.base import ResultsStore

HISTORY_DEPTH = 50


def read(store: ResultsStore) -> tuple[list[Record], dict[str, list[Run]], dict[str, str]]:
    """Records, their history, and the items no one could read (configId -> why)."""
    store.unreadable.clear()
    records = list(store.records())
    history = {r.configId: store.history(r.configId, limit=HISTORY_DEPTH) for r in records}
    return records, history, dict(store.unreadable)


def load_report(store: ResultsStore, entries: Iterable[Entry], now: datetime) -> Report:
    records, history, unreadable = read(store)
    return build_report(entries, records, history, now, unreadable=unreadable)
