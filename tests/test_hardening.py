"""Hostile inputs, one class at a time: each was reproduced against an earlier main."""

import json

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Registration
from mlcc_ci.stores.open import open_store
from tests.test_doconfig import CONFIG, project
from tests.test_lifecycle import claimed

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()


# -- 1. a registered project stays inside its work folder ------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'export PROJECT_NAME="/some/absolute/dir"',
            "PROJECT_NAME: projectName '/some/absolute/dir' is not valid",
        ),
        (
            'export DEPLOYMENT_CONFIG="../../../x"',
            "DEPLOYMENT_CONFIG: deploymentConfig '../../../x' is not valid",
        ),
        ('export MODEL_NAME="org/model:tag"', "MODEL_NAME: modelName 'org/model:tag' is not valid"),
        ('export AWS_REGION="us-east-1:x"', "AWS_REGION: region 'us-east-1:x' is not valid"),
        (
            'export BUILD_STRATEGY="make-it-so"',
            "BUILD_STRATEGY 'make-it-so' is not one of codebuild-submit, docker-in-docker",
        ),
    ],
)
def test_registration_refuses_names_that_are_not_names(cli, tmp_path, line, message):
    text = CONFIG + line + "\n"  # the last assignment wins, as in bash
    proj = project(tmp_path / "p", text)
    result = cli("register", "--from-project", str(proj), "--store", f"sqlite:///{tmp_path}/r.db")
    assert result.exit_code == 1
    (error,) = [x for x in result.output.splitlines() if x.startswith("Error: ")]
    number = len(text.splitlines())
    assert error.startswith(f"Error: {proj / 'do' / 'config'}:{number}: {message}")
    assert (
        not (tmp_path / "r.db").exists()
        or list(open_store(f"sqlite:///{tmp_path}/r.db").records()) == []
    )


def _raw_record(store, config_id: str, **fields) -> None:
    """Write an item as another tool might, straight into the SQLite file."""
    item = {
        "configId": config_id,
        "configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "ok"}),
        "deploymentConfig": "http-flask",
        "projectName": "ok",
        "testStatus": "untested",
        "lastTestTimestamp": "1970-01-01T00:00:00Z",
        "version": 1,
        **fields,
    }
    with store._write() as conn:
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            (config_id, "untested", "1970-01-01T00:00:00Z", 1, None, json.dumps(item)),
        )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"projectName": "/etc"}, "projectName '/etc' is not valid"),
        (
            {"configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "../.."})},
            "projectName '../..' is not valid",
        ),
        ({"deploymentConfig": "../../x"}, "deploymentConfig '../../x' is not valid"),
        ({"runId": "../../escape"}, "runId '../../escape' is not valid"),
    ],
)
def test_a_stored_record_naming_a_path_is_never_run(cli, tmp_path, fields, reason):
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    _raw_record(store, "00000000000000aa", **fields)
    result = cli(
        "run", "--due", "--profile", "example", "--store", url, "--work-dir", str(tmp_path / "w")
    )
    assert result.output.splitlines()[-1] == "nothing to run"
    plan = json.loads(cli("plan", "--json", "--store", url).output)
    (unreadable,) = plan["unreadable"]
    assert unreadable["configId"] == "00000000000000aa"
    assert unreadable["reason"].startswith(reason)


# -- 2. secrets are never stored, whatever their key ----------------------------------------


