"""Failure classes in every format: failures by class then rule and capture (unclassified by
signature), a blocked configuration as `blocked (CLASS)` with since when, a harness error as
mlcc-ci's own, the infrastructure noise over the runs shown, and a pull request's comment that
blames a change for what it broke and not for what the infrastructure did. Built from a real
SQLite store, written through the store's API as the runner writes (tests/reporting.py)."""

import json
import re

import pytest

from mlcc_ci import schema
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Blocked, Failure
from mlcc_ci.stores.sqlite import SqliteStore
from tests.reporting import EVIL, XSS_CAPTURE, attempts, classes_scenario

pytestmark = pytest.mark.functional

# product (regressed, its capture XSS_CAPTURE), unclassified (its summary EVIL), blocked by
# capacity, throttled then passed on a retry, harness error on its last run
NAMES = ("http-flask", "http-fastapi", "triton-fil", "triton-python", "transformers-vllm")
NOISE = (
    "Infrastructure noise in the 13 runs shown (2026-02-01 to 2026-02-05): capacity 3, quota 1, "
    "throttling 1, other infra 0, credentials 0; 2 of the 5 on retried attempts; harness errors 1"
)
BLOCKED = (
    "capacity at deploy_test since 2026-02-03 00:00 UTC, 1 run in a row; next try after "
    "2026-02-03 01:30 UTC; last product result: pass"
)
CAPACITY = "Unable to provision requested ML compute capacity"


@pytest.fixture
def classes(tmp_path, monkeypatch):
    store = SqliteStore(tmp_path / "classes.db")
    classes_scenario(store, NAMES)
    store.close()
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/classes.db")
    monkeypatch.setenv("COLUMNS", "120")
    return f"sqlite:///{tmp_path}/classes.db"


def test_text(cli, classes):
    out = cli("report").output
    rows = [line for line in out.splitlines() if line.split(" ")[0] in NAMES]
    assert rows == [
        "transformers-vllm          pass                                2026-02-01 00:10 UTC  ✓----✓    100% of 1    $0.00",
        "http-fastapi               fail-build [unclassified]           2026-02-01 00:10 UTC  ✓-✗--✓    0% of 1      $0.00",
        "http-flask                 fail-build [product] ⚠️ REGRESSION  2026-02-02 00:10 UTC  ✓-✗--✓    50% of 2     $0.00",
        "triton-fil                 blocked (capacity)                  2026-02-01 00:10 UTC  ✓----✓    100% of 1    $0.01",
        "triton-python              pass                                2026-02-04 00:20 UTC  ✓----✓    100% of 2    $0.00",
    ]
    tail = out[out.index("Summary: ") :]
    assert tail == (
        "Summary: 19 total | 5 tested | 2 passing | 2 failing | 1 unproven (blocked) | 10 untested | 4 unsupported | 26.3%\n"
        "    coverage | 1 blocked by infrastructure\n"
        "Stages: generate validate build deploy_test register teardown (✓ pass ✗ fail · skip ▶ running - not run)\n"
        "Cost of the runs shown: $0.05 (price table v1 of 2026-11-01)\n"
        "Cost per day: 2026-02-05 $0.00; 2026-02-04 $0.02; 2026-02-03 $0.02; 2026-02-02 $0.01; 2026-02-01 $0.00\n"
        "Month at the current schedule (each configuration every 24 h to 3.5 d, by its confidence): $0.24\n"
        "Infrastructure noise in the 13 runs shown (2026-02-01 to 2026-02-05): capacity 3, quota 1, throttling 1, other infra 0,\n"
        "    credentials 0; 2 of the 5 on retried attempts; harness errors 1\n"
        "Unsupported by the generator (4): http-nginx, diffusors-comfyui, diffusors-sglang, marketplace\n"
        "REGRESSION http-flask: failing since 2026-02-02 00:00 UTC; last pass 2026-02-01 00:10 UTC (run http-flask-1a1)\n"
        "BLOCKED triton-fil: capacity at deploy_test since 2026-02-03 00:00 UTC, 1 run in a row; next try after 2026-02-03 01:30\n"
        "    UTC; last product result: pass\n"
        "FAILURE [product, pip-no-matching-distribution: <script>window.__xss=3</script>] in build ×1 (http-flask):\n"
        "    <script>window.__xss=3</script>\n"
        "    log of http-flask: mlcc-ci logs http-flask --stage build\n"
        "FAILURE [unclassified] in build ×1 (http-fastapi): <script>window.__xss=1</script><img src=x onerror=window.__xss=2> |\n"
        "    pipe ``` fence ```` breakout <b>x</b> & done\n"
        "    log of http-fastapi: mlcc-ci logs http-fastapi --stage build\n"
        "BLOCKED [capacity, sagemaker-capacity: Unable to provision requested ML compute capacity] at deploy_test ×1\n"
        "    (triton-fil): not the configuration's\n"
        "ERROR [harness, harness-internal-error: KeyError] in generate ×1 (transformers-vllm): mlcc-ci's own error, not the\n"
        "    configuration's\n"
    )


