"""The record, the run and the stage result; one place maps them to and from storage items.

Transitions (claim, finish, reap) are pure functions from one record to the next.
"""

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from mlcc_ci.constants import (
    FAIL_STATUSES,
    NEVER_TESTED,
    PASS,
    RUNNING,
    SCHEMA_VERSION,
    STAGES,
    TERMINAL_STATUSES,
    UNTESTED,
)
from mlcc_ci.resultparts import Blocked, Cost, Failure, StageResult

ERROR_SUMMARY_CHARS = 500
ERROR_MESSAGE_CHARS = 2000
# The runs a record carries in `recentRuns`: all a report shows (so a report reads records,
# not one history query per record), then older product runs until it holds the pass rate's
# (history.WINDOW): retried attempts that proved nothing never push the passes out.
RECENT_RUNS, PRODUCT_RUNS = 20, 10
MOST_RECENT_RUNS = RECENT_RUNS + PRODUCT_RUNS  # what a record may carry


@dataclass(frozen=True)
class Registration:
    """What registering a configuration writes; the rest of the record is the harness's."""

    configId: str
    configJson: str
    deploymentConfig: str
    buildStrategy: str
    projectName: str
    source: str  # catalog | project
    supportState: str = "supported"
    supportReason: str = ""
    baseImage: str = ""

    @property
    def baseImageVersion(self) -> str:
        return image_tag(self.baseImage)


@dataclass(frozen=True)
class Record:
    configId: str
    configJson: str
    deploymentConfig: str
    buildStrategy: str
    projectName: str
    createdAt: str
    source: str
    version: int
    testStatus: str = UNTESTED
    lastTestTimestamp: str = NEVER_TESTED
    supportState: str = "supported"
    schemaVersion: int = SCHEMA_VERSION
    lastTestDuration: int | None = None  # whole seconds: the generator's do/ci int()s it
    baseImage: str | None = None
    baseImageVersion: str | None = None
    stageResults: Mapping[str, StageResult] = field(default_factory=dict)
    errorMessage: str | None = None
    runId: str | None = None
    runStartedAt: str | None = None
    lastPassTimestamp: str | None = None
    previousStatus: str | None = None
    supportReason: str | None = None
    profile: str | None = None
    generatorVersion: str | None = None
    provenImage: str | None = None
    estimatedCost: Cost | None = None  # of the last run
    recentRuns: tuple["Run", ...] = ()  # newest first (recent_window), stage timings only
    # While a run is under way: the stage it is in, since when, and the stages it finished
    currentStage: str | None = None
    currentStageStartedAt: str | None = None
    runStages: Mapping[str, StageResult] = field(default_factory=dict)
    failure: Failure | None = None  # of the last product result
    blocked: Blocked | None = None  # the last runs were blocked by the infrastructure

    @property
    def supported(self) -> bool:
        return self.supportState == "supported"

    @property
    def tested(self) -> bool:
        return self.testStatus in TERMINAL_STATUSES

    @property
    def failing(self) -> bool:
        return self.testStatus in FAIL_STATUSES

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or (value == "" and f.name in _OPTIONAL_TEXT):
                continue
            if f.name in _OPTIONAL_LISTS and not value:
                continue
            if f.name in ("stageResults", "runStages"):
                value = {k: v.to_item() for k, v in value.items()}
            elif f.name == "recentRuns":
                value = [run.summary_item() for run in value]
            elif f.name in ("estimatedCost", "failure", "blocked"):
                value = value.to_item()
            item[f.name] = value
        return item

    @classmethod
    def registered(cls, reg: Registration, now: str, version: int = 1) -> "Record":
        return cls(
            configId=reg.configId,
            configJson=reg.configJson,
            deploymentConfig=reg.deploymentConfig,
            buildStrategy=reg.buildStrategy,
            projectName=reg.projectName,
            source=reg.source,
            supportState=reg.supportState,
            supportReason=reg.supportReason or None,
            baseImage=reg.baseImage or None,
            baseImageVersion=reg.baseImageVersion or None,
            createdAt=now,
            version=version,
            previousStatus=UNTESTED,
        )


_OPTIONAL_TEXT = {"supportReason", "baseImage", "baseImageVersion", "errorMessage"}
_OPTIONAL_LISTS = {"recentRuns", "runStages"}