def test_project_registration_drops_secrets_by_their_value_and_reads_no_environment(
    cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    text = CONFIG + (
        'export NOTE="$AWS_SECRET_ACCESS_KEY"\n'
        "export ACCESS=AKIAABCDEFGHIJKLMNOP\n"
        'export REPO="https://user:pa55word@git.example.com/team/repo.git"\n'
        'export DB="postgres://app:s3cret-pw@db.internal:5432/app"\n'
    )
    url = f"sqlite:///{tmp_path}/r.db"
    result = cli("register", "--from-project", str(project(tmp_path / "p", text)), "--store", url)
    assert result.exit_code == 0, result.output
    assert "not stored (secrets): ACCESS, DB, DB_PASSWORD, HF_TOKEN, NGC_API_KEY, REPO" in (
        result.output
    )
    dump = (tmp_path / "r.db").read_bytes()
    for leak in (b"wJalrXUtnFEMI", b"AKIAABCDEFGHIJKLMNOP", b"pa55word", b"s3cret-pw"):
        assert leak not in dump
    (record,) = open_store(url).records()
    assert json.loads(record.configJson)["parameters"]["NOTE"] == ""


# -- 9. an unknown build strategy fails the build --------------------------------------------


def test_an_unknown_build_strategy_fails_the_build(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    entry = CATALOG.get("http-flask")
    store = open_store(url)
    store.create_tables()
    config = {**entry.config, "buildStrategy": "make-it-so"}
    reg = Registration(
        configId=entry.config_id,
        configJson=json.dumps(config),
        deploymentConfig=entry.name,
        buildStrategy="make-it-so",
        projectName=config["projectName"],
        source="catalog",
        baseImage=config["baseImage"],
    )
    store.register(reg, clock.iso(clock.now()))
    result = cli(
        "run", "--due", "--profile", "example", "--store", url, "--work-dir", str(tmp_path / "w")
    )
    assert result.exit_code == 1
    (record,) = open_store(url).records()
    assert record.testStatus == "fail-build"
    assert record.stageResults["build"].errorSummary == (
        "buildStrategy 'make-it-so' has no build command (known: codebuild-submit, "
        "docker-in-docker)"
    )


# -- 3 and 4. stage output: no secret and no escape sequence gets through ----------------------

NASTY = (
    "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m "
    "https://deploy:hunter2hunter2@git.example.com/x.git "
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz "
    "ghp_abcdefghijklmnopqrstuvwxyz0123 "
    "postgres://app:s3cr3t-pw@db.internal:5432/app\x9b1m"
)
LEAKED = ("hunter2", "github_pat_11", "ghp_abc", "s3cr3t-pw", "\x1b", "\x9b", "\x07")


def _runner(store, tmp_path, **stages):
    import os
    from dataclasses import replace

    from mlcc_ci.catalog import merge
    from mlcc_ci.lifecycle import Runner
    from mlcc_ci.profiles import load_profile

    profile = load_profile(CATALOG, "example")
    profile = replace(profile, stages=merge(profile.stages, stages))
    return Runner(store, profile, work_root=tmp_path / "work", env=dict(os.environ))


def test_stage_output_is_redacted_and_inert_in_every_report(cli, tmp_path, monkeypatch):
    import stat
    from pathlib import Path

    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    record, entry = claimed(store)
    bad = NASTY.replace("'", "")
    report = _runner(store, tmp_path, build={"command": f"printf '%s' '{bad}' >&2; exit 3"}).run(
        record, entry
    )
    assert report.status == "fail-build"
    stored = store.get(record.configId)
    summary = stored.stageResults["build"].errorSummary
    assert (
        "https://***@git.example.com/x.git" in summary and "postgres://***@db.internal" in summary
    )
    for leak in LEAKED:
        assert leak not in summary and leak not in stored.errorMessage
    monkeypatch.setenv("MLCC_CI_STORE", url)
    for fmt in ("text", "json", "markdown", "html"):
        out = cli("report", "--format", fmt).output
        for leak in LEAKED:
            assert leak not in out, (fmt, leak)
    logs = Path(stored.stageResults["build"].logPointer).parent
    assert stat.S_IMODE(logs.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in logs.iterdir()} == {0o600}


def test_the_generator_version_is_redacted(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    record, entry = claimed(store)
    gen = (
        '"$MLCC_PYTHON" "$MLCC_EXAMPLES/local-generator/mlcc-example-generator" '
        '--config "$MLCC_CONFIG_FILE" --skip-prompts && printf %s '
        '\'{"generatorVersion": "1.0 ghp_abcdefghijklmnopqrstuvwxyz0123"}\' '
        '> "$MLCC_PROJECT_DIR/.mlcc-generation-params.json"'
    )
    _runner(store, tmp_path, generate={"command": gen}).run(record, entry)
    assert store.get(record.configId).generatorVersion == "1.0 ***"


def test_items_of_other_writers_reach_no_terminal_raw(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    _raw_record(store, "00000000000000ab", errorMessage=NASTY, testStatus="fail-build")
    _raw_record(store, "00000000000000ac", projectName="evil\x1b]0;x\x07")
    for args in (("report",), ("report", "--format", "markdown"), ("plan",), ("status",)):
        out = cli(*args, "--store", url).output
        assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out, args
    plan = cli("plan", "--store", url).output
    assert "00000000000000ac" in plan and "projectName 'evil\\x1b]0;x\\x07' is not valid" in plan


def test_errors_reach_no_terminal_raw(cli, tmp_path):
    result = cli("catalog", "validate", str(tmp_path / "\x1b]0;pwned\x07.yaml"))
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert result.output.splitlines()[0].endswith("_0/.yaml: no such file or folder")


# -- 5. the Markdown report always fits a pull-request comment --------------------------------


def test_markdown_fits_whatever_the_records(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    for i in range(1000):  # their table alone is over 64 KB
        name = f"custom-{i:03d}-" + "x" * 50
        _raw_record(
            store,
            f"{i:016x}",
            deploymentConfig=name,
            configJson=json.dumps({"deploymentConfig": name, "projectName": "p" * 120}),
            projectName="p" * 120,
            testStatus="fail-build",
            lastTestTimestamp="2026-01-01T00:00:00Z",
            errorMessage="e" * 2000,
            stageResults={"build": {"status": "fail", "errorSummary": "`" * 300 + "y" * 9000}},
        )
    md = cli("report", "--format", "markdown", "--store", url).output
    assert len(md.encode()) < 64 * 1024
    assert md.rstrip().endswith(
        "(cut to fit a pull-request comment: see the full report with `--format html`)"
    )
    assert md.count("<details>") == md.count("</details>")
    assert "p" * 121 not in md and "…" in md


def test_a_record_whose_name_spans_lines_is_unreadable_not_markdown(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    _raw_record(
        store,
        "00000000000000ad",
        deploymentConfig="x\n\n</summary>\n# owned",
        testStatus="fail-build",
    )
    md = cli("report", "--format", "markdown", "--store", url).output
    assert not any(line.startswith("# owned") or line == "</summary>" for line in md.splitlines())
    assert "Unreadable record 00000000000000ad" in md


# -- 6. loading the catalog cannot be made to hang or exhaust memory --------------------------


def test_catalog_files_that_are_not_files(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    from mlcc_ci.resources import catalog_dir

    team = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), team)
    (team / "zero.yaml").symlink_to("/dev/zero")
    os.mkfifo(team / "fifo.yaml")
    (team / "deep.yaml").write_text("name: deep\nx: " + "[" * 500 + "]" * 500 + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "mlcc_ci", "catalog", "validate", str(team)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        "catalog/deep.yaml:2: nested more than 32 levels deep",
        "catalog/fifo.yaml:1: not a regular file (a device, FIFO or socket); refusing to read",
        "catalog/zero.yaml:1: not a regular file (a device, FIFO or socket); refusing to read",
        "3 problems found",
    ]


# -- 7. nothing a stage started outlives it; teardown survives a second Ctrl-C ---------------


def test_background_children_of_a_stage_do_not_outlive_it(tmp_path):
    import os
    import time

    store = open_store(f"sqlite:///{tmp_path}/r.db")
    record, entry = claimed(store)
    build = (
        './do/build && (sleep 300 & echo $! > "$MLCC_WORK_DIR/bg.pid"; wait) & sleep 0.2; ./do/push'
    )
    report = _runner(store, tmp_path, build={"command": build}).run(record, entry)
    assert report.status == "pass", report.outcome.errorMessage
    pid = int((report.work_dir / "bg.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"pid {pid} outlived its stage")


def _interrupted_run(tmp_path, interrupts: int):
    import signal
    import subprocess
    import sys
    import time

    url = f"sqlite:///{tmp_path}/r.db"
    env = {
        **__import__("os").environ,
        "MLCC_CI_FAULT": "http-flask:build:hang,http-flask:teardown:slow",
        "MLCC_CI_STORE": url,
    }
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlcc_ci",
            "run",
            "http-flask",
            "--profile",
            "example",
            "--work-dir",
            str(work),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def wait_for(name: str, text: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            logs = list(work.glob(f"*/logs/{name}"))
            if logs and text in logs[0].read_text():
                return
            assert time.monotonic() < deadline, f"{name} never said {text!r}"
            time.sleep(0.05)

    wait_for("build.stderr.log", "injected hang")
    proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 30
    while not list(work.glob("*/logs/teardown.log")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for _ in range(interrupts - 1):
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    store = open_store(url)
    (run,) = store.history(CATALOG.get("http-flask").config_id)
    return proc.returncode, err, run, store


def test_a_second_interrupt_lets_teardown_finish(tmp_path):
    code, err, run, _ = _interrupted_run(tmp_path, interrupts=2)
    assert code == 1
    assert "teardown is running so that nothing is left behind" in err
    assert run.status == "interrupted"
    assert run.stageResults["teardown"].status == "pass"


def test_a_third_interrupt_abandons_teardown_and_says_so(tmp_path):
    code, err, run, _ = _interrupted_run(tmp_path, interrupts=3)
    assert code == 1
    assert "teardown abandoned; what it would have removed may be left running" in err
    teardown = run.stageResults["teardown"]
    assert teardown.status == "fail"
    assert teardown.errorSummary.startswith("abandoned after a third interrupt")


# -- 8. a result that could not be stored is a failed run -------------------------------------


def test_a_result_the_store_refuses_fails_the_run(cli, tmp_path, monkeypatch):
    from mlcc_ci.errors import StoreError
    from mlcc_ci.stores.sqlite import SqliteStore

    real = SqliteStore.replace

    def disk_full(self, record, **kw):
        if record.testStatus != "running":  # claims go through; the result does not
            raise StoreError(f"{self.path}: database or disk is full")
        return real(self, record, **kw)

    monkeypatch.setattr(SqliteStore, "replace", disk_full)
    url = f"sqlite:///{tmp_path}/r.db"
    result = cli(
        "run",
        "http-flask",
        "--profile",
        "example",
        "--store",
        url,
        "--work-dir",
        str(tmp_path / "w"),
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    kept = next(line for line in lines if line.startswith("note: http-flask: could not write"))
    assert "database or disk is full" in kept and kept.endswith("result.json")
    assert "0 passed, 1 failed" in result.output
    assert "1 result(s) could not be stored; see the notes above" in lines


def test_an_endpoint_that_is_not_dynamodb_is_refused(cli, tmp_path):
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = b"<html><body>welcome</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        url = f"dynamodb://mlcc-ci-table?region=us-east-1&endpoint_url={endpoint}"
        for args in (
            ("register", "--from-catalog", "http-flask"),
            ("run", "http-flask", "--profile", "example"),
        ):
            result = cli(*args, "--store", url)
            assert result.exit_code == 1
            assert result.output.splitlines()[-1] == (
                f"Error: {endpoint} answered describe_table with text/html, not DynamoDB's "
                "reply: is the endpoint URL right?"
            )
    finally:
        server.shutdown()


# -- 10. the dashboard answers to loopback names only, supports HEAD, drops idle sockets ------


@pytest.fixture
def dashboard_url(tmp_path, monkeypatch):
    import threading

    from mlcc_ci import dashboard

    monkeypatch.setattr(dashboard, "IDLE_SECONDS", 1)
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    store.create_tables()
    server = dashboard.serve(store, CATALOG, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _request(address: str, method: str, host: str):
    import http.client

    conn = http.client.HTTPConnection(address, timeout=10)
    conn.request(method, "/api/records", headers={"Host": host})
    response = conn.getresponse()
    return response.status, response.getheader("Content-Length"), response.read()


def test_dashboard_refuses_other_host_names(dashboard_url):
    port = dashboard_url.split(":")[1]
    assert _request(dashboard_url, "GET", f"localhost:{port}")[0] == 200
    assert _request(dashboard_url, "GET", f"127.0.0.1:{port}")[0] == 200
    status, _, body = _request(dashboard_url, "GET", f"attacker.example:{port}")
    assert status == 421
    assert json.loads(body) == {
        "error": "this dashboard answers to loopback names only, not 'attacker.example'"
    }


def test_dashboard_answers_head(dashboard_url):
    status, length, body = _request(dashboard_url, "HEAD", "localhost")
    assert status == 200 and int(length) > 0 and body == b""


def test_dashboard_drops_an_idle_connection(dashboard_url):
    import socket
    import time

    host, port = dashboard_url.split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /api/records HTTP/1.1\r\n")  # and then nothing more
        assert sock.recv(1024) == b""  # the server hung up
    assert time.monotonic() - started < 8


def test_dashboard_on_a_non_loopback_address_warns(tmp_path):
    import subprocess
    import sys

    open_store(f"sqlite:///{tmp_path}/r.db").create_tables()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlcc_ci",
            "dashboard",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--store",
            f"sqlite:///{tmp_path}/r.db",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = proc.stderr.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert first.startswith("warning: serving on 0.0.0.0, not loopback: anyone who can reach")


# -- 11. no file is written through a symlink -------------------------------------------------


def test_report_output_does_not_follow_a_planted_symlink(cli, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "report.md"
    (tmp_path / "report.md.tmp").symlink_to(victim)
    store = f"sqlite:///{tmp_path}/r.db"
    open_store(store).create_tables()
    assert (
        cli("report", "--format", "markdown", "--output", str(out), "--store", store).exit_code == 0
    )
    assert victim.read_text() == "precious\n"
    assert out.read_text().startswith("<!-- mlcc-ci-report -->\n## mlcc-ci coverage")
    out.unlink()
    out.symlink_to(victim)  # a link at the output itself is replaced, not written through
    assert cli("report", "--output", str(out), "--store", store).exit_code == 0
    assert victim.read_text() == "precious\n" and not out.is_symlink()


def test_install_scripts_never_writes_through_a_symlink(cli, tmp_path):
    proj = project(tmp_path / "p", CONFIG)
    outside = tmp_path / "outside"
    (proj / "do" / "ci").symlink_to(outside)  # dangling
    result = cli("project", "install-scripts", str(proj))
    assert result.exit_code == 0
    assert not outside.exists()
    assert (proj / "do" / "ci.project").is_symlink()
    assert "drop-in from mlcc-ci" in (proj / "do" / "ci").read_text()
    evil = project(tmp_path / "q", CONFIG)
    (evil / "do" / "config").rename(tmp_path / "config")
    (evil / "do").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (evil / "do").symlink_to(tmp_path / "elsewhere")
    refused = cli("project", "install-scripts", str(evil))
    assert refused.exit_code == 2
    assert "leads outside the project (a symlink); not writing there" in refused.output
    assert list((tmp_path / "elsewhere").iterdir()) == []


# -- 12. a user's mistake is one line, never a traceback --------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("plan", "--stale-hours", "inf"),
            "Invalid value for '--stale-hours': inf is not in the range 0<=x<=87600.",
        ),
        (
            ("plan", "--stale-hours", "1e308"),
            "Invalid value for '--stale-hours': 1e+308 is not in the range 0<=x<=87600.",
        ),
        (("plan", "--stale-hours", "nan"), "Invalid value for '--stale-hours': not a number"),
        (
            ("plan", "--now", "0001-01-01T00:00:00Z"),
            "Error: --now 0001-01-01T00:00:00Z is too early for --stale-hours 24",
        ),
        (
            ("status", "--store", "dynamodb://t?region=us-east-1&endpoint_url=http//nope:x"),
            "Error: cannot use the DynamoDB store 't': Invalid endpoint: http//nope:x",
        ),
        (
            ("status", "--store", "dynamodb://t?region=not a region"),
            "Error: cannot use the DynamoDB store 't': Provided region_name 'not a region' doesn't match a supported format.",
        ),
        (
            ("status", "--store", "dynamodb://t?region=us-east-1&profile=nobody"),
            "Error: cannot use the DynamoDB store 't': The config profile (nobody) could not be found",
        ),
    ],
)
def test_mistakes_are_one_line(cli, tmp_path, args, message):
    open_store(f"sqlite:///{tmp_path}/r.db").create_tables()
    result = cli(*args, env={"MLCC_CI_STORE": f"sqlite:///{tmp_path}/r.db"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].endswith(message), result.output


# -- (issue 13) a command that only reads never creates a store --------------------------------


@pytest.mark.parametrize("command", ["report", "status", "plan", "dashboard"])
def test_a_mistyped_store_path_is_an_error_and_creates_nothing(cli, tmp_path, command):
    url = f"sqlite:///{tmp_path}/nonexistent/dir/typo.db"
    result = cli(command, "--store", url)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: no store at {tmp_path}/nonexistent/dir/typo.db: ")
    assert not (tmp_path / "nonexistent").exists()


# -- (issue 13) a user's Ctrl-C is not a product failure; a misspelled fault is an error --------


def test_a_run_the_user_interrupts_is_recorded_as_interrupted(tmp_path):
    import subprocess
    import sys

    code, err, run, store = _interrupted_run(tmp_path, interrupts=1)
    assert code == 1, err
    record = store.get(CATALOG.get("http-flask").config_id)
    assert record.testStatus == "untested" and record.runId is None  # due again, as it was
    assert run.status == "interrupted"
    doc = json.loads(
        subprocess.run(
            [sys.executable, "-m", "mlcc_ci", "report", "--json", "--store", store.description],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    flask = doc["configurations"]["http-flask"]
    assert flask["passRate"] is None and flask["regression"] is None and not flask["flaky"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "http-flask:biuld:fail",
            "Error: MLCC_CI_FAULT item 'http-flask:biuld:fail': no stage 'biuld'",
        ),
        (
            "http-flask:build:fial",
            "Error: MLCC_CI_FAULT item 'http-flask:build:fial': no mode 'fial' (modes: fail, hang, crash, slow)",
        ),
        ("http-flask:build", "Error: MLCC_CI_FAULT item 'http-flask:build' is not NAME:STAGE:MODE"),
    ],
)
def test_a_misspelled_fault_is_an_error(cli, tmp_path, monkeypatch, spec, message):
    monkeypatch.setenv("MLCC_CI_FAULT", spec)
    result = cli(
        "run", "http-flask", "--profile", "example", "--store", f"sqlite:///{tmp_path}/r.db"
    )
    assert result.exit_code == 2
    assert result.output.startswith(message)
