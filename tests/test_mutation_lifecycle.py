"""The lifecycle's parts one function at a time (mlcc_ci/lifecycle/*.py), without a real run:
fault injection, stage logs and summaries, the run context, what goes to the store, the
notices, retry and backoff, the endpoint checks and the stage environment. Written for
make mutation (issue 32 item 2): each test fails on a mutant that changes what its function
decides, writes or says; the real runs that exercise them together are tests/test_retry.py,
tests/test_lifecycle.py and tests/test_survivors_lifecycle.py."""

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlcc_ci import clock, endpoint
from mlcc_ci.constants import ERROR, INTERRUPTED
from mlcc_ci.errors import CatalogError, ConflictError, StoreError
from mlcc_ci.executors.local import LocalExecutor, StageRun
from mlcc_ci.failures import Classification, Retry, load_rules
from mlcc_ci.lifecycle import injection, notices, record, retry, smoke, stagelog
from mlcc_ci.lifecycle.context import Budget, Progress, RunContext, RunReport, Stop
from mlcc_ci.lifecycle.injection import FAULT_COMMANDS
from mlcc_ci.models import (
    Blocked,
    Failure,
    Outcome,
    Record,
    StageResult,
    claimed,
    run_of,
)
from mlcc_ci.profiles import Profile, StageSpec
from mlcc_ci.scheduling import BLOCKED_MIN_WAIT
from tests.stores import registration

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 4, 10, 0, 0, 250000, tzinfo=UTC)
STARTED = "2026-03-04T09:00:00.125Z"


# -- fakes -----------------------------------------------------------------------------------


class FakeStore:
    """A store that records what a run writes, and fails a write when told to."""

    def __init__(self, replace_error=None, append_error=None):
        self.replace_error = replace_error
        self.append_error = append_error
        self.replaced = []  # (record, expect_version, expect_run_id)
        self.appended = []

    def replace(self, new, expect_version, expect_run_id):
        if self.replace_error is not None:
            raise self.replace_error
        self.replaced.append((new, expect_version, expect_run_id))

    def append_run(self, run):
        if self.append_error is not None:
            raise self.append_error
        self.appended.append(run)


def running(previous="pass", run_id="run-7", version=3, **changes) -> Record:
    """A claimed record (version `version` once claimed) whose last status was `previous`."""
    base = Record.registered(registration(1), "2026-01-01T00:00:00.000Z", version=version - 1)
    base = replace(base, testStatus=previous, **changes)
    return claimed(base, run_id, STARTED)


def outcome(status="pass", failure=None, seconds=12.5, **kw) -> Outcome:
    return Outcome(
        status=status,
        finishedAt="2026-03-04T10:00:00.000Z",
        durationSeconds=seconds,
        stageResults=kw.pop("stages", {"generate": StageResult("pass", 1.0)}),
        failure=failure,
        **kw,
    )


def context(store=None, tmp_path=Path("/nonexistent"), **options) -> RunContext:
    options.setdefault("env", {})
    options.setdefault("now", lambda: NOW)
    return RunContext.create(
        store or FakeStore(), Profile("unit", "a unit test's profile"), tmp_path, **options
    )


CAPACITY = Failure("capacity", "deploy_test", "sagemaker-capacity", "Unable to provision")


# -- injection: MLCC_CI_FAULT ------------------------------------------------------------------


def test_faults_reads_every_item_with_its_attempts():
    env = {"MLCC_CI_FAULT": " a:build:fail , ,*:teardown:hang:2,b:generate:capacity:1 "}
    assert injection.faults(env) == {
        ("a", "build"): ("fail", 0),
        ("*", "teardown"): ("hang", 2),
        ("b", "generate"): ("capacity", 1),
    }
    assert injection.faults({}) == {}
    assert injection.faults({"MLCC_CI_FAULT": ""}) == {}
    assert injection.faults({"OTHER": "a:build:fail"}) == {}


@pytest.mark.parametrize(
    "item, message",
    [
        ("a:build", "MLCC_CI_FAULT item 'a:build' is not NAME:STAGE:MODE[:N]"),
        ("a:build:fail:0", "MLCC_CI_FAULT item 'a:build:fail:0' is not NAME:STAGE:MODE[:N]"),
        ("a:build:fail:x", "MLCC_CI_FAULT item 'a:build:fail:x' is not NAME:STAGE:MODE[:N]"),
        ("a:b:build:fail:1", "MLCC_CI_FAULT item 'a:b:build:fail:1' is not NAME:STAGE:MODE[:N]"),
        (
            "a:update:fail",
            "MLCC_CI_FAULT item 'a:update:fail': no stage 'update' (stages: generate, "
            "validate, build, deploy_test, register, teardown)",
        ),
        (
            "a:build:boom",
            "MLCC_CI_FAULT item 'a:build:boom': no mode 'boom' (modes: fail, hang, crash, "
            "slow, capacity)",
        ),
    ],
)
def test_a_misspelled_fault_is_an_error_that_names_it(item, message):
    with pytest.raises(ValueError) as raised:
        injection.faults({"MLCC_CI_FAULT": item})
    assert str(raised.value) == message


def test_every_stage_and_mode_can_be_injected():
    for stage in ("generate", "validate", "build", "deploy_test", "register", "teardown"):
        for mode in ("fail", "hang", "crash", "slow", "capacity"):
            assert injection.faults({"MLCC_CI_FAULT": f"x:{stage}:{mode}"}) == {
                ("x", stage): (mode, 0)
            }


