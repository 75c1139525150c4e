"""Hostile inputs, one class at a time: each was reproduced against an earlier main."""

import json
import os
from pathlib import Path

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Registration
from mlcc_ci.stores.open import open_store
from tests.test_doconfig import CONFIG, project
from tests.test_lifecycle import claimed

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()


def _only(tmp_path: Path, *names: str) -> tuple[str, str]:
    """`--catalog` of a copy of the shipped catalog with only `names`: `run --due` takes
    every entry the store has no record of as new, and these tests are about their records."""
    import shutil

    from mlcc_ci.resources import data_path

    folder = tmp_path / "only"
    shutil.copytree(data_path("catalog"), folder)
    for entry in folder.glob("[!_]*.yaml"):
        if entry.stem not in names:
            entry.unlink()
    return "--catalog", str(folder)


# -- 1. a registered project stays inside its work folder ------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'export PROJECT_NAME="/some/absolute/dir"',
            "PROJECT_NAME: projectName '/some/absolute/dir' is not valid "
            "(expected [A-Za-z0-9][A-Za-z0-9_.-]{0,127})",
        ),
        (
            'export DEPLOYMENT_CONFIG="../../../x"',
            "DEPLOYMENT_CONFIG: deploymentConfig '../../../x' is not valid "
            "(expected [a-z0-9][a-z0-9-]{0,63})",
        ),
        (
            'export MODEL_NAME="org/model:tag"',
            "MODEL_NAME: modelName 'org/model:tag' is not valid "
            "(expected [A-Za-z0-9][A-Za-z0-9_.@+/-]{0,255})",
        ),
        (
            'export AWS_REGION="us-east-1:x"',
            "AWS_REGION: region 'us-east-1:x' is not valid "
            "(expected [a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9])",
        ),
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
    assert result.exit_code == 2
    (error,) = [x for x in result.output.splitlines() if x.startswith("Error: ")]
    number = len(text.splitlines())
    assert error == f"Error: {proj / 'do' / 'config'}:{number}: {message}"
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
    only = _only(tmp_path)
    result = cli(
        *only,
        "run",
        "--due",
        "--profile",
        "example",
        "--store",
        url,
        "--work-dir",
        str(tmp_path / "w"),
    )
    assert result.output.splitlines()[-1] == "nothing to run"
    plan = json.loads(cli(*only, "plan", "--json", "--store", url).output)
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
    reg = Registration(  # a project's record: a catalog entry's own would be re-registered
        configId="00000000000000f1",
        configJson=json.dumps(config),
        deploymentConfig=entry.name,
        buildStrategy="make-it-so",
        projectName=config["projectName"],
        source="project",
        baseImage=config["baseImage"],
    )
    store.register(reg, clock.iso(clock.now()))
    result = cli(
        *_only(tmp_path),
        "run",
        "--due",
        "--profile",
        "example",
        "--store",
        url,
        "--work-dir",
        str(tmp_path / "w"),
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
    assert result.exit_code == 2
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
    assert result.returncode == 2, result.stderr
    assert [line for line in result.stderr.splitlines() if not line.startswith("note:")] == [
        "catalog/deep.yaml:2: nested more than 32 levels deep",
        "catalog/fifo.yaml:1: not a regular file (a device, FIFO or socket); refusing to read",
        "catalog/zero.yaml:1: a symbolic link; only regular files are read",
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


# -- 8. a result that could not be stored is the harness's error, never a pass ---------------


def test_a_result_the_store_refuses_is_an_error_of_the_harness(cli, tmp_path, monkeypatch):
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
    assert result.exit_code == 3  # the harness could not do its job
    lines = result.output.splitlines()
    kept = next(line for line in lines if line.startswith("note: http-flask: could not write"))
    assert "database or disk is full" in kept and kept.endswith("result.json")
    assert any(
        line.split() == ["http-flask", "error", "(not", "stored)", line.split()[-1]]
        for line in lines
    )
    assert "0 passed, 0 failed, 1 error (profile example" in result.output
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
            assert result.exit_code == 3
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
    assert out.read_text().startswith(
        "<!-- mlcc-ci-report -->\n**✅ no failures · 0/15 passing**\n"
    )
    out.unlink()
    out.symlink_to(victim)  # a link at the output itself is refused: neither written through
    refused = cli("report", "--output", str(out), "--store", store)  # nor replaced (issue 31)
    assert refused.exit_code == 2
    assert refused.output.strip().endswith("nothing written")
    assert victim.read_text() == "precious\n" and out.is_symlink()


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
    assert refused.output == (
        f"Error: {evil / 'do'} leads outside the project (a symlink); not writing there\n"
    )
    assert list((tmp_path / "elsewhere").iterdir()) == []


# -- 12. a user's mistake is one line, never a traceback --------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("plan", "--stale-hours", "inf"),
            "Error: Invalid value for '--stale-hours': inf is not in the range 0<=x<=87600.",
        ),
        (
            ("plan", "--stale-hours", "1e308"),
            "Error: Invalid value for '--stale-hours': 1e+308 is not in the range 0<=x<=87600.",
        ),
        (
            ("plan", "--stale-hours", "nan"),
            "Error: Invalid value for '--stale-hours': not a number",
        ),
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
    assert result.output.strip().splitlines()[-1] == message, result.output


# -- (issue 13) a command that only reads never creates a store --------------------------------


@pytest.mark.parametrize("command", ["report", "status", "plan", "dashboard"])
def test_a_mistyped_store_path_is_an_error_and_creates_nothing(cli, tmp_path, command):
    url = f"sqlite:///{tmp_path}/nonexistent/dir/typo.db"
    result = cli(command, "--store", url)
    assert result.exit_code == 3
    assert result.output == (
        f"Error: no store at {tmp_path}/nonexistent/dir/typo.db: nothing was registered there. "
        "No store exists yet: `mlcc-ci run` or `mlcc-ci register --from-catalog --all` makes one\n"
    )
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("command", ["report", "status"])
def test_an_empty_file_is_no_store_to_a_command_that_only_reads(cli, tmp_path, command):
    empty = tmp_path / "empty.db"
    empty.touch()
    result = cli(command, "--store", f"sqlite:///{empty}")
    assert result.exit_code == 3
    assert result.output.startswith(f"Error: no store at {empty}: nothing was registered there.")
    assert empty.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


# -- (issue 13) a user's Ctrl-C is not a product failure; a misspelled fault is an error --------


def test_a_run_the_user_interrupts_is_recorded_as_interrupted(tmp_path):
    import subprocess
    import sys

    code, err, run, store = _interrupted_run(tmp_path, interrupts=1)
    assert code == 1, err
    record = store.get(CATALOG.get("http-flask").config_id)
    assert record.testStatus == "untested" and record.runId is None  # due again, as it was
    assert run.status == "interrupted"
    assert run.failure is None  # how the user stopped it says nothing, not even unclassified
    # kept among the record's recent runs, where `failures explain` and `history forget` look
    assert [(r.runId, r.status) for r in record.recentRuns] == [(run.runId, "interrupted")]
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
            "Error: MLCC_CI_FAULT item 'http-flask:biuld:fail': no stage 'biuld' "
            "(stages: generate, validate, build, deploy_test, register, teardown)\n",
        ),
        (
            "http-flask:build:fial",
            "Error: MLCC_CI_FAULT item 'http-flask:build:fial': no mode 'fial' "
            "(modes: fail, hang, crash, slow, capacity)\n",
        ),
        (
            "http-flask:build",
            "Error: MLCC_CI_FAULT item 'http-flask:build' is not NAME:STAGE:MODE[:N]\n",
        ),
        (
            "http-flask:build:fail:0",
            "Error: MLCC_CI_FAULT item 'http-flask:build:fail:0' is not NAME:STAGE:MODE[:N]\n",
        ),
    ],
)
def test_a_misspelled_fault_is_an_error(cli, tmp_path, monkeypatch, spec, message):
    monkeypatch.setenv("MLCC_CI_FAULT", spec)
    result = cli(
        "run", "http-flask", "--profile", "example", "--store", f"sqlite:///{tmp_path}/r.db"
    )
    assert result.exit_code == 2
    assert result.output == message


