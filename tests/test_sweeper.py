"""The sweeper deletes endpoints no running run owns; notifications tell of regressions,
fixes and sweeps, and stay silent while everything is green. All against moto."""

import json
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from mlcc_ci import clock
from mlcc_ci.aws.sweeper import handler
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from tests.stores import dynamo_store

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()
FLASK, VLLM, FIL = (CATALOG.get(n) for n in ("http-flask", "transformers-vllm", "triton-fil"))


def _deploy(sm, project: str, suffix: str) -> str:
    """What the generated do/deploy leaves behind: model, endpoint config, endpoint."""
    model, config, endpoint = (
        f"{project}-{kind}-{suffix}" for kind in ("model", "config", "endpoint")
    )
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/mlcc-sagemaker-execution-role",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    sm.create_endpoint_config(
        EndpointConfigName=config,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.g4dn.xlarge",
            }
        ],
    )
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    return endpoint


def _queue(session_region="us-east-1"):
    sns = boto3.client("sns", region_name=session_region)
    sqs = boto3.client("sqs", region_name=session_region)
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
def aws():
    with mock_aws(), dynamo_store() as store:
        for entry in (FLASK, VLLM, FIL):
            store.register(from_entry(entry), "2026-01-01T00:00:00Z")
        yield store, boto3.client("sagemaker", region_name="us-east-1")


def test_sweeper_deletes_a_leaked_endpoint_and_leaves_a_running_one(aws):
    store, sm = aws
    now = clock.now()
    claim(
        store,
        store.get(VLLM.config_id),
        "live-run",
        clock.iso(now - timedelta(minutes=20), ms=True),
    )
    claim(store, store.get(FIL.config_id), "dead-run", clock.iso(now - timedelta(hours=3), ms=True))
    live = _deploy(sm, VLLM.config["projectName"], "1")
    leaked = _deploy(sm, FLASK.config["projectName"], "2")  # its run finished; teardown failed
    orphan = _deploy(sm, FIL.config["projectName"], "3")  # its run is past its deadline
    theirs = _deploy(sm, "someone-else", "4")  # not ours to touch
    topic, messages = _queue()

    dry = handler({"dryRun": True}, None, env={"TOPIC_ARN": topic})
    assert {x["endpoint"] for x in dry["leaked"]} == {leaked, orphan} and dry["deleted"] == []
    assert len(sm.list_endpoints()["Endpoints"]) == 4 and messages() == []

    result = handler({}, None, env={"TOPIC_ARN": topic})
    assert sorted(e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]) == sorted(
        [live, theirs]
    )
    assert (
        f"endpoint {leaked}" in result["deleted"]
        and f"model {FLASK.config['projectName']}-model-2" in result["deleted"]
    )
    assert {m["ModelName"] for m in sm.list_models()["Models"]} == {
        f"{VLLM.config['projectName']}-model-1",
        "someone-else-model-4",
    }
    (note,) = messages()
    assert note["Subject"] == "mlcc-ci sweeper deleted 2 leaked endpoint(s)"
    assert leaked in note["Message"] and orphan in note["Message"]
    assert handler({}, None, env={"TOPIC_ARN": topic})["deleted"] == []  # nothing more to do


def test_a_regression_publishes_one_message_and_a_green_run_none(cli, tmp_path, monkeypatch):
    with mock_aws():
        topic, messages = _queue()
        monkeypatch.setenv("MLCC_CI_TOPIC_ARN", topic)
        cli("store", "create-tables", "--table", "mlcc-ci-table")
        run = (
            "run",
            "http-flask",
            "--profile",
            "example",
            "--table",
            "mlcc-ci-table",
            "--work-dir",
            str(tmp_path / "w"),
            "--stale-hours",
            "0",
        )
        assert cli(*run).exit_code == 0
        assert cli(*run).exit_code == 0
        assert messages() == []  # untested -> pass -> pass: nothing to tell
        monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:deploy_test:fail")
        assert cli(*run).exit_code == 1
        (regressed,) = messages()
        assert regressed["Subject"] == "mlcc-ci: http-flask regressed (fail-deploy_test)"
        assert "before pass" in regressed["Message"]
        assert cli(*run).exit_code == 1
        assert messages() == []  # still failing: no news
        monkeypatch.delenv("MLCC_CI_FAULT")
        assert cli(*run).exit_code == 0
        (fixed,) = messages()
        assert fixed["Subject"] == "mlcc-ci: http-flask fixed (pass)"
