"""Reports at scale: a large HTML report carries its rows beyond the first screen and their
histories as data the page renders on demand (report/ondemand.py, report/pagedata.py,
reports/ondemand.js); the dashboard's /api/report is a summary, each configuration's
history at /api/history/<configId>."""

import base64
import json
import re
import threading
import urllib.error
import urllib.request
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.dashboard import history_json, report_json, serve
from mlcc_ci.models import Cost, Record, Run, StageResult
from mlcc_ci.report import ondemand, pagedata, render
from mlcc_ci.report.model import build_report
from mlcc_ci.stores.sqlite import SqliteStore
from tests.reporting import EVIL, config_report

CHROMIUM = "/usr/bin/chromium"
NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)
ARCHS = ("transformers", "triton", "http")
STAGES = {"generate": 20.0, "build": 600.0, "deploy_test": 900.0, "teardown": 120.0}


def record(c: int, runs: int = 12) -> Record:
    """Configuration `c` (a custom one, `big-NNNNN`), `runs` runs carried, every fifth of
    them a failure whose error summary is EVIL; its architecture cycles through ARCHS."""
    name = f"big-{c:05d}"
    history = []
    for r in range(runs):
        failed = (r + c) % 5 == 0
        started = f"2026-01-{1 + r:02d}T00:00:00.000Z"
        stages = {
            k: StageResult("fail" if failed and k == "deploy_test" else "pass", v)
            for k, v in STAGES.items()
        }
        history.append(
            Run(
                configId=f"{c:016x}",
                startedAt=started,
                runId=f"{c}-{r}",
                finishedAt=f"2026-01-{1 + r:02d}T00:30:00Z",
                status="fail-deploy_test" if failed else "pass",
                durationSeconds=1640.0,
                deploymentConfig=name,
                stageResults=stages,
                estimatedCost=Cost(1.5, "basis"),
            )
        )
    newest = history[::-1]
    last = newest[0]
    stage_results = {
        k: StageResult(
            v.status, v.durationSeconds, f"/work/{name}/{k}.log", EVIL if v.status == "fail" else ""
        )
        for k, v in last.stageResults.items()
    }
    return Record(
        configId=f"{c:016x}",
        configJson=json.dumps({"deploymentConfig": name, "architecture": ARCHS[c % 3]}),
        deploymentConfig=name,
        buildStrategy="codebuild-submit",
        projectName=f"p{c}",
        createdAt="2025-12-01T00:00:00Z",
        source="project",
        version=3,
        testStatus=last.status,
        lastTestTimestamp=last.finishedAt,
        lastTestDuration=1640,
        stageResults=stage_results,
        recentRuns=tuple(r.summary() for r in newest),
    )


def report_of(n: int):
    """A report of `n` configurations: the catalog's and custom ones (`record`)."""
    entries = load_valid_catalog().entries
    records = [record(c) for c in range(n - len(entries))]
    return build_report(entries, records, {}, NOW)


def data_of(page: str) -> dict:
    found = re.search(
        r'<script type="application/octet-stream" id="report-data"[^>]*>([^<]*)<', page
    )
    assert found is not None
    return ondemand.unpack(found[1])


# -- the data and its packing ---------------------------------------------------------


@pytest.mark.unit
def test_pack_is_deflated_json_in_base64_that_cannot_close_its_script():
    value = {"rows": [{"k": {"config": "</script><script>alert(1)</script>"}}], "n": "é"}
    packed = ondemand.pack(value)
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", packed)
    assert json.loads(zlib.decompress(base64.b64decode(packed))) == value
    assert ondemand.unpack(packed) == value
    block = ondemand.block({"rows": []}, table="t1")
    assert block.startswith(
        '<script type="application/octet-stream" id="report-data" data-table="t1">'
    )
    assert block.count("</script>") == 1 and block.endswith("</script>")


@pytest.mark.unit
def test_the_script_any_table_inlines_is_the_reports_own_first_part():
    from mlcc_ci.resources import data_path

    own = (data_path("reports") / "ondemand.js").read_text(encoding="utf-8")
    assert ondemand.script() == own and "DecompressionStream" in own
    assert render.script().startswith(own + "\n")
    assert "innerHTML" not in own  # values go in as text


@pytest.mark.unit
def test_table_data_says_what_the_page_needs():
    rows = [{"k": {"config": "a"}, "c": [[ondemand.text("a")]]}]
    assert ondemand.table_data(
        rows, first=1, history_url="api/history/", cell_classes=("name",)
    ) == {
        "v": 1,
        "first": 1,
        "rows": rows,
        "histories": None,
        "historyUrl": "api/history/",
        "charts": {},
        "cellClasses": ["name"],
    }
    assert ondemand.element("span", "x", "flag", title="t") == [
        "e",
        "span",
        "flag",
        "x",
        {"title": "t"},
    ]
    assert ondemand.element("div", "y") == ["e", "div", "", "y"]
    assert ondemand.details("s", [ondemand.items(["a", "b"])], "earlier") == [
        "d",
        "earlier",
        "s",
        [["ul", ["a", "b"]]],
    ]


