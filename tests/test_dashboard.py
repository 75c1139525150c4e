"""The dashboard over HTTP on 127.0.0.1, and in a real browser (Debian's chromium)."""

import json
import socket
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.dashboard import serve
from mlcc_ci.errors import UsageError
from mlcc_ci.stores.sqlite import SqliteStore
from tests.reporting import scenario

# Each test carries its tier (no module-wide functional): one that needs chromium is of that
# tier only, so `pytest -m "unit or functional"` runs without it.
CHROMIUM = "/usr/bin/chromium"


@contextmanager
def serving(store):
    """The dashboard over `store` on a free port of 127.0.0.1: its URL and its cache."""
    server = serve(store, load_valid_catalog(), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}", server.RequestHandlerClass.report_cache
    finally:
        server.shutdown()
        server.server_close()
        store.close()


@pytest.fixture
def dashboard(tmp_path):
    store = SqliteStore(tmp_path / "r.db")
    names = scenario(store)
    with serving(store) as (url, _):
        yield url, names


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read().decode()


@pytest.mark.functional
def test_api_records_and_page(dashboard):
    base, (regressed, _) = dashboard
    status, headers, body = get(base + "/api/records")
    records = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert len(records) == 15 and {r["testStatus"] for r in records} == {"pass", "fail-build"}
    status, headers, page = get(base + "/")
    assert '<body data-live="yes">' in page  # the page follows running stages itself
    assert f'data-config="{regressed}"' in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    report = json.loads(get(base + "/api/report")[2])
    assert report["regressions"] == [regressed]
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(base + "/nope")
    assert missing.value.code == 404


@pytest.mark.functional
def test_binds_loopback_and_reports_a_busy_port(cli, tmp_path, monkeypatch):
    """`mlcc-ci dashboard` with no --host: the socket of the running server is bound to
    127.0.0.1 (not 0.0.0.0, not every interface), and it answers there."""
    from mlcc_ci import dashboard

    made, done, ready = [], [], threading.Event()
    real_serve = dashboard.serve

    def recorded(*args, **kwargs):
        made.append(real_serve(*args, **kwargs))
        ready.set()
        return made[-1]

    def command():
        try:
            done.append(cli("dashboard", "--port", "0", "--store", url))
        finally:
            ready.set()

    monkeypatch.setattr(dashboard, "serve", recorded)
    url = f"sqlite:///{tmp_path}/r.db"
    assert cli("store", "create-tables", "--store", url).exit_code == 0
    running = threading.Thread(target=command, daemon=True)
    running.start()
    assert ready.wait(timeout=60)  # the command has bound its server (or ended)
    (server,) = made
    try:
        host, port = server.socket.getsockname()[:2]
        assert (server.socket.family, host) == (socket.AF_INET, "127.0.0.1")
        assert get(f"http://127.0.0.1:{port}/api/records")[0] == 200
    finally:
        server.shutdown()
        running.join(timeout=10)
    (result,) = done
    assert result.exit_code == 0
    assert result.output == f"mlcc-ci dashboard on http://127.0.0.1:{port}/ (Ctrl-C to stop)\n"

    store = SqliteStore(tmp_path / "r.db")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(UsageError) as info:
            serve(store, load_valid_catalog(), "127.0.0.1", port)
    assert str(info.value) == (
        f"port {port} on 127.0.0.1 is already in use; choose another with --port"
    )


@pytest.mark.functional
def test_cli_dashboard_port_in_use(cli, tmp_path):
    assert cli("store", "create-tables", "--store", f"sqlite:///{tmp_path}/r.db").exit_code == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("dashboard", "--port", str(port), "--store", f"sqlite:///{tmp_path}/r.db")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: port {port} on 127.0.0.1 is already in use; choose another with --port\n"
    )


@pytest.mark.browser
def test_dashboard_in_chromium(dashboard, tmp_path):
    from playwright.sync_api import sync_playwright

    base, (regressed, fixed) = dashboard
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/")
        rows = page.locator("#configs > tbody > tr")
        assert rows.count() == 19
        row = page.locator(f'tr[data-config="{regressed}"]')
        assert row.locator(".badge").inner_text() == "fail-build"
        assert row.locator(".flag").inner_text() == "REGRESSION"
        badge_colour = row.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor")
        assert badge_colour == "rgb(207, 34, 46)"
        assert page.locator(f'tr[data-config="{fixed}"] .good').inner_text() == "fixed"
        assert page.locator('tr[data-status="pass"]').count() == 14
        assert page.locator('tr[data-status="unsupported"]').count() == 4
        # the error summary (its payload sets window.__xss if run) is never run, only shown
        row.locator("summary").first.click()
        assert page.evaluate("window.__xss === undefined")
        assert (
            "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
            in row.locator("pre").first.inner_text()
        )
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        browser.close()
    assert errors == []