def test_json(cli, classes):
    doc = json.loads(cli("report", "--json").output)
    assert schema.problems(doc, schema.REPORT_SCHEMA) == []
    # a block proves nothing: triton-fil's last pass is not counted as passing
    assert doc["summary"]["blocked"] == 1 and doc["summary"]["passing"] == 2
    assert doc["summary"]["unproven"] == 1 and doc["suspects"] == []
    assert doc["blocked"] == ["triton-fil"] and doc["errors"] == ["transformers-vllm"]
    assert doc["noise"] == {
        "runs": 13,
        "from": "2026-02-01T00:00:00.000Z",
        "to": "2026-02-05T00:10:00Z",
        "capacity": 3,
        "quota": 1,
        "throttling": 1,
        "infra": 0,
        "credentials": 0,
        "total": 5,
        "retried": 2,
        "harnessErrors": 1,
        "configurations": 3,
    }
    assert doc["failuresByClass"] == {
        "product": ["http-flask"],
        "unclassified": ["http-fastapi"],
        "capacity": ["triton-fil"],
        "harness": ["transformers-vllm"],
    }
    assert doc["failureGroups"] == [
        {
            "class": "product",
            "kind": "failure",
            "stage": "build",
            "rule": "pip-no-matching-distribution",
            "capture": XSS_CAPTURE,
            "signature": f"pip-no-matching-distribution: {XSS_CAPTURE}",
            "sample": XSS_CAPTURE,
            "configurations": ["http-flask"],
        },
        {
            "class": "unclassified",
            "kind": "failure",
            "stage": "build",
            "rule": None,
            "capture": None,
            "signature": "<script>window.__xss=<n></script><img src=x onerror=window.__xss=<n>> "
            "| pipe ``` fence ```` breakout <b>x</b> & done",
            "sample": EVIL,
            "configurations": ["http-fastapi"],
        },
        {
            "class": "capacity",
            "kind": "blocked",
            "stage": "deploy_test",
            "rule": "sagemaker-capacity",
            "capture": CAPACITY,
            "signature": f"sagemaker-capacity: {CAPACITY}",
            "sample": CAPACITY,
            "configurations": ["triton-fil"],
        },
        {
            "class": "harness",
            "kind": "error",
            "stage": "generate",
            "rule": "harness-internal-error",
            "capture": "KeyError",
            "signature": "harness-internal-error: KeyError",
            "sample": "KeyError",
            "configurations": ["transformers-vllm"],
        },
    ]
    configs = doc["configurations"]
    keys = ("status", "shownStatus", "failure", "blocked", "lastError")
    assert {n: {k: configs[n][k] for k in keys} for n in NAMES} == {
        "http-flask": {
            "status": "fail-build",
            "shownStatus": "fail-build [product]",
            "failure": {
                "class": "product",
                "stage": "build",
                "rule": "pip-no-matching-distribution",
                "capture": XSS_CAPTURE,
            },
            "blocked": None,
            "lastError": None,
        },
        "http-fastapi": {
            "status": "fail-build",
            "shownStatus": "fail-build [unclassified]",
            "failure": {"class": "unclassified", "stage": "build", "rule": None, "capture": None},
            "blocked": None,
            "lastError": None,
        },
        "triton-fil": {
            "status": "pass",  # what the product last proved: a script reading it is not misled
            "shownStatus": "blocked (capacity)",
            "failure": None,
            "blocked": {
                "class": "capacity",
                "stage": "deploy_test",
                "since": "2026-02-03T00:00:00.000Z",
                "retryAfter": "2026-02-03T01:30:00Z",
                "rounds": 1,
                "rule": "sagemaker-capacity",
                "capture": CAPACITY,
            },
            "lastError": None,
        },
        "triton-python": {
            "status": "pass",
            "shownStatus": "pass",
            "failure": None,
            "blocked": None,
            "lastError": None,
        },
        "transformers-vllm": {
            "status": "pass",
            "shownStatus": "pass",
            "failure": None,
            "blocked": None,
            "lastError": {
                "runId": "transformers-vllm-5a1",
                "finishedAt": "2026-02-05T00:10:00Z",
                "stage": "generate",
                "rule": "harness-internal-error",
                "capture": "KeyError",
            },
        },
    }
    runs = [
        (h["runId"], h["status"], h["failure"], h["attempt"])
        for h in configs["triton-fil"]["history"]
    ]
    capacity = {
        "class": "capacity",
        "stage": "deploy_test",
        "rule": "sagemaker-capacity",
        "capture": CAPACITY,
    }
    assert runs == [
        ("triton-fil-3a3", "fail-deploy_test", capacity, 3),
        ("triton-fil-3a2", "fail-deploy_test", capacity, 2),
        ("triton-fil-3a1", "fail-deploy_test", capacity, 1),
        ("triton-fil-1a1", "pass", None, 1),
    ]
    # the capacity failures count toward nothing the product is judged by
    assert (configs["triton-fil"]["passRate"], configs["triton-fil"]["runs"]) == (1.0, 1)


