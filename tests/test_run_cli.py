"""plan → run → plan, as a user would: the example profile runs the whole matrix locally."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.open import open_store
from tests.stores import pass_state_machine

pytestmark = pytest.mark.functional
SUPPORTED = sorted(e.name for e in load_valid_catalog().entries if e.supported)


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/results.db"
    monkeypatch.setenv("MLCC_CI_STORE", url)
    return url


def test_register_plan_run_plan(cli, store_env, tmp_path):
    assert cli("register", "--from-catalog", "--all").exit_code == 0
    plan = json.loads(cli("plan", "--json").output)
    assert sorted(d["name"] for d in plan["due"]) == SUPPORTED
    assert {d["reason"] for d in plan["due"]} == {"untested"}
    assert {d["reason"] for d in plan["skipped"]} == {"unsupported"}

    result = cli(
        "run", "--due", "--profile", "example", "--jobs", "4", "--work-dir", str(tmp_path / "work")
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith(f"{len(SUPPORTED)} passed, 0 failed")
    records = list(open_store(store_env).records())
    assert sorted(r.deploymentConfig for r in records if r.testStatus == "pass") == SUPPORTED
    assert {r.profile for r in records if r.tested} == {"example"}

    assert json.loads(cli("plan", "--json").output)["due"] == []
    later = clock.iso(clock.now() + timedelta(hours=25))
    stale = json.loads(cli("plan", "--json", "--now", later).output)
    assert sorted(d["name"] for d in stale["due"]) == SUPPORTED
    assert {d["reason"] for d in stale["due"]} == {"stale"}

    status = json.loads(cli("status", "--json").output)
    assert status["passing"] == len(SUPPORTED) and status["running"] == 0
    assert status["unsupported"] == 4 and status["untested"] == 0


def test_example_profile_uses_its_own_store(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert cli("run", "http-flask", "--profile", "example").exit_code == 0
    assert (tmp_path / "xdg" / "mlcc-ci" / "example-results.db").is_file()
    assert not (tmp_path / "xdg" / "mlcc-ci" / "results.db").exists()
    assert json.loads(cli("status", "--json", "--profile", "example").output)["passing"] == 1


def test_failed_run_exits_non_zero_with_a_summary(cli, store_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_CI_FAULT", "triton-fil:deploy_test:fail")
    result = cli(
        "run",
        "triton-fil",
        "http-fastapi",
        "--profile",
        "example",
        "--work-dir",
        str(tmp_path / "w"),
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.split()[:2] == ["triton-fil", "fail-deploy_test"] for line in lines)
    assert any(line.split()[:2] == ["http-fastapi", "pass"] for line in lines)
    assert lines[-1].startswith("1 passed, 1 failed")


def test_dry_run_prints_the_commands_and_runs_nothing(cli, store_env):
    result = cli("run", "http-flask", "--dry-run")
    assert result.exit_code == 0
    assert (
        "  build        timeout 3600s  ./do/build && ./do/push "
        "[checks: aws-credentials, docker, nested-build-role]" in result.output
    )
    assert (
        '  teardown     timeout 900s   bash ./do/clean.d/"$MLCC_DEPLOYMENT_TARGET" all --force '
        "[checks: aws-credentials]" in result.output
    )
    assert (
        '  generate     timeout 600s   ml-container-creator --config "$MLCC_CONFIG_FILE" '
        '--skip-prompts --project-dir "$MLCC_PROJECT_DIR" --force [checks: generator]'
        in result.output
    )
    assert list(open_store(store_env).records()) == []


def test_a_long_run_within_the_catalogs_time_limits_is_not_an_orphan(cli, store_env):
    cli("register", "--from-catalog", "http-flask")
    store = open_store(store_env)
    record = store.get(load_valid_catalog().get("http-flask").config_id)
    # three hours: more than the 90-minute build of old, less than this catalog's stages allow
    claim(store, record, "long-run", clock.iso(clock.now() - timedelta(hours=3), ms=True))
    plan = json.loads(cli("plan", "--json").output)
    assert plan["reap"] == []
    assert [(d["reason"], d["configId"]) for d in plan["skipped"]] == [("running", record.configId)]


def test_orphaned_run_is_reaped_by_the_next_selection(cli, store_env, tmp_path):
    cli("register", "--from-catalog", "http-flask")
    store = open_store(store_env)
    record = store.get(load_valid_catalog().get("http-flask").config_id)
    # longer than a run of this catalog could take: 60 min queued, a 179-minute build, and
    # 15 of grace
    five_hours_ago = clock.iso(clock.now() - timedelta(hours=5), ms=True)
    claim(store, record, "dead-run", five_hours_ago)
    plan = json.loads(cli("plan", "--json").output)
    assert [d["reason"] for d in plan["reap"]] == ["orphaned"]
    result = cli("run", "--due", "--profile", "example", "--work-dir", str(tmp_path / "w"))
    assert "reaped http-flask: reaped: run dead-run started" in result.output
    reaped = store.get(record.configId)
    assert reaped.testStatus == "fail-build"
    assert "longer than the build timeout plus grace (254 min)" in reaped.errorMessage
    assert [(h.runId, h.status) for h in store.history(record.configId)] == [
        ("dead-run", "fail-build")
    ]


def test_two_triggers_at_once_run_each_configuration_once(store_env, tmp_path):
    from tests.conftest import REPO

    subprocess.run(
        [sys.executable, "-m", "mlcc_ci", "register", "--from-catalog", "--all"],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlcc_ci", "trigger", "--profile", "example", "--jobs", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "XDG_DATA_HOME": str(tmp_path / f"t{i}")},
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    store = open_store(store_env)
    runs = {
        r.deploymentConfig: len(store.history(r.configId)) for r in store.records() if r.supported
    }
    assert runs == {name: 1 for name in SUPPORTED}, outputs
    assert all(r.testStatus == "pass" for r in store.records() if r.supported)


def test_config_id_mode_runs_the_claim_it_was_given(cli, store_env, tmp_path):
    cli("register", "--from-catalog", "triton-python")
    store = open_store(store_env)
    record = store.get(load_valid_catalog().get("triton-python").config_id)
    claim(store, record, "sfn-run-1", clock.iso(clock.now(), ms=True))
    wrong = cli("run", "--config-id", record.configId, "--run-id", "other", "--profile", "example")
    assert wrong.exit_code == 2
    assert "is not claimed by run other" in wrong.output
    ok = cli(
        "run",
        "--config-id",
        record.configId,
        "--run-id",
        "sfn-run-1",
        "--profile",
        "example",
        "--work-dir",
        str(tmp_path / "w"),
    )
    assert ok.exit_code == 0, ok.output
    assert [h.runId for h in store.history(record.configId)] == ["sfn-run-1"]


def test_usage_errors(cli, store_env):
    assert cli("run").exit_code == 2
    assert cli("run", "--due", "--all").exit_code == 2
    bad = cli("plan", "--now", "yesterday")
    assert bad.exit_code == 2 and bad.output == "Error: --now 'yesterday' is not an ISO-8601 time\n"
    unknown = cli("run", "http-flask", "--profile", "nope")
    assert unknown.output == "Error: no profile 'nope' (defined: default, example, static)\n"


def test_record_failure_only_when_the_run_left_no_result(cli, store_env):
    cli("register", "--from-catalog", "http-fastapi")
    store = open_store(store_env)
    record = store.get(load_valid_catalog().get("http-fastapi").config_id)
    claim(store, record, "cb-1", clock.iso(clock.now(), ms=True))
    args = [
        "record-failure",
        "--config-id",
        record.configId,
        "--run-id",
        "cb-1",
        "--message",
        "build timed out after 90 minutes",
    ]
    first = cli(*args)
    assert first.output == "recorded fail-build for http-fastapi run cb-1\n"
    stored = store.get(record.configId)
    assert stored.testStatus == "fail-build"
    assert stored.errorMessage == "build timed out after 90 minutes"
    assert [h.runId for h in store.history(record.configId)] == ["cb-1"]
    again = cli(*args)
    assert again.output == "run cb-1 already has its result (fail-build); nothing to do\n"


def test_progress_view_redraws_live_and_prints_plain_lines():
    import io
    import time

    from mlcc_ci.cli.progress import ProgressView
    from mlcc_ci.lifecycle import Progress

    live = io.StringIO()
    with ProgressView(stream=live, live=True) as view:
        view(Progress("http-flask", "build", "start"))
        time.sleep(0.5)
        view(Progress("http-flask", "build", "end", "pass", 0.42))
        view(Progress("http-flask", "update", "end", "fail-deploy_test"))
    text = live.getvalue()
    # the redrawn status line, its time as every duration is shown (clock.duration)
    assert re.search(r"\r\033\[Khttp-flask: build \d+\.\ds", text)
    assert "0.42s" not in text  # stage lines are for logs, not the terminal
    assert "http-flask                 finished     " in text and "fail-deploy_test" in text
    plain = io.StringIO()
    with ProgressView(stream=plain, live=False) as view:
        view(Progress("triton-fil", "deploy_test", "start"))
        view(Progress("triton-fil", "deploy_test", "end", "fail", 1.5))
    assert plain.getvalue() == (
        "triton-fil                 deploy_test  started\n"
        "triton-fil                 deploy_test  fail                1.50s\n"
    )


def test_progress_follows_the_terminal_conventions(cli, tmp_path, monkeypatch):
    import io
    import shutil

    from mlcc_ci.cli.progress import ProgressView
    from mlcc_ci.lifecycle import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(
        shutil, "get_terminal_size", lambda fallback=None: os.terminal_size((40, 24))
    )
    out = Tty()
    with ProgressView(stream=out, color=True) as view:
        view(Progress("transformers-tensorrt-llm", "deploy_test", "start"))
        view(Progress("triton-tensorrt", "build", "start"))
        __import__("time").sleep(0.5)
        view(Progress("triton-tensorrt", "update", "end", "pass"))
    redraws = [x for x in out.getvalue().split("\r\033[K") if x and "finished" not in x]
    assert redraws and all(len(x) <= 39 for x in redraws)  # fits an 80... here 40-column terminal
    assert "\033[32m" in out.getvalue()  # colour on a terminal
    plain = Tty()
    with ProgressView(stream=plain, color=False) as view:  # NO_COLOR / --no-color
        view(Progress("http-flask", "update", "end", "pass"))
    assert "\033[3" not in plain.getvalue()
    quiet = Tty()
    with ProgressView(stream=quiet, verbosity=0) as view:
        view(Progress("http-flask", "build", "start"))
        view(Progress("http-flask", "update", "end", "pass"))
    assert quiet.getvalue() == ""
    loud = Tty()
    with ProgressView(stream=loud, verbosity=2, color=False) as view:
        view(Progress("http-flask", "build", "start"))
        view(Progress("http-flask", "build", "end", "pass", 0.1))
    assert "http-flask                 build        started\n" in loud.getvalue()
    assert "http-flask                 build        pass                0.10s\n" in loud.getvalue()
    url = f"sqlite:///{tmp_path}/r.db"
    ran = cli("run", "http-flask", "--profile", "example", "--store", url, "-q")
    assert ran.exit_code == 0 and "started" not in ran.output and "1 passed, 0 failed" in ran.output
    # on a real terminal: colour, unless NO_COLOR or --no-color says otherwise
    run = ("run", "http-flask", "--profile", "example", "--store", url)
    coloured = on_a_terminal(*run)
    assert "\033[32mpass" in coloured and "1 passed, 0 failed" in coloured
    for plain in (on_a_terminal(*run, NO_COLOR="1"), on_a_terminal("--no-color", *run)):
        assert "1 passed, 0 failed" in plain and "\033[3" not in plain
        assert "http-flask                 finished     pass" in plain
    monkeypatch.setenv("NO_COLOR", "1")
    ran = cli(*run)
    assert "\033[" not in ran.output
    assert "http-flask                 generate     started" in ran.output


def on_a_terminal(*args: str, **env: str) -> str:
    """The output of `mlcc-ci *args` run on a pseudo-terminal (stdout a TTY)."""
    import pty

    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlcc_ci", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, **env},
        close_fds=True,
    )
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert process.wait(timeout=120) == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def test_scanner_claim_then_executor_run_on_dynamodb(cli, tmp_path):
    """The AWS path end to end, without AWS: the scanner claims, `run --config-id` runs."""
    import boto3
    from moto import mock_aws

    from mlcc_ci.aws.scanner import handler

    with mock_aws():
        cli("store", "create-tables", "--table", "mlcc-ci-table")
        cli("register", "--from-catalog", "--all", "--table", "mlcc-ci-table")
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = pass_state_machine(sfn)
        (execution,) = handler({}, None, env={"STATE_MACHINE_ARN": arn})["executionArns"]
        payload = json.loads(sfn.describe_execution(executionArn=execution)["input"])
        result = cli(
            "run",
            "--config-id",
            payload["configId"],
            "--run-id",
            payload["runId"],
            "--store",
            "dynamodb://mlcc-ci-table?region=us-east-1",
            "--profile",
            "example",
            "--work-dir",
            str(tmp_path / "w"),
        )
        assert result.exit_code == 0, result.output
        store = open_store("dynamodb://mlcc-ci-table?region=us-east-1")
        record = store.get(payload["configId"])
        assert record.testStatus == "pass" and record.runId == payload["runId"]
        assert [h.runId for h in store.history(record.configId)] == [payload["runId"]]


def test_record_failure_knows_a_retry_attempt_as_its_run(cli, store_env):
    from dataclasses import replace

    cli("register", "--from-catalog", "http-fastapi")
    store = open_store(store_env)
    record = store.get(load_valid_catalog().get("http-fastapi").config_id)
    running = claim(store, record, "cb-2", clock.iso(clock.now(), ms=True))
    retry = replace(running, runId="cb-2-r2", version=running.version + 1)
    store.replace(retry, expect_version=running.version, expect_run_id="cb-2")
    args = ["record-failure", "--config-id", record.configId, "--run-id"]
    other = cli(*args, "cb-", "--message", "x")  # a prefix of it is not the run
    assert other.output == "run cb- already has its result (running); nothing to do\n"
    done = cli(*args, "cb-2", "--message", "build timed out after 90 minutes")
    assert done.output == "recorded fail-build for http-fastapi run cb-2\n"
    assert [h.runId for h in store.history(record.configId)] == ["cb-2-r2"]
