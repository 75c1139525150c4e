"""The AWS loop, end to end, against a simulated account (tests/twin): the scanner claims every
supported configuration, the orchestrator's definition from the synthesized template starts
the executor build, which runs the template's own buildspec as CodeBuild would, and the
pinned generator's unchanged do-scripts generate, validate, submit, deploy, test and clean up
against the simulation, every principal under its synthesized role. The fault paths are in
test_twin_faults.py, the shared account in test_twin_shared.py: each module stands up its own
stack, so `-k` sets up only what its tests need.

What this cannot prove — real GPU capacity, real image builds, real model loads — only a
real account can (README, "What the simulated account proves").
"""

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from tests.twin import fixture, iam
from tests.twin.codebuild import EXECUTOR_KEY
from tests.twin.fixture import leaks as _leaks
from tests.twin.loop import KEYS

pytestmark = [pytest.mark.twin]
CATALOG = load_valid_catalog()
SUPPORTED = [e for e in CATALOG.entries if e.supported]
TABLE = fixture.TABLE
# Generator 1.6.0 asks for 1 accelerator per inference component also on ml.m5.large, which
# has none: SageMaker cannot place them (the static profile predicts it, see test_generator)
UNPLACEABLE = ("http-fastapi", "http-flask")
HF_TOKEN = fixture.HF_TOKEN
GATED = "transformers-tensorrt-llm"
# What a run does to SageMaker, in the order it must happen (the smoke test is mlcc-ci's
# own InvokeEndpoint, through boto3; the do-scripts use the AWS CLI).
CREATES = ("CreateEndpointConfig", "CreateEndpoint", "CreateInferenceComponent")
DELETES = ("DeleteInferenceComponent", "DeleteEndpoint", "DeleteEndpointConfig")
NAME_OF = {
    "CreateModel": "ModelName",
    "DeleteModel": "ModelName",
    "CreateEndpointConfig": "EndpointConfigName",
    "DeleteEndpointConfig": "EndpointConfigName",
    "CreateEndpoint": "EndpointName",
    "DeleteEndpoint": "EndpointName",
    "CreateInferenceComponent": "InferenceComponentName",
    "DeleteInferenceComponent": "InferenceComponentName",
    "InvokeEndpoint": "EndpointName",
}


@pytest.fixture(scope="module")
def matrix(account):
    """Every supported configuration, all at once."""
    twin, the_loop, store = account["twin"], account["loop"], account["store"]
    fixture.cli("register", "--from-catalog", "--all", "--table", TABLE)
    started = time.monotonic()
    first = len(twin.calls)
    runs = the_loop.execute_all(the_loop.scan()["executionArns"])
    return {
        "runs": runs,
        "seconds": time.monotonic() - started,
        "records": {e.name: store.get(e.config_id) for e in SUPPORTED},
        "alive": twin.alive(),
        "calls": twin.calls[first:],
        "builds": [b for run in runs.values() for b in run.builds],
    }


def _story(calls, name: str) -> list[tuple[str, str, str]]:
    """(action, client, resource name) of the SageMaker calls that succeeded for the
    configuration `name`, in the order the account answered them."""
    prefix = f"mlcc-ci-{name}-"
    return [
        (c.action, c.client, c.params[NAME_OF[c.action]])
        for c in calls
        if c.service == "sagemaker"
        and c.action in NAME_OF
        and c.status < 300
        and str(c.params.get(NAME_OF[c.action], "")).startswith(prefix)
    ]


# -- the matrix ----------------------------------------------------------------------------


def test_every_placeable_configuration_passes_the_whole_loop(matrix):
    records = matrix["records"]
    placeable = [e for e in SUPPORTED if e.name not in (*UNPLACEABLE, GATED)]
    assert {e.name: records[e.name].testStatus for e in placeable} == {
        e.name: "pass" for e in placeable
    }
    for entry in placeable:
        record = records[entry.name]
        assert {s: r.status for s, r in record.stageResults.items()} == {
            stage: "pass"
            for stage in ("generate", "validate", "build", "deploy_test", "register", "teardown")
        }, entry.name
        assert record.generatorVersion == "1.6.0" and record.errorMessage in ("", None)
        run = matrix["runs"][record.configId]
        assert run.execution.status == "SUCCEEDED"
        assert run.execution.visited[-1] == "RunPassed"
        (build,) = run.builds
        assert build.status == "SUCCEEDED"
    assert len(matrix["runs"]) == len(SUPPORTED)
    print(f"\nmatrix: {len(SUPPORTED)} configurations in {matrix['seconds']:.0f} s")


