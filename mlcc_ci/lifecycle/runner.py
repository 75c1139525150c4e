"""One run of one configuration: generate → validate → build → deploy_test → register →
teardown → update.

The first failure skips the stages after it, except teardown and update, which always run:
after a failure, a timeout, SIGTERM/SIGINT (the caller sets `cancel` and kills the
running stage's process group) or an exception inside the harness.
"""

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mlcc_ci import (
    clock,
    doconfig,
    endpoint,
    generator,
    modeltoken,
    naming,
    placement,
    projectcheck,
    projectsetup,
    quarantine,
    stagehooks,
    validate_env,
    workdirs,
)
from mlcc_ci.catalog import Entry
from mlcc_ci.constants import ERROR, INTERRUPTED
from mlcc_ci.cost import estimate
from mlcc_ci.errors import CatalogError, ConflictError, StoreError
from mlcc_ci.executors.local import LocalExecutor, StageRun
from mlcc_ci.failures import (
    HARNESS,
    NO_RETRY,
    RETRIED,
    UNCLASSIFIED,
    Classification,
    Rule,
    classify_stage,
    load_rules,
)
from mlcc_ci.history import transition
from mlcc_ci.mirror import MIRROR_ENV, through
from mlcc_ci.models import (
    ERROR_SUMMARY_CHARS,
    Blocked,
    Failure,
    Outcome,
    Record,
    StageResult,
    progressed,
    reclaimed,
    run_of,
    set_aside,
)
from mlcc_ci.preflight import preflight
from mlcc_ci.profiles import Profile, StageSpec
from mlcc_ci.redact import redact, secret_values
from mlcc_ci.resources import data_path
from mlcc_ci.safetext import printable
from mlcc_ci.stores.base import ResultsStore, finish
from mlcc_ci.suspects import platform_notice

RUN_STAGES = ("generate", "validate", "build", "deploy_test", "register")
# A blocked configuration waits at least this long, at most a day, before the scanner
# tries it again; the platform team hears of one blocked longer than a day (suspects.py).
BLOCKED_MIN_WAIT = 300
BLOCKED_MAX_WAIT = 86400
FAULT_ENV = "MLCC_CI_FAULT"
FAULT_COMMANDS = {
    "fail": "echo 'mlcc-ci: injected failure' >&2; exit 1",
    "hang": "echo 'mlcc-ci: injected hang' >&2; sleep 86400",
    # SageMaker's own words when a region has no free instance of the type asked for
    "capacity": (
        "echo 'An error occurred (CapacityError) when calling the CreateEndpoint operation: "
        "Unable to provision requested ML compute capacity. Please retry using a different "
        "ML instance type.' >&2; exit 1"
    ),
}


FAULT_MODES = ("fail", "hang", "crash", "slow", "capacity")


def faults(env: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, int]]:
    """MLCC_CI_FAULT=NAME:STAGE:MODE[:N][,...]; NAME may be '*'; MODE is fail, hang, crash,
    slow (three seconds, then the stage's own command) or capacity (SageMaker has no
    instance); N: only the first N attempts of the run (a retry then meets the stage as it
    is). A misspelled item is a ValueError: a fault test that silently injects nothing would
    pass for the wrong reason."""
    found = {}
    for item in filter(None, (i.strip() for i in env.get(FAULT_ENV, "").split(","))):
        parts = item.split(":")
        if len(parts) == 4 and parts[3].isdigit() and int(parts[3]) > 0:
            times = int(parts.pop())
        elif len(parts) == 3:
            times = 0  # every attempt
        else:
            raise ValueError(f"{FAULT_ENV} item {item!r} is not NAME:STAGE:MODE[:N]")
        name, stage, mode = parts
        if stage not in (*RUN_STAGES, "teardown"):
            known = ", ".join((*RUN_STAGES, "teardown"))
            raise ValueError(f"{FAULT_ENV} item {item!r}: no stage {stage!r} (stages: {known})")
        if mode not in FAULT_MODES:
            raise ValueError(
                f"{FAULT_ENV} item {item!r}: no mode {mode!r} (modes: {', '.join(FAULT_MODES)})"
            )
        found[(name, stage)] = (mode, times)
    return found


def _fault(
    injected: Mapping[tuple[str, str], tuple[str, int]], name: str, stage: str, attempt: int
) -> str | None:
    mode, times = injected.get((name, stage)) or injected.get(("*", stage)) or ("", 0)
    return mode if mode and (times == 0 or attempt <= times) else None