def test_markdown(cli, classes):
    md = cli("report", "--format", "markdown").output
    head = md[: md.index("| Config |")]
    assert head == (
        "<!-- mlcc-ci-report -->\n"
        "**❌ 1 configuration newly failing (http-flask) · 2/15 passing · 1 blocked by "
        "the infrastructure, nothing proven (triton-fil: capacity) · 1 harness error, mlcc-ci's "
        "own (transformers-vllm) · default profile**\n"
        "\n"
        "mlcc-ci coverage · Summary: 19 total | 5 tested | 2 passing | 2 failing | "
        "1 unproven (blocked) | 10 untested | 4 unsupported | 26.3% coverage | 1 blocked by "
        "infrastructure\n"
        "\n"
        "- Cost of the runs shown: $0.05 (price table v1 of 2026-11-01)\n"
        "- Cost per day: 2026-02-04 $0.02; 2026-02-03 $0.02; 2026-02-02 $0.01\n"
        "- Month at the current schedule (each configuration every 24 h to 3.5 d, by its confidence): $0.24\n"
        f"- {NOISE}\n"
        "\n"
        "### Caused by this change\n"
        "\n"
        "- http-flask: fail-build \\[product\\] · pip-no-matching-distribution: "
        "&lt;script&gt;window.\\_\\_xss=3&lt;/script&gt;\n"
        "\n"
        "### Not caused by this change: infrastructure\n"
        "\n"
        "- **capacity** at deploy\\_test · sagemaker-capacity: Unable to provision requested ML "
        "compute capacity ×1: triton-fil (blocked since 2026-02-03 00:00 UTC, 1 run in a row)\n"
        "- **harness** at generate · harness-internal-error: KeyError ×1: transformers-vllm "
        "(mlcc-ci's own error on 2026-02-05 00:10 UTC)\n"
        "\n"
        "### Regressions\n"
        "\n"
        "- http-flask: failing since 2026-02-02 00:00 UTC; last pass 2026-02-01 00:10 UTC "
        "(run http-flask-1a1)\n"
        "\n"
        "### Failures by class\n"
        "\n"
        "<details><summary>[product] build ×1: http-flask · pip-no-matching-distribution: "
        "&lt;script&gt;window.__xss=3&lt;/script&gt;</summary>\n"
        "\n"
        "```text\n"
        "<script>window.__xss=3</script>\n"
        "```\n"
        "\n"
        "</details>\n"
        "\n"
        "<details><summary>[unclassified] build ×1: http-fastapi</summary>\n"
        "\n"
        "`````text\n"
        f"{EVIL}\n"
        "`````\n"
        "\n"
        "</details>\n"
        "\n"
    )
    rows = [line for line in md.splitlines() if line.split(" | ")[0].lstrip("| ") in NAMES]
    assert rows == [
        "| http-fastapi | ❌ fail-build \\[unclassified\\] | 2026-02-01 00:10 UTC | 35s | ✓-✗--✓ | 0% of 1 | $0.00 | ml-platform | default |",
        "| http-flask | ❌ fail-build \\[product\\] ⚠️ **REGRESSION** | 2026-02-02 00:10 UTC | 35s | ✓-✗--✓ | 50% of 2 | $0.00 | ml-platform | default |",
        "| triton-fil | 🚧 blocked (capacity) since 2026-02-03 00:00 UTC | 2026-02-01 00:10 UTC | 35s | ✓----✓ | 100% of 1 | $0.01 | ml-platform | default |",
        "| transformers-vllm | ✅ pass (last run: harness error) | 2026-02-01 00:10 UTC | 35s | ✓----✓ | 100% of 1 | $0.00 | ml-platform | default |",
        "| triton-python | ✅ pass | 2026-02-04 00:20 UTC | 35s | ✓----✓ | 100% of 2 | $0.00 | ml-platform | default |",
    ]
    # outside the fences, the captures from logs are inert text
    outside = re.sub(r"^(`{3,})text\n.*?\n\1$", "", md, flags=re.S | re.M)
    assert "<script" not in outside and "<img" not in outside and "&lt;script&gt;" in outside


