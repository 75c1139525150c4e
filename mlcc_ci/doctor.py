"""`mlcc-ci store doctor`: find what other writers left in a shared table, and adopt it.

Findings: items no reader understands, items in another tool's shape (no version, stage
results stored as a string), configJson holding secrets, and several records of one
deployment. Fixing adopts them: a foreign or secret-bearing record is rewritten in mlcc-ci's
shape (secrets masked, what other tools added kept), a duplicate's history moves to the
canonical record and the duplicate is deleted. Every write is conditional; a second run
finds nothing more to do.
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from mlcc_ci import decode
from mlcc_ci.constants import RUNNING
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.identity import groups
from mlcc_ci.models import Record, carrying_result
from mlcc_ci.stores.base import ResultsStore

_TEXT_FIELDS = ("errorMessage", "stageResults.", "supportReason")


@dataclass(frozen=True)
class Finding:
    kind: str  # unreadable | foreign | secrets | duplicate
    config_id: str
    detail: str


@dataclass
class Examination:
    findings: list[Finding] = field(default_factory=list)
    adopt: list[Record] = field(default_factory=list)  # decoded: secrets already masked
    merge: list[tuple[Record, Record]] = field(default_factory=list)  # (duplicate, canonical)


def examine(store: ResultsStore, preferred: Collection[str] = ()) -> Examination:
    """Everything in the store that is not as mlcc-ci writes it. `preferred`: the configIds
    the catalog computes, which stand for their deployment."""
    out = Examination()
    records = []
    for config_id, item in store.raw_items():
        if item is None:
            out.findings.append(
                Finding("unreadable", decode.shown_id(config_id), "not a stored item")
            )
            continue
        try:
            record = decode.record(item)
        except decode.Unreadable as exc:
            out.findings.append(Finding("unreadable", exc.config_id, exc.reason))
            continue
        records.append(record)
        shape = [s for s in decode.foreign(item) if not s.startswith("attributes of")]
        _, _, secrets = decode.config_json(item.get("configJson"))
        secrets += decode.secret_texts(item)
        for s in shape:
            out.findings.append(Finding("foreign", config_id, s))
        if secrets:
            where = ", ".join(
                p if p.startswith(_TEXT_FIELDS) else f"configJson.{p}" for p in secrets
            )
            out.findings.append(Finding("secrets", config_id, f"secrets at {where}"))
        if shape or secrets:
            out.adopt.append(record)
    for group in groups(records, preferred):
        canonical, *duplicates = group
        for duplicate in duplicates:
            detail = f"same deployment as {canonical.configId} ({canonical.deploymentConfig})"
            out.findings.append(Finding("duplicate", duplicate.configId, detail))
            out.merge.append((duplicate, canonical))
    return out


def _with_result_of(canonical: Record, other: Record) -> Record:
    return carrying_result(
        canonical,
        other,
        testStatus=other.testStatus,
        previousStatus=other.previousStatus,
        lastPassTimestamp=max(
            (t for t in (canonical.lastPassTimestamp, other.lastPassTimestamp) if t), default=None
        ),
        generatorVersion=other.generatorVersion or canonical.generatorVersion,
        provenImage=other.provenImage or canonical.provenImage,
        version=canonical.version + 1,
    )


def fix(store: ResultsStore, exam: Examination) -> list[str]:
    """Adopt and merge; one line per thing done (or left, and why)."""
    done = []
    merged_away = {d.configId for d, _ in exam.merge if d.testStatus != RUNNING}
    for record in exam.adopt:
        if record.configId in merged_away:
            continue
        if record.testStatus == RUNNING:
            done.append(f"left {record.configId}: it is running; try again when it is done")
            continue
        try:
            store.replace(
                replace(record, version=record.version + 1),
                expect_version=record.version,
                expect_run_id=None,
            )
            done.append(f"adopted {record.configId}: rewritten in mlcc-ci's shape, secrets masked")
        except ConflictError:
            done.append(f"left {record.configId}: it changed while the doctor looked")
        except StoreError as exc:  # one record the store refuses never stops the others
            done.append(f"left {record.configId}: the store refused it ({exc})")
    for duplicate, canonical in exam.merge:
        if duplicate.testStatus == RUNNING:
            done.append(f"left {duplicate.configId}: it is running; try again when it is done")
            continue
        canonical = store.get(canonical.configId) or canonical  # adopted above, perhaps
        if canonical.testStatus == RUNNING:  # a run's own result must not be overwritten
            done.append(
                f"left {duplicate.configId}: {canonical.configId} is running; try again when "
                "it is done"
            )
            continue
        runs = store.history(duplicate.configId)
        for run in runs:
            store.append_run(replace(run, configId=canonical.configId))
        if duplicate.tested and duplicate.lastTestTimestamp > canonical.lastTestTimestamp:
            try:  # the newer result is the deployment's result
                store.replace(
                    _with_result_of(canonical, duplicate),
                    expect_version=canonical.version,
                    expect_run_id=None,
                )
            except ConflictError:
                done.append(f"left {duplicate.configId}: {canonical.configId} changed meanwhile")
                continue
            except StoreError as exc:
                done.append(f"left {duplicate.configId}: the store refused the merge ({exc})")
                continue
        store.delete(duplicate.configId)
        done.append(
            f"merged {duplicate.configId} into {canonical.configId} "
            f"({len(runs)} run{'s' if len(runs) != 1 else ''} of history moved), deleted it"
        )
    return done