# == The second hostile review: one odd record must never stop the loop =======================

GOOD = "0000000000000001"
# One record of each bad kind: (configId, fields, why it is unreadable)
ODD = [
    (
        "00000000000000b1",
        {"runStartedAt": "yesterday", "testStatus": "running", "runId": "r1"},
        "runStartedAt 'yesterday' is not a time",
    ),
    (
        "00000000000000b2",
        {"lastTestTimestamp": "zzz", "testStatus": "pass"},
        "lastTestTimestamp 'zzz' is not a time",
    ),
    (
        "00000000000000b3",
        {"createdAt": "0001-01-01T00:00:00+01:00"},
        "createdAt '0001-01-01T00:00:00+01:00' is not a time",
    ),
    (
        "00000000000000b4",
        {
            "configJson": json.dumps(
                {"deploymentConfig": "http-flask", "projectName": "ok", "endpointConfig": "big"}
            )
        },
        "configJson endpointConfig is a str",
    ),
    (
        "00000000000000b5",
        {
            "configJson": json.dumps(
                {
                    "deploymentConfig": "http-flask",
                    "projectName": "ok",
                    "endpointConfig": {"initialInstanceCount": "two"},
                }
            )
        },
        "configJson endpointConfig.initialInstanceCount 'two' is not a number",
    ),
    (
        "00000000000000b6",
        {"stageResults": {"build": {"status": "EXPLODED"}}},
        "stage status 'EXPLODED' is not pass, fail or skip",
    ),
    ("00000000000000b7", {"testStatus": "fail-banana"}, "testStatus 'fail-banana' is not a status"),
]
# Records another writer stored in shapes the write schema refuses: read, mapped, runnable
MAPPED = [
    (
        "00000000000000c1",
        {
            "testStatus": "fail-build",
            "lastTestTimestamp": "2026-01-01T00:00:00Z",
            "stageResults": {"build": {"status": "FAILED"}},
        },
    ),
    ("00000000000000c2", {"createdAt": "2026-01-01T00:00:00.123456+00:00"}),
    (
        "00000000000000c3",
        {"testStatus": "fail-adapter_test", "lastTestTimestamp": "2026-01-01T00:00:00Z"},
    ),
]