def test_a_fault_stands_for_its_first_attempts_only_and_a_name_beats_the_wildcard():
    injected = {("a", "build"): ("fail", 2), ("*", "build"): ("hang", 0)}
    assert injection.fault_for(injected, "a", "build", 1) == "fail"
    assert injection.fault_for(injected, "a", "build", 2) == "fail"
    assert injection.fault_for(injected, "a", "build", 3) is None
    assert injection.fault_for(injected, "b", "build", 99) == "hang"
    assert injection.fault_for(injected, "a", "deploy_test", 1) is None
    assert injection.fault_for({("*", "build"): ("slow", 1)}, "c", "build", 1) == "slow"
    assert injection.fault_for({("*", "build"): ("slow", 1)}, "c", "build", 2) is None
    assert injection.fault_for({}, "a", "build", 1) is None


def test_the_command_a_fault_runs():
    assert injection.command_under(None, "build", "make") == ("make", False)
    assert injection.command_under(None, "validate", None) == (None, False)
    assert injection.command_under("slow", "build", "make") == ("sleep 3; make", False)
    assert injection.command_under("slow", "validate", None) == ("sleep 3; true", False)
    for fault in ("fail", "hang", "capacity"):
        assert injection.command_under(fault, "build", "make") == (FAULT_COMMANDS[fault], True)
    with pytest.raises(RuntimeError) as raised:
        injection.command_under("crash", "deploy_test", "make")
    assert str(raised.value) == "injected crash in deploy_test"


# -- stagelog: where a stage's log is, what it said ---------------------------------------------


def test_a_stage_log_and_its_pointer(tmp_path):
    log = stagelog.stage_log(tmp_path, "build")
    assert log == tmp_path / "logs" / "build.log"
    assert stagelog.pointer({}, log) == str(log)
    assert stagelog.pointer({"MLCC_CI_LOG_STREAM": ""}, log) == str(log)
    assert stagelog.pointer({"MLCC_CI_LOG_STREAM": "grp/s1"}, log) == "cloudwatch:grp/s1"


def test_output_is_stdout_then_stderr_each_bounded(tmp_path):
    log = tmp_path / "build.log"
    assert stagelog.output(log) == ""
    log.with_suffix(".stderr.log").write_bytes(b"err \xff")
    assert stagelog.output(log) == "err \ufffd"
    log.write_text("out")
    assert stagelog.output(log) == "out\nerr \ufffd"
    log.write_bytes(b"x" * (stagelog.OUTPUT_LIMIT + 10))
    log.with_suffix(".stderr.log").write_bytes(b"y" * (stagelog.OUTPUT_LIMIT + 10))
    said = stagelog.output(log)
    assert said == "x" * stagelog.OUTPUT_LIMIT + "\n" + "y" * stagelog.OUTPUT_LIMIT


def test_a_summary_is_the_note_then_the_end_of_the_tail_within_500_characters():
    assert stagelog.summarize("", "  tail  ", []) == "tail"
    assert stagelog.summarize("", "t" * 600 + "END", []) == ("t" * 600 + "END")[-500:]
    assert stagelog.summarize("  note \n", "", []) == "note"
    assert stagelog.summarize("note", "abc", []) == "note\nabc"
    long_tail = "0123456789" * 100
    said = stagelog.summarize("n" * 10, long_tail, [])
    assert said == "n" * 10 + "\n" + long_tail[-489:]
    assert len(said) == 500
    assert stagelog.summarize("n" * 499, "tail", []) == "n" * 499
    assert stagelog.summarize("n" * 498, "tail", []) == "n" * 498 + "\nl"
    assert stagelog.summarize("n" * 600, "tail", []) == "n" * 500


def test_a_summary_masks_secrets_and_control_characters():
    said = stagelog.summarize("token s3cr3t-value", "saw s3cr3t-value\x1b[31m", ["s3cr3t-value"])
    assert "s3cr3t-value" not in said
    assert "\x1b" not in said
    assert said.startswith("token ")
    assert said.split("\n")[1].startswith("saw ")


def _spec(name="build", timeout=5.0):
    return StageSpec(name, "make", timeout)


def test_why_a_stage_failed():
    stop = Stop()
    timed_out = StageRun(None, 5.0, "last words", timed_out=True)
    assert stagelog.failure_summary(timed_out, _spec(timeout=2.5), [], stop) == (
        "timed out after 2.5s; its process group was killed\nlast words"
    )
    cancelled = StageRun(None, 1.0, "", cancelled=True)
    stop.reason = "SIGINT"
    assert stagelog.failure_summary(cancelled, _spec(), [], stop) == (
        "interrupted by SIGINT; its process group was killed"
    )
    assert stagelog.failure_summary(cancelled, _spec("teardown"), [], stop) == (
        "interrupted by SIGINT; its process group was killed"
    )
    stop.abandoned.set()
    assert stagelog.failure_summary(cancelled, _spec("teardown"), [], stop) == (
        "abandoned after a third interrupt: what it would have removed may still be "
        "running (run the project's do/clean by hand)"
    )
    assert stagelog.failure_summary(cancelled, _spec("build"), [], stop) == (
        "interrupted by SIGINT; its process group was killed"
    )
    failed = StageRun(3, 1.0, "boom key-123", cancelled=False)
    assert stagelog.failure_summary(failed, _spec(), ["key-123"], stop).startswith(
        "exit code 3\nboom "
    )
    assert "key-123" not in stagelog.failure_summary(failed, _spec(), ["key-123"], stop)


# -- context: what a run carries -----------------------------------------------------------------


