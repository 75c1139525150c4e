"""One attempt of a run: the stages in order, the first failure skipping those after it,
teardown always; then what the attempt says (its status, the failure's class, its cost)."""

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlcc_ci import clock
from mlcc_ci.catalog import Entry
from mlcc_ci.constants import ERROR, INTERRUPTED
from mlcc_ci.cost import estimate
from mlcc_ci.errors import CatalogError
from mlcc_ci.failures import HARNESS, UNCLASSIFIED, Classification, classify_stage, load_rules
from mlcc_ci.lifecycle.context import RUN_STAGES, Progress, RunContext, RunReport
from mlcc_ci.lifecycle.injection import Injected, fault_for, faults
from mlcc_ci.lifecycle.record import Claim, record_progress
from mlcc_ci.lifecycle.stage import run_stage
from mlcc_ci.lifecycle.stageenv import Workspace, prepare, settle
from mlcc_ci.lifecycle.stagelog import stage_log, summarize
from mlcc_ci.models import Failure, Outcome, StageResult
from mlcc_ci.redact import redact
from mlcc_ci.safetext import printable


def attempt(
    ctx: RunContext, claim: Claim, entry: Entry, number: int, notes: list[str]
) -> tuple[RunReport, Classification | None]:
    """Attempt `number` of the claimed run, and the rule that classified its failure."""
    started = time.perf_counter()
    space = prepare(ctx, claim.record, entry, number, notes)
    stages = _Stages(ctx, claim, entry, space, number, notes)
    for name in RUN_STAGES:  # generate, validate, build, deploy_test, register
        stages.next(name)
    stages.teardown()  # always: after a failure, a timeout, an interrupt
    return _verdict(ctx, claim, stages, started)


@dataclass
class _Stages:
    """The attempt's stages as they run: each result, and the first that failed."""

    ctx: RunContext
    claim: Claim
    entry: Entry
    space: Workspace
    number: int
    notes: list[str]
    results: dict[str, StageResult] = field(default_factory=dict)
    failed: str | None = None
    proven: dict[str, str] = field(default_factory=dict)  # by register: generator, image
    injected: Injected = field(init=False)  # MLCC_CI_FAULT

    def __post_init__(self) -> None:
        self.injected = faults(self.ctx.env)

    def next(self, name: str) -> None:
        """Stage `name`, unless an earlier one failed, the profile leaves it out or the run
        was interrupted; the project generated, the run's settings go into it."""
        ctx, space = self.ctx, self.space
        if self.failed:
            result = StageResult("skip")
        elif name == "generate" and space.refused:
            result = StageResult("fail", errorSummary=summarize(space.refused, "", space.secrets))
        elif not ctx.profile.runs(name):
            result = StageResult("skip", note=ctx.profile.skip_reason)
        elif ctx.stop.cancel.is_set():
            note = f"interrupted by {ctx.stop.reason} before {name} began"
            result = StageResult("fail", errorSummary=note)
        else:
            result = self._run(name, space.work if name == "generate" else space.project)
            if name == "generate" and result.status == "pass":
                result = settle(ctx, space, result)
        self._done(name, result)

    def teardown(self) -> None:
        if not self.ctx.profile.runs("teardown"):
            result = StageResult("skip", note=self.ctx.profile.skip_reason)
        elif self.space.project.is_dir():
            result = self._run("teardown", self.space.project)
        else:
            note = "nothing to tear down: no project was generated"
            result = StageResult("skip", errorSummary=note)
        self._done("teardown", result)

    def _done(self, name: str, result: StageResult) -> None:
        self.results[name] = result
        if result.status == "fail" and not self.failed:
            self.failed = name

    def _run(self, name: str, cwd: Path) -> StageResult:
        """Run the stage, shown as it starts and ends and timed; the store told it is on."""
        ctx, entry, space = self.ctx, self.entry, self.space
        ctx.show(Progress(entry.name, name, "start"), self.notes)
        record_progress(ctx, self.claim, name, self.results)
        t0 = time.perf_counter()
        try:
            fault = fault_for(self.injected, entry.name, name, self.number)
            result = run_stage(ctx, space, entry, name, cwd, fault, self.proven)
        except Exception as exc:  # a bug in the harness must not skip teardown
            note = f"internal error in the harness: {type(exc).__name__}: {exc}"
            result = StageResult("fail", errorSummary=summarize(note, "", space.secrets))
        result = replace(result, durationSeconds=round(time.perf_counter() - t0, 3))
        log = str(stage_log(space.work, name))
        event = Progress(entry.name, name, "end", result.status, result.durationSeconds, log)
        ctx.show(event, self.notes)
        return result


def _verdict(
    ctx: RunContext, claim: Claim, stages: _Stages, started: float
) -> tuple[RunReport, Classification | None]:
    """The attempt's outcome: `fail-<first failed stage>` (its failure classified) or pass;
    an `error` when the harness broke, `interrupted` when the user stopped it."""
    failed, results, space = stages.failed, stages.results, stages.space
    status = f"fail-{failed}" if failed else "pass"
    found = None
    failure = None
    if failed:
        found, failure = _classify(ctx, failed, results[failed], space, stages.notes)
        if failure.cls == HARNESS:
            status = ERROR  # mlcc-ci broke: it says nothing about the configuration
    if ctx.stop.cancel.is_set() and ctx.stop.reason == "SIGINT":
        status = INTERRUPTED  # the user stopped it: it says nothing about the product
        found, failure = None, None  # nor does the way it stopped
    message = ""
    if failed:
        summary = results[failed].errorSummary.strip().splitlines()
        message = f"{failed} failed: {summary[0] if summary else 'no error output'}"
    seconds = time.perf_counter() - started
    profile = ctx.profile
    outcome = Outcome(
        status=status,
        finishedAt=clock.iso(ctx.now()),
        durationSeconds=seconds,
        stageResults=results,
        errorMessage=message,
        profile=profile.name,
        generatorVersion=stages.proven.get("generatorVersion"),
        provenImage=stages.proven.get("image"),
        estimatedCost=estimate(
            profile.prices,
            space.config,
            results,
            profile=profile.name,
            run_seconds=seconds,
            in_executor=bool(ctx.env.get("CODEBUILD_BUILD_ID")),
        ),
        failure=failure,
        attempt=stages.number,
    )
    return RunReport(claim.record, outcome, space.work, stages.notes), found


def _classify(
    ctx: RunContext, stage: str, result: StageResult, space: Workspace, notes: list[str]
) -> tuple[Classification | None, Failure]:
    """The failure class of `stage` by the catalog's rules, read from its log. Rules
    that cannot be read leave it unclassified, and say why."""
    try:
        rules = ctx.rules if ctx.rules is not None else load_rules()
        found = classify_stage(stage, stage_log(space.work, stage), result.errorSummary, rules)
    except CatalogError as exc:
        notes.append(f"failure not classified: the failure rules have problems: {exc}")
        return None, Failure(UNCLASSIFIED, stage)
    capture = printable(redact(found.capture, space.secrets))
    return found, Failure(found.cls, stage, found.rule, capture)