def _odd_table(store) -> None:
    """A good record, each bad kind and each mapped kind, as other writers left them."""
    store.create_tables()
    flask = CATALOG.get("http-flask")
    store.register(
        Registration(
            GOOD,
            flask.config_json,
            "http-flask",
            "docker-in-docker",
            "mlcc-ci-http-flask",
            "catalog",
        ),
        "2026-01-01T00:00:00Z",
    )
    for config_id, fields, _ in ODD:
        _raw_record(store, config_id, **fields)
    for i, (config_id, fields) in enumerate(MAPPED):
        name = ("http-fastapi", "triton-fil", "transformers-vllm")[i]
        config = CATALOG.get(name).config
        _raw_record(
            store,
            config_id,
            configJson=json.dumps(config),
            deploymentConfig=name,
            projectName=config["projectName"],
            **fields,
        )


def _unreadable(doc) -> dict:
    return {u["configId"]: u["reason"] for u in doc}


def test_one_odd_record_stops_no_reader(cli, tmp_path):
    """Each kind of odd record is named unreadable, with why, by every reader; the good ones
    around it are planned, run and reported."""
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    _odd_table(store)
    only = _only(tmp_path, "http-flask", "http-fastapi", "triton-fil", "transformers-vllm")
    plan = json.loads(cli(*only, "plan", "--json", "--store", url).output)
    assert _unreadable(plan["unreadable"]) == {c: why for c, _, why in ODD}
    assert {d["configId"] for d in plan["due"]} == {GOOD, *(c for c, _ in MAPPED)}
    for args in (
        ("report",),
        ("report", "--format", "json"),
        ("report", "--format", "markdown"),
        ("report", "--format", "html"),
        ("status",),
        ("status", "--json"),
    ):
        result = cli(*args, "--store", url)
        assert result.exit_code == 0, (args, result.output[-500:])
    text = cli("report", "--store", url).output
    assert all(c in text for c, _, _ in ODD)
    result = cli(
        *only,
        "run",
        "--due",
        "--profile",
        "example",
        "--store",
        url,
        "--work-dir",
        str(tmp_path / "w"),
    )
    assert "passed" in result.output.splitlines()[-1]
    # the mapped ones ran and were written back in mlcc-ci's shape
    for config_id, _ in MAPPED:
        assert store.get(config_id).testStatus == "pass", config_id
    assert store.get("00000000000000c1").stageResults["build"].status == "pass"
    assert store.get("00000000000000c2").createdAt == "2026-01-01T00:00:00.123Z"