def test_a_run_context_takes_its_options(tmp_path):
    store = FakeStore()
    cancel = threading.Event()
    env = {"A": "1"}
    seen = []
    notify, platform = (lambda s, m: None), (lambda s, m: None)
    executor = LocalExecutor()
    ctx = RunContext.create(
        store,
        Profile("p", "d"),
        tmp_path,
        env=env,
        cancel=cancel,
        progress=seen.append,
        now=lambda: NOW,
        notify=notify,
        notify_platform=platform,
        rules=(),
        deadline=12.0,
        max_wait=30.0,
        retry=False,
        executor=executor,
    )
    assert ctx.store is store and ctx.work_root == tmp_path and ctx.rules == ()
    assert ctx.env == {"A": "1"} and ctx.env is not env  # a copy
    assert ctx.stop.cancel is cancel and not ctx.stop.abandoned.is_set()
    assert ctx.stop.reason == "SIGTERM"
    assert ctx.progress == seen.append and ctx.now() == NOW
    assert ctx.notifier.owners is notify and ctx.notifier.platform is platform
    assert ctx.budget == Budget(deadline=12.0, max_wait=30.0, retry=False)
    assert ctx.executor is executor


def test_a_run_context_s_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_UNIT_MARK", "here")
    ctx = RunContext.create(FakeStore(), Profile("p", "d"), tmp_path)
    assert ctx.env["MLCC_UNIT_MARK"] == "here"
    assert ctx.rules is None
    assert isinstance(ctx.executor, LocalExecutor)
    assert isinstance(ctx.stop.cancel, threading.Event) and not ctx.stop.cancel.is_set()
    assert ctx.progress(Progress("n", "build", "start")) is None
    assert ctx.now is clock.now
    assert ctx.notifier.owners is None and ctx.notifier.platform is None
    assert ctx.budget == Budget(deadline=None, max_wait=None, retry=True)
    assert RunContext.create(FakeStore(), Profile("p", "d"), tmp_path, env={}).env == {}


def test_a_display_that_fails_is_a_note_once_never_the_run_s_failure(tmp_path):
    seen = []
    ctx = context(progress=seen.append)
    notes = []
    ctx.show(Progress("n", "build", "start"), notes)
    assert seen == [Progress("n", "build", "start")] and notes == []

    def broken(event):
        raise OSError("terminal gone")

    ctx = context(progress=broken)
    ctx.show(Progress("n", "build", "start"), notes)
    ctx.show(Progress("n", "build", "end"), notes)
    assert notes == ["progress could not be shown: OSError: terminal gone"]


def test_a_report_s_status_is_its_outcome_s():
    assert RunReport(running(), outcome("fail-build"), Path(".")).status == "fail-build"


# -- record: what a run writes to the store ------------------------------------------------------


def test_a_claim_remembers_the_claimed_id_and_first_start():
    claim = record.Claim(running(run_id="run-9"))
    assert claim.claimed_id == "run-9" and claim.first_started == STARTED
    unclaimed = Record.registered(registration(2), "2026-01-01T00:00:00.000Z")
    assert record.Claim(unclaimed).claimed_id == ""
    assert record.Claim(unclaimed).first_started is None


def test_progress_moves_the_claim_and_a_refused_write_leaves_it():
    store = FakeStore()
    current = running()
    claim = record.Claim(current)
    done = {"generate": StageResult("pass", 1.5, logPointer="p", note="n")}
    record.record_progress(context(store), claim, "build", done)
    (moved, version, run_id), *_ = store.replaced
    assert (version, run_id) == (current.version, "run-7")
    assert claim.record is moved
    assert moved.currentStage == "build"
    assert moved.currentStageStartedAt == "2026-03-04T10:00:00.250Z"
    assert moved.runStages == {"generate": StageResult("pass", 1.5)}
    assert moved.version == current.version + 1
    for error in (ConflictError("re-registered"), StoreError("down")):
        claim = record.Claim(current)
        record.record_progress(context(FakeStore(replace_error=error)), claim, "build", {})
        assert claim.record is current


def test_write_replaces_what_the_run_claimed():
    store = FakeStore()
    current, new = running(), replace(running(), testStatus="pass")
    assert record.write(store, current, new) is new
    assert store.replaced == [(new, current.version, "run-7")]


def test_a_product_result_finishes_the_record(tmp_path):
    store = FakeStore()
    current = running()
    report = RunReport(current, outcome("fail-build"), tmp_path)
    assert record.update(context(store), report) is None
    (written, version, run_id), *_ = store.replaced
    assert (version, run_id) == (current.version, "run-7")
    assert written.testStatus == "fail-build" and report.record is written
    assert store.appended == [run_of(current, report.outcome)]
    assert report.notes == [] and report.stored


@pytest.mark.parametrize("status", [INTERRUPTED, ERROR])
def test_a_run_that_proved_nothing_goes_back_to_the_status_it_had(status, tmp_path):
    store = FakeStore()
    current = running(previous="fail-build")
    failure = Failure("harness", "generate", "internal") if status == ERROR else None
    report = RunReport(current, outcome(status, failure=failure), tmp_path)
    assert record.update(context(store), report) is None
    (written, version, run_id), *_ = store.replaced
    assert (version, run_id) == (current.version, "run-7")
    assert written.testStatus == "fail-build" and written.runId is None
    assert report.record is written and written.blocked is None
    assert store.appended == [run_of(current, report.outcome)]


