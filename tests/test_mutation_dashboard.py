"""The dashboard (mlcc_ci/dashboard.py) one function at a time: its cache of answers, what
/api/live, /api/report and /api/history keep, the Host and Accept-Encoding headers, every
path it answers over HTTP on 127.0.0.1, and the errors of binding. Written for make mutation
(issue 32 item 2): each test fails on a mutant that changes an answer, a header, a refusal or
when the store is read; tests/test_dashboard.py has the page in a browser."""

import gzip
import http.client
import json
import threading
from contextlib import contextmanager
from dataclasses import replace
from types import SimpleNamespace

import pytest

from mlcc_ci import clock, dashboard
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.errors import StoreError, UsageError
from mlcc_ci.models import Outcome, StageResult, progressed, run_of
from mlcc_ci.registration import from_entry
from mlcc_ci.report.data import load_report
from mlcc_ci.report.render import script_hash
from mlcc_ci.stores.base import claim, finish
from mlcc_ci.stores.sqlite import SqliteStore

pytestmark = pytest.mark.functional

CATALOG = load_valid_catalog()
ENTRIES = [e for e in CATALOG.entries if e.supported]
RUN_FOLDER = "cfg-run.1"


def _fill(store, work):
    """Three configurations: one passed with a local stage log, one failed, one running."""
    first, second, third = ENTRIES[:3]
    for entry in (first, second, third):
        store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    log = work / RUN_FOLDER / "logs" / "build.log"
    log.parent.mkdir(parents=True)
    log.write_text("built\n")
    log.with_suffix(".stderr.log").write_text("warned\n")
    for entry, status in ((first, "pass"), (second, "fail-build")):
        running = claim(store, store.get(entry.config_id), "r1", "2026-02-01T00:00:00.000Z")
        stages = {"build": StageResult(status.removeprefix("fail-") and "fail", 2.0, str(log))}
        if status == "pass":
            stages = {"build": StageResult("pass", 2.0, str(log))}
        done = Outcome(status, "2026-02-01T01:00:00Z", 3.0, stages, profile="default")
        store.append_run(run_of(running, done))
        finish(store, running, done)
    running = claim(store, store.get(third.config_id), "r2", "2026-03-01T00:00:00.000Z")
    moved = progressed(running, "build", "2026-03-01T00:05:00.000Z", {})
    store.replace(moved, expect_version=running.version, expect_run_id=running.runId)
    return first, second, third


@pytest.fixture
def filled(tmp_path):
    store = SqliteStore(tmp_path / "r.db")
    work = tmp_path / "work"
    entries = _fill(store, work)
    yield store, work, entries
    store.close()


