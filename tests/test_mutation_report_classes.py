"""Failures by class as a report shows them (mlcc_ci/report/classes.py), for hand-built
configurations: how a status and a run of the history read (`blocked (capacity)`,
`fail-build [product]`, `error [harness], attempt 2`), which failures are one group and in
which order the groups come, and the infrastructure noise line. Written for make mutation
(issue 32 item 2): each test fails on a mutant of classes.py that changes what is shown."""

from dataclasses import replace

import pytest

from mlcc_ci.models import Blocked, Failure, Run, StageResult
from mlcc_ci.report.classes import (
    FailureGroup,
    Noise,
    failure_class,
    failure_groups,
    last_error,
    noise,
    run_status,
    shown_status,
)
from mlcc_ci.report.configreport import ConfigReport
from tests.reporting import config_report

pytestmark = pytest.mark.unit

BLOCK = Blocked("capacity", "deploy_test", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z")


def config(name: str, status: str = "pass", **fields) -> ConfigReport:
    return config_report(name, status, **{"project": f"p-{name}", **fields})


def run(status: str = "pass", day: int = 1, **fields) -> Run:
    base = Run(
        configId="id",
        startedAt=f"2026-02-{day:02d}T00:00:00Z",
        runId=f"r-{day}",
        finishedAt=f"2026-02-{day:02d}T01:00:00Z",
        status=status,
        durationSeconds=60.0,
        deploymentConfig="c",
    )
    return replace(base, **fields)


def failed(stage: str, summary: str, **more: StageResult) -> dict[str, StageResult]:
    return {"generate": StageResult("pass"), stage: StageResult("fail", 1.0, "", summary), **more}


# -- how a status and a run read ----------------------------------------------------------


def test_a_status_reads_with_its_class_or_its_block():
    product = Failure("product", "build", "oom", "killed")
    assert shown_status(config("a", "fail-build", failure=product)) == "fail-build [product]"
    assert shown_status(config("a", "fail-build")) == "fail-build [unclassified]"
    assert shown_status(config("a", "pass")) == "pass"
    assert shown_status(config("a", "pass", blocked=BLOCK)) == "blocked (capacity)"
    assert shown_status(config("a", "running", blocked=BLOCK)) == "running"
    # removed: no longer failing, so no class
    assert shown_status(config("a", "fail-build", removed=True)) == "fail-build"


def test_the_failure_class_is_of_failing_configurations_only():
    assert failure_class(config("a", "pass", failure=Failure("product", "build"))) is None
    assert failure_class(config("a", "fail-build", failure=Failure("quota", "build"))) == "quota"
    assert failure_class(config("a", "fail-build")) == "unclassified"


def test_a_run_reads_with_its_class_and_its_attempt():
    cap = Failure("capacity", "deploy_test")
    assert run_status(run("fail-deploy_test", failure=cap)) == "fail-deploy_test [capacity]"
    assert run_status(run("fail-deploy_test", failure=cap, attempt=2)) == (
        "fail-deploy_test [capacity], attempt 2"
    )
    assert run_status(run("error")) == "error [harness]"
    assert run_status(run("error", failure=Failure("credentials", "build"))) == (
        "error [credentials]"
    )
    assert run_status(run("pass", failure=cap)) == "pass"  # a retry that passed
    assert run_status(run("pass", attempt=1)) == "pass"
    assert run_status(run("pass", attempt=3)) == "pass, attempt 3"
    assert run_status(run("fail-build")) == "fail-build"


def test_the_last_error_is_the_newest_run_only():
    newest = run("error", 2)
    assert last_error([newest, run("pass")]) is newest
    assert last_error([run("pass", 2), run("error")]) is None
    assert last_error([]) is None


def test_a_groups_kind_and_cause():
    group = FailureGroup("build", "sig", "s", ("a",))
    assert (group.kind, group.cause, group.cls) == ("failure", "", "unclassified")
    assert FailureGroup("b", "s", "s", (), cls="harness").kind == "error"
    for cls in ("infra", "capacity", "quota", "credentials"):
        assert FailureGroup("b", "s", "s", (), cls=cls).kind == "blocked"
    assert FailureGroup("b", "s", "s", (), cls="product").kind == "failure"
    ruled = FailureGroup("b", "s", "s", (), rule="oom", capture="killed")
    assert ruled.cause == "oom: killed"
    assert replace(ruled, capture="").cause == "oom"
    assert replace(ruled, rule="").cause == ""


# -- the groups ---------------------------------------------------------------------------


def test_failures_of_one_rule_and_capture_are_one_group_the_widest_first():
    oom = Failure("product", "build", "oom", "killed")
    configs = [
        config("a", "fail-build", stageResults=failed("build", "a ran out"), failure=oom),
        config("b", "fail-build", stageResults=failed("build", "b ran out"), failure=oom),
        config(
            "c", "fail-build", stageResults=failed("build", "c"), failure=replace(oom, capture="x")
        ),
    ]
    groups = failure_groups(configs)
    assert [(g.configurations, g.rule, g.capture, g.signature, g.sample) for g in groups] == [
        (("a", "b"), "oom", "killed", "oom: killed", "a ran out"),
        (("c",), "oom", "x", "oom: x", "c"),
    ]
    assert [(g.cls, g.stage, g.kind, g.cause) for g in groups] == [
        ("product", "build", "failure", "oom: killed"),
        ("product", "build", "failure", "oom: x"),
    ]


def test_unruled_failures_are_grouped_by_what_they_said_without_their_own_names():
    configs = [
        config("a", "fail-validate", stageResults=failed("validate", "a: 3 errors in p-a/x")),
        config("bb", "fail-validate", stageResults=failed("validate", "bb: 5 errors in p-bb/x")),
        # a rule of another stage says nothing about this stage's failure
        config(
            "qq",
            "fail-validate",
            stageResults=failed("validate", "qq: 7 errors in p-qq/x"),
            failure=Failure("product", "build", "oom", "killed"),
        ),
        config("d", "fail-validate", stageResults=failed("validate", "other")),
    ]
    groups = failure_groups(configs)
    assert [(g.configurations, g.signature, g.rule, g.capture, g.cls) for g in groups] == [
        (("qq",), "<config>: <n> errors in <config>/x", "", "", "product"),
        (("a", "bb"), "<config>: <n> errors in <config>/x", "", "", "unclassified"),
        (("d",), "other", "", "", "unclassified"),
    ]
    assert groups[1].sample == "a: 3 errors in p-a/x" and groups[1].cause == ""


def test_only_failed_stages_of_failing_configurations_make_groups():
    stages = failed("build", "b", deploy_test=StageResult("skip"), validate=StageResult("fail"))
    groups = failure_groups([config("a", "fail-build", stageResults=stages)])
    assert [g.stage for g in groups] == ["build", "validate"]
    assert failure_groups([config("a", "pass", stageResults=stages)]) == []
    assert failure_groups([config("a", "fail-build", stageResults=stages, removed=True)]) == []


def test_a_configuration_without_a_project_takes_only_its_name_out_of_its_errors():
    c = config("zz", "fail-build", project=None, stageResults=failed("build", "zz: XXXX"))
    (group,) = failure_groups([c])
    assert group.signature == "<config>: XXXX"


def test_blocked_and_harness_errors_are_groups_of_their_own():
    block = replace(BLOCK, rule="no-capacity", capture="InsufficientCapacity")
    error = run("error", stageResults=failed("deploy_test", "x", build=StageResult("fail")))
    ruled = run("error", failure=Failure("harness", "register", "crash", "Traceback"))
    configs = [
        config("blocked", blocked=block),
        config("blocked-running", "running", blocked=block),
        config("errored", lastError=error),
        config("errored-plain", lastError=run("error")),
        config("crashed", lastError=ruled),
    ]
    groups = failure_groups(configs)
    assert [(g.cls, g.stage, g.configurations, g.sample, g.cause) for g in groups] == [
        (
            "capacity",
            "deploy_test",
            ("blocked",),
            "InsufficientCapacity",
            "no-capacity: InsufficientCapacity",
        ),
        ("harness", "-", ("errored-plain",), "", ""),
        ("harness", "deploy_test", ("errored",), "", ""),
        ("harness", "register", ("crashed",), "Traceback", "crash: Traceback"),
    ]
    assert [g.kind for g in groups] == ["blocked", "error", "error", "error"]


def test_groups_come_in_class_order_then_widest_then_stage_rule_and_signature():
    def failing(name, cls, stage="build", rule="r", capture="c"):
        return config(
            name,
            f"fail-{stage}",
            stageResults=failed(stage, "s"),
            failure=Failure(cls, stage, rule, capture),
        )

    configs = [
        failing("odd", "made-up"),  # a class the order does not know: last
        failing("h", "harness"),
        failing("cr", "credentials"),
        failing("i", "infra"),
        failing("q", "quota"),
        failing("ca", "capacity"),
        config("u", "fail-build", stageResults=failed("build", "s")),
        failing("p2", "product", stage="validate"),
        failing("p1", "product", stage="build", rule="z"),
        failing("p0", "product", stage="build", rule="a", capture="2"),
        failing("p00", "product", stage="build", rule="a", capture="1"),
        failing("w1", "product", stage="x"),
        failing("w2", "product", stage="x"),
    ]
    groups = failure_groups(configs)
    assert [g.configurations for g in groups] == [
        ("w1", "w2"),
        ("p00",),
        ("p0",),
        ("p1",),
        ("p2",),
        ("u",),
        ("ca",),
        ("q",),
        ("i",),
        ("cr",),
        ("h",),
        ("odd",),
    ]


# -- the noise line -----------------------------------------------------------------------


def test_noise_counts_the_infrastructures_failures_and_the_harness_errors():
    throttled = Failure("infra", "deploy_test", "aws-throttling", "Rate exceeded")
    capacity = Failure("capacity", "deploy_test")
    product = Failure("product", "build")
    history = (
        run("fail-deploy_test", 5, failure=capacity, attempt=2),
        run("fail-deploy_test", 5, failure=capacity),
        run("fail-deploy_test", 4, failure=throttled),
        run("fail-build", 3, failure=Failure("infra", "build", "other")),
        run("error", 3),
        run("fail-build", 2, failure=product),
        run("fail-build", 2, failure=Failure("harness", "build")),
        run("error", 2, failure=product),
        run("fail-build", 1, failure=Failure("credentials", "build"), attempt=3),
        run("fail-build", 1, failure=Failure("quota", "build")),
    )
    found = noise(
        [
            config("a", history=history),
            config("b", history=(run("pass", 7), run("fail-build", 6, failure=product))),
            config("c"),  # nothing shown
            config("d", history=(run("pass", 3),), blocked=BLOCK),
            config("e", history=(run("fail-build", 6, failure=Failure("harness", "build")),)),
            config("f", history=(run("fail-build", 4, failure=product),)),  # the product's
        ]
    )
    assert found.counts == {
        "capacity": 2,
        "quota": 1,
        "throttling": 1,
        "infra": 1,
        "credentials": 1,
    }
    assert (found.runs, found.failures, found.retried, found.errors, found.configurations) == (
        15,
        6,
        2,
        4,
        2,
    )
    assert (found.first, found.last) == ("2026-02-01T00:00:00Z", "2026-02-07T01:00:00Z")
    assert found.line() == (
        "Infrastructure noise in the 15 runs shown (2026-02-01 to 2026-02-07): capacity 2, "
        "quota 1, throttling 1, other infra 1, credentials 1; 2 of the 6 on retried attempts; "
        "harness errors 4"
    )
    assert found.to_item() == {
        "runs": 15,
        "from": "2026-02-01T00:00:00Z",
        "to": "2026-02-07T01:00:00Z",
        "capacity": 2,
        "quota": 1,
        "throttling": 1,
        "infra": 1,
        "credentials": 1,
        "total": 6,
        "retried": 2,
        "harnessErrors": 4,
        "configurations": 2,
    }


def test_the_span_is_the_oldest_start_and_the_newest_finish_of_any_configuration():
    found = noise(
        [
            config("a", history=(run("pass", 5), run("pass", 3))),
            config("b", history=(run("pass", 9), run("pass", 1))),
            config("c", history=(run("pass", 4), run("pass", 2))),
            config("d", history=(run("error", 6),)),
            config("e", history=(run("error", 6), run("error", 5))),
        ]
    )
    assert (found.first, found.last) == ("2026-02-01T00:00:00Z", "2026-02-09T01:00:00Z")
    assert (found.errors, found.configurations, found.runs) == (3, 2, 9)


def test_one_run_shown_is_said_in_the_singular_and_none_plainly():
    found = noise([config("a", history=(run("pass", 2),))])
    assert found.line() == (
        "Infrastructure noise in the 1 run shown (2026-02-02 to 2026-02-02): capacity 0, "
        "quota 0, throttling 0, other infra 0, credentials 0; 0 of the 0 on retried attempts; "
        "harness errors 0"
    )
    assert noise([config("a")]).line() == "Infrastructure noise: no runs shown"
    empty = Noise(0, None, None, dict.fromkeys(("capacity",), 0), 0, 0, 0)
    assert empty.line() == "Infrastructure noise: no runs shown"
    odd = Noise(
        2,
        None,
        None,
        {"capacity": 0, "quota": 0, "throttling": 0, "infra": 0, "credentials": 0},
        0,
        0,
        0,
    )
    assert "(- to -)" in odd.line()