@pytest.mark.unit
def test_a_row_and_its_history_as_data():
    runs = tuple(record(1, runs=3).recentRuns)
    c = config_report(
        "big-1",
        status="fail-deploy_test",
        architecture="triton",
        owner="team",
        history=runs,
        runCosts=tuple(r.estimatedCost for r in runs),
        passRate=0.5,
        runs=3,
        stageResults={"deploy_test": StageResult("fail", 900.0, "/work/x.log", "first\nlast line")},
    )
    row = pagedata.row(c, "2026-02-01T12:00:00Z", 4)
    assert row["k"] == {
        "config": "big-1",
        "status": "fail-deploy_test",
        "group": "failing",
        "arch": "triton",
        "owner": "team",
        "last": "2026-02-01T01:00:00Z",
        "duration": "3.0",
        "cost": "",
        "rate": "0.500",
    }
    assert row["h"] == 4 and row["id"] == "id-big-1"
    name, status, *_, trend, durations, _, profile = row["c"]
    assert name == [["t", "big-1"], ["e", "div", "muted", "big-1"]]
    assert status[0] == ["e", "span", "badge fail", "fail-deploy_test"]
    assert ["d", "", "deploy_test failed", [["e", "pre", "", "first\nlast line"]]] in status
    assert trend == [["h", "50% of 3"]] and durations == [] and profile == [["t", "default"]]
    assert row["c"][6] == [["tl", [["deploy_test", "fail", 900.0, "15m 00s"]]]]
    history = pagedata.history(c)
    # oldest first: record 1's runs fail when (r + 1) % 5 == 0, so none of these three
    assert [r[0] for r in history["runs"]] == ["p", "p", "p"]
    assert history["runs"][0][1:] == [20.0, 0, 600.0, 900.0, 0, 120.0]  # STAGE_ORDER
    assert history["rate"] == "50% of 3"
    assert history["stages"] == [
        ["deploy_test", "fail", "15m 00s", None, "/work/x.log", "last line"]
    ]


# -- the page -------------------------------------------------------------------------


@pytest.mark.functional
def test_a_small_report_is_html_whole_and_a_large_one_carries_its_rows_as_data():
    small = render.html(report_of(ondemand.SMALL))
    assert small.count("<tr data-config=") == ondemand.SMALL
    assert 'id="report-data"' not in small

    report = report_of(ondemand.SMALL + 1)
    page = render.html(report)
    assert page.count("<tr data-config=") == ondemand.FIRST_SCREEN
    data = data_of(page)
    names = [c.name for c in report.configurations]
    assert [r["k"]["config"] for r in data["rows"]] == names
    assert data["first"] == ondemand.FIRST_SCREEN
    # the first screen's rows are HTML already: their data is what filters read
    assert "c" not in data["rows"][0] and "c" in data["rows"][ondemand.FIRST_SCREEN]
    assert len(data["histories"]) == len(names) - ondemand.FIRST_SCREEN
    assert data["historyUrl"] is None
    # nothing of a row beyond the first screen is markup in the page
    assert names[-1] not in page.split('id="report-data"')[0].split("<h2>Configurations</h2>")[1]


@pytest.mark.functional
def test_the_report_size_stays_bounded_as_it_grows():
    """5 MiB at 10,000 configurations (benchmarks/bench_report.py measures that): a
    fifth of it at 2,000, and the bytes per configuration do not grow with the count."""
    sizes = {n: len(render.html(report_of(n)).encode()) for n in (500, 2000)}
    assert sizes[2000] <= 5 * 2**20 * 2000 / 10_000
    assert sizes[2000] / 2000 <= sizes[500] / 500


# -- the dashboard --------------------------------------------------------------------


def _store(tmp_path: Path, n: int) -> SqliteStore:
    store = SqliteStore(tmp_path / "r.db")
    store.create_tables()
    with store._write() as conn:
        conn.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            [SqliteStore._row_values(record(c)) for c in range(n)],
        )
    return store


@pytest.mark.functional
def test_api_report_is_a_summary_and_each_history_comes_on_request():
    report = report_of(30)
    summary = json.loads(report_json(report))
    full = render.as_dict(report)
    one = summary["configurations"]["big-00007"]
    assert one == {
        "status": "pass",
        "project": "p7",
        "lastTest": "2026-01-12T00:30:00Z",
        "duration": 1640,
        "recordCount": 1,
        "shownStatus": "pass",
        "configId": f"{7:016x}",
        "supportState": "supported",
        "owner": "-",
        "architecture": "triton",
        "lastPass": "2026-01-12T00:30:00Z",
        "passRate": full["configurations"]["big-00007"]["passRate"],
        "runs": 12,
        "stale": True,
        "flaky": True,
    }
    assert {k: v for k, v in summary.items() if k != "configurations"} == {
        k: v for k, v in full.items() if k != "configurations"
    }
    answer = json.loads(history_json(report, f"{7:016x}", lambda p: None))
    assert answer == {
        "name": "big-00007",
        **full["configurations"]["big-00007"],
        "view": pagedata.history(next(c for c in report.configurations if c.name == "big-00007")),
    }
    assert len(answer["history"]) == 12
    assert history_json(report, "f" * 16, lambda p: None) is None