@pytest.fixture
def live_dashboard(tmp_path):
    from tests.reporting import rich_scenario

    store = SqliteStore(tmp_path / "r.db")
    roles = rich_scenario(store)
    with serving(store) as (url, cache):
        yield url, roles, store, cache


def advance(store, name, stage):
    """Another process's runner moving `name`'s run on to `stage` (its own connection)."""
    from mlcc_ci.models import StageResult, progressed

    writer = SqliteStore(store.path)
    record = next(r for r in writer.records() if r.deploymentConfig == name)
    done = {**record.runStages, record.currentStage: StageResult("pass", 300.0)}
    now = "2026-03-01T00:30:00.000Z"
    writer.replace(
        progressed(record, stage, now, done),
        expect_version=record.version,
        expect_run_id=record.runId,
    )
    writer.close()
    return record


@pytest.mark.functional
def test_answers_come_from_a_cache_refreshed_when_the_store_changes(live_dashboard):
    base, roles, store, cache = live_dashboard
    bodies = {get(base + "/api/report")[2] for _ in range(5)}
    live = json.loads(get(base + "/api/live")[2])
    get(base + "/")
    assert len(bodies) == 1 and cache.builds == 1  # seven answers, one read of the store
    running = live["running"][roles["running"]]
    assert running["stage"] == "deploy_test" and running["since"] == "2026-03-01T00:10:25.000Z"
    assert 'data-stage="build"' in running["timeline"]
    assert live["statuses"][roles["regressed"]] == "fail-build"

    advance(store, roles["running"], "register")
    # the next answer is the one already read, and a read in the background brings the change
    deadline = time.monotonic() + 10
    while (live := json.loads(get(base + "/api/live")[2]))["running"][roles["running"]][
        "stage"
    ] != "register":
        assert time.monotonic() < deadline, "the dashboard never saw the stage move on"
        time.sleep(0.05)
    assert cache.builds == 2  # one write, one more read of the store
    running = live["running"][roles["running"]]
    assert 'data-stage="deploy_test"' in running["timeline"]
    report = json.loads(get(base + "/api/report")[2])
    assert report["configurations"][roles["running"]]["running"]["stage"] == "register"
    assert cache.builds == 2


