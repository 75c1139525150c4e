"""`mlcc-ci run` exit codes and summaries by failure class, `failures explain`, `failures
reclassify` and `history show|forget`, through the command line on a real SQLite store."""

import json
import re
from dataclasses import replace

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.history import analyse
from mlcc_ci.models import Failure, StageResult
from mlcc_ci.stores.sqlite import SqliteStore

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()
FLASK = CATALOG.get("http-flask").config_id


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    return tmp_path / "results.db"


def run(cli, monkeypatch, fault="", *extra):
    if fault:
        monkeypatch.setenv("MLCC_CI_FAULT", fault)
    else:
        monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    return cli("run", "http-flask", "--profile", "example", "-q", *extra)


def history(path):
    store = SqliteStore(path)
    try:
        return store.history(FLASK), store.get(FLASK)
    finally:
        store.close()


def test_a_harness_error_exits_3_and_forgetting_it_needs_a_yes(cli, store_env, monkeypatch):
    assert run(cli, monkeypatch).exit_code == 0
    result = run(cli, monkeypatch, "http-flask:validate:crash")
    assert result.exit_code == 3
    assert result.output.splitlines()[-1].startswith("0 passed, 0 failed, 1 error (profile")
    runs, record = history(store_env)
    assert [r.status for r in runs] == ["error", "pass"]
    assert record.testStatus == "pass"  # the harness broke; the configuration did not
    error = runs[0].runId

    shown = cli("history", "show", "http-flask").output.splitlines()
    assert shown[2].split()[:5] == [error, *shown[2].split()[1:4], "error"]
    assert "harness (harness-internal-error)" in shown[2]

    refused = cli("history", "forget", error, input="")  # no one answers
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1] == "nothing forgotten (--yes forgets without asking)"
    assert [r.status for r in history(store_env)[0]] == ["error", "pass"]

    said = cli("history", "forget", error, input="y\n")
    assert said.exit_code == 0
    assert said.output.splitlines()[-1] == f"forgot run {error}"
    runs, record = history(store_env)
    assert [r.status for r in runs] == ["pass"]
    assert [r.status for r in record.recentRuns] == ["pass"]


def test_forgetting_the_last_result_gives_the_configuration_the_one_before(
    cli, store_env, monkeypatch
):
    assert run(cli, monkeypatch).exit_code == 0
    assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    runs, record = history(store_env)
    assert record.testStatus == "fail-build"
    result = cli("history", "forget", runs[0].runId, "--yes")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == (f"forgot run {runs[0].runId}; http-flask is now pass")
    _, record = history(store_env)
    assert (record.testStatus, record.runId, record.failure) == ("pass", runs[1].runId, None)
    assert record.lastTestTimestamp == runs[1].finishedAt
    missing = cli("history", "forget", "nosuchrun", "--yes")
    assert missing.exit_code == 2
    assert missing.output.strip() == (
        "Error: no run nosuchrun in any record's recent runs (an older run: name its "
        "configuration with --name)"
    )


def test_a_capacity_failure_without_retry_is_blocked_and_explained(cli, store_env, monkeypatch):
    assert run(cli, monkeypatch).exit_code == 0
    result = run(cli, monkeypatch, "http-flask:deploy_test:capacity", "--no-retry")
    assert result.exit_code == 1  # the matrix is not proven
    lines = result.output.splitlines()
    assert lines[-1].startswith("0 passed, 0 failed, 1 blocked (profile example")
    assert "http-flask  blocked (capacity) at deploy_test" in result.output
    runs, record = history(store_env)
    assert (record.testStatus, record.blocked.cls) == ("pass", "capacity")

    explained = cli("failures", "explain", runs[0].runId)
    assert explained.exit_code == 0
    out = explained.output.splitlines()
    assert out[0].startswith(f"run {runs[0].runId} of http-flask: fail-deploy_test at deploy_test")
    assert out[1:3] == ["class:   capacity", out[2]]
    # the rule's file relative to the catalog in use (the shipped one)
    assert re.fullmatch(r"rule:    sagemaker-capacity \(_failures\.yaml:\d+\)", out[2])
    assert out[3] == "capture: Unable to provision requested ML compute capacity"
    assert out[4].startswith("line:    An error occurred (CapacityError) when calling the")
    assert out[5].endswith(
        "deploy_test.log and deploy_test.stderr.log beside it (their last 64 KB)"
    )
    assert out[6].startswith("hint:    SageMaker has no free instances of this type")
    gone = cli("history", "forget", runs[0].runId, "--yes")
    assert gone.output.splitlines()[-1] == (
        f"forgot run {runs[0].runId}; the block (capacity) it caused is lifted"
    )
    assert history(store_env)[1].blocked is None
    passed = cli("failures", "explain", runs[1].runId)
    assert passed.exit_code == 2
    assert passed.output.strip() == f"Error: run {runs[1].runId} of http-flask did not fail (pass)"


