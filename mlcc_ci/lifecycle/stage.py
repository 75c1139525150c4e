"""One stage: its checks before it starts, its command (or the harness's own work, for
validate and register), and its result with a summary a reader can act on."""

from collections.abc import Mapping
from pathlib import Path

from mlcc_ci import (
    endpoint,
    generator,
    modeltoken,
    placement,
    projectcheck,
    registry,
    stagehooks,
    validate_env,
)
from mlcc_ci.catalog import Entry
from mlcc_ci.lifecycle.context import RunContext
from mlcc_ci.lifecycle.injection import command_under
from mlcc_ci.lifecycle.smoke import smoke_test, swept_up, with_reasons
from mlcc_ci.lifecycle.stageenv import Workspace
from mlcc_ci.lifecycle.stagelog import failure_summary, output, pointer, stage_log, summarize
from mlcc_ci.models import StageResult
from mlcc_ci.preflight import preflight
from mlcc_ci.profiles import StageSpec
from mlcc_ci.redact import redact


def run_stage(
    ctx: RunContext,
    space: Workspace,
    entry: Entry,
    name: str,
    cwd: Path,
    fault: str | None,
    proven: dict[str, str],
) -> StageResult:
    """Run stage `name` in `cwd` (an injected `fault` stands in for its command); what
    register proves (generator version, image) goes into `proven`."""
    spec = space.specs.get(name) or StageSpec(name, None, 600.0)
    problem = spec.problem or preflight(name, entry, ctx.profile, space.specs, space.env)
    if problem:
        return StageResult("fail", errorSummary=summarize(problem, "", space.secrets))
    command, faulted = command_under(fault, name, spec.command)
    if name == "validate" and not faulted:
        return _validate(ctx, space, entry, spec)
    deployed = None
    if name == "teardown" and ctx.profile.endpoint_checks and not faulted:
        deployed = endpoint.deployed(space.project, space.env)  # do/clean forgets it as it goes
    if command:
        judged = _command(ctx, space, entry, spec, command, cwd, faulted, deployed)
        if judged is not None:
            return judged
    if name == "register" and (unproven := _register(space.project, proven, ctx.env)) is not None:
        return unproven
    log = stage_log(space.work, name)
    return StageResult("pass", logPointer=pointer(ctx.env, log) if command else "")


def _command(
    ctx: RunContext,
    space: Workspace,
    entry: Entry,
    spec: StageSpec,
    command: str,
    cwd: Path,
    faulted: bool,
    deployed: endpoint.Deployed | None,
) -> StageResult | None:
    """Run the stage's command and judge what it did: its result if that decides the stage
    (a failure, or teardown's sweep of what was `deployed`), None if it goes on to pass."""
    name, env, project, secrets = spec.name, space.env, space.project, space.secrets
    log = stage_log(space.work, name)
    where = pointer(ctx.env, log)
    checks = ctx.profile.endpoint_checks and not faulted
    hooks = [] if faulted else stagehooks.before(name, project, space.config, env, spec.timeout)
    outcome = ctx.executor.run(
        command, cwd=cwd, env=env, timeout=spec.timeout, log=log, protected=name == "teardown"
    )
    stagehooks.after(name, project, env, hooks, log, hooked=not faulted)
    if name == "generate" and not faulted and not (outcome.timed_out or outcome.cancelled):
        said = generator.generation_problem(project, output(log), outcome.returncode or 0)
        if said:
            return StageResult("fail", logPointer=where, errorSummary=summarize(said, "", secrets))
    if deployed is not None and not ctx.stop.abandoned.is_set():
        return swept_up(deployed, env, outcome, spec, where, secrets, ctx.stop)
    if not outcome.ok:
        summary = failure_summary(outcome, spec, secrets, ctx.stop)
        if name == "deploy_test" and checks:
            summary = with_reasons(project, env, summary, secrets)
        return StageResult("fail", logPointer=where, errorSummary=summary)
    if name == "deploy_test" and checks:
        problem = smoke_test(project, entry, env)
        if problem:
            summary = summarize(problem, "", secrets)
            return StageResult("fail", logPointer=where, errorSummary=summary)
    return None


def _register(project: Path, proven: dict[str, str], env: Mapping[str, str]) -> StageResult | None:
    """What the run proved (the generator that wrote the project, the image it built on,
    with its tag's digest when the `image-digests` setting is on: registry.recorded) into
    `proven`; register's failure if it cannot tell."""
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
        proven["image"] = registry.recorded(image, env)
    return None


def _validate(ctx: RunContext, space: Workspace, entry: Entry, spec: StageSpec) -> StageResult:
    """The harness's static checks of the generated project, then its own do/validate."""
    env, secrets = space.env, space.secrets
    checks, deploys = ctx.profile.checks, ctx.profile.runs("deploy_test")
    refused = modeltoken.refused_before_build(checks, deploys, entry.data, env)
    if refused:
        return StageResult("fail", errorSummary=summarize(refused, "", secrets))
    problems = projectcheck.check_project(space.project, space.config)
    if problems:
        return StageResult("fail", errorSummary=summarize("; ".join(problems), "", secrets))
    log = stage_log(space.work, "validate")
    checked = _project_validate(ctx, space, spec)
    return _predicted(ctx, space.project, checked, log)


def _project_validate(ctx: RunContext, space: Workspace, spec: StageSpec) -> StageResult:
    """The project's own `do/validate`, in an environment the harness prepares."""
    project, secrets = space.project, space.secrets
    if not (project / "do" / "validate").is_file():
        return StageResult("pass", note="static checks only: the project has no do/validate")
    try:
        home = space.work / "validate-home"  # this run's own
        env = dict(space.env)
        prepared = validate_env.prepare(generator.home(env) / "validate-env", env, home)
    except (OSError, ImportError, ValueError) as exc:
        note = f"do/validate not run: could not prepare its environment ({exc})"
        return StageResult("pass", note=summarize(note, "", secrets))
    log = stage_log(space.work, "validate")
    where = pointer(ctx.env, log)
    outcome = ctx.executor.run(
        "./do/validate", cwd=project, env=prepared, timeout=spec.timeout, log=log
    )
    if outcome.ok:
        return StageResult("pass", logPointer=where)
    lines = [ln.strip() for ln in generator.strip_ansi(output(log)).splitlines() if ln.strip()]
    if outcome.returncode == 2:  # its own code for "could not run"
        said = [ln for ln in lines if ln.startswith(("❌", "⚠️"))] or lines[-1:]
        note = f"do/validate could not run: {'; '.join(said) or 'no reason given'}"
        return StageResult("pass", logPointer=where, note=summarize(note, "", secrets))
    if outcome.returncode == 1:
        summary = summarize(validate_env.failure_note(lines), "", secrets)
        return StageResult("fail", logPointer=where, errorSummary=summary)
    summary = failure_summary(outcome, spec, secrets, ctx.stop)
    return StageResult("fail", logPointer=where, errorSummary=summary)


def _predicted(ctx: RunContext, project: Path, result: StageResult, log: Path) -> StageResult:
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
    where = result.logPointer or pointer(ctx.env, log)
    if not ctx.profile.runs("deploy_test"):
        return StageResult("fail", logPointer=where, errorSummary=summarize(said, "", []))
    note = "; ".join(n for n in (result.note, said) if n)
    return StageResult("pass", logPointer=where, note=summarize(note, "", []))