def _section(page: str, start: str, end: str) -> str:
    at = page.index(start)
    return page[at : page.index(end, at) + len(end)]


def test_html(cli, classes):
    from mlcc_ci.report.render import script

    page = cli("report", "--format", "html").output
    # one script, the shipped one; neither capture nor summary runs
    assert page.count("<script") == 1 and f"<script>{script()}</script>" in page
    assert "<script>window.__xss" not in page and "<img src=x" not in page
    assert _section(page, '<div id="noise">', "</div>") == (
        '<div id="noise">\n'
        f"<p>{NOISE}</p>\n"
        '<table class="noise"><tr><th>capacity</th><th>quota</th><th>throttling</th>'
        "<th>other infra</th><th>credentials</th><th>on retried attempts</th>"
        "<th>harness errors</th></tr>\n"
        "<tr><td>3</td><td>1</td><td>1</td><td>0</td><td>0</td><td>2</td><td>1</td></tr></table>\n"
        "</div>"
    )
    assert _section(page, '<ul id="blocked">', "</ul>") == (
        f'<ul id="blocked">\n<li data-config="triton-fil"><b>triton-fil</b>: {BLOCKED}</li>\n</ul>'
    )
    assert _section(page, '<ul id="errors">', "</ul>") == (
        '<ul id="errors">\n'
        '<li data-config="transformers-vllm"><b>transformers-vllm</b>: harness error at generate '
        "on 2026-02-05 00:10 UTC (harness-internal-error: KeyError): mlcc-ci&#39;s own, not "
        "counted against the configuration</li>\n"
        "</ul>"
    )
    xss = "&lt;script&gt;window.__xss=3&lt;/script&gt;"
    evil = (
        "&lt;script&gt;window.__xss=1&lt;/script&gt;&lt;img src=x onerror=window.__xss=2&gt; "
        "| pipe ``` fence ```` breakout &lt;b&gt;x&lt;/b&gt; &amp; done"
    )
    blocked_meaning = "blocked by the infrastructure, not the configuration&#39;s"
    assert _section(page, '<div id="failure-groups">', "</div>") == (
        '<div id="failure-groups">\n'
        '<section class="failure-class" data-class="product"><h3>product <span class="muted">'
        "the configuration&#39;s (a rule says so)</span></h3>\n"
        '<details data-rule="pip-no-matching-distribution"><summary>build ×1: http-flask · '
        f"pip-no-matching-distribution: {xss}</summary><pre>{xss}</pre></details>\n"
        "</section>\n"
        '<section class="failure-class" data-class="unclassified"><h3>unclassified '
        '<span class="muted">no rule matched: counted against the configuration</span></h3>\n'
        f'<details data-rule=""><summary>build ×1: http-fastapi</summary><pre>{evil}</pre>'
        "</details>\n"
        "</section>\n"
        '<section class="failure-class" data-class="capacity"><h3>capacity '
        f'<span class="muted">{blocked_meaning}</span></h3>\n'
        '<details data-rule="sagemaker-capacity"><summary>deploy_test ×1: triton-fil · '
        f"sagemaker-capacity: {CAPACITY}</summary><pre>{CAPACITY}</pre></details>\n"
        "</section>\n"
        '<section class="failure-class" data-class="harness"><h3>harness <span class="muted">'
        "mlcc-ci&#39;s own errors, not the configuration&#39;s</span></h3>\n"
        '<details data-rule="harness-internal-error"><summary>generate ×1: transformers-vllm · '
        "harness-internal-error: KeyError</summary><pre>KeyError</pre></details>\n"
        "</section>\n"
        "</div>"
    )

    def status_cell(name: str) -> str:
        row = page.split(f'<tr data-config="{name}" ', 1)[1].split("</tr>", 1)[0]
        return _section(row, '<td class="status">', "</td>")

    assert status_cell("triton-fil") == (
        '<td class="status"><span class="badge blocked">blocked (capacity)</span>'
        f'<div class="blocked-since">{BLOCKED}</div></td>'
    )
    assert status_cell("http-flask") == (
        '<td class="status"><span class="badge fail">fail-build</span>'
        '<span class="cls cls-product">product</span><span class="flag" title="failing since '
        '2026-02-02 00:00 UTC; last pass 2026-02-01 00:10 UTC">REGRESSION</span>'
        f"<details><summary>build failed</summary><pre>{xss}</pre></details></td>"
    )
    assert status_cell("transformers-vllm") == (
        '<td class="status"><span class="badge pass">pass</span><div class="error">last run: '
        "harness error at generate on 2026-02-05 00:10 UTC (harness-internal-error: KeyError): "
        "mlcc-ci&#x27;s own, not counted against the configuration</div></td>"
    )
    assert 'data-config="triton-fil" data-status="pass" data-group="blocked"' in page


