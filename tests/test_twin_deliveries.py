"""The simulated account refuses, or fails, what AWS would (issue 28, item 1), continued from
test_twin_services.py: nested CodeBuild builds' phases, timeouts and StopBuild; DynamoDB's
lagging global secondary index; the stack's buildspecs against their image's runtimes; and
the scanner under EventBridge's duplicate deliveries and a manual trigger, with the index
lagging.

Each rule cites its documentation where it is simulated (tests/twin/nested.py, dynamodb.py,
buildrules.py, loop.py)."""

import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlcc_ci.constants import STATUS_INDEX
from tests.twin import fixture
from tests.twin.buildrules import AccountLimitExceeded, runtime_problem
from tests.twin.codebuild import Build, CodeBuild, Image
from tests.twin.template import Template

STANDARD_7 = "aws/codebuild/standard:7.0"
SYNC_BUILD = "arn:aws:states:::codebuild:startBuild.sync"


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
def synthesized() -> Template:
    """The stack as `cdk synth` makes it (the twin modules' one synthesis, fixture.py), read
    with MaxConcurrency 3."""
    return Template.load(fixture.synthesized(), MaxConcurrency=str(MAX_CONCURRENCY))


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
    # the hard limit: every running claim holds a concurrency slot of its own, no more
    # slots are held than MaxConcurrency, and none by a run that is not running
    slots = _slots(loop, store)
    assert set(slots) <= {f"slot-{i}" for i in range(MAX_CONCURRENCY)}, slots
    assert {i["configId"]["S"]: i["runId"]["S"] for i in slots.values()} == running


def _slots(loop: Any, store: Any) -> dict[str, Any]:
    """The slot items of the scanner's slots table (the synthesized template's)."""
    table = loop.function_env("mlcc-ci-scanner")["SLOTS_TABLE_NAME"]
    items = store.client.scan(TableName=table, ConsistentRead=True)["Items"]
    return {i["slot"]["S"]: i for i in items if i["slot"]["S"].startswith("slot-")}


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
    # every scan below reads the index as it was before the first, however long they take
    # on a loaded machine: the registrations are in it, the claims never reach it
    twin.index_as_of = time.time()
    scheduled = loop.scheduled_event(clock.now())
    results = loop.scan_concurrently([scheduled, scheduled, {}])
    later = loop.scan_concurrently([loop.scheduled_event(clock.now()), {}])
    later.append(loop.scan())
    # the scans after the first saw no run in the index: its claims had not reached it;
    # the slots, taken by conditional writes, stopped them: the last found every one held
    assert {_running_seen(r) for r in later} == {0}
    assert _slots_full(later[-1]) and later[-1]["executionArns"] == [], later[-1]
    _check_claims(loop, store, machine, results + later)
    twin.index_as_of = None  # the index has caught up: still no more than MaxConcurrency
    caught_up = loop.scan()
    assert _running_seen(caught_up) == MAX_CONCURRENCY
    _check_claims(loop, store, machine, [*results, *later, caught_up])


def _running_seen(result: dict[str, Any]) -> int:
    """How many running records a scan counted, from what it says it skipped and why."""
    (seen,) = {
        int(s["detail"].split("; ")[1].split(" running")[0])
        for s in result["skipped"]
        if s["reason"] == "max-concurrency" and " running, MaxConcurrency" in s["detail"]
    }
    return seen


def _slots_full(result: dict[str, Any]) -> bool:
    """Whether a scan found every slot held, and skipped what was due for it."""
    return any(
        s["reason"] == "max-concurrency" and "slots held" in s["detail"] for s in result["skipped"]
    )


def _refused(params: dict[str, Any]) -> Build:
    raise AccountLimitExceeded("Cannot have more than 5 builds in queue for the account")


