"""The AWS loop's fault paths against the simulated account (tests/twin), all at once in a
stack of their own: a capacity failure, a quota of 0, an unhealthy inference component, a
container that answers nothing or no JSON, throttling, SIGTERM at the run budget, a build
killed outright (the orchestrator's failure path, then the sweeper), a failed nested build
and a slow delete; then what follows them (`aftermath`): the scheduled scan that skips what
is blocked, the sweeper, and the re-queue after the block's retryAfter.
"""

import os
import re
import signal
import time
from datetime import timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from tests.twin import fixture
from tests.twin.codebuild import Build
from tests.twin.fixture import leaks as _leaks
from tests.twin.loop import KEYS

pytestmark = [pytest.mark.twin]
CATALOG = load_valid_catalog()
SUPPORTED = [e for e in CATALOG.entries if e.supported]
TABLE = fixture.TABLE
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
    # the run starts when the scan claimed it: the scan's time, as every moment is written
    requeue_at = aftermath["requeue_at"]
    in_ms = requeue_at.replace(microsecond=requeue_at.microsecond // 1000 * 1000)
    assert clock.parse(passed.startedAt) == in_ms
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
    assert run.execution.visited[-3:] == ["RecordFailure", "Recorded", "ExecutorFailed"]
    record = faults["records"][KILLED]
    assert record.testStatus == "fail-build"
    # the recorder says how the build ended, from the Build the .sync task's error carries
    assert re.match(
        r"executor build (FAILED|TIMED_OUT) in phase \w+ \(States\.TaskFailed\)",
        record.errorMessage,
    )
    # its endpoint was left running; the sweeper deleted it (made during that run),
    # components first
    project = f"mlcc-ci-{KILLED}"
    assert _leaks(faults["alive"], project)["endpoint"]
    deleted = aftermath["sweep"]["deleted"]
    assert deleted[0].startswith(f"inference component {project}-default-")
    assert deleted[1].startswith(f"endpoint {project}-endpoint-")
    assert aftermath["sweep"]["errors"] == []
    # the nested build's log group is the stack's, with its retention: nothing to give it
    assert f"/aws/codebuild/{project}-build-use1" not in aftermath["sweep"]["logRetention"]
    # and the nested build project the run left (its role is the stack's)
    assert f"nested build project {project}-build-use1" in deleted
    assert _leaks(aftermath["swept_alive"], project) == {}
    assert aftermath["rerun_record"].testStatus == "pass"
    assert _leaks(aftermath["final_alive"], project) == {}
    # the sweeper, too, acted under its role and was refused nothing
    sweeper = [c for c in account["twin"].calls if c.key == KEYS["sweeper"]]
    assert sweeper and not [c for c in sweeper if c.error.startswith("AccessDenied")]
