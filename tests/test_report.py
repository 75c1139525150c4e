"""Every format shows regressions and fixes, escapes what it did not write, and stays small."""

import json
import re
from pathlib import Path

import pytest

from mlcc_ci import schema
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.report.render import md_cell, md_fence
from tests.reporting import EVIL, play, scenario

pytestmark = pytest.mark.functional


@pytest.fixture
def store_url(tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore

    url = f"sqlite:///{tmp_path}/r.db"
    store = SqliteStore(tmp_path / "r.db")
    names = scenario(store)
    store.close()
    monkeypatch.setenv("MLCC_CI_STORE", url)
    return names


def test_text(cli, store_url, monkeypatch):
    regressed, fixed = store_url
    monkeypatch.setenv("COLUMNS", "100")  # the flag goes under the status to fit
    lines = cli("report").output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(regressed + " "))
    assert "fail-build" in lines[at] and lines[at + 1].strip() == "[unclassified]"
    assert lines[at + 2].strip() == "⚠️ REGRESSION"
    monkeypatch.setenv("COLUMNS", "200")
    out = cli("report").output
    row = next(line for line in out.splitlines() if line.startswith(regressed + " "))
    assert "fail-build [unclassified] ⚠️ REGRESSION" in row
    assert (
        "Summary: 19 total | 15 tested | 14 passing | 1 failing | 0 untested | 4 unsupported | 78.9% coverage"
        in out
    )
    assert (
        f"REGRESSION {regressed}: failing since 2026-02-03 00:00 UTC; last pass "
        f"2026-02-02 01:00 UTC (run {regressed}-2)" in out
    )
    assert f"FIXED {fixed}: passed after failing" in out
    assert "unsupported" in next(line for line in out.splitlines() if line.startswith("http-nginx"))


def test_json_keeps_the_legacy_shape_and_validates(cli, store_url):
    regressed, fixed = store_url
    doc = json.loads(cli("report", "--format", "json").output)
    assert schema.problems(doc, schema.REPORT_SCHEMA) == []
    assert doc["summary"] == {
        "total": 19,
        "tested": 15,
        "passing": 14,
        "failing": 1,
        "untested": 0,
        "coveragePercent": 78.9,
        "running": 0,
        "unsupported": 4,
        "blocked": 0,
        "unproven": 0,
        "quarantined": 0,
        "removed": 0,
    }
    assert doc["regressions"] == [regressed] and doc["fixed"] == [fixed]
    config = doc["configurations"][regressed]
    assert {k: config[k] for k in ("status", "project", "recordCount")} == {
        "status": "fail-build",
        "project": f"mlcc-ci-{regressed}",
        "recordCount": 1,
    }
    assert config["regression"]["lastPassRunId"] == f"{regressed}-2"
    assert config["passRate"] == pytest.approx(2 / 3, abs=0.001)
    assert doc["untestedConfigs"] == []
    short, long = (
        json.loads(cli("report", *args).output) for args in (["--json"], ["--format", "json"])
    )
    short.pop("generatedAt"), long.pop("generatedAt")  # may fall either side of a second
    assert short == long


def test_markdown_is_inert_small_and_flags(cli, store_url):
    regressed, fixed = store_url
    md = cli("report", "--format", "markdown").output
    assert len(md.encode()) < 64 * 1024
    assert "<script>" not in _outside_fences(md)
    row = next(line for line in md.splitlines() if line.startswith(f"| {md_cell(regressed)} "))
    assert "⚠️ **REGRESSION**" in row
    assert "(fixed)" in next(
        line for line in md.splitlines() if line.startswith(f"| {md_cell(fixed)} ")
    )
    assert (
        "\nmlcc-ci coverage · Summary: 19 total | 15 tested | 14 passing | 1 failing | 0 untested | 4 unsupported | 78.9% coverage\n"
        in md
    )
    # the error summary sits in a fence longer than any backtick run inside it
    block = md.split(f"<summary>[unclassified] build ×1: {regressed}</summary>", 1)[1]
    fence = re.search(r"^(`{3,})text$", block, re.M).group(1)
    assert len(fence) == 5 and EVIL in block.split(fence + "text\n", 1)[1].split("\n" + fence)[0]


