"""The simulated account refuses, or fails, what AWS would (issue 28, item 1): CodeBuild's
runtime-versions, queue, account limit and StopBuild of the executor's builds; Step
Functions' timeouts, retries and catchable errors. Nested builds, DynamoDB's lagging index and
the scanner under duplicate deliveries are in test_twin_deliveries.py.

Each rule cites its documentation where it is simulated (tests/twin/buildrules.py,
codebuild.py, nested.py, stepfunctions.py, dynamodb.py, loop.py)."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.twin import fixture
from tests.twin.buildrules import AccountLimitExceeded, Admission, runtime_problem
from tests.twin.codebuild import Build, CodeBuild, Image
from tests.twin.stepfunctions import StateMachine
from tests.twin.template import STACK, Template

STANDARD_7 = "aws/codebuild/standard:7.0"
SYNC_BUILD = "arn:aws:states:::codebuild:startBuild.sync"


# -- CodeBuild: the executor's builds --------------------------------------------------------


@pytest.fixture
def workspace() -> Iterator[Path]:
    """Where the builds work, as the twin modules' do (tests/twin/fixture.py)."""
    with fixture.workspace() as path:
        yield path


def _codebuild(workspace: Path, spec: dict[str, Any], image: str = STANDARD_7) -> CodeBuild:
    """A CodeBuild with one hand-written project, `tiny`, whose buildspec is `spec`."""
    assembly = workspace / "cdk.out"
    (assembly / "asset.src").mkdir(parents=True)
    (assembly / "asset.src" / "README").write_text("the source\n")
    manifest = {"files": {"src": {"source": {"path": "asset.src"}}}}
    (assembly / f"{STACK}.assets.json").write_text(json.dumps(manifest))
    project = {
        "Type": "AWS::CodeBuild::Project",
        "Properties": {
            "Name": "tiny",
            "Source": {"Type": "S3", "Location": "assets/src.zip", "BuildSpec": json.dumps(spec)},
            "Environment": {"Image": image, "EnvironmentVariables": []},
        },
    }
    template = Template({"Resources": {"Tiny": project}}, {}, assembly)
    tools = Image(workspace / "image", workspace / "wheels", workspace / "npm-cache")
    return CodeBuild(template, tools, "http://127.0.0.1:9", workspace / "builds")


def _spec(commands: list[str], runtimes: dict[str, str] | None = None, **phases: Any) -> dict:
    install: dict[str, Any] = {"commands": ["echo installing"]}
    if runtimes is not None:
        install["runtime-versions"] = runtimes
    return {
        "version": "0.2",
        "phases": {"install": install, "build": {"commands": commands}, **phases},
    }


def _until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.functional
def test_unknown_runtime_version_fails_the_build_in_download_source(workspace):
    codebuild = _codebuild(workspace, _spec(["echo built"], {"python": "3.8"}))
    build = codebuild.start("tiny", {})
    assert build.wait(30) == "FAILED"
    output = build.output()
    assert (
        "[Container] Phase complete: DOWNLOAD_SOURCE State: FAILED\n"
        "[Container] Phase context status code: YAML_FILE_ERROR Message: Unknown runtime "
        "version named '3.8' of python. This build image has the following versions: "
        "3.9, 3.10, 3.11, 3.12, 3.13, 3.14\n"
    ) in output
    assert "INSTALL" not in output and "installing" not in output and "built" not in output
    assert build.phases == [
        (
            "DOWNLOAD_SOURCE",
            "FAILED",
            "YAML_FILE_ERROR: Unknown runtime version named '3.8' of python. This build "
            "image has the following versions: 3.9, 3.10, 3.11, 3.12, 3.13, 3.14",
        )
    ]


@pytest.mark.functional
def test_runtime_versions_the_image_has_run(workspace):
    codebuild = _codebuild(workspace, _spec(["echo built"], {"python": "3.12", "nodejs": "24"}))
    build = codebuild.start("tiny", {})
    assert build.wait(60) == "SUCCEEDED", build.output()
    assert "built" in build.output() and build.phases == []


