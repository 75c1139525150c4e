"""The AWS loop, end to end, against a simulated account (tests/twin): the scanner claims every
supported configuration, the orchestrator's definition from the synthesized template starts
the executor build, which runs the template's own buildspec as CodeBuild would, and the
pinned generator's unchanged do-scripts generate, validate, submit, deploy, test and clean up
against the simulation, every principal under its synthesized role. Then the fault paths: a
capacity failure, a quota of 0, an unhealthy inference component, a container that answers
nothing or no JSON, throttling, SIGTERM at the run budget, a build killed outright (the
orchestrator's failure path, then the sweeper), a failed nested build and a slow delete.

Each phase is a fixture of its own, so `-k` sets up only what its tests need: the matrix
(`matrix`), the fault paths (`faults`, without the matrix), and what follows them
(`aftermath`: the scheduled scan that skips the blocked, the sweeper, the re-queue).

What this cannot prove — real GPU capacity, real image builds, real model loads — only a
real account can (README, "What the simulated account proves").
"""

import json
import os
import re
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from tests.twin import fixture, iam
from tests.twin.codebuild import EXECUTOR_KEY, Build
from tests.twin.loop import KEYS

pytestmark = [pytest.mark.twin]
CATALOG = load_valid_catalog()
SUPPORTED = [e for e in CATALOG.entries if e.supported]
TABLE = fixture.TABLE
# Generator 1.6.0 asks for 1 accelerator per inference component also on ml.m5.large, which
# has none: SageMaker cannot place them (the static profile predicts it, see test_generator)
UNPLACEABLE = ("http-fastapi", "http-flask")
# the fault paths, one configuration each
CAPACITY, UNHEALTHY, THROTTLED = "transformers-vllm", "triton-fil", "triton-onnx"
TERMINATED, KILLED, NESTED_FAILS = "transformers-lmi", "transformers-djl", "triton-python"
SLOW_DELETE, QUOTA = "triton-vllm", "diffusors-vllm"
EMPTY_ANSWER, TEXT_ANSWER = "triton-pytorch", "triton-tensorflow"
FAULTY = (
    CAPACITY,
    UNHEALTHY,
    THROTTLED,
    TERMINATED,
    KILLED,
    NESTED_FAILS,
    SLOW_DELETE,
    QUOTA,
    EMPTY_ANSWER,
    TEXT_ANSWER,
)
HF_SECRET, HF_TOKEN = "mlcc-ci-hf-token", "hf_" + "TwinTokenNeverShown0123456789"
GATED = "transformers-tensorrt-llm"
LEAKS = (
    "endpoint",
    "endpoint-config",
    "model",
    "inference-component",
    "codebuild-project",
    "iam-role",
)
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


def _when_component_hangs(twin, project: str, act):
    """A watcher: once `project`'s inference component is Creating for good, `act(build)`."""

    def watch(build: Build) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not build.done.is_set():
            creating = [
                c
                for c in list(twin.hosting.components.values())
                if c.name.startswith(project) and c.status == "Creating"
            ]
            if creating:
                time.sleep(1)  # do/deploy is in its wait_ic loop
                act(build)
                return
            time.sleep(0.2)

    return watch


def _budget_expires(build: Build) -> None:
    """What `timeout` does at the run budget: SIGTERM to the runner (sent to timeout itself,
    which passes it on as it does its own)."""
    (pid,) = [pid for pid, cmd in build.processes() if cmd.startswith("timeout --signal=TERM")]
    os.kill(pid, signal.SIGTERM)