def _outside_fences(md: str) -> str:
    out, fence = [], None
    for line in md.splitlines():
        m = re.match(r"^(`{3,})", line)
        if fence is None and m:
            fence = m.group(1)
        elif fence is not None and line == fence:
            fence = None
        elif fence is None:
            out.append(line)
    return "\n".join(out)


def test_markdown_cells_escape_pipes_and_html():
    assert md_cell("a|b <i>c</i> `d` *e* [f](g)") == (
        "a\\|b &lt;i&gt;c&lt;/i&gt; \\`d\\` \\*e\\* \\[f\\](g)"
    )
    assert md_fence("x ````` y") == "``````text\nx ````` y\n``````"


def test_html_is_self_contained_and_escaped(cli, store_url, tmp_path):
    regressed, fixed = store_url
    out = tmp_path / "report.html"
    result = cli("report", "--format", "html", "--output", str(out))
    assert result.exit_code == 0
    page = out.read_text()
    # one script, the shipped one, inline; what the store said is text
    from mlcc_ci.report.render import script

    assert page.count("<script") == 1 and f"<script>{script()}</script>" in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "@import" not in page and "<link" not in page
    row = page.split(f'data-config="{regressed}"', 1)[1].split("</tr>", 1)[0]
    assert "REGRESSION" in row and 'class="badge fail"' in row
    assert "fixed" in page.split(f'data-config="{fixed}"', 1)[1].split("</tr>", 1)[0]


def test_fail_on_regression(cli, store_url):
    assert cli("report", "--fail-on-regression").exit_code == 1
    assert cli("report").exit_code == 0


def test_no_regression_exits_zero(cli, tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "ok.db")
    play(store, load_valid_catalog().get("http-flask"), ["fail-build", "pass"])
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/ok.db")
    result = cli("report", "--fail-on-regression", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert (
        doc["summary"]["untested"] == 14
    )  # the fourteen other supported entries were never registered
    assert "http-fastapi" in doc["untestedConfigs"]
    assert doc["configurations"]["http-fastapi"]["status"] == "unregistered"


def test_full_report_with_maximal_errors_fits_a_pr_comment(cli, tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "big.db")
    for entry in load_valid_catalog().entries:
        play(
            store,
            entry,
            [
                "fail-generate",
                "fail-validate",
                "fail-build",
                "fail-deploy_test",
                "fail-register",
                "fail-teardown",
            ],
            summary=("`|<x>" * 200)[:500],
        )
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/big.db")
    md = cli("report", "--format", "markdown").output
    assert len(md.encode()) < 64 * 1024


def test_output_to_unwritable_place(cli, store_url, tmp_path):
    result = cli("report", "--output", str(tmp_path / "missing" / "r.md"))
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: cannot write {tmp_path}/missing/r.md")


def test_html_cells_built_outside_the_template_are_escaped():
    from datetime import UTC, datetime

    from mlcc_ci.models import Record, Run, StageResult
    from mlcc_ci.report.model import build_report
    from mlcc_ci.report.render import html

    evil = '"><img src=x onerror=alert(1)>'
    record = Record(
        configId="0" * 16,
        configJson="{}",
        deploymentConfig="custom",
        buildStrategy="x",
        projectName=evil,
        createdAt="2026-01-01T00:00:00Z",
        source="project",
        version=2,
        testStatus="fail-build",
        lastTestTimestamp="2026-01-02T00:00:00Z",
        stageResults={"build": StageResult("fail", 1.0, errorSummary=evil)},
    )
    run = Run(
        configId="0" * 16,
        startedAt=evil,
        runId=evil,
        finishedAt="2026-01-02T00:00:00Z",
        status=evil,
        durationSeconds=1.0,
        deploymentConfig="custom",
    )
    page = html(build_report([], [record], {record.configId: [run]}, datetime.now(UTC)))
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_the_summary_line_adds_up(cli, tmp_path, monkeypatch):
    import re

    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "sum.db")
    play(store, load_valid_catalog().get("http-flask"), ["pass"])
    play(store, load_valid_catalog().get("triton-fil"), ["fail-build"])
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/sum.db")
    for fmt in ("text", "markdown"):
        out = cli("report", "--format", fmt).output
        line = next(x for x in out.splitlines() if "Summary:" in x)
        n = {
            k: int(v)
            for v, k in re.findall(
                r"(\d+) (total|tested|passing|failing|untested|running|unsupported)", line
            )
        }
        assert n["total"] == n["tested"] + n["untested"] + n.get("running", 0) + n["unsupported"]
        assert n["tested"] == n["passing"] + n["failing"]
        assert (n["total"], n["tested"], n["unsupported"]) == (19, 2, 4)


