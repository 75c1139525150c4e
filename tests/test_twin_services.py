"""The simulated account refuses, or fails, what AWS would (issue 28, item 1): CodeBuild's
runtime-versions, queue, account limit, StopBuild and nested build timeouts; Step Functions'
timeouts, retries and catchable errors; DynamoDB's lagging global secondary index; and the
scanner under EventBridge's duplicate deliveries and a manual trigger, with the index lagging.

Each rule cites its documentation where it is simulated (tests/twin/buildrules.py,
codebuild.py, nested.py, stepfunctions.py, dynamodb.py, loop.py)."""

import io
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcc_ci.constants import STATUS_INDEX
from tests.twin.buildrules import AccountLimitExceeded, Admission, runtime_problem
from tests.twin.codebuild import Build, CodeBuild, Image
from tests.twin.stepfunctions import StateMachine
from tests.twin.template import STACK, Template

STANDARD_7 = "aws/codebuild/standard:7.0"
SYNC_BUILD = "arn:aws:states:::codebuild:startBuild.sync"


# -- CodeBuild: the executor's builds --------------------------------------------------------


@pytest.fixture
def workspace() -> Iterator[Path]:
    # not under /tmp: each build mounts a /tmp of its own
    path = Path(tempfile.mkdtemp(prefix="mlcc-ci-twin-services-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


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
        assert second.proc is None, "the queued build started while the first ran"
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


def _build(status: str | None) -> Build:
    """A build that ends `status` at once (None: never ends)."""
    build = Build("tiny:0000", "tiny", "stream", Path("/nonexistent/log"), Path("/nonexistent"))
    if status is not None:
        build.status = status
        build.done.set()
    return build


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
    execution = _machine(task, lambda params: _build(None)).run({})
    assert (execution.status, execution.visited) == (status, visited)
    if status == "SUCCEEDED":
        assert execution.output["error"]["Error"] == "States.Timeout"
        assert execution.output["error"]["Cause"] == "Task timed out after 1 seconds"
    else:
        assert execution.error == "States.Timeout"


def test_a_failed_build_is_a_catchable_states_task_failed():
    task = {"Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]}
    execution = _machine(task, lambda params: _build("FAILED")).run({})
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
    execution = _machine(task, lambda params: _build(None), TimeoutSeconds=1).run({})
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
    machine = _machine(task, lambda params: _build(next(outcomes)))
    machine.sleep = slept.append
    execution = machine.run({})
    assert slept == [3.0, 6.0]  # two retries: three attempts
    assert execution.visited == ["Build", "Caught"] and len(machine.builds) == 3
    assert execution.output["Error"] == "States.TaskFailed"


def test_retry_that_succeeds_ends_the_task_succeeded():
    outcomes = iter(["FAILED", "SUCCEEDED"])
    task = {"Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}]}
    machine = _machine(task, lambda params: _build(next(outcomes)))
    machine.sleep = lambda seconds: None
    execution = machine.run({})
    assert execution.status == "SUCCEEDED" and len(machine.builds) == 2


# -- nested CodeBuild builds (server.py) -------------------------------------------------------


def _client(twin: Any, service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=twin.url)


def _nested_project(twin: Any, timeout_minutes: int) -> Any:
    """A nested project as the generated do/submit makes it, its source uploaded."""
    s3, ecr, codebuild = (_client(twin, s) for s in ("s3", "ecr", "codebuild"))
    s3.create_bucket(Bucket="sources")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("do/config", 'export PROJECT_NAME="slow"\n')
    s3.put_object(Bucket="sources", Key="slow.zip", Body=archive.getvalue())
    ecr.create_repository(repositoryName="images")
    spec = {"version": 0.2, "env": {"variables": {"ECR_REPOSITORY_NAME": "images"}}}
    spec["env"]["variables"]["PROJECT_NAME"] = "slow"
    codebuild.create_project(
        name="slow-build",
        source={"type": "NO_SOURCE", "buildspec": json.dumps(spec)},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": STANDARD_7,
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/slow",
        timeoutInMinutes=timeout_minutes,
    )
    twin.faults.add("nested-build-slow", "slow-build")
    twin.nested.minute = 0.01  # a build minute lasts 10 ms
    twin.nested.queued_minutes = 30  # 0.3 s
    twin.nested.slow_minutes = 90  # 0.9 s
    return codebuild


def _nested(codebuild: Any, build_id: str) -> dict[str, Any]:
    (build,) = codebuild.batch_get_builds(ids=[build_id])["builds"]
    return dict(build)


def _images(twin: Any) -> list[str]:
    found = _client(twin, "ecr").describe_images(repositoryName="images")["imageDetails"]
    return [tag for image in found for tag in image.get("imageTags", [])]


@pytest.mark.functional
def test_a_nested_build_queues_runs_then_succeeds_and_pushes(twin):
    codebuild = _nested_project(twin, timeout_minutes=480)
    build_id = codebuild.start_build(
        projectName="slow-build", sourceLocationOverride="sources/slow.zip"
    )["build"]["id"]
    first = _nested(codebuild, build_id)
    assert (first["buildStatus"], first["currentPhase"]) == ("IN_PROGRESS", "QUEUED")
    time.sleep(0.5)
    running = _nested(codebuild, build_id)
    assert (running["buildStatus"], running["currentPhase"]) == ("IN_PROGRESS", "BUILD")
    assert _images(twin) == []  # nothing pushed before the build ends
    time.sleep(1.0)
    done = _nested(codebuild, build_id)
    assert (done["buildStatus"], done["currentPhase"]) == ("SUCCEEDED", "COMPLETED")
    assert "slow-latest" in _images(twin)


@pytest.mark.functional
def test_a_nested_build_longer_than_its_timeout_ends_timed_out(twin):
    codebuild = _nested_project(twin, timeout_minutes=5)  # 50 ms past the queue; it takes 0.9 s
    build_id = codebuild.start_build(
        projectName="slow-build", sourceLocationOverride="sources/slow.zip"
    )["build"]["id"]
    time.sleep(0.6)
    done = _nested(codebuild, build_id)
    assert (done["buildStatus"], done["currentPhase"]) == ("TIMED_OUT", "COMPLETED")
    assert {"phaseType": "BUILD", "phaseStatus": "TIMED_OUT"} in done["phases"]
    time.sleep(0.6)
    assert _nested(codebuild, build_id)["buildStatus"] == "TIMED_OUT" and _images(twin) == []


@pytest.mark.functional
def test_stop_build_on_a_nested_build_ends_it_stopped(twin):
    codebuild = _nested_project(twin, timeout_minutes=480)
    build_id = codebuild.start_build(
        projectName="slow-build", sourceLocationOverride="sources/slow.zip"
    )["build"]["id"]
    time.sleep(0.4)
    stopped = codebuild.stop_build(id=build_id)["build"]
    assert (stopped["buildStatus"], stopped["currentPhase"]) == ("STOPPED", "COMPLETED")
    time.sleep(1.0)  # past when it would have succeeded
    assert _nested(codebuild, build_id)["buildStatus"] == "STOPPED" and _images(twin) == []


# -- DynamoDB: the status index lags -----------------------------------------------------------


@pytest.fixture
def store(twin):
    from mlcc_ci.stores.dynamodb import DynamoStore

    client = _client(twin, "dynamodb")
    made = DynamoStore(client, table="records", runs_table="runs", region="us-east-1")
    made.create_tables()
    return made


def _registration(name: str) -> Any:
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.registration import from_entry

    return from_entry(load_valid_catalog().get(name))


def _ids(records: Any) -> set[str]:
    return {r.configId for r in records}


@pytest.mark.functional
def test_index_reads_lag_writes_by_index_lag_and_table_reads_do_not(twin, store):
    from mlcc_ci import clock
    from mlcc_ci.stores.base import claim

    twin.index_lag = 0.6
    reg = _registration("http-flask")
    store.register(reg, "2026-01-01T00:00:00Z")
    assert store.get(reg.configId) is not None  # the table: read-after-write
    assert _ids(store.by_status("untested")) == set()  # the index: not yet
    time.sleep(0.7)
    assert _ids(store.by_status("untested")) == {reg.configId}
    record = store.get(reg.configId)
    claim(store, record, "run1", clock.iso(clock.now(), ms=True))
    assert _ids(store.by_status("untested")) == {reg.configId}  # still the old version
    assert _ids(store.by_status("running")) == set()
    time.sleep(0.7)
    assert _ids(store.by_status("untested")) == set()
    assert _ids(store.by_status("running")) == {reg.configId}
    store.delete(reg.configId)
    assert _ids(store.by_status("running")) == {reg.configId}  # deleted, still indexed
    time.sleep(0.7)
    assert _ids(store.by_status("running")) == set()


@pytest.mark.functional
def test_batch_and_transaction_writes_lag_in_the_index_too(twin, store):
    client = _client(twin, "dynamodb")
    twin.index_lag = 0.6

    def item(config_id: str) -> dict[str, Any]:
        return {
            "configId": {"S": config_id},
            "testStatus": {"S": "untested"},
            "lastTestTimestamp": {"S": "1970-01-01T00:00:00Z"},
        }

    def indexed() -> set[str]:
        found = client.query(
            TableName="records",
            IndexName=STATUS_INDEX,
            KeyConditionExpression="testStatus = :s",
            ExpressionAttributeValues={":s": {"S": "untested"}},
        )["Items"]
        return {i["configId"]["S"] for i in found}

    client.batch_write_item(RequestItems={"records": [{"PutRequest": {"Item": item("a")}}]})
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": "records", "Item": item("b")}}]
    )
    assert indexed() == set()
    assert client.scan(TableName="records")["Count"] == 2  # the table has them
    time.sleep(0.7)
    assert indexed() == {"a", "b"}


@pytest.mark.functional
def test_without_index_lag_the_index_reads_its_writes(twin, store):
    reg = _registration("http-flask")
    store.register(reg, "2026-01-01T00:00:00Z")
    assert _ids(store.by_status("untested")) == {reg.configId}


@pytest.mark.functional
@pytest.mark.parametrize("lag", [0.0, 5.0])
def test_a_consistent_read_of_a_global_secondary_index_is_refused(twin, store, lag):
    twin.index_lag = lag
    with pytest.raises(ClientError) as refused:
        _client(twin, "dynamodb").query(
            TableName="records",
            IndexName=STATUS_INDEX,
            KeyConditionExpression="testStatus = :s",
            ExpressionAttributeValues={":s": {"S": "untested"}},
            ConsistentRead=True,
        )
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationException",
        "Consistent reads are not supported on global secondary indexes",
    )


# -- the stack: its buildspec, and the scanner under duplicate deliveries ---------------------

MAX_CONCURRENCY = 3


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> Template:
    """The stack as `cdk synth` makes it (about 30 s), read with MaxConcurrency 3."""
    from tests.conftest import REPO

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.path.insert(0, str(REPO / "cdk"))
    try:
        from app import build_app
    finally:
        sys.path.remove(str(REPO / "cdk"))
    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(str(outdir), nag=False).synth()
    return Template.load(outdir, MaxConcurrency=str(MAX_CONCURRENCY))


@pytest.mark.twin
def test_the_stacks_buildspecs_ask_for_runtimes_their_image_has(synthesized):
    import yaml

    projects = synthesized.of_type("AWS::CodeBuild::Project")
    assert projects
    for logical in projects:
        props = synthesized.properties(logical)
        spec = yaml.safe_load(props["Source"]["BuildSpec"])
        assert props["Environment"]["Image"] == STANDARD_7
        assert spec["phases"]["install"]["runtime-versions"]
        assert runtime_problem(props["Environment"]["Image"], spec) is None


@pytest.fixture
def scanner_loop(twin, synthesized, tmp_path):
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.registration import from_entry
    from mlcc_ci.stores.dynamodb import DynamoStore
    from tests.twin.loop import Loop

    clients = {
        s: _client(twin, s)
        for s in ("dynamodb", "s3", "ecr", "sns", "logs", "iam", "stepfunctions")
    }
    synthesized.provision(clients)
    tools = Image(tmp_path / "image", tmp_path / "wheels", tmp_path / "npm-cache")
    loop = Loop(twin, synthesized, CodeBuild(synthesized, tools, twin.url, tmp_path / "builds"))
    env = loop.function_env("mlcc-ci-scanner")
    store = DynamoStore(
        clients["dynamodb"],
        table=env["TABLE_NAME"],
        runs_table=env["RUNS_TABLE_NAME"],
        region="us-east-1",
    )
    supported = [e for e in load_valid_catalog().entries if e.supported]
    assert len(supported) > 2 * MAX_CONCURRENCY
    for entry in supported:
        store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    return loop, store, env["STATE_MACHINE_ARN"]


def _started(loop: Any, machine: str) -> list[dict[str, Any]]:
    executions = loop.states.list_executions(stateMachineArn=machine)["executions"]
    return [loop.execution_input(e["executionArn"]) for e in executions]


def _check_claims(loop: Any, store: Any, machine: str, results: list[dict[str, Any]]) -> None:
    """At most one execution per configuration, at most MaxConcurrency in all, and each
    running record's claim is the run of exactly one execution."""
    started = _started(loop, machine)
    config_ids = [s["configId"] for s in started]
    assert len(config_ids) == len(set(config_ids)), config_ids
    assert 1 <= len(started) <= MAX_CONCURRENCY, started
    assert sum(len(r["executionArns"]) for r in results) == len(started)
    running = {r.configId: r.runId for r in store.records() if r.testStatus == "running"}
    assert running == {s["configId"]: s["runId"] for s in started}


@pytest.mark.twin
def test_duplicate_deliveries_and_a_manual_trigger_start_each_configuration_once(scanner_loop):
    from mlcc_ci import clock

    loop, store, machine = scanner_loop
    scheduled = loop.scheduled_event(clock.now())
    results = loop.scan_concurrently([scheduled, scheduled, {}])
    _check_claims(loop, store, machine, results)


@pytest.mark.twin
def test_with_the_index_lagging_scans_never_pass_max_concurrency(twin, scanner_loop):
    from mlcc_ci import clock

    loop, store, machine = scanner_loop
    # every scan below reads the index as it was before the first: the registrations are
    # in it (a record the index lacks, the scanner reads from the table), the claims not
    twin.index_lag = 2.0
    time.sleep(2.1)
    scheduled = loop.scheduled_event(clock.now())
    results = loop.scan_concurrently([scheduled, scheduled, {}])
    later = loop.scan_concurrently([loop.scheduled_event(clock.now()), {}])
    later.append(loop.scan())
    # the scans after the first saw no run in the index: its claims had not reached it
    assert {_running_seen(r) for r in later} == {0}
    _check_claims(loop, store, machine, results + later)
    time.sleep(2.2)  # the index has caught up: still no more than MaxConcurrency
    caught_up = loop.scan()
    assert _running_seen(caught_up) == MAX_CONCURRENCY
    _check_claims(loop, store, machine, [*results, *later, caught_up])


def _running_seen(result: dict[str, Any]) -> int:
    """How many running records a scan counted, from what it says it skipped and why."""
    (seen,) = {
        int(s["detail"].split("; ")[1].split(" running")[0])
        for s in result["skipped"]
        if s["reason"] == "max-concurrency"
    }
    return seen


def _refused(params: dict[str, Any]) -> Build:
    raise AccountLimitExceeded("Cannot have more than 5 builds in queue for the account")


@pytest.mark.twin
@pytest.mark.parametrize(
    ("start_build", "error"),
    [
        (lambda params: _build(None), "States.Timeout"),  # the build outlasts its task
        (_refused, "CodeBuild.AccountLimitExceededException"),
    ],
)
def test_the_orchestrator_records_a_build_that_timed_out_or_never_started(
    twin, scanner_loop, start_build, error
):
    """The synthesized definition, its build tasks' TimeoutSeconds shortened to 1 s: the
    error reaches its Catch, and the failure path records it on the claimed record."""
    from tests.twin.loop import session

    loop, store, _ = scanner_loop
    (arn,) = loop.scan()["executionArns"][:1]
    data = loop.execution_input(arn)
    definition = json.loads(json.dumps(loop.definition))
    for state in definition["States"].values():
        if state.get("Resource") == SYNC_BUILD:
            state["TimeoutSeconds"] = 1
    dynamodb = session("orchestrator").client("dynamodb", endpoint_url=twin.url)
    execution = StateMachine(definition, start_build, dynamodb).run(data)
    assert (execution.status, execution.visited[-3:]) == (
        "FAILED",
        ["RecordFailure", "RecordRunInHistory", "ExecutorFailed"],
    )
    record = store.get(data["configId"])
    assert record.testStatus.startswith("fail-") and error in (record.errorMessage or "")
