"""The lifecycle's run, attempt and stage (mlcc_ci/lifecycle/runner.py, attempt.py, stage.py,
stageenv.py) one function at a time: their collaborators that run commands or reach AWS are
stand-ins that record what they were given, so each test shows what the function decides,
passes on and says, in milliseconds. Written for make mutation (issue 32 item 2); the real
runs these parts make together are tests/test_lifecycle.py and tests/test_retry.py."""

import itertools
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlcc_ci import (
    endpoint,
    generator,
    modeltoken,
    placement,
    projectcheck,
    projectsetup,
    quarantine,
    registry,
    stagehooks,
    validate_env,
    workdirs,
)
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.constants import ERROR, INTERRUPTED
from mlcc_ci.cost import estimate
from mlcc_ci.errors import CatalogError
from mlcc_ci.executors.local import StageRun
from mlcc_ci.failures import HARNESS, UNCLASSIFIED, load_rules
from mlcc_ci.lifecycle import attempt, runner, stage, stageenv
from mlcc_ci.lifecycle.context import Progress, RunContext
from mlcc_ci.lifecycle.injection import FAULT_COMMANDS
from mlcc_ci.lifecycle.record import Claim
from mlcc_ci.lifecycle.stageenv import Workspace
from mlcc_ci.models import Failure, Record, StageResult, claimed
from mlcc_ci.profiles import Profile, StageSpec, load_profile
from tests.stores import registration

pytestmark = pytest.mark.unit

CATALOG = load_valid_catalog()
NOW = datetime(2026, 3, 4, 10, 0, 0, 250000, tzinfo=UTC)
STARTED = "2026-03-04T09:00:00.125Z"
SECRET = "s3cr3t-token-value"


class FakeStore:
    def __init__(self):
        self.replaced = []
        self.appended = []

    def replace(self, new, expect_version, expect_run_id):
        self.replaced.append((new, expect_version, expect_run_id))

    def append_run(self, run):
        self.appended.append(run)


class FakeExecutor:
    """Runs nothing: records each command and answers with the next StageRun given, after
    writing `said` to the stage's log."""

    def __init__(self, *answers, said=""):
        self.answers = list(answers)
        self.said = said
        self.calls = []

    def run(self, command, *, cwd, env, timeout, log, protected=False):
        self.calls.append(
            dict(command=command, cwd=cwd, env=env, timeout=timeout, log=log, protected=protected)
        )
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(self.said)
        return self.answers.pop(0) if self.answers else StageRun(0, 0.1, "")


def running(run_id="run-7") -> Record:
    base = Record.registered(registration(1), "2026-01-01T00:00:00.000Z", version=2)
    return claimed(replace(base, testStatus="pass"), run_id, STARTED)


def profile(**changes) -> Profile:
    return replace(Profile("unit", "a unit test's profile", skip_reason="not in unit"), **changes)


def context(tmp_path, executor=None, prof=None, store=None, **options) -> RunContext:
    options.setdefault("env", {"HOME": str(tmp_path)})
    options.setdefault("now", lambda: NOW)
    return RunContext.create(
        store or FakeStore(),
        prof or profile(),
        tmp_path / "work",
        executor=executor or FakeExecutor(),
        **options,
    )


def workspace(tmp_path, specs=None, refused=None, config=None) -> Workspace:
    work = tmp_path / "work" / "cfg-1-run-7"
    project = work / "p1"
    project.mkdir(parents=True, exist_ok=True)
    return Workspace(
        work=work,
        project=project,
        config=config or {"projectName": "p1", "awsRegion": "us-east-1"},
        env={"STAGE_ENV": "1"},
        secrets=[SECRET],
        specs=specs if specs is not None else {},
        refused=refused,
    )


ENTRY = SimpleNamespace(name="http-flask", data={"smokeTest": {"path": "$.x"}})


# -- stage: one stage's checks, command and result ----------------------------------------------


@pytest.fixture
def quiet(monkeypatch):
    """No preflight problem, no hooks: what each test changes is recorded in `seen`."""
    seen = SimpleNamespace(preflight=[], before=[], after=[], problem=None, hooks=["hook"])

    def preflight(name, entry, prof, specs, env):
        seen.preflight.append((name, entry, prof, specs, env))
        return seen.problem

    def before(name, project, config, env, timeout):
        seen.before.append((name, project, config, env, timeout))
        return list(seen.hooks)

    def after(name, project, env, hooks, log, hooked=True):
        seen.after.append((name, project, env, hooks, log, hooked))

    monkeypatch.setattr(stage, "preflight", preflight)
    monkeypatch.setattr(stagehooks, "before", before)
    monkeypatch.setattr(stagehooks, "after", after)
    return seen


def test_a_stage_s_command_runs_in_its_folder_with_its_environment(tmp_path, quiet):
    executor = FakeExecutor()
    ctx = context(tmp_path, executor)
    spec = StageSpec("build", "make image", 42.0)
    space = workspace(tmp_path, {"build": spec})
    result = stage.run_stage(ctx, space, ENTRY, "build", space.project, None, {})
    log = space.work / "logs" / "build.log"
    assert result == StageResult("pass", logPointer=str(log))
    assert executor.calls == [
        dict(
            command="make image",
            cwd=space.project,
            env=space.env,
            timeout=42.0,
            log=log,
            protected=False,
        )
    ]
    assert quiet.preflight == [("build", ENTRY, ctx.profile, space.specs, space.env)]
    assert quiet.before == [("build", space.project, space.config, space.env, 42.0)]
    assert quiet.after == [("build", space.project, space.env, ["hook"], log, True)]
    ctx = context(tmp_path, FakeExecutor(), env={"MLCC_CI_LOG_STREAM": "grp/s"})
    result = stage.run_stage(ctx, space, ENTRY, "build", space.project, None, {})
    assert result.logPointer == "cloudwatch:grp/s"


def test_a_stage_that_cannot_run_fails_before_its_command(tmp_path, quiet):
    executor = FakeExecutor()
    ctx = context(tmp_path, executor)
    spec = StageSpec("build", None, 1.0, problem=f"buildStrategy has no build {SECRET}")
    space = workspace(tmp_path, {"build": spec})
    result = stage.run_stage(ctx, space, ENTRY, "build", space.project, None, {})
    assert result == StageResult("fail", errorSummary="buildStrategy has no build ***")
    assert quiet.preflight == [] and executor.calls == []
    quiet.problem = "no docker"
    space = workspace(tmp_path, {})
    result = stage.run_stage(ctx, space, ENTRY, "deploy_test", space.project, None, {})
    assert result == StageResult("fail", errorSummary="no docker")
    (name, _, _, specs, _), *_ = quiet.preflight
    assert name == "deploy_test" and specs == {}
    assert executor.calls == []


def test_an_injected_crash_is_an_error_inside_the_harness_naming_its_stage(tmp_path, quiet):
    executor = FakeExecutor()
    space = workspace(tmp_path, {"build": StageSpec("build", "make", 5.0)})
    with pytest.raises(RuntimeError) as raised:
        stage.run_stage(
            context(tmp_path, executor), space, ENTRY, "build", space.project, "crash", {}
        )
    assert str(raised.value) == "injected crash in build" and executor.calls == []