def test_what_sagemaker_cannot_place_fails_deploy_test_as_the_products_fault(matrix):
    """Generator 1.6.0 asks for an accelerator on ml.m5.large: SageMaker accepts the
    component, then it goes Failed; the run says so first, class `product`, and tears down."""
    for name in UNPLACEABLE:
        record = matrix["records"][name]
        assert record.testStatus == "fail-deploy_test", (name, record.errorMessage)
        assert (record.failure.cls, record.failure.rule) == ("product", "sagemaker-ic-placement")
        assert record.failure.capture == "1 accelerator device(s)"
        assert record.blocked is None
        summary = record.stageResults["deploy_test"].errorSummary
        assert re.match(
            rf"inference component mlcc-ci-{name}-default-\d+ Failed: Unable to place inference "
            rf"component mlcc-ci-{name}-default-\d+: it requires 1 accelerator device\(s\) per "
            r"copy and instance type ml\.m5\.large has 0\.",
            summary,
        ), summary
        # validate had said so before anything was built
        assert record.stageResults["validate"].note.startswith(
            "predicted to fail at deploy_test: Unable to place inference component default"
        )
        assert record.stageResults["teardown"].status == "pass"
        assert _leaks(matrix["alive"], f"mlcc-ci-{name}") == {}
        # the endpoint itself was InService: SageMaker took the money, then refused
        story = _story(matrix["calls"], name)
        assert [a for a, _, _ in story if a in CREATES] == list(CREATES)
        assert "InvokeEndpoint" not in [a for a, _, _ in story]


def test_each_run_deployed_smoke_tested_and_deleted_in_order(matrix):
    """For each configuration the account's call log shows what the run created, the
    endpoint mlcc-ci's own smoke test invoked (boto3, beside any do/test of the AWS CLI),
    and everything deleted, in that order: a run that did nothing, or skipped its smoke
    test, or left something, fails here."""
    for entry in (e for e in SUPPORTED if e.name not in (*UNPLACEABLE, GATED)):
        story = _story(matrix["calls"], entry.name)
        actions = [a for a, _, _ in story]
        assert [a for a in actions if a in CREATES] == list(CREATES), (entry.name, actions)
        created = {a: n for a, _, n in story if a in CREATES}
        smoke = [
            i for i, (a, who, _) in enumerate(story) if a == "InvokeEndpoint" and who == "boto3"
        ]
        assert len(smoke) == 1, (entry.name, story)
        assert story[smoke[0]][2] == created["CreateEndpoint"]
        first_delete = min(i for i, (a, _, _) in enumerate(story) if a in DELETES)
        assert actions.index("CreateInferenceComponent") < smoke[0] < first_delete
        deleted = {a.replace("Delete", "Create"): n for a, _, n in story if a in DELETES}
        assert deleted == created, entry.name
        assert [a for a in actions[first_delete:] if a in DELETES] == list(DELETES), entry.name


def test_a_gated_model_is_blocked_and_no_token_is_read_or_handed_on(account, matrix):
    """The generated do/deploy would put the token into the inference component's
    environment in plain text: the harness passes none, refuses the gated model at validate
    (blocked, class credentials: nothing proved its container wrong), and nothing reads the
    token the account holds."""
    record = matrix["records"][GATED]
    assert record.testStatus == "untested"  # what it was: a block is not a verdict
    assert (record.blocked.cls, record.blocked.rule) == ("credentials", "hf-token-withheld")
    assert not [c for c in matrix["calls"] if c.action == "GetSecretValue"]
    # nothing was made for it (teardown only looked: there was nothing to delete)
    assert not [
        c
        for c in matrix["calls"]
        if c.service == "sagemaker"
        and c.action.startswith("Create")
        and GATED in json.dumps(c.params)
    ]
    assert HF_TOKEN not in json.dumps([c.params for c in matrix["calls"]])
    run = matrix["runs"][record.configId]
    assert HF_TOKEN not in run.builds[0].output()
    assert HF_TOKEN not in json.dumps(record.to_item())


def test_nothing_a_run_created_is_left_alive(account, matrix):
    """Each run made an endpoint, its config and an inference component (every supported
    configuration but the gated one, refused at validate): an executor that did nothing
    would fail here. None of what they made is alive after the matrix."""
    kind_of = {
        "CreateEndpoint": ("endpoint", "EndpointName"),
        "CreateEndpointConfig": ("endpoint-config", "EndpointConfigName"),
        "CreateInferenceComponent": ("inference-component", "InferenceComponentName"),
        "CreateModel": ("model", "ModelName"),
        "CreateProject": ("codebuild-project", "name"),
        "CreateRole": ("iam-role", "RoleName"),
    }
    created: dict[str, set[str]] = {}
    for call in matrix["calls"]:
        if call.action in kind_of and call.status < 300:
            kind, key = kind_of[call.action]
            created.setdefault(kind, set()).add(str(call.params[key]))
    made = [e.name for e in SUPPORTED if e.name != GATED]
    for kind in ("endpoint", "endpoint-config", "inference-component"):
        assert {
            name
            for name in made
            if any(n.startswith(f"mlcc-ci-{name}-") for n in created.get(kind, ()))
        } == set(made), kind
    alive = matrix["alive"]
    assert {kind: sorted(names & set(alive.get(kind, ()))) for kind, names in created.items()} == {
        kind: [] for kind in created
    }
    assert _leaks(alive) == {}
    # images stay in the stack's repository, which expires them by its lifecycle rule
    ecr = account["clients"]["ecr"]
    (rule,) = json.loads(
        ecr.get_lifecycle_policy(repositoryName="mlcc-ci-images")["lifecyclePolicyText"]
    )["rules"]
    assert rule["selection"]["tagStatus"] == "any"
    assert (
        rule["selection"]["countType"] == "sinceImagePushed" and rule["action"]["type"] == "expire"
    )