def test_the_scanner_and_the_sweeper_start_and_sweep_the_good_and_name_the_bad(twin, cli, tmp_path):
    import boto3
    from boto3.dynamodb.types import TypeSerializer

    from mlcc_ci.aws.scanner import handler as scan
    from mlcc_ci.aws.sweeper import handler as sweep
    from tests.stores import pass_state_machine

    assert cli("store", "create-tables", "--table", "mlcc-ci-table").exit_code == 0
    store = open_store(None, table="mlcc-ci-table")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    serialize = TypeSerializer().serialize

    def put(config_id, **fields):
        item = {
            "configId": config_id,
            "configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "ok"}),
            "deploymentConfig": "http-flask",
            "projectName": "ok",
            "testStatus": "untested",
            "lastTestTimestamp": "1970-01-01T00:00:00Z",
            **fields,
        }
        dynamodb.put_item(
            TableName="mlcc-ci-table", Item={k: serialize(v) for k, v in item.items()}
        )

    flask = CATALOG.get("http-flask")
    store.register(
        Registration(
            flask.config_id,
            flask.config_json,
            "http-flask",
            "docker-in-docker",
            "mlcc-ci-http-flask",
            "catalog",
        ),
        "2026-01-01T00:00:00Z",
    )
    for config_id, fields, _ in ODD:
        put(config_id, **fields)
    put("00000000000000d1", testStatus="running", runId="r9", runStartedAt="2099-01-01T00:00:00Z")
    # a running record named just `mlcc-ci` shields no endpoint of the prefix
    put(
        "00000000000000d2",
        testStatus="running",
        runId="r8",
        runStartedAt=clock.iso(clock.now()),
        projectName="mlcc-ci",
        configJson=json.dumps({"deploymentConfig": "http-flask", "projectName": "mlcc-ci"}),
    )
    arn = pass_state_machine(boto3.client("stepfunctions", region_name="us-east-1"))
    started = scan({}, None, env={"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "5"})
    inputs = [
        json.loads(
            boto3.client("stepfunctions", region_name="us-east-1").describe_execution(
                executionArn=a
            )["input"]
        )["configId"]
        for a in started["executionArns"]
    ]
    assert inputs == [flask.config_id]
    assert started["reaped"] == ["00000000000000d1"]  # started "in 2099": reaped as odd
    assert "in the future" in store.get("00000000000000d1").errorMessage
    named = _unreadable(started["unreadable"])
    assert {c: named.get(c) for c, _, _ in ODD if c in named} == {
        c: why for c, _, why in ODD if c in named
    }
    assert "00000000000000b1" in named  # the running one is found through the index
    # the sweeper: the endpoint a finished run of http-fastapi left is swept, the one of the
    # http-flask run now under way is kept; the odd records are named; `mlcc-ci` owns nothing
    from datetime import timedelta

    from mlcc_ci.models import Run

    fastapi = CATALOG.get("http-fastapi")
    store.register(
        Registration(
            fastapi.config_id,
            fastapi.config_json,
            "http-fastapi",
            "docker-in-docker",
            "mlcc-ci-http-fastapi",
            "catalog",
        ),
        "2026-01-01T00:00:00Z",
    )
    sm = boto3.client("sagemaker", region_name="us-east-1")
    variant = [
        {"VariantName": "AllTraffic", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    ]
    for name in ("mlcc-ci-http-fastapi", "mlcc-ci-http-flask"):
        sm.create_endpoint_config(EndpointConfigName=f"{name}-epc-1", ProductionVariants=variant)
        sm.create_endpoint(EndpointName=f"{name}-endpoint-1", EndpointConfigName=f"{name}-epc-1")
    for name in ("mlcc-ci-http-fastapi", "mlcc-ci-http-flask"):
        # a leak is an endpoint that came up and was left: in service before the sweep (the
        # account refuses to delete one still Creating, whatever the machine's load)
        sm.get_waiter("endpoint_in_service").wait(
            EndpointName=f"{name}-endpoint-1", WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200}
        )
    now = clock.now()
    store.append_run(
        Run(
            fastapi.config_id,
            clock.iso(now - timedelta(minutes=5)),
            "r",
            clock.iso(now + timedelta(seconds=5)),
            "fail-teardown",
            1.0,
            "http-fastapi",
        )
    )
    swept = sweep({"dryRun": False}, None, env={"POLL_SECONDS": "0.1", "PATIENCE_SECONDS": "5"})
    assert swept["deleted"] == [
        "endpoint mlcc-ci-http-fastapi-endpoint-1",
        "endpoint config mlcc-ci-http-fastapi-epc-1",
    ], swept
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName="mlcc-ci-http-fastapi-endpoint-1",
        WaiterConfig={"Delay": 0.05, "MaxAttempts": 1200},
    )
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == [
        "mlcc-ci-http-flask-endpoint-1"
    ]
    assert set(_unreadable(swept["unreadable"])) >= {c for c, _, _ in ODD if c in named}


@pytest.mark.parametrize(
    "event",
    [{}, {"dryRun": 1}, {"dryRun": "yes"}, {"dryRun": "false"}, {"DryRun": True}, {"dryRun": None}],
)
def test_the_sweeper_deletes_only_when_told_exactly(twin, cli, event):
    import boto3

    from mlcc_ci.aws.sweeper import handler as sweep

    cli("store", "create-tables", "--table", "mlcc-ci-table")
    sm = boto3.client("sagemaker", region_name="us-east-1")
    sm.create_endpoint_config(
        EndpointConfigName="mlcc-ci-x-epc-1",
        ProductionVariants=[{"VariantName": "AllTraffic", "InstanceType": "ml.m5.large"}],
    )
    sm.create_endpoint(EndpointName="mlcc-ci-x-endpoint-1", EndpointConfigName="mlcc-ci-x-epc-1")
    result = sweep(event, None, env={})
    assert result["dryRun"] is True and result["deleted"] == []
    assert [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]] == ["mlcc-ci-x-endpoint-1"]


