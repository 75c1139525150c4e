"""The results-store interface and the transitions every implementation shares."""

from collections.abc import Iterator, Sequence
from dataclasses import fields, replace
from typing import Any, Literal, Protocol

from mlcc_ci.constants import UNTESTED
from mlcc_ci.models import (
    Outcome,
    Record,
    Registration,
    Run,
    carrying_result,
    claimed,
    finished,
)

RegisterOutcome = Literal["created", "changed", "unchanged"]
# The attributes mlcc-ci writes. The table is shared: anything else on an item belongs to
# another tool (the generator's do/register, people) and survives every write of ours.
OWNED = frozenset(f.name for f in fields(Record))


class ResultsStore(Protocol):
    """Where records and their run history live. Conflicts raise ConflictError."""

    description: str  # e.g. "sqlite:///path" — for messages
    # configId -> why, for every item a read met and could not understand (reads skip them)
    unreadable: dict[str, str]

    def check(self) -> None:
        """Raise NotProvisioned/StoreError when the store cannot be used."""

    def create_tables(self) -> None: ...

    def register(self, reg: Registration, now: str, *, retest: bool = False) -> RegisterOutcome:
        """Create, or reset to untested when the configuration changed (or `retest`); one
        write at most. Attributes mlcc-ci does not own are kept."""
        ...

    def get(self, config_id: str) -> Record | None: ...

    def records(self) -> Iterator[Record]:
        """Every record, read page by page."""
        ...

    def raw_items(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """Every stored item as plain data, undecoded (None: not even an item), by configId."""
        ...

    def by_status(self, status: str, before: str | None = None) -> Iterator[Record]:
        """Records with `status` (and lastTestTimestamp < before), oldest first, paginated."""
        ...

    def replace(self, record: Record, *, expect_version: int, expect_run_id: str | None) -> None:
        """Write the attributes mlcc-ci owns of `record`, only if the stored one still has
        that version (0: none, as another tool wrote it) and runId."""
        ...

    def append_run(self, run: Run) -> None: ...

    def history(self, config_id: str, limit: int | None = None) -> list[Run]:
        """Finished runs, newest first."""
        ...

    def forget_run(self, config_id: str, started_at: str) -> None:
        """Remove one run from the history (its key: configId and startedAt)."""
        ...

    def histories(self, config_ids: Sequence[str], limit: int) -> dict[str, list[Run]]:
        """The last `limit` runs of each configuration, newest first, read in batches."""
        ...

    def delete(self, config_id: str) -> None: ...

    def change_token(self) -> object:
        """Something that differs after any write, by anyone, and is cheap to get; None
        when the store cannot tell cheaply (readers then refresh on a timer)."""
        ...


def reregistered(old: Record, reg: Registration) -> Record:
    """A changed configuration goes back to untested; its results, history and createdAt stay."""
    return carrying_result(
        Record.registered(reg, old.createdAt, version=old.version + 1),
        old,
        previousStatus=old.testStatus,
    )


def unchanged(old: Record, reg: Registration) -> bool:
    return old.configJson == reg.configJson and old.supportState == reg.supportState


def claim(store: ResultsStore, record: Record, run_id: str, now: str) -> Record:
    """Conditionally move `record` to running: fails if anyone changed it since it was read."""
    new = claimed(record, run_id, now)
    store.replace(new, expect_version=record.version, expect_run_id=None)
    return new


def release(store: ResultsStore, running: Record) -> Record:
    """Give a claim back untouched: the record returns to the status it had before."""
    back = replace(
        running,
        testStatus=running.previousStatus or UNTESTED,
        runId=None,
        runStartedAt=None,
        currentStage=None,
        currentStageStartedAt=None,
        runStages={},
        version=running.version + 1,
    )
    store.replace(back, expect_version=running.version, expect_run_id=running.runId)
    return back


def finish(store: ResultsStore, running: Record, outcome: Outcome) -> Record:
    """Write the result of the run `running` claimed; fails if the run no longer owns it."""
    new = finished(running, outcome)
    store.replace(new, expect_version=running.version, expect_run_id=running.runId)
    return new