def test_a_stage_without_a_command_passes_without_a_log(tmp_path, quiet):
    executor = FakeExecutor()
    space = workspace(tmp_path, {"build": StageSpec("build", None, 5.0)})
    result = stage.run_stage(
        context(tmp_path, executor), space, ENTRY, "build", space.project, None, {}
    )
    assert result == StageResult("pass") and executor.calls == []


def test_a_stage_with_no_spec_runs_nothing_for_600_seconds(tmp_path, quiet):
    quiet.problem = None
    space = workspace(tmp_path, {})
    executor = FakeExecutor()
    ctx = context(tmp_path, executor)
    result = stage.run_stage(ctx, space, ENTRY, "build", space.project, "slow", {})
    log = space.work / "logs" / "build.log"
    assert result == StageResult("pass", logPointer=str(log))
    (call,) = executor.calls
    assert (call["command"], call["timeout"], call["log"]) == ("sleep 3; true", 600.0, log)


def test_an_injected_fault_stands_in_for_the_command_without_the_harness_s_checks(
    tmp_path, quiet, monkeypatch
):
    executor = FakeExecutor(StageRun(1, 0.1, "mlcc-ci: injected failure"))
    ctx = context(tmp_path, executor, profile(endpoint_checks=True))
    monkeypatch.setattr(endpoint, "deployed", lambda project, env: pytest.fail("not asked"))
    space = workspace(tmp_path, {"validate": StageSpec("validate", None, 5.0)})
    result = stage.run_stage(ctx, space, ENTRY, "validate", space.project, "fail", {})
    assert executor.calls[0]["command"] == FAULT_COMMANDS["fail"]
    assert quiet.before == []  # no hooks for a fault
    assert quiet.after[0][3:] == ([], space.work / "logs" / "validate.log", False)
    assert result.status == "fail"
    assert result.errorSummary == "exit code 1\nmlcc-ci: injected failure"
    executor = FakeExecutor(StageRun(1, 0.1, "gone"))
    ctx = context(tmp_path, executor, profile(endpoint_checks=True))
    space = workspace(tmp_path, {"teardown": StageSpec("teardown", "./do/clean", 5.0)})
    result = stage.run_stage(ctx, space, ENTRY, "teardown", space.project, "fail", {})
    assert result.errorSummary == "exit code 1\ngone"  # not swept up: the fault stood in
    assert executor.calls[0]["protected"] is True


def test_generate_fails_on_what_the_generator_said(tmp_path, quiet, monkeypatch):
    asked = []

    def problem(project, output, returncode):
        asked.append((project, output, returncode))
        return f"the generator said: {SECRET}"

    monkeypatch.setattr(generator, "generation_problem", problem)
    executor = FakeExecutor(StageRun(None, 0.1, ""), said="generated\n")
    ctx = context(tmp_path, executor)
    space = workspace(tmp_path, {"generate": StageSpec("generate", "yo ml", 5.0)})
    result = stage.run_stage(ctx, space, ENTRY, "generate", space.work, None, {})
    log = space.work / "logs" / "generate.log"
    assert result == StageResult(
        "fail", logPointer=str(log), errorSummary="the generator said: ***"
    )
    assert asked == [(space.project, "generated\n", 0)]  # no return code: 0
    asked.clear()
    for outcome in (StageRun(None, 5, "", timed_out=True), StageRun(None, 5, "", cancelled=True)):
        result = stage.run_stage(
            context(tmp_path, FakeExecutor(outcome)), space, ENTRY, "generate", space.work, None, {}
        )
        assert result.status == "fail" and "generator said" not in result.errorSummary
    assert asked == []

    def generate(fault: str | None) -> StageResult:
        executor = FakeExecutor(StageRun(0, 1, ""))
        return stage.run_stage(
            context(tmp_path, executor), space, ENTRY, "generate", space.work, fault, {}
        )

    result = generate("slow")
    assert result.status == "fail" and len(asked) == 1  # slow runs the stage as itself
    monkeypatch.setattr(generator, "generation_problem", lambda project, output, code: None)
    result = generate(None)
    assert result == StageResult("pass", logPointer=str(log))


@pytest.fixture
def aws(monkeypatch):
    """The endpoint checks, recorded: where the project deployed, the sweep, the reasons,
    the smoke test."""
    seen = SimpleNamespace(swept=[], reasons=[], smoked=[], smoke=None)
    where = endpoint.Deployed("ep-1", (), "eu-west-1")
    seen.deployed = []

    def deployed(project, env):
        seen.deployed.append((project, env))
        return where

    monkeypatch.setattr(endpoint, "deployed", deployed)

    def swept_up(deployed, env, outcome, spec, pointer, secrets, stop):
        seen.swept.append((deployed, env, outcome, spec, pointer, secrets, stop))
        return StageResult("pass", note="swept")

    def with_reasons(project, env, summary, secrets):
        seen.reasons.append((project, env, summary, secrets))
        return "reasons; " + summary

    def smoke_test(project, entry, env):
        seen.smoked.append((project, entry, env))
        return seen.smoke

    monkeypatch.setattr(stage, "swept_up", swept_up)
    monkeypatch.setattr(stage, "with_reasons", with_reasons)
    monkeypatch.setattr(stage, "smoke_test", smoke_test)
    seen.where = where
    return seen


def test_teardown_sweeps_up_what_the_project_deployed(tmp_path, quiet, aws):
    ctx = context(tmp_path, FakeExecutor(StageRun(0, 1, "")), profile(endpoint_checks=True))
    spec = StageSpec("teardown", "./do/clean all", 5.0)
    space = workspace(tmp_path, {"teardown": spec})
    result = stage.run_stage(ctx, space, ENTRY, "teardown", space.project, None, {})
    assert result == StageResult("pass", note="swept")
    ((where, env, outcome, given, pointer, secrets, stop),) = aws.swept
    assert (where, env, outcome, given) == (aws.where, space.env, StageRun(0, 1, ""), spec)
    assert pointer == str(space.work / "logs" / "teardown.log")
    assert secrets == [SECRET] and stop is ctx.stop
    assert aws.deployed == [(space.project, space.env)]  # before do/clean forgets it
    # a third interrupt: teardown abandoned, nothing swept
    ctx = context(
        tmp_path, FakeExecutor(StageRun(None, 1, "", cancelled=True)), profile(endpoint_checks=True)
    )
    ctx.stop.abandoned.set()
    result = stage.run_stage(ctx, space, ENTRY, "teardown", space.project, None, {})
    assert len(aws.swept) == 1 and result.errorSummary.startswith("abandoned after a third")
    # no endpoint checks: nothing swept
    ctx = context(tmp_path, FakeExecutor(StageRun(0, 1, "")), profile())
    assert stage.run_stage(ctx, space, ENTRY, "teardown", space.project, None, {}).status == "pass"
    assert len(aws.swept) == 1


def test_a_failed_deploy_is_led_by_sagemaker_s_reasons_when_endpoints_are_checked(
    tmp_path, quiet, aws
):
    spec = StageSpec("deploy_test", "./do/deploy", 5.0)
    space = workspace(tmp_path, {"deploy_test": spec})
    failed = StageRun(1, 1, "deploy broke")
    ctx = context(tmp_path, FakeExecutor(failed), profile(endpoint_checks=True))
    result = stage.run_stage(ctx, space, ENTRY, "deploy_test", space.project, None, {})
    log = space.work / "logs" / "deploy_test.log"
    assert result == StageResult(
        "fail", logPointer=str(log), errorSummary="reasons; exit code 1\ndeploy broke"
    )
    assert aws.reasons == [(space.project, space.env, "exit code 1\ndeploy broke", [SECRET])]
    assert aws.smoked == []
    ctx = context(tmp_path, FakeExecutor(failed), profile())
    result = stage.run_stage(ctx, space, ENTRY, "deploy_test", space.project, None, {})
    assert result.errorSummary == "exit code 1\ndeploy broke" and len(aws.reasons) == 1
    build = StageSpec("build", "make", 5.0)
    ctx = context(tmp_path, FakeExecutor(failed), profile(endpoint_checks=True))
    space = workspace(tmp_path, {"build": build})
    result = stage.run_stage(ctx, space, ENTRY, "build", space.project, None, {})
    assert result.errorSummary == "exit code 1\ndeploy broke" and len(aws.reasons) == 1


def test_deploy_test_passes_only_when_the_smoke_test_does(tmp_path, quiet, aws):
    spec = StageSpec("deploy_test", "./do/deploy", 5.0)
    space = workspace(tmp_path, {"deploy_test": spec})
    log = space.work / "logs" / "deploy_test.log"
    ctx = context(tmp_path, FakeExecutor(), profile(endpoint_checks=True))
    assert stage.run_stage(ctx, space, ENTRY, "deploy_test", space.project, None, {}) == (
        StageResult("pass", logPointer=str(log))
    )
    assert aws.smoked == [(space.project, ENTRY, space.env)]
    aws.smoke = f"answer lacks $.x {SECRET}"
    result = stage.run_stage(ctx, space, ENTRY, "deploy_test", space.project, None, {})
    assert result == StageResult("fail", logPointer=str(log), errorSummary="answer lacks $.x ***")
    ctx = context(tmp_path, FakeExecutor(), profile())
    assert stage.run_stage(ctx, space, ENTRY, "deploy_test", space.project, None, {}).status == (
        "pass"
    )
    ctx = context(tmp_path, FakeExecutor(), profile(endpoint_checks=True))
    result = stage.run_stage(ctx, space, ENTRY, "deploy_test", space.project, "slow", {})
    assert result.status == "fail"  # slow runs the stage as itself: checked


@pytest.fixture
def proven_by(monkeypatch):
    seen = SimpleNamespace(params={"generatorVersion": "1.2.3"}, image=None, asked=[])
    monkeypatch.setattr(generator, "generation_params", lambda project: seen.params)

    def base_image(dockerfile):
        seen.asked.append(dockerfile)
        return seen.image

    monkeypatch.setattr(projectcheck, "base_image", base_image)
    monkeypatch.setattr(registry, "recorded", lambda image, env: f"{image}@sha256:abc|{env['K']}")
    return seen


def test_register_proves_the_generator_and_the_base_image(tmp_path, quiet, proven_by):
    space = workspace(tmp_path, {"register": StageSpec("register", None, 5.0)})
    ctx = context(tmp_path, env={"K": "v"})
    proven = {}
    assert stage.run_stage(ctx, space, ENTRY, "register", space.project, None, proven) == (
        StageResult("pass")
    )
    assert proven == {"generatorVersion": "1.2.3"}
    assert proven_by.asked == [space.project / "Dockerfile"]
    proven_by.image = "python:3.12"
    proven_by.params = {"generatorVersion": f"9.9.9-{SECRET}" + "x" * 200}
    stage._register(space.project, proven, {"K": "v"})
    assert proven["image"] == "python:3.12@sha256:abc|v"
    assert len(proven["generatorVersion"]) == 100 and proven["generatorVersion"].startswith(
        "9.9.9-"
    )


def test_register_fails_when_it_cannot_tell_the_generator(tmp_path, quiet, proven_by):
    space = workspace(tmp_path, {"register": StageSpec("register", "true", 5.0)})
    note = (
        "the project has no .mlcc-generation-params.json naming a generatorVersion: "
        "cannot tell which generator wrote it"
    )
    for params in (None, {}, {"generatorVersion": ""}):
        proven_by.params = params
        proven = {}
        result = stage.run_stage(
            context(tmp_path, env={"K": "v"}), space, ENTRY, "register", space.project, None, proven
        )
        assert result == StageResult("fail", errorSummary=note) and proven == {}


# -- validate: the harness's checks, then the project's own do/validate ------------------------


@pytest.fixture
def checks(monkeypatch):
    seen = SimpleNamespace(refused=None, problems=[], predicted=[], asked=[], prepared=[])

    def refused_before_build(checks_, deploys, entry, env):
        seen.asked.append((checks_, deploys, entry, env))
        return seen.refused

    monkeypatch.setattr(modeltoken, "refused_before_build", refused_before_build)
    monkeypatch.setattr(projectcheck, "check_project", lambda project, config: seen.problems)
    monkeypatch.setattr(placement, "predict", lambda project: seen.predicted)

    def prepare(root, env, home):
        seen.prepared.append((root, env, home))
        return {"PREPARED": "1"}

    monkeypatch.setattr(validate_env, "prepare", prepare)
    return seen


def _validate(tmp_path, executor=None, prof=None, with_script=True, **kw):
    ctx = context(tmp_path, executor or FakeExecutor(), prof or profile(), **kw)
    space = workspace(tmp_path, {"validate": StageSpec("validate", None, 33.0)})
    if with_script:
        (space.project / "do").mkdir(exist_ok=True)
        (space.project / "do" / "validate").write_text("#!/bin/sh\n")
    return ctx, space, stage.run_stage(ctx, space, ENTRY, "validate", space.project, None, {})


def test_validate_runs_the_project_s_own_do_validate(tmp_path, quiet, checks):
    executor = FakeExecutor()
    _ctx, space, result = _validate(tmp_path, executor, profile(checks={"validate": ["x"]}))
    log = space.work / "logs" / "validate.log"
    assert result == StageResult("pass", logPointer=str(log))
    assert checks.asked == [({"validate": ["x"]}, True, ENTRY.data, space.env)]
    assert checks.prepared == [
        (generator.home(space.env) / "validate-env", space.env, space.work / "validate-home")
    ]
    assert executor.calls == [
        dict(
            command="./do/validate",
            cwd=space.project,
            env={"PREPARED": "1"},
            timeout=33.0,
            log=log,
            protected=False,
        )
    ]
    assert quiet.before == []  # validate runs no stage command of its own
    _validate(tmp_path, FakeExecutor(), profile(only=("validate",)))
    assert checks.asked[-1][1] is False  # a profile that never deploys
    _validate(tmp_path, FakeExecutor(), profile(only=("validate", "deploy_test")))
    assert checks.asked[-1][1] is True