@dataclass(frozen=True, slots=True)
class Run:
    """One finished run, kept in the history."""

    configId: str
    startedAt: str
    runId: str
    finishedAt: str
    status: str
    durationSeconds: float
    deploymentConfig: str
    stageResults: Mapping[str, StageResult] = field(default_factory=dict)
    errorMessage: str = ""
    profile: str = "default"
    estimatedCost: Cost | None = None
    failure: Failure | None = None
    attempt: int = 1  # 2 and on: a retry of an infrastructure failure, within one run
    # What it ran with (empty: not known, e.g. a run that never reached register)
    generatorVersion: str = ""
    provenImage: str = ""  # the base image the project was built FROM, a digest when pinned

    def to_item(self) -> dict[str, Any]:
        item = asdict(self)
        item["stageResults"] = {k: v.to_item() for k, v in self.stageResults.items()}
        for name in ("estimatedCost", "failure"):
            value = getattr(self, name)
            if value is None:
                del item[name]
            else:
                item[name] = value.to_item()
        if self.attempt == 1:
            del item["attempt"]
        for name in _RAN_WITH:
            if not item[name]:
                del item[name]
        return item

    def summary(self) -> "Run":
        """The run as a record's `recentRuns` keeps it: no logs, no error texts."""
        return replace(
            self,
            errorMessage="",
            stageResults={
                k: StageResult(v.status, v.durationSeconds) for k, v in self.stageResults.items()
            },
        )

    def summary_item(self) -> dict[str, Any]:
        """What a record keeps of it in `recentRuns`: times, status, stage timings, cost."""
        item: dict[str, Any] = {
            "runId": self.runId,
            "startedAt": self.startedAt,
            "finishedAt": self.finishedAt,
            "status": self.status,
            "durationSeconds": self.durationSeconds,
            "profile": self.profile,
            "stageResults": {
                k: {"status": v.status, "durationSeconds": v.durationSeconds}
                for k, v in self.stageResults.items()
            },
        }
        if self.estimatedCost is not None:
            item["estimatedCost"] = self.estimatedCost.to_item()
        if self.failure is not None:
            item["failure"] = self.failure.to_item()
        if self.attempt != 1:
            item["attempt"] = self.attempt
        for name in _RAN_WITH:
            if getattr(self, name):
                item[name] = getattr(self, name)
        return item

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def product(self) -> bool:
        """Whether the run proved something about the product: a pass, or a failure no rule
        put on the infrastructure or the harness (interrupted and error runs never do)."""
        if self.status == PASS:
            return True
        return self.status in FAIL_STATUSES and (self.failure is None or self.failure.product)


_RAN_WITH = ("generatorVersion", "provenImage")


@dataclass(frozen=True)
class Outcome:
    """What a run proved, written onto the record by `finished`."""

    status: str
    finishedAt: str
    durationSeconds: float
    stageResults: Mapping[str, StageResult]
    errorMessage: str = ""
    profile: str = "default"
    generatorVersion: str | None = None
    provenImage: str | None = None
    estimatedCost: Cost | None = None
    failure: Failure | None = None
    attempt: int = 1

    @property
    def blocked_by(self) -> Failure | None:
        """The failure when the infrastructure caused it (the configuration is blocked,
        not failed); None for a pass, an error, an interruption or a product failure."""
        failure = self.failure
        if self.status in FAIL_STATUSES and failure is not None and failure.blocking:
            return failure
        return None


# What a finished run leaves on a record, beyond its status.
RESULT_FIELDS = (
    "lastTestTimestamp",
    "lastTestDuration",
    "stageResults",
    "errorMessage",
    "lastPassTimestamp",
    "profile",
    "generatorVersion",
    "provenImage",
    "estimatedCost",
    "recentRuns",
    "failure",
)


def carrying_result(target: Record, source: Record, **changes: Any) -> Record:
    """`target` with `source`'s last result (RESULT_FIELDS), then `changes`."""
    return replace(target, **{**{f: getattr(source, f) for f in RESULT_FIELDS}, **changes})


def claimed(record: Record, run_id: str, now: str) -> Record:
    return replace(
        record,
        testStatus=RUNNING,
        previousStatus=record.testStatus,
        runId=run_id,
        runStartedAt=now,  # ms precision: it is the history sort key
        version=record.version + 1,
        **_NOT_UNDER_WAY,
    )


# A record no run is working on says nothing about a current stage.
_NOT_UNDER_WAY: dict[str, Any] = {
    "currentStage": None,
    "currentStageStartedAt": None,
    "runStages": {},
}