@pytest.mark.functional
def test_head_and_the_script_policy(live_dashboard):
    from mlcc_ci.report.render import script_hash

    base = live_dashboard[0]
    request = urllib.request.Request(base + "/api/live", method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.read() == b""
        assert int(response.headers["Content-Length"]) > 0
    headers = get(base + "/")[1]
    policy = headers["Content-Security-Policy"]
    assert f"script-src '{script_hash()}'" in policy and "connect-src 'self'" in policy


def colours(png: bytes) -> set[tuple[int, int, int]]:
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {colour for _, colour in image.getcolors(maxcolors=image.width * image.height)}


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@pytest.mark.browser
def test_live_dashboard_in_chromium(live_dashboard, tmp_path):
    from playwright.sync_api import sync_playwright

    from mlcc_ci.report.charts import STAGE_COLOURS, STATUS_COLOURS

    base, roles, store, _ = live_dashboard
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(base + "/")
        rows = page.locator("#configs > tbody > tr")
        assert rows.count() == 19

        # a legend for every colour the charts use
        legend = page.locator("#legend").inner_text()
        for name in [*STAGE_COLOURS, "pass", "fail", "skip", "running", "not run"]:
            assert name in legend

        # the charts are drawn: trend dots in both statuses, duration bars by stage
        flaky = page.locator(f'tr[data-config="{roles["flaky"]}"]')
        seen = colours(flaky.locator("svg.trend").screenshot())
        assert hex_rgb(STATUS_COLOURS["pass"]) in seen and hex_rgb(STATUS_COLOURS["fail"]) in seen
        seen = colours(flaky.locator("svg.durations").screenshot())
        assert {hex_rgb(STAGE_COLOURS[s]) for s in ("build", "deploy_test")} <= seen
        seen = colours(
            page.locator(f'tr[data-config="{roles["regressed"]}"] svg.timeline').screenshot()
        )
        assert hex_rgb(STATUS_COLOURS["fail"]) in seen and hex_rgb(STATUS_COLOURS["pass"]) in seen
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        # log links: never a file:// link, which a page served over HTTP cannot open (the
        # scenario's logs are outside the work root: shown as text; tests/test_logs.py
        # follows a served one)
        assert page.locator('a[href^="file:"]').count() == 0
        assert "/work/" in flaky.locator(".stagelist").text_content()

        # filtering and sorting
        page.select_option("#f-arch", "triton")
        assert page.locator("#configs > tbody > tr:not([hidden])").count() == 7
        page.select_option("#f-arch", "")
        page.select_option("#f-status", "failing")
        visible = page.locator("#configs > tbody > tr:not([hidden])")
        assert sorted(visible.evaluate_all("rows => rows.map(r => r.dataset.config)")) == sorted(
            [roles["regressed"], *roles["shared"]]
        )
        assert page.locator("#shown").inner_text() == "3 of 19 shown"
        page.select_option("#f-status", "")
        page.click("th button[data-sort=cost]")
        page.click("th button[data-sort=cost]")  # descending
        costs = rows.evaluate_all("rows => rows.map(r => parseFloat(r.dataset.cost || '-1'))")
        assert costs == sorted(costs, reverse=True) and costs[0] > 0

        # live: the running stage moves on in the store; the page follows without reloading
        page.evaluate("window.__sameDocument = true")
        running = page.locator(f'tr[data-config="{roles["running"]}"]')
        assert running.locator(".live .stage").inner_text() == "deploy_test"
        advance(store, roles["running"], "register")
        page.wait_for_function(
            "name => document.querySelector(`tr[data-config='${name}'] .live .stage`)"
            ".textContent === 'register'",
            arg=roles["running"],
            timeout=15_000,
        )
        assert page.evaluate("window.__sameDocument === true")
        assert running.locator('svg.timeline rect[data-stage="deploy_test"]').count() == 1
        assert running.locator(".live .elapsed").inner_text().endswith(("s", "m", "h"))
        browser.close()
    assert errors == []


@pytest.mark.functional
def test_answers_are_compressed_for_clients_that_take_gzip(live_dashboard):
    import gzip

    from mlcc_ci.dashboard import accepts_gzip

    base = live_dashboard[0]
    plain = get(base + "/api/report")
    assert plain[1]["Content-Encoding"] is None and plain[1]["Vary"] == "Accept-Encoding"
    request = urllib.request.Request(base + "/api/report", headers={"Accept-Encoding": "gzip, br"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        packed = response.read()
    assert gzip.decompress(packed).decode() == plain[2] and len(packed) < len(plain[2]) / 4
    assert [
        accepts_gzip(h) for h in ("gzip", "deflate, gzip;q=0.5", "*", "gzip;q=0", "br", "")
    ] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.browser
def test_dashboard_shows_a_blocked_row_and_failures_by_class_in_chromium(tmp_path):
    """A configuration capacity blocks reads `blocked (capacity)` with since when, never its
    old status or a failure; failures are grouped by class; captures from logs are text."""
    from playwright.sync_api import sync_playwright

    from tests.reporting import XSS_CAPTURE, classes_scenario

    store = SqliteStore(tmp_path / "c.db")
    classes_scenario(
        store, ["http-flask", "http-fastapi", "triton-fil", "triton-python", "transformers-vllm"]
    )
    assert Path(CHROMIUM).exists(), "Debian's chromium is required (.ci/run installs it)"
    with serving(store) as (base, _), sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/")
        blocked = page.locator('tr[data-config="triton-fil"]')
        assert blocked.locator(".badge").inner_text() == "blocked (capacity)"
        assert (
            blocked.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor")
            == "rgb(154, 103, 0)"
        )
        assert blocked.locator(".blocked-since").inner_text() == (
            "capacity at deploy_test since 2026-02-03 00:00 UTC, 1 run in a row; next try after "
            "2026-02-03 01:30 UTC; last product result: pass"
        )
        assert blocked.locator(".flag, .cls").count() == 0
        assert page.locator("#blocked li").all_inner_texts() == [
            "triton-fil: capacity at deploy_test since 2026-02-03 00:00 UTC, 1 run in a row; "
            "next try after 2026-02-03 01:30 UTC; last product result: pass"
        ]
        # a failing row carries its class beside its status; a harness error is no failure
        assert page.locator('tr[data-config="http-flask"] .cls').inner_text() == "product"
        assert page.locator('tr[data-config="http-fastapi"] .cls').inner_text() == "unclassified"
        errored = page.locator('tr[data-config="transformers-vllm"]')
        assert errored.locator(".badge").inner_text() == "pass"
        assert errored.locator(".error").inner_text().startswith("last run: harness error at")
        # the groups: by class, in order, then by rule and capture
        sections = page.locator("#failure-groups section.failure-class")
        assert sections.evaluate_all("s => s.map(e => e.dataset.class)") == [
            "product",
            "unclassified",
            "capacity",
            "harness",
        ]
        product = sections.nth(0)
        product.locator("summary").click()
        assert product.locator("summary").inner_text() == (
            f"build ×1: http-flask · pip-no-matching-distribution: {XSS_CAPTURE}"
        )
        assert product.locator("pre").inner_text() == XSS_CAPTURE
        sections.nth(1).locator("summary").click()
        assert page.evaluate("window.__xss === undefined")
        assert "capacity 3, quota 1, throttling 1" in page.locator("#noise p").inner_text()
        # the status filter has the blocked ones
        page.select_option("#f-status", "blocked")
        visible = page.locator("#configs > tbody > tr:not([hidden])")
        assert visible.evaluate_all("rows => rows.map(r => r.dataset.config)") == ["triton-fil"]
        page.screenshot(path=str(tmp_path / "classes.png"), full_page=True)
        browser.close()
    assert errors == []