@pytest.mark.twin
@pytest.mark.parametrize(
    ("start_build", "error", "cls", "attempts"),
    [
        # the build outlasts its task: no rule knows why, so it counts against the product
        (lambda params: Build.ended(None), "States.Timeout", "unclassified", 1),
        # the account's build queue stays full through the retries: a quota blocks it
        (_refused, "AccountLimitExceededException", "quota", 4),
    ],
)
def test_the_orchestrator_records_a_build_that_timed_out_or_never_started(
    twin, scanner_loop, start_build, error, cls, attempts
):
    """The synthesized definition, its build tasks' TimeoutSeconds shortened to 1 s: the
    error reaches its Catch, and the recorder Lambda records it on the claimed record,
    classified by the runner's rules: a failure of the product's fails it, one of the
    infrastructure's blocks it with its status kept. The execution fails either way."""
    loop, store, _ = scanner_loop
    (arn,) = loop.scan()["executionArns"][:1]
    data = loop.execution_input(arn)
    before = store.get(data["configId"]).previousStatus
    definition = json.loads(json.dumps(loop.definition))
    for state in definition["States"].values():
        if state.get("Resource") == SYNC_BUILD:
            state["TimeoutSeconds"] = 1
    calls = []

    def counted(params: dict[str, Any]) -> Build:
        calls.append(params["ProjectName"])
        return start_build(params)

    execution = loop.machine(counted, definition, sleep=lambda s: None).run(data)
    assert (execution.status, execution.visited[-3:]) == (
        "FAILED",
        ["RecordFailure", "Recorded", "ExecutorFailed"],
    )
    assert len(calls) == attempts
    record = store.get(data["configId"])
    (attempt,) = store.history(data["configId"])
    assert error in attempt.errorMessage and attempt.failure.cls == cls
    if cls == "unclassified":
        assert (record.testStatus, record.failure.cls, record.blocked) == ("fail-build", cls, None)
    else:
        assert (record.testStatus, record.blocked.cls) == (before, cls)


def _claim_one_that_passed(loop: Any, store: Any) -> str:
    """A configuration that passed, claimed by a scan: the ARN of its execution."""
    from dataclasses import replace

    (arn,) = loop.scan()["executionArns"][:1]
    data = loop.execution_input(arn)
    record = store.get(data["configId"])
    # as if its last run, before this claim, had passed
    passed = replace(record, previousStatus="pass", version=record.version + 1)
    store.replace(passed, expect_version=record.version, expect_run_id=record.runId)
    assert store.get(data["configId"]).previousStatus == "pass"
    return str(arn)


@pytest.mark.twin
def test_a_start_build_throttled_on_every_attempt_blocks_the_configuration_as_infra(
    twin, scanner_loop
):
    """Issue 29's Done-when: StartBuild throttled every time (fault throttle:StartBuild) →
    the build task's Retry tries it 3 times more, 30 s then doubling → the recorder blocks
    the configuration, class infra, its status what it was before the claim (pass), and
    the attempt is in the history. The execution fails: the alarm hears of it."""
    from mlcc_ci.constants import RUNNING

    loop, store, _ = scanner_loop
    loop.enforce_roles()  # the recorder writes under its own synthesized role
    arn = _claim_one_that_passed(loop, store)
    config_id = loop.execution_input(arn)["configId"]
    claimed = store.get(config_id)
    assert claimed.testStatus == RUNNING
    twin.faults.add("throttle:StartBuild")
    waits: list[float] = []
    run = loop.execute(arn, sleep=waits.append)
    assert waits == [30, 60, 120]
    assert run.builds == []  # no build ever started
    assert (run.execution.status, run.execution.visited[-3:]) == (
        "FAILED",
        ["RecordFailure", "Recorded", "ExecutorFailed"],
    )
    record = store.get(config_id)
    assert record.testStatus == "pass" and record.runId is None
    assert (record.blocked.cls, record.blocked.rule, record.blocked.capture) == (
        "infra",
        "aws-throttling",
        "StartBuild",
    )
    (attempt,) = store.history(config_id)
    assert (attempt.runId, attempt.status) == (claimed.runId, "fail-build")
    assert attempt.failure.cls == "infra" and "ThrottlingException" in attempt.errorMessage
