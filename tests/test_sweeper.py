"""The sweeper deletes what finished runs left, and only that: inference components first,
the endpoint once they are gone, endpoint configs and models nothing uses, nested build
projects; a person's own try under the same name is left alone; one resource's failure never
stops the others. Notifications tell of regressions, fixes and sweeps, and stay silent while
everything is green. Against the simulated account (tests/twin), whose SageMaker has
inference components."""

import json
import time
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from mlcc_ci import clock
from mlcc_ci.aws.sweeper import handler
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Run
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim

# Each test carries its tier (no module-wide functional): one that needs the synthesized stack is of that
# tier only, so `pytest -m "unit or functional"` runs without it.
CATALOG = load_valid_catalog()
FLASK, VLLM, FIL, FASTAPI = (
    CATALOG.get(n) for n in ("http-flask", "transformers-vllm", "triton-fil", "http-fastapi")
)
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlcc-ci-images:{}-latest"
# The simulated account settles an endpoint in 0.2 s (tests/conftest.py): ask every 50 ms,
# for up to 60 s on a loaded machine, not every second as boto3's waiters do by default.
SETTLE = {"Delay": 0.05, "MaxAttempts": 1200}


def _deploy(twin, sm, project: str, suffix: str, *, model: bool = False) -> str:
    """What the generated do/deploy leaves behind: an endpoint config, an endpoint and an
    inference component on it (or, with `model`, a model behind the variant)."""
    config, endpoint, component = (
        f"{project}-{kind}-{suffix}" for kind in ("epc", "endpoint", "default")
    )
    variant = {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.g5.xlarge",
    }
    if model:
        sm.create_model(
            ModelName=f"{project}-model-{suffix}",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/mlcc-sagemaker-execution-role",
            PrimaryContainer={"Image": IMAGE.format(project)},
        )
        variant["ModelName"] = f"{project}-model-{suffix}"
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[variant])
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=SETTLE)
    if not model:
        twin.push_image("us-east-1", "mlcc-ci-images", project, "", [f"{project}-latest"])
        sm.create_inference_component(
            InferenceComponentName=component,
            EndpointName=endpoint,
            VariantName="AllTraffic",
            Specification={"Container": {"Image": IMAGE.format(project)}},
            RuntimeConfig={"CopyCount": 1},
        )
    return endpoint


def _until_in_service(sm, component: str) -> None:
    for _ in range(100):
        described = sm.describe_inference_component(InferenceComponentName=component)
        if described["InferenceComponentStatus"] == "InService":
            return
        time.sleep(0.05)
    raise AssertionError(f"{component} never went InService")


def _queue():
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="mlcc-ci-notifications")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def messages():
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    return topic, messages


@pytest.fixture
def aws(twin, cli):
    assert cli("store", "create-tables", "--table", "mlcc-ci-table").exit_code == 0
    from mlcc_ci.stores.open import open_store

    store = open_store(None, table="mlcc-ci-table")
    for entry in (FLASK, VLLM, FIL, FASTAPI):
        store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="mlcc-ci-images")
    return store, boto3.client("sagemaker", region_name="us-east-1")


SWEEP = {"dryRun": False}  # what the schedule sends: the one event that deletes
SWEEP_ENV = {"POLL_SECONDS": "0.1", "PATIENCE_SECONDS": "5"}


def _ran(store, entry, started, finished, status="fail-teardown"):
    """A finished run of `entry` in the history, between two moments."""
    store.append_run(
        Run(
            entry.config_id,
            clock.iso(started, ms=True),
            f"run-{entry.name}",
            clock.iso(finished, ms=True),
            status,
            60.0,
            entry.name,
        )
    )