@dataclass(frozen=True)
class Progress:
    name: str
    stage: str
    state: str  # start | end | retry (status: the failure class; elapsed: the wait)
    status: str = ""
    elapsed: float = 0.0
    log: str = ""  # at a stage's end: its local log (stdout; stderr beside it)


@dataclass
class RunReport:
    record: Record
    outcome: Outcome
    work_dir: Path
    notes: list[str] = field(default_factory=list)
    stored: bool = True  # False: the store refused the result; it is kept in the work folder
    first_started: str | None = None  # of the first attempt, when the run was retried
    quarantine: str | None = None  # the entry's quarantine in force: no regression notice

    @property
    def status(self) -> str:
        return self.outcome.status


OUTPUT_LIMIT = 256 * 1024


def _output(log: Path) -> str:
    """What a stage printed (stdout, then stderr), at most OUTPUT_LIMIT bytes of each."""
    text = []
    for path in (log, log.with_suffix(".stderr.log")):
        try:
            with path.open("rb") as fh:
                text.append(fh.read(OUTPUT_LIMIT).decode("utf-8", errors="replace"))
        except OSError:
            continue
    return "\n".join(text)


def summarize(note: str, tail: str, secrets: list[str]) -> str:
    """A stage's error summary: what happened, then the last of stderr, secrets masked."""
    tail = printable(redact(tail, secrets)).strip()
    note = printable(redact(note, secrets)).strip()
    if not note:
        return tail[-ERROR_SUMMARY_CHARS:]
    room = ERROR_SUMMARY_CHARS - len(note) - 1
    if room <= 0 or not tail:
        return note[:ERROR_SUMMARY_CHARS]
    return f"{note}\n{tail[-room:]}"


@dataclass
class _Claim:
    """One run's claimed record as last written (each stage's progress moves its version)."""

    record: Record

    def __post_init__(self) -> None:
        self.claimed_id = self.record.runId or ""  # as the scanner or `run` claimed it
        self.first_started = self.record.runStartedAt  # the first attempt's start


def attempt_run_id(claimed_id: str, attempt: int) -> str:
    """Attempt 2 and on of a claimed run: `<claimed id>-r<N>`, so whoever holds the claimed
    id (the executor's post_build, the orchestrator) still knows the record as its run's."""
    return f"{claimed_id}-r{attempt}"


