"""Logs at hand: `mlcc-ci logs` (local, followed, CloudWatch), the dashboard's confined log
pages, and the first failure whole in the run summary and the text report."""

import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.constants import LOG_GROUP
from mlcc_ci.models import Outcome, StageResult, progressed, run_of
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim, finish
from mlcc_ci.stores.sqlite import SqliteStore

# Each test carries its tier (no module-wide functional): one that needs the generator or chromium is of that
# tier only, so `pytest -m "unit or functional"` runs without it.
CATALOG = load_valid_catalog()
TOKEN = "hf_" + "A1b2C3d4E5f6G7h8J9k0"
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1L7\nqT9dPp\n-----END RSA PRIVATE KEY-----"


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "r.db")
    yield s
    s.close()


def url_of(store) -> str:
    return f"sqlite:///{store.path}"


def write_log(work: Path, name: str, run_id: str, stage: str, out: str, err: str = "") -> Path:
    log = work / f"{name}-{run_id}" / "logs" / f"{stage}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(out)
    if err:
        log.with_suffix(".stderr.log").write_text(err)
    return log


def record_run(store, work, run_id, stages, name="http-flask", day=1):
    """A finished run of `name`, as the runner writes it: `stages` maps each stage to
    (status, stdout, stderr, errorSummary); every stage that ran has its log files."""
    entry = CATALOG.get(name)
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    running = claim(store, store.get(entry.config_id), run_id, f"2026-02-{day:02d}T00:00:00.000Z")
    results = {}
    for stage, (status, out, err, summary) in stages.items():
        pointer = ""
        if status != "skip":
            pointer = str(write_log(work, name, run_id, stage, out, err))
        results[stage] = StageResult(status, 1.0, pointer, summary)
    failed = next((s for s, r in results.items() if r.status == "fail"), None)
    first = (results[failed].errorSummary.splitlines() or [""])[0] if failed else ""
    outcome = Outcome(
        status=f"fail-{failed}" if failed else "pass",
        finishedAt=f"2026-02-{day:02d}T01:00:00Z",
        durationSeconds=6.0,
        stageResults=results,
        errorMessage=f"{failed} failed: {first}" if failed else "",
    )
    store.append_run(run_of(running, outcome))
    return finish(store, running, outcome)


# -- mlcc-ci logs, local ----------------------------------------------------------------------