def _rules(tmp_path, backoff=3600, name="sagemaker-capacity"):
    team = tmp_path / "team"
    team.mkdir(exist_ok=True)
    (team / "_failures.yaml").write_text(
        "rules:\n"
        f"  - name: {name}\n"
        "    class: capacity\n"
        "    stages: [deploy_test]\n"
        "    pattern: '(Unable to provision)'\n"
        f"    retry: {{count: 2, backoffSeconds: {backoff}}}\n"
        "    hint: 'no capacity'\n"
    )
    return load_rules(team)


def test_an_infrastructure_failure_blocks_the_configuration(tmp_path):
    store = FakeStore()
    current = running(previous="pass")
    report = RunReport(current, outcome("fail-deploy_test", failure=CAPACITY), tmp_path)
    report.first_started = "2026-03-04T08:00:00.000Z"
    blocked = record.update(context(store, rules=_rules(tmp_path)), report)
    assert blocked == Blocked(
        cls="capacity",
        stage="deploy_test",
        since="2026-03-04T08:00:00.000Z",  # the first attempt's start
        retryAfter="2026-03-04T11:00:00.000Z",  # the rule's backoff, 3600 s
        rule="sagemaker-capacity",
        capture="Unable to provision",
        rounds=1,
    )
    (written, version, run_id), *_ = store.replaced
    assert (version, run_id) == (current.version, "run-7")
    assert written.blocked == blocked and written.testStatus == "pass"
    assert report.record is written
    assert store.appended == [run_of(current, report.outcome)]


def test_a_block_starts_at_the_run_s_start_without_a_first_attempt(tmp_path):
    report = RunReport(running(), outcome("fail-deploy_test", failure=CAPACITY), tmp_path)
    blocked = record.update(context(FakeStore(), rules=_rules(tmp_path)), report)
    assert blocked is not None and blocked.since == STARTED


def test_a_block_whose_rule_is_unknown_waits_the_least(tmp_path, monkeypatch):
    # not among the rules given: the least wait, not the rule's backoff
    other = replace(CAPACITY, rule="not-a-rule")
    report = RunReport(running(), outcome("fail-deploy_test", failure=other), tmp_path)
    blocked = record.update(context(FakeStore(), rules=_rules(tmp_path)), report)
    least = datetime(2026, 3, 4, 10, tzinfo=UTC) + timedelta(seconds=BLOCKED_MIN_WAIT)
    assert blocked is not None and blocked.retryAfter == clock.iso(least)
    # no rules given: the shipped ones, whose sagemaker-capacity waits longer than the least
    report = RunReport(running(), outcome("fail-deploy_test", failure=CAPACITY), tmp_path)
    shipped = next(r for r in load_rules() if r.name == "sagemaker-capacity")
    blocked = record.update(context(FakeStore(), rules=None), report)
    wait = max(shipped.retry.backoff_seconds, BLOCKED_MIN_WAIT)
    after = datetime(2026, 3, 4, 10, tzinfo=UTC) + timedelta(seconds=wait)
    assert blocked is not None and blocked.retryAfter == clock.iso(after)

    # rules that cannot be read: the least wait, and the result is still written
    def unreadable(folder=None):
        raise CatalogError(["bad rules"])

    monkeypatch.setattr(record, "load_rules", unreadable)
    assert record._rules_or_none() == ()
    store = FakeStore()
    report = RunReport(running(), outcome("fail-deploy_test", failure=CAPACITY), tmp_path)
    blocked = record.update(context(store, rules=None), report)
    assert blocked is not None and blocked.retryAfter == clock.iso(least)
    assert len(store.replaced) == 1


def test_a_record_changed_during_the_run_keeps_its_result_in_the_history(tmp_path):
    store = FakeStore(replace_error=ConflictError("version moved"))
    current = running()
    report = RunReport(current, outcome("fail-deploy_test", failure=CAPACITY), tmp_path)
    blocked = record.update(context(store, rules=_rules(tmp_path)), report)
    assert blocked is not None and blocked.cls == "capacity"
    assert report.notes == [
        "the record changed during the run (re-registered or reaped): "
        "its result is kept in the history only"
    ]
    assert report.record is current and report.stored
    assert store.appended == [run_of(current, report.outcome)]


def test_a_result_the_store_refuses_is_kept_in_the_work_folder(tmp_path):
    store = FakeStore(replace_error=StoreError("disk full"))
    current = running()
    report = RunReport(current, outcome("fail-build"), tmp_path)
    assert record.update(context(store), report) is None
    kept = tmp_path / "result.json"
    assert json.loads(kept.read_text()) == run_of(current, report.outcome).to_item()
    assert kept.read_text().startswith('{\n  "configId"')  # indented for a reader
    assert report.notes == [f"could not write the result (disk full); kept in {kept}"]
    assert report.stored is False and store.appended == []


def test_a_history_that_cannot_be_appended_is_a_note(tmp_path):
    store = FakeStore(append_error=StoreError("throttled"))
    report = RunReport(running(), outcome("pass"), tmp_path)
    assert record.update(context(store), report) is None
    assert report.notes == ["could not append the run to the history: throttled"]
    assert report.stored and len(store.replaced) == 1


def test_a_finished_run_s_label():
    assert record.label(outcome("pass")) == "pass"
    assert record.label(outcome("fail-build", failure=Failure("product", "build"))) == (
        "fail-build"
    )
    assert record.label(outcome("fail-deploy_test", failure=CAPACITY)) == "blocked (capacity)"


# -- notices: owners and the platform team ------------------------------------------------------