def test_the_doctor_leaves_a_running_record_alone(cli, tmp_path):
    """A foreign duplicate of a deployment whose run is under way is not merged into it:
    the run's own result must not be replaced by the foreign one."""
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    record, _ = claimed(store, "http-flask")
    flask = CATALOG.get("http-flask")
    _raw_record(
        store,
        "00000000000000e1",
        configJson=json.dumps({**flask.config, "deploymentConfig": "http-flask"}),
        projectName=flask.config["projectName"],
        testStatus="fail-build",
        lastTestTimestamp="2099-01-01T00:00:00Z",
        errorMessage="foreign failure",
    )
    out = cli("store", "doctor", "--fix", "--yes", "--store", url).output
    assert out.splitlines() == [
        f"duplicate   00000000000000e1  same deployment as {record.configId} (http-flask)",
        "1 finding(s); 1 record(s) to adopt or merge",
        f"left 00000000000000e1: {record.configId} is running; try again when it is done",
        "1 finding(s) left (unreadable records are for you to delete)",
    ]
    assert store.get(record.configId).testStatus == "running"
    assert store.get("00000000000000e1") is not None


@pytest.fixture
def dashboard_for():
    """GET a path from a dashboard serving the store at a URL; the answer's text."""
    import threading
    import urllib.request

    from mlcc_ci import dashboard

    servers = []

    def fetch(url: str, path: str) -> str:
        server = dashboard.serve(open_store(url), CATALOG, "127.0.0.1", 0)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}{path}") as r:
            return r.read().decode()

    yield fetch
    for server in servers:
        server.shutdown()
        server.server_close()


def test_secrets_in_other_writers_text_are_shown_nowhere_and_the_doctor_masks_them(
    cli, tmp_path, dashboard_for
):
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    secret_text = (
        "clone failed: https://user:password123@git.example.com AKIAABCDEFGHIJKLMNOP ghp_"
        + "a" * 30
    )
    _raw_record(
        store,
        "00000000000000f1",
        testStatus="fail-build",
        errorMessage=secret_text,
        stageResults={"build": {"status": "fail", "errorSummary": secret_text}},
    )
    for fmt in ("text", "json", "markdown", "html"):
        out = cli("report", "--format", fmt, "--store", url).output
        for leak in ("password123", "AKIAABCDEFGHIJKLMNOP", "ghp_aaaa"):
            assert leak not in out, (fmt, leak)
    records = dashboard_for(url, "/api/records")
    assert "password123" not in records and "AKIAABCDEFGHIJKLMNOP" not in records
    found = cli("store", "doctor", "--store", url).output
    assert "00000000000000f1" in found and "errorMessage" in found
    cli("store", "doctor", "--fix", "--yes", "--store", url)
    raw = next(item for cid, item in store.raw_items() if cid == "00000000000000f1")
    assert "password123" not in json.dumps(raw) and "***" in raw["errorMessage"]


@pytest.mark.parametrize(
    "name",
    [
        "DB_PASS",
        "MYSQL_PWD",
        "SLACK_WEBHOOK_URL",
        "SENTRY_DSN",
        "BASIC_AUTH",
        "oauth_client_secret",
    ],
)
def test_secret_names_are_known(name):
    from mlcc_ci.doconfig import is_secret

    assert is_secret(name)


@pytest.mark.parametrize(
    "name", ["PWD", "OLDPWD", "AUTHOR", "PASSPORT_OFFICE", "BYPASS_CACHE", "DEPLOYMENT_TARGET"]
)
def test_names_that_only_look_secret_are_not(name):
    from mlcc_ci.doconfig import is_secret

    assert not is_secret(name)


