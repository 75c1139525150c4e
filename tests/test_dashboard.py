"""The dashboard over HTTP on 127.0.0.1, and in a real browser (Debian's chromium)."""

import json
import socket
import threading
import urllib.request
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.dashboard import serve
from mlcc_ci.errors import UsageError
from mlcc_ci.stores.sqlite import SqliteStore
from tests.reporting import scenario

pytestmark = pytest.mark.functional
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def dashboard(tmp_path):
    store = SqliteStore(tmp_path / "r.db")
    names = scenario(store)
    server = serve(store, load_valid_catalog(), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}", names
    server.shutdown()
    server.server_close()
    store.close()


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read().decode()


def test_api_records_and_page(dashboard):
    base, (regressed, _) = dashboard
    status, headers, body = get(base + "/api/records")
    records = json.loads(body)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert len(records) == 12 and {r["testStatus"] for r in records} == {"pass", "fail-build"}
    status, headers, page = get(base + "/")
    assert '<body data-live="yes">' in page  # the page follows running stages itself
    assert f'data-config="{regressed}"' in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    report = json.loads(get(base + "/api/report")[2])
    assert report["regressions"] == [regressed]
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(base + "/nope")
    assert missing.value.code == 404


def test_binds_loopback_and_reports_a_busy_port(tmp_path):
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
        assert rows.count() == 15
        row = page.locator(f'tr[data-config="{regressed}"]')
        assert row.locator(".badge").inner_text() == "fail-build"
        assert row.locator(".flag").inner_text() == "REGRESSION"
        badge_colour = row.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor")
        assert badge_colour == "rgb(207, 34, 46)"
        assert page.locator(f'tr[data-config="{fixed}"] .good').inner_text() == "fixed"
        assert page.locator('tr[data-status="pass"]').count() == 11
        assert page.locator('tr[data-status="unsupported"]').count() == 3
        # the error summary is shown as text, never run
        row.locator("summary").first.click()
        assert "<script>alert(1)</script>" in row.locator("pre").first.inner_text()
        assert page.evaluate("window.__xss === undefined")
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        browser.close()
    assert errors == []