@pytest.fixture(scope="module")
def account(_twin_server, tmp_path_factory):
    """The stack deployed into an empty simulated account, every principal under its
    synthesized role, the account's Hugging Face token stored as an operator stores it."""
    twin = _twin_server.reset()
    home = tmp_path_factory.mktemp("twin-home")
    with fixture.account_env(twin, home), fixture.workspace() as work:
        template, clients = fixture.deploy(
            twin,
            fixture.synthesized(),
            MaxConcurrency=str(len(SUPPORTED)),
            HuggingFaceAccess=HF_SECRET,
        )
        the_loop = fixture.loop(twin, template, work)
        principals = the_loop.enforce_roles()
        clients["secretsmanager"].create_secret(Name=HF_SECRET, SecretString=HF_TOKEN)
        twin.mark_baseline()
        from mlcc_ci.stores.open import open_store

        yield {
            "twin": twin,
            "template": template,
            "clients": clients,
            "loop": the_loop,
            "principals": principals,
            "store": open_store(None, table=TABLE),
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


@pytest.fixture(scope="module")
def faults(account):
    """The fault paths, all at once (after the matrix when both run)."""
    twin, the_loop, store = account["twin"], account["loop"], account["store"]
    twin.faults.add("capacity", f"mlcc-ci-{CAPACITY}-", times=1)  # the next try has it
    twin.faults.add("ic-unhealthy", f"mlcc-ci-{UNHEALTHY}-")
    twin.faults.add("throttle:CreateEndpoint", f"mlcc-ci-{THROTTLED}-", times=2)
    twin.faults.add("ic-hang", f"mlcc-ci-{TERMINATED}-")
    twin.faults.add("ic-hang", f"mlcc-ci-{KILLED}-")
    twin.faults.add("nested-build-fails", f"mlcc-ci-{NESTED_FAILS}-")
    twin.faults.add("slow-delete", f"mlcc-ci-{SLOW_DELETE}-")
    twin.faults.add("answer-empty", f"mlcc-ci-{EMPTY_ANSWER}-")
    twin.faults.add("answer-text", f"mlcc-ci-{TEXT_ANSWER}-")
    # a new account's quota for the instance type only QUOTA uses
    (instance_type,) = {CATALOG.get(QUOTA).data["instanceType"]}
    assert [e.name for e in SUPPORTED if e.data["instanceType"] == instance_type] == [QUOTA]
    twin.set_quotas({instance_type: 0})
    fixture.cli("register", "--from-catalog", "--retest", *FAULTY, "--table", TABLE)
    terminate = _when_component_hangs(twin, f"mlcc-ci-{TERMINATED}-", _budget_expires)
    kill = _when_component_hangs(twin, f"mlcc-ci-{KILLED}-", Build.kill)
    watchers = {
        CATALOG.get(TERMINATED).config_id: terminate,
        CATALOG.get(KILLED).config_id: kill,
    }
    started = time.monotonic()
    first = len(twin.calls)
    runs = the_loop.execute_all(the_loop.scan()["executionArns"], watchers)
    out = {
        "runs": runs,
        "started": clock.now() - timedelta(seconds=time.monotonic() - started),
        "seconds": time.monotonic() - started,
        "records": {n: store.get(CATALOG.get(n).config_id) for n in FAULTY},
        "alive": twin.alive(),
        "calls": twin.calls[first:],
    }
    twin.faults.clear()
    return out


@pytest.fixture(scope="module")
def aftermath(account, faults):
    """The schedule firing now skips what is blocked; the sweeper finds what the killed run
    left; then the first scheduled scan after the capacity block's retryAfter re-queues it,
    beside the killed configuration, registered again."""
    twin, the_loop, store = account["twin"], account["loop"], account["store"]
    out: dict = {"blocked_scan": the_loop.scan(at=clock.now())}
    out["sweep"] = the_loop.sweep(POLL_SECONDS="0.2", PATIENCE_SECONDS="30")
    out["swept_alive"] = twin.alive()
    fixture.cli("register", "--from-catalog", "--retest", KILLED, "--table", TABLE)
    blocked = faults["records"][CAPACITY].blocked
    retry_after = clock.parse(blocked.retryAfter) if blocked else clock.now()
    out["requeue_at"] = retry_after + timedelta(minutes=1)
    out["requeue_scan"] = the_loop.scan(at=out["requeue_at"])
    started = time.monotonic()
    out["rerun"] = the_loop.execute_all(out["requeue_scan"]["executionArns"])
    out["rerun_seconds"] = time.monotonic() - started
    out["rerun_record"] = store.get(CATALOG.get(KILLED).config_id)
    out["requeued_record"] = store.get(CATALOG.get(CAPACITY).config_id)
    out["final_alive"] = twin.alive()
    return out


def _leaks(alive: dict, project: str | None = None) -> dict:
    return {
        kind: [n for n in names if project is None or n.startswith(project)]
        for kind, names in alive.items()
        if kind in LEAKS and [n for n in names if project is None or n.startswith(project)]
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
    placeable = [e for e in SUPPORTED if e.name not in UNPLACEABLE]
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
    for entry in (e for e in SUPPORTED if e.name not in UNPLACEABLE):
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


def test_a_gated_model_deploys_with_the_token_the_stack_names_and_never_shows_it(account, matrix):
    record = matrix["records"][GATED]
    assert record.testStatus == "pass"
    reads = [
        c
        for c in matrix["calls"]
        if c.action == "GetSecretValue" and c.params["SecretId"] == HF_SECRET
    ]
    assert reads and all(c.key == EXECUTOR_KEY and c.status == 200 for c in reads)
    # do/deploy handed it to the container, never to the record or the logs
    run = matrix["runs"][record.configId]
    assert HF_TOKEN not in run.builds[0].output()
    assert HF_TOKEN not in json.dumps(record.to_item())
    component_env = [
        c.params.get("Specification", {}).get("Container", {}).get("Environment", {})
        for c in matrix["calls"]
        if c.action == "CreateInferenceComponent" and GATED in c.params["InferenceComponentName"]
    ]
    assert HF_TOKEN in json.dumps(component_env)


def test_nothing_a_run_created_is_left_alive(account, matrix):
    assert _leaks(matrix["alive"]) == {}
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
        assert build.env["HF_TOKEN_ARN"] == HF_SECRET
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
    assert "[Container] Running command python -m pip install --quiet ." in log
    # the runner is told the budget `timeout` enforces
    assert "[Container] Running command export MLCC_CI_RUN_SECONDS=9000" in log
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
        if r["Properties"].get("RoleName", "").endswith("-build-service-role")
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


# -- the fault paths -----------------------------------------------------------------------


def _capacity_runs(account, faults) -> list:
    """The capacity configuration's runs since the fault phase began, oldest first."""
    config_id = CATALOG.get(CAPACITY).config_id
    history = sorted(account["store"].history(config_id), key=lambda h: clock.parse(h.startedAt))
    began = faults["started"] - timedelta(seconds=1)
    return [h for h in history if clock.parse(h.startedAt) >= began]


def test_a_failed_deploy_is_recorded_with_aws_s_reason_and_torn_down(account, faults):
    """SageMaker had no capacity: the run is classified `capacity`, torn down, and, since the
    rule's backoff (600 s) is longer than a build waits, not retried within the build: the
    record is blocked, keeping the status it had (untested: it was asked to be retested),
    until the scanner's re-queue."""
    record = faults["records"][CAPACITY]
    assert record.testStatus == "untested"
    blocked = record.blocked
    assert (blocked.cls, blocked.stage, blocked.rule, blocked.rounds) == (
        "capacity",
        "deploy_test",
        "sagemaker-capacity",
        1,
    )
    (run, *_) = _capacity_runs(account, faults)
    assert run.status == "fail-deploy_test" and run.attempt == 1
    assert (run.failure.cls, run.failure.rule) == ("capacity", "sagemaker-capacity")
    summary = run.stageResults["deploy_test"].errorSummary
    assert "Failed: Unable to provision requested ML compute capacity for ml.g6.12xlarge" in summary
    assert run.stageResults["teardown"].status == "pass"
    assert clock.parse(blocked.retryAfter) == clock.parse(run.finishedAt) + timedelta(seconds=600)
    (build,) = faults["runs"][CATALOG.get(CAPACITY).config_id].builds
    output = build.output()
    assert "its backoff (600s) is the scanner's to wait, not this build's" in output
    assert "blocked (capacity) at deploy_test" in output
    unhealthy = faults["records"][UNHEALTHY]
    assert unhealthy.testStatus == "fail-deploy_test"
    assert (
        "did not pass the ping health check" in unhealthy.stageResults["deploy_test"].errorSummary
    )
    assert unhealthy.stageResults["teardown"].status == "pass"
    for name in (CAPACITY, UNHEALTHY):
        assert _leaks(faults["alive"], f"mlcc-ci-{name}") == {}


def test_a_quota_of_zero_blocks_the_configuration_as_aws_words_it(faults):
    """A new account's GPU quota is 0: CreateEndpoint is refused with ResourceLimitExceeded,
    which is the account's (quota), not the product's: blocked, nothing left behind."""
    record = faults["records"][QUOTA]
    instance_type = CATALOG.get(QUOTA).data["instanceType"]
    assert record.testStatus == "untested"
    assert (record.blocked.cls, record.blocked.rule, record.blocked.capture) == (
        "quota",
        "sagemaker-resource-limit",
        f"{instance_type} for endpoint usage",
    )
    refused = [
        c
        for c in faults["calls"]
        if c.action == "CreateEndpoint" and c.params["EndpointName"].startswith(f"mlcc-ci-{QUOTA}-")
    ]
    assert refused and {c.error for c in refused} == {"ResourceLimitExceeded"}
    assert _leaks(faults["alive"], f"mlcc-ci-{QUOTA}") == {}


@pytest.mark.parametrize(
    ("name", "said"),
    [
        (EMPTY_ANSWER, "smoke test: the answer has no outputs.0.data"),
        (TEXT_ANSWER, "smoke test: the answer is not JSON: 'OK'"),
    ],
)
def test_a_container_that_answers_nothing_useful_fails_the_smoke_test(faults, name, said):
    record = faults["records"][name]
    assert record.testStatus == "fail-deploy_test"
    assert record.stageResults["deploy_test"].errorSummary.startswith(said)
    assert record.stageResults["teardown"].status == "pass"
    assert _leaks(faults["alive"], f"mlcc-ci-{name}") == {}


def test_throttling_is_retried(account, faults):
    """By the AWS CLI inside do/deploy, before mlcc-ci sees any failure: one attempt."""
    record = faults["records"][THROTTLED]
    assert record.testStatus == "pass"
    (run,) = [h for h in account["store"].history(record.configId) if h.runId == record.runId]
    assert (run.status, run.attempt, run.failure) == ("pass", 1, None)
    creates = [
        c.error or "ok"
        for c in faults["calls"]
        if c.action == "CreateEndpoint"
        and c.params["EndpointName"].startswith(f"mlcc-ci-{THROTTLED}-")
    ]
    assert creates == ["ThrottlingException", "ThrottlingException", "ok"]


def test_sigterm_at_the_run_budget_leaves_time_for_teardown(faults):
    record = faults["records"][TERMINATED]
    assert record.testStatus == "fail-deploy_test"
    assert "interrupted by SIGTERM" in record.stageResults["deploy_test"].errorSummary
    assert record.stageResults["teardown"].status == "pass"
    assert _leaks(faults["alive"], f"mlcc-ci-{TERMINATED}") == {}
    (build,) = faults["runs"][CATALOG.get(TERMINATED).config_id].builds
    assert "Entering phase POST_BUILD" in build.output()


def test_a_failed_nested_build_fails_the_build_stage_and_is_cleaned_up(faults):
    record = faults["records"][NESTED_FAILS]
    assert record.testStatus == "fail-build"
    assert "exit code 1" in record.stageResults["build"].errorSummary
    assert record.stageResults["teardown"].status == "pass"
    assert _leaks(faults["alive"], f"mlcc-ci-{NESTED_FAILS}") == {}


def test_what_the_projects_cleanup_leaves_the_harness_deletes(faults):
    """do/clean deletes the inference component, sleeps 15 s (the CLI has no waiter for it),
    then asks to delete the endpoint, which SageMaker refuses while the component is still
    deleting; the endpoint would stay up. The harness finds it after teardown and deletes it."""
    record = faults["records"][SLOW_DELETE]
    assert record.testStatus == "pass"
    teardown = record.stageResults["teardown"]
    assert teardown.status == "pass"
    assert re.fullmatch(
        rf"the project's cleanup left endpoint mlcc-ci-{SLOW_DELETE}-endpoint-\d+: deleted by the harness",
        teardown.note,
    ), teardown.note
    assert _leaks(faults["alive"], f"mlcc-ci-{SLOW_DELETE}") == {}
    refused = [
        c
        for c in faults["calls"]
        if c.action == "DeleteEndpoint"
        and c.params["EndpointName"].startswith(f"mlcc-ci-{SLOW_DELETE}-")
    ]
    assert [c.status for c in refused][-2:] == [400, 200]  # do/clean's, then the harness's


# -- after the fault paths -----------------------------------------------------------------


def test_a_capacity_failure_is_retried_by_the_scanner_after_its_backoff(account, faults, aftermath):
    """Blocked until T: the schedule firing before T skips it, the first scan after T starts
    it again, and that run passes; both runs are in the history, nothing is left alive."""
    config_id = CATALOG.get(CAPACITY).config_id
    retry_after = faults["records"][CAPACITY].blocked.retryAfter
    before = aftermath["blocked_scan"]
    assert before["executionArns"] == []
    (skipped,) = [s for s in before["skipped"] if s["configId"] == config_id]
    assert skipped["reason"] == "blocked"
    assert f"tried again after {clock.display(retry_after)}" in skipped["detail"]
    assert config_id in aftermath["rerun"]  # started by the scan after retryAfter
    run = aftermath["rerun"][config_id]
    assert run.execution.visited[-1] == "RunPassed"
    (build,) = run.builds
    assert build.status == "SUCCEEDED"
    record = aftermath["requeued_record"]
    assert (record.testStatus, record.blocked, record.failure) == ("pass", None, None)
    blocked_run, passed = _capacity_runs(account, faults)
    assert [blocked_run.failure.cls, passed.status] == ["capacity", "pass"]
    assert clock.parse(passed.startedAt) == aftermath["requeue_at"].replace(microsecond=0)
    assert clock.parse(passed.startedAt) > clock.parse(retry_after)
    assert _leaks(aftermath["final_alive"], f"mlcc-ci-{CAPACITY}") == {}
    # it ran beside the killed configuration's rerun; the quota's block (900 s) is not due
    assert set(aftermath["rerun"]) == {config_id, CATALOG.get(KILLED).config_id}
    print(
        f"\nfaults: {faults['seconds']:.0f} s; rerun and re-queue together: "
        f"{aftermath['rerun_seconds']:.0f} s"
    )


def test_a_run_killed_outright_is_recorded_by_the_orchestrator_and_swept(
    account, faults, aftermath
):
    run = faults["runs"][CATALOG.get(KILLED).config_id]
    assert run.execution.visited[-3:] == ["RecordFailure", "RecordRunInHistory", "ExecutorFailed"]
    record = faults["records"][KILLED]
    assert record.testStatus == "fail-build"
    assert record.errorMessage.startswith(
        "executor build failed or timed out without writing its result (States.TaskFailed)"
    )
    # its endpoint was left running; the sweeper deleted it (made during that run),
    # components first
    project = f"mlcc-ci-{KILLED}"
    assert _leaks(faults["alive"], project)["endpoint"]
    deleted = aftermath["sweep"]["deleted"]
    assert deleted[0].startswith(f"inference component {project}-default-")
    assert deleted[1].startswith(f"endpoint {project}-endpoint-")
    assert aftermath["sweep"]["errors"] == []
    # and it gave the nested build log groups a retention (CodeBuild sets none)
    assert f"/aws/codebuild/{project}-build" in aftermath["sweep"]["logRetention"]
    # and the nested build project the run left (its role is the stack's)
    assert f"nested build project {project}-build" in deleted
    assert _leaks(aftermath["swept_alive"], project) == {}
    assert aftermath["rerun_record"].testStatus == "pass"
    assert _leaks(aftermath["final_alive"], project) == {}
    # the sweeper, too, acted under its role and was refused nothing
    sweeper = [c for c in account["twin"].calls if c.key == KEYS["sweeper"]]
    assert sweeper and not [c for c in sweeper if c.error.startswith("AccessDenied")]