def test_markdown_puts_the_summary_first_and_lists_unsupported_once(cli, store_url):
    md = cli("report", "--format", "markdown").output
    lines = md.splitlines()
    assert lines[0] == "<!-- mlcc-ci-report -->" and lines[1].startswith("**❌ ")
    assert lines[3].startswith("mlcc-ci coverage · Summary: ")
    order = [
        md.index(h) for h in ("Summary:", "### Regressions", "### Failures by class", "| Config |")
    ]
    assert order == sorted(order)
    assert md.count("http-nginx") == 1  # in the unsupported line, not the table too


def test_failures_sharing_a_cause_are_one_group_in_every_format(cli, tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "g.db")
    cause = "exit code 1\nconnection refused to {name} at /tmp/work/{name}-{n}/logs on 2026-02-0{n}T01:00:00Z"
    for n, name in enumerate(("http-flask", "triton-fil", "triton-python"), start=1):
        play(
            store,
            load_valid_catalog().get(name),
            ["fail-build"],
            summary=cause.format(name=name, n=n),
        )
    play(store, load_valid_catalog().get("http-fastapi"), ["fail-build"], summary="out of memory")
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/g.db")
    doc = json.loads(cli("report", "--json").output)
    assert schema.problems(doc, schema.REPORT_SCHEMA) == []
    (big, small) = doc["failureGroups"]
    assert big["configurations"] == ["http-flask", "triton-fil", "triton-python"]
    assert (
        big["stage"] == "build" and "<config>" in big["signature"] and "<path>" in big["signature"]
    )
    assert small["configurations"] == ["http-fastapi"]
    text = cli("report").output
    assert (
        "FAILURE [unclassified] in build ×3 (http-flask, triton-fil, triton-python): exit code 1"
        in text
    )
    md = cli("report", "--format", "markdown").output
    assert "<summary>[unclassified] build ×3: http-flask, triton-fil, triton-python</summary>" in md
    html = cli("report", "--format", "html").output
    assert "build ×3: http-flask, triton-fil, triton-python" in html


def test_markdown_with_a_baseline_lists_what_newly_failed(cli, tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "b.db")
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/b.db")
    play(store, load_valid_catalog().get("http-flask"), ["pass"])
    play(store, load_valid_catalog().get("triton-fil"), ["fail-build"])
    saved = tmp_path / "before.json"
    saved.write_text(cli("report", "--json").output)
    play(store, load_valid_catalog().get("http-flask"), ["fail-deploy_test"], day0=5)
    play(store, load_valid_catalog().get("triton-fil"), ["pass"], day0=5)
    play(store, load_valid_catalog().get("triton-python"), ["pass"], day0=5)
    md = cli("report", "--format", "markdown", "--baseline", str(saved)).output
    assert "- newly failing: http-flask" in md
    assert "- newly passing: triton-fil" in md
    assert "- new configurations: none" in md  # every catalog entry was in the baseline
    doc = json.loads(cli("report", "--json", "--baseline", str(saved)).output)
    assert doc["changes"] == {
        "newlyFailing": ["http-flask"],
        "newlyPassing": ["triton-fil"],
        "new": [],
    }
    bad = tmp_path / "nope.json"
    bad.write_text("{}")
    refused = cli("report", "--baseline", str(bad))
    assert (
        refused.exit_code == 2
        and refused.output == f"Error: {bad}: not a saved `mlcc-ci report --format json`\n"
    )