def progressed(record: Record, stage: str, now: str, done: Mapping[str, StageResult]) -> Record:
    """The running `record` entering `stage` at `now`, having finished `done` (timings only:
    the full results are written when the run ends)."""
    return replace(
        record,
        currentStage=stage,
        currentStageStartedAt=now,
        runStages={k: StageResult(v.status, v.durationSeconds) for k, v in done.items()},
        version=record.version + 1,
    )


def reclaimed(record: Record, run_id: str, now: str, done: "Run") -> Record:
    """The running `record` handed to a new attempt of its run (a retry) after the attempt
    `done`: a run id and a start of its own, so that each attempt stays in the history; the
    claim is kept."""
    return replace(
        record,
        **_NOT_UNDER_WAY,
        runId=run_id,
        runStartedAt=now,
        recentRuns=recent_window((done.summary(), *record.recentRuns)),
        version=record.version + 1,
    )


def _recent(record: Record, outcome: Outcome) -> tuple["Run", ...]:
    run = run_of(record, outcome) if record.runId and record.runStartedAt else None
    recent = (run.summary(), *record.recentRuns) if run else record.recentRuns
    return recent_window(recent)


def recent_window(runs: tuple["Run", ...]) -> tuple["Run", ...]:
    """What a record keeps of `runs` (newest first): the newest RECENT_RUNS, then older
    product runs until it holds PRODUCT_RUNS of them; at most MOST_RECENT_RUNS."""
    kept = list(runs[:RECENT_RUNS])
    older = (r for r in runs[RECENT_RUNS:] if r.product)
    kept += itertools.islice(older, max(PRODUCT_RUNS - sum(r.product for r in kept), 0))
    return tuple(kept)


def set_aside(record: Record, outcome: Outcome, blocked: Blocked | None = None) -> Record:
    """The running `record` after a run that proved nothing about the product (a harness
    error, or one the infrastructure blocked: then `blocked` says by what): it goes back to
    the status it had, its last product result kept; the run joins `recentRuns`."""
    return replace(
        record,
        **_NOT_UNDER_WAY,
        testStatus=record.previousStatus or UNTESTED,
        runId=None,
        runStartedAt=None,
        recentRuns=_recent(record, outcome),
        blocked=blocked if blocked is not None else record.blocked,
        version=record.version + 1,
    )


def finished(record: Record, outcome: Outcome) -> Record:
    passed = outcome.status == PASS
    return replace(
        record,
        **_NOT_UNDER_WAY,
        recentRuns=_recent(record, outcome),
        failure=None if passed else outcome.failure,
        blocked=None,  # the product answered: nothing blocks it
        estimatedCost=outcome.estimatedCost,
        testStatus=outcome.status,
        lastTestTimestamp=outcome.finishedAt,
        # Whole seconds: the generator's own `do/ci report` reads it with int(); the history
        # keeps the exact duration.
        lastTestDuration=round(outcome.durationSeconds),
        stageResults=dict(outcome.stageResults),
        # A passing run clears the old error rather than writing a success text into it.
        errorMessage=None if passed else outcome.errorMessage[:ERROR_MESSAGE_CHARS] or None,
        lastPassTimestamp=outcome.finishedAt if passed else record.lastPassTimestamp,
        profile=outcome.profile,
        generatorVersion=outcome.generatorVersion or record.generatorVersion,
        provenImage=outcome.provenImage or record.provenImage,
        version=record.version + 1,
    )


def run_of(record: Record, outcome: Outcome) -> Run:
    """The history item for a finished run of a claimed record."""
    assert record.runId and record.runStartedAt
    return Run(
        configId=record.configId,
        startedAt=record.runStartedAt,
        runId=record.runId,
        finishedAt=outcome.finishedAt,
        status=outcome.status,
        durationSeconds=round(outcome.durationSeconds, 3),
        deploymentConfig=record.deploymentConfig,
        stageResults=dict(outcome.stageResults),
        errorMessage="" if outcome.status == PASS else outcome.errorMessage[:ERROR_MESSAGE_CHARS],
        profile=outcome.profile,
        estimatedCost=outcome.estimatedCost,
        failure=None if outcome.status == PASS else outcome.failure,
        attempt=outcome.attempt,
        generatorVersion=outcome.generatorVersion or "",
        provenImage=outcome.provenImage or "",
    )


def image_tag(image: str | None) -> str:
    if not image:
        return ""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def stage_order(name: str) -> int:
    """Lifecycle order; stages of other writers (adapter_test, ...) come after ours."""
    return STAGES.index(name) if name in STAGES else len(STAGES)