def test_status_shows_blocked(cli, classes):
    one = cli("status", "triton-fil").output
    assert one == (
        "triton-fil: blocked (capacity)\n"
        "  configId:   2448f10e8dac6e0c\n"
        "  project:    mlcc-ci-triton-fil\n"
        "  support:    supported\n"
        "  owner:      ml-platform; triton, ml.g5.xlarge in us-east-1\n"
        "  last test:  2026-02-01 00:10 UTC, 35s, profile default\n"
        "  last pass:  2026-02-01 00:10 UTC\n"
        "  pass rate:  100% of 1\n"
        "  stages:     generate ✓  validate -  build -  deploy_test -  register -  teardown ✓\n"
        "  BLOCKED:    capacity at deploy_test since 2026-02-03 00:00 UTC, 1 run in a row; next try after\n"
        "    2026-02-03 01:30 UTC; last product result: pass\n"
        "  blocked by: sagemaker-capacity: Unable to provision requested ML compute capacity\n"
        "\n"
        "History (newest first, 4 runs; the error under each failure):\n"
        "  Finished              Status                                  Duration  Failed stage\n"
        "  2026-02-03 00:30 UTC  fail-deploy_test [capacity], attempt 3  35s       deploy_test\n"
        "                        deploy_test failed: Unable to provision requested ML compute capacity\n"
        "  2026-02-03 00:20 UTC  fail-deploy_test [capacity], attempt 2  35s       deploy_test\n"
        "                        deploy_test failed: Unable to provision requested ML compute capacity\n"
        "  2026-02-03 00:10 UTC  fail-deploy_test [capacity]             35s       deploy_test\n"
        "                        deploy_test failed: Unable to provision requested ML compute capacity\n"
        "  2026-02-01 00:10 UTC  pass                                    35s       -\n"
    )
    errored = cli("status", "transformers-vllm").output.splitlines()
    assert errored[0] == "transformers-vllm: pass"
    assert errored[9:11] == [
        "  ERROR:      harness error at generate on 2026-02-05 00:10 UTC (harness-internal-error: KeyError):",
        "    mlcc-ci's own, not counted against the configuration",
    ]
    assert errored[-3:-1] == [
        "  2026-02-05 00:10 UTC  error [harness]  35s       generate",
        "                        generate failed: KeyError",
    ]
    flask = cli("status", "http-flask").output.splitlines()
    assert flask[0] == "http-flask: fail-build [product] ⚠️ REGRESSION"
    assert flask[9] == f"  class:      product (pip-no-matching-distribution: {XSS_CAPTURE})"
    counts = cli("status").output
    assert counts == (
        "CI system status\n"
        "  Configurations:  19\n"
        "  Records:         5\n"
        "  Tested:          5\n"
        "  Running:         0\n"
        "  Passing:         2\n"
        "  Failing:         2\n"
        "  Unproven:        1\n"
        "  Untested:        10\n"
        "  Unsupported:     4\n"
        "  Coverage:        26.3%\n"
        "  Last completed:  2026-02-04 00:20 UTC\n"
        f"  Store:           {classes.replace(':////', ':///')}\n"
        "  Blocked:         1 by the infrastructure (counted above: 1 unproven; a block is "
        "never counted as passing)\n"
        "  - triton-fil: pass, blocked (capacity) since 2026-02-03 00:00 UTC\n"
    )
    # each configuration counted once: the rows that share them out add up to the total
    table = counts.split("  Store:")[0].splitlines()[1:]
    rows = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in table)}
    apart = ("Configurations", "Records", "Tested", "Coverage", "Last completed")
    shared = [int(v) for k, v in rows.items() if k not in apart]
    assert len(shared) == 6 and sum(shared) == int(rows["Configurations"])
    assert json.loads(cli("status", "--json").output)["blocked"] == 1