@pytest.mark.functional
def test_sweeper_deletes_what_finished_runs_left_and_nothing_else(twin, aws):
    store, sm = aws
    now = clock.now()
    claim(
        store,
        store.get(VLLM.config_id),
        "live-run",
        clock.iso(now - timedelta(minutes=20), ms=True),
    )
    claim(store, store.get(FIL.config_id), "dead-run", clock.iso(now - timedelta(hours=9), ms=True))
    live = _deploy(twin, sm, VLLM.config["projectName"], "1")
    leaked = _deploy(twin, sm, FLASK.config["projectName"], "2")  # its run's teardown failed
    _ran(store, FLASK, now - timedelta(minutes=30), clock.now())
    orphan = _deploy(twin, sm, FIL.config["projectName"], "3", model=True)  # past its deadline
    theirs = _deploy(twin, sm, "someone-else", "4")  # not under the prefix
    # a person tried http-fastapi by hand, hours after its last run
    _ran(store, FASTAPI, now - timedelta(hours=5), now - timedelta(hours=4), "pass")
    by_hand = _deploy(twin, sm, FASTAPI.config["projectName"], "5")
    topic, messages = _queue()
    env = {**SWEEP_ENV, "TOPIC_ARN": topic}
    logs = boto3.client("logs", region_name="us-east-1")
    for group in ("/aws/codebuild/mlcc-ci-http-flask-build", "/aws/codebuild/someone-else-build"):
        logs.create_log_group(logGroupName=group)

    dry = handler({"dryRun": True}, None, env=env)
    assert {x["resource"] for x in dry["leaked"]} == {leaked, orphan} and dry["deleted"] == []
    assert dry["left"] == [
        {
            "resource": by_hand,
            "reason": f"made outside every recorded run of {FASTAPI.config['projectName']} (by hand?)",
        }
    ]
    assert len(sm.list_endpoints()["Endpoints"]) == 5 and messages() == []

    result = handler(SWEEP, None, env=env)
    project = FLASK.config["projectName"]
    assert (
        result["deleted"]
        == [
            f"inference component {project}-default-2",
            f"endpoint {leaked}",
            f"endpoint config {project}-epc-2",
            f"endpoint {orphan}",
            f"endpoint config {FIL.config['projectName']}-epc-3",
            f"model {FIL.config['projectName']}-model-3",
        ]
        and result["errors"] == []
    )
    sm.get_waiter("endpoint_deleted").wait(EndpointName=leaked, WaiterConfig=SETTLE)
    assert sorted(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]) == sorted(
        [live, theirs, by_hand]
    )
    # the endpoint was deleted only once its inference component was gone
    calls = [(c.action, c.status) for c in twin.calls if c.service == "sagemaker"]
    delete_endpoint = calls.index(("DeleteEndpoint", 200))
    assert ("DescribeInferenceComponent", 400) in calls[:delete_endpoint]
    assert ("DeleteEndpoint", 400) not in calls
    (note,) = messages()
    assert note["Subject"] == "mlcc-ci sweeper deleted 6 resource(s)"
    assert leaked in note["Message"] and orphan in note["Message"]
    assert f"left alone {by_hand}" in note["Message"]
    # the nested builds' log groups get a retention; nobody else's
    assert result["logRetention"] == ["/aws/codebuild/mlcc-ci-http-flask-build"]
    retention = {
        g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups()["logGroups"]
    }
    assert retention == {
        "/aws/codebuild/mlcc-ci-http-flask-build": 30,
        "/aws/codebuild/someone-else-build": None,
    }
    again = handler(SWEEP, None, env=env)
    assert again["deleted"] == [] and again["logRetention"] == []  # nothing more to do