@contextmanager
def serving(store, work=None, any_host=False):
    if any_host:
        handler = dashboard.make_handler(store, CATALOG, any_host=True, work_root=work)
    else:  # loopback names only, unless told otherwise
        handler = dashboard.make_handler(store, CATALOG, work_root=work)
    server = dashboard._Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def ask(server, path, method="GET", host="127.0.0.1", **headers):
    """(status, headers, body) of one request naming `host`."""
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers.items():
            conn.putheader(name.replace("_", "-"), value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def raw(server, request: bytes) -> tuple[bytes, bytes]:
    """The head and the body of the answer to `request`, as the server wrote them (HTTP/1.0:
    it closes the connection after one answer)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def head_of(server, path, host=b"127.0.0.1"):
    return raw(server, b"HEAD " + path.encode() + b" HTTP/1.0\r\nHost: " + host + b"\r\n\r\n")


POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src '{script_hash()}'; connect-src 'self'"
)


# -- over HTTP ---------------------------------------------------------------------------------


def test_every_answer_s_headers_and_the_page(filled):
    store, work, (first, _, _) = filled
    with serving(store, work) as server:
        status, headers, body = ask(server, "/?refresh=1")
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert headers["Content-Length"] == str(len(body))
        assert headers["Vary"] == "Accept-Encoding"
        assert headers["Content-Encoding"] is None
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == POLICY
        assert headers["Server"].startswith("mlcc-ci-dashboard ")
        page = body.decode()
        assert '<body data-live="yes">' in page and first.name in page
        # the page's log links are the dashboard's own /logs/ addresses
        assert "/logs/cfg-run.1/build.log" in page
    assert server.RequestHandlerClass.timeout == dashboard.IDLE_SECONDS == 30


def test_the_json_answers(filled):
    store, work, (_first, second, third) = filled
    with serving(store, work) as server:
        status, headers, body = ask(server, "/api/report")
        assert status == 200 and headers["Content-Type"] == "application/json"
        report = json.loads(body)
        assert set(report["configurations"]) == {e.name for e in CATALOG.entries}
        assert report["configurations"][second.name]["status"] == "fail-build"
        status, headers, body = ask(server, "/api/live")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["running"][third.name]["stage"] == "build"
        status, headers, body = ask(server, "/api/records")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert body.decode() == json.dumps([r.to_item() for r in store.records()], indent=2)


def test_a_configuration_s_history_and_one_the_report_does_not_show(filled):
    store, work, (first, _, _) = filled
    with serving(store, work) as server:
        status, headers, body = ask(server, f"/api/history/{first.config_id}")
        assert status == 200 and headers["Content-Type"] == "application/json"
        found = json.loads(body)
        assert found["name"] == first.name and found["status"] == "pass"
        assert found["view"]["stages"][0][3] == "/logs/cfg-run.1/build.log"
        status, headers, body = ask(server, "/api/history/" + "%41" * 70)
        assert status == 404 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"error": f"no configuration {'A' * 64!r}"}
    with serving(store) as server:  # no work folder: no links to local logs
        found = json.loads(ask(server, f"/api/history/{first.config_id}")[2])
        assert found["view"]["stages"][0][3] is None


def test_a_local_stage_log_is_served_confined_to_the_work_folder(filled):
    store, work, _ = filled
    with serving(store, work) as server:
        status, headers, body = ask(server, "/logs/cfg%2Drun.1/build.log")  # unquoted
        assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
        assert b"built" in body and b"warned" in body
        (work / RUN_FOLDER / "logs" / "build.log").unlink()  # stderr alone is still a log
        status, _, body = ask(server, "/logs/cfg-run.1/build.log")
        assert status == 200 and b"warned" in body and b"built" not in body
        for path in (
            "/logs/cfg-run.1/deploy_test.log",  # no such file
            "/logs/cfg-run.1/Build.log",  # not a stage's name
            "/logs/cfg-run.1/build.txt",
            "/logs/..%2F..%2Fetc/build.log",
            "/logs/a/b/build.log",
        ):
            status, headers, body = ask(server, path)
            assert status == 404 and headers["Content-Type"] == "application/json", path
            assert json.loads(body) == {"error": f"no such log: {path}"}
        (work / RUN_FOLDER / "logs" / "validate.log").mkdir()  # a folder: not a log we serve
        assert ask(server, "/logs/cfg-run.1/validate.log")[0] == 404
    with serving(store) as server:  # no work folder: no logs
        status, _, body = ask(server, "/logs/cfg-run.1/build.log")
        assert status == 404
        assert json.loads(body) == {"error": "no such log: /logs/cfg-run.1/build.log"}


def test_an_unknown_page_and_a_head_request(filled):
    store, work, _ = filled
    with serving(store, work) as server:
        status, headers, body = ask(server, "/nope?x=1")
        assert status == 404 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"error": "no such page: /nope"}
        status, headers, body = ask(server, "/api/live", method="HEAD")
        assert status == 200 and body == b""
        assert int(headers["Content-Length"]) == len(ask(server, "/api/live")[2])
        status, headers, body = ask(server, "/api/records", method="HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 2


def test_a_head_request_has_no_body_whatever_it_asks_for(filled, monkeypatch):
    store, work, (first, _, _) = filled
    with serving(store, work) as server:
        for path, status in (
            ("/", b"200"),
            ("/api/live", b"200"),
            ("/api/records", b"200"),
            (f"/api/history/{first.config_id}", b"200"),
            ("/api/history/nope", b"404"),
            ("/logs/cfg-run.1/build.log", b"200"),
            ("/logs/cfg-run.1/deploy_test.log", b"404"),
            ("/nope", b"404"),
        ):
            head, body = head_of(server, path)
            assert head.split(b" ")[1] == status, path
            assert body == b"", path
            length = next(h for h in head.split(b"\r\n") if h.startswith(b"Content-Length: "))
            assert int(length.split(b": ")[1]) > 0, path
        head, body = head_of(server, "/api/live", host=b"evil.example")
        assert head.split(b" ")[1] == b"421" and body == b""

        def unreadable():
            raise StoreError("the store is locked")

        monkeypatch.setattr(store, "records", unreadable)
        head, body = head_of(server, "/api/records")
        assert head.split(b" ")[1] == b"503" and body == b""


def test_the_headers_as_written(filled):
    store, work, _ = filled
    with serving(store, work) as server:
        head, body = raw(server, b"GET /api/live HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        lines = head.split(b"\r\n")
        assert lines[0].startswith(b"HTTP/1.0 200 ")
        assert lines[1:2] == [b"Server: mlcc-ci-dashboard Python/" + lines[1].split(b"/")[-1]]
        assert b"Content-Type: application/json" in lines
        assert b"Content-Length: %d" % len(body) in lines
        assert b"Vary: Accept-Encoding" in lines
        assert b"Cache-Control: no-store" in lines
        assert b"X-Content-Type-Options: nosniff" in lines
        assert b"Content-Security-Policy: " + POLICY.encode() in lines
        assert not any(line.startswith(b"Content-Encoding") for line in lines)
        request = b"GET /api/live HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n"
        head, body = raw(server, request)
        assert b"Content-Encoding: gzip" in head.split(b"\r\n")
        assert json.loads(gzip.decompress(body))["running"]
        # no Host header at all: not a loopback name
        head, body = raw(server, b"GET /api/live HTTP/1.0\r\n\r\n")
        assert head.split(b" ")[1] == b"421"
        assert json.loads(body) == {
            "error": "this dashboard answers to loopback names only, not ''"
        }
        # a query string is not part of the path, however many question marks it has
        assert ask(server, "/api/live?a=1?b=2")[0] == 200
        # the handler's cache is the one that answers
        cache = server.RequestHandlerClass.report_cache
        assert isinstance(cache, dashboard.ReportCache) and cache.builds == 1
        status, headers, _ = ask(server, "/api/records")
        assert status == 200 and headers["Content-Encoding"] is None


def test_another_host_is_refused_unless_any_host_was_asked_for(filled):
    store, work, _ = filled
    with serving(store, work) as server:
        for host in ("127.0.0.1:8080", "LOCALHOST", "[::1]:80", "localhost."):
            assert ask(server, "/api/live", host=host)[0] == 200, host
        status, headers, body = ask(server, "/api/live", host="evil.example:80")
        assert status == 421 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == {
            "error": "this dashboard answers to loopback names only, not 'evil.example'"
        }
        status, _, body = ask(server, "/api/live", method="HEAD", host="127.0.0.1.nip.io")
        assert status == 421 and body == b""
    with serving(store, work, any_host=True) as server:
        assert ask(server, "/api/live", host="evil.example")[0] == 200


def test_answers_are_gzipped_for_a_client_that_takes_it(filled):
    store, work, _ = filled
    with serving(store, work) as server:
        plain = ask(server, "/api/report")
        status, headers, packed = ask(server, "/api/report", Accept_Encoding="gzip")
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert headers["Content-Length"] == str(len(packed))
        assert gzip.decompress(packed) == plain[2]
        again = ask(server, "/api/report", Accept_Encoding="br, *")[2]
        assert again == packed  # compressed once, the same bytes
        status, headers, body = ask(server, "/api/report", Accept_Encoding="gzip;q=0")
        assert headers["Content-Encoding"] is None and body == plain[2]


def test_a_store_that_cannot_be_read_is_a_503(filled, monkeypatch):
    store, work, _ = filled

    def unreadable():
        raise StoreError("the store is locked")

    with serving(store, work) as server:
        monkeypatch.setattr(store, "records", unreadable)
        status, headers, body = ask(server, "/api/records")
        assert status == 503 and headers["Content-Type"] == "application/json"
        assert json.loads(body) == {"error": "the store is locked"}


# -- the cache ---------------------------------------------------------------------------------


class Watched:
    """A store whose change token the test sets (None: it cannot tell)."""

    def __init__(self, store, token="t1"):
        self.store = store
        self.token = token

    def change_token(self):
        return self.token

    def __getattr__(self, name):
        return getattr(self.store, name)


def _refreshes():
    return [t for t in threading.enumerate() if t.name == "dashboard-refresh"]


def _settle():
    for thread in _refreshes():
        thread.join(10)


def test_the_first_answer_reads_the_store_and_the_next_ones_do_not(filled):
    store, _, _ = filled
    watched = Watched(store)
    cache = dashboard.ReportCache(watched, CATALOG, ttl=1000)
    assert store._remembered is not None  # the cache asked to keep decoded records
    rendered = []

    def make(report):
        rendered.append(report)
        return "é"

    assert cache.answer("x", make) == "é".encode()
    assert cache.builds == 1 and len(rendered) == 1
    assert cache.answer("x", make) == "é".encode()
    assert cache.answer("x", lambda r: "other") == "é".encode()  # the first make stays
    assert len(rendered) == 1 and cache.builds == 1
    assert cache.answer("x", make, gzipped=True) == gzip.compress(
        "é".encode(), compresslevel=5, mtime=0
    )
    assert cache.report() is rendered[0]
    assert cache.builds == 1
    # report() asked for the live answer: it is rendered and kept under its own name
    assert cache.answer("live", lambda r: "other") == dashboard._live_json(rendered[0]).encode()


def test_an_answer_is_compressed_once_at_level_5(filled, monkeypatch):
    store, _, _ = filled
    cache = dashboard.ReportCache(Watched(store), CATALOG)
    body = cache.answer("json", dashboard.report_json)
    packed = []
    real = gzip.compress

    def compress(data, compresslevel=9, mtime=None):
        packed.append(compresslevel)
        return real(data, compresslevel=compresslevel, mtime=mtime)

    monkeypatch.setattr(dashboard.gzip, "compress", compress)
    first = cache.answer("json", dashboard.report_json, gzipped=True)
    assert cache.answer("json", dashboard.report_json, gzipped=True) is first
    assert packed == [5]  # once, on the first request that takes gzip
    assert first == real(body, compresslevel=5, mtime=0)
    assert gzip.decompress(first) == body


def test_a_store_that_cannot_remember_decoded_records_is_read_as_it_is():
    plain = SimpleNamespace(change_token=lambda: None)  # no remember_decoded
    cache = dashboard.ReportCache(plain, CATALOG)
    assert cache.store is plain and cache.builds == 0


def test_a_refresh_runs_on_a_daemon_thread_of_its_own(filled, monkeypatch):
    store, _, _ = filled
    watched = Watched(store)
    cache = dashboard.ReportCache(watched, CATALOG)
    cache.GAP_SECONDS = 0.0
    cache.answer("live", dashboard._live_json)
    started = []

    class Thread:
        def __init__(self, target, name, daemon):
            started.append((name, daemon))
            self.target = target

        def start(self):
            self.target()

    monkeypatch.setattr(dashboard, "threading", SimpleNamespace(Thread=Thread))
    watched.token = "t2"
    cache.answer("live", dashboard._live_json)
    assert started == [("dashboard-refresh", True)]
    assert cache.builds == 2 and not cache._refreshing


def test_a_changed_store_is_read_again_in_the_background(filled, monkeypatch):
    store, _, _ = filled
    watched = Watched(store)
    cache = dashboard.ReportCache(watched, CATALOG)
    cache.GAP_SECONDS = 0.0
    count = iter(range(100))
    assert cache.answer("n", lambda r: str(next(count))) == b"0"
    watched.token = "t2"
    assert cache.answer("n", lambda r: "x") == b"0"  # the last answer, while it reads again
    _settle()
    assert cache.builds == 2
    assert cache.answer("n", lambda r: "x") == b"1"  # rendered again by the new read
    assert cache._built.token == "t2" and not cache._refreshing
    assert cache.answer("n", lambda r: "x") == b"1" and cache.builds == 2


def test_a_store_with_no_token_is_read_again_after_its_ttl(filled):
    store, _, _ = filled
    fresh = dashboard.ReportCache(Watched(store, token=None), CATALOG, ttl=1000)
    fresh.answer("live", dashboard._live_json)
    fresh.answer("live", dashboard._live_json)
    _settle()
    assert fresh.builds == 1
    stale = dashboard.ReportCache(Watched(store, token=None), CATALOG, ttl=0)
    stale.GAP_SECONDS = 0.0
    stale.answer("live", dashboard._live_json)
    stale.answer("live", dashboard._live_json)
    _settle()
    assert stale.builds == 2
    assert dashboard.ReportCache(store, CATALOG).ttl == dashboard.TTL_SECONDS == 5.0


def test_a_store_with_no_token_is_stale_once_its_ttl_has_passed(filled, monkeypatch):
    store, _, _ = filled
    now = SimpleNamespace(monotonic=lambda: 100.0, sleep=lambda seconds: None)
    monkeypatch.setattr(dashboard, "time", now)
    cache = dashboard.ReportCache(Watched(store, token=None), CATALOG, ttl=5.0)
    cache.answer("live", dashboard._live_json)
    now.monotonic = lambda: 104.99
    assert cache._fresh(cache._built) is True
    now.monotonic = lambda: 105.0
    assert cache._fresh(cache._built) is False


def test_one_read_at_a_time_at_least_a_gap_apart(filled, monkeypatch):
    store, _, _ = filled
    slept = []
    clock_now = SimpleNamespace(monotonic=lambda: 100.0, sleep=slept.append)
    monkeypatch.setattr(dashboard, "time", clock_now)
    cache = dashboard.ReportCache(Watched(store), CATALOG)
    cache.answer("live", dashboard._live_json)
    assert cache._built.at == 100.0 and cache._built.token == "t1"
    cache._refresh()
    assert slept == [1.0] and cache.builds == 2 and not cache._refreshing
    clock_now.monotonic = lambda: 250.0
    cache._refresh()  # built at 100, now 250: no wait
    assert slept == [1.0, 0.0]
    # a refresh under way: no second one
    started = []

    class Thread:
        def __init__(self, target, name, daemon):
            self.target = target

        def start(self):
            started.append(self.target)  # not run yet: still under way

    monkeypatch.setattr(dashboard, "threading", SimpleNamespace(Thread=Thread))
    cache._refresh_later()
    cache._refresh_later()
    assert len(started) == 1 and cache._refreshing is True


def test_a_store_that_fails_a_refresh_keeps_the_last_answers(filled, monkeypatch):
    store, _, _ = filled
    watched = Watched(store)
    cache = dashboard.ReportCache(watched, CATALOG)
    cache.GAP_SECONDS = 0.0
    assert cache.answer("n", lambda r: "first") == b"first"

    def unreadable(store, catalog, now):
        raise StoreError("locked")

    monkeypatch.setattr(dashboard, "load_report", unreadable)
    cache._refreshing = True
    cache._refresh()
    assert cache.builds == 1 and cache._refreshing is False
    assert cache.answer("n", lambda r: "x") == b"first"


def test_the_token_is_taken_before_the_read(filled, monkeypatch):
    store, _, _ = filled
    watched = Watched(store)

    def written_meanwhile(store, catalog, now):
        watched.token = "t2"  # a write lands while the store is read
        return load_report(store, catalog, now)

    monkeypatch.setattr(dashboard, "load_report", written_meanwhile)
    cache = dashboard.ReportCache(watched, CATALOG)
    cache.answer("live", dashboard._live_json)
    assert cache._built.token == "t1"  # so the next request sees the change


# -- what the answers keep -----------------------------------------------------------------------


def _report(store):
    return load_report(store, CATALOG, clock.parse("2026-03-01T00:10:00Z"))


def test_live_says_what_runs_and_since_when(filled):
    store, _, (first, second, third) = filled
    report = _report(store)
    found = dashboard.live(report)
    assert found["generatedAt"] == report.generatedAt
    assert found["statuses"][first.name] == "pass"
    assert found["statuses"][second.name] == "fail-build"
    assert list(found["running"]) == [third.name]
    now = found["running"][third.name]
    assert now["stage"] == "build"
    assert now["since"] == "2026-03-01T00:05:00.000Z"
    assert now["runStartedAt"] == "2026-03-01T00:00:00.000Z"
    assert now["timeline"].startswith("<")
    assert json.loads(dashboard._live_json(report)) == found
    (config,) = report.running
    starting = replace(config, currentStage=None, currentStageStartedAt=None)
    others = [c for c in report.configurations if c.name != third.name]
    found = dashboard.live(replace(report, configurations=[*others, starting]))
    found = found["running"][third.name]
    assert found["stage"] == "starting" and found["since"] == "2026-03-01T00:00:00.000Z"


def test_the_report_keeps_a_summary_of_each_configuration(filled):
    store, _, (first, second, third) = filled
    report = _report(store)
    text = dashboard.report_json(report)
    assert text.endswith("}\n") and ", " not in text[:200] and '": ' not in text
    configs = json.loads(text)["configurations"]
    never = configs[ENTRIES[5].name]  # registered, never run
    for key in ("status", "project", "lastTest", "duration", "recordCount"):
        assert key in never  # the schema's required keys, even when null
    assert never["lastTest"] is None
    assert "stageResults" not in configs[first.name] and "history" not in configs[first.name]
    assert "running" not in configs[first.name]  # false or null: left out
    assert configs[third.name]["running"]["stage"] == "build"
    assert configs[second.name]["configId"] == second.config_id
    assert set(configs[second.name]) <= dashboard._SUMMARY
    everything = json.loads(render_json(report))["configurations"][second.name]
    kept = {
        k: v
        for k, v in everything.items()
        if k in dashboard._SUMMARY and (k in dashboard._REQUIRED or dashboard._says_something(v))
    }
    assert configs[second.name] == kept
    assert [k for k in everything if k not in configs[second.name]]  # something was dropped


def render_json(report):
    from mlcc_ci.report import render

    return json.dumps(render.as_dict(report))


def test_what_says_something():
    for value in (None, False, [], {}):
        assert dashboard._says_something(value) is False, value
    for value in (0, "", True, [0], {"a": None}, 0.0):
        assert dashboard._says_something(value) is True, value


def test_non_ascii_stays_as_it_is_in_the_json(filled, monkeypatch):
    store, _, (first, _, _) = filled
    report = _report(store)
    renamed = [
        replace(c, project="prôjet") if c.name == first.name else c for c in report.configurations
    ]
    report = replace(report, configurations=renamed)
    assert '"project":"prôjet"' in dashboard.report_json(report)
    found = dashboard.history_json(report, first.config_id, lambda pointer: None)
    assert found is not None and '"project":"prôjet"' in found
    assert not found.endswith("\n")


def test_history_of_one_configuration(filled, monkeypatch):
    store, work, (first, _, _) = filled
    report = _report(store)
    pointers = []

    def href(pointer):
        pointers.append(pointer)
        return "/logs/here"

    from mlcc_ci.report import render

    real, rendered = render.as_dict, []

    def as_dict(shown):
        rendered.append([c.name for c in shown.configurations])
        return real(shown)

    monkeypatch.setattr(render, "as_dict", as_dict)
    found = json.loads(dashboard.history_json(report, first.config_id, href))
    assert rendered == [[first.name]]  # only its own configuration is rendered
    assert found["name"] == first.name and found["configId"] == first.config_id
    assert found["stageResults"]["build"]["status"] == "pass"
    assert found["view"]["stages"][0][3] == "/logs/here"
    assert pointers == [str(work / RUN_FOLDER / "logs" / "build.log")]
    assert next(iter(found)) == "name" and list(found)[-1] == "view"
    assert dashboard.history_json(report, "0" * 16, href) is None


def test_records_as_stored(filled):
    store, _, _ = filled
    assert dashboard._records(store) == [r.to_item() for r in store.records()]


# -- headers -----------------------------------------------------------------------------------


def test_loopback_names_and_addresses_only():
    for host in ("localhost", "localhost.", "127.0.0.1", "127.9.9.9", "::1", "[::1]"):
        assert dashboard.is_loopback(host) is True, host
    for host in (
        "127.attacker.example",
        "127.0.0.1.nip.io",
        "0.0.0.0",
        "10.0.0.1",
        "[::1",
        "::1]",
        "[10.0.0.1]",
        "",
        "localhost.localdomain",
        "[::11",  # a bracket at one end only: not an IPv6 literal
        "x127.0.0.1]",
    ):
        assert dashboard.is_loopback(host) is False, host


def test_the_name_in_a_host_header():
    assert dashboard._host_name("  LocalHost:8080 ") == "localhost"
    assert dashboard._host_name("127.0.0.1") == "127.0.0.1"
    assert dashboard._host_name("[::1]:8080") == "[::1]"
    assert dashboard._host_name("[::1]") == "[::1]"
    assert dashboard._host_name("[::1]:80]") == "[::1]"  # up to the first bracket
    assert dashboard._host_name("::1") == "::1"
    assert dashboard._host_name("a:b:c") == "a:b:c"
    assert dashboard._host_name("") == ""


def test_what_takes_gzip():
    takes = {
        "gzip": True,
        "GZIP": True,
        " gzip ; q=0.5": True,
        "deflate, gzip;q=0.5": True,
        "*": True,
        "*;q=0.1": True,
        "gzip;level=1": True,
        "gzip; Q=0": False,
        "gzip;q=0": False,
        "gzip;q=0.0": False,
        "gzip;q=oops": False,
        "gzip;q=0=1": False,  # the weight is all after the first "=": not a number
        "gzip;q=0, *": False,  # the first that names gzip decides
        "br": False,
        "identity, deflate": False,
        "": False,
    }
    assert {h: dashboard.accepts_gzip(h) for h in takes} == takes


# -- binding -----------------------------------------------------------------------------------


def test_a_busy_port_and_an_address_that_cannot_be_bound(tmp_path, monkeypatch):
    import socket

    store = SqliteStore(tmp_path / "r.db")
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            with pytest.raises(UsageError) as info:
                dashboard.serve(store, CATALOG, "127.0.0.1", port)
        assert str(info.value) == (
            f"port {port} on 127.0.0.1 is already in use; choose another with --port"
        )

        def refused(errno, strerror):
            def bind(*args, **kwargs):
                raise OSError(errno, strerror)

            return bind

        monkeypatch.setattr(dashboard, "_Server", refused(48, "Address already in use"))
        with pytest.raises(UsageError) as info:
            dashboard.serve(store, CATALOG, "127.0.0.1", 8080)
        assert str(info.value) == (
            "port 8080 on 127.0.0.1 is already in use; choose another with --port"
        )
        monkeypatch.setattr(dashboard, "_Server", refused(13, "Permission denied"))
        with pytest.raises(UsageError) as info:
            dashboard.serve(store, CATALOG, "127.0.0.1", 80)
        assert str(info.value) == "cannot listen on 127.0.0.1:80: Permission denied"
    finally:
        store.close()


def test_serve_binds_what_it_is_told_and_answers_any_host_off_loopback(tmp_path, monkeypatch):
    made = []

    def handler(store, catalog, *, any_host=False, work_root=None):
        made.append((store, catalog, any_host, work_root))
        return object

    class Bound:
        def __init__(self, address, handler):
            self.address, self.handler = address, handler

    assert dashboard._Server.request_queue_size == 128 and dashboard._Server.daemon_threads
    monkeypatch.setattr(dashboard, "make_handler", handler)
    monkeypatch.setattr(dashboard, "_Server", Bound)
    server = dashboard.serve("store", CATALOG, "127.0.0.1", 8123, work_root=tmp_path)
    assert server.address == ("127.0.0.1", 8123) and server.handler is object
    assert server.daemon_threads is True
    assert made == [("store", CATALOG, False, tmp_path)]
    dashboard.serve("store", CATALOG, "192.0.2.7", 8123)
    assert made[-1] == ("store", CATALOG, True, None)