def test_a_secret_named_variable_never_reaches_a_stored_summary(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    record, entry = claimed(store)
    run = _runner(
        store, tmp_path, build={"command": 'echo "db $DB_PASS hook $SLACK_WEBHOOK_URL" >&2; exit 1'}
    )
    run.env.update(
        DB_PASS="correct-horse-battery", SLACK_WEBHOOK_URL="https://example.invalid/hook/xyz123"
    )
    run.run(record, entry)
    summary = store.get(record.configId).stageResults["build"].errorSummary
    assert (
        "correct-horse-battery" not in summary
        and "xyz123" not in summary
        and summary.count("***") == 2
    )


def test_an_owner_or_a_config_id_with_escapes_reaches_no_terminal(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    _raw_record(
        store,
        "00000000000000a9",
        configJson=json.dumps(
            {"deploymentConfig": "http-flask", "projectName": "ok", "owner": "team\x1b]0;pwned\x07"}
        ),
    )
    with store._write() as conn:
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            ("bad\x1b[2J", "untested", "1970", 1, None, "{}"),
        )
        # an item that does not name its configId: the row's key is all there is to show
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            ("odd\x1b]0;pwn\x07id", "untested", "1970", 1, None, "{}"),
        )
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            ("raw\x1b]0;pwn\x07", "untested", "1970", 1, None, "not json"),
        )
    for args in (
        ("report",),
        ("report", "--format", "markdown"),
        ("report", "--format", "html"),
        ("status",),
        ("plan",),
        ("store", "doctor"),
    ):
        out = cli(*args, "--store", url).output
        assert "\x1b" not in out and "\x07" not in out, args
    assert "oddid" in cli("status", "--store", url).output


def test_a_foreign_text_longer_than_a_write_allows_never_blocks_its_record(cli, tmp_path):
    """Read, a 400 KB error text is cut to what a write allows, so the record can be claimed
    and run; nothing is passed over without a word."""
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    flask = CATALOG.get("http-flask")
    _raw_record(
        store,
        flask.config_id,
        configJson=flask.config_json,
        projectName=flask.config["projectName"],
        testStatus="fail-build",
        lastTestTimestamp="2026-01-01T00:00:00Z",
        errorMessage="boom " * 80_000,
        stageResults={"build": {"status": "fail", "errorSummary": "x" * 5000}},
    )
    record = store.get(flask.config_id)
    assert len(record.errorMessage) <= 2000 and record.errorMessage.endswith("…")
    assert len(record.stageResults["build"].errorSummary) <= 600
    result = cli(
        "run", "--due", "--profile", "example", "--store", url, "--work-dir", str(tmp_path / "w")
    )
    assert result.exit_code == 0, result.output
    assert store.get(flask.config_id).testStatus == "pass"


def test_run_names_a_record_it_could_not_claim(cli, tmp_path, monkeypatch):
    from mlcc_ci.errors import StoreError
    from mlcc_ci.stores import base

    url = f"sqlite:///{tmp_path}/r.db"
    assert (
        cli("register", "--from-catalog", "http-flask", "http-fastapi", "--store", url).exit_code
        == 0
    )
    real = base.claim

    def refuse_flask(store, record, *args, **kwargs):
        if record.deploymentConfig == "http-flask":
            raise StoreError("$.errorMessage breaks maxLength 2000")
        return real(store, record, *args, **kwargs)

    monkeypatch.setattr("mlcc_ci.scheduling.claim", refuse_flask)
    result = cli(
        *_only(tmp_path, "http-flask", "http-fastapi"),
        "run",
        "--due",
        "--profile",
        "example",
        "--store",
        url,
        "--work-dir",
        str(tmp_path / "w"),
    )
    assert "skipped unreadable record" in result.output and "maxLength 2000" in result.output
    assert "1 passed" in result.output


def test_a_link_in_a_catalog_folder_is_not_followed(cli, tmp_path):
    import shutil

    from mlcc_ci.resources import catalog_dir

    team = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), team)
    (team / "passwd.yaml").symlink_to("/etc/passwd")
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 2
    assert result.output.splitlines()[-2:] == [
        f"{os.path.relpath(team / 'passwd.yaml')}:1: a symbolic link; only regular files are read",
        "1 problem found",
    ]
    assert "root:" not in result.output