@pytest.fixture
def rich(tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore
    from tests.reporting import rich_scenario

    store = SqliteStore(tmp_path / "rich.db")
    roles = rich_scenario(store)
    store.close()
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/rich.db")
    return roles


def test_every_format_tells_the_same_facts(cli, rich):
    """Regression (since when, last pass), fixed, flaky, running (stage), one cause for two
    failures, pass rates and costs: in text, JSON, Markdown and HTML alike."""
    from html import unescape

    doc = json.loads(cli("report", "--format", "json").output)
    assert schema.problems(doc, schema.REPORT_SCHEMA) == []
    configs = doc["configurations"]
    regressed, fixed, flaky, running = (rich[k] for k in ("regressed", "fixed", "flaky", "running"))
    shared = list(rich["shared"])
    assert doc["regressions"] == [regressed, *shared]
    assert doc["fixed"] == [fixed, flaky] and doc["flaky"] == [flaky]
    assert doc["running"] == [running]
    assert configs[running]["running"]["stage"] == "deploy_test"
    assert list(configs[running]["running"]["stagesDone"]) == ["generate", "validate", "build"]
    assert [h["status"] for h in configs[fixed]["history"]] == ["pass", "fail-deploy_test", "pass"]
    assert configs[flaky]["passRate"] == 0.6
    group = next(g for g in doc["failureGroups"] if len(g["configurations"]) == 2)
    assert group["configurations"] == shared and group["stage"] == "build"
    # every run shown has an estimated cost, and the totals add up what is known
    runs = [h for c in configs.values() for h in c["history"]]
    assert len(runs) == 3 + 3 + 5 + 1 + 2 + 2 + 9 and all(h["costUsd"] is not None for h in runs)
    shown = round(sum(h["costUsd"] for h in runs), 2)
    assert round(doc["cost"]["runsShown"]["usd"], 2) == shown
    assert doc["cost"]["monthlyProjection"]["usd"] > 0
    assert doc["cost"]["priceTable"] == "price table v1 of 2026-11-01"
    regression = configs[regressed]["regression"]
    since, last_pass = "2026-02-03 00:00 UTC", "2026-02-02 01:00 UTC"
    assert (regression["since"], regression["lastPass"]) == (
        "2026-02-03T00:00:00.000Z",
        "2026-02-02T01:00:00Z",
    )
    money = f"${configs[fixed]['cost']['lastRun']['usd']:.2f}"

    text = cli("report").output
    md = cli("report", "--format", "markdown").output
    page = cli("report", "--format", "html").output
    html_text = unescape(re.sub(r"<[^>]+>", " ", page))
    for name, out in (("text", text), ("markdown", md), ("html", html_text)):
        flat = " ".join(out.replace("\\", "").split())
        assert f"{regressed}" in flat and f"failing since {since}; last pass {last_pass}" in flat, (
            name
        )
        assert fixed in flat and "passed after failing" in flat, name
        assert f"{flaky}: 4 status changes in its last runs" in flat, name
        assert f"{running}: deploy_test for" in flat, name
        assert ", ".join(shared) in flat and "failed to push" in flat, name
        assert "60% of 5" in flat, name
        assert money in flat, name
        assert f"Cost of the runs shown: ${shown:,.2f}" in flat, name
        assert (
            "Month at the current schedule (each configuration every 24 h to 3.5 d, by its confidence): $"
            in flat
        ), name
        assert "Summary: 19 total | 14 tested | 11 passing | 3 failing" in flat, name
    # the people's formats show times one way only; stage marks: the running run's own
    for out in (text, md):
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", out)
        assert "✓✓✓▶--" in next(
            line for line in out.splitlines() if running in line and "▶" in line
        )
        assert "✓✓✗··✓" in next(
            line for line in out.splitlines() if line.lstrip("| ").startswith(regressed)
        )
    running_row = page.split(f'data-config="{running}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-stage="deploy_test"' in running_row and 'fill="#0969da"' in running_row


def test_log_links_open_the_console_or_what_the_page_can_reach():
    from mlcc_ci.loglinks import log_url, relative_href
    from mlcc_ci.report.render import log_link

    url = log_link("cloudwatch:build/0f1e2d3c-aaaa-bbbb-cccc-123456789abc", "eu-west-1")
    assert url == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        "#logsV2:log-groups/log-group/ml-container-creator-ci/log-events/"
        "build$252F0f1e2d3c-aaaa-bbbb-cccc-123456789abc"
    )
    # a local log: never a file:// link; relative to a report file, or the dashboard's own
    pointer = '/work/a b/"<x>"&.log'
    assert log_link(pointer, "us-east-1") is None
    href = relative_href(Path("/work/reports"))
    assert log_link(pointer, "us-east-1", href) == "../a%20b/%22%3Cx%3E%22%26.log"
    assert href("/work/c:d/logs/build.log") == "../c%3Ad/logs/build.log"  # never a scheme
    served = lambda p: log_url(p, Path("/work"))  # noqa: E731
    assert log_link("/work/http-flask-0123456789ab/logs/build.log", "-", served) == (
        "/logs/http-flask-0123456789ab/build.log"
    )
    assert log_link(pointer, "-", served) is None  # not a stage log of a run folder
    # a region that is not one, or a pointer that is neither, gets no link
    assert log_link("cloudwatch:build/x", "us-east-1.evil.example/") is None
    assert (
        log_link("s3://bucket/key", "us-east-1") is None
        and log_link("cloudwatch:", "us-east-1") is None
    )


# -- the pull request's comment leads with a verdict; the text report fits 100 columns -------

STATIC = "static profile: generation and validation only"  # from the profile's skipReason


@pytest.fixture
def static_runs(tmp_path, monkeypatch):
    """Plays runs under the static profile into one store, which `report` reads."""
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "static.db")
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/static.db")
    catalog = load_valid_catalog()

    def runs(name, statuses, day0=1):
        summary = (
            "generated project failed do/validate: Required parameter 'modelFormat' is missing"
        )
        play(store, catalog.get(name), statuses, day0=day0, summary=summary, profile="static")

    yield runs
    store.close()


