"""Run many configurations: pick records, claim them, run them on a pool of workers."""

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace

from mlcc_ci import clock
from mlcc_ci.catalog import REGISTERED_PROJECT, Catalog, Entry, inherited, merge
from mlcc_ci.errors import NotFound
from mlcc_ci.lifecycle import Runner, RunReport
from mlcc_ci.models import Record
from mlcc_ci.scheduling import claim_each
from mlcc_ci.stores.base import ResultsStore


def entry_for(record: Record, catalog: Catalog) -> Entry:
    """The catalog entry a record runs with; a custom (project) config gets the defaults.
    The record's own build strategy wins: it is what was registered."""
    try:
        entry = catalog.get(record.deploymentConfig)
    except NotFound:
        pass
    else:
        if record.buildStrategy and record.buildStrategy != entry.data.get("buildStrategy"):
            return replace(entry, data={**entry.data, "buildStrategy": record.buildStrategy})
        return entry
    config = json.loads(record.configJson)
    data = merge(
        inherited(catalog.defaults),
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
    return Entry(name=record.deploymentConfig, data=data, path=REGISTERED_PROJECT)


@dataclass
class Job:
    """A claimed record and the catalog entry it runs with."""

    record: Record
    entry: Entry


def claim_all(
    store: ResultsStore, records: Iterable[Record], catalog: Catalog
) -> tuple[list[Job], list[Record]]:
    ours, lost = claim_each(store, records, clock.now())
    return [Job(record, entry_for(record, catalog)) for record in ours], lost


def run_all(
    runner: Runner,
    claimed: list[Job],
    jobs: int,
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
                reports.append(future.result())
    order = {c.record.configId: i for i, c in enumerate(claimed)}
    reports.sort(key=lambda r: order[r.record.configId])
    return reports


def install_signal_handlers(runner: Runner) -> Callable[[], None]:
    """SIGTERM/SIGINT: stop starting stages, kill the running ones; teardown still runs."""
    import signal
    import sys

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    received: list[str] = []

    def handler(signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        received.append(name)
        if len(received) == 1:
            runner.cancel_reason = name
            runner.cancel.set()
            runner.executor.cancel_all()
            say = f"{name}: stopping the running stages; teardown still runs"
        elif len(received) == 2:
            say = (
                f"{name}: teardown is running so that nothing is left behind; "
                "interrupt once more to abandon it"
            )
        else:
            runner.abandoned.set()
            runner.executor.cancel_all(protected=True)
            say = f"{name}: teardown abandoned; what it would have removed may be left running"
        sys.stderr.write(f"mlcc-ci: {say}\n")

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