def test_validate_fails_on_the_harness_s_own_checks_first(tmp_path, quiet, checks):
    executor = FakeExecutor()
    checks.refused = f"needs a model token {SECRET}"
    result = _validate(tmp_path, executor)[2]
    assert result == StageResult("fail", errorSummary="needs a model token ***")
    checks.refused = None
    checks.problems = ["no Dockerfile", "no do/build"]
    result = _validate(tmp_path, executor)[2]
    assert result == StageResult("fail", errorSummary="no Dockerfile; no do/build")
    assert executor.calls == []


def test_validate_without_a_do_validate_or_its_environment(tmp_path, quiet, checks, monkeypatch):
    executor = FakeExecutor()
    result = _validate(tmp_path, executor, with_script=False)[2]
    assert result == StageResult("pass", note="static checks only: the project has no do/validate")
    for error in (OSError("read-only"), ImportError("no venv"), ValueError(f"bad {SECRET}")):

        def broken(root, env, home, error=error):
            raise error

        monkeypatch.setattr(validate_env, "prepare", broken)
        result = _validate(tmp_path, executor)[2]
        assert result.status == "pass" and result.note == (
            f"do/validate not run: could not prepare its environment ({str(error).replace(SECRET, '***')})"
        )
    assert executor.calls == []


def test_what_do_validate_s_exit_code_means(tmp_path, quiet, checks):
    said = "\x1b[32mok\x1b[0m line\n\n  ❌ no model id  \n⚠️ old base image\nlast words\n"
    log = str(tmp_path / "work" / "cfg-1-run-7" / "logs" / "validate.log")
    result = _validate(tmp_path, FakeExecutor(StageRun(2, 1, ""), said=said))[2]
    assert result == StageResult(
        "pass",
        logPointer=log,
        note="do/validate could not run: ❌ no model id; ⚠️ old base image",
    )
    said = "a\nb\n\x1b[1mc\x1b[0m\n"
    result = _validate(tmp_path, FakeExecutor(StageRun(2, 1, ""), said=said))[2]
    assert result.note == "do/validate could not run: c"  # no ❌ or ⚠️: its last line
    result = _validate(tmp_path, FakeExecutor(StageRun(2, 1, ""), said=""))[2]
    assert result.note == "do/validate could not run: no reason given"
    result = _validate(
        tmp_path, FakeExecutor(StageRun(1, 1, ""), said="checking\n❌ no model id\n")
    )[2]
    assert result == StageResult(
        "fail",
        logPointer=log,
        errorSummary=validate_env.failure_note(["checking", "❌ no model id"]),
    )
    assert result.errorSummary
    result = _validate(tmp_path, FakeExecutor(StageRun(None, 1, "slow", timed_out=True)))[2]
    assert result == StageResult(
        "fail",
        logPointer=log,
        errorSummary="timed out after 33s; its process group was killed\nslow",
    )
    stopped = FakeExecutor(StageRun(None, 1, "", cancelled=True))
    ctx, space, _ = _validate(tmp_path, FakeExecutor())
    ctx.stop.reason = "SIGINT"
    result = stage._project_validate(
        replace(ctx, executor=stopped), space, StageSpec("validate", None, 33.0)
    )
    assert result.errorSummary == "interrupted by SIGINT; its process group was killed"
    result = _validate(tmp_path, FakeExecutor(StageRun(0, 1, "")), env={"MLCC_CI_LOG_STREAM": "s"})[
        2
    ]
    assert result.logPointer == "cloudwatch:s"


def test_validate_says_what_sagemaker_cannot_place(tmp_path, quiet, checks):
    checks.predicted = ["ic-1 needs 2 GPUs", "ic-2 needs 80 GiB"]
    said = "predicted to fail at deploy_test: ic-1 needs 2 GPUs; ic-2 needs 80 GiB"
    ctx, space, result = _validate(tmp_path, FakeExecutor(StageRun(0, 1, "")))
    log = space.work / "logs" / "validate.log"
    assert result == StageResult("pass", logPointer=str(log), note=said)
    assert log.read_text().endswith(f"[mlcc-ci] {said}\n")
    ctx, space, result = _validate(
        tmp_path, FakeExecutor(StageRun(0, 1, "")), profile(only=("generate", "validate"))
    )
    assert result == StageResult("fail", logPointer=str(log), errorSummary=said)
    deploys = profile(only=("generate", "validate", "deploy_test"))
    result = _validate(tmp_path, FakeExecutor(StageRun(0, 1, "")), deploys)[2]
    assert result == StageResult("pass", logPointer=str(log), note=said)
    # a note of its own is kept before the prediction; a failure stays as it was
    ctx = context(tmp_path)
    result = stage._predicted(
        ctx, space.project, StageResult("pass", note="static checks only"), log
    )
    assert result.note == f"static checks only; {said}" and result.logPointer == str(log)
    result = stage._predicted(
        ctx, space.project, StageResult("pass", logPointer="cloudwatch:x"), log
    )
    assert result.logPointer == "cloudwatch:x"
    failed = StageResult("fail", errorSummary="exit code 3")
    assert stage._predicted(ctx, space.project, failed, log) is failed
    checks.predicted = []
    fine = StageResult("pass", note="n")
    assert stage._predicted(ctx, space.project, fine, log) is fine


# -- attempt: the stages in order, teardown always, the verdict -------------------------------


@pytest.fixture
def staged(tmp_path, monkeypatch):
    """attempt() with prepare, settle and run_stage recorded: each stage passes unless
    `results` says otherwise."""
    seen = SimpleNamespace(results={}, calls=[], settled=[], errors={}, space=None)
    seen.space = workspace(tmp_path)

    def prepare(ctx, record, entry, number, notes):
        seen.prepared = (record, entry, number, notes)
        return seen.space

    def settle(ctx, space, result):
        seen.settled.append(result)
        return replace(result, note="settled")

    def run_stage(ctx, space, entry, name, cwd, fault, proven):
        seen.calls.append((name, cwd, fault))
        if name in seen.errors:
            raise seen.errors[name]
        if name == "register":
            proven.update(generatorVersion="1.0.0", image="python:3.12@sha256:1")
        return seen.results.get(name, StageResult("pass", 1.0))

    monkeypatch.setattr(attempt, "prepare", prepare)
    monkeypatch.setattr(attempt, "settle", settle)
    monkeypatch.setattr(attempt, "run_stage", run_stage)
    return seen


def _attempt(tmp_path, number=1, prof=None, **options):
    ctx = context(tmp_path, prof=prof or load_profile(CATALOG, "default"), **options)
    claim = Claim(running())
    notes = ["earlier"]
    report, found = attempt.attempt(ctx, claim, ENTRY, number, notes)
    return ctx, claim, report, found