def test_reclassify_relabels_the_history_and_the_numbers_follow(cli, store_env, monkeypatch):
    assert run(cli, monkeypatch).exit_code == 0
    assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    store = SqliteStore(store_env)
    try:
        # a failure recorded before the rules knew Docker Hub's rate limit: called product
        [failed, passed] = store.history(FLASK)
        text = (
            "exit code 1\nERROR: toomanyrequests: You have reached your pull rate limit. "
            "You may increase the limit by authenticating and upgrading"
        )
        old = replace(
            failed,
            stageResults={**failed.stageResults, "build": StageResult("fail", 1.0, "", text)},
            failure=Failure("product", "build"),
        )
        store.append_run(old)
        assert analyse(store.history(FLASK)).passRate == 0.5
    finally:
        store.close()

    dry = cli("failures", "reclassify", "--dry-run")
    assert dry.exit_code == 0
    assert dry.output.splitlines()[-1] == (
        "would re-label 1 of 1 failed run(s): product -> infra: 1"
    )
    assert history(store_env)[0][0].failure.cls == "product"

    done = cli("failures", "reclassify")
    line = done.output.splitlines()[0].split()
    assert line == [
        "http-flask",
        "run",
        failed.runId,
        "fail-build",
        "product",
        "->",
        line[-2],
        line[-1],
    ]
    assert (line[-2], line[-1]) == ("infra", "(dockerhub-rate-limit)")
    runs, record = history(store_env)
    assert (runs[0].failure.cls, runs[0].failure.rule) == ("infra", "dockerhub-rate-limit")
    assert runs[0].failure.capture == "You have reached your pull rate limit"
    assert record.recentRuns[0].failure.cls == "infra"
    assert analyse(runs).passRate == 1.0  # the rate limit was never the product's
    # made again from its history, as the runner would have left it: the product passed
    # last, and the infrastructure has blocked it since
    assert (record.testStatus, record.runId, record.failure) == ("pass", passed.runId, None)
    assert (record.blocked.cls, record.blocked.rule, record.blocked.rounds) == (
        "infra",
        "dockerhub-rate-limit",
        1,
    )
    assert record.blocked.since == failed.startedAt
    assert done.output.splitlines()[-1] == (
        "each configuration re-labelled takes its newest product result; infrastructure "
        "failures since then block it"
    )
    again = cli("failures", "reclassify")
    assert again.output.splitlines()[-1] == "re-labelled 0 of 1 failed run(s)"


def test_a_failure_reclassified_as_the_harness_s_becomes_an_error(cli, store_env, monkeypatch):
    assert run(cli, monkeypatch).exit_code == 0
    assert run(cli, monkeypatch, "http-flask:validate:fail").exit_code == 1
    store = SqliteStore(store_env)
    try:
        [failed, passed] = store.history(FLASK)
        said = "internal error in the harness: KeyError: 'projectName'"
        broken = {**failed.stageResults, "validate": StageResult("fail", 0.1, "", said)}
        store.append_run(
            replace(failed, stageResults=broken, failure=Failure("product", "validate"))
        )
    finally:
        store.close()
    done = cli("failures", "reclassify")
    assert done.output.splitlines()[0].split()[-3:] == [
        "(harness-internal-error)",
        "(now",
        "error)",
    ]
    runs, record = history(store_env)
    assert [r.status for r in runs] == ["error", "pass"]
    assert (record.testStatus, record.runId, record.blocked) == ("pass", passed.runId, None)
    assert [r.status for r in record.recentRuns] == ["error", "pass"]