class Inbox:
    def __init__(self, error=None):
        self.error = error
        self.sent = []

    def __call__(self, subject, message):
        if self.error is not None:
            raise self.error
        self.sent.append((subject, message))


def _told(previous, status, failure=None, message="", quarantine=None, store=None, **kw):
    owners, platform = Inbox(), Inbox()
    ctx = context(store, notify=owners, notify_platform=platform, **kw)
    done = outcome(status, failure=failure, errorMessage=message, profile="example")
    report = RunReport(running(previous=previous), done, Path("."), quarantine=quarantine)
    return ctx, report, owners, platform


def test_the_owners_hear_of_a_regression_with_its_first_failure():
    failure = Failure("product", "build", "docker-build", "no such file")
    ctx, report, owners, platform = _told("pass", "fail-build", failure, "build failed: x")
    notices.tell(ctx, report, None)
    assert owners.sent == [
        (
            "mlcc-ci: cfg-1 regressed (fail-build)",
            "cfg-1 (0000000000000001) regressed: now fail-build, before pass.\n"
            "Run run-7, finished 2026-03-04T10:00:00.000Z, profile example.\n"
            "First failure: build failed: x\n"
            "Classified: product (docker-build).",
        )
    ]
    assert platform.sent == [] and report.notes == []


def test_the_owners_hear_of_a_fix_and_nothing_else():
    ctx, report, owners, _ = _told("fail-build", "pass")
    notices.tell(ctx, report, None)
    assert owners.sent == [
        (
            "mlcc-ci: cfg-1 fixed (pass)",
            "cfg-1 (0000000000000001) fixed: now pass, before fail-build.\n"
            "Run run-7, finished 2026-03-04T10:00:00.000Z, profile example.",
        )
    ]
    # unclassified: no rule to name
    ctx, report, owners, _ = _told("pass", "fail-build", Failure("unclassified", "build"))
    notices.tell(ctx, report, None)
    assert owners.sent[0][1].splitlines()[-1].startswith("Run run-7")
    for previous, status in (("pass", "pass"), ("fail-build", "fail-validate"), (None, "pass")):
        ctx, report, owners, _ = _told(previous, status)
        notices.tell(ctx, report, None)
        assert owners.sent == []


def test_a_harness_error_and_a_missing_sender_tell_no_one():
    ctx, report, owners, platform = _told("pass", ERROR)
    notices.tell(ctx, report, None)
    assert owners.sent == [] and platform.sent == []
    ctx, report, _, _ = _told("pass", "fail-build")
    ctx = replace(ctx, notifier=replace(ctx.notifier, owners=None))
    notices.tell(ctx, report, None)
    assert report.notes == []


def test_a_quarantined_regression_is_a_note_but_its_fix_is_told():
    ctx, report, owners, _ = _told("pass", "fail-build", quarantine="known bad until May")
    notices.tell(ctx, report, None)
    assert owners.sent == []
    assert report.notes == ["no regression notice: known bad until May"]
    ctx, report, owners, _ = _told("fail-build", "pass", quarantine="known bad until May")
    notices.tell(ctx, report, None)
    assert [s for s, _ in owners.sent] == ["mlcc-ci: cfg-1 fixed (pass)"]


def test_a_notice_that_cannot_be_sent_is_a_note():
    ctx, report, _, _ = _told("pass", "fail-build")
    ctx = replace(ctx, notifier=replace(ctx.notifier, owners=Inbox(RuntimeError("smtp down"))))
    notices.tell(ctx, report, None)
    assert report.notes == ["could not send the notification: RuntimeError: smtp down"]


def _old_block(**kw):
    values = dict(
        cls="capacity",
        stage="deploy_test",
        since="2026-03-02T09:00:00.000Z",  # two days before the run finished
        retryAfter="2026-03-04T11:00:00.000Z",
        rule="sagemaker-capacity",
        capture="Unable to provision",
        rounds=2,
    )
    values.update(kw)
    return Blocked(**values)


def test_the_platform_team_hears_of_an_old_block_and_the_record_remembers():
    store = FakeStore()
    ctx, report, owners, platform = _told(
        "pass", "fail-deploy_test", CAPACITY, store=store, rules=()
    )
    before = report.record
    notices.tell(ctx, report, _old_block())
    assert len(platform.sent) == 1 and owners.sent == []
    subject, message = platform.sent[0]
    assert subject == "mlcc-ci: cfg-1 blocked (capacity)"
    assert message.splitlines()[0] == (
        "cfg-1 (0000000000000001) has been blocked by capacity at deploy_test since "
        "2026-03-02T09:00:00.000Z (2 runs in a row)."
    )
    (written, version, run_id), *_ = store.replaced
    assert written.blocked == _old_block(notified=True)
    assert written.version == before.version + 1
    assert (version, run_id) == (before.version, before.runId)
    assert report.record is written and report.notes == []


def test_a_suspect_rule_is_named_where_the_run_s_rules_write_it(tmp_path):
    rules = _rules(tmp_path, name="team-capacity")  # a team's rule, not a shipped one
    rule = next(r for r in rules if r.name == "team-capacity")
    ctx, report, _, platform = _told("pass", "fail-deploy_test", CAPACITY, rules=rules)
    turned = _old_block(since="2026-03-04T09:00:00.000Z", rounds=4, rule="team-capacity")
    notices.tell(ctx, report, turned)  # one round past the limit, 3: suspect
    ((_, message),) = platform.sent
    assert message.splitlines()[-1] == (
        f"Suspect: rule team-capacity ({rule.source}) has blocked cfg-1 4 rounds in a row "
        "(capacity): nothing proven; the rule may hide a product failure (more than "
        "suspect-rounds = 3)."
    )
    assert "team/_failures.yaml" in rule.source