SUPPORTED = [e.name for e in load_valid_catalog().entries if e.supported]


def _verdict(cli, *args):
    lines = cli("report", "--format", "markdown", *args).output.splitlines()
    assert lines[0] == "<!-- mlcc-ci-report -->"
    return lines[1]


def test_the_verdict_against_the_stores_history(cli, static_runs):
    assert len(SUPPORTED) == 15
    for name in SUPPORTED:
        if name not in ("http-flask", "triton-fil"):
            static_runs(name, ["pass"])
    assert _verdict(cli) == f"**✅ no failures · 13/15 passing · {STATIC}**"
    static_runs("triton-fil", ["fail-validate"])  # never passed: not a new failure
    assert _verdict(cli) == (
        "**⚠️ 1 configuration failing, none newly: none has passed before (triton-fil) · "
        f"13/15 passing · {STATIC}**"
    )
    static_runs("http-flask", ["pass", "fail-validate"], day0=2)  # passed, now fails
    assert _verdict(cli) == (
        f"**❌ 1 configuration newly failing (http-flask) · 13/15 passing · {STATIC}**"
    )
    static_runs("http-flask", ["pass"], day0=4)
    static_runs("triton-fil", ["pass"], day0=4)
    assert _verdict(cli) == f"**✅ all passing · 15/15 passing · {STATIC}**"


def test_the_verdict_against_a_baseline_names_five_and_counts_the_rest(cli, static_runs, tmp_path):
    for name in SUPPORTED:
        static_runs(name, ["fail-validate" if name == "triton-fil" else "pass"])
    before = tmp_path / "before.json"
    before.write_text(cli("report", "--json").output)
    seven = [n for n in SUPPORTED if n != "triton-fil"][:7]
    for name in seven:
        static_runs(name, ["fail-validate"], day0=2)
    assert _verdict(cli, "--baseline", str(before)) == (
        f"**❌ 7 configurations newly failing ({', '.join(seven[:5])} and 2 more) · "
        f"7/15 passing · {STATIC}**"
    )
    after = tmp_path / "after.json"
    after.write_text(cli("report", "--json").output)
    failing = [n for n in SUPPORTED if n in seven or n == "triton-fil"]
    assert _verdict(cli, "--baseline", str(after)) == (
        "**⚠️ 8 configurations failing, none newly: failing in the baseline too "
        f"({', '.join(failing[:5])} and 3 more) · 7/15 passing · {STATIC}**"
    )
    # a configuration the baseline lacks and that fails is new, and newly failing
    doc = json.loads(after.read_text())
    del doc["configurations"][seven[0]]
    after.write_text(json.dumps(doc))
    assert _verdict(cli, "--baseline", str(after)) == (
        f"**❌ 1 configuration newly failing ({seven[0]}) · 7/15 passing · {STATIC}**"
    )