# -- the pull request's comment: what the change caused, apart from the infrastructure ------


def test_the_pr_comment_never_blames_the_change_for_a_capacity_block(cli, tmp_path, monkeypatch):
    from tests.test_adoption import GitHub

    store = SqliteStore(tmp_path / "pr.db")
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/pr.db")
    catalog = load_valid_catalog()
    from mlcc_ci.registration import from_entry

    def record(name):
        entry = catalog.get(name)
        store.register(from_entry(entry), "2026-01-01T00:00:00Z")
        return store.get(entry.config_id)

    for name in ("http-flask", "triton-fil", "triton-python"):
        attempts(store, record(name), 1, [("pass", None)])
    baseline = tmp_path / "baseline.json"
    baseline.write_text(cli("report", "--json").output)

    # the change: SageMaker has no capacity for triton-fil, whatever the change did
    capacity = Failure("capacity", "deploy_test", "sagemaker-capacity", CAPACITY)
    block = Blocked(
        "capacity",
        "deploy_test",
        since="2026-02-02T00:00:00.000Z",
        retryAfter="2026-02-02T02:00:00Z",
        rule="sagemaker-capacity",
        capture=CAPACITY,
        rounds=2,
    )
    attempts(store, record("triton-fil"), 2, [("fail-deploy_test", capacity)] * 3, blocked=block)
    comment = tmp_path / "comment.md"
    args = ("report", "--format", "markdown", "--baseline", str(baseline), "-o", str(comment))
    assert cli(*args).exit_code == 0
    md = comment.read_text()
    verdict = md.splitlines()[1]
    assert verdict == (
        "**⚠️ 1 blocked by the infrastructure, nothing proven (triton-fil: capacity) · "
        "2/15 passing · default profile**"
    )
    assert "### Caused by this change" not in md
    assert (
        "### Not caused by this change: infrastructure\n\n"
        "- **capacity** at deploy\\_test · sagemaker-capacity: Unable to provision requested ML "
        "compute capacity ×1: triton-fil (blocked since 2026-02-02 00:00 UTC, 2 runs in a row)\n"
    ) in md
    assert "- newly failing: none" in md

    # then the change breaks http-flask: that, and only that, is the change's
    pip = Failure("product", "build", "pip-no-matching-distribution", "torch==9.9")
    attempts(store, record("http-flask"), 3, [("fail-build", pip)])
    assert cli(*args).exit_code == 0
    md = comment.read_text()
    assert md.splitlines()[1] == (
        "**❌ 1 configuration newly failing (http-flask) · 1/15 passing · 1 blocked by "
        "the infrastructure, nothing proven (triton-fil: capacity) · default profile**"
    )
    caused = md[md.index("### Caused by this change") : md.index("### Regressions")]
    assert caused == (
        "### Caused by this change\n"
        "\n"
        "- http-flask: fail-build \\[product\\] · pip-no-matching-distribution: torch==9.9\n"
        "\n"
        "### Not caused by this change: infrastructure\n"
        "\n"
        "- **capacity** at deploy\\_test · sagemaker-capacity: Unable to provision requested ML "
        "compute capacity ×1: triton-fil (blocked since 2026-02-02 00:00 UTC, 2 runs in a row)\n"
        "\n"
    )
    store.close()

    # posted as the pull request's one comment, as the workflow does
    github = GitHub(token="ghs_test_token_for_the_fake_api_only")
    try:
        env = {
            "GITHUB_TOKEN": github.token,
            "GITHUB_REPOSITORY": "team/service",
            "GITHUB_API_URL": github.url,
        }
        posted = cli("pr-comment", str(comment), "--pr", "7", env=env)
        assert posted.exit_code == 0 and posted.output == "created comment 1000 on #7\n"
        assert github.comments[7][0]["body"] == md
    finally:
        github.stop()