def test_the_doctor_reads_the_profiles_store_and_makes_none(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data = tmp_path / "xdg" / "mlcc-ci"
    assert cli("register", "--from-catalog", "http-flask", "--profile", "example").exit_code == 0
    assert cli("store", "doctor", "--profile", "example").exit_code == 0
    missing = cli("store", "doctor")
    assert missing.exit_code == 3
    assert missing.output == (
        f"Error: no store at {data}/results.db: nothing was registered there. "
        f"Stores that exist: {data}/example-results.db (--profile example)\n"
    )
    assert not (data / "results.db").exists()


ADVERSARIAL = {
    "letters": "a" * 400_000,
    "schemes": "a://b" * 80_000,
    "userinfo without @": "x://" + "u" * 200_000 + ":" + "p" * 199_990,
    "many userinfos": "x://a:b@" * 50_000,
    "name words": "TOKENTOKEN_" * 36_000,
    "assignments": "password=" * 44_000,
    "bearers": "Bearer abcdefghij " * 22_000,
    "hf": "hf_" * 133_000,
    "keys": "-----BEGIN RSA PRIVATE KEY-----" * 13_000,
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_secret_scanning_is_linear(name):
    """400 KB of text shaped to make a backtracking pattern try every position again. A
    linear scan takes milliseconds (benchmarks aside, not timed here); the one that broke
    took 16 s on 80 KB, so minutes on this: a scan that has not ended in 20 s is that bug,
    and the scan runs in a process of its own so that the test ends when it says so."""
    import subprocess
    import sys

    scan = (
        "import sys; from mlcc_ci.redact import looks_secret, redact; "
        "text = sys.stdin.read(); redact(text); looks_secret(text); print('scanned')"
    )
    done = subprocess.run(
        [sys.executable, "-c", scan],
        input=ADVERSARIAL[name],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "scanned\n"), done.stderr[-500:]


@pytest.mark.parametrize(
    "host", ["127.attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example", "0x7f000001"]
)
def test_dashboard_refuses_names_that_only_start_like_loopback(dashboard_url, host):
    port = dashboard_url.split(":")[1]
    assert _request(dashboard_url, "GET", f"{host}:{port}")[0] == 421


@pytest.mark.parametrize("host", ["[::1]", "127.0.0.2", "localhost"])
def test_dashboard_answers_every_loopback_literal(dashboard_url, host):
    port = dashboard_url.split(":")[1]
    assert _request(dashboard_url, "GET", f"{host}:{port}")[0] == 200


def test_a_fifo_in_a_generated_project_never_hangs_the_run(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    record, entry = claimed(store)
    gen = (
        '"$MLCC_PYTHON" "$MLCC_EXAMPLES/local-generator/mlcc-example-generator" '
        '--config "$MLCC_CONFIG_FILE" --skip-prompts && mkfifo "$MLCC_PROJECT_DIR/trap.py" '
        '"$MLCC_PROJECT_DIR/do/trap.sh" && ln -s /dev/zero "$MLCC_PROJECT_DIR/zero.py"'
    )
    report = _runner(store, tmp_path, generate={"command": gen}).run(record, entry)
    assert report.status == "pass", report.outcome.stageResults  # FIFOs and links are not read


def test_do_validate_gets_no_credentials_and_a_home_of_its_own(tmp_path):
    """It validates offline: no AWS key, no token; and each run's HOME is a fresh copy, so a
    project can leave nothing there for the next one to see."""
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    seen = tmp_path / "seen"
    gen = (
        '"$MLCC_PYTHON" "$MLCC_EXAMPLES/local-generator/mlcc-example-generator" '
        '--config "$MLCC_CONFIG_FILE" --skip-prompts && printf "%s\\n" "#!/bin/bash" '
        f'"env > {seen}-\\$\\$; ls -a \\$HOME >> {seen}-\\$\\$; touch \\$HOME/planted" > '
        '"$MLCC_PROJECT_DIR/do/validate" && chmod +x "$MLCC_PROJECT_DIR/do/validate"'
    )
    for name in ("http-flask", "http-fastapi"):
        record, entry = claimed(store, name)
        run = _runner(store, tmp_path, generate={"command": gen})
        run.env.update(
            GITHUB_TOKEN="ghp_" + "b" * 30,
            AWS_SECRET_ACCESS_KEY="shh-secret-key",
            AWS_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE12",
        )
        assert run.run(record, entry).status == "pass"
    outputs = [p.read_text() for p in tmp_path.glob("seen-*")]
    assert len(outputs) == 2
    for out in outputs:
        assert (
            "GITHUB_TOKEN" not in out
            and "AWS_SECRET_ACCESS_KEY" not in out
            and "AWS_ACCESS_KEY_ID" not in out
        )
        assert "VIRTUAL_ENV=" in out
        assert "planted" not in out  # the first run's file is not in the second's HOME
    homes = {
        line.split("=", 1)[1]
        for out in outputs
        for line in out.splitlines()
        if line.startswith("HOME=")
    }
    assert len(homes) == 2


def test_prices_must_be_finite_and_sane(cli, tmp_path):
    import shutil

    from mlcc_ci.resources import catalog_dir

    team = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), team)
    defaults = team / "_defaults.yaml"
    defaults.write_text(
        defaults.read_text()
        .replace("ml.m5.large: {us-east-1: 0.115,", "ml.m5.large: {us-east-1: .inf,")
        .replace("us-east-2: 0.115, us-west-2: 0.115}", "us-east-2: 1.0e+308, us-west-2: 0.115}")
    )
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 2
    shown = os.path.relpath(defaults)
    line = next(n for n, t in enumerate(defaults.read_text().splitlines(), 1) if "m5.large:" in t)
    assert [said for said in result.output.splitlines() if "$.prices" in said] == [
        f"{shown}:{line}: defaults $.prices.instancePerHour.ml.m5.large.us-east-1: Infinity "
        "breaks maximum 10000",
        f"{shown}:{line}: defaults $.prices.instancePerHour.ml.m5.large.us-east-2: 1e+308 "
        "breaks maximum 10000",
    ]
    defaults.write_text(defaults.read_text().replace("us-east-1: .inf,", "us-east-1: .nan,"))
    nan = cli("catalog", "validate", str(team))
    assert nan.exit_code == 2
    assert [said for said in nan.output.splitlines() if "$.prices" in said] == [
        f"{shown}:{line}: defaults $.prices.instancePerHour.ml.m5.large.us-east-1: NaN is not a number",
        f"{shown}:{line}: defaults $.prices.instancePerHour.ml.m5.large.us-east-2: 1e+308 "
        "breaks maximum 10000",
    ]


def test_inputs_that_hung_or_crashed_are_one_line_now(cli, tmp_path):
    import os

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    url = f"sqlite:///{tmp_path}/r.db"
    open_store(url).create_tables()
    for baseline, why in ((deep, "nested more than 64 deep"), (fifo, "is not a regular file")):
        result = cli("report", "--baseline", str(baseline), "--store", url)
        assert result.exit_code == 2 and why in result.output and "Traceback" not in result.output
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"name: x\x00y\n")
    result = cli("catalog", "validate", str(nul))
    assert result.exit_code == 2
    assert result.output.splitlines()[0].endswith(
        "nul.yaml:1: invalid YAML: special characters are not allowed (#x0000)"
    )
    dangling = tmp_path / "team"
    dangling.symlink_to(tmp_path / "nowhere")
    result = cli("catalog", "init", str(dangling))
    assert (
        result.exit_code == 2
        and result.output == f"Error: {dangling} is a symbolic link; choose a new folder\n"
    )