@pytest.mark.functional
def test_the_dashboard_answers_a_history_by_configid(tmp_path):
    store = _store(tmp_path, 3)
    server = serve(store, load_valid_catalog(), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/api/history/{2:016x}", timeout=10) as response:
            answer = json.loads(response.read())
        assert answer["name"] == "big-00002" and len(answer["view"]["runs"]) == 12
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/api/history/%3Cscript%3E", timeout=10)
        assert missing.value.code == 404
        assert json.loads(missing.value.read()) == {"error": "no configuration '<script>'"}
    finally:
        server.shutdown()
        server.server_close()
        store.close()


# -- in Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (.ci/run installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


def _page(browser, errors):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return page


@pytest.mark.browser
def test_a_large_report_in_chromium(chromium, tmp_path):
    n = 2000
    report = report_of(n)
    file = tmp_path / "report.html"
    file.write_text(render.html(report))
    assert file.stat().st_size <= 5 * 2**20 * n / 10_000
    names = [c.name for c in report.configurations]
    errors: list[str] = []
    page = _page(chromium, errors)
    page.goto(file.as_uri())
    page.wait_for_selector("#configs[data-ready=yes]")
    rows = page.locator("#configs > tbody > tr")
    assert page.locator("#shown").inner_text() == f"{n} of {n} shown"
    assert rows.count() == 100  # a page of rows, not two thousand
    assert page.locator(f'tr[data-config="{names[-1]}"]').count() == 0

    # searched for: the last row appears, built from data
    page.fill("#f-text", names[-1])
    assert page.locator("#shown").inner_text() == f"1 of {n} shown"
    last = page.locator(f'tr[data-config="{names[-1]}"]')
    assert last.locator("td.name").inner_text().startswith(names[-1])
    assert last.locator(".badge").inner_text() == report.configurations[-1].status

    # a filter counts every row, not the ones built
    page.fill("#f-text", "")
    page.select_option("#f-arch", "triton")
    triton = sum(c.architecture == "triton" for c in report.configurations)
    assert 600 < triton < n and page.locator("#shown").inner_text() == f"{triton} of {n} shown"
    page.select_option("#f-arch", "")

    # scrolled to: more rows come as the end of the table is reached
    page.locator("#more-rows").scroll_into_view_if_needed()
    page.wait_for_function("document.querySelectorAll('#configs > tbody > tr').length >= 200")
    assert rows.nth(150).get_attribute("data-config") == names[150]

    # sorted over all rows: the first by name descending is the last of all
    page.click("th button[data-sort=config]")
    page.click("th button[data-sort=config]")
    assert rows.first.get_attribute("data-config") == max(names)

    # a history opens on demand: the trend, the durations and the stage list are drawn
    page.fill("#f-text", names[-1])
    assert last.locator("svg.trend").count() == 0
    last.locator("button.history-button").click()
    assert last.locator("svg.trend path").count() == 2
    assert last.locator("svg.durations path").count() == len(STAGES)
    assert "pass rate over the last 12 runs" in last.locator("svg.trend title").text_content()
    last.locator(".stagelist summary").click()
    assert last.locator(".stagelist td").nth(0).inner_text() == "generate"
    # the failing stage's error summary (its payload sets window.__xss if run) is text
    failing = next(i for i, c in enumerate(report.configurations) if c.failing and i > 100)
    page.fill("#f-text", names[failing])
    row = page.locator(f'tr[data-config="{names[failing]}"]')
    row.locator("td.status summary").click()
    assert EVIL in row.locator("td.status pre").inner_text()
    assert page.evaluate("window.__xss === undefined")
    page.close()
    assert errors == []


@pytest.mark.browser
def test_the_dashboard_fetches_a_history_when_it_is_shown(chromium, tmp_path):
    n = ondemand.SMALL + 40
    store = _store(tmp_path, n)
    server = serve(store, load_valid_catalog(), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    errors: list[str] = []
    asked: list[str] = []
    try:
        page = _page(chromium, errors)
        page.on("request", lambda r: asked.append(r.url) if "/api/history/" in r.url else None)
        page.goto(base + "/")
        page.wait_for_selector("#configs[data-ready=yes]")
        name, config_id = f"big-{n - 1:05d}", f"{n - 1:016x}"
        page.fill("#f-text", name)
        row = page.locator(f'tr[data-config="{name}"]')
        assert row.count() == 1 and asked == []
        row.locator("button.history-button").click()
        row.locator("svg.trend").wait_for()
        assert asked == [f"{base}/api/history/{config_id}"]
        assert row.locator("svg.durations path").count() == len(STAGES)
        page.close()
    finally:
        server.shutdown()
        server.server_close()
        store.close()
    assert errors == []
