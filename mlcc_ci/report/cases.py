"""Each configuration of a report as one test case, as the formats other tools read (JUnit
XML, Allure results, GitHub annotations) say it: passed, failed (the configuration's), error
(mlcc-ci's own) or skipped (blocked by the infrastructure, running, unsupported, not run);
with its failure class, first failed stage, a one-line message and the detail, secrets
masked and control characters out. Pure, but for `local_logs`, which reads stage logs."""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mlcc_ci.catalog import Entry
from mlcc_ci.constants import RUNNING
from mlcc_ci.failures import HARNESS
from mlcc_ci.models import Run, StageResult, stage_order
from mlcc_ci.redact import redact
from mlcc_ci.report.classes import failure_class, run_status, shown_status
from mlcc_ci.report.model import ConfigReport, Report
from mlcc_ci.safetext import capped, printable

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
MESSAGE_CHARS = 500
DETAIL_CHARS = 4000
LOG_TAIL_BYTES = 16 * 1024  # of each stage log file a case carries
# (name, stage, result) -> the stage's log, masked, or None when there is none to read
LogReader = Callable[[str, str, StageResult], str | None]


@dataclass(frozen=True)
class Case:
    name: str
    profile: str  # of the run the case reports (the report's own for one never run)
    outcome: str  # PASSED | FAILED | ERROR | SKIPPED
    status: str  # as the report shows it: `fail-build [product]`, `blocked (capacity)`
    cls: str = ""  # the failure class: of a failure, a harness error or a block
    stage: str = ""  # the first failed stage
    message: str = ""  # one line
    detail: str = ""
    seconds: float = 0.0
    startedAt: str | None = None
    finishedAt: str | None = None
    runId: str | None = None
    stages: tuple[tuple[str, StageResult], ...] = ()  # in lifecycle order
    tags: tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)  # architecture, instanceType, ...
    entry: Entry | None = field(default=None, compare=False)  # its catalog entry, if any


