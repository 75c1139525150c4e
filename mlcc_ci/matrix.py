"""Run many configurations: pick records, claim them, run them on a pool of workers."""

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from mlcc_ci import clock
from mlcc_ci.catalog import Catalog, Entry, merge
from mlcc_ci.errors import ConflictError, NotFound
from mlcc_ci.lifecycle import Runner, RunReport
from mlcc_ci.models import Record
from mlcc_ci.scheduling import new_run_id
from mlcc_ci.stores.base import ResultsStore, claim

_INHERITED = (
    "region",
    "deploymentTarget",
    "buildStrategy",
    "buildTarget",
    "smokeTest",
    "stages",
    "owner",
)


def entry_for(record: Record, catalog: Catalog) -> Entry:
    """The catalog entry a record runs with; a custom (project) config gets the defaults."""
    try:
        return catalog.get(record.deploymentConfig)
    except NotFound:
        pass

    config = json.loads(record.configJson)
    data = merge(
        {k: v for k, v in catalog.defaults.items() if k in _INHERITED},
        {
            "name": record.deploymentConfig,
            "architecture": config.get("architecture", "http"),
            "backend": config.get("backend", "custom"),
            "support": {"state": record.supportState},
            "instanceType": config.get("instanceType"),
            "baseImage": config.get("baseImage"),
            "buildStrategy": config.get("buildStrategy", record.buildStrategy),
        },
    )
    return Entry(name=record.deploymentConfig, data=data, path=Path("<registered project>"))


@dataclass
class Claimed:
    record: Record
    entry: Entry


def claim_all(
    store: ResultsStore, records: Iterable[Record], catalog: Catalog
) -> tuple[list[Claimed], list[tuple[Record, str]]]:
    claimed, lost = [], []
    for record in records:
        try:
            mine = claim(store, record, new_run_id(), clock.iso(clock.now(), ms=True))
        except ConflictError:
            lost.append((record, "claimed by another run first"))
            continue
        claimed.append(Claimed(mine, entry_for(mine, catalog)))
    return claimed, lost


def run_all(
    runner: Runner,
    claimed: list[Claimed],
    jobs: int,
    on_done: Callable[[RunReport], None] = lambda report: None,
) -> list[RunReport]:
    """Run every claimed record; the calling thread stays free to take signals."""
    reports: list[RunReport] = []
    if not claimed:
        return reports
    with ThreadPoolExecutor(max_workers=max(jobs, 1), thread_name_prefix="mlcc-run") as pool:
        pending: set[Future[RunReport]] = {
            pool.submit(runner.run, c.record, c.entry) for c in claimed
        }
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in done:
                report = future.result()
                reports.append(report)
                on_done(report)
    order = {c.record.configId: i for i, c in enumerate(claimed)}
    reports.sort(key=lambda r: order[r.record.configId])
    return reports


def install_signal_handlers(runner: Runner) -> Callable[[], None]:
    """SIGTERM/SIGINT: stop starting stages, kill the running ones; teardown still runs."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: object) -> None:
        runner.cancel_reason = signal.Signals(signum).name
        runner.cancel.set()
        runner.executor.cancel_all()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