def test_noise_counts_every_bucket_and_a_retried_blocked_one_is_running(cli, tmp_path, monkeypatch):
    """Other infra and credentials have buckets of their own; a blocked configuration the
    scanner is trying again reads `running`, and is neither blocked nor a group meanwhile."""
    from mlcc_ci.registration import from_entry
    from mlcc_ci.stores.base import claim

    store = SqliteStore(tmp_path / "n.db")
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/n.db")
    catalog = load_valid_catalog()

    def record(name):
        entry = catalog.get(name)
        store.register(from_entry(entry), "2026-01-01T00:00:00Z")
        return store.get(entry.config_id)

    hub = Failure("infra", "build", "dockerhub-rate-limit", "You have reached your pull rate limit")
    attempts(
        store, record("http-flask"), 1, [("fail-build", hub), ("fail-build", hub), ("pass", None)]
    )
    expired = Failure("credentials", "deploy_test", "aws-expired-credentials", "ExpiredToken")
    block = Blocked(
        "credentials", "deploy_test", "2026-02-02T00:00:00.000Z", "2026-02-02T01:00:00Z"
    )
    blocked = attempts(
        store, record("triton-fil"), 2, [("fail-deploy_test", expired)], blocked=block
    )
    doc = json.loads(cli("report", "--json").output)
    assert doc["noise"] == {
        "runs": 4,
        "from": "2026-02-01T00:00:00.000Z",
        "to": "2026-02-02T00:10:00Z",
        "capacity": 0,
        "quota": 0,
        "throttling": 0,
        "infra": 2,
        "credentials": 1,
        "total": 3,
        "retried": 1,
        "harnessErrors": 0,
        "configurations": 2,
    }
    assert doc["blocked"] == ["triton-fil"] and doc["summary"]["blocked"] == 1
    assert doc["configurations"]["triton-fil"]["shownStatus"] == "blocked (credentials)"
    assert doc["configurations"]["http-flask"]["passRate"] == 1.0  # the rate limit is no failure

    claim(store, blocked, "again", "2026-02-03T00:00:00.000Z")
    doc = json.loads(cli("report", "--json").output)
    assert doc["configurations"]["triton-fil"]["shownStatus"] == "running"
    assert (doc["blocked"], doc["summary"]["blocked"], doc["failureGroups"]) == ([], 0, [])
    store.close()