def test_the_executor_ran_as_codebuild_runs_it(account, matrix):
    template = account["template"]
    test_venv = str(Path(sys.executable).parent)
    for build in matrix["builds"]:
        _, props = template.project(build.project)
        # the project's own variables, as the template sets them
        for variable in props["Environment"]["EnvironmentVariables"]:
            assert build.env[variable["Name"]] == str(variable["Value"]), variable["Name"]
        assert "HF_TOKEN_ARN" not in build.env and "HF_TOKEN" not in build.env
        assert build.env["MLCC_CI_RESOURCE_PREFIX"] == "mlcc-ci"
        # what a fresh container has, and nothing the test process has
        assert "VIRTUAL_ENV" not in build.env
        assert test_venv not in build.env["PATH"].split(os.pathsep)
        assert Path(build.env["HOME"]).parent == build.work
        assert build.env["AWS_ENDPOINT_URL"] == account["twin"].url
        assert ("DOCKER_HOST" in build.env) == props["Environment"]["PrivilegedMode"]
    build = next(b for b in matrix["builds"] if b.status == "SUCCEEDED")
    log = build.output()
    phases = [line.split()[-1] for line in log.splitlines() if "Entering phase" in line]
    assert phases == ["INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"]
    # every dependency pinned by hash, wheels only (mlcc_ci/stack/executor-requirements.txt)
    assert "--require-hashes --only-binary=:all: --no-deps -r executor-requirements.txt" in log
    # the runner is told the budget `timeout` enforces
    assert re.search(
        r"^\[Container\] [0-9/]{10} [0-9:.]{15} Running command export MLCC_CI_RUN_SECONDS=9000$",
        log,
        re.M,
    )
    # the do-scripts ran in the virtualenv the harness prepared, and never prompted
    (deploy_log,) = (build.work / "mlcc-ci-work").glob("*/logs/deploy_test.log")
    deploy = deploy_log.read_text() + deploy_log.with_suffix(".stderr.log").read_text()
    assert "Deployment complete!" in deploy
    assert (
        "Python virtual environment required" not in deploy and "? Endpoint strategy" not in deploy
    )


def test_stage_log_pointers_name_the_stream_codebuild_wrote(account, matrix):
    logs = account["clients"]["logs"]
    for record in matrix["records"].values():
        if record.blocked is not None:  # refused before it deployed: no deploy_test
            continue
        pointer = record.stageResults["deploy_test"].logPointer
        assert pointer.startswith("cloudwatch:build/")
        stream = pointer.removeprefix("cloudwatch:")
        events = logs.get_log_events(logGroupName="ml-container-creator-ci", logStreamName=stream)
        text = "\n".join(e["message"] for e in events["events"])
        status = "pass" if record.testStatus == "pass" else "fail"
        assert re.search(rf"^{record.deploymentConfig} +deploy_test +{status}", text, re.M), text


def test_every_principal_acted_under_its_role(account, matrix):
    """The twin enforced each principal's synthesized role on every call it made (anything
    else was refused with AccessDenied, as IAM would), and the runs passed: the roles are
    enough. What was refused is only what the do-scripts try and are meant to be refused."""
    calls = [c for c in matrix["calls"] if c.key == EXECUTOR_KEY]
    per_config = len(calls) / len(SUPPORTED)
    print(f"\nexecutor: {len(calls)} AWS calls in the matrix, {per_config:.0f} per configuration")
    assert per_config > 30  # the scripts really ran against the account
    template = account["template"]
    statements = template.policies_of(account["principals"][EXECUTOR_KEY])
    nested_roles = {
        f"arn:aws:iam::123456789012:role/{template.name(logical)}"
        for logical, r in template.of_type("AWS::IAM::Role").items()
        if r["Properties"].get("RoleName", "").endswith("-build-use1-service-role")
    }
    denied: dict = {}
    for call in calls:
        for need in iam.needs(call):
            if not iam.allowed(statements, need):
                denied.setdefault(need.action, set()).update(need.resources)
                assert call.error in ("AccessDenied", "AccessDeniedException"), call
    # do/clean probes the generator's bootstrap bucket (not ours; the script takes it as
    # absent) and tries to delete the nested build's role and its policy, which the stack
    # owns (the script reports it and goes on)
    assert denied.pop("s3:ListBucket") == {"arn:aws:s3:::codebuild-source-123456789012-us-east-1"}
    assert denied.pop("iam:DeleteRole") <= nested_roles
    assert denied.pop("iam:DeleteRolePolicy") <= nested_roles
    assert denied == {}
    assert not [c for c in calls if c.action in ("CreateRole", "PutRolePolicy")]
    # the scanner and the orchestrator were refused nothing
    for who in ("scanner", "orchestrator"):
        mine = [c for c in matrix["calls"] if c.key == KEYS[who]]
        assert mine and not [c for c in mine if c.error.startswith("AccessDenied")], who
