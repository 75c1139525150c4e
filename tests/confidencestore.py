"""Stores with runs for the confidence and publish tests, written through the store's own
API (claim, finish or set aside, append_run) as a runner writes them, dated back from now so
that the window (90 days) holds them."""

from datetime import datetime, timedelta
from pathlib import Path

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Outcome, StageResult, run_of, set_aside
from mlcc_ci.registration import from_entry
from mlcc_ci.resultparts import Blocked, Failure
from mlcc_ci.stores.base import claim, finish
from mlcc_ci.stores.sqlite import SqliteStore

# what each mark of `play` records
MARKS = {
    "p": ("pass", None),
    "f": ("fail-build", Failure("product", "build")),
    "b": ("fail-deploy_test", Failure("capacity", "deploy_test")),
    "e": ("error", None),
}


def play(store, registration, marks: str, now: datetime, *, version: str = "1.6.0"):
    """Register and record one run a day per mark, oldest first, the newest finishing an
    hour before `now`: p a pass, f a product failure, b a run the infrastructure blocked,
    e a harness error. Each ran with generator `version` and an image pinned by digest."""
    store.register(registration, clock.iso(now - timedelta(days=len(marks) + 1)))
    record = store.get(registration.configId)
    for i, mark in enumerate(marks):
        started = now - timedelta(days=len(marks) - i, hours=2)
        status, failure = MARKS[mark]
        running = claim(store, record, f"{registration.deploymentConfig}-{i}", clock.iso(started))
        outcome = Outcome(
            status=status,
            finishedAt=clock.iso(started + timedelta(hours=1)),
            durationSeconds=3600.0,
            stageResults={"generate": StageResult("pass", 1.0)},
            errorMessage="" if status == "pass" else f"{status} <b>x</b>",
            generatorVersion=version,
            provenImage=f"python@sha256:{i:064x}",
            failure=failure,
        )
        store.append_run(run_of(running, outcome))
        if mark in "pf":
            record = finish(store, running, outcome)
        else:
            blocked = (
                Blocked("capacity", "deploy_test", outcome.finishedAt, outcome.finishedAt)
                if mark == "b"
                else None
            )
            record = set_aside(running, outcome, blocked)
            store.replace(record, expect_version=running.version, expect_run_id=running.runId)
    return record


# the catalog's configurations the scenario plays, by the level they end at
SCENARIO = {
    "battle-tested": "p" * 14,
    "failing": "p" * 5 + "f",
    "new": "pp",
    "passing": "pppfppp",
}


def scenario(path: Path, now: datetime) -> dict[str, str]:
    """A SQLite store at `path` where four catalog configurations are at four levels (the
    rest never ran: unknown). Returns level -> name."""
    entries = [e for e in load_valid_catalog().entries if e.supported]
    store = SqliteStore(path)
    store.create_tables()
    names = {}
    try:
        for entry, (level, marks) in zip(entries, SCENARIO.items(), strict=False):
            play(store, from_entry(entry), marks, now)
            names[level] = entry.name
    finally:
        store.close()
    return names