def test_the_platform_team_is_not_told_twice_nor_without_a_sender():
    store = FakeStore()
    ctx, report, _, platform = _told("pass", "fail-deploy_test", CAPACITY, store=store)
    notices.tell(ctx, report, _old_block(notified=True))
    assert platform.sent == [] and store.replaced == []
    young = _old_block(since="2026-03-04T09:00:00.000Z")
    notices.tell(ctx, report, young)
    assert platform.sent == [] and store.replaced == []
    ctx = replace(ctx, notifier=replace(ctx.notifier, platform=None))
    notices.tell(ctx, report, _old_block())
    assert store.replaced == []


def test_a_platform_notice_that_fails_or_is_not_remembered_keeps_the_result():
    store = FakeStore()
    ctx, report, _, _ = _told("pass", "fail-deploy_test", CAPACITY, store=store)
    ctx = replace(ctx, notifier=replace(ctx.notifier, platform=Inbox(OSError("no route"))))
    before = report.record
    notices.tell(ctx, report, _old_block())
    assert report.notes == ["could not send the notification: OSError: no route"]
    assert store.replaced == [] and report.record is before
    for error in (ConflictError("moved"), StoreError("down")):
        ctx, report, _, platform = _told(
            "pass", "fail-deploy_test", CAPACITY, store=FakeStore(replace_error=error)
        )
        before = report.record
        notices.tell(ctx, report, _old_block())
        assert len(platform.sent) == 1 and report.record is before


# -- retry: an attempt after an infrastructure failure -----------------------------------------


def test_an_attempt_s_run_id():
    assert retry.attempt_run_id("run-7", 2) == "run-7-r2"
    assert retry.attempt_run_id("x", 13) == "x-r13"


class Waited(threading.Event):
    """A cancel event that records the backoff waited, and says whether it was set."""

    def __init__(self, interrupted=False):
        super().__init__()
        self.interrupted = interrupted
        self.waits = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return self.interrupted


ENTRY = SimpleNamespace(name="http-flask", data={})


def _retryable(status="fail-deploy_test", failure=CAPACITY, teardown="pass", seconds=100.0):
    stages = {"deploy_test": StageResult("fail"), "teardown": StageResult(teardown)}
    return RunReport(running(), outcome(status, failure, seconds, stages=stages), Path("."))


def _again(report, found, number=1, store=None, cancel=None, budget=None, seen=None):
    ctx = context(
        store, cancel=cancel or Waited(), progress=(seen if seen is not None else []).append
    )
    if budget is not None:
        ctx = replace(ctx, budget=budget)
    claim = record.Claim(report.record)
    return retry._again(ctx, claim, ENTRY, report, found, number), ctx, claim


def _found(count=2, backoff=0):
    return Classification("capacity", rule="sagemaker-capacity", retry=Retry(count, backoff))


def test_a_retried_failure_is_tried_again_after_its_backoff_and_the_claim_is_handed_on():
    store, cancel, seen = FakeStore(), Waited(), []
    report = _retryable()
    again, _ctx, claim = _again(report, _found(2, 7), 1, store, cancel, seen=seen)
    assert again is True
    assert cancel.waits == [7]
    assert report.notes == [
        "attempt 1 failed at deploy_test: capacity (sagemaker-capacity); attempt 2 of 3 in 7s"
    ]
    assert seen == [Progress("http-flask", "deploy_test", "retry", "capacity", 7)]
    (moved, version, run_id), *_ = store.replaced
    assert claim.record is moved and moved.runId == "run-7-r2"
    assert (version, run_id) == (report.record.version, "run-7")
    assert [r.runId for r in store.appended] == ["run-7"]


def test_a_retry_shown_on_a_broken_display_is_a_note_on_the_run():
    def broken(event):
        raise OSError("terminal gone")

    report = _retryable()
    ctx = context(FakeStore(), cancel=Waited(), progress=broken)
    assert retry._again(ctx, record.Claim(report.record), ENTRY, report, _found(), 1) is True
    assert report.notes[-1] == "progress could not be shown: OSError: terminal gone"


def test_the_last_retry_allowed_and_the_one_after_it():
    assert _again(_retryable(), _found(2, 0), 2)[0] is True
    report = _retryable()
    assert _again(report, _found(2, 0), 3)[0] is False
    assert report.notes == []


@pytest.mark.parametrize(
    "status, failure, found",
    [
        ("pass", None, None),
        ("fail-build", Failure("product", "build", "docker"), _found()),
        ("fail-build", Failure("credentials", "build", "expired"), _found()),
        ("fail-deploy_test", CAPACITY, None),  # no rule: no retry
        ("fail-deploy_test", CAPACITY, _found(0)),
    ],
)
def test_what_is_not_retried(status, failure, found):
    store = FakeStore()
    report = _retryable(status, failure)
    assert _again(report, found, 1, store)[0] is False
    assert report.notes == [] and store.replaced == []


def test_infra_and_quota_are_retried_too():
    for cls in ("infra", "quota"):
        report = _retryable(failure=replace(CAPACITY, cls=cls))
        assert _again(report, _found(), 1)[0] is True


def test_an_interrupt_stops_retrying_before_and_during_the_backoff():
    cancel = Waited()
    cancel.set()
    store = FakeStore()
    report = _retryable()
    assert _again(report, _found(), 1, store, cancel)[0] is False
    assert cancel.waits == [] and report.notes == []
    cancel = Waited(interrupted=True)
    report = _retryable()
    assert _again(report, _found(2, 5), 1, store, cancel)[0] is False
    assert cancel.waits == [5] and store.replaced == []


