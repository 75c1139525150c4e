"""A deploy_test timeout is classed by what its log says: still waiting for SageMaker to
provision the endpoint is capacity (retried, then blocked); the endpoint InService and the
container not ready or not answering is the product's."""

import os
from dataclasses import replace

import pytest

from mlcc_ci import clock, failures
from mlcc_ci.catalog import load_valid_catalog, merge
from mlcc_ci.lifecycle import Runner
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.sqlite import SqliteStore
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "failures"
KILLED = "timed out after 3600s; its process group was killed"
# What generator 1.6.0's realtime-inference do/deploy prints up to its endpoint wait
DEPLOY = """\
🚀 Deploying to AWS
   Project: mlcc-ci-transformers-vllm
✅ ECR image found: 123456789012.dkr.ecr.us-east-1.amazonaws.com/mlcc-ci-images:tag
🚀 Creating endpoint: mlcc-ci-transformers-vllm-endpoint-1726670002
✅ Endpoint creation initiated: mlcc-ci-transformers-vllm-endpoint-1726670002
⏳ Waiting for endpoint to reach InService status...
   This may take a few minutes...
   If this times out, re-run ./do/deploy to resume.
"""
IN_SERVICE = """\
✅ Endpoint is InService: mlcc-ci-transformers-vllm-endpoint-1726670002

── Deploying IC: default ──
📦 Creating inference component: mlcc-ci-transformers-vllm-ic-default-1726670391
"""
IC_WAIT = """\
⏳ Waiting for inference component to reach InService status...
   This may take 5-10 minutes...
   03:19:51 Status: Creating (0s elapsed)...
"""
STDERR = "WARNING: the AWS CLI's pager is off\nurllib3 warning: retrying\n"


def classify(tmp_path, stdout, stderr=STDERR):
    """As the runner classifies a failed stage: its log, the stderr beside it, and its
    error summary (the timeout note, then the last of stderr)."""
    log = tmp_path / "deploy_test.log"
    log.write_text(stdout)
    log.with_suffix(".stderr.log").write_text(stderr)
    return failures.classify_stage("deploy_test", log, f"{KILLED}\n{stderr.strip()}")


def test_still_waiting_for_the_endpoint_is_capacity(tmp_path):
    found = classify(tmp_path, DEPLOY)
    assert (found.cls, found.rule, found.capture) == (
        "capacity",
        "deploy-provisioning-timeout",
        "Waiting for endpoint",
    )
    assert found.line == "⏳ Waiting for endpoint to reach InService status..."
    assert found.retry.count > 0  # retried, then blocked


def test_the_wait_loops_creating_lines_are_still_provisioning(tmp_path):
    """A do/deploy that prints the endpoint's status while it waits (Status: Creating)."""
    stdout = "⏳ Waiting for endpoint mlcc-ci-x-ep-1726670002 to be InService...\n" + "".join(
        f"   Status: Creating (elapsed {s}s)\n" for s in range(0, 3600, 30)
    )
    assert classify(tmp_path, stdout).cls == "capacity"


def test_waiting_for_the_inference_component_is_the_products(tmp_path):
    found = classify(tmp_path, DEPLOY + IN_SERVICE + IC_WAIT)
    assert (found.cls, found.rule) == ("product", "stage-timeout")


def test_a_container_that_does_not_answer_after_deploy_is_the_products(tmp_path):
    done = "✅ Inference component is InService: mlcc-ci-transformers-vllm-ic-default\n"
    found = classify(tmp_path, DEPLOY + IN_SERVICE + IC_WAIT + done + "🧪 Testing endpoint...\n")
    assert (found.cls, found.rule) == ("product", "stage-timeout")


def test_an_async_endpoints_wait_includes_its_container_and_stays_the_products(tmp_path):
    stdout = DEPLOY.replace("Waiting for endpoint", "Waiting for async endpoint")
    assert classify(tmp_path, stdout).rule == "stage-timeout"


def test_a_failure_sagemaker_names_wins_over_the_timeout(tmp_path):
    """The endpoint failed its health check before the stage timed out: the product's,
    by the rule that says so, never capacity."""
    said = "❌ Endpoint failed\n   FailureReason: ... did not pass the ping health check.\n"
    found = classify(tmp_path, DEPLOY + said)
    assert (found.cls, found.rule) == ("product", "endpoint-health-check")


def test_the_fixtures_of_both_rules(tmp_path):
    provisioning = failures.classify_log(
        "deploy_test", FIXTURES / "deploy-provisioning-timeout.log"
    )
    container = failures.classify_log("deploy_test", FIXTURES / "stage-timeout.log")
    assert (provisioning.cls, container.cls) == ("capacity", "product")
    # only deploy_test's wait is SageMaker's provisioning: a build that timed out is not
    text = (FIXTURES / "deploy-provisioning-timeout.log").read_text()
    assert failures.classify("build", text).rule == "stage-timeout"


def test_a_large_stderr_between_the_wait_and_the_timeout_does_not_hide_it(tmp_path):
    stderr = "".join(f"warning {i}: the CLI says something long-winded here\n" for i in range(300))
    assert classify(tmp_path, DEPLOY, stderr).cls == "capacity"


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "r.db")
    yield s
    s.close()


@pytest.mark.functional
@pytest.mark.parametrize(
    ("printed", "status", "cls", "rule"),
    [
        (DEPLOY, "untested", "capacity", "deploy-provisioning-timeout"),
        (DEPLOY + IN_SERVICE + IC_WAIT, "fail-deploy_test", "product", "stage-timeout"),
    ],
)
def test_a_run_whose_deploy_times_out(store, tmp_path, printed, status, cls, rule):
    """Through the runner: the stage's output, its timeout, its class and what the record
    keeps: blocked (its status as it was) while provisioning, failed once InService."""
    catalog = load_valid_catalog()
    entry = catalog.get("http-flask")
    store.register(from_entry(entry), clock.iso(clock.now()))
    record = claim(store, store.get(entry.config_id), "run-1", clock.iso(clock.now(), ms=True))
    (tmp_path / "deploy.out").write_text(printed)
    profile = load_profile(catalog, "example")
    stages = {
        "deploy_test": {"command": f"cat {tmp_path / 'deploy.out'}; sleep 60", "timeoutSeconds": 1}
    }
    profile = replace(profile, stages=merge(profile.stages, stages))
    runner = Runner(store, profile, work_root=tmp_path / "work", env=dict(os.environ), retry=False)
    runner.executor.kill_grace = 0.5
    report = runner.run(record, entry)
    assert report.outcome.status == "fail-deploy_test"
    assert (report.outcome.failure.cls, report.outcome.failure.rule) == (cls, rule)
    stored = store.get(entry.config_id)
    assert stored.testStatus == status
    assert (stored.blocked is not None) == (cls == "capacity")
