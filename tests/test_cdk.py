"""The real synthesized MlccCiHarnessStack: names, properties, least privilege, cdk-nag,
cfn-lint, and the CDK CLI's own synth. All offline."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlcc_ci import constants
from mlcc_ci.cost import EXECUTOR_COMPUTE_TYPE
from tests.conftest import REPO
from tests.stores import pass_state_machine

pytestmark = pytest.mark.cdk
CDK = REPO / "cdk"
REGION = "us-east-1"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """Synthesize once with the AwsSolutions checks on; a finding fails the synth."""
    from aws_cdk.assertions import Template

    from mlcc_ci.stack.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(str(outdir), region=REGION)
    assembly = app.synth()
    stack = app.node.find_child(constants.STACK_NAME)
    report = json.loads((outdir / "validation-report.json").read_text())
    return {
        "template": Template.from_stack(stack),
        "outdir": outdir,
        "assembly": assembly,
        "report": report,
        "json": json.loads((outdir / f"{constants.STACK_NAME}.template.json").read_text()),
    }


def resources(synth, kind):
    return {k: v for k, v in synth["json"]["Resources"].items() if v["Type"] == kind}


def lambda_named(synth, name):
    (function,) = (
        f
        for f in resources(synth, "AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == name
    )
    return function


def topic_named(synth, name):
    (logical,) = (
        k
        for k, v in resources(synth, "AWS::SNS::Topic").items()
        if v["Properties"]["TopicName"] == name
    )
    return logical


def test_cdk_nag_aws_solutions_pass_with_written_reasons(synth):
    (plugin,) = synth["report"]["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    assert plugin["conclusion"] == "success" and plugin["violations"] == []
    assert plugin["suppressedViolations"]
    for suppressed in plugin["suppressedViolations"]:
        assert len(suppressed["reason"]) > 30, suppressed["ruleName"]
    rules = {s["ruleName"].split("[")[0] for s in plugin["suppressedViolations"]}
    assert rules == {"AwsSolutions-IAM5", "AwsSolutions-CB4", "AwsSolutions-L1", "AwsSolutions-S1"}


def test_tables(synth):
    t = synth["template"]
    t.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": constants.TABLE_NAME,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "configId", "KeyType": "HASH"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": constants.STATUS_INDEX,
                    "KeySchema": [
                        {"AttributeName": "testStatus", "KeyType": "HASH"},
                        {"AttributeName": "lastTestTimestamp", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )
    t.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": constants.RUNS_TABLE_NAME,
            "KeySchema": [
                {"AttributeName": "configId", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        },
    )
    tables = {
        t["Properties"]["TableName"]: t for t in resources(synth, "AWS::DynamoDB::Table").values()
    }
    # results outlive the stack; the slots (claims and the day's spend) need not
    assert {n: t["DeletionPolicy"] for n, t in tables.items()} == {
        constants.TABLE_NAME: "Retain",
        constants.RUNS_TABLE_NAME: "Retain",
        "mlcc-ci-slots": "Delete",
    }


def test_scanner_lambda_and_schedule(synth):
    t = synth["template"]
    function = lambda_named(synth, constants.SCANNER_FUNCTION)
    props = function["Properties"]
    assert props["FunctionName"] == constants.SCANNER_FUNCTION
    assert props["Runtime"].startswith("python3.")
    assert props["Handler"] == "mlcc_ci.aws.scanner.handler"
    env = props["Environment"]["Variables"]
    assert set(env) >= {
        "TABLE_NAME",
        "RUNS_TABLE_NAME",
        "STATE_MACHINE_ARN",
        "MAX_CONCURRENCY",
        "STALE_HOURS",
    }
    assert env["MAX_CONCURRENCY"] == {"Ref": "MaxConcurrency"}
    assert props["LoggingConfig"]["LogGroup"] == {
        "Ref": next(iter(resources(synth, "AWS::Logs::LogGroup")))
    }
    t.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Name": constants.SCHEDULE_RULE,
            "ScheduleExpression": {"Ref": "ScannerSchedule"},
            "State": "ENABLED",
        },
    )
    # the scheduled event itself reaches the handler (no input replaces it): the scan runs
    # as of its `time`
    (rule,) = [
        r["Properties"]
        for r in resources(synth, "AWS::Events::Rule").values()
        if r["Properties"]["Name"] == constants.SCHEDULE_RULE
    ]
    (target,) = rule["Targets"]
    assert not {"Input", "InputPath", "InputTransformer"} & set(target)
    params = synth["json"]["Parameters"]
    assert params["MaxConcurrency"]["Default"] == 1 and params["MaxConcurrency"]["MinValue"] == 1
    assert params["ScannerSchedule"]["Default"] == "rate(1 hour)"


def test_reserved_concurrency_is_a_parameter_off_by_default(synth):
    """Reserving any concurrency fails CreateFunction on accounts whose quota is 10."""
    param = synth["json"]["Parameters"]["LambdaReservedConcurrency"]
    assert (param["Default"], param["MinValue"], param["MaxValue"]) == (0, 0, 1)
    condition = synth["json"]["Conditions"]["Reserving"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "LambdaReservedConcurrency"}, 0]}]}
    for name in (constants.SCANNER_FUNCTION, constants.SWEEPER_FUNCTION):
        reserved = lambda_named(synth, name)["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == {
            "Fn::If": ["Reserving", {"Ref": "LambdaReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
        }


def test_log_group(synth):
    synth["template"].has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": constants.LOG_GROUP, "RetentionInDays": 90}
    )


def test_executor_projects(synth):
    projects = {
        p["Properties"]["Name"]: p["Properties"]
        for p in resources(synth, "AWS::CodeBuild::Project").values()
    }
    assert set(projects) == {constants.EXECUTOR_PROJECT, f"{constants.EXECUTOR_PROJECT}-dind"}
    for name, props in projects.items():
        # from the catalog's stage timeouts: generate 600 + validate 120 + build 3600 +
        # deploy_test 3600 + register 60 + teardown 900 + 120 to record = 9000 s until
        # SIGTERM; then 600 to install before, another teardown and record after, and 120
        # for post_build: 10680 s, 178 min -> 179
        assert props["TimeoutInMinutes"] == 179
        assert props["QueuedTimeoutInMinutes"] == 60
        # what cost estimates count for a run in the executor
        assert (
            props["Environment"]["ComputeType"] == EXECUTOR_COMPUTE_TYPE == "BUILD_GENERAL1_MEDIUM"
        )
        assert props["Environment"]["PrivilegedMode"] == name.endswith("-dind")
        phases = json.loads(props["Source"]["BuildSpec"])["phases"]
        spec = "\n".join(c for phase in phases.values() for c in phase["commands"])
        assert (
            'mlcc-ci run --config-id "$CONFIG_ID" --run-id "$RUN_ID" --store "dynamodb://' in spec
        )
        assert "mlcc-ci record-failure" in "\n".join(phases["post_build"]["commands"])
        # the runner is told its budget (retries within the run must fit in it) by the
        # very variable `timeout` is given: one number
        build = phases["build"]["commands"]
        (export,) = [c for c in build if c.startswith("export MLCC_CI_RUN_SECONDS=")]
        budget = int(export.removeprefix("export MLCC_CI_RUN_SECONDS="))
        assert budget == 9000
        (run,) = [c for c in build if "mlcc-ci run" in c]
        assert run.startswith('timeout --signal=TERM "${MLCC_CI_RUN_SECONDS}s" mlcc-ci run ')
        assert build.index(export) < build.index(run)
        # after SIGTERM at the budget, teardown still has its whole timeout, and the
        # result its minutes, before CodeBuild stops the build
        teardown = 900
        assert props["TimeoutInMinutes"] * 60 - 600 - budget >= teardown + 120 + 120
        logs = props["LogsConfig"]["CloudWatchLogs"]
        assert logs["GroupName"] == {"Ref": next(iter(resources(synth, "AWS::Logs::LogGroup")))}
        assert logs["StreamName"] == "build"
        # the orchestrator names the stream prefix build/<configId>/<runId>, to which
        # CodeBuild appends the build's UUID: that is what stage log pointers name
        assert (
            'export MLCC_CI_LOG_STREAM="build/$CONFIG_ID/$RUN_ID/${CODEBUILD_BUILD_ID#*:}"' in spec
        )
        # CodeBuild reserves the CODEBUILD_ prefix for its own variables
        names = [v["Name"] for v in props["Environment"]["EnvironmentVariables"]]
        assert not [n for n in names if n.startswith("CODEBUILD_")], names


def test_executor_installs_the_pinned_generator_on_a_node_it_accepts(synth, pinned_generator):
    """One source of truth: the catalog's pin, through `mlcc-ci generator install`, on the
    image's own Node.js runtime, whose major is the one the generator's `engines` asks for;
    nothing is fetched from outside AWS (no `n`, no nodejs.org)."""
    (props,) = (
        p["Properties"]
        for p in resources(synth, "AWS::CodeBuild::Project").values()
        if p["Properties"]["Name"] == constants.EXECUTOR_PROJECT
    )
    install = json.loads(props["Source"]["BuildSpec"])["phases"]["install"]
    assert "mlcc-ci generator install" in install["commands"]
    assert not any("npm install" in c and "container-creator" in c for c in install["commands"])
    assert not any(c.startswith("n ") or "nodejs.org" in c for c in install["commands"])
    engines = json.loads((pinned_generator.root / "package.json").read_text())["engines"]["node"]
    assert engines.startswith(">=")
    assert install["runtime-versions"]["nodejs"] == engines.removeprefix(">=").split(".")[0]
    assert "GeneratorPackage" not in synth["json"].get("Parameters", {})


def _definition(synth) -> str:
    (machine,) = resources(synth, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "REF" for p in parts)


def test_state_machine(synth):
    (machine,) = resources(synth, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["StateMachineName"] == constants.STATE_MACHINE
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert props["TracingConfiguration"] == {"Enabled": True}
    definition = json.loads(_definition(synth))
    assert definition["TimeoutSeconds"] == (60 + 179 + 15) * 60
    states = definition["States"]
    for build in ("Build", "BuildDockerInDocker"):
        state = states[build]
        assert state["Resource"].endswith(":states:::codebuild:startBuild.sync")
        overrides = {
            e["Name"]: e["Value.$"] for e in state["Parameters"]["EnvironmentVariablesOverride"]
        }
        assert overrides == {
            "CONFIG_ID": "$.configId",
            "RUN_ID": "$.runId",
            "BUILD_STRATEGY": "$.buildStrategy",
        }
        assert state["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}
        ]
        # StartBuild's own refusals are retried with backoff before the Catch sees them
        assert state["Retry"] == [
            {
                "ErrorEquals": [
                    "CodeBuild.ThrottlingException",
                    "CodeBuild.AWSCodeBuildException",
                    "CodeBuild.CodeBuildException",
                    "CodeBuild.AccountLimitExceededException",
                ],
                "IntervalSeconds": 30,
                "MaxAttempts": 3,
                "BackoffRate": 2,
            }
        ]
        # it waits as long as the build may queue (60 min) and run (179), and a little more
        assert state["TimeoutSeconds"] == (60 + 179 + 5) * 60
        stream = state["Parameters"]["LogsConfigOverride"]["CloudWatchLogs"]["StreamName.$"]
        assert stream == "States.Format('build/{}/{}', $.configId, $.runId)"
    # the recorder Lambda (mlcc_ci/aws/recorder.py) writes the failure, classified
    failure = states["RecordFailure"]
    assert failure["Resource"].endswith(":states:::lambda:invoke")
    assert failure["Parameters"]["Payload"] == {
        "configId.$": "$.configId",
        "runId.$": "$.runId",
        "error.$": "$.error",
    }
    assert failure["Next"] == "Recorded"
    (recorded,) = states["Recorded"]["Choices"]
    assert (recorded["StringEquals"], recorded["Next"]) == ("recorded", "ExecutorFailed")
    assert states["Recorded"]["Default"] == "RunRecordedItsFailure"
    choice = states["BuildStrategy"]["Choices"][0]
    assert choice == {
        "Variable": "$.buildStrategy",
        "StringEquals": "docker-in-docker",
        "Next": "BuildDockerInDocker",
    }


def _statements(synth):
    for kind in ("AWS::IAM::Policy", "AWS::IAM::Role"):
        for resource in resources(synth, kind).values():
            documents = [resource["Properties"].get("PolicyDocument")] + [
                p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])
            ]
            for document in filter(None, documents):
                yield from document["Statement"]


def test_no_wildcard_actions(synth):
    for statement in _statements(synth):
        actions = statement.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            assert action != "*" and not action.endswith(":*"), statement
        assert "NotAction" not in statement


def test_pass_role_is_scoped_and_conditioned(synth):
    passes = [
        s
        for s in _statements(synth)
        if "iam:PassRole" in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert passes
    for statement in passes:
        assert statement["Resource"] != "*"
        assert "iam:PassedToService" in statement["Condition"]["StringEquals"]


def test_lambda_asset_is_built_for_the_lambda_runtime(synth):
    function = lambda_named(synth, constants.SCANNER_FUNCTION)
    assert function["Properties"]["Runtime"] == "python3.12"
    asset_hash = function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    asset = Path(synth["outdir"]) / f"asset.{asset_hash}"
    assert (asset / "mlcc_ci" / "aws" / "scanner.py").is_file()
    assert (asset / "mlcc_ci" / "_data" / "schema" / "ci-record.schema.json").is_file()
    # the catalog the scanner compares records with, as JSON: the Lambda reads no YAML
    from mlcc_ci.aws.scanner import REGISTRATIONS_FILE
    from mlcc_ci.catalog import load_valid_catalog

    packaged = json.loads((asset / "mlcc_ci" / "_data" / REGISTRATIONS_FILE).read_text())
    assert set(packaged) == {e.config_id for e in load_valid_catalog().entries if e.supported}
    for dependency in ("jsonschema", "referencing", "rpds", "attrs"):
        assert (asset / dependency / "__init__.py").is_file()
    assert (asset / "typing_extensions.py").is_file()  # referencing needs it below 3.13
    (binary,) = (asset / "rpds").glob("*.so")
    assert ".cpython-312-x86_64-linux-gnu." in binary.name


def _only_boto3(tmp_path: Path) -> Path:
    """A folder holding boto3 and its own dependencies, and nothing else."""
    import boto3
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import six
    import urllib3

    folder = tmp_path / "boto3-only"
    folder.mkdir()
    for module in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3):
        (folder / Path(module.__file__).parent.name).symlink_to(Path(module.__file__).parent)
    (folder / "six.py").symlink_to(six.__file__)
    return folder


def test_the_handler_runs_from_the_bare_asset(tmp_path, moto_server):
    """The same recipe, built for this machine's Python: the handler imports and scans with
    nothing on the path but the asset and boto3 (no site-packages at all)."""
    from mlcc_ci.stack.assets import scanner_asset

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    asset = scanner_asset(tmp_path / "asset", python_version=version)
    import boto3

    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.registration import from_entry
    from mlcc_ci.stores.open import open_store

    os.environ["AWS_ENDPOINT_URL"] = moto_server
    try:
        store = open_store("dynamodb://mlcc-ci-table?region=us-east-1")
        store.create_tables()
        for entry in load_valid_catalog().entries:
            store.register(from_entry(entry), "2026-01-01T00:00:00Z")
        arn = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
            name="mlcc-ci-orchestrator",
            roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
    finally:
        del os.environ["AWS_ENDPOINT_URL"]
    script = (
        "import json, sys; sys.path[:0] = sys.argv[1:3]; "
        "from mlcc_ci.aws.scanner import handler; import jsonschema; "
        "out = handler({}, None); "
        "print(json.dumps({'started': len(out['executionArns']), 'jsonschema': jsonschema.__file__}))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "STATE_MACHINE_ARN": arn,
        "MAX_CONCURRENCY": "2",
    }
    probe = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(asset), str(_only_boto3(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.strip().splitlines()[-1])
    assert result["started"] == 2 and result["jsonschema"].startswith(str(asset))


def test_cfn_lint_reports_no_error(synth):
    template = Path(synth["outdir"]) / f"{constants.STACK_NAME}.template.json"
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--non-zero-exit-code",
            "error",
            str(template),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdk_cli_synth_offline(tmp_path):
    cli = CDK / "node_modules" / ".bin" / "cdk"
    assert cli.exists(), "run `make cdk-cli` (part of `make test`) to install the CDK CLI"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }
    result = subprocess.run(
        [
            *(str(cli), "synth", "-q", "--no-notices", "--output", str(tmp_path / "out")),
            *("-c", f"region={REGION}"),
        ],
        cwd=CDK,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "out" / f"{constants.STACK_NAME}.template.json").is_file()


def _dynamodb_calls(cli, tmp_path):
    """Every DynamoDB call the shipped code makes on the AWS path, by the component making it:
    the scanner handler, the executor's `run --config-id` and `record-failure`, the sweeper."""
    import boto3
    from moto import mock_aws

    from mlcc_ci.aws.scanner import handler

    calls: dict[str, set[tuple[str, str]]] = {
        c: set() for c in ("scanner", "executor", "sweeper", "recorder")
    }
    who = ["setup"]

    def record(model, params, **kwargs):
        if who[0] in calls:
            target = "index" if params.get("IndexName") else params.get("TableName")
            calls[who[0]].add((model.name, target))

    original = boto3.session.Session.client

    def client(self, *args, **kwargs):
        made = original(self, *args, **kwargs)
        made.meta.events.register("before-parameter-build.dynamodb", record)
        return made

    store = "dynamodb://mlcc-ci-table?region=us-east-1"
    with mock_aws(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(boto3.session.Session, "client", client)
        cli("store", "create-tables", "--table", "mlcc-ci-table")
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="mlcc-ci-slots",
            KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        slots = {"SLOTS_TABLE_NAME": "mlcc-ci-slots"}
        scan_env = {"MAX_CONCURRENCY": "3", **slots}
        cli("register", "--from-catalog", "--all", "--table", "mlcc-ci-table")
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = pass_state_machine(sfn)
        from mlcc_ci import clock
        from mlcc_ci.stores.base import claim
        from mlcc_ci.stores.open import open_store

        orphan = next(open_store(store).records())  # its executor died three hours ago
        long_ago = clock.iso(clock.now() - __import__("datetime").timedelta(hours=3), ms=True)
        claim(open_store(store), orphan, "lost-run", long_ago)
        # one that passed a minute ago: the status index does not give it, so the scanner
        # reads it to tell whether its catalog entry changed since
        from mlcc_ci.models import Outcome
        from mlcc_ci.stores.base import finish

        passed = next(
            r for r in open_store(store).records() if r.supported and r.configId != orphan.configId
        )
        running = claim(open_store(store), passed, "done-run", clock.iso(clock.now(), ms=True))
        finish(open_store(store), running, Outcome("pass", clock.iso(clock.now()), 1.0, {}))
        who[0] = "scanner"
        scan_env = {**scan_env, "STATE_MACHINE_ARN": arn, "DAILY_SPEND_CAP": "100000"}
        started = handler({}, None, env=scan_env)
        assert started["reaped"], started
        payloads = [
            json.loads(sfn.describe_execution(executionArn=e)["input"])
            for e in started["executionArns"]
        ]
        who[0] = "executor"
        first, second = payloads[:2]
        ran = cli(
            "run",
            "--config-id",
            first["configId"],
            "--run-id",
            first["runId"],
            "--store",
            store,
            "--profile",
            "example",
            "--work-dir",
            str(tmp_path / "w"),
        )
        assert ran.exit_code == 0, ran.output
        failed = cli(
            "record-failure",
            "--config-id",
            second["configId"],
            "--run-id",
            second["runId"],
            "--store",
            store,
            "--message",
            "the build died",
        )
        assert failed.exit_code == 0, failed.output
        from mlcc_ci.aws.recorder import handler as recorder

        who[0] = "recorder"  # the third build died before its run wrote anything
        third = payloads[2]
        error = {"Error": "States.TaskFailed", "Cause": "{}"}
        recorded = recorder({**third, "error": error}, None, env={})
        assert recorded["outcome"] == "recorded", recorded
        who[0] = "scanner"  # the next scan frees the slots of runs that are over
        handler({}, None, env=scan_env)
        from mlcc_ci.aws.sweeper import handler as sweeper

        # someone's own endpoint config under the prefix: left alone, and told of once
        sm = boto3.client("sagemaker", region_name="us-east-1")
        sm.create_model(
            ModelName="someone-elses-model",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:y"},
        )
        sm.create_endpoint_config(
            EndpointConfigName="mlcc-ci-by-hand-epc-1",
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "someone-elses-model",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        who[0] = "sweeper"
        sweeper({"dryRun": False}, None, env={**slots, "POLL_SECONDS": "0"})
    return calls


def test_every_dynamodb_call_of_the_aws_path_is_allowed_and_nothing_more(synth, cli, tmp_path):
    """The roles' DynamoDB permissions are derived from what the code really calls."""
    calls = _dynamodb_calls(cli, tmp_path)
    res = synth["json"]["Resources"]
    tables = {
        v["Properties"]["TableName"]: k
        for k, v in res.items()
        if v["Type"] == "AWS::DynamoDB::Table"
    }

    def allowed(role_prefix: str) -> set[tuple[str, str]]:
        out = set()
        for policy in (v for v in res.values() if v["Type"] == "AWS::IAM::Policy"):
            if "Condition" in policy:
                continue  # made only when a parameter asks (PublishBucket: test_cdk_publish.py)
            roles = [r["Ref"] for r in policy["Properties"]["Roles"]]
            if not any(r.startswith(role_prefix) for r in roles):
                continue
            for st in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                for action in actions:
                    if not action.startswith("dynamodb:"):
                        continue
                    for r in resources:
                        text = json.dumps(r)
                        for name, logical in tables.items():
                            if logical in text:
                                target = "index" if "/index/" in text else name
                                out.add((action.removeprefix("dynamodb:"), target))
        return out

    for component, prefix in (
        ("scanner", "ScannerRole"),
        ("executor", "ExecutorRole"),
        ("sweeper", "SweeperRole"),
        ("recorder", "RecorderRole"),
    ):
        need = calls[component]
        have = allowed(prefix)
        assert need, component
        assert need <= have, (component, sorted(need - have))
        assert {a for a, _ in have} <= {a for a, _ in need} | {"DescribeTable"}, (
            component,
            sorted(have - need),
        )


def test_sweeper_and_notifications(synth):
    sweeper = lambda_named(synth, constants.SWEEPER_FUNCTION)["Properties"]
    assert sweeper["Handler"] == "mlcc_ci.aws.sweeper.handler"
    assert set(sweeper["Environment"]["Variables"]) >= {"TABLE_NAME", "TOPIC_ARN"}
    synth["template"].has_resource_properties(
        "AWS::Events::Rule",
        {"Name": constants.SWEEPER_RULE, "ScheduleExpression": "rate(15 minutes)"},
    )
    topic_id = topic_named(synth, constants.NOTIFICATION_TOPIC)
    platform_id = topic_named(synth, constants.PLATFORM_TOPIC)
    (subscription,) = resources(synth, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Condition"]  # only when NotificationEmail is given
    assert synth["json"]["Parameters"]["NotificationEmail"]["Default"] == ""
    publishers = set()
    for policy in resources(synth, "AWS::IAM::Policy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if "sns:Publish" in actions and st["Resource"] != {"Ref": platform_id}:
                assert st["Resource"] == {"Ref": topic_id}
                publishers.update(r["Ref"] for r in policy["Properties"]["Roles"])
            for action in actions:
                if action.startswith("sagemaker:Delete"):
                    for r in st["Resource"]:
                        assert json.dumps(r).endswith(
                            '/mlcc-ci-*"]]}'
                        ) or "mlcc-ci-*" in json.dumps(r)
    assert {p.split("Role")[0] for p in publishers} == {"Executor", "Sweeper"}
    (executor,) = (
        p["Properties"]
        for p in resources(synth, "AWS::CodeBuild::Project").values()
        if p["Properties"]["Name"] == constants.EXECUTOR_PROJECT
    )
    names = {v["Name"] for v in executor["Environment"]["EnvironmentVariables"]}
    assert "MLCC_CI_TOPIC_ARN" in names


def test_the_platform_team_has_a_topic_of_its_own(synth):
    """Infrastructure that blocks a configuration goes to the platform team's topic: made as
    the owners' is (TLS only), named to the executor by the variable the runner reads, which
    alone may publish to it, and named by an output to subscribe to."""
    from mlcc_ci.aws.notify import TOPICS

    topics = resources(synth, "AWS::SNS::Topic")
    owners = topic_named(synth, constants.NOTIFICATION_TOPIC)
    platform = topic_named(synth, constants.PLATFORM_TOPIC)
    assert set(topics) == {owners, platform}
    # the same hygiene: every property but the names alike, and a policy refusing plain HTTP
    unnamed = [
        {k: v for k, v in topics[t]["Properties"].items() if k not in ("TopicName", "DisplayName")}
        for t in (owners, platform)
    ]
    assert unnamed[0] == unnamed[1]
    for topic in (owners, platform):
        (policy,) = [
            p["Properties"]
            for p in resources(synth, "AWS::SNS::TopicPolicy").values()
            if p["Properties"]["Topics"] == [{"Ref": topic}]
        ]
        # the owners' also lets AWS Budgets publish its alerts (tests/test_cdk_cost.py)
        (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # the executor is told it by the name the runner's platform publisher reads
    (executor,) = (
        p["Properties"]
        for p in resources(synth, "AWS::CodeBuild::Project").values()
        if p["Properties"]["Name"] == constants.EXECUTOR_PROJECT
    )
    variables = {v["Name"]: v["Value"] for v in executor["Environment"]["EnvironmentVariables"]}
    assert variables["MLCC_CI_PLATFORM_TOPIC_ARN"] == {"Ref": platform}
    assert "MLCC_CI_PLATFORM_TOPIC_ARN" in TOPICS["platform"]
    assert variables["MLCC_CI_TOPIC_ARN"] == {"Ref": owners}
    # and only the executor may publish to it, by a statement naming exactly it
    publishers = []
    for policy in resources(synth, "AWS::IAM::Policy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            resource = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if {"Ref": platform} in resource:
                assert st["Action"] == "sns:Publish" and resource == [{"Ref": platform}], st
                publishers += [r["Ref"] for r in policy["Properties"]["Roles"]]
    assert [p.split("Role")[0] for p in publishers] == ["Executor"]
    # the stack names it for subscribing
    outputs = synth["json"]["Outputs"]
    assert outputs["PlatformTopicArn"]["Value"] == {"Ref": platform}
    assert "aws sns subscribe" in outputs["PlatformTopicArn"]["Description"]
    assert outputs["NotificationTopicArn"]["Value"] == {"Ref": owners}


def test_the_sagemaker_role_is_created_or_given_and_passed_only_to_sagemaker(synth):
    params = synth["json"]["Parameters"]["SageMakerRoleArn"]
    assert params["Default"] == "" and params["AllowedPattern"].startswith("^$|^arn:aws")
    roles = resources(synth, "AWS::IAM::Role")
    (created_id,) = [
        k
        for k, v in roles.items()
        if "sagemaker.amazonaws.com" in json.dumps(v["Properties"]["AssumeRolePolicyDocument"])
    ]
    # no role takes the name the generator's bootstrap gives its own: no collision
    assert constants.GENERATOR_BOOTSTRAP_ROLE not in json.dumps(synth["json"]["Resources"])
    # its own name, under the prefix (the boundary passes only the stack's roles) and with
    # the region's code (IAM names are the account's)
    assert roles[created_id]["Properties"]["RoleName"] == "mlcc-ci-endpoints-use1"
    # a given role means none is created: the role and its policy exist only on the condition
    condition = roles[created_id]["Condition"]
    assert synth["json"]["Conditions"][condition] == {
        "Fn::Equals": [{"Ref": "SageMakerRoleArn"}, ""]
    }
    (policy,) = [
        p
        for p in resources(synth, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": created_id}]
    ]
    assert policy["Condition"] == condition
    trust = roles[created_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    (executor,) = (
        p["Properties"]
        for p in resources(synth, "AWS::CodeBuild::Project").values()
        if p["Properties"]["Name"] == constants.EXECUTOR_PROJECT
    )
    env = {v["Name"]: v["Value"] for v in executor["Environment"]["EnvironmentVariables"]}
    chosen = env["ROLE_ARN"]["Fn::If"]
    assert chosen[1] == {"Ref": "SageMakerRoleArn"}
    assert chosen[2] == {"Fn::GetAtt": [created_id, "Arn"]}
    assert env["MLCC_CI_STACK_REGION"] == {"Ref": "AWS::Region"}


def test_the_executor_gives_the_do_scripts_what_their_profile_would(synth):
    """do/submit takes its source bucket and ECR repository from the generator's local
    profile, which CodeBuild has not: the stack provides both, under grants that fit."""
    (executor,) = (
        p["Properties"]
        for p in resources(synth, "AWS::CodeBuild::Project").values()
        if p["Properties"]["Name"] == constants.EXECUTOR_PROJECT
    )
    env = {v["Name"]: v["Value"] for v in executor["Environment"]["EnvironmentVariables"]}
    assert env["ECR_REPOSITORY_NAME"] == "mlcc-ci-images"  # inside the role's repository/mlcc-ci-*
    bucket = env["MLCC_CI_SOURCES_BUCKET"]["Ref"]
    props = synth["json"]["Resources"][bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert props["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 7
    statements = [
        st
        for policy in resources(synth, "AWS::IAM::Policy").values()
        if any(r["Ref"].startswith("ExecutorRole") for r in policy["Properties"]["Roles"])
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (sources,) = [st for st in statements if st.get("Sid") == "NestedBuildSources"]
    assert "s3:PutObject" in sources["Action"] and "s3:CreateBucket" not in sources["Action"]
    assert all(bucket in json.dumps(r) for r in sources["Resource"])


# -- the executor role against every AWS call of the generated do-scripts -------------------

STAGE_SCRIPTS = ("submit", "build", "push", "deploy", "test", "clean")
TARGET = "realtime-inference"
_REFERENCE = re.compile(r"(lib/[\w.-]+\.(?:sh|py))|((?:deploy|clean)\.d/" + TARGET + ")")
# `aws`, then its words: a quoted string or anything up to a blank or a shell operator.
_AWS = re.compile(r"(?<![\w./$-])aws\s+(.*)")
_WORD = re.compile(r"\"[^\"]*\"|'[^']*'|[^\s;&|()<>]+")
_NAME = re.compile(r"[a-z0-9-]+")
# The AWS CLI's global options that take no value (any other --option takes one, unless
# it is written --option=value); the CLI accepts them before or after the service.
_CLI_FLAGS = {
    "--debug",
    "--no-verify-ssl",
    "--no-paginate",
    "--no-sign-request",
    "--no-cli-pager",
    "--cli-auto-prompt",
    "--no-cli-auto-prompt",
}
_CLIENT = re.compile(r"(\w+)\s*=\s*\w+\.client\(\s*['\"]([a-z0-9-]+)['\"]")
# `boto3.client("x", ...).op(`: a client used at once (its arguments may nest one level).
_CHAINED = re.compile(
    r"\.client\(\s*['\"]([a-z0-9-]+)['\"][^()]*(?:\([^()]*\)[^()]*)*\)\s*\.\s*(\w+)\s*\("
)
# The nested build's own buildspec, a JSON string in do/submit: its role's calls, not ours.
_BUILDSPEC = re.compile(r'"buildspec"\s*:\s*"(?:[^"\\]|\\.)*"')
# CLI commands whose IAM action is not their PascalCase name.
_SPECIAL = {
    ("ecr", "get-login-password"): "ecr:GetAuthorizationToken",
    ("s3", "ls"): "s3:ListBucket",
    ("s3", "cp"): "s3:PutObject",
    ("s3", "rm"): "s3:DeleteObject",
    ("s3api", "head-bucket"): "s3:ListBucket",
    ("sagemaker-runtime", "invoke-endpoint"): "sagemaker:InvokeEndpoint",
    ("sagemaker", "wait"): None,  # waiter: resolved by its name below
    ("sts", "get-caller-identity"): None,  # needs no permission
}
_WAITERS = {
    "endpoint-in-service": "sagemaker:DescribeEndpoint",
    "endpoint-deleted": "sagemaker:DescribeEndpoint",
    "inference-component-deleted": "sagemaker:DescribeInferenceComponent",
    "inference-component-in-service": "sagemaker:DescribeInferenceComponent",
}
# Where the scripts' resources live, by service: the names they use (PROJECT_NAME is
# mlcc-ci-<name>, the nested role and project derive from it, the repository and bucket come
# from the executor's environment); list actions AWS scopes to no resource.
_RESOURCE = {
    "sagemaker": "mlcc-ci-*",
    "ecr": "repository/mlcc-ci-*",
    "iam": "ExecutorNestedBuilds",  # the nested builds' roles, by their exact ARNs
    "codebuild": "project/mlcc-ci-",  # the nested builds' projects, by their exact names
    "logs": "log-group:/aws/codebuild/mlcc-ci-*",
}
_NO_RESOURCE = {
    "ecr:GetAuthorizationToken",
    "codebuild:ListProjects",
    "sagemaker:ListInferenceComponents",
    "sagemaker:ListAiBenchmarkJobs",
}
# What the executor turns off: profile.sh's search of the account's secrets for anything
# named like a token (MLCC_SKIP_SECRET_DISCOVERY in the executor's environment), and every
# token read: the harness hands the scripts no token secret (mlcc_ci/modeltoken.py), which
# they would put into the inference component's environment in plain text.
_TURNED_OFF = {
    "secretsmanager:ListSecrets": "MLCC_SKIP_SECRET_DISCOVERY",
    "secretsmanager:GetSecretValue": "HF_TOKEN_ARN",
}


def _pascal(op: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", op))


def _reachable(project: Path) -> set[Path]:
    do = project / "do"
    todo = [do / s for s in STAGE_SCRIPTS]
    seen: set[Path] = set()
    while todo:
        f = todo.pop()
        if f in seen or not f.is_file():
            continue
        seen.add(f)
        for m in _REFERENCE.finditer(f.read_text(errors="replace")):
            todo.append(do / (m.group(1) or m.group(2)))
    return seen


def _logical_lines(text: str) -> list[str]:
    """The shell's lines: one ending in a backslash goes on in the next (not a comment)."""
    lines: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.endswith("\\") and (pending or not line.lstrip().startswith("#")):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _cli_call(words: list[str]) -> tuple[str, str, str | None] | None:
    """`aws [global options] service [global options] operation [argument]`, by words."""
    names: list[str] = []
    i = 0
    while i < len(words) and len(names) < 3:
        word = words[i]
        if word.startswith("--"):
            if len(names) == 2:
                break  # the operation's own options: no waiter name follows
            i += 1 if word in _CLI_FLAGS or "=" in word else 2
            continue
        if not _NAME.fullmatch(word):
            break
        names.append(word)
        i += 1
    if len(names) < 2:
        return None
    return names[0], names[1], names[2] if len(names) > 2 else None


def _actions_in(text: str, where: str = "script") -> set[str]:
    """The IAM action of every AWS call in a script's text: `aws` commands (with global
    options anywhere, continued over lines), and boto3 clients in the Python it runs
    inline, held in a variable or called at once."""
    found = set()
    text = _BUILDSPEC.sub('"buildspec": ""', text)
    for line in _logical_lines(text):
        s = line.strip()
        # echoed hints
        if s.startswith(("#", "echo", "printf")):
            continue
        for m in _AWS.finditer(s):
            call = _cli_call(_WORD.findall(m.group(1)))
            if call is None:
                continue
            service, op, arg = call
            if (service, op) in _SPECIAL:
                action = _SPECIAL[(service, op)] or _WAITERS.get(arg or "")
                if action is None and (service, op) == ("sagemaker", "wait"):
                    raise AssertionError(f"{where}: unknown waiter {arg}")
            else:
                action = f"{service}:{_pascal(op)}"
            if action:
                found.add(action)
    for var, service in _CLIENT.findall(text):
        for method in re.findall(rf"\b{var}\.(\w+)\(", text):
            found.add(f"{service}:{_pascal(method)}")
    for service, method in _CHAINED.findall(text):
        found.add(f"{service}:{_pascal(method)}")
    return found


def _actions(path: Path) -> set[str]:
    return _actions_in(path.read_text(errors="replace"), str(path))


@pytest.fixture(scope="module")
def script_actions(tmp_path_factory):
    from mlcc_ci import generator
    from mlcc_ci.catalog import load_valid_catalog
    from tests.conftest import GENERATOR_HOME, generate

    catalog = load_valid_catalog()
    pin = generator.pin_of(catalog.defaults)
    env = {**os.environ, generator.HOME_ENV: str(GENERATOR_HOME)}
    installed = generator.find(pin, env)
    if installed is None or installed.version != pin.version:
        pytest.fail(f"{generator.problem_with(pin, env)} (make generator installs it)")
    base = tmp_path_factory.mktemp("projects")
    actions: dict[str, set[str]] = {}
    for entry in (e for e in catalog.entries if e.supported):
        project = generate(installed.command, entry, base / entry.name, env)
        for path in _reachable(project):
            for action in _actions(path):
                actions.setdefault(action, set()).add(
                    f"{entry.name}: do/{path.relative_to(project / 'do')}"
                )
    return actions


def _executor_statements(synth) -> list[dict]:
    return [
        st
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for policy in resources(synth, kind).values()
        if any(r["Ref"].startswith("ExecutorRole") for r in policy["Properties"].get("Roles", []))
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


# What do/submit and do/clean would do to the nested build's role, which the stack owns: the
# executor may not (do/submit finds the role and skips creating it; do/clean's deletes are
# refused, and it goes on).
_STACK_OWNS = {"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRole", "iam:DeleteRolePolicy"}


def _allows(statement: dict, action: str) -> bool:
    import fnmatch

    actions = (
        statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    )
    return any(fnmatch.fnmatch(action.lower(), a.lower()) for a in actions)


def _gaps(statements: list[dict], script_actions: dict[str, set[str]]) -> list[str]:
    """The actions the scripts call that no Allow statement of the executor grants on the
    resources the scripts use (the stack's own actions, which it must not grant, apart)."""
    sources = next(st for st in statements if st.get("Sid") == "NestedBuildSources")["Resource"]
    gaps = []
    for action, where in sorted(script_actions.items()):
        if action in _STACK_OWNS or action in _TURNED_OFF:
            continue
        service = action.split(":")[0]
        fitting = []
        for st in statements:
            if st["Effect"] != "Allow" or not _allows(st, action):
                continue
            resources_ = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            text = json.dumps(resources_)
            if action in _NO_RESOURCE:
                fitting.append(resources_ == ["*"])
            elif service == "s3":
                fitting.append(resources_ == sources or resources_ == list(reversed(sources)))
            else:
                fitting.append(service in _RESOURCE and _RESOURCE[service] in text)
        if not any(fitting):
            gaps.append(f"{action} (used by {sorted(where)[0]} and {len(where) - 1} more)")
    return gaps


@pytest.mark.generator
def test_the_executor_role_allows_every_aws_call_of_the_generated_do_scripts(synth, script_actions):
    assert len(script_actions) > 30  # the scripts were really read
    statements = _executor_statements(synth)
    assert set(script_actions) >= _STACK_OWNS
    for action in _STACK_OWNS:
        assert not [st for st in statements if st["Effect"] == "Allow" and _allows(st, action)], (
            action
        )
    gaps = _gaps(statements, script_actions)
    assert gaps == [], "\n".join(gaps)


IAM_SCRIPTS = REPO / "tests" / "fixtures" / "iam-scripts"


def test_the_script_reader_sees_global_options_continued_lines_and_chained_clients():
    """The three forms a line-by-line reader missed, in a negative and a positive control."""
    assert _actions(IAM_SCRIPTS / "forbidden.sh") == {
        "iam:CreateUser",  # aws --region R --no-cli-pager iam create-user
        "ecr:SetRepositoryPolicy",  # aws ecr \\ set-repository-policy \\ ...
        "secretsmanager:DeleteSecret",  # boto3.client("secretsmanager", ...).delete_secret(
    }
    assert _actions(IAM_SCRIPTS / "allowed.sh") == {
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeInferenceComponent",  # its waiter, continued over lines
        "ecr:DescribeRepositories",
        "secretsmanager:GetSecretValue",
    }
    # the nested build's buildspec is its role's business, and a comment continues nothing
    spec = '"buildspec": "phases:\\n  build:\\n    commands:\\n      - aws iam create-user"'
    assert _actions_in(f"aws codebuild create-project --source '{{{spec}}}'") == {
        "codebuild:CreateProject"
    }
    assert _actions_in("# aws iam \\\naws ecr list-images") == {"ecr:ListImages"}


def test_the_executor_check_flags_a_script_calling_what_the_role_does_not_allow(synth):
    statements = _executor_statements(synth)
    forbidden = {a: {"forbidden.sh"} for a in _actions(IAM_SCRIPTS / "forbidden.sh")}
    assert len(forbidden) == 3
    assert _gaps(statements, forbidden) == [
        f"{action} (used by forbidden.sh and 0 more)" for action in sorted(forbidden)
    ]
    allowed = {a: {"allowed.sh"} for a in _actions(IAM_SCRIPTS / "allowed.sh")}
    assert len(allowed) == 4 and _gaps(statements, allowed) == []


def test_the_executor_builds_only_the_nested_projects_the_stack_names(synth):
    """CodeBuild's write actions name each nested project by its exact ARN (its name carries
    the region's code); none is a wildcard that would match the executor's own projects or
    another team's, and no UpdateProject at all (nothing calls it). profile.sh's search of
    the account's secrets is turned off, so the role may list none."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.nestedbuilds import nested_builds

    nested = {p for p, _ in nested_builds(load_valid_catalog(), "mlcc-ci", REGION)}
    (grant,) = [st for st in _executor_statements(synth) if st.get("Sid") == "NestedBuilds"]
    assert "codebuild:StartBuild" in grant["Action"]
    assert "codebuild:UpdateProject" not in json.dumps(_executor_statements(synth))
    names = {json.dumps(r).split("project/")[1].rstrip('"]}') for r in grant["Resource"]}
    assert names == nested and all(n.endswith("-build-use1") for n in names)
    assert not any(st.get("Effect") == "Deny" for st in _executor_statements(synth))
    assert "secretsmanager:" not in json.dumps(_executor_statements(synth))
    from mlcc_ci.modeltoken import VARIABLES

    assert "HF_TOKEN_ARN" in VARIABLES  # withheld from every stage
    for project in resources(synth, "AWS::CodeBuild::Project").values():
        env = {
            v["Name"]: v["Value"]
            for v in project["Properties"]["Environment"]["EnvironmentVariables"]
        }
        assert env[_TURNED_OFF["secretsmanager:ListSecrets"]] == "1"
    for st in _executor_statements(synth):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert all(a != "*" and not a.endswith(":*") for a in actions), st


# Ways an identity makes itself (or another) more powerful than it was given.
_ESCALATIONS = [
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:CreateUser",
    "iam:PutUserPolicy",
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:AddUserToGroup",
    "iam:PutGroupPolicy",
    "sts:AssumeRole",
    "lambda:CreateFunction",
    "lambda:UpdateFunctionCode",
    "cloudformation:CreateStack",
    "ec2:RunInstances",
    "states:CreateStateMachine",
]


def test_the_executor_cannot_escalate_beyond_what_the_stack_gave_it(synth):
    """Evaluating the synthesized policies as IAM would: no statement of the executor lets it
    create or widen an identity, and it may pass only the roles the stack made, each only
    to its service; the nested builds' roles can do nothing in IAM either."""
    from tests.twin import iam as policy
    from tests.twin.template import Template

    template = Template.load(synth["outdir"])
    roles = template.of_type("AWS::IAM::Role")
    executor = next(
        k
        for k, r in roles.items()
        if "codebuild" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
        and "RoleName" not in r["Properties"]
    )
    statements = template.policies_of(executor)  # inline and managed
    assert any(st.get("Sid") == "PassNestedBuildRoles" for st in statements)
    account = "arn:aws:iam::123456789012:role"
    nested = sorted(
        template.arn(k)
        for k, r in roles.items()
        if r["Properties"].get("RoleName", "").endswith("-build-use1-service-role")
    )
    sagemaker_role = next(
        template.arn(k)
        for k, r in roles.items()
        if "sagemaker.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    )
    from mlcc_ci.catalog import load_valid_catalog

    catalog = load_valid_catalog()
    submit = [
        e for e in catalog.entries if e.supported and e.data["buildStrategy"] == "codebuild-submit"
    ]
    assert len(nested) == len(submit) == 13  # one per supported entry that builds in do/submit
    targets = [
        "*",
        template.arn(executor),
        sagemaker_role,
        *nested,
        f"{account}/mlcc-ci-admin",
        f"{account}/Admin",
    ]
    for action in _ESCALATIONS:
        for target in targets:
            assert not policy.allowed(statements, policy.Need(action, (target,))), (action, target)

    def may_pass(role: str, service: str) -> bool:
        return policy.allowed(statements, policy.Need("iam:PassRole", (role,), service))

    assert may_pass(sagemaker_role, "sagemaker.amazonaws.com")
    assert all(may_pass(role, "codebuild.amazonaws.com") for role in nested)
    for role in (
        template.arn(executor),
        f"{account}/mlcc-ci-admin",
        f"{account}/mlcc-ci-x-build-service-role",
    ):
        for service in (
            "codebuild.amazonaws.com",
            "sagemaker.amazonaws.com",
            "lambda.amazonaws.com",
        ):
            assert not may_pass(role, service), (role, service)
    assert not may_pass(nested[0], "sagemaker.amazonaws.com")
    assert not may_pass(sagemaker_role, "codebuild.amazonaws.com")
    # its own projects, and every project the stack did not name, are out of reach: it
    # cannot change or start them (a buildspecOverride would run as their roles)
    for project in (
        "mlcc-ci-executor",
        "mlcc-ci-executor-dind",
        "mlcc-ci-someone-elses-build-use1",
        "mlcc-ci-http-flask-build",
        "team-build",
    ):
        arn = f"arn:aws:codebuild:us-east-1:123456789012:project/{project}"
        for action in (
            "codebuild:StartBuild",
            "codebuild:UpdateProject",
            "codebuild:CreateProject",
        ):
            assert not policy.allowed(statements, policy.Need(action, (arn,))), (action, project)
    # and the roles the nested builds run as have no IAM power and no wildcard action
    for logical, role in roles.items():
        if role["Properties"].get("RoleName", "").endswith("-build-service-role"):
            for st in template.policies_of(logical):
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                assert all(not a.startswith("iam:") and "*" not in a for a in actions), st


def test_cdk_destroy_can_delete_the_sources_bucket(synth):
    """A bucket that still holds objects cannot be deleted: the stack empties it first."""
    buckets = resources(synth, "AWS::S3::Bucket")
    (sources_id,) = [k for k in buckets if k.startswith("ExecutorSources")]
    assert buckets[sources_id]["DeletionPolicy"] == "Delete"
    (emptier,) = resources(synth, "Custom::S3AutoDeleteObjects").values()
    assert emptier["Properties"]["BucketName"] == {"Ref": sources_id}


def test_alarms_reach_people_through_the_topic(synth):
    """Lambda errors, executions that ended without a result, and sweeps that left a leak
    standing each raise an alarm that publishes to the notifications topic."""
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in resources(synth, "AWS::CloudWatch::Alarm").values()
    }
    counted = {
        "mlcc-ci-scanner-errors",
        "mlcc-ci-sweeper-errors",
        "mlcc-ci-recorder-errors",
        "mlcc-ci-executions-failed",
        "mlcc-ci-executions-timed-out",
        "mlcc-ci-executions-aborted",
        "mlcc-ci-sweep-failures",
    }
    # the endpoints' count and age: tests/test_cdk_cost.py
    assert set(alarms) == counted | {"mlcc-ci-endpoints-in-service", "mlcc-ci-oldest-endpoint"}
    topic_id = topic_named(synth, constants.NOTIFICATION_TOPIC)
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["Threshold"] == 1 or name not in counted, name
    assert alarms["mlcc-ci-sweep-failures"]["Namespace"] == "mlcc-ci"
    assert alarms["mlcc-ci-sweep-failures"]["MetricName"] == "SweepFailures"
    assert alarms["mlcc-ci-sweep-failures"]["Dimensions"] == [
        {"Name": "Prefix", "Value": "mlcc-ci"}
    ]
    assert alarms["mlcc-ci-executions-failed"]["MetricName"] == "ExecutionsFailed"
    # a configuration that failed and recorded it is no failed execution: only the machinery is
    states = json.loads(_definition(synth))["States"]
    assert states["RunRecordedItsFailure"]["Type"] == "Succeed"
    assert [s for s, v in states.items() if v["Type"] == "Fail"] == ["ExecutorFailed"]


def test_docker_hub_through_an_optional_pull_through_cache(synth):
    """Base images from Docker Hub are pulled with the team's account when it gives one."""
    param = synth["json"]["Parameters"]["DockerHubAccess"]
    assert param["Default"] == ""
    assert "ecr-pullthroughcache/" in param["AllowedPattern"]
    (rule,) = resources(synth, "AWS::ECR::PullThroughCacheRule").values()
    assert rule["Properties"]["EcrRepositoryPrefix"] == "mlcc-ci-docker-hub"  # the stack's
    assert rule["Properties"]["UpstreamRegistryUrl"] == "registry-1.docker.io"
    assert rule["Properties"]["CredentialArn"] == {"Ref": "DockerHubAccess"}
    condition = rule["Condition"]
    assert synth["json"]["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DockerHubAccess"}, ""]}]
    }
    for project in resources(synth, "AWS::CodeBuild::Project").values():
        env = {
            v["Name"]: v["Value"]
            for v in project["Properties"]["Environment"]["EnvironmentVariables"]
        }
        mirror = env["MLCC_CI_DOCKER_HUB_MIRROR"]["Fn::If"]
        assert mirror[0] == condition and mirror[2] == ""
        assert "mlcc-ci-docker-hub" in json.dumps(mirror[1])
    # the executor (docker-in-docker) and every nested build may pull through it
    pulls = [
        st
        for kind in ("AWS::IAM::Policy",)
        for policy in resources(synth, kind).values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st.get("Sid") == "PullThroughDockerHubCache"
    ]
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.nestedbuilds import nested_builds

    assert len(pulls) == 1 + len(
        nested_builds(load_valid_catalog(), constants.RESOURCE_PREFIX, REGION)
    )
    assert all("ecr:BatchImportUpstreamImage" in st["Action"] for st in pulls)
    assert all("repository/mlcc-ci-docker-hub/*" in json.dumps(st["Resource"]) for st in pulls)


def test_the_schedule_and_its_daily_budget_are_parameters_the_scanner_reads(synth):
    """Issue 34 item 3: the daily budget, the retest schedule and the digest lookups reach
    the scanner's environment (and the lookups the executor's, whose runs record digests);
    off, confidence and no budget by default."""
    params = synth["json"]["Parameters"]
    assert params["DailyBudget"]["Type"] == "Number" and params["DailyBudget"]["Default"] == 0
    assert params["DailyBudget"]["MinValue"] == 0
    assert params["RetestSchedule"]["Default"] == "confidence"
    assert params["RetestSchedule"]["AllowedValues"] == ["confidence", "daily"]
    assert params["ImageDigests"]["Default"] == "off"
    assert params["ImageDigests"]["AllowedValues"] == ["off", "on"]
    env = lambda_named(synth, constants.SCANNER_FUNCTION)["Properties"]["Environment"]["Variables"]
    assert env["DAILY_BUDGET_USD"] == {"Ref": "DailyBudget"}
    assert env["SCHEDULE"] == {"Ref": "RetestSchedule"}
    assert env["IMAGE_DIGESTS"] == {"Ref": "ImageDigests"}
    (executor,) = (
        p["Properties"]
        for p in resources(synth, "AWS::CodeBuild::Project").values()
        if p["Properties"]["Name"] == constants.EXECUTOR_PROJECT
    )
    variables = {v["Name"]: v["Value"] for v in executor["Environment"]["EnvironmentVariables"]}
    assert variables["MLCC_CI_IMAGE_DIGESTS"] == {"Ref": "ImageDigests"}
