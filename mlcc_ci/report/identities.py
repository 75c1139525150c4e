"""Which records each row of a report stands on: a catalog entry's current identity, its
earlier identities, and names the catalog no longer has. Pure.

A record's key is its configId, a hash of the entry's identity fields: when an entry's
model (instance type, region, target) changes, its next run writes a new record and the
old one stays. A report shows each catalog entry once, by the configId the catalog gives it
now, with the records of that same deployment other writers keep (identity.py). The
entry's other records are its earlier identities: their runs are told apart, never its
status, its coverage, its regressions or its flakiness. A revert makes an earlier configId
the current one again: it is simply the one the catalog gives.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mlcc_ci.catalog import Entry
from mlcc_ci.constants import NEVER_TESTED, UNTESTED
from mlcc_ci.identity import TARGET_ALIASES, Deployment, deployment
from mlcc_ci.models import Record, Run


@dataclass
class Row:
    name: str
    entry: Entry | None
    current: list[Record] = field(default_factory=list)
    earlier: list[Record] = field(default_factory=list)
    # every record of the name was the catalog's, and the catalog no longer has the name
    removed: bool = False


@dataclass(frozen=True)
class EarlierIdentity:
    """An identity the entry had before its configuration changed, and what it ran."""

    configId: str
    differs: str  # what made it another identity: `model Qwen/Qwen2.5-1.5B-Instruct`
    runs: int  # finished runs kept for it
    lastStatus: str
    lastTest: str | None  # None: never tested

    @property
    def text(self) -> str:
        """`earlier identity 0123456789abcdef (model m): 3 runs, last fail-validate on
        2026-02-03 01:00 UTC`."""
        from mlcc_ci import clock

        what = f" ({self.differs})" if self.differs else ""
        runs = f"{self.runs} run{'' if self.runs == 1 else 's'}"
        last = (
            f"last {self.lastStatus} on {clock.display(self.lastTest)}"
            if self.lastTest
            else "never tested"
        )
        return f"earlier identity {self.configId}{what}: {runs}, {last}"

    def to_item(self) -> dict[str, object]:
        return {
            "configId": self.configId,
            "differs": self.differs,
            "runs": self.runs,
            "lastStatus": self.lastStatus,
            "lastTest": self.lastTest,
        }


def entry_deployment(entry: Entry) -> Deployment:
    """The deployment the entry describes now, as `identity.deployment` reads a record the
    catalog registered from it."""
    d = entry.data
    target = str(d["deploymentTarget"])
    return Deployment(
        entry.generator_name,
        entry.model_name or "none",
        str(d["instanceType"]),
        str(d["region"]),
        TARGET_ALIASES.get(target, target),
    )


def _anywhere(found: Deployment) -> Deployment:
    """A deployment wherever it runs: a stack deploys the catalog's configurations to its
    own region, and what it proves there is the entry's current identity, not an earlier
    one (a changed model, instance type or target is)."""
    return found._replace(region="")


def rows(entries: Sequence[Entry], records: Iterable[Record]) -> list[Row]:
    """One row per catalog entry, in catalog order, then one per other name, sorted. Most
    records carry the configId the catalog gives their entry now and are placed without
    reading their configJson."""
    by_name = {e.name: Row(e.name, e) for e in entries}
    current = {e.config_id: by_name[e.name] for e in entries}
    # a record another tool wrote may name the configuration as the generator does: such a
    # name stands for an entry only where it is no entry's own and one entry's alias (as
    # Catalog.get), never by file order (a team's qwen-vllm-small never takes transformers-vllm's)
    aliased: dict[str, list[str]] = {}
    for e in entries:
        aliased.setdefault(e.generator_name, []).append(e.name)
    alias = {g: n[0] for g, n in aliased.items() if len(n) == 1 and g not in by_name}
    deployments: dict[Deployment, Row] | None = None
    loose: dict[str, list[Record]] = {}
    for record in records:
        row = current.get(record.configId)
        if row is not None:
            row.current.append(record)
            continue
        if deployments is None:  # read only once a record needs it
            deployments = {_anywhere(entry_deployment(e)): by_name[e.name] for e in entries}
        row = deployments.get(_anywhere(deployment(record)))
        if row is not None:  # the same deployment, as another writer keys it or as a stack
            row.current.append(record)  # in another region runs it (register --region)
            continue
        name = alias.get(record.deploymentConfig, record.deploymentConfig)
        if name in by_name:
            by_name[name].earlier.append(record)
        else:
            loose.setdefault(name, []).append(record)
    found = list(by_name.values())
    for name in sorted(loose):
        found.append(_loose(name, loose[name]))
    return found


def _loose(name: str, records: list[Record]) -> Row:
    """A name no catalog entry has: a project's own configuration, or an entry the catalog
    no longer has. With no entry to say which identity is current, the record tested last
    is; records of other deployments are earlier identities."""
    row = Row(name, None, removed=all(r.source == "catalog" for r in records))
    if len(records) == 1:  # the common case: nothing to tell apart
        row.current.append(records[0])
        return row
    last = primary(records)
    key = deployment(last)
    for record in records:
        same = record.configId == last.configId or deployment(record) == key
        (row.current if same else row.earlier).append(record)
    return row


def primary(records: Sequence[Record]) -> Record:
    """Of several records for one configuration, the one tested last."""
    return max(records, key=lambda r: (r.lastTestTimestamp, r.createdAt))


def earlier_identities(
    row: Row, history: Mapping[str, Sequence[Run]]
) -> tuple[EarlierIdentity, ...]:
    """The row's earlier identities, the one tested last first."""
    if not row.earlier:
        return ()
    now: Deployment | None
    if row.entry is not None:
        now = entry_deployment(row.entry)
    else:
        now = deployment(primary(row.current)) if row.current else None
    found = []
    for record in row.earlier:
        tested = record.lastTestTimestamp != NEVER_TESTED and record.testStatus != UNTESTED
        found.append(
            EarlierIdentity(
                configId=record.configId,
                differs=_differs(deployment(record), now),
                runs=len(record.recentRuns or history.get(record.configId, ())),
                lastStatus=record.testStatus,
                lastTest=record.lastTestTimestamp if tested else None,
            )
        )
    found.sort(key=lambda e: (e.lastTest or "", e.configId), reverse=True)
    return tuple(found)


_FIELDS = ("generator", "model", "instance type", "region", "target")


def _differs(then: Deployment, now: Deployment | None) -> str:
    """The identity fields that differ from the current identity's, with their old values."""
    if now is None:
        return ""
    return ", ".join(
        f"{label} {old}" for label, old, new in zip(_FIELDS, then, now, strict=True) if old != new
    )