def test_deeply_nested_generation_params_are_no_version(tmp_path):
    from mlcc_ci.generator import generation_params

    (tmp_path / ".mlcc-generation-params.json").write_text("[" * 50_000 + "]" * 50_000)
    assert generation_params(tmp_path) is None


def test_the_markdown_cut_counts_fences_as_commonmark_does():
    from mlcc_ci.report.render import _fit, open_fence

    assert open_fence("````text\n```\nstill code") == "````"
    assert open_fence("````text\n```\n````\nprose") is None
    assert open_fence("~~~\n```\n~~~") is None
    sample = "````text\n" + "```\nline\n" * 20_000  # a ``` inside a longer fence is content
    cut = _fit(sample)
    assert cut.endswith(
        "(cut to fit a pull-request comment: see the full report with `--format html`)\n"
    )
    before_note = cut.rsplit("\n\n… (cut", 1)[0]
    assert open_fence(before_note) is None  # the note is prose, not code


def test_a_background_job_in_its_own_group_does_not_outlive_its_stage(tmp_path):
    import os
    import time

    from mlcc_ci.executors.local import LocalExecutor

    pidfile = tmp_path / "pid"
    command = f"set -m; (sleep 300 & echo $! > {pidfile}; wait) & sleep 0.3"
    LocalExecutor(kill_grace=1).run(
        command, cwd=tmp_path, env=dict(os.environ), timeout=30, log=tmp_path / "log"
    )
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state == "Z", f"the background job {pid} survived its stage"
    except ProcessLookupError:
        pass