class Runner:
    def __init__(
        self,
        store: ResultsStore,
        profile: Profile,
        *,
        work_root: Path,
        executor: LocalExecutor | None = None,
        env: Mapping[str, str] | None = None,
        cancel: threading.Event | None = None,
        progress: Callable[[Progress], None] | None = None,
        now: Callable[[], datetime] = clock.now,
        notify: Callable[[str, str], None] | None = None,
        notify_platform: Callable[[str, str], None] | None = None,
        rules: tuple[Rule, ...] | None = None,
        deadline: float | None = None,
        max_wait: float | None = None,
        retry: bool = True,
    ) -> None:
        self.store = store
        self.profile = profile
        self.work_root = work_root
        self.executor = executor or LocalExecutor()
        self.env = dict(os.environ if env is None else env)
        self.cancel = cancel or threading.Event()
        self.cancel_reason = "SIGTERM"
        self.abandoned = threading.Event()  # a third interrupt: teardown was stopped too
        self.progress = progress or (lambda event: None)
        self.now = now
        self.notify = notify  # (subject, message) to the owners: a regression, a fix
        # ... and to the platform team: infrastructure has blocked a configuration a day
        self.notify_platform = notify_platform
        self.rules = rules  # the failure rules; None: the catalog's, read at each failure
        # Retries within the run: not past `deadline` (time.monotonic(); the executor's run
        # budget), nor a backoff longer than `max_wait` seconds (a build does not idle for
        # ten minutes: a longer wait is the scanner's, which re-queues after retryAfter).
        self.deadline = deadline
        self.max_wait = max_wait
        self.retry = retry  # False: `run --no-retry`

    def run(self, record: Record, entry: Entry) -> RunReport:
        """Run the claimed `record` through every stage and write its result.

        Whatever goes wrong inside the harness, the claim is not left `running`."""
        claim = _Claim(record)
        try:
            with workdirs.holding():  # its folders are the run's, locked, until it ends
                return self._run(claim, entry)
        except Exception as exc:
            # mlcc-ci broke, not the configuration: an `error` in the history, and the
            # record goes back to the status it had
            message = f"internal error in the harness: {type(exc).__name__}: {exc}"[:500]
            outcome = Outcome(
                status=ERROR,
                finishedAt=clock.iso(self.now()),
                durationSeconds=0.0,
                stageResults={"generate": StageResult("fail", errorSummary=message)},
                errorMessage=message,
                profile=self.profile.name,
                failure=Failure(HARNESS, "generate", "harness-internal-error", type(exc).__name__),
            )
            report = RunReport(claim.record, outcome, self.work_root, [message])
            self._update(report)
            return report

    def _show(self, event: Progress, notes: list[str]) -> None:
        """Tell `progress` (the terminal, the build log). Best effort: showing a run is not
        the run, so a display that fails is a note, never the run's failure."""
        try:
            self.progress(event)
        except Exception as exc:
            note = f"progress could not be shown: {type(exc).__name__}: {exc}"
            if note not in notes:
                notes.append(note)

    def _record_progress(
        self, claim: "_Claim", stage: str, done: Mapping[str, StageResult]
    ) -> None:
        """Tell the store which stage the run is in, so a dashboard can show it. Best
        effort: a run never fails because its progress could not be written."""
        current = claim.record
        moved = progressed(current, stage, clock.iso(self.now(), ms=True), done)
        try:
            self.store.replace(moved, expect_version=current.version, expect_run_id=current.runId)
        except (ConflictError, StoreError):
            return  # re-registered or reaped meanwhile: the final write will say so
        claim.record = moved

    def _run(self, claim: "_Claim", entry: Entry) -> RunReport:
        """Attempts of the run until one proves something or may not be retried: a failure
        its rule calls infra, capacity or quota is retried by the rule's policy (count and
        backoff), from the start: teardown has removed all the attempt made (the endpoint
        must not stay up through a backoff, and `do/clean all` takes the image too). Each
        attempt is a run of its own in the history (a run id, a start, a cost); the claim is
        held across them."""
        attempt = 1
        notes: list[str] = []
        while True:
            report, found = self._attempt(claim, entry, attempt, notes)
            failure = report.outcome.failure
            policy = found.retry if found is not None else NO_RETRY
            if (
                failure is None
                or failure.cls not in RETRIED
                or attempt > policy.count
                or self.cancel.is_set()
            ):
                break
            wait = policy.backoff_seconds
            why_not = self._no_retry_now(wait, report.outcome)
            if why_not:
                report.notes.append(f"attempt {attempt} failed at {failure.stage}: {why_not}")
                break
            report.notes.append(
                f"attempt {attempt} failed at {failure.stage}: {failure.cls} ({failure.rule}); "
                f"attempt {attempt + 1} of {policy.count + 1} in {wait:g}s"
            )
            event = Progress(entry.name, failure.stage, "retry", failure.cls, wait)
            self._show(event, report.notes)
            if self.cancel.wait(wait):  # interrupted while waiting: the last attempt stands
                break
            if not self._next_attempt(claim, report):
                break
            attempt += 1
        report.first_started = claim.first_started
        if (held := quarantine.in_force(entry, self.now())) is not None:
            report.quarantine = held.text
        self._show(Progress(entry.name, "update", "start"), report.notes)
        self._update(report)
        label = _label(report.outcome)
        self._show(Progress(entry.name, "update", "end", label), report.notes)
        return report

    def _no_retry_now(self, wait: float, outcome: Outcome) -> str | None:
        """Why a retry waits for the scanner instead of running now; None if it may run."""
        took = outcome.durationSeconds
        teardown = outcome.stageResults.get("teardown")
        if teardown is not None and teardown.status == "fail":
            return "not retried: its teardown failed, and what it made may still be up"
        if not self.retry:
            return "not retried (--no-retry): it waits as blocked for `run --due`"
        if self.max_wait is not None and wait > self.max_wait:
            return f"its backoff ({wait:g}s) is the scanner's to wait, not this build's"
        if self.deadline is not None and time.monotonic() + wait + 1.25 * took > self.deadline:
            return "another attempt would not finish within the run's budget"
        return None

    def _next_attempt(self, claim: "_Claim", report: RunReport) -> bool:
        """Keep the failed attempt in the history and hand the claim to the next one."""
        current = claim.record
        run = run_of(current, report.outcome)
        next_id = attempt_run_id(claim.claimed_id, run.attempt + 1)
        moved = reclaimed(current, next_id, clock.iso(self.now(), ms=True), run)
        try:
            self.store.replace(moved, expect_version=current.version, expect_run_id=current.runId)
        except (ConflictError, StoreError) as exc:
            report.notes.append(f"not retried: the record could not be handed on ({exc})")
            return False
        claim.record = moved
        try:
            self.store.append_run(run)
        except StoreError as exc:
            report.notes.append(f"could not append attempt {run.attempt} to the history: {exc}")
        return True

    def _attempt(
        self,
        claim: "_Claim",
        entry: Entry,
        attempt: int,
        notes: list[str],
    ) -> tuple[RunReport, Classification | None]:
        started = time.perf_counter()
        record = claim.record
        work = self.work_root / f"{record.deploymentConfig}-{record.runId}"
        config = json.loads(record.configJson)
        refused = self._rename(config, notes)
        mirror = self.env.get(MIRROR_ENV, "")
        if mirror and config.get("baseImage"):
            pulled = through(str(config["baseImage"]), mirror)
            if pulled != config["baseImage"]:
                notes.append(f"base image {config['baseImage']} pulled through {mirror}")
                config["baseImage"] = pulled
        project = work / str(config.get("projectName", "project"))
        root = self.work_root.resolve()
        if not (project.resolve().is_relative_to(root) and project.resolve() != root):
            raise ValueError(f"the project folder {project} would be outside {root}")
        workdirs.make(work, self.store)  # marked as the store's: only its runs prune it
        env = self._stage_env(record, entry, config, work, project)
        env["MLCC_ATTEMPT"] = str(attempt)
        secrets = secret_values({**self.env, **env})  # a token withheld from env included
        specs = self.profile.stage_specs(entry)
        injected = faults(self.env)
        results: dict[str, StageResult] = {}
        proven: dict[str, str] = {}
        failed: str | None = None

        def stage(name: str, cwd: Path) -> StageResult:
            self._show(Progress(entry.name, name, "start"), notes)
            self._record_progress(claim, name, results)
            t0 = time.perf_counter()
            try:
                result = self._stage(
                    name,
                    specs,
                    entry,
                    config,
                    cwd,
                    project,
                    env,
                    secrets,
                    _fault(injected, entry.name, name, attempt),
                    proven,
                )
            except Exception as exc:  # a bug in the harness must not skip teardown
                note = f"internal error in the harness: {type(exc).__name__}: {exc}"
                result = StageResult("fail", errorSummary=summarize(note, "", secrets))
            result = replace(result, durationSeconds=round(time.perf_counter() - t0, 3))
            log = str(self._log(work, name))
            self._show(
                Progress(entry.name, name, "end", result.status, result.durationSeconds, log),
                notes,
            )
            return result

        for name in RUN_STAGES:
            if failed:
                results[name] = StageResult("skip")
                continue
            if name == "generate" and refused:
                results[name] = StageResult("fail", errorSummary=summarize(refused, "", secrets))
            elif not self.profile.runs(name):
                results[name] = StageResult("skip", note=self.profile.skip_reason)
            elif self.cancel.is_set():
                results[name] = StageResult(
                    "fail", errorSummary=f"interrupted by {self.cancel_reason} before {name} began"
                )
            else:
                results[name] = stage(name, work if name == "generate" else project)
                if name == "generate" and results[name].status == "pass":
                    results[name] = self._settle(project, str(config["projectName"]), results[name])
            if results[name].status == "fail":
                failed = name

        if not self.profile.runs("teardown"):
            results["teardown"] = StageResult("skip", note=self.profile.skip_reason)
        elif project.is_dir():
            results["teardown"] = stage("teardown", project)
        else:
            results["teardown"] = StageResult(
                "skip", errorSummary="nothing to tear down: no project was generated"
            )
        if results["teardown"].status == "fail" and not failed:
            failed = "teardown"

        status = f"fail-{failed}" if failed else "pass"
        found = None
        failure = None
        if failed:
            found, failure = self._classify(failed, results[failed], work, secrets, notes)
            if failure.cls == HARNESS:
                status = ERROR  # mlcc-ci broke: it says nothing about the configuration
        if self.cancel.is_set() and self.cancel_reason == "SIGINT":
            status = INTERRUPTED  # the user stopped it: it says nothing about the product
            found, failure = None, None  # nor does the way it stopped
        message = ""
        if failed:
            summary = results[failed].errorSummary.strip().splitlines()
            message = f"{failed} failed: {summary[0] if summary else 'no error output'}"
        seconds = time.perf_counter() - started
        outcome = Outcome(
            status=status,
            finishedAt=clock.iso(self.now()),
            durationSeconds=seconds,
            stageResults=results,
            errorMessage=message,
            profile=self.profile.name,
            generatorVersion=proven.get("generatorVersion"),
            provenImage=proven.get("image"),
            estimatedCost=estimate(
                self.profile.prices,
                config,
                results,
                profile=self.profile.name,
                run_seconds=seconds,
                in_executor=bool(self.env.get("CODEBUILD_BUILD_ID")),
            ),
            failure=failure,
            attempt=attempt,
        )
        return RunReport(claim.record, outcome, work, notes), found

    def _classify(
        self, stage: str, result: StageResult, work: Path, secrets: list[str], notes: list[str]
    ) -> tuple[Classification | None, Failure]:
        """The failure class of `stage` by the catalog's rules, read from its log. Rules
        that cannot be read leave it unclassified, and say why."""
        try:
            rules = self.rules if self.rules is not None else load_rules()
            found = classify_stage(stage, self._log(work, stage), result.errorSummary, rules)
        except CatalogError as exc:
            notes.append(f"failure not classified: the failure rules have problems: {exc}")
            return None, Failure(UNCLASSIFIED, stage)
        capture = printable(redact(found.capture, secrets))
        return found, Failure(found.cls, stage, found.rule, capture)

    # -- pieces ---------------------------------------------------------------------------

    def _rename(self, config: dict[str, Any], notes: list[str]) -> str | None:
        """Run under the name the stack may manage (see naming); why not, if it cannot."""
        prefix = self.env.get(naming.PREFIX_ENV)
        if not prefix:
            return None
        registered = str(config.get("projectName") or "")
        try:
            config["projectName"] = naming.run_project_name(config, prefix)
        except ValueError as exc:
            return str(exc)
        if config["projectName"] != registered:
            notes.append(
                f"runs as {config['projectName']}: AWS runs keep every name under {prefix}-"
            )
        return None

    def _settle(self, project: Path, project_name: str, result: StageResult) -> StageResult:
        """Write the profile's settings into the generated do/config (see projectsetup)."""
        try:
            # do/config's own region: the one its scripts (do/submit) will use
            region = doconfig.values(project / "do" / "config", self.env).get("AWS_REGION")
            projectsetup.apply(project, self.profile.project_config, project_name, region)
        except (OSError, ValueError) as exc:
            note = f"could not write the run's settings into do/config: {exc}"
            return replace(result, status="fail", errorSummary=note)
        return result

    def _stage_env(
        self, record: Record, entry: Entry, config: Mapping[str, Any], work: Path, project: Path
    ) -> dict[str, str]:
        config_file = work / "config.json"
        config_file.write_text(json.dumps(config, indent=2) + "\n")
        smoke_file = work / "smoke-test.json"
        smoke_file.write_text(json.dumps(entry.data.get("smokeTest", {}), indent=2) + "\n")
        env = {k: v for k, v in self.env.items() if k != FAULT_ENV}
        env.update(
            MLCC_CONFIG_FILE=str(config_file),
            MLCC_SMOKE_TEST=str(smoke_file),
            MLCC_WORK_DIR=str(work),
            MLCC_PROJECT_DIR=str(project),
            MLCC_CONFIG_ID=record.configId,
            MLCC_RUN_ID=record.runId or "",
            MLCC_PROFILE=self.profile.name,
            MLCC_PYTHON=sys.executable,
            MLCC_EXAMPLES=str(data_path("examples")),
            BUILD_STRATEGY=str(config.get("buildStrategy", "")),
            MLCC_DEPLOY_REGION=str(config.get("awsRegion", "")),
            MLCC_DEPLOYMENT_TARGET=str(config.get("deploymentTarget", "")),
        )
        installed = generator.find(self.profile.generator, env)
        if installed is not None:
            env.update(installed.stage_env(env))
        # The generated do-scripts refuse to run outside a Python virtual environment, and
        # a CI image has none: every stage runs in one that sees the harness's boto3.
        env.update(validate_env.activation(generator.home(env) / "validate-env", env))
        return modeltoken.withheld(env)  # no stage gets a Hugging Face token (modeltoken)

    def _log(self, work: Path, stage: str) -> Path:
        return work / "logs" / f"{stage}.log"

    def _pointer(self, log: Path) -> str:
        """In AWS the buildspec names the CloudWatch stream; locally it is the log file."""
        stream = self.env.get("MLCC_CI_LOG_STREAM")
        return f"cloudwatch:{stream}" if stream else str(log)

    def _stage(
        self,
        name: str,
        specs: Mapping[str, StageSpec],
        entry: Entry,
        config: Mapping[str, Any],
        cwd: Path,
        project: Path,
        env: Mapping[str, str],
        secrets: list[str],
        fault: str | None,
        proven: dict[str, str],
    ) -> StageResult:
        spec = specs.get(name) or StageSpec(name, None, 600.0)
        log = self._log(Path(env["MLCC_WORK_DIR"]), name)
        pointer = self._pointer(log)
        problem = spec.problem or preflight(name, entry, self.profile, specs, env)
        if problem:
            return StageResult("fail", errorSummary=summarize(problem, "", secrets))
        if fault == "crash":
            raise RuntimeError(f"injected crash in {name}")
        command = FAULT_COMMANDS.get(fault or "", spec.command)
        if fault == "slow":
            command = f"sleep 3; {spec.command or 'true'}"
            fault = None
        if name == "validate" and not fault:
            checks, deploys = self.profile.checks, self.profile.runs("deploy_test")
            refused = modeltoken.refused_before_build(checks, deploys, entry.data, env)
            if refused:
                return StageResult("fail", errorSummary=summarize(refused, "", secrets))
            problems = projectcheck.check_project(project, config)
            if problems:
                return StageResult("fail", errorSummary=summarize("; ".join(problems), "", secrets))
            log = self._log(Path(env["MLCC_WORK_DIR"]), "validate")
            checked = self._project_validate(project, env, spec, secrets)
            return self._predicted(project, checked, log)
        outcome: StageRun | None = None
        deployed = None
        if name == "teardown" and self.profile.endpoint_checks and not fault:
            deployed = endpoint.deployed(project, env)  # do/clean forgets it as it goes
        if command:
            hooks = [] if fault else stagehooks.before(name, project, config, env, spec.timeout)
            outcome = self.executor.run(
                command,
                cwd=cwd,
                env=env,
                timeout=spec.timeout,
                log=log,
                protected=name == "teardown",
            )
            stagehooks.after(name, project, env, hooks, log, hooked=not fault)
            if name == "generate" and not fault and not (outcome.timed_out or outcome.cancelled):
                said = generator.generation_problem(project, _output(log), outcome.returncode or 0)
                if said:
                    return StageResult(
                        "fail", logPointer=pointer, errorSummary=summarize(said, "", secrets)
                    )
            if deployed is not None and not self.abandoned.is_set():
                return self._swept_up(deployed, env, outcome, spec, pointer, secrets)
            if not outcome.ok:
                summary = self._failure(outcome, spec, secrets)
                if name == "deploy_test" and self.profile.endpoint_checks and not fault:
                    summary = self._with_reasons(project, env, summary, secrets)
                return StageResult("fail", logPointer=pointer, errorSummary=summary)
            if name == "deploy_test" and self.profile.endpoint_checks and not fault:
                problem = self._smoke_test(project, entry, env)
                if problem:
                    summary = summarize(problem, "", secrets)
                    return StageResult("fail", logPointer=pointer, errorSummary=summary)
        if name == "register":
            params = generator.generation_params(project) or {}
            if not params.get("generatorVersion"):
                note = (
                    f"the project has no {generator.PARAMS_FILE} naming a generatorVersion: "
                    "cannot tell which generator wrote it"
                )
                return StageResult("fail", errorSummary=note)
            proven["generatorVersion"] = redact(str(params["generatorVersion"]))[:100]
            image = projectcheck.base_image(project / "Dockerfile")
            if image:
                proven["image"] = image
        return StageResult("pass", logPointer=pointer if command else "")

    def _project_validate(
        self, project: Path, env: Mapping[str, str], spec: StageSpec, secrets: list[str]
    ) -> StageResult:
        """The project's own `do/validate`, in an environment the harness prepares."""
        if not (project / "do" / "validate").is_file():
            return StageResult("pass", note="static checks only: the project has no do/validate")
        try:
            home = Path(env["MLCC_WORK_DIR"]) / "validate-home"  # this run's own
            prepared = validate_env.prepare(generator.home(env) / "validate-env", dict(env), home)
        except (OSError, ImportError, ValueError) as exc:
            note = f"do/validate not run: could not prepare its environment ({exc})"
            return StageResult("pass", note=summarize(note, "", secrets))
        log = self._log(Path(env["MLCC_WORK_DIR"]), "validate")
        pointer = self._pointer(log)
        outcome = self.executor.run(
            "./do/validate", cwd=project, env=prepared, timeout=spec.timeout, log=log
        )
        if outcome.ok:
            return StageResult("pass", logPointer=pointer)
        lines = [ln.strip() for ln in generator.strip_ansi(_output(log)).splitlines() if ln.strip()]
        if outcome.returncode == 2:  # its own code for "could not run"
            said = [ln for ln in lines if ln.startswith(("❌", "⚠️"))] or lines[-1:]
            note = f"do/validate could not run: {'; '.join(said) or 'no reason given'}"
            return StageResult("pass", logPointer=pointer, note=summarize(note, "", secrets))
        if outcome.returncode == 1:
            summary = summarize(validate_env.failure_note(lines), "", secrets)
            return StageResult("fail", logPointer=pointer, errorSummary=summary)
        return StageResult(
            "fail", logPointer=pointer, errorSummary=self._failure(outcome, spec, secrets)
        )

    def _predicted(self, project: Path, result: StageResult, log: Path) -> StageResult:
        """Validate's verdict with what the project's files say SageMaker cannot place: a
        profile that never deploys fails on it (nothing else would tell); one that deploys
        notes it, and deploy_test proves it with SageMaker's own reason. Said in the stage's
        log too, where `logs` and the run summary send the reader."""
        predicted = placement.predict(project)
        if not predicted or result.status != "pass":
            return result
        said = "predicted to fail at deploy_test: " + "; ".join(predicted)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"[mlcc-ci] {said}\n")
        pointer = result.logPointer or self._pointer(log)
        if not self.profile.runs("deploy_test"):
            return StageResult("fail", logPointer=pointer, errorSummary=summarize(said, "", []))
        note = "; ".join(n for n in (result.note, said) if n)
        return StageResult("pass", logPointer=pointer, note=summarize(note, "", []))

    def _smoke_test(self, project: Path, entry: Entry, env: Mapping[str, str]) -> str | None:
        """The entry's smoke test against the endpoint the project deployed."""
        where = endpoint.deployed(project, env)
        if where is None:
            return "smoke test: do/config names no ENDPOINT_NAME after do/deploy"
        runtime = endpoint.client("sagemaker-runtime", where.region, env)
        return endpoint.smoke_test(where, entry.data.get("smokeTest", {}), runtime)

    def _swept_up(
        self,
        deployed: endpoint.Deployed,
        env: Mapping[str, str],
        outcome: StageRun,
        spec: StageSpec,
        pointer: str,
        secrets: list[str],
    ) -> StageResult:
        """Teardown's result once what the project deployed is sure to be gone: the harness
        deletes what the project's own cleanup left, and says so."""
        sagemaker = endpoint.client("sagemaker", deployed.region, env)
        remover = endpoint.Remover(sagemaker, patience=max(spec.timeout / 2, 1.0))
        try:
            left = endpoint.sweep_up(deployed, remover)
        except Exception as exc:  # what is left now is the sweeper's
            note = f"endpoint {deployed.endpoint} is still up after teardown: {exc}"
            tail = self._failure(outcome, spec, secrets) if not outcome.ok else ""
            return StageResult(
                "fail", logPointer=pointer, errorSummary=summarize(note, tail, secrets)
            )
        if not outcome.ok:
            summary = self._failure(outcome, spec, secrets)
            return StageResult("fail", logPointer=pointer, errorSummary=summary)
        note = (
            f"the project's cleanup left {', '.join(left)}: deleted by the harness" if left else ""
        )
        return StageResult(
            "pass", logPointer=pointer, note=summarize(note, "", secrets) if note else ""
        )

    def _with_reasons(
        self, project: Path, env: Mapping[str, str], summary: str, secrets: list[str]
    ) -> str:
        """A failed deploy's summary, led by why SageMaker says the endpoint failed."""
        where = endpoint.deployed(project, env)
        if where is None:
            return summary
        reasons = endpoint.failure_reasons(where, endpoint.client("sagemaker", where.region, env))
        if not reasons:
            return summary
        return summarize("; ".join(reasons), summary, secrets)

    def _failure(self, outcome: StageRun, spec: StageSpec, secrets: list[str]) -> str:
        if outcome.timed_out:
            note = f"timed out after {spec.timeout:g}s; its process group was killed"
        elif outcome.cancelled and spec.name == "teardown" and self.abandoned.is_set():
            note = (
                "abandoned after a third interrupt: what it would have removed may still be "
                "running (run the project's do/clean by hand)"
            )
        elif outcome.cancelled:
            note = f"interrupted by {self.cancel_reason}; its process group was killed"
        else:
            note = f"exit code {outcome.returncode}"
        return summarize(note, outcome.stderr_tail, secrets)

    def _update(self, report: RunReport) -> None:
        """Write the run's result. A product outcome finishes the record; a run that proved
        nothing goes back to the status the record had, kept among its recent runs:
        interrupted, a harness `error`, or a failure the infrastructure caused (then `blocked`
        says so)."""
        record, outcome = report.record, report.outcome
        blocked = None
        try:
            if outcome.status in (INTERRUPTED, ERROR):
                report.record = self._write(record, set_aside(record, outcome))
            elif (failure := outcome.blocked_by) is not None:
                started = report.first_started or record.runStartedAt
                blocked = self._blocked(record, outcome, failure, started)
                report.record = self._write(record, set_aside(record, outcome, blocked))
            else:
                report.record = finish(self.store, record, outcome)
        except ConflictError:
            report.notes.append(
                "the record changed during the run (re-registered or reaped): "
                "its result is kept in the history only"
            )
        except StoreError as exc:
            kept = report.work_dir / "result.json"
            kept.write_text(json.dumps(run_of(record, outcome).to_item(), indent=2))
            report.notes.append(f"could not write the result ({exc}); kept in {kept}")
            report.stored = False
            return
        try:
            self.store.append_run(run_of(record, outcome))
        except StoreError as exc:
            report.notes.append(f"could not append the run to the history: {exc}")
        if blocked is not None:
            self._tell_platform(report, blocked)
        elif outcome.status != ERROR:
            self._tell(report)

    def _write(self, running: Record, new: Record) -> Record:
        self.store.replace(new, expect_version=running.version, expect_run_id=running.runId)
        return new

    def _blocked(
        self, record: Record, outcome: Outcome, failure: Failure, started: str | None
    ) -> Blocked:
        """What blocks the configuration now: since the first blocked run of this streak;
        the scanner may try again after the rule's backoff, doubled for each blocked run in
        a row (at most a day)."""
        before = record.blocked
        rounds = before.rounds + 1 if before else 1
        rule = next((r for r in (self.rules or _rules_or_none()) if r.name == failure.rule), None)
        base = rule.retry.backoff_seconds if rule else 0
        wait = min(max(base, BLOCKED_MIN_WAIT) * 2 ** min(rounds - 1, 10), BLOCKED_MAX_WAIT)
        after = clock.parse(outcome.finishedAt) + timedelta(seconds=wait)
        return Blocked(
            cls=failure.cls,
            stage=failure.stage,
            since=before.since if before else (started or outcome.finishedAt),
            retryAfter=clock.iso(after),
            rule=failure.rule,
            capture=failure.capture,
            rounds=rounds,
            notified=before.notified if before else False,
        )

    def _tell(self, report: RunReport) -> None:
        change = transition(report.record.previousStatus, report.outcome.status)
        if change is None or self.notify is None:
            return
        if change == "regressed" and report.quarantine:  # known bad: kept out of the flags
            report.notes.append(f"no regression notice: {report.quarantine}")
            return
        record, outcome = report.record, report.outcome
        subject = f"mlcc-ci: {record.deploymentConfig} {change} ({outcome.status})"
        lines = [
            f"{record.deploymentConfig} ({record.configId}) {change}: now {outcome.status}, "
            f"before {record.previousStatus}.",
            f"Run {record.runId}, finished {outcome.finishedAt}, profile {outcome.profile}.",
        ]
        if outcome.errorMessage:
            lines.append(f"First failure: {outcome.errorMessage}")
        if outcome.failure is not None and outcome.failure.rule:
            lines.append(f"Classified: {outcome.failure.cls} ({outcome.failure.rule}).")
        self._send(self.notify, subject, lines, report)

    def _tell_platform(self, report: RunReport, blocked: Blocked) -> None:
        """The platform team hears of a configuration infrastructure has blocked for more
        than a day, once per streak (the record remembers it was told), and of a rule that
        turns suspect (suspects.platform_notice)."""
        record = report.record
        if self.notify_platform is None:
            return
        name, finished = record.deploymentConfig, report.outcome.finishedAt
        notice = platform_notice(name, record.configId, blocked, finished, self.env, self.rules)
        if notice is None:
            return
        subject, lines = notice
        if self._send(self.notify_platform, subject, lines, report):
            told = replace(record, blocked=replace(blocked, notified=True))
            # if this write is lost, they are told again next time: better twice than never
            with contextlib.suppress(ConflictError, StoreError):
                report.record = self._write(record, replace(told, version=record.version + 1))

    def _send(
        self, send: Callable[[str, str], None], subject: str, lines: list[str], report: RunReport
    ) -> bool:
        try:
            send(subject, "\n".join(lines))
        except Exception as exc:  # a notification must never lose a result
            report.notes.append(f"could not send the notification: {type(exc).__name__}: {exc}")
            return False
        return True


def _label(outcome: Outcome) -> str:
    """A finished run's status as the progress lines show it: `blocked (capacity)` for a
    failure the infrastructure caused."""
    blocked = outcome.blocked_by
    return f"blocked ({blocked.cls})" if blocked else outcome.status


def _rules_or_none() -> tuple[Rule, ...]:
    try:
        return load_rules()
    except CatalogError:
        return ()