def test_an_attempt_runs_every_stage_then_teardown(tmp_path, staged):
    ctx, claim, report, found = _attempt(tmp_path, number=2)
    space = staged.space
    assert staged.calls == [
        ("generate", space.work, None),
        ("validate", space.project, None),
        ("build", space.project, None),
        ("deploy_test", space.project, None),
        ("register", space.project, None),
        ("teardown", space.project, None),
    ]
    assert staged.prepared[2] == 2 and staged.prepared[3] == ["earlier"]
    assert [r.status for r in staged.settled] == ["pass"]  # generate's result, settled
    assert report.outcome.stageResults["generate"].note == "settled"
    assert report.status == "pass" and found is None
    outcome = report.outcome
    assert outcome.failure is None and outcome.errorMessage == "" and outcome.attempt == 2
    assert outcome.finishedAt == "2026-03-04T10:00:00.250Z"
    assert outcome.profile == "default"
    assert outcome.generatorVersion == "1.0.0" and outcome.provenImage == "python:3.12@sha256:1"
    assert report.record is claim.record and report.work_dir == space.work
    assert report.notes == ["earlier"]
    assert outcome.estimatedCost == estimate(
        ctx.profile.prices,
        space.config,
        outcome.stageResults,
        profile="default",
        run_seconds=outcome.durationSeconds,
        in_executor=False,
    )
    assert outcome.durationSeconds >= 0
    # the store was told of each stage as it began
    stages = [r.currentStage for r, _, _ in ctx.store.replaced]
    assert stages == ["generate", "validate", "build", "deploy_test", "register", "teardown"]


def test_an_attempt_s_cost_in_the_executor_counts_the_build_itself(tmp_path, staged, monkeypatch):
    priced = json.loads(CATALOG.get("http-flask").config_json)
    staged.space = replace(staged.space, config=priced)
    # each reading of the clock 20 s after the last: the attempt's start, each stage's start
    # and end, the attempt's end
    monkeypatch.setattr(
        attempt, "time", SimpleNamespace(perf_counter=itertools.count(0, 20).__next__)
    )
    ctx, _, report, _ = _attempt(tmp_path, env={"CODEBUILD_BUILD_ID": "b:1"})
    assert report.outcome.durationSeconds == 13 * 20
    assert "5 min executor" in report.outcome.estimatedCost.basis  # 260 s, rounded up
    outcome = report.outcome
    inside = estimate(
        ctx.profile.prices,
        staged.space.config,
        outcome.stageResults,
        profile="default",
        run_seconds=outcome.durationSeconds,
        in_executor=True,
    )
    assert outcome.estimatedCost == inside


def test_a_profile_that_runs_nothing_in_aws_costs_nothing(tmp_path, staged):
    priced = json.loads(CATALOG.get("http-flask").config_json)
    staged.space = replace(staged.space, config=priced)
    _, _, report, _ = _attempt(tmp_path, prof=load_profile(CATALOG, "example"))
    assert report.outcome.estimatedCost.usd == 0.0
    assert report.outcome.estimatedCost.basis == "profile example runs nothing in AWS"


def test_a_stage_shown_on_a_broken_display_is_a_note_on_the_attempt(tmp_path, staged):
    def broken(event):
        raise OSError("terminal gone")

    _, _, report, _ = _attempt(tmp_path, prof=profile(only=("generate",)), progress=broken)
    assert report.notes == ["earlier", "progress could not be shown: OSError: terminal gone"]
    assert report.status == "pass"


def test_a_profile_may_run_teardown_alone_after_generate(tmp_path, staged):
    _, _, report, _ = _attempt(tmp_path, prof=profile(only=("generate", "teardown")))
    assert [c[0] for c in staged.calls] == ["generate", "teardown"]
    assert report.outcome.stageResults["teardown"].status == "pass"
    assert report.outcome.stageResults["build"] == StageResult("skip", note="not in unit")


def test_the_first_failure_skips_the_stages_after_it_but_not_teardown(tmp_path, staged):
    staged.results["build"] = StageResult("fail", 2.0, errorSummary="no space left\nmore")
    staged.results["register"] = StageResult("fail")  # never reached
    _ctx, _claim, report, found = _attempt(tmp_path, rules=())
    assert [c[0] for c in staged.calls] == ["generate", "validate", "build", "teardown"]
    results = report.outcome.stageResults
    assert results["deploy_test"] == StageResult("skip")
    assert results["register"] == StageResult("skip")
    assert report.status == "fail-build"
    assert report.outcome.errorMessage == "build failed: no space left"
    assert report.outcome.failure == Failure(UNCLASSIFIED, "build", "", "")
    assert found is not None and found.cls == UNCLASSIFIED


def test_a_stage_and_teardown_both_failing_is_the_stage_s_failure(tmp_path, staged):
    staged.results["deploy_test"] = StageResult("fail", errorSummary="endpoint failed")
    staged.results["teardown"] = StageResult("fail", errorSummary="endpoint still up")
    _, _, report, _ = _attempt(tmp_path, rules=())
    assert report.status == "fail-deploy_test"
    assert report.outcome.errorMessage == "deploy_test failed: endpoint failed"
    assert report.outcome.failure.stage == "deploy_test"
    assert report.outcome.stageResults["teardown"].status == "fail"


def test_a_failure_with_no_output_and_one_in_teardown_alone(tmp_path, staged):
    staged.results["teardown"] = StageResult("fail", errorSummary="   ")
    _, _, report, _ = _attempt(tmp_path, rules=())
    assert report.status == "fail-teardown"
    assert report.outcome.errorMessage == "teardown failed: no error output"


def test_a_generated_project_that_failed_is_not_settled(tmp_path, staged):
    staged.results["generate"] = StageResult("fail", errorSummary="npm failed")
    _, _, report, _ = _attempt(tmp_path, rules=())
    assert staged.settled == []
    assert [c[0] for c in staged.calls] == ["generate", "teardown"]
    assert report.outcome.stageResults["validate"] == StageResult("skip")


def test_a_harness_bug_in_a_stage_is_an_error_and_teardown_still_runs(tmp_path, staged):
    staged.errors["build"] = KeyError(f"oops {SECRET}")
    _ctx, _, report, found = _attempt(tmp_path)
    assert [c[0] for c in staged.calls][-1] == "teardown"
    failed = report.outcome.stageResults["build"]
    assert failed.status == "fail"
    assert failed.errorSummary == "internal error in the harness: KeyError: 'oops ***'"
    assert report.status == ERROR and report.outcome.failure.cls == HARNESS
    assert found is not None and found.cls == HARNESS
    assert report.outcome.failure.rule == found.rule


def test_a_refused_name_fails_generate_without_running_it(tmp_path, staged):
    staged.space = replace(staged.space, refused=f"name too long {SECRET}")
    _, _, report, _ = _attempt(tmp_path, rules=())
    assert staged.calls[0][0] == "teardown"
    assert report.outcome.stageResults["generate"] == StageResult(
        "fail", errorSummary="name too long ***"
    )


def test_what_a_profile_leaves_out_is_skipped_with_its_reason(tmp_path, staged):
    prof = profile(only=("generate", "validate"), skip_reason="no AWS in unit")
    _, _, report, _ = _attempt(tmp_path, prof=prof)
    assert [c[0] for c in staged.calls] == ["generate", "validate"]
    results = report.outcome.stageResults
    for name in ("build", "deploy_test", "register", "teardown"):
        assert results[name] == StageResult("skip", note="no AWS in unit"), name
    assert report.status == "pass"
    assert report.outcome.profile == "unit"