@pytest.mark.functional
def test_logs_of_a_real_failed_run_default_to_the_failed_stage(cli, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/r.db"
    work = tmp_path / "work"
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    ran = cli("run", "http-flask", "--profile", "example", "--store", url, "--work-dir", str(work))
    assert ran.exit_code == 1
    monkeypatch.delenv("MLCC_CI_FAULT")

    shown = cli("logs", "http-flask", "--store", url)
    assert shown.exit_code == 0, shown.output
    assert shown.output == "==> build.stderr.log <==\nmlcc-ci: injected failure\n"

    generate = cli("logs", "http-flask", "--stage", "generate", "--store", url)
    assert generate.exit_code == 0 and "generated " in generate.output

    # the run summary gave the same place
    (log,) = work.glob("http-flask-*/logs/build.log")
    # whole, on the `log:` line or (too long for it) on its own line below
    assert f"    log: {log}" in ran.output or f"    log:\n      {log}\n" in ran.output


@pytest.mark.generator
def test_logs_of_a_passing_static_run_show_the_last_stage_with_a_log(
    cli, tmp_path, pinned_generator
):
    """register and update leave no log: a passing run shows validate's."""
    url = f"sqlite:///{tmp_path}/r.db"
    work = ["--store", url, "--work-dir", str(tmp_path / "work")]
    assert cli("run", "triton-fil", "--profile", "static", *work).exit_code == 0
    shown = cli("logs", "triton-fil", "--store", url)
    assert shown.exit_code == 0, shown.output
    assert "Configuration loaded" in shown.output  # the project's do/validate said it


@pytest.mark.functional
def test_logs_picks_runs_and_stages_and_says_what_is_missing(cli, store, tmp_path):
    work = tmp_path / "work"
    passed = {
        "generate": ("pass", "generated it\n", "", ""),
        "validate": ("pass", "", "", ""),
        "build": ("pass", "built 1\n", "", ""),
        "teardown": ("pass", "cleaned\n", "", ""),
    }
    record_run(store, work, "aaaaaaaaaaa1", passed, day=1)
    failing = {
        "generate": ("pass", "generated again\n", "", ""),
        "build": ("fail", "step 1\nstep 2\n", "boom\n", "exit code 1\nboom"),
        "deploy_test": ("skip", "", "", ""),
        "teardown": ("pass", "cleaned\n", "", ""),
    }
    record_run(store, work, "bbbbbbbbbbb2", failing, day=2)
    url = url_of(store)

    # the last run, its failed stage: stdout, then stderr under a header
    out = cli("logs", "http-flask", "--store", url).output
    assert out == "step 1\nstep 2\n==> build.stderr.log <==\nboom\n"
    # an older run: no failure, so its last stage that ran
    assert cli("logs", "http-flask", "--run", "aaaaaaaaaaa1", "--store", url).output == "cleaned\n"
    assert (
        cli(
            "logs", "http-flask", "--run", "aaaaaaaaaaa1", "--stage", "build", "--store", url
        ).output
        == "built 1\n"
    )

    def error(*args):
        result = cli("logs", *args, "--store", url)
        assert result.exit_code == 2, result.output
        return result.output

    assert error("http-flak") == (
        "Error: no catalog entry named 'http-flak' (did you mean 'http-flask'?)\n"
    )
    assert error("http-flask", "--stage", "biuld") == (
        "Error: no stage 'biuld' (did you mean 'build'?)\n"
    )
    assert error("http-flask", "--run", "cccc") == (
        "Error: http-flask has no run cccc (recent runs: bbbbbbbbbbb2, aaaaaaaaaaa1)\n"
    )
    assert error("http-flask", "--stage", "deploy_test") == (
        "Error: stage deploy_test of http-flask (run bbbbbbbbbbb2) was skipped: stage build "
        "failed before it\n"
    )
    assert error("triton-fil") == (
        "Error: triton-fil has no runs yet: `mlcc-ci run triton-fil` starts one\n"
    )
    # a run folder removed since (mlcc-ci clean, keep-runs): said, in one line
    for log in (work / "http-flask-bbbbbbbbbbb2" / "logs").iterdir():
        log.unlink()
    assert error("http-flask").startswith(
        "Error: the log of run bbbbbbbbbbb2 is not on this machine any more: "
    )


@pytest.mark.functional
def test_logs_are_masked_and_never_reach_the_terminal_as_escapes(cli, store, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "my-very-own-token-value")
    out = (
        "\x1b]0;pwned\x07title set\n"
        f"HF_TOKEN={TOKEN}\n"
        "using my-very-own-token-value here\n"
        f"{KEY}\n"
        "done\x1b[2J\n"
        "50%\r100%\n"
    )
    record_run(store, tmp_path / "w", "aaaaaaaaaaa1", {"build": ("pass", out, "", "")})
    shown = cli("logs", "http-flask", "--store", url_of(store)).output
    assert shown == "title set\nHF_TOKEN=***\nusing *** here\n***\n***\n***\n***\ndone\n100%\n"
    raw = cli("logs", "http-flask", "--raw", "--store", url_of(store)).output
    assert TOKEN in raw and "MIIEowIBAAKCAQEAu1SU1L7" in raw
    assert "\x1b" not in raw and "\x07" not in raw


@pytest.mark.functional
def test_logs_print_only_stage_logs_and_never_through_a_link(cli, store, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not a log\n")
    entry = CATALOG.get("http-flask")
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    running = claim(store, store.get(entry.config_id), "r1", "2026-02-01T00:00:00.000Z")
    # a record someone else wrote, pointing at a file that is no stage log
    outcome = Outcome(
        status="pass",
        finishedAt="2026-02-01T01:00:00Z",
        durationSeconds=1.0,
        stageResults={"build": StageResult("pass", 1.0, str(secret))},
    )
    store.append_run(run_of(running, outcome))
    finish(store, running, outcome)
    result = cli("logs", "http-flask", "--store", url_of(store))
    assert result.exit_code == 2
    assert result.output == (
        f"Error: the log pointer of stage build is not a stage log: '{secret}'\n"
    )

    link = write_log(tmp_path / "w", "http-flask", "r2", "build", "")
    link.unlink()
    link.symlink_to(secret)
    record_run(store, tmp_path / "w2", "r3", {"build": ("pass", "x\n", "", "")}, day=3)
    store_run = store.history(entry.config_id, 1)[0]
    assert store_run.runId == "r3"
    target = tmp_path / "w2" / "http-flask-r3" / "logs" / "build.log"
    target.unlink()
    target.symlink_to(secret)
    result = cli("logs", "http-flask", "--store", url_of(store))
    assert result.exit_code == 2
    assert result.output == f"Error: cannot print the log: {target} is a symbolic link\n"


# -- following a stage under way ----------------------------------------------------------


class Lines:
    """A subprocess's stdout, line by line, with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str | None] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                self.queue.put(line.rstrip("\n"))
            self.queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def next(self, timeout: float = 15.0) -> str | None:
        return self.queue.get(timeout=timeout)


def start_logs(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlcc_ci", "logs", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def under_way(store, stage, run_id="dddddddddddd", name="http-flask"):
    entry = CATALOG.get(name)
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    record = claim(store, store.get(entry.config_id), run_id, clock.iso(clock.now(), ms=True))
    return move_on(store, record, stage)


def move_on(store, record, stage):
    done = {**record.runStages}
    if record.currentStage:
        done[record.currentStage] = StageResult("pass", 1.0)
    moved = progressed(record, stage, clock.iso(clock.now(), ms=True), done)
    store.replace(moved, expect_version=record.version, expect_run_id=record.runId)
    return moved


@pytest.mark.functional
def test_follow_prints_a_stage_as_it_grows_and_ends_when_the_run_moves_on(store, tmp_path):
    work = tmp_path / "work"
    record = under_way(store, "build")
    log = write_log(work, "http-flask", record.runId, "build", "step 1\n")
    proc = start_logs("http-flask", "-f", "--store", url_of(store), "--work-dir", str(work))
    lines = Lines(proc)
    try:
        assert lines.next() == "step 1"
        with log.open("a") as fh:
            fh.write(f"step 2 HF_TOKEN={TOKEN}\n")
        assert lines.next() == "step 2 HF_TOKEN=***"
        log.with_suffix(".stderr.log").write_text("warning: slow\n")
        assert lines.next() == "==> build.stderr.log <=="
        assert lines.next() == "warning: slow"
        with log.open("a") as fh:
            fh.write("last words, no newline")
        time.sleep(0.3)
        assert proc.poll() is None  # still following
        move_on(store, record, "deploy_test")
        assert lines.next() == "==> build.log <=="
        assert lines.next() == "last words, no newline"
        assert lines.next() is None
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.stderr is not None and proc.stderr.read() == ""


@pytest.mark.functional
def test_a_stage_under_way_not_followed_prints_what_there_is(cli, store, tmp_path):
    work = tmp_path / "work"
    record = under_way(store, "build")
    write_log(work, "http-flask", record.runId, "build", "so far\n")
    url = url_of(store)
    assert cli("logs", "http-flask", "--store", url, "--work-dir", str(work)).output == "so far\n"
    result = cli("logs", "http-flask", "--stage", "register", "--store", url)
    assert result.exit_code == 2
    assert result.output == (
        f"Error: stage register of http-flask has not run yet in run {record.runId} "
        "(it is in build)\n"
    )


# -- CloudWatch ---------------------------------------------------------------------------


def cloudwatch(endpoint):
    import boto3

    return boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")


def put_lines(client, stream, lines):
    now = int(time.time() * 1000)
    client.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": line} for i, line in enumerate(lines)],
    )


@pytest.mark.functional
def test_an_aws_run_s_stage_log_comes_from_its_build_stream(
    cli, tmp_path, monkeypatch, moto_server
):
    """The executor's own output (stage copies included) becomes the build's stream; `logs`
    picks the stage's copy out of it."""
    url = f"sqlite:///{tmp_path}/r.db"
    stream = "build/c0ffee/run1/0f1e2d3c"
    monkeypatch.setenv("MLCC_CI_LOG_STREAM", stream)
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    ran = cli(
        "run", "http-flask", "--profile", "example", "--store", url, "--work-dir", str(tmp_path)
    )
    assert ran.exit_code == 1
    assert "[mlcc-ci log begin] http-flask build" in ran.output
    assert "    log: mlcc-ci logs http-flask --stage build" in ran.output  # no local file to name
    monkeypatch.delenv("MLCC_CI_LOG_STREAM")
    monkeypatch.delenv("MLCC_CI_FAULT")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)

    missing = cli("logs", "http-flask", "--store", url)
    assert missing.exit_code == 2
    assert missing.output == (
        f"Error: no log stream {stream} in {LOG_GROUP} (CloudWatch keeps build logs three months)\n"
    )

    client = cloudwatch(moto_server)
    client.create_log_group(logGroupName=LOG_GROUP)
    client.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    said = [line for line in ran.output.splitlines() if line]  # CloudWatch has no empty events
    put_lines(client, stream, ["[Container] Running command mlcc-ci run", *said])
    shown = cli("logs", "http-flask", "--store", url)
    assert shown.exit_code == 0, shown.output
    assert shown.output == "==> build.stderr.log <==\nmlcc-ci: injected failure\n"
    generate = cli("logs", "http-flask", "--stage", "generate", "--store", url).output
    assert generate.startswith("generated ") and "[mlcc-ci" not in generate


@pytest.mark.functional
def test_a_build_log_without_the_stage_s_copy_is_shown_whole(cli, store, moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    entry = CATALOG.get("http-flask")
    stream = f"build/{entry.config_id}/r9/abc"
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    running = claim(store, store.get(entry.config_id), "r9", "2026-02-01T00:00:00.000Z")
    outcome = Outcome(
        status="pass",
        finishedAt="2026-02-01T01:00:00Z",
        durationSeconds=1.0,
        stageResults={"build": StageResult("pass", 1.0, f"cloudwatch:{stream}")},
    )
    store.append_run(run_of(running, outcome))
    finish(store, running, outcome)
    client = cloudwatch(moto_server)
    client.create_log_group(logGroupName=LOG_GROUP)
    client.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    put_lines(client, stream, ["http-flask build started", f"x HF_TOKEN={TOKEN}"])
    result = cli("logs", "http-flask", "--store", url_of(store))
    assert result.exit_code == 0
    assert result.stdout == "http-flask build started\nx HF_TOKEN=***\n"
    assert result.stderr.startswith(f"note: the build log {stream} holds no copy of stage build")


@pytest.mark.functional
def test_follow_a_run_in_aws_through_its_stream(tmp_path, moto_server, monkeypatch):
    from mlcc_ci.stores.open import open_store

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    table = f"dynamodb://t?region=us-east-1&runs_table=t-runs&endpoint_url={moto_server}"
    store = open_store(table)
    store.create_tables()
    record = under_way(store, "build", run_id="eeeeeeeeeeee")
    stream = f"build/{record.configId}/{record.runId}/0f1e2d3c"
    client = cloudwatch(moto_server)
    client.create_log_group(logGroupName=LOG_GROUP)
    client.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    put_lines(client, stream, ["http-flask generate pass", "http-flask build started"])
    proc = start_logs("http-flask", "-f", "--store", table, "--work-dir", str(tmp_path))
    lines = Lines(proc)
    try:
        time.sleep(1)
        put_lines(client, stream, ["[mlcc-ci log begin] http-flask build", "built it"])
        assert lines.next() == "built it"
        put_lines(client, stream, ["[mlcc-ci log stderr] http-flask build", "warned"])
        assert lines.next() == "==> build.stderr.log <=="
        assert lines.next() == "warned"
        put_lines(client, stream, ["[mlcc-ci log end] http-flask build", "after"])
        assert lines.next() is None
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def finished_in_aws(store, stream, run_id="r7"):
    """http-flask's run whose build stage's log is the CloudWatch stream `stream`."""
    entry = CATALOG.get("http-flask")
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    running = claim(store, store.get(entry.config_id), run_id, "2026-02-01T00:00:00.000Z")
    outcome = Outcome(
        status="pass",
        finishedAt="2026-02-01T01:00:00Z",
        durationSeconds=1.0,
        stageResults={"build": StageResult("pass", 1.0, f"cloudwatch:{stream}")},
    )
    store.append_run(run_of(running, outcome))
    finish(store, running, outcome)


def in_group(endpoint, group, stream, lines):
    client = cloudwatch(endpoint)
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


@pytest.mark.functional
def test_the_log_group_comes_from_the_store_url_then_the_environment():
    from mlcc_ci.aws.cloudwatch import log_group

    url = "dynamodb://p2-table?region=us-east-1&log_group=p2-ci"
    assert log_group({}) == LOG_GROUP == "ml-container-creator-ci"
    assert log_group({"MLCC_CI_LOG_GROUP": "team-ci"}) == "team-ci"
    assert log_group({"MLCC_CI_LOG_GROUP": "team-ci"}, url) == "p2-ci"
    assert log_group({"MLCC_CI_STORE": url, "MLCC_CI_LOG_GROUP": "team-ci"}) == "p2-ci"
    # only a DynamoDB store is a stack's: an SQLite URL's query names no log group
    assert log_group({"MLCC_CI_LOG_GROUP": "team-ci"}, "sqlite:///r.db?log_group=x") == "team-ci"
    assert log_group({}, "dynamodb://p2-table?region=us-east-1") == LOG_GROUP


@pytest.mark.functional
def test_logs_read_the_group_the_environment_names(cli, store, moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("MLCC_CI_LOG_GROUP", "team-ci-logs")
    stream = "build/c0ffee/r7/abc"
    finished_in_aws(store, stream)
    missing = cli("logs", "http-flask", "--store", url_of(store))
    assert (missing.exit_code, missing.output) == (
        2,
        f"Error: no log stream {stream} in team-ci-logs (CloudWatch keeps build logs three "
        "months)\n",
    )
    in_group(moto_server, LOG_GROUP, stream, ["from the default group"])
    in_group(moto_server, "team-ci-logs", stream, ["from the team's group"])
    result = cli("logs", "http-flask", "--store", url_of(store))
    assert (result.exit_code, result.stdout) == (0, "from the team's group\n")


@pytest.mark.functional
def test_logs_read_the_group_the_dynamodb_store_url_names(cli, moto_server, monkeypatch):
    from mlcc_ci.stores.open import open_store

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("MLCC_CI_LOG_GROUP", "not-this-one")
    table = f"dynamodb://t?region=us-east-1&runs_table=t-runs&endpoint_url={moto_server}"
    store = open_store(table)
    store.create_tables()
    stream = "build/c0ffee/r7/abc"
    finished_in_aws(store, stream)
    in_group(moto_server, "p2-ci-logs", stream, ["from the second stack's group"])
    result = cli("logs", "http-flask", "--store", f"{table}&log_group=p2-ci-logs")
    assert (result.exit_code, result.stdout) == (0, "from the second stack's group\n")


@pytest.mark.functional
def test_a_log_group_cloudwatch_would_refuse_is_one_line(cli, store, monkeypatch):
    finished_in_aws(store, "build/c0ffee/r7/abc")
    monkeypatch.setenv("MLCC_CI_LOG_GROUP", "no spaces; here")
    result = cli("logs", "http-flask", "--store", url_of(store))
    assert (result.exit_code, result.output) == (
        2,
        "Error: MLCC_CI_LOG_GROUP is not a CloudWatch Logs group name: 'no spaces; here' "
        "(letters, digits and ._-/#, at most 512)\n",
    )


@pytest.mark.functional
def test_the_console_link_names_the_same_group(monkeypatch):
    from mlcc_ci.report.render import log_link

    pointer = "cloudwatch:build/c0ffee/r7/abc"
    assert "/log-group/ml-container-creator-ci/" in log_link(pointer, "us-east-1")
    monkeypatch.setenv("MLCC_CI_LOG_GROUP", "/team/ci-logs")
    assert "/log-group/$252Fteam$252Fci-logs/log-events/" in log_link(pointer, "us-east-1")


# -- the dashboard ------------------------------------------------------------------------


@contextmanager
def dashboard(store, work: Path):
    from mlcc_ci.dashboard import serve

    server = serve(store, CATALOG, "127.0.0.1", 0, work)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        yield str(host), int(port)
    finally:
        server.shutdown()
        server.server_close()


def raw_get(host: str, port: int, path: str) -> tuple[int, dict[str, str], str]:
    """GET `path` exactly as written (no client-side normalising of `..`)."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", f"{host}:{port}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.headers), response.read().decode()
    finally:
        conn.close()


@pytest.mark.functional
def test_the_dashboard_serves_local_logs_confined_to_the_work_root(store, tmp_path):
    work = tmp_path / "work"
    stages = {
        "generate": ("pass", "generated\n", "", ""),
        "build": ("fail", f"<script>alert(1)</script>\nHF_TOKEN={TOKEN}\n", "boom\n", "boom"),
    }
    record_run(store, work, "aaaaaaaaaaa1", stages)
    outside = tmp_path / "outside"
    (outside / "logs").mkdir(parents=True)
    (outside / "logs" / "build.log").write_text("outside the work root\n")
    (work / "escape").symlink_to(outside)  # a run folder that is a link out
    linked = work / "linked-run" / "logs"
    linked.mkdir(parents=True)
    (linked / "build.log").symlink_to(outside / "logs" / "build.log")  # a log that is a link
    (work / "fifo-run" / "logs").mkdir(parents=True)
    os.mkfifo(work / "fifo-run" / "logs" / "build.log")

    with dashboard(store, work) as (host, port):
        status, _, page = raw_get(host, port, "/")
        assert status == 200 and "file://" not in page
        assert 'href="/logs/http-flask-aaaaaaaaaaa1/build.log"' in page

        status, headers, body = raw_get(host, port, "/logs/http-flask-aaaaaaaaaaa1/build.log")
        assert status == 200
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert body == ("<script>alert(1)</script>\nHF_TOKEN=***\n==> build.stderr.log <==\nboom\n")
        for path in (
            "/logs/../../outside/logs/build.log",
            "/logs/%2e%2e/build.log",
            "/logs/..%2f..%2foutside/build.log",
            "/logs/http-flask-aaaaaaaaaaa1%2f..%2f..%2foutside/build.log",
            "/logs/%252e%252e/build.log",
            "/logs/escape/build.log",
            "/logs/linked-run/build.log",
            "/logs/fifo-run/build.log",
            "/logs/http-flask-aaaaaaaaaaa1/secret.log",
            "/logs/http-flask-aaaaaaaaaaa1/config.json",
            "/logs/nothing-here/build.log",
        ):
            status, headers, body = raw_get(host, port, path)
            assert status == 404, path
            assert "outside the work root" not in body
            assert json.loads(body) == {"error": f"no such log: {path.split('?')[0]}"}


@pytest.mark.browser
def test_a_log_link_opens_in_the_browser(store, tmp_path):
    from playwright.sync_api import sync_playwright

    work = tmp_path / "work"
    stages = {"build": ("fail", "step 1\n", "it broke\n", "it broke")}
    record_run(store, work, "aaaaaaaaaaa1", stages)
    with dashboard(store, work) as (host, port), sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(f"http://{host}:{port}/")
        row = page.locator('tr[data-config="http-flask"]')
        row.locator(".stagelist summary").click()
        row.locator(".stagelist a").first.click()
        page.wait_for_url("**/logs/http-flask-aaaaaaaaaaa1/build.log")
        assert page.locator("body").inner_text().rstrip("\n") == (
            "step 1\n==> build.stderr.log <==\nit broke"
        )
        browser.close()


# -- the first failure, whole -------------------------------------------------------------


@pytest.mark.functional
def test_the_run_summary_gives_the_first_failure_whole_and_wrapped(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no generator: generate fails before it runs
    monkeypatch.setenv("MLCC_CI_GENERATOR_HOME", str(tmp_path / "none"))
    url = f"sqlite:///{tmp_path}/r.db"
    result = cli("run", "http-flask", "--store", url, "--work-dir", str(tmp_path / "w"), "-q")
    assert result.exit_code == 1
    block = result.output.split("First failure of each failed run:\n", 1)[1].rsplit("\n0 passed", 1)
    lines = block[0].splitlines()
    assert all(len(line) <= 60 for line in lines), lines
    assert lines[0].startswith("  http-flask: generate failed: the generator")
    assert all(line.startswith("    ") for line in lines[1:])
    joined = " ".join(line.strip() for line in lines)
    record = SqliteStore(tmp_path / "r.db").get(CATALOG.get("http-flask").config_id)
    assert record.errorMessage and joined == f"http-flask: {record.errorMessage}"  # whole


@pytest.mark.functional
def test_the_text_report_gives_each_failure_whole_with_its_log(cli, store, tmp_path):
    long = "ERROR: " + " ".join(f"word{i}" for i in range(40))
    stages = {
        "generate": ("pass", "", "", ""),
        "build": ("fail", "", "", f"exit code 1\n{long}"),
    }
    record_run(store, tmp_path / "w", "aaaaaaaaaaa1", stages)
    report = cli("report", "--store", url_of(store), "--output", str(tmp_path / "r.txt"))
    assert report.exit_code == 0
    text = (tmp_path / "r.txt").read_text()
    block = text.split("FAILURE [unclassified] in build ×1 (http-flask): exit code 1\n", 1)[1]
    block = block.splitlines()
    body = []
    for line in block:
        if not line.startswith("    "):
            break
        # only a path alone on its line may be longer: a path is never cut
        assert len(line) <= 100 or (line.strip().startswith("/") and " " not in line.strip()), line
        body.append(line.strip())
    log = tmp_path / "w" / "http-flask-aaaaaaaaaaa1" / "logs" / "build.log"
    assert body[-2:] == ["log of http-flask:", str(log)]  # too long for one line: two
    assert " ".join(body[:-2]) == long  # whole, cut at spaces only

    html = tmp_path / "html" / "r.html"
    html.parent.mkdir()
    assert (
        cli("report", "--format", "html", "--store", url_of(store), "-o", str(html)).exit_code == 0
    )
    page = html.read_text()
    assert "file://" not in page
    assert 'href="../w/http-flask-aaaaaaaaaaa1/logs/build.log"' in page
    assert (html.parent / "../w/http-flask-aaaaaaaaaaa1/logs/build.log").resolve() == log