def test_a_team_retries_capacity_at_once_and_its_numbers_stay(
    cli, store_env, tmp_path, monkeypatch
):
    """The issue's case as a team meets it: its catalog's own rule for SageMaker capacity
    (retried at once), a capacity failure in the first attempt, and a report that still
    says 100 % with no regression."""
    import json

    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask").exit_code == 0
    (team / "_failures.yaml").write_text(
        "rules:\n"
        "  - name: sagemaker-capacity\n"
        "    class: capacity\n"
        "    stages: [deploy_test]\n"
        "    pattern: '(Unable to provision requested ML compute capacity)'\n"
        "    retry: {count: 1, backoffSeconds: 0}\n"
        "    hint: 'retried at once by this team'\n"
    )
    rules = cli("--catalog", str(team), "failures", "rules").output.splitlines()
    assert rules[2].split()[:4] == ["sagemaker-capacity", "capacity", "deploy_test", "1x/0s"]
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    base = ("--catalog", str(team), "run", "http-flask", "--profile", "example")
    assert cli(*base, "-q").exit_code == 0
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:deploy_test:capacity:1")
    result = cli(*base)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        line.split()[:3] == ["http-flask", "deploy_test", "capacity"]
        and line.endswith("retry in 0s")
        for line in lines
    )
    assert any(line.split()[:4] == ["http-flask", "pass,", "attempt", "2"] for line in lines)
    assert lines[-1].startswith("1 passed, 0 failed (profile example")
    report = json.loads(
        cli("--catalog", str(team), "report", "--profile", "example", "--format", "json").output
    )
    flask = report["configurations"]["http-flask"]
    assert (flask["status"], flask["passRate"], flask["regression"]) == ("pass", 1.0, None)
    runs, _ = history(store_env)
    assert [(r.status, r.attempt) for r in runs] == [
        ("pass", 2),
        ("fail-deploy_test", 1),
        ("pass", 1),
    ]


def test_forget_with_stdin_closed_is_a_no_not_a_traceback(store_env, monkeypatch, tmp_path):
    """`mlcc-ci history forget RUN <&-`: a real process with no standard input at all."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.pop("MLCC_CI_FAULT", None)
    mlcc = [sys.executable, "-m", "mlcc_ci"]
    done = subprocess.run(
        [*mlcc, "run", "http-flask", "--profile", "example", "-q"], env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    runs, _ = history(store_env)
    shut = subprocess.run(
        [*mlcc, "history", "forget", runs[0].runId],
        env=env,
        capture_output=True,
        stdin=None,
        pass_fds=(),
        close_fds=True,
        preexec_fn=lambda: os.close(0),
    )
    assert shut.returncode == 1, shut.stderr
    assert shut.stderr == b""
    assert shut.stdout.decode().splitlines()[-2:] == [
        "Forget it? [y/N]: (no one to answer)",
        "nothing forgotten (--yes forgets without asking)",
    ]
    assert [r.runId for r in history(store_env)[0]] == [runs[0].runId]


def test_explain_after_the_log_is_pruned_sends_no_one_to_read_it(cli, store_env, monkeypatch):
    """A run whose log is gone (keep-runs pruned its folder): explain says so and classifies
    the error summary the history kept, and its hint no longer says "read the log"."""
    import shutil
    from pathlib import Path

    work = store_env.parent / "work"
    result = run(cli, monkeypatch, "http-flask:build:fail", "--work-dir", str(work))
    assert result.exit_code == 1
    (failed,), _ = history(store_env)
    log = Path(failed.stageResults["build"].logPointer)
    kept = cli("failures", "explain", failed.runId).output.splitlines()
    assert kept[1:2] == ["class:   unclassified"]
    assert kept[-1] == "hint:    no rule matched: read the log"  # while it is there

    shutil.rmtree(log.parent.parent)  # the run's folder, as keep-runs prunes it
    explained = cli("failures", "explain", failed.runId)
    assert explained.exit_code == 0
    assert explained.output.splitlines()[1:] == [
        "class:   unclassified",
        "from:    the error summary the history kept (the log is gone)",
        "hint:    no rule matched what the history kept, and the log is gone: "
        "`mlcc-ci run http-flask` runs it again with a log",
    ]
    as_json = json.loads(cli("failures", "explain", failed.runId, "--json").output)
    assert (as_json["from"], as_json["hint"]) == (
        "errorSummary",
        explained.output.split("hint:    ")[1].strip(),
    )