def test_nothing_to_tear_down_without_a_project(tmp_path, staged):
    staged.space.project.rmdir()
    staged.results["generate"] = StageResult("fail")
    _, _, report, _ = _attempt(tmp_path, rules=())
    assert report.outcome.stageResults["teardown"] == StageResult(
        "skip", errorSummary="nothing to tear down: no project was generated"
    )


def test_an_interrupted_attempt_starts_no_stage_and_tears_down(tmp_path, staged):
    ctx = context(tmp_path, prof=load_profile(CATALOG, "default"), rules=())
    ctx.stop.cancel.set()
    report, found = attempt.attempt(ctx, Claim(running()), ENTRY, 1, [])
    assert [c[0] for c in staged.calls] == ["teardown"]
    assert report.outcome.stageResults["generate"] == StageResult(
        "fail", errorSummary="interrupted by SIGTERM before generate began"
    )
    assert report.outcome.stageResults["validate"] == StageResult("skip")
    assert report.status == "fail-generate"  # SIGTERM: the executor stopped it
    ctx = context(tmp_path, prof=load_profile(CATALOG, "default"), rules=())
    ctx.stop.cancel.set()
    ctx.stop.reason = "SIGINT"
    report, found = attempt.attempt(ctx, Claim(running()), ENTRY, 1, [])
    assert report.status == INTERRUPTED and report.outcome.failure is None and found is None
    assert report.outcome.errorMessage == (
        "generate failed: interrupted by SIGINT before generate began"
    )


def test_an_injected_fault_reaches_its_stage_and_attempt(tmp_path, staged):
    env = {"MLCC_CI_FAULT": "http-flask:build:fail:1,*:deploy_test:slow"}
    _attempt(tmp_path, number=1, env=env)
    assert ("build", staged.space.project, "fail") in staged.calls
    assert ("deploy_test", staged.space.project, "slow") in staged.calls
    staged.calls.clear()
    _attempt(tmp_path, number=2, env=env)
    assert ("build", staged.space.project, None) in staged.calls


def test_each_stage_is_shown_as_it_starts_and_ends_timed(tmp_path, staged, monkeypatch):
    ticks = iter([100.0, 200.0, 202.34567] + [300.0] * 40)
    monkeypatch.setattr(attempt, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    shown = []
    prof = profile(only=("generate",))
    ctx = context(tmp_path, prof=prof, progress=shown.append)
    report, _ = attempt.attempt(ctx, Claim(running()), ENTRY, 1, [])
    log = str(staged.space.work / "logs" / "generate.log")
    assert shown == [
        Progress("http-flask", "generate", "start"),
        Progress("http-flask", "generate", "end", "pass", 2.346, log),
    ]
    assert report.outcome.stageResults["generate"].durationSeconds == 2.346
    assert report.outcome.durationSeconds == 200.0  # from the attempt's start


def test_a_failure_is_classified_by_the_rules_from_its_log(tmp_path, staged):
    rules = load_rules()
    log = staged.space.work / "logs" / "deploy_test.log"
    log.parent.mkdir(parents=True)
    log.write_text(
        "An error occurred (CapacityError) when calling the CreateEndpoint operation: "
        f"Unable to provision requested ML compute capacity. {SECRET}\n"
    )
    staged.results["deploy_test"] = StageResult("fail", errorSummary="exit code 1")
    _ctx, _, report, found = _attempt(tmp_path, rules=rules)
    assert found is not None and found.cls == "capacity"
    failure = report.outcome.failure
    assert (failure.cls, failure.stage, failure.rule) == ("capacity", "deploy_test", found.rule)
    assert SECRET not in failure.capture
    assert report.status == "fail-deploy_test"
    # no rules given: the shipped ones, the same verdict
    _, _, again, _ = _attempt(tmp_path, rules=None)
    assert again.outcome.failure.cls == "capacity"


def test_a_failure_is_classified_by_its_summary_too_and_its_capture_masked(tmp_path, staged):
    team = tmp_path / "team"
    team.mkdir()
    (team / "_failures.yaml").write_text(
        "rules:\n"
        "  - name: no-capacity\n"
        "    class: capacity\n"
        "    stages: [deploy_test]\n"
        "    pattern: 'no capacity for (\\S+)'\n"
        "    retry: {count: 1, backoffSeconds: 0}\n"
        "    hint: 'retry'\n"
    )
    rules = load_rules(team)
    staged.results["deploy_test"] = StageResult(
        "fail", errorSummary=f"exit code 1\nno capacity for {SECRET}"
    )
    _, _, report, found = _attempt(tmp_path, rules=rules)
    assert found is not None and found.rule == "no-capacity" and found.capture == SECRET
    assert report.outcome.failure == Failure("capacity", "deploy_test", "no-capacity", "***")


def test_a_rule_of_another_stage_does_not_classify_a_failure(tmp_path, staged):
    team = tmp_path / "team"
    team.mkdir()
    (team / "_failures.yaml").write_text(
        "rules:\n"
        "  - name: deploy-only\n"
        "    class: capacity\n"
        "    stages: [deploy_test]\n"
        "    pattern: 'no capacity for (\\S+)'\n"
        "    retry: {count: 1, backoffSeconds: 0}\n"
        "    hint: 'retry'\n"
    )
    staged.results["build"] = StageResult("fail", errorSummary="no capacity for gpus")
    _, _, report, found = _attempt(tmp_path, rules=load_rules(team))
    assert report.outcome.failure.stage == "build"
    assert report.outcome.failure.rule != "deploy-only" and found.rule != "deploy-only"


def test_rules_that_cannot_be_read_leave_the_failure_unclassified(tmp_path, staged, monkeypatch):
    def broken(folder=None):
        raise CatalogError(["two rules named x"])

    monkeypatch.setattr(attempt, "load_rules", broken)
    staged.results["build"] = StageResult("fail", errorSummary="exit code 2")
    _, _, report, found = _attempt(tmp_path, rules=None)
    assert found is None
    assert report.outcome.failure == Failure(UNCLASSIFIED, "build")
    assert report.notes == [
        "earlier",
        "failure not classified: the failure rules have problems: two rules named x",
    ]


# -- runner: the whole of one run -----------------------------------------------------------


class Told:
    def __init__(self):
        self.sent = []

    def __call__(self, subject, message):
        self.sent.append(subject)


def _runner(tmp_path, **options):
    options.setdefault("env", {})
    options.setdefault("now", lambda: NOW)
    store = FakeStore()
    made = runner.Runner(store, profile(), work_root=tmp_path / "work", **options)
    return made, store


def _report(record, status="fail-build", **kw):
    from mlcc_ci.lifecycle.context import RunReport
    from mlcc_ci.models import Outcome

    done = Outcome(status, "2026-03-04T10:00:00.000Z", 5.0, {"build": StageResult("fail")}, **kw)
    return RunReport(record, done, Path("."))


def test_a_run_writes_its_result_then_tells_the_owners(tmp_path, monkeypatch):
    told, shown = Told(), []
    made, store = _runner(tmp_path, notify=told, progress=shown.append)
    record = running()
    monkeypatch.setattr(runner, "attempts", lambda ctx, claim, entry: _report(claim.record))
    monkeypatch.setattr(quarantine, "in_force", lambda entry, now: None)
    report = made.run(record, ENTRY)
    assert report.first_started == STARTED and report.quarantine is None
    assert report.record.testStatus == "fail-build" and len(store.replaced) == 1
    assert told.sent == ["mlcc-ci: cfg-1 regressed (fail-build)"]
    assert shown == [
        Progress("http-flask", "update", "start"),
        Progress("http-flask", "update", "end", "fail-build"),
    ]


def test_a_run_shown_on_a_broken_display_is_a_note_on_it(tmp_path, monkeypatch):
    shown = []

    def broken(event):
        shown.append(event.state)
        raise OSError("terminal gone")

    made, _ = _runner(tmp_path, progress=broken)
    monkeypatch.setattr(runner, "attempts", lambda ctx, claim, entry: _report(claim.record))
    monkeypatch.setattr(quarantine, "in_force", lambda entry, now: None)
    report = made.run(running(), ENTRY)
    assert shown == ["start", "end"] and report.status == "fail-build"
    assert report.notes == ["progress could not be shown: OSError: terminal gone"]


def test_a_quarantined_run_says_so_and_tells_no_one(tmp_path, monkeypatch):
    told = Told()
    made, _ = _runner(tmp_path, notify=told)
    held = []
    monkeypatch.setattr(runner, "attempts", lambda ctx, claim, entry: _report(claim.record))

    def in_force(entry, now):
        held.append((entry, now))
        return SimpleNamespace(text="known bad until May")

    monkeypatch.setattr(quarantine, "in_force", in_force)
    report = made.run(running(), ENTRY)
    assert report.quarantine == "known bad until May" and told.sent == []
    assert held == [(ENTRY, NOW)]


def test_a_blocked_run_is_labelled_so(tmp_path, monkeypatch):
    shown = []
    made, _ = _runner(tmp_path, progress=shown.append, rules=())
    failure = Failure("capacity", "deploy_test", "r", "c")
    monkeypatch.setattr(
        runner,
        "attempts",
        lambda ctx, claim, entry: _report(claim.record, "fail-deploy_test", failure=failure),
    )
    made.run(running(), ENTRY)
    assert shown[-1] == Progress("http-flask", "update", "end", "blocked (capacity)")


def test_a_result_the_store_refuses_tells_no_one(tmp_path, monkeypatch):
    from mlcc_ci.errors import StoreError

    told = Told()
    made, store = _runner(tmp_path, notify=told)

    def refuse(new, expect_version, expect_run_id):
        raise StoreError("disk full")

    monkeypatch.setattr(store, "replace", refuse)
    monkeypatch.setattr(
        runner,
        "attempts",
        lambda ctx, claim, entry: replace(_report(claim.record), work_dir=tmp_path),
    )
    report = made.run(running(), ENTRY)
    assert report.stored is False and told.sent == []


def test_a_harness_that_breaks_records_an_error_not_a_running_claim(tmp_path, monkeypatch):
    made, store = _runner(tmp_path)

    def broken(ctx, claim, entry):
        raise ValueError("x" * 600)

    monkeypatch.setattr(runner, "attempts", broken)
    record = running()
    report = made.run(record, ENTRY)
    message = ("internal error in the harness: ValueError: " + "x" * 600)[:500]
    assert len(message) == 500
    assert report.status == ERROR and report.record.testStatus == "pass"  # as it was
    assert report.notes == [message] and report.work_dir == tmp_path / "work"
    outcome = report.outcome
    assert outcome.errorMessage == message
    assert outcome.finishedAt == "2026-03-04T10:00:00.250Z"
    assert outcome.durationSeconds == 0.0 and outcome.profile == "unit"
    assert outcome.stageResults == {"generate": StageResult("fail", errorSummary=message)}
    assert outcome.failure == Failure(HARNESS, "generate", "harness-internal-error", "ValueError")
    (written, version, run_id), *_ = store.replaced
    assert (version, run_id) == (record.version, "run-7") and written.runId is None
    assert [r.status for r in store.appended] == [ERROR]


def test_what_the_runner_s_callers_reach(tmp_path):
    made, _ = _runner(tmp_path, env={"A": "1"})
    assert made.env == {"A": "1"} and made.profile.name == "unit"
    made.profile = profile(name="other")
    assert made.context.profile.name == "other" and made.profile.name == "other"
    shown = []
    made.progress = shown.append
    assert made.progress == shown.append and made.context.progress == shown.append
    assert made.executor is made.context.executor
    assert made.cancel is made.context.stop.cancel
    assert made.abandoned is made.context.stop.abandoned
    assert made.cancel_reason == "SIGTERM"
    made.cancel_reason = "SIGINT"
    assert made.context.stop.reason == "SIGINT" and made.cancel_reason == "SIGINT"


# -- stageenv: an attempt's folder, configuration and environment ------------------------------


def _prepared(
    tmp_path, env=None, config=None, run_id="run-7", notes=None, attempt_number=1, entry=None
):
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "r.db")
    config = config if config is not None else {"projectName": "p1", "awsRegion": "eu-west-1"}
    record = replace(running(run_id), configJson=json.dumps(config))
    ctx = context(tmp_path, store=store, env=env or {"HOME": str(tmp_path)})
    entry = entry or CATALOG.get("http-flask")
    notes = [] if notes is None else notes
    try:
        space = stageenv.prepare(ctx, record, entry, attempt_number, notes)
    finally:
        store.close()
    return ctx, record, entry, space


def test_an_attempt_s_folder_configuration_and_environment(tmp_path):
    env = {"HOME": str(tmp_path), "MLCC_CI_FAULT": "x:build:fail", "HF_TOKEN": "hf_" + "a" * 30}
    ctx, record, entry, space = _prepared(tmp_path, env, attempt_number=3)
    work = tmp_path / "work" / "cfg-1-run-7"
    assert space.work == work and space.project == work / "p1"
    assert space.config == {"projectName": "p1", "awsRegion": "eu-west-1"}
    assert json.loads((work / "config.json").read_text()) == space.config
    assert (work / "config.json").read_text().endswith("}\n")
    assert (work / "config.json").read_text().startswith('{\n  "projectName"')
    smoke = (work / "smoke-test.json").read_text()
    assert smoke == json.dumps(entry.data["smokeTest"], indent=2) + "\n"
    e = space.env
    assert e["MLCC_CONFIG_FILE"] == str(work / "config.json")
    assert e["MLCC_SMOKE_TEST"] == str(work / "smoke-test.json")
    assert e["MLCC_WORK_DIR"] == str(work) and e["MLCC_PROJECT_DIR"] == str(work / "p1")
    assert e["MLCC_CONFIG_ID"] == record.configId and e["MLCC_RUN_ID"] == "run-7"
    assert e["MLCC_PROFILE"] == "unit" and e["MLCC_ATTEMPT"] == "3"
    assert e["MLCC_PYTHON"] == sys.executable
    assert Path(e["MLCC_EXAMPLES"]).name == "examples"
    assert e["MLCC_DEPLOY_REGION"] == "eu-west-1"
    assert e["BUILD_STRATEGY"] == "" and e["MLCC_DEPLOYMENT_TARGET"] == ""
    assert "MLCC_CI_FAULT" not in e  # no stage sees the faults injected into it
    assert "HF_TOKEN" not in e  # withheld from every stage
    assert "VIRTUAL_ENV" in e  # the validate-env's
    assert "hf_" + "a" * 30 in space.secrets  # masked though withheld
    assert space.specs == ctx.profile.stage_specs(entry) and space.refused is None
    assert (work / workdirs.MARKER).read_text() == workdirs.owner_of(ctx.store) + "\n"