@pytest.mark.parametrize(
    ("image", "runtimes", "problem"),
    [
        (STANDARD_7, {"python": "3.x", "nodejs": "latest"}, None),
        (STANDARD_7, {"nodejs": "24.x"}, None),
        (STANDARD_7, {"python": "3.12.4"}, None),  # a custom runtime version, installed
        ("aws/codebuild/standard:8.0", {"nodejs": "20"}, "Unknown runtime version named '20'"),
        (STANDARD_7, {"nodejs": "16"}, "Unknown runtime version named '16' of nodejs"),
        (STANDARD_7, {"nodejs": "25.x"}, "Unknown runtime version named '25.x' of nodejs"),
        (STANDARD_7, {"cobol": "1"}, "Unknown runtime named 'cobol'"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/own:1", {"python": "2.7"}, None),
    ],
)
def test_runtime_versions_are_checked_against_the_image(image, runtimes, problem):
    found = runtime_problem(image, _spec([], runtimes))
    assert (found is None) if problem is None else (problem in (found or ""))


@pytest.mark.functional
def test_builds_past_the_concurrent_limit_wait_queued(workspace):
    codebuild = _codebuild(workspace, _spec(["sleep 1", "echo built"]))
    codebuild.admission.concurrent_limit = 1
    first = codebuild.start("tiny", {})
    second = codebuild.start("tiny", {})
    assert second.proc is None and not second.done.is_set()  # QUEUED
    while not first.done.is_set():
        # the slot is freed when the first build's process ends, before its log is shipped
        # and it is marked done: the second may start then, never while the first runs
        started = second.proc is not None
        assert not started or first.proc.poll() is not None, "the queued build ran beside it"
        time.sleep(0.05)
    assert first.wait(60) == "SUCCEEDED"
    assert second.wait(60) == "SUCCEEDED", second.output()
    assert first.phases == [] and second.phases == [("QUEUED", "SUCCEEDED", "")]


def test_the_build_queue_holds_five_times_the_concurrent_limit():
    admission = Admission()
    admission.concurrent_limit = 2
    assert [admission.enter() for _ in range(12)] == [True, True] + [False] * 10
    with pytest.raises(AccountLimitExceeded, match="more than 10 builds in queue"):
        admission.enter()


@pytest.mark.functional
def test_start_build_past_a_full_queue_is_refused_and_a_stopped_queued_build_never_runs(
    workspace,
):
    codebuild = _codebuild(workspace, _spec(["sleep 30"]))
    codebuild.admission.concurrent_limit = 1
    codebuild.admission.queue_limit = 1
    running = codebuild.start("tiny", {})
    queued = codebuild.start("tiny", {})
    with pytest.raises(AccountLimitExceeded, match="more than 1 builds in queue"):
        codebuild.start("tiny", {})
    queued.stop()
    assert queued.wait(10) == "STOPPED" and queued.proc is None
    assert queued.phases == [("QUEUED", "STOPPED", "")]
    running.stop()
    assert running.wait(10) == "STOPPED"


@pytest.mark.functional
def test_stop_build_ends_it_stopped_and_post_build_does_not_run(workspace):
    spec = _spec(["echo started", "sleep 60"], post_build={"commands": ["echo post-build-ran"]})
    codebuild = _codebuild(workspace, spec)
    build = codebuild.start("tiny", {})
    _until(lambda: "started" in build.output())
    build.stop()
    assert build.wait(10) == "STOPPED"
    time.sleep(0.3)
    assert "post-build-ran" not in build.output()
    assert codebuild.admission.running == 0  # its place in the account's quota is free


# -- Step Functions ----------------------------------------------------------------------------


def _machine(task: dict[str, Any], starts: Any, **definition: Any) -> StateMachine:
    states = {
        "Build": {
            "Type": "Task",
            "Resource": SYNC_BUILD,
            "Parameters": {"ProjectName": "tiny"},
            "End": True,
            **task,
        },
        "Caught": {"Type": "Succeed"},
    }
    return StateMachine({"StartAt": "Build", "States": states, **definition}, starts, None)


@pytest.mark.parametrize(
    ("catches", "status", "visited"),
    [
        (["States.Timeout"], "SUCCEEDED", ["Build", "Caught"]),
        (["States.ALL"], "SUCCEEDED", ["Build", "Caught"]),
        # States.TaskFailed matches every error but States.Timeout
        (["States.TaskFailed"], "FAILED", ["Build"]),
    ],
)
def test_a_task_past_its_timeout_fails_with_states_timeout(catches, status, visited):
    task = {
        "TimeoutSeconds": 1,
        "Catch": [{"ErrorEquals": catches, "Next": "Caught", "ResultPath": "$.error"}],
    }
    execution = _machine(task, lambda params: Build.ended(None)).run({})
    assert (execution.status, execution.visited) == (status, visited)
    if status == "SUCCEEDED":
        assert execution.output["error"]["Error"] == "States.Timeout"
        assert execution.output["error"]["Cause"] == "Task timed out after 1 seconds"
    else:
        assert execution.error == "States.Timeout"


def test_a_failed_build_is_a_catchable_states_task_failed():
    task = {"Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]}
    execution = _machine(task, lambda params: Build.ended("FAILED")).run({})
    assert execution.visited == ["Build", "Caught"]
    assert execution.output["Error"] == "States.TaskFailed"
    assert json.loads(execution.output["Cause"])["Build"]["BuildStatus"] == "FAILED"


def test_a_full_build_queue_is_the_error_codebuild_account_limit_exceeded():
    def refused(params: dict[str, Any]) -> Build:
        raise AccountLimitExceeded("Cannot have more than 5 builds in queue for the account")

    task = {
        "Catch": [{"ErrorEquals": ["CodeBuild.AccountLimitExceededException"], "Next": "Caught"}]
    }
    execution = _machine(task, refused).run({})
    assert execution.visited == ["Build", "Caught"]
    assert execution.output == {
        "Error": "CodeBuild.AccountLimitExceededException",
        "Cause": "Cannot have more than 5 builds in queue for the account",
    }


def test_the_execution_timeout_ends_it_timed_out_and_no_catch_sees_it():
    task = {"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}
    started = time.monotonic()
    execution = _machine(task, lambda params: Build.ended(None), TimeoutSeconds=1).run({})
    assert (execution.status, execution.error) == ("TIMED_OUT", "States.Timeout")
    assert execution.visited == ["Build"]
    assert 1 <= time.monotonic() - started < 5


def test_retry_backs_off_then_the_catch_sees_the_last_error():
    outcomes = iter(["FAILED", "FAILED", "FAILED", "SUCCEEDED"])
    retry = {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 3, "MaxAttempts": 2}
    task = {
        "Retry": [{**retry, "BackoffRate": 2.0}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
    }
    slept: list[float] = []
    machine = _machine(task, lambda params: Build.ended(next(outcomes)))
    machine.sleep = slept.append
    execution = machine.run({})
    assert slept == [3.0, 6.0]  # two retries: three attempts
    assert execution.visited == ["Build", "Caught"] and len(machine.builds) == 3
    assert execution.output["Error"] == "States.TaskFailed"


def test_retry_that_succeeds_ends_the_task_succeeded():
    outcomes = iter(["FAILED", "SUCCEEDED"])
    task = {"Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}]}
    machine = _machine(task, lambda params: Build.ended(next(outcomes)))
    machine.sleep = lambda seconds: None
    execution = machine.run({})
    assert execution.status == "SUCCEEDED" and len(machine.builds) == 2


def _cli_servers(workspace: Path) -> list[int]:
    """The pids of the builds' AWS CLI servers (awsd.py) serving a socket under `workspace`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"awsd.py") for a in argv) and str(workspace).encode() in b" ".join(argv):
            found.append(int(entry.name))
    return found


@pytest.mark.functional
@pytest.mark.parametrize("commands", [["true"], ["sleep 1"]], ids=["at-once", "after-a-second"])
def test_a_builds_cli_server_ends_with_its_build(workspace, commands):
    """A build's AWS CLI server goes with its container, even when the build ends before the
    server has said who it is: none outlives the test that made it."""
    codebuild = _codebuild(workspace, _spec(commands))
    build = codebuild.start("tiny", {})
    assert build.wait(60) == "SUCCEEDED", build.output()
    deadline = time.monotonic() + 10
    while (left := _cli_servers(workspace)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []
