"""The recorder Lambda (mlcc_ci/aws/recorder.py), the orchestrator's failure path, against
moto's DynamoDB: what it writes for each error Step Functions may catch, and that it leaves
a run that wrote its own result alone."""

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlcc_ci import clock
from mlcc_ci.aws.recorder import HAD_RESULT, RECORDED, handler, message
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.dynamodb import DynamoStore

ENV = {"TABLE_NAME": "mlcc-ci-table", "RUNS_TABLE_NAME": "mlcc-ci-runs"}


def _queue_timeout() -> str:
    phases = [
        {"PhaseType": "SUBMITTED", "PhaseStatus": "SUCCEEDED"},
        {"PhaseType": "QUEUED", "PhaseStatus": "TIMED_OUT"},
        {"PhaseType": "COMPLETED"},
    ]
    build = {"BuildStatus": "TIMED_OUT", "CurrentPhase": "COMPLETED", "Phases": phases}
    return json.dumps({"Build": build})


@pytest.fixture
def claimed(monkeypatch):
    """A record that last passed, claimed by run `run1`; the store it is in."""
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoStore(
            client, table=ENV["TABLE_NAME"], runs_table=ENV["RUNS_TABLE_NAME"], region="us-east-1"
        )
        store.create_tables()
        entry = next(e for e in load_valid_catalog().entries if e.supported)
        store.register(from_entry(entry), "2026-01-01T00:00:00Z")
        record = store.get(from_entry(entry).configId)
        assert record is not None
        passed = replace(record, testStatus="pass", version=record.version + 1)
        store.replace(passed, expect_version=record.version, expect_run_id=None)
        yield store, claim(store, passed, "run1", clock.iso(clock.now(), ms=True))


def _record(store: Any, config_id: str, error: str, cause: str, run_id: str = "run1") -> Any:
    event = {"configId": config_id, "runId": run_id, "error": {"Error": error, "Cause": cause}}
    session = boto3.session.Session(region_name="us-east-1")
    return handler(event, None, env=ENV, session=session)


@pytest.mark.parametrize(
    ("error", "cause", "cls", "rule"),
    [
        ("CodeBuild.ThrottlingException", "Rate exceeded", "infra", "aws-throttling"),
        # the SDK's base exception, the service's code in the cause (Step Functions' words
        # for an error its SDK does not model)
        (
            "CodeBuild.AWSCodeBuildException",
            "Rate exceeded (Service: AWSCodeBuild; Status Code: 400; Error Code: "
            "ThrottlingException; Request ID: 1a2b)",
            "infra",
            "aws-throttling",
        ),
        (
            "CodeBuild.AccountLimitExceededException",
            "Cannot have more than 5 builds in queue for the account",
            "quota",
            "codebuild-account-limit",
        ),
        ("States.TaskFailed", _queue_timeout(), "infra", "codebuild-queue-timeout"),
    ],
)
def test_a_failure_of_the_infrastructure_blocks_the_run_and_keeps_its_status(
    claimed, error, cause, cls, rule
):
    store, running = claimed
    out = _record(store, running.configId, error, cause)
    assert (out["outcome"], out["status"], out["blocked"], out["class"]) == (
        RECORDED,
        "pass",
        True,
        cls,
    )
    record = store.get(running.configId)
    assert (record.testStatus, record.runId) == ("pass", None)
    assert (record.blocked.cls, record.blocked.rule, record.blocked.stage) == (cls, rule, "build")
    (attempt,) = store.history(running.configId)
    assert (attempt.runId, attempt.status, attempt.failure.cls) == ("run1", "fail-build", cls)


def test_a_build_that_failed_in_its_build_phase_fails_the_configuration(claimed):
    store, running = claimed
    cause = json.dumps({"Build": {"BuildStatus": "FAILED", "CurrentPhase": "COMPLETED"}})
    out = _record(store, running.configId, "States.TaskFailed", cause)
    assert (out["outcome"], out["status"], out["blocked"]) == (RECORDED, "fail-build", False)
    record = store.get(running.configId)
    assert record.failure.cls == "unclassified" and record.blocked is None
    assert "executor build FAILED" in record.errorMessage
    assert f"build/{running.configId}/run1/" in record.errorMessage


def test_a_retry_of_the_claimed_run_is_still_this_run(claimed):
    store, running = claimed
    retry = replace(running, runId="run1-r2", version=running.version + 1)
    store.replace(retry, expect_version=running.version, expect_run_id="run1")
    out = _record(store, running.configId, "CodeBuild.ThrottlingException", "Rate exceeded")
    assert out["outcome"] == RECORDED and store.get(running.configId).blocked is not None


@pytest.mark.parametrize("run_id", ["other", "run10"])
def test_a_run_that_is_not_this_one_is_left_alone(claimed, run_id):
    store, running = claimed
    out = _record(store, running.configId, "States.Timeout", "timed out", run_id=run_id)
    assert out["outcome"] == HAD_RESULT
    assert store.get(running.configId) == running
    assert store.history(running.configId) == []


def test_a_run_that_wrote_its_result_keeps_it(claimed):
    store, running = claimed
    from mlcc_ci.models import Outcome
    from mlcc_ci.stores.base import finish

    finish(store, running, Outcome("pass", clock.iso(clock.now()), 1.0, {}))
    out = _record(store, running.configId, "States.TaskFailed", _queue_timeout())
    assert (out["outcome"], out["status"]) == (HAD_RESULT, "pass")
    assert store.get(running.configId).blocked is None


def test_an_unknown_configuration_is_nothing_to_record(claimed):
    store, _ = claimed
    assert _record(store, "nosuchconfig", "States.Timeout", "")["outcome"] == HAD_RESULT


def test_the_message_is_redacted_and_keeps_only_the_builds_status_and_phase():
    secret = "hf_" + "a" * 30
    cause = json.dumps(
        {
            "Build": {
                "BuildStatus": "FAILED",
                "CurrentPhase": "COMPLETED",
                "Environment": {"EnvironmentVariables": [{"Name": "T", "Value": secret}]},
            }
        }
    )
    text = message("States.TaskFailed", cause, "c1", "r1")
    assert text.startswith("executor build FAILED in phase COMPLETED (States.TaskFailed)")
    assert secret not in text and "Environment" not in text
    other = message("States.Runtime", f"bad input token={secret}", "c1", "r1")
    assert secret not in other and "States.Runtime" in other


@pytest.mark.cdk  # the asset installs the Lambda's wheels (make lambda-wheels)
def test_the_lambda_asset_classifies_with_nothing_but_itself_and_boto3(tmp_path):
    """The asset the stack deploys (built for this machine's Python) carries the failure
    rules and a YAML reader: a throttled StartBuild classifies as infra there, with no
    site-packages at all (as `_classified` would otherwise fall back to unclassified)."""
    import subprocess
    import sys
    from pathlib import Path

    from mlcc_ci.stack.assets import scanner_asset

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    asset = scanner_asset(tmp_path / "asset", python_version=version)
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import six
    import urllib3

    folder = tmp_path / "boto3-only"
    folder.mkdir()
    for module in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3):
        (folder / Path(str(module.__file__)).parent.name).symlink_to(
            Path(str(module.__file__)).parent
        )
    (folder / "six.py").symlink_to(str(six.__file__))
    script = (
        "import json, sys; sys.path[:0] = sys.argv[1:3]; "
        "from mlcc_ci.aws.recorder import message; from mlcc_ci.scheduling import _classified; "
        "import yaml; "
        "f, _ = _classified('build', message('CodeBuild.ThrottlingException', 'Rate exceeded', "
        "'c', 'r')); print(json.dumps({'cls': f.cls, 'rule': f.rule, 'yaml': yaml.__file__}))"
    )
    probe = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(asset), str(folder)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert (result["cls"], result["rule"]) == ("infra", "aws-throttling")
    assert result["yaml"].startswith(str(asset))