def test_a_retry_the_budget_forbids_is_a_note():
    store, cancel = FakeStore(), Waited()
    report = _retryable()
    budget = Budget(retry=False)
    assert _again(report, _found(), 1, store, cancel, budget)[0] is False
    assert report.notes == [
        "attempt 1 failed at deploy_test: not retried (--no-retry): it waits as blocked for "
        "`run --due`"
    ]
    assert cancel.waits == [] and store.replaced == []


def test_why_a_retry_waits(monkeypatch):
    monkeypatch.setattr(retry, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    done = _retryable(seconds=100.0).outcome
    assert retry._not_now(Budget(), 10, done) is None
    assert retry._not_now(Budget(retry=False), 10, done) == (
        "not retried (--no-retry): it waits as blocked for `run --due`"
    )
    assert retry._not_now(Budget(max_wait=10), 10, done) is None
    assert retry._not_now(Budget(max_wait=10), 10.5, done) == (
        "its backoff (10.5s) is the scanner's to wait, not this build's"
    )
    # now + the backoff + 1.25 times the attempt: 1000 + 10 + 125
    assert retry._not_now(Budget(deadline=1135.0), 10, done) is None
    assert retry._not_now(Budget(deadline=1134.9), 10, done) == (
        "another attempt would not finish within the run's budget"
    )
    torn = _retryable(teardown="fail").outcome
    assert retry._not_now(Budget(retry=False), 10, torn) == (
        "not retried: its teardown failed, and what it made may still be up"
    )
    no_teardown = replace(done, stageResults={"deploy_test": StageResult("fail")})
    assert retry._not_now(Budget(), 10, no_teardown) is None


def test_a_claim_that_cannot_be_handed_on_ends_the_retries():
    store = FakeStore(replace_error=ConflictError("reaped"))
    report = _retryable()
    again, _, claim = _again(report, _found(), 1, store)
    assert again is False and claim.record is report.record
    assert report.notes[-1] == "not retried: the record could not be handed on (reaped)"
    store = FakeStore(replace_error=StoreError("down"))
    report = _retryable()
    assert _again(report, _found(), 1, store)[0] is False
    assert report.notes[-1] == "not retried: the record could not be handed on (down)"


def test_an_attempt_the_history_cannot_keep_is_a_note_and_the_retry_goes_on():
    store = FakeStore(append_error=StoreError("throttled"))
    report = _retryable()
    again, _, claim = _again(report, _found(), 1, store)
    assert again is True and claim.record.runId == "run-7-r2"
    assert report.notes[-1] == "could not append attempt 1 to the history: throttled"


def test_the_second_attempt_hands_on_to_the_third():
    store = FakeStore()
    report = _retryable()
    report.outcome = replace(report.outcome, attempt=2)
    report.record = replace(report.record, runId="run-7-r2")
    ctx = context(store, cancel=Waited())
    claim = record.Claim(running())  # claimed as run-7
    claim.record = report.record
    assert retry._again(ctx, claim, ENTRY, report, _found(), 2) is True
    assert claim.record.runId == "run-7-r3"
    assert claim.record.runStartedAt == "2026-03-04T10:00:00.250Z"


def test_attempts_go_on_while_each_is_to_be_tried_again(monkeypatch):
    calls, notes_seen = [], []
    reports = [_retryable(), _retryable(), _retryable()]

    def attempt(ctx, claim, entry, number, notes):
        calls.append(number)
        notes_seen.append(notes)
        notes.append(f"attempt {number}")
        return reports[number - 1], _found()

    verdicts = iter([True, True, False])
    monkeypatch.setattr(retry, "attempt", attempt)
    monkeypatch.setattr(retry, "_again", lambda *args: next(verdicts))
    assert retry.attempts(context(), record.Claim(running()), ENTRY) is reports[2]
    assert calls == [1, 2, 3]
    assert notes_seen[0] is notes_seen[1] is notes_seen[2]  # one list for the whole run
    assert notes_seen[0] == ["attempt 1", "attempt 2", "attempt 3"]


# -- smoke: the endpoint the project deployed ------------------------------------------------------


WHERE = endpoint.Deployed("ep-1", ("ic-1",), "eu-west-1")
ENV = {"AWS_ACCESS_KEY_ID": "AKIAUNIT"}


@pytest.fixture
def clients(monkeypatch):
    """endpoint.client and endpoint.deployed as a test sets them."""
    made, asked = [], []
    state = SimpleNamespace(where=WHERE, made=made, asked=asked)

    def deployed(project, env):
        asked.append((project, env))
        return state.where

    monkeypatch.setattr(endpoint, "deployed", deployed)

    def client(service, region, env):
        assert env is ENV, "the stage's environment, with its credentials"
        made.append((service, region))
        return f"{service}@{region}"

    monkeypatch.setattr(endpoint, "client", client)
    return state


def test_the_smoke_test_is_the_entry_s_against_what_was_deployed(clients, monkeypatch):
    sent = []

    def smoke_test(where, spec, runtime):
        sent.append((where, spec, runtime))
        return "answer lacks $.predictions"

    monkeypatch.setattr(endpoint, "smoke_test", smoke_test)
    entry = SimpleNamespace(name="x", data={"smokeTest": {"payload": {"a": 1}}})
    assert smoke.smoke_test(Path("p"), entry, ENV) == "answer lacks $.predictions"
    assert sent == [(WHERE, {"payload": {"a": 1}}, "sagemaker-runtime@eu-west-1")]
    assert clients.made == [("sagemaker-runtime", "eu-west-1")]
    assert clients.asked == [(Path("p"), ENV)]
    smoke.smoke_test(Path("p"), SimpleNamespace(name="y", data={}), ENV)
    assert sent[-1][1] == {}
    clients.where = None
    assert smoke.smoke_test(Path("p"), entry, ENV) == (
        "smoke test: do/config names no ENDPOINT_NAME after do/deploy"
    )


def test_a_failed_deploy_is_led_by_sagemaker_s_reasons(clients, monkeypatch):
    reasons, given = [], []

    def failure_reasons(where, sagemaker):
        given.append((where, sagemaker))
        return reasons

    monkeypatch.setattr(endpoint, "failure_reasons", failure_reasons)
    assert smoke.with_reasons(Path("p"), ENV, "exit code 1", []) == "exit code 1"
    reasons.extend(["endpoint ep-1: no capacity", "ic-1: image pull failed key-9"])
    assert smoke.with_reasons(Path("p"), ENV, "exit code 1", ["key-9"]) == (
        "endpoint ep-1: no capacity; ic-1: image pull failed ***\nexit code 1"
    )
    assert given[-1] == (WHERE, "sagemaker@eu-west-1")
    assert clients.asked[-1] == (Path("p"), ENV)
    clients.where = None
    assert smoke.with_reasons(Path("p"), ENV, "exit code 1", []) == "exit code 1"


def test_teardown_sweeps_up_what_the_project_left(clients, monkeypatch):
    made, left = [], []

    class Remover:
        def __init__(self, sagemaker, patience=0.0):
            made.append((sagemaker, patience))

    swept = []

    def sweep_up(where, remover):
        swept.append((where, remover))
        return list(left)

    monkeypatch.setattr(endpoint, "Remover", Remover)
    monkeypatch.setattr(endpoint, "sweep_up", sweep_up)
    ok = StageRun(0, 1.0, "")
    spec = StageSpec("teardown", "./do/clean all", 600.0)
    result = smoke.swept_up(WHERE, ENV, ok, spec, "log-ptr", [], Stop())
    assert result == StageResult("pass", logPointer="log-ptr")
    assert made == [("sagemaker@eu-west-1", 300.0)]
    assert swept[0][0] == WHERE and isinstance(swept[0][1], Remover)
    left.extend(["endpoint ep-1", "inference component ic-1"])
    result = smoke.swept_up(WHERE, ENV, ok, replace(spec, timeout=1.0), "log-ptr", [], Stop())
    assert result == StageResult(
        "pass",
        logPointer="log-ptr",
        note="the project's cleanup left endpoint ep-1, inference component ic-1: "
        "deleted by the harness",
    )
    assert made[-1] == ("sagemaker@eu-west-1", 1.0)  # at least a second
    failed = StageRun(2, 1.0, "cleanup broke")
    result = smoke.swept_up(WHERE, ENV, failed, spec, "log-ptr", [], Stop())
    assert result == StageResult(
        "fail", logPointer="log-ptr", errorSummary="exit code 2\ncleanup broke"
    )
    late = StageRun(None, 600.0, "", timed_out=True)
    result = smoke.swept_up(WHERE, ENV, late, spec, "log-ptr", [], Stop())
    assert result.errorSummary == "timed out after 600s; its process group was killed"
    stopped = StageRun(None, 1.0, "", cancelled=True)
    result = smoke.swept_up(WHERE, ENV, stopped, spec, "log-ptr", [], Stop(reason="SIGINT"))
    assert result.errorSummary == "interrupted by SIGINT; its process group was killed"


def test_an_endpoint_teardown_could_not_remove_is_its_failure(clients, monkeypatch):
    monkeypatch.setattr(endpoint, "Remover", lambda sagemaker, patience: None)

    def sweep_up(where, remover):
        assert where is WHERE
        raise TimeoutError("still deleting")

    monkeypatch.setattr(endpoint, "sweep_up", sweep_up)
    spec = StageSpec("teardown", "./do/clean all", 600.0)
    ok = StageRun(0, 1.0, "")
    assert smoke.swept_up(WHERE, ENV, ok, spec, "ptr", [], Stop()) == StageResult(
        "fail",
        logPointer="ptr",
        errorSummary="endpoint ep-1 is still up after teardown: still deleting",
    )
    failed = StageRun(2, 1.0, "cleanup broke")
    assert smoke.swept_up(WHERE, ENV, failed, spec, "ptr", [], Stop()) == StageResult(
        "fail",
        logPointer="ptr",
        errorSummary="endpoint ep-1 is still up after teardown: still deleting\n"
        "exit code 2\ncleanup broke",
    )
    late = StageRun(None, 600.0, "", timed_out=True)
    assert smoke.swept_up(WHERE, ENV, late, spec, "ptr", [], Stop()).errorSummary == (
        "endpoint ep-1 is still up after teardown: still deleting\n"
        "timed out after 600s; its process group was killed"
    )
    stopped = StageRun(None, 1.0, "", cancelled=True)
    assert smoke.swept_up(WHERE, ENV, stopped, spec, "ptr", [], Stop(reason="SIGINT")) == (
        StageResult(
            "fail",
            logPointer="ptr",
            errorSummary="endpoint ep-1 is still up after teardown: still deleting\n"
            "interrupted by SIGINT; its process group was killed",
        )
    )