# Half a surrogate pair (a record's JSON can hold one) and the two non-characters: no
# UTF-8 encoder or XML parser takes them.
_UNENCODABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def clean(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` as every output of this module carries it: secrets masked, no escape
    sequences, no control characters but tab and newline, nothing UTF-8 cannot encode."""
    return _UNENCODABLE.sub("?", printable(redact(text, list(secrets))))


def _line(text: str) -> str:
    """The first line that says something."""
    return next((s.strip() for s in text.splitlines() if s.strip()), "")


def _ordered(results: Mapping[str, StageResult]) -> tuple[tuple[str, StageResult], ...]:
    return tuple(sorted(results.items(), key=lambda kv: stage_order(kv[0])))


def _failed_stage(results: Mapping[str, StageResult]) -> str:
    return next((s for s, r in _ordered(results) if r.status == "fail"), "")


def _run_for(c: ConfigReport) -> Run | None:
    """The run whose result the record holds (its last product result)."""
    return next((r for r in c.history if r.finishedAt == c.lastTest), None)


def case_of(
    c: ConfigReport,
    default_profile: str,
    secrets: Sequence[str] = (),
    entry: Entry | None = None,
) -> Case:
    """One configuration as a test case: running, blocked, failing, broken by mlcc-ci,
    passing, unsupported or never run, in that order of precedence (as the report shows
    its status)."""
    latest = c.history[0] if c.history else None
    own = _run_for(c)
    base = Case(
        name=clean(c.name),
        profile=clean(c.profile or default_profile),
        outcome=SKIPPED,
        status=shown_status(c),
        tags=tuple(str(t) for t in entry.data.get("tags") or ()) if entry else (),
        facts={
            "architecture": c.architecture,
            "instanceType": c.instanceType,
            "region": c.region,
            "owner": c.owner,
        },
        entry=entry,
    )

    def timed(run: Run | None, **changes: object) -> Case:
        if run is not None:
            changes = {
                "seconds": run.durationSeconds,
                "startedAt": run.startedAt,
                "finishedAt": run.finishedAt,
                "runId": run.runId,
                "profile": clean(run.profile) or base.profile,
                **changes,
            }
        return replace(base, **changes)  # type: ignore[arg-type]

    if c.status == RUNNING:
        stage = c.currentStage or "generate"
        return timed(
            None,
            message=clean(f"running: in {stage} since {c.currentStageStartedAt or c.runStartedAt}"),
            startedAt=c.runStartedAt,
            stages=_ordered(c.runStages),
        )
    if c.blocked is not None:
        b = c.blocked
        cause = f"{b.rule}: {b.capture}" if b.rule and b.capture else b.capture or b.rule
        return timed(
            latest,
            cls=b.cls,
            stage=b.stage,
            message=clean(
                capped(
                    f"blocked by the infrastructure ({b.cls}) at {b.stage}: {cause}", MESSAGE_CHARS
                ),
                secrets,
            ),
            detail=clean(
                f"class: {b.cls}\nstage: {b.stage}\nsince: {b.since}, {b.rounds} run"
                f"{'' if b.rounds == 1 else 's'} in a row\nnext try after: {b.retryAfter}\n"
                f"last product result: {c.status}",
                secrets,
            ),
            stages=_ordered(latest.stageResults) if latest else (),
        )
    if c.failing and c.quarantine is not None:  # shown, and kept out of any verdict
        q = c.quarantine
        failed = _failing(c, timed(own, outcome=FAILED), own, secrets)
        said = f"quarantined until {q.until}: {q.reason}; last result {shown_status(c)}"
        return replace(
            failed,
            outcome=SKIPPED if failed.outcome == FAILED else failed.outcome,
            message=clean(capped(said, MESSAGE_CHARS), secrets),
        )
    if c.removed:
        said = f"removed from the catalog; last result {shown_status(c)}, counted nowhere"
        return timed(latest, message=clean(said, secrets))
    if c.failing:
        return _failing(c, timed(own, outcome=FAILED), own, secrets)
    if c.lastError is not None:
        run = c.lastError
        f = run.failure
        stage = (f.stage if f else "") or _failed_stage(run.stageResults) or "-"
        said = (f"{f.rule}: {f.capture}" if f.rule else f.capture) if f else ""
        said = said or _line(run.errorMessage) or "mlcc-ci failed on this configuration"
        return timed(
            run,
            outcome=ERROR,
            status=run_status(run),
            cls=HARNESS,
            stage=stage,
            message=clean(capped(f"{stage}: {said}", MESSAGE_CHARS), secrets),
            detail=clean(
                f"class: {HARNESS} (mlcc-ci's own error, not the configuration's)\n"
                f"last product result: {c.status}\n{run.errorMessage}".rstrip(),
                secrets,
            ),
            stages=_ordered(run.stageResults),
        )
    if c.passing:
        return timed(own, outcome=PASSED, stages=_ordered(c.stageResults), seconds=_secs(own, c))
    if c.supportState != "supported":
        reason = f": {c.supportReason}" if c.supportReason else ""
        return timed(None, message=clean(capped(f"unsupported{reason}", MESSAGE_CHARS), secrets))
    return timed(None, message="not run yet")


def _secs(run: Run | None, c: ConfigReport) -> float:
    return run.durationSeconds if run is not None else float(c.duration or 0)


def _failing(c: ConfigReport, case: Case, own: Run | None, secrets: Sequence[str]) -> Case:
    """A failing configuration: its class, first failed stage and what that stage said."""
    cls = failure_class(c) or ""
    results = c.stageResults
    f = c.failure
    stage = (f.stage if f else "") or _failed_stage(results) or c.status.removeprefix("fail-")
    result = results.get(stage)
    said = (result.errorSummary if result else "") or c.errorMessage or ""
    summary = " ".join(said.split())  # on one line
    cause = f" (rule {f.rule}: {f.capture})" if f and f.rule else ""
    detail = [f"class: {cls}{cause}", f"stage: {stage}"]
    said_there = result.errorSummary.strip() if result else ""
    for line in (c.errorMessage or "").strip().splitlines():  # what the summary does not say
        if line.strip().removeprefix(f"{stage} failed: ") not in said_there:
            detail.append(line)
    if said_there:
        detail.append(said_there)
    return replace(
        case,
        outcome=ERROR if cls == HARNESS else FAILED,  # the rules put it on mlcc-ci
        cls=cls,
        stage=stage,
        message=clean(capped(f"{stage}: {summary or 'failed'}", MESSAGE_CHARS), secrets),
        detail=clean(capped("\n".join(detail), DETAIL_CHARS), secrets),
        stages=_ordered(results),
        seconds=_secs(own, c),
    )


def cases_of(
    report: Report,
    entries: Iterable[Entry],
    default_profile: str,
    secrets: Sequence[str] = (),
) -> list[Case]:
    """Every configuration of `report`, in its order."""
    by_name = {e.name: e for e in entries}
    return [
        case_of(c, default_profile, secrets, by_name.get(c.name)) for c in report.configurations
    ]


def local_logs(secrets: Sequence[str], tail: int = LOG_TAIL_BYTES) -> LogReader:
    """Reads the stage logs a local run left (stdout, then stderr under a header), the last
    `tail` bytes of each, masked as `mlcc-ci logs` masks them. A log in CloudWatch is named,
    with the command that prints it; a pointer that names no stage log is not followed."""
    from mlcc_ci.logs import Cleaner, pointer_path, stage_lines

    def read(name: str, stage: str, result: StageResult) -> str | None:
        pointer = result.logPointer
        if not pointer:
            return None
        if pointer.startswith("cloudwatch:"):
            stream = pointer.removeprefix("cloudwatch:")
            return clean(
                f"(in CloudWatch, stream {stream}: mlcc-ci logs {name} --stage {stage})", secrets
            )
        path = pointer_path(pointer, stage)
        if path is None:
            return None
        cleaner = Cleaner(secrets)
        try:
            lines = [cleaner.line(line) for line in stage_lines(path, tail)]
        except OSError:
            return None
        return "\n".join(lines) if lines else None

    return read
