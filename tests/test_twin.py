"""The AWS loop, end to end, against a simulated account (tests/twin): the scanner claims every
supported configuration, the orchestrator's definition from the synthesized template starts
the executor build, which runs the template's own buildspec as CodeBuild would, and the
pinned generator's unchanged do-scripts generate, validate, submit, deploy, test and clean up
against the simulation. Then the fault paths: a capacity failure, an unhealthy inference
component, throttling, SIGTERM at the run budget, a build killed outright (the orchestrator's
failure path, then the sweeper), and a failed nested build. Every call the executor made is
then checked against its synthesized role.

What this cannot prove — quotas, GPU capacity, real image builds, real model loads — only a
real account can (README, "What the simulated account proves").
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from tests.conftest import REPO
from tests.twin import iam
from tests.twin.codebuild import EXECUTOR_KEY, Build, CodeBuild, Image
from tests.twin.loop import Loop
from tests.twin.template import Template

pytestmark = [pytest.mark.twin]
CATALOG = load_valid_catalog()
SUPPORTED = [e for e in CATALOG.entries if e.supported]
TWIN_CACHE = REPO / ".twin"
TABLE = "mlcc-ci-table"
# the fault paths, one configuration each
CAPACITY, UNHEALTHY, THROTTLED = "transformers-vllm", "triton-fil", "http-fastapi"
TERMINATED, KILLED, NESTED_FAILS = "transformers-lmi", "transformers-djl", "triton-python"
SLOW_DELETE = "diffusors-vllm"
HF_SECRET, HF_TOKEN = "mlcc-ci-hf-token", "hf_" + "TwinTokenNeverShown0123456789"
GATED = "transformers-tensorrt-llm"


def _synth(outdir: Path) -> Path:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    sys.path.insert(0, str(REPO / "cdk"))
    try:
        from app import build_app
    finally:
        sys.path.remove(str(REPO / "cdk"))
    build_app(str(outdir), nag=False).synth()
    return outdir


def _cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mlcc_ci", *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _when_component_hangs(twin, project: str, act):
    """A watcher: once `project`'s inference component is Creating for good, `act(build)`."""

    def watch(build: Build) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not build.done.is_set():
            creating = [
                c
                for c in twin.hosting.components.values()
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
def loop(_twin_server, tmp_path_factory):
    """Run the whole loop once: the matrix, the fault paths, the sweeper, a rerun."""
    for cache in (TWIN_CACHE / "wheels", TWIN_CACHE / "npm-cache"):
        if not cache.is_dir():
            pytest.fail(f"{cache} is missing: `make twin-cache` prepares the simulated image")
    twin = _twin_server.reset()
    home = tmp_path_factory.mktemp("twin-home")
    # not under /tmp: each build mounts a /tmp of its own
    workspace = Path(tempfile.mkdtemp(prefix="mlcc-ci-twin-", dir="/var/tmp"))
    try:
        yield from _the_loop(twin, home, workspace, tmp_path_factory)
    finally:  # also when the loop broke: builds leave a few hundred MB each
        if not os.environ.get("MLCC_TWIN_KEEP"):
            shutil.rmtree(workspace, ignore_errors=True)


def _the_loop(twin, home, workspace, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        for key, value in {
            "AWS_ENDPOINT_URL": twin.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "share"),
        }.items():
            env.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MLCC_CI_STORE", "VIRTUAL_ENV"):
            env.delenv(key, raising=False)
        template = Template.load(
            _synth(tmp_path_factory.mktemp("cdk.out")),
            MaxConcurrency=str(len(SUPPORTED)),
            HuggingFaceAccess=HF_SECRET,
        )
        clients = {
            s: boto3.client(s, region_name="us-east-1")
            for s in (
                "dynamodb",
                "s3",
                "ecr",
                "sns",
                "logs",
                "iam",
                "stepfunctions",
                "secretsmanager",
            )
        }
        template.provision(clients)
        # every call the executor makes is checked against its synthesized role, as IAM would
        twin.enforced[EXECUTOR_KEY] = iam.authorizer(
            template.policies_of(_executor_role(template)), "assumed-role/mlcc-ci-executor"
        )
        # the account's Hugging Face token, for the gated model, as an operator stores it
        clients["secretsmanager"].create_secret(Name=HF_SECRET, SecretString=HF_TOKEN)
        twin.mark_baseline()
        image = Image(workspace / "image", TWIN_CACHE / "wheels", TWIN_CACHE / "npm-cache")
        codebuild = CodeBuild(template, image, twin.url, workspace / "builds")
        the_loop = Loop(twin, template, codebuild)
        from mlcc_ci.stores.open import open_store

        store = open_store(None, table=TABLE)
        out: dict = {"template": template, "store": store, "twin": twin, "clients": clients}

        # 1. the matrix: every supported configuration, all at once
        _cli("register", "--from-catalog", "--all", "--table", TABLE)
        started = time.monotonic()
        scan = the_loop.scan()
        out["matrix"] = the_loop.execute_all(scan["executionArns"])
        out["matrix_seconds"] = time.monotonic() - started
        out["matrix_records"] = {e.name: store.get(e.config_id) for e in SUPPORTED}
        out["matrix_alive"] = twin.alive()
        out["matrix_calls"] = list(twin.calls)
        out["gated_component_env"] = [
            c.params.get("Specification", {}).get("Container", {}).get("Environment", {})
            for c in twin.calls
            if c.action == "CreateInferenceComponent"
            and GATED in c.params["InferenceComponentName"]
        ]

        # 2. the fault paths, again all at once
        twin.faults.add("capacity", f"mlcc-ci-{CAPACITY}-", times=1)  # the next try has it
        twin.faults.add("ic-unhealthy", f"mlcc-ci-{UNHEALTHY}-")
        twin.faults.add("throttle:CreateEndpoint", f"mlcc-ci-{THROTTLED}-", times=2)
        twin.faults.add("ic-hang", f"mlcc-ci-{TERMINATED}-")
        twin.faults.add("ic-hang", f"mlcc-ci-{KILLED}-")
        twin.faults.add("nested-build-fails", f"mlcc-ci-{NESTED_FAILS}-")
        twin.faults.add("slow-delete", f"mlcc-ci-{SLOW_DELETE}-")
        faulty = (CAPACITY, UNHEALTHY, THROTTLED, TERMINATED, KILLED, NESTED_FAILS, SLOW_DELETE)
        _cli("register", "--from-catalog", "--retest", *faulty, "--table", TABLE)
        terminate = _when_component_hangs(twin, f"mlcc-ci-{TERMINATED}-", _budget_expires)
        kill = _when_component_hangs(twin, f"mlcc-ci-{KILLED}-", Build.kill)
        watchers = {
            CATALOG.get(TERMINATED).config_id: terminate,
            CATALOG.get(KILLED).config_id: kill,
        }
        started = time.monotonic()
        out["faults"] = the_loop.execute_all(the_loop.scan()["executionArns"], watchers)
        out["fault_seconds"] = time.monotonic() - started
        out["fault_records"] = {n: store.get(CATALOG.get(n).config_id) for n in faulty}
        out["fault_alive"] = twin.alive()
        twin.faults.clear()
        # the schedule fires now: the configuration capacity blocked waits for its retryAfter
        out["blocked_scan"] = the_loop.scan(at=clock.now())

        # 3. the sweeper finds what the killed run left; then that configuration runs again,
        # by the first scheduled scan after the blocked one's retryAfter, which re-queues it
        out["sweep"] = the_loop.sweep(POLL_SECONDS="0.2", PATIENCE_SECONDS="30")
        out["swept_alive"] = twin.alive()
        _cli("register", "--from-catalog", "--retest", KILLED, "--table", TABLE)
        blocked = out["fault_records"][CAPACITY].blocked
        retry_after = clock.parse(blocked.retryAfter) if blocked else clock.now()
        out["requeue_at"] = retry_after + timedelta(minutes=1)
        out["requeue_scan"] = the_loop.scan(at=out["requeue_at"])
        started = time.monotonic()
        out["rerun"] = the_loop.execute_all(out["requeue_scan"]["executionArns"])
        out["rerun_seconds"] = time.monotonic() - started
        out["rerun_record"] = store.get(CATALOG.get(KILLED).config_id)
        out["requeued_record"] = store.get(CATALOG.get(CAPACITY).config_id)
        out["final_alive"] = twin.alive()
        out["builds"] = codebuild.builds
        out["calls"] = list(twin.calls)
        yield out


def _executor_role(template: Template) -> str:
    (role,) = [
        logical
        for logical, resource in template.of_type("AWS::IAM::Role").items()
        if "codebuild.amazonaws.com"
        in json.dumps(resource["Properties"]["AssumeRolePolicyDocument"])
        and "RoleName" not in resource["Properties"]  # the nested builds' roles are named
    ]
    return role


LEAKS = (
    "endpoint",
    "endpoint-config",
    "model",
    "inference-component",
    "codebuild-project",
    "iam-role",
)


def _leaks(alive: dict, project: str | None = None) -> dict:
    return {
        kind: [n for n in names if project is None or n.startswith(project)]
        for kind, names in alive.items()
        if kind in LEAKS and [n for n in names if project is None or n.startswith(project)]
    }


def test_every_supported_configuration_passes_the_whole_loop(loop):
    records = loop["matrix_records"]
    assert {name: r.testStatus for name, r in records.items()} == {
        e.name: "pass" for e in SUPPORTED
    }
    for name, record in records.items():
        assert {s: r.status for s, r in record.stageResults.items()} == {
            stage: "pass"
            for stage in ("generate", "validate", "build", "deploy_test", "register", "teardown")
        }, name
        assert record.generatorVersion == "1.6.0" and record.errorMessage in ("", None)
        history = loop["store"].history(record.configId)
        assert "pass" in [h.status for h in history], name
    assert len(loop["matrix"]) == len(SUPPORTED)
    for run in loop["matrix"].values():
        assert run.execution.status == "SUCCEEDED"
        assert run.execution.visited[-1] == "RunPassed"
        (build,) = run.builds
        assert build.status == "SUCCEEDED"
    print(f"\nmatrix: {len(SUPPORTED)} configurations in {loop['matrix_seconds']:.0f} s")


def test_a_gated_model_deploys_with_the_token_the_stack_names_and_never_shows_it(loop):
    record = loop["matrix_records"][GATED]
    assert record.testStatus == "pass"
    reads = [
        c
        for c in loop["calls"]
        if c.action == "GetSecretValue" and c.params["SecretId"] == HF_SECRET
    ]
    assert reads and all(c.key == EXECUTOR_KEY and c.status == 200 for c in reads)
    # do/deploy handed it to the container, never to the record or the logs
    (run,) = [r for r in loop["matrix"].values() if r.config_id == record.configId]
    assert HF_TOKEN not in run.builds[0].output()
    assert HF_TOKEN not in json.dumps(record.to_item())
    assert HF_TOKEN in json.dumps(loop["gated_component_env"])


def test_nothing_a_run_created_is_left_alive(loop):
    assert _leaks(loop["matrix_alive"]) == {}
    assert _leaks(loop["final_alive"]) == {}
    # images stay in the stack's repository, which expires them by its lifecycle rule
    ecr = loop["clients"]["ecr"]
    (rule,) = json.loads(
        ecr.get_lifecycle_policy(repositoryName="mlcc-ci-images")["lifecyclePolicyText"]
    )["rules"]
    assert rule["selection"]["tagStatus"] == "any"
    assert (
        rule["selection"]["countType"] == "sinceImagePushed" and rule["action"]["type"] == "expire"
    )


def test_the_executor_ran_as_codebuild_runs_it(loop):
    template = loop["template"]
    test_venv = str(Path(sys.executable).parent)
    for build in loop["builds"]:
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
        assert build.env["AWS_ENDPOINT_URL"] == loop["twin"].url
        assert ("DOCKER_HOST" in build.env) == props["Environment"]["PrivilegedMode"]
    build = next(b for b in loop["builds"] if b.status == "SUCCEEDED")
    log = build.output()
    phases = [line.split()[-1] for line in log.splitlines() if "Entering phase" in line]
    assert phases == ["INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"]
    assert "[Container] Running command python -m pip install --quiet ." in log
    # the runner is told the budget `timeout` enforces
    assert "[Container] Running command export MLCC_CI_RUN_SECONDS=9000" in log
    # the do-scripts ran in the virtualenv the harness prepared, and never prompted
    work = build.work / "mlcc-ci-work"
    (deploy_log,) = work.glob("*/logs/deploy_test.log")
    deploy = deploy_log.read_text() + deploy_log.with_suffix(".stderr.log").read_text()
    assert "Deployment complete!" in deploy
    assert (
        "Python virtual environment required" not in deploy and "? Endpoint strategy" not in deploy
    )


def test_stage_log_pointers_name_the_stream_codebuild_wrote(loop):
    logs = loop["clients"]["logs"]
    for record in loop["matrix_records"].values():
        pointer = record.stageResults["deploy_test"].logPointer
        assert pointer.startswith("cloudwatch:build/")
        stream = pointer.removeprefix("cloudwatch:")
        events = logs.get_log_events(logGroupName="ml-container-creator-ci", logStreamName=stream)
        text = "\n".join(e["message"] for e in events["events"])
        assert re.search(rf"^{record.deploymentConfig} +deploy_test +pass", text, re.M), text


def _capacity_runs(loop) -> list:
    """The capacity configuration's runs since the matrix, oldest first."""
    config_id = CATALOG.get(CAPACITY).config_id
    matrix = loop["matrix_records"][CAPACITY]
    history = sorted(loop["store"].history(config_id), key=lambda h: clock.parse(h.startedAt))
    ended = clock.parse(matrix.lastTestTimestamp)
    return [h for h in history if h.runId != matrix.runId and clock.parse(h.startedAt) > ended]


def test_a_failed_deploy_is_recorded_with_aws_s_reason_and_torn_down(loop):
    """SageMaker had no capacity: the run is classified `capacity`, torn down, and, since the
    rule's backoff (600 s) is longer than a build waits, not retried within the build: the
    record is blocked, keeping the status it had (untested: it was asked to be retested),
    until the scanner's re-queue."""
    record = loop["fault_records"][CAPACITY]
    assert record.testStatus == "untested"
    blocked = record.blocked
    assert (blocked.cls, blocked.stage, blocked.rule, blocked.rounds) == (
        "capacity",
        "deploy_test",
        "sagemaker-capacity",
        1,
    )
    (run, *_) = _capacity_runs(loop)
    assert run.status == "fail-deploy_test" and run.attempt == 1
    assert (run.failure.cls, run.failure.rule) == ("capacity", "sagemaker-capacity")
    summary = run.stageResults["deploy_test"].errorSummary
    assert "Failed: Unable to provision requested ML compute capacity for ml.g6.12xlarge" in summary
    assert run.stageResults["teardown"].status == "pass"
    assert clock.parse(blocked.retryAfter) == clock.parse(run.finishedAt) + timedelta(seconds=600)
    (build,) = loop["faults"][CATALOG.get(CAPACITY).config_id].builds
    output = build.output()
    assert "its backoff (600s) is the scanner's to wait, not this build's" in output
    assert "blocked (capacity) at deploy_test" in output
    unhealthy = loop["fault_records"][UNHEALTHY]
    assert unhealthy.testStatus == "fail-deploy_test"
    assert (
        "did not pass the ping health check" in unhealthy.stageResults["deploy_test"].errorSummary
    )
    assert unhealthy.stageResults["teardown"].status == "pass"
    for name in (CAPACITY, UNHEALTHY):
        assert _leaks(loop["fault_alive"], f"mlcc-ci-{name}") == {}


def test_a_capacity_failure_is_retried_by_the_scanner_after_its_backoff(loop):
    """Blocked until T: the schedule firing before T skips it, the first scan after T starts
    it again, and that run passes; both runs are in the history, nothing is left alive."""
    config_id = CATALOG.get(CAPACITY).config_id
    retry_after = loop["fault_records"][CAPACITY].blocked.retryAfter
    before = loop["blocked_scan"]
    assert before["executionArns"] == []
    (skipped,) = [s for s in before["skipped"] if s["configId"] == config_id]
    assert skipped["reason"] == "blocked"
    assert f"tried again after {clock.display(retry_after)}" in skipped["detail"]
    assert config_id in loop["rerun"]  # started by the scan after retryAfter
    run = loop["rerun"][config_id]
    assert run.execution.visited[-1] == "RunPassed"
    (build,) = run.builds
    assert build.status == "SUCCEEDED"
    record = loop["requeued_record"]
    assert (record.testStatus, record.blocked, record.failure) == ("pass", None, None)
    blocked_run, passed = _capacity_runs(loop)
    assert [blocked_run.failure.cls, passed.status] == ["capacity", "pass"]
    assert clock.parse(passed.startedAt) == loop["requeue_at"].replace(microsecond=0)
    assert clock.parse(passed.startedAt) > clock.parse(retry_after)
    assert _leaks(loop["final_alive"], f"mlcc-ci-{CAPACITY}") == {}
    # it ran beside the killed configuration's rerun: no phase of its own
    assert set(loop["rerun"]) == {config_id, CATALOG.get(KILLED).config_id}
    print(
        f"\nfaults: {loop['fault_seconds']:.0f} s; rerun and re-queue together: "
        f"{loop['rerun_seconds']:.0f} s"
    )


def test_throttling_is_retried(loop):
    """By the AWS CLI inside do/deploy, before mlcc-ci sees any failure: one attempt."""
    record = loop["fault_records"][THROTTLED]
    assert record.testStatus == "pass"
    (run,) = [h for h in loop["store"].history(record.configId) if h.runId == record.runId]
    assert (run.status, run.attempt, run.failure) == ("pass", 1, None)
    creates = [
        c.error or "ok"
        for c in loop["calls"]
        if c.action == "CreateEndpoint"
        and c.params["EndpointName"].startswith(f"mlcc-ci-{THROTTLED}-")
    ]
    assert creates[-3:] == ["ThrottlingException", "ThrottlingException", "ok"]


def test_sigterm_at_the_run_budget_leaves_time_for_teardown(loop):
    record = loop["fault_records"][TERMINATED]
    assert record.testStatus == "fail-deploy_test"
    assert "interrupted by SIGTERM" in record.stageResults["deploy_test"].errorSummary
    assert record.stageResults["teardown"].status == "pass"
    assert _leaks(loop["fault_alive"], f"mlcc-ci-{TERMINATED}") == {}
    (build,) = loop["faults"][CATALOG.get(TERMINATED).config_id].builds
    assert "Entering phase POST_BUILD" in build.output()


def test_a_run_killed_outright_is_recorded_by_the_orchestrator_and_swept(loop):
    run = loop["faults"][CATALOG.get(KILLED).config_id]
    assert run.execution.visited[-3:] == ["RecordFailure", "RecordRunInHistory", "ExecutorFailed"]
    record = loop["fault_records"][KILLED]
    assert record.testStatus == "fail-build"
    assert record.errorMessage.startswith(
        "executor build failed or timed out without writing its result (States.TaskFailed)"
    )
    history = loop["store"].history(record.configId)
    assert [h.status for h in history if h.runId == record.runId] == ["fail-build"]
    # its endpoint was left running; the sweeper deleted it (made during that run),
    # components first
    project = f"mlcc-ci-{KILLED}"
    assert _leaks(loop["fault_alive"], project)["endpoint"]
    deleted = loop["sweep"]["deleted"]
    assert deleted[0].startswith(f"inference component {project}-default-")
    assert deleted[1].startswith(f"endpoint {project}-endpoint-")
    assert loop["sweep"]["errors"] == []
    # and it gave every nested build's log group a retention (CodeBuild sets none)
    assert sorted(loop["sweep"]["logRetention"]) == sorted(
        f"/aws/codebuild/mlcc-ci-{e.name}-build"
        for e in SUPPORTED
        if e.data["buildStrategy"] == "codebuild-submit"  # docker-in-docker has no nested build
    )
    # and the nested build project the run left (its role is the stack's)
    assert f"nested build project {project}-build" in deleted
    assert _leaks(loop["swept_alive"], project) == {}
    assert loop["rerun_record"].testStatus == "pass"
    assert _leaks(loop["final_alive"], project) == {}


def test_a_failed_nested_build_fails_the_build_stage_and_is_cleaned_up(loop):
    record = loop["fault_records"][NESTED_FAILS]
    assert record.testStatus == "fail-build"
    assert "exit code 1" in record.stageResults["build"].errorSummary
    assert record.stageResults["teardown"].status == "pass"
    assert _leaks(loop["fault_alive"], f"mlcc-ci-{NESTED_FAILS}") == {}


def test_what_the_projects_cleanup_leaves_the_harness_deletes(loop):
    """do/clean deletes the inference component, sleeps 15 s (the CLI has no waiter for it),
    then asks to delete the endpoint, which SageMaker refuses while the component is still
    deleting; the endpoint would stay up. The harness finds it after teardown and deletes it."""
    record = loop["fault_records"][SLOW_DELETE]
    assert record.testStatus == "pass"
    teardown = record.stageResults["teardown"]
    assert teardown.status == "pass"
    assert re.fullmatch(
        rf"the project's cleanup left endpoint mlcc-ci-{SLOW_DELETE}-endpoint-\d+: deleted by the harness",
        teardown.note,
    ), teardown.note
    assert _leaks(loop["fault_alive"], f"mlcc-ci-{SLOW_DELETE}") == {}
    refused = [
        c
        for c in loop["calls"]
        if c.action == "DeleteEndpoint"
        and c.params["EndpointName"].startswith(f"mlcc-ci-{SLOW_DELETE}-")
    ]
    assert [c.status for c in refused][-2:] == [400, 200]  # do/clean's, then the harness's


def test_every_call_the_executor_made_is_allowed_by_its_role(loop):
    """The twin enforced the executor's synthesized role on every call it made (anything
    else was refused with AccessDenied, as IAM would), and the runs passed: the role is
    enough. What it refused is only what the do-scripts try and are meant to be refused."""
    calls = [c for c in loop["calls"] if c.key == EXECUTOR_KEY]
    per_config = len([c for c in loop["matrix_calls"] if c.key == EXECUTOR_KEY]) / len(SUPPORTED)
    print(f"\nexecutor: {len(calls)} AWS calls in all, {per_config:.0f} per configuration")
    assert per_config > 30  # the scripts really ran against the account
    statements = loop["template"].policies_of(_executor_role(loop["template"]))
    nested_roles = {
        f"arn:aws:iam::123456789012:role/{loop['template'].name(logical)}"
        for logical, r in loop["template"].of_type("AWS::IAM::Role").items()
        if r["Properties"].get("RoleName", "").endswith("-build-service-role")
    }
    denied = {}
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