@pytest.mark.functional
def test_orphans_without_an_endpoint_are_deleted_too(twin, aws):
    """Endpoint configs no endpoint uses, models nothing uses and nested build projects that
    a finished run left; a running run's and a person's stay."""
    store, sm = aws
    now = clock.now()
    claim(
        store, store.get(VLLM.config_id), "live-run", clock.iso(now - timedelta(minutes=5), ms=True)
    )
    flask = FLASK.config["projectName"]
    variant = {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sm.create_endpoint_config(EndpointConfigName=f"{flask}-epc-1", ProductionVariants=[variant])
    sm.create_model(
        ModelName=f"{flask}-model-1",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        PrimaryContainer={"Image": IMAGE.format(flask)},
    )
    codebuild = boto3.client("codebuild", region_name="us-east-1")
    role = "arn:aws:iam::123456789012:role/nested"
    for name in (
        f"{flask}-build-use1",
        f"{VLLM.config['projectName']}-build-use1",
        f"{flask}-build-20261130",
    ):
        codebuild.create_project(
            name=name,
            source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "x",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole=role,
        )
    _ran(store, FLASK, now - timedelta(minutes=10), clock.now() + timedelta(seconds=5))
    result = handler(SWEEP, None, env=SWEEP_ENV)
    assert sorted(result["deleted"]) == sorted(
        [
            f"endpoint config {flask}-epc-1",
            f"model {flask}-model-1",
            f"nested build project {flask}-build-use1",
        ]
    )
    assert sorted(codebuild.list_projects()["projects"]) == sorted(
        [f"{VLLM.config['projectName']}-build-use1", f"{flask}-build-20261130"]
    )


@pytest.mark.functional
def test_one_leak_that_resists_never_keeps_the_others(twin, aws, capsys):
    store, sm = aws
    started = clock.now() - timedelta(minutes=30)
    stuck = _deploy(twin, sm, FLASK.config["projectName"], "1")
    other = _deploy(twin, sm, VLLM.config["projectName"], "2")
    for entry in (FLASK, VLLM):  # both runs finished and left their endpoints
        _ran(store, entry, started, clock.now())
    twin.faults.add("throttle:DeleteInferenceComponent", FLASK.config["projectName"])
    topic, messages = _queue()

    result = handler(SWEEP, None, env={**SWEEP_ENV, "TOPIC_ARN": topic})
    assert [e["resource"] for e in result["errors"]] == [stuck]
    assert "ThrottlingException" in result["errors"][0]["error"]
    assert f"endpoint {other}" in result["deleted"]
    (note,) = messages()
    assert note["Subject"] == "mlcc-ci sweeper deleted 3 resource(s), 1 could not be deleted"
    assert f"NOT deleted {stuck}" in note["Message"]
    # the alarm on sweep failures reads this line (CloudWatch's embedded metric format)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"swept"' in x]
    assert line["SweepFailures"] == 1
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "mlcc-ci" and directive["Metrics"] == [
        {"Name": "SweepFailures", "Unit": "Count"}
    ]
    # by the stack's prefix: another stack's failures are not this one's alarm
    assert directive["Dimensions"] == [["Prefix"]] and line["Prefix"] == "mlcc-ci"
    twin.faults.clear()
    assert f"endpoint {stuck}" in handler(SWEEP, None, env=SWEEP_ENV)["deleted"]  # the next sweep


@pytest.mark.functional
def test_components_still_deleting_leave_the_endpoint_for_the_next_sweep(twin, aws):
    store, sm = aws
    started = clock.now() - timedelta(minutes=30)
    slow = _deploy(twin, sm, FLASK.config["projectName"], "1")
    _ran(store, FLASK, started, clock.now())
    component = f"{FLASK.config['projectName']}-default-1"
    _until_in_service(sm, component)
    twin.hosting.settle_seconds = 30  # deleting takes longer than the sweep waits
    result = handler(SWEEP, None, env={"POLL_SECONDS": "0.1", "PATIENCE_SECONDS": "0.5"})
    assert result["deleted"] == [f"inference component {FLASK.config['projectName']}-default-1"]
    (error,) = result["errors"]
    assert error["resource"] == slow and "still deleting after 0.5s" in error["error"]
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [slow]


@pytest.mark.functional
def test_a_component_still_creating_is_waited_for_then_deleted(twin, aws):
    """SageMaker deletes no inference component in progress: the sweeper waits for it to
    settle, then deletes it and its endpoint, and never asks while it is Creating."""
    store, sm = aws
    twin.hosting.clock.speed = 120  # the component takes 1.5 s to be created
    endpoint = _deploy(twin, sm, FLASK.config["projectName"], "1")
    _ran(store, FLASK, clock.now() - timedelta(minutes=30), clock.now())
    result = handler(SWEEP, None, env=SWEEP_ENV)
    assert result["errors"] == []
    assert result["deleted"][:2] == [
        f"inference component {FLASK.config['projectName']}-default-1",
        f"endpoint {endpoint}",
    ]
    deletes = [c for c in twin.calls if c.action == "DeleteInferenceComponent"]
    assert [c.status for c in deletes] == [200]


@pytest.mark.functional
def test_a_component_that_stays_creating_is_left_for_the_next_sweep_and_said(twin, aws):
    store, sm = aws
    twin.faults.add("ic-hang", FLASK.config["projectName"])  # it never answers /ping
    endpoint = _deploy(twin, sm, FLASK.config["projectName"], "1")
    _ran(store, FLASK, clock.now() - timedelta(minutes=30), clock.now())
    result = handler(SWEEP, None, env={"POLL_SECONDS": "0.1", "PATIENCE_SECONDS": "0.5"})
    (error,) = result["errors"]
    assert error["resource"] == endpoint
    assert error["error"] == (
        f"RuntimeError: inference component {FLASK.config['projectName']}-default-1 still "
        "Creating after 0.5s: SageMaker deletes none in progress; the endpoint stays until it "
        "settles"
    )
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [endpoint]
    assert not [c for c in twin.calls if c.action == "DeleteInferenceComponent"]


@pytest.mark.functional
def test_a_regression_through_the_cli_publishes_one_message(cli, tmp_path, monkeypatch):
    """`mlcc-ci run` hands the lifecycle's notices to the topic MLCC_CI_TOPIC_ARN names:
    the record passed before (as a passing run leaves it), this run fails. Which transitions
    are told, and what they say: tests/test_notify_transitions.py."""
    from mlcc_ci.models import Outcome, StageResult
    from mlcc_ci.stores.base import finish
    from mlcc_ci.stores.open import open_store

    with mock_aws():
        topic, messages = _queue()
        monkeypatch.setenv("MLCC_CI_TOPIC_ARN", topic)
        cli("store", "create-tables", "--table", "mlcc-ci-table")
        store = open_store(None, table="mlcc-ci-table")
        store.register(from_entry(FLASK), "2026-01-01T00:00:00Z")
        running = claim(store, store.get(FLASK.config_id), "seed", "2026-01-01T01:00:00.000Z")
        finish(
            store,
            running,
            Outcome("pass", "2026-01-01T01:30:00Z", 1.0, {"teardown": StageResult("pass")}),
        )
        monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:deploy_test:fail")
        run = ("run", "http-flask", "--profile", "example", "--table", "mlcc-ci-table")
        assert cli(*run, "--work-dir", str(tmp_path / "w"), "--stale-hours", "0").exit_code == 1
        (regressed,) = messages()
        assert regressed["Subject"] == "mlcc-ci: http-flask regressed (fail-deploy_test)"
        assert (
            f"http-flask ({FLASK.config_id}) regressed: now fail-deploy_test, before pass."
            in regressed["Message"]
        )
        assert messages() == []


@pytest.mark.cdk
def test_in_a_shared_account_the_sweeper_describes_only_what_is_under_its_prefix(twin):
    """Another team's endpoint config (and one whose name only contains the prefix) sits
    in the account. The sweeper runs under its synthesized role, which may describe only
    `mlcc-ci-*`: it must not ask for theirs (IAM would refuse, and the whole sweep with
    it), and must still delete the model a finished run left."""
    from mlcc_ci.stores.open import open_store
    from tests.twin import fixture
    from tests.twin.loop import KEYS, enforce_roles, function_env, session
    from tests.twin.template import Template

    template = Template.load(fixture.synthesized())
    template.provision(fixture.clients(fixture.SERVICES))
    store = open_store(None, table=fixture.TABLE)
    store.register(from_entry(FLASK), "2026-01-01T00:00:00Z")
    sm = boto3.client("sagemaker", region_name="us-east-1")
    variant = {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    theirs = {"recsys-model": "recsys-epc", "team-mlcc-ci-model": "team-mlcc-ci-epc"}
    flask = FLASK.config["projectName"]
    for model in (*theirs, f"{flask}-model-1"):
        sm.create_model(
            ModelName=model,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/theirs",
            PrimaryContainer={"Image": IMAGE.format(model)},
        )
    for model, config in theirs.items():
        sm.create_endpoint_config(
            EndpointConfigName=config, ProductionVariants=[{**variant, "ModelName": model}]
        )
    now = clock.now()
    _ran(store, FLASK, now - timedelta(minutes=10), clock.now() + timedelta(seconds=5))
    enforce_roles(twin, template)
    env = {**function_env(template, "mlcc-ci-sweeper"), **SWEEP_ENV}

    dry = handler({"dryRun": True}, None, env=env, session=session("sweeper"))
    assert dry["errors"] == [] and dry["deleted"] == []
    assert dry["leaked"] == [{"resource": f"{flask}-model-1", "reason": dry["leaked"][0]["reason"]}]
    result = handler(SWEEP, None, env=env, session=session("sweeper"))
    assert result["deleted"] == [f"model {flask}-model-1"] and result["errors"] == []
    assert sorted(m["ModelName"] for m in sm.list_models()["Models"]) == sorted(theirs)
    assert sorted(
        c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]
    ) == sorted(theirs.values())
    sweeper = twin.calls_by(KEYS["sweeper"])
    assert sweeper and [c for c in sweeper if c.status >= 400] == []
    described = {
        c.params["EndpointConfigName"] for c in sweeper if c.action == "DescribeEndpointConfig"
    }
    assert described == set()  # none of the account's configs is the prefix's


@pytest.mark.functional
def test_teardown_deletes_the_endpoint_config_of_an_endpoint_sagemaker_refused(twin, aws):
    """do/deploy made its endpoint config, then CreateEndpoint was refused (a quota of 0):
    the harness's sweep after teardown deletes the config no endpoint will ever use."""
    from mlcc_ci import endpoint

    _, sm = aws
    variant = {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.g5.xlarge",
    }
    sm.create_endpoint_config(EndpointConfigName="mlcc-ci-p-epc-1", ProductionVariants=[variant])
    twin.set_quotas({"ml.g5.xlarge": 0})
    with pytest.raises(sm.exceptions.ClientError, match="ResourceLimitExceeded"):
        sm.create_endpoint(EndpointName="mlcc-ci-p-endpoint", EndpointConfigName="mlcc-ci-p-epc-1")
    where = endpoint.Deployed("mlcc-ci-p-endpoint", (), "us-east-1", "mlcc-ci-p-epc-1")
    remover = endpoint.Remover(sm, patience=1.0, poll=0.1)
    assert endpoint.sweep_up(where, remover) == ["endpoint config mlcc-ci-p-epc-1"]
    assert sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert endpoint.sweep_up(where, remover) == []  # nothing left: nothing said


def _nested_project(codebuild, name: str) -> None:
    codebuild.create_project(
        name=name,
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "x",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/nested",
    )


@pytest.mark.functional
def test_nested_builds_whose_run_is_over_are_stopped_and_a_running_runs_kept(twin, aws):
    """do/submit's build of a run that was killed keeps running and pushing: the sweep stops
    it; the build of a run under way, and builds outside the prefix, go on."""
    store, _ = aws
    now = clock.now()
    claim(store, store.get(VLLM.config_id), "live", clock.iso(now - timedelta(minutes=5), ms=True))
    flask, vllm = FLASK.config["projectName"], VLLM.config["projectName"]
    codebuild = boto3.client("codebuild", region_name="us-east-1")
    started = {}
    for project in (f"{flask}-build-use1", f"{vllm}-build-use1", "someone-else-build-use1"):
        _nested_project(codebuild, project)
        twin.faults.add("nested-build-slow", project)  # it runs for 90 build minutes
        started[project] = codebuild.start_build(projectName=project)["build"]["id"]
    _nested_project(codebuild, f"{flask}-build-euw1")  # another region's name: not ours

    def statuses():
        builds = codebuild.batch_get_builds(ids=list(started.values()))["builds"]
        return {b["projectName"]: b["buildStatus"] for b in builds}

    assert set(statuses().values()) == {"IN_PROGRESS"}
    dry = handler({"dryRun": True}, None, env=SWEEP_ENV)
    assert dry["nestedBuilds"] == {
        "stopped": [started[f"{flask}-build-use1"]],
        "running": [started[f"{vllm}-build-use1"]],
    }
    assert set(statuses().values()) == {"IN_PROGRESS"}  # a dry run only lists
    assert not [c for c in twin.calls if c.action == "StopBuild"]

    topic, messages = _queue()
    result = handler(SWEEP, None, env={**SWEEP_ENV, "TOPIC_ARN": topic})
    assert result["nestedBuilds"]["stopped"] == [started[f"{flask}-build-use1"]]
    assert result["errors"] == []
    assert statuses() == {
        f"{flask}-build-use1": "STOPPED",
        f"{vllm}-build-use1": "IN_PROGRESS",
        "someone-else-build-use1": "IN_PROGRESS",
    }
    (note,) = messages()
    assert f"stopped nested build {started[f'{flask}-build-use1']}" in note["Message"]
    again = handler(SWEEP, None, env={**SWEEP_ENV, "TOPIC_ARN": topic})
    assert again["nestedBuilds"]["stopped"] == []
    assert not [m for m in messages() if "stopped nested build" in m["Message"]]


def _slots_table() -> str:
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName="mlcc-ci-slots",
        KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "mlcc-ci-slots"


@pytest.mark.functional
def test_a_hand_made_endpoint_is_told_of_once_not_every_sweep(twin, aws):
    store, sm = aws
    now = clock.now()
    fastapi = FASTAPI.config["projectName"]
    _ran(store, FASTAPI, now - timedelta(hours=5), now - timedelta(hours=4), "pass")
    first = _deploy(twin, sm, fastapi, "5")  # a person's try, hours after the last run
    topic, messages = _queue()
    env = {**SWEEP_ENV, "TOPIC_ARN": topic, "SLOTS_TABLE_NAME": _slots_table()}

    assert handler({"dryRun": True}, None, env=env)["left"][0]["resource"] == first
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    assert ddb.scan(TableName="mlcc-ci-slots")["Items"] == []  # a dry run remembers nothing
    handler(SWEEP, None, env=env)
    (note,) = messages()
    assert f"left alone {first}" in note["Message"]
    (item,) = ddb.scan(TableName="mlcc-ci-slots")["Items"]
    assert item["slot"] == {"S": f"told#{first}"}
    expires = int(item["expiresAt"]["N"]) - clock.now().timestamp()
    assert 29.9 * 86400 < expires <= 30 * 86400

    for _ in range(3):  # a sweep every 15 minutes: still standing, still untold again
        assert handler(SWEEP, None, env=env)["left"][0]["resource"] == first
    assert messages() == []
    second = _deploy(twin, sm, fastapi, "6")  # a new one is news, the old one is not
    handler(SWEEP, None, env=env)
    (note,) = messages()
    assert f"left alone {second}" in note["Message"] and first not in note["Message"]
    # without the table (a sweep run by hand, locally) it is said each time, as before
    handler(SWEEP, None, env={**SWEEP_ENV, "TOPIC_ARN": topic})
    (note,) = messages()
    assert first in note["Message"] and second in note["Message"]


@pytest.mark.functional
def test_each_sweep_publishes_the_endpoints_in_service_and_the_oldest_age(twin, aws, monkeypatch):
    store, sm = aws
    now = clock.now()
    _ran(store, FLASK, now - timedelta(minutes=30), clock.now())
    leaked = _deploy(twin, sm, FLASK.config["projectName"], "1")  # deleted by the sweep
    _ran(store, FASTAPI, now - timedelta(hours=5), now - timedelta(hours=4), "pass")
    # left alone, counted (a model behind its variant: no component to delete first)
    by_hand = _deploy(twin, sm, FASTAPI.config["projectName"], "2", model=True)
    _deploy(twin, sm, "someone-else", "3")  # not under the prefix: not counted
    created = sm.describe_endpoint(EndpointName=by_hand)["CreationTime"]
    later = clock.now() + timedelta(minutes=90)
    monkeypatch.setattr(clock, "now", lambda: later)  # the sweep an hour and a half later

    result = handler(SWEEP, None, env=SWEEP_ENV)
    assert f"endpoint {leaked}" in result["deleted"] and result["errors"] == []
    assert result["fleet"]["in_service"] == 1
    age = (later - created).total_seconds() / 60
    assert abs(result["fleet"]["oldest_minutes"] - age) < 0.2 and age > 90
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    dimensions = [{"Name": "Prefix", "Value": "mlcc-ci"}]

    def published(metric):
        stats = cloudwatch.get_metric_statistics(
            Namespace="mlcc-ci",
            MetricName=metric,
            Dimensions=dimensions,
            StartTime=later - timedelta(minutes=5),
            EndTime=later + timedelta(minutes=5),
            Period=60,
            Statistics=["Maximum"],
        )
        return [p["Maximum"] for p in stats["Datapoints"]]

    assert published("EndpointsInService") == [1.0]
    assert published("OldestEndpointMinutes") == [result["fleet"]["oldest_minutes"]]
    sm.delete_endpoint(EndpointName=by_hand)
    sm.get_waiter("endpoint_deleted").wait(EndpointName=by_hand, WaiterConfig=SETTLE)
    assert handler(SWEEP, None, env=SWEEP_ENV)["fleet"] == {"in_service": 0, "oldest_minutes": 0}


@pytest.mark.functional
def test_the_sweeper_works_under_the_prefix_its_environment_names(twin, aws):
    """The stack gives its prefix (MLCC_CI_RESOURCE_PREFIX): another prefix's endpoints,
    the seed's included, are not the sweeper's."""
    _, sm = aws
    seed = _deploy(twin, sm, "mlcc-ci-x", "1")
    theirs = _deploy(twin, sm, "team-ci-y", "2")
    result = handler(
        {"dryRun": True}, None, env={**SWEEP_ENV, "MLCC_CI_RESOURCE_PREFIX": "team-ci"}
    )
    assert [x["resource"] for x in result["left"]] == [theirs]
    assert result["fleet"]["in_service"] == 1
    assert [x["resource"] for x in handler({"dryRun": True}, None, env=SWEEP_ENV)["left"]] == [seed]