def test_failing_rows_come_first_passing_ones_fold_and_no_zero_cost_is_said(cli, static_runs):
    for name in SUPPORTED:
        static_runs(name, ["pass"])
    static_runs("triton-fil", ["fail-validate"], day0=2)
    static_runs("http-flask", ["fail-build"], day0=2)
    md = cli("report", "--format", "markdown").output
    lines = md.splitlines()
    opened = lines.index("<details><summary>13 passing</summary>")
    closed = lines.index("</details>", opened)
    rows = [line for line in lines[:opened] if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows] == ["| Config", "| http-flask", "| triton-fil"]
    assert all("❌ fail-" in r for r in rows[1:])
    folded = [line for line in lines[opened:closed] if line.startswith("| ")]
    assert folded[0].startswith("| Config |") and len(folded) == 1 + 13
    assert all("| ✅ pass |" in r for r in folded[1:])
    assert not any(line.startswith("| ") for line in lines[closed:])
    # the static profile bills nothing: no cost line, $0.00 only in the table's cells
    assert not any(line.startswith("- ") and "Cost" in line for line in lines)
    assert "Month at the current schedule" not in md
    assert all(line.startswith("| ") for line in lines if "$0.00" in line)


def test_the_text_report_fits_100_columns(cli, tmp_path, monkeypatch):
    from mlcc_ci.stores.sqlite import SqliteStore
    from tests.reporting import rich_scenario, run_through

    owner = "machine-learning-platform-infrastructure-team.a-long-company-name.example"
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team)).exit_code == 0
    for i, path in enumerate(sorted(team.glob("[a-z]*.yaml"))):
        path.write_text(path.read_text() + f"owner: team-{i % 3}-{owner}\n")
    store = SqliteStore(tmp_path / "wide.db")
    roles = rich_scenario(store)
    long_error = (
        "do/validate exited 1: the generated project's Dockerfile copies code/serve.py, "
        "which the template did not write because the parameter modelServer was empty; "
        "set generatorOptions.modelServer in the catalog entry or pick a backend that "
        "serves the model itself, then run mlcc-ci run NAME --profile static again"
    )
    last = load_valid_catalog().get(SUPPORTED[-1])
    run_through(store, last, [("fail-validate", long_error)], day0=5)
    store.close()
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/wide.db")
    monkeypatch.setenv("COLUMNS", "100")
    out = cli("--catalog", str(team), "report").output
    too_wide = [line for line in out.splitlines() if len(line) > 100]
    assert too_wide == []
    lines = out.splitlines()
    header = ["Config", "Status", "Last Test", "Stages", "Pass rate", "Cost"]
    assert lines[2].split() == " ".join(header).split()
    assert "Left out to fit 100 columns: Project, Duration, Owner" in out
    regressed = next(i for i, line in enumerate(lines) if line.startswith(roles["regressed"]))
    assert "fail-build" in lines[regressed] and lines[regressed + 1].strip() == "[unclassified]"
    assert lines[regressed + 2].strip() == "⚠️ REGRESSION"
    # the first failure is whole, wrapped at spaces
    flat = " ".join(out.split())
    assert f"FAILURE in validate ×1 ({last.name}): validate failed: {long_error}" not in flat
    assert f"({last.name}): {long_error}" in flat
    # a wider terminal gets every column, and the owners in them
    monkeypatch.setenv("COLUMNS", "300")
    wide = cli("--catalog", str(team), "report").output
    assert wide.splitlines()[2].split()[-2:] == ["Owner", "Profile"]
    assert f"team-0-{owner}" in wide and "Left out" not in wide