def test_every_stage_runs_the_generator_found_inside_the_validate_env(tmp_path, monkeypatch):
    asked = []

    class Installed:
        def stage_env(self, env):
            asked.append(dict(env))
            return {"PATH": "/gen/bin:" + env.get("PATH", ""), "NPM_CONFIG_PREFIX": "/gen"}

    def find(pin, env):
        asked.append(pin)
        return Installed()

    monkeypatch.setattr(generator, "find", find)
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin"}
    ctx, _, _, space = _prepared(tmp_path, env)
    pin, seen = asked
    assert pin == ctx.profile.generator
    assert seen["MLCC_CONFIG_ID"] == "0000000000000001" and seen["PATH"] == "/usr/bin"
    assert space.env["NPM_CONFIG_PREFIX"] == "/gen"
    venv = generator.home(space.env) / "validate-env"
    assert space.env == {
        **space.env,
        **validate_env.activation(venv, {"PATH": "/gen/bin:/usr/bin"}),
    }
    assert space.env["PATH"].endswith(":/gen/bin:/usr/bin")


def test_an_unclaimed_run_and_a_project_with_no_name(tmp_path):
    config = {"buildStrategy": "codebuild-submit", "deploymentTarget": "managed-inference"}
    _, _, _, space = _prepared(tmp_path, config=config, run_id="")
    assert space.project == space.work / "project"
    assert space.env["MLCC_RUN_ID"] == ""
    assert space.env["BUILD_STRATEGY"] == "codebuild-submit"
    assert space.env["MLCC_DEPLOYMENT_TARGET"] == "managed-inference"
    assert space.env["MLCC_DEPLOY_REGION"] == ""


def test_an_entry_without_a_smoke_test_gets_an_empty_one(tmp_path):
    shipped = CATALOG.get("http-flask")
    bare = replace(shipped, data={k: v for k, v in shipped.data.items() if k != "smokeTest"})
    _, _, _, space = _prepared(tmp_path, entry=bare)
    assert (space.work / "smoke-test.json").read_text() == "{}\n"


def test_a_renamed_run_says_so_and_a_mirror_without_a_base_image_pulls_nothing(tmp_path):
    notes = []
    env = {
        "HOME": str(tmp_path),
        "MLCC_CI_RESOURCE_PREFIX": "team",
        "MLCC_CI_DOCKER_HUB_MIRROR": "mirror.example/hub",
    }
    _, _, _, space = _prepared(tmp_path, env, config={"projectName": "p1"}, notes=notes)
    assert space.config == {"projectName": "team-p1"} and space.project.name == "team-p1"
    assert notes == ["runs as team-p1: AWS runs keep every name under team-"]


def test_a_project_folder_outside_the_work_folder_is_refused(tmp_path):
    for name in ("../../escape", "../..", ".."):
        with pytest.raises(ValueError) as raised:
            _prepared(tmp_path, config={"projectName": name})
        assert str(raised.value).startswith("the project folder ")
        assert str(raised.value).endswith(f" would be outside {(tmp_path / 'work').resolve()}")


def test_a_base_image_is_pulled_through_the_mirror(tmp_path):
    notes = []
    env = {"HOME": str(tmp_path), "MLCC_CI_DOCKER_HUB_MIRROR": "mirror.example/hub"}
    config = {"projectName": "p1", "baseImage": "python:3.12"}
    _, _, _, space = _prepared(tmp_path, env, config=config, notes=notes)
    assert space.config["baseImage"] == "mirror.example/hub/library/python:3.12"
    assert notes == ["base image python:3.12 pulled through mirror.example/hub"]
    notes = []
    config = {"projectName": "p1", "baseImage": "public.ecr.aws/x/y:1"}
    _, _, _, space = _prepared(tmp_path / "b", env, config=config, notes=notes)
    assert space.config["baseImage"] == "public.ecr.aws/x/y:1" and notes == []
    config = {"projectName": "p1", "baseImage": "python:3.12"}
    _, _, _, space = _prepared(tmp_path / "c", {"HOME": str(tmp_path)}, config=config)
    assert space.config["baseImage"] == "python:3.12"


def test_a_run_goes_under_the_stack_s_prefix(tmp_path):
    notes = []
    assert stageenv._rename({}, {"projectName": "p1"}, notes) is None and notes == []
    config = {"projectName": "p1"}
    assert stageenv._rename({"MLCC_CI_RESOURCE_PREFIX": "team"}, config, notes) is None
    assert config["projectName"] == "team-p1"
    assert notes == ["runs as team-p1: AWS runs keep every name under team-"]
    notes = []
    config = {"projectName": "team-p1"}
    assert stageenv._rename({"MLCC_CI_RESOURCE_PREFIX": "team"}, config, notes) is None
    assert notes == [] and config["projectName"] == "team-p1"
    config = {"projectName": "x" * 200}
    refused = stageenv._rename({"MLCC_CI_RESOURCE_PREFIX": "team"}, config, notes)
    assert refused and "x" * 20 in refused
    env = {"HOME": str(tmp_path), "MLCC_CI_RESOURCE_PREFIX": "team"}
    _, _, _, space = _prepared(tmp_path, env, config={"projectName": "x" * 200})
    assert space.refused and space.config["projectName"] == "x" * 200


def test_the_run_s_settings_go_into_the_generated_do_config(tmp_path, monkeypatch):
    applied = []

    def apply(project, settings, name, region=None):
        applied.append((project, settings, name, region))

    monkeypatch.setattr(projectsetup, "apply", apply)
    prof = profile(project_config={"INSTANCE_TYPE": "ml.g5.xlarge"})
    ctx = context(tmp_path, prof=prof, env={"AWS_REGION": "us-west-2"})
    space = workspace(tmp_path)
    (space.project / "do").mkdir()
    (space.project / "do" / "config").write_text('export AWS_REGION="eu-central-1"\n')
    passed = StageResult("pass", 3.0)
    assert stageenv.settle(ctx, space, passed) is passed
    assert applied == [(space.project, {"INSTANCE_TYPE": "ml.g5.xlarge"}, "p1", "eu-central-1")]

    def broken(project, settings, name, region=None):
        raise ValueError(f"no do/config {SECRET}")

    monkeypatch.setattr(projectsetup, "apply", broken)
    assert stageenv.settle(ctx, space, passed) == StageResult(
        "fail",
        3.0,
        errorSummary=f"could not write the run's settings into do/config: no do/config {SECRET}",
    )
