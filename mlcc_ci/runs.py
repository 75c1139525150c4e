"""Runs of the history by their id: find one, forget one, and re-label failures by the rules.

A run is kept under (configId, startedAt); people name it by its run id, which reports,
`mlcc-ci logs` and the PR comment show. A record's `recentRuns` hold its last runs' ids,
so one pass over the records finds any recent run; an older one is found in the history of
the configuration named with it.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from mlcc_ci.constants import ERROR, FAIL_STATUSES, NEVER_TESTED, PASS, RUNNING, UNTESTED
from mlcc_ci.errors import ConflictError, NotFound
from mlcc_ci.failures import HARNESS, Classification, Rule, classify_stage
from mlcc_ci.models import Failure, Record, Run, StageResult
from mlcc_ci.redact import redact
from mlcc_ci.safetext import printable
from mlcc_ci.stores.base import ResultsStore
from mlcc_ci.suspects import block_of


def find(store: ResultsStore, run_id: str, config_id: str | None = None) -> tuple[Record, Run]:
    """The record and the full history item of the run `run_id`; NotFound if no record's
    recent runs (or, with `config_id`, that configuration's whole history) hold it."""
    candidates: Iterator[Record]
    if config_id is not None:
        record = store.get(config_id)
        candidates = iter([record] if record is not None else [])
    else:
        candidates = (r for r in store.records() if _mentions(r, run_id))
    for record in candidates:
        # the whole history: a record keeps its last product runs behind any retries
        for run in store.history(record.configId):
            if run.runId == run_id:
                return record, run
    where = "that configuration's history" if config_id else "any record's recent runs"
    hint = "" if config_id else " (an older run: name its configuration with --name)"
    raise NotFound(f"no run {run_id} in {where}{hint}")


def _mentions(record: Record, run_id: str) -> bool:
    return record.runId == run_id or any(r.runId == run_id for r in record.recentRuns)


def forget(store: ResultsStore, record: Record, run: Run) -> Record:
    """Remove `run` from the history and from the record's recent runs. When it was the
    record's last result, the record takes the result of the run before it (untested if
    none is left), so its status says only what the remaining runs proved. Raises
    ConflictError when the record is running or changed meanwhile."""
    if record.testStatus == RUNNING and record.runId == run.runId:
        raise ConflictError(f"run {run.runId} is under way: it can be forgotten once it ends")
    store.forget_run(run.configId, run.startedAt)
    recent = tuple(r for r in record.recentRuns if r.runId != run.runId)
    changes: dict[str, object] = {"recentRuns": recent, "version": record.version + 1}
    blocked = record.blocked
    if record.runId == run.runId or (blocked is not None and run.startedAt >= blocked.since):
        # the block is what the runs that remain justify: forgetting one attempt of ten
        # lifts nothing, forgetting every blocked run lifts it (suspects.block_of)
        changes["blocked"] = block_of(store.history(record.configId), blocked)
    if record.runId == run.runId and record.testStatus != RUNNING:
        changes.update(_result_before(store, record))
    new = replace(record, **changes)  # type: ignore[arg-type]
    store.replace(new, expect_version=record.version, expect_run_id=record.runId)
    return new


def _result_before(store: ResultsStore, record: Record) -> dict[str, object]:
    """The record's result fields as the newest remaining product run left them."""
    return _result_of(store.history(record.configId))


def _result_of(history: list[Run]) -> dict[str, object]:
    """A record's result fields as the newest product run of `history` (newest first) left
    them; untested when there is none."""
    remaining = [r for r in history if r.product]
    passes = [r for r in remaining if r.status == PASS]
    last_pass = passes[0].finishedAt if passes else None
    if not remaining:
        return {
            "testStatus": UNTESTED,
            "lastTestTimestamp": NEVER_TESTED,
            "lastTestDuration": None,
            "stageResults": {},
            "errorMessage": None,
            "failure": None,
            "runId": None,
            "runStartedAt": None,
            "lastPassTimestamp": last_pass,
            "estimatedCost": None,
        }
    before = remaining[0]
    return {
        "testStatus": before.status,
        "lastTestTimestamp": before.finishedAt,
        "lastTestDuration": round(before.durationSeconds),
        "stageResults": dict(before.stageResults),
        "errorMessage": before.errorMessage or None,
        "failure": before.failure,
        "runId": before.runId,
        "runStartedAt": before.startedAt,
        "lastPassTimestamp": last_pass,
        "estimatedCost": before.estimatedCost,
    }


def failed_stage(run: Run) -> str | None:
    """The stage a failed run failed at: its classification's, else its status's, else the
    first stage that says fail."""
    if run.failure is not None and run.failure.stage:
        return run.failure.stage
    if run.status in FAIL_STATUSES:
        return run.status.removeprefix("fail-")
    return next((k for k, v in run.stageResults.items() if v.status == "fail"), None)


def local_log(run: Run, stage: str) -> Path | None:
    """The local log file a stage's pointer names, if it is one and is still there."""
    from mlcc_ci.logs import pointer_path

    result = run.stageResults.get(stage)
    pointer = result.logPointer if result is not None else ""
    if not pointer or pointer.startswith("cloudwatch:"):
        return None
    path = pointer_path(pointer, stage)
    return path if path is not None and path.is_file() else None


def classify_run(run: Run, rules: tuple[Rule, ...]) -> tuple[Classification, Path | None]:
    """The class of a failed run by `rules`, from its stage's local log when it is still
    there, else from what the history kept of it: the capture its class was read from, then
    the error summary."""
    stage = failed_stage(run) or "generate"
    log = local_log(run, stage)
    return classify_stage(stage, log, _kept(run, stage, log), rules), log


def _kept(run: Run, stage: str, log: Path | None) -> str:
    """What the history kept of a failed stage: its error summary and the run's error
    message, after (with the log gone) the stored capture, a piece of the log."""
    result = run.stageResults.get(stage, StageResult("fail"))
    capture = run.failure.capture if run.failure is not None and log is None else ""
    return "\n".join(t for t in (capture, result.errorSummary, run.errorMessage) if t)


def grounded(run: Run, rules: tuple[Rule, ...], log: Path | None) -> bool:
    """Whether what is left of a failed run is evidence enough to re-label it: its log, or,
    with the log gone, what the history kept of it when that still holds what its stored
    rule matched (the kept text is then what its class was read from). A class no rule gave
    came from nothing a rule matched: any text that a rule matches now would have matched
    the whole log too. A failure `reclassify` put on the harness has no evidence but the
    rule that put it there: once the rules no longer have it as a harness rule, it takes
    its status back whatever is left (see `undone`)."""
    if log is not None or run.failure is None or not run.failure.rule:
        return True
    if undone(run, rules):
        return True
    stage = failed_stage(run) or "generate"
    rule = tuple(r for r in rules if r.name == run.failure.rule)
    return bool(rule) and classify_stage(stage, None, _kept(run, stage, log), rule).rule != ""


@dataclass(frozen=True)
class Relabel:
    name: str
    run: Run
    before: str  # the class it had ("-": none)
    after: Failure
    status: str  # the run's status now (a failure put on the harness is an `error`)


@dataclass(frozen=True)
class Reclassified:
    changes: list[Relabel]
    seen: int  # failed runs read (and failures reclassify put on the harness)
    kept: int  # runs left as they were for lack of evidence (their log is gone)


def harness_relabel(run: Run) -> bool:
    """A failure `reclassify` put on the harness: an `error` that knows its status before."""
    return run.status == ERROR and run.failure is not None and bool(run.failure.statusBefore)


def undone(run: Run, rules: tuple[Rule, ...]) -> bool:
    """Whether `run` is a relabel to the harness whose rule `rules` no longer have, or no
    longer call harness: nothing proves the label any more, so the run takes its status
    back (its class is then read from what is left of it, `unclassified` when nothing
    matches), its log gone or not."""
    if not harness_relabel(run):
        return False
    assert run.failure is not None
    name = run.failure.rule
    return not any(r.name == name and r.cls == HARNESS for r in rules)


def reclassify(store: ResultsStore, rules: tuple[Rule, ...], *, write: bool = True) -> Reclassified:
    """Classify every failed run in the history again by `rules` and write those whose
    class, rule or capture changed, as the runner would have recorded them: a failure now
    put on the harness becomes an `error` (keeping the status it had, which it takes again
    once the rules put it elsewhere). A run whose log is gone is re-labelled only when what
    the history kept holds what its rule matched (see `grounded`); else it keeps its class.
    Each record changed is then made again from its history: its result is its newest
    product run's, and infrastructure failures newer than that block it. (`error` runs of
    the runner's own and `interrupted` ones stay as they are.)"""
    changes: list[Relabel] = []
    seen = kept = 0
    for record in list(store.records()):
        history = store.history(record.configId)
        changed: dict[str, Run] = {}
        for run in history:
            if run.status not in FAIL_STATUSES and not harness_relabel(run):
                continue
            seen += 1
            found, log = classify_run(run, rules)
            stage = failed_stage(run) or "generate"
            old = run.failure
            failed = old.statusBefore if old is not None and old.statusBefore else run.status
            # masked as the runner masks it (lifecycle): a capture may hold a credential
            after = Failure(found.cls, stage, found.rule, printable(redact(found.capture)))
            if log is None and old is not None and old.rule and found.rule == old.rule:
                after = replace(after, capture=old.capture)  # only the log can move it
            if after.cls == HARNESS:
                after = replace(after, statusBefore=failed)
            if old == after:
                continue
            if not grounded(run, rules, log):
                kept += 1
                continue
            before = old.cls if old is not None else "-"
            status = ERROR if after.cls == HARNESS else failed
            changes.append(Relabel(record.deploymentConfig, run, before, after, status))
            changed[run.runId] = replace(run, failure=after, status=status)
            if write:
                store.append_run(changed[run.runId])
        if write and changed and record.testStatus != RUNNING:
            _remade(store, record, [changed.get(r.runId, r) for r in history], changed)
    return Reclassified(changes, seen, kept)


def _remade(
    store: ResultsStore, record: Record, history: list[Run], relabelled: dict[str, Run]
) -> None:
    """`record` made again from its relabelled `history` (newest first)."""
    recent = tuple(
        replace(r, failure=relabelled[r.runId].failure, status=relabelled[r.runId].status)
        if r.runId in relabelled
        else r
        for r in record.recentRuns
    )
    # infrastructure failures since the newest product result block it, counted as
    # `history forget` counts them (a round at each first attempt); due at once (the
    # backoff of its newest failure is long over); the platform team's notice is remembered
    blocked = block_of(history, None)
    if blocked is not None and record.blocked is not None:
        blocked = replace(blocked, notified=record.blocked.notified)
    new = replace(
        record,
        **_result_of(history),  # type: ignore[arg-type]
        recentRuns=recent,
        blocked=blocked,
        version=record.version + 1,
    )
    # a run that finished meanwhile wrote the record anew: its history items are relabelled
    with contextlib.suppress(ConflictError):
        store.replace(new, expect_version=record.version, expect_run_id=record.runId)
