"""Render a Report as text, JSON, Markdown or HTML. Everything from logs, configs or users
is escaped: HTML through jinja2 autoescape, Markdown cells and fences by hand."""

import json
import re
import textwrap
from collections.abc import Callable, Sequence
from functools import cache
from html import escape
from typing import Any
from urllib.parse import quote

from mlcc_ci import clock
from mlcc_ci.aws.cloudwatch import log_group
from mlcc_ci.constants import RUNNING, STAGES
from mlcc_ci.cost import Total, money
from mlcc_ci.history import WINDOW
from mlcc_ci.models import Cost
from mlcc_ci.report import charts, sections
from mlcc_ci.report.charts import seconds, word
from mlcc_ci.report.classes import FailureGroup, shown_status
from mlcc_ci.report.model import REPORT_VERSION, ConfigReport, Report
from mlcc_ci.safetext import capped

FORMATS = ("text", "json", "markdown", "html")
EXAMPLE_NOTE = (
    "Results from the example profile prove the harness on this machine, not the containers in AWS."
)


def _duration(value: float | None) -> str:
    return "-" if value is None else seconds(value)


def _status(c: ConfigReport) -> str:
    """`fail-build [product] ⚠️ REGRESSION`, `blocked (capacity)`, `pass`."""
    shown = shown_status(c)
    return f"{shown} ⚠️ REGRESSION" if c.regression else shown


# -- shared -------------------------------------------------------------------------------


def _cost(c: ConfigReport) -> str:
    """The last run's cost, or '-' for a configuration that never ran."""
    return money(c.lastCost.usd) if c.lastCost else "-"


_MARK = {"pass": "✓", "fail": "✗", "skip": "·"}
STAGE_KEY = (
    "stages: generate validate build deploy_test register teardown "
    "(✓ pass ✗ fail · skip ▶ running - not run)"
)


def _stages(c: ConfigReport) -> str:
    """The stages in lifecycle order, one mark each: of the run under way for a running
    configuration (never the previous run's), else of the last run."""
    running = c.status == RUNNING
    results = c.runStages if running else c.stageResults
    if not running and not results:
        return "-"
    current = c.currentStage if running else None
    return "".join(
        "▶" if s == current else _MARK.get(r.status, "?") if (r := results.get(s)) else "-"
        for s in STAGES[:-1]
    )


def _rate(c: ConfigReport) -> str:
    return "-" if c.passRate is None else f"{c.passRate * 100:.0f}% of {min(c.runs, WINDOW)}"


def _seconds_since(since: str | None, now: str) -> float | None:
    """Seconds from `since` to `now` (never below 0); None when `since` is none or no time."""
    if not since:
        return None
    try:
        return max((clock.parse(now) - clock.parse(since)).total_seconds(), 0.0)
    except ValueError:
        return None


def _elapsed(since: str | None, now: str) -> str:
    spent = _seconds_since(since, now)
    return "-" if spent is None else seconds(spent)


def _running_state(c: ConfigReport, now: str) -> str:
    """`STAGE for ELAPSED (run started WHEN, ELAPSED ago)`."""
    stage = c.currentStage or "starting"
    return (
        f"{stage} for {_elapsed(c.currentStageStartedAt, now)} "
        f"(run started {clock.display(c.runStartedAt)}, {_elapsed(c.runStartedAt, now)} ago)"
    )


def _zero(t: Total) -> bool:
    return t.usd == 0 and not t.unknown


def _cost_lines(report: Report, *, hide_zero: bool = False) -> list[str]:
    """Cost shown, per day, and the month at the current schedule, in one wording.
    `hide_zero`: only the figures that are not $0 (a pull request's unbilled profile)."""
    by_day = [(d, t) for d, t in report.cost_by_day[:7] if not (hide_zero and _zero(t))]
    days = "; ".join(f"{day} {t.text}" for day, t in by_day) or "none"
    lines = []
    if not (hide_zero and _zero(report.cost_shown)):
        lines.append(f"Cost of the runs shown: {report.cost_shown.text} ({report.prices})")
    if by_day or not hide_zero:
        lines.append(f"Cost per day: {days}")
    if not (hide_zero and _zero(report.monthly)):
        every = f"{report.scheduleHours:g} h"
        lines.append(
            f"Month at the current schedule (each configuration every {every}): "
            f"{report.monthly.text}"
        )
    return lines


LogHref = Callable[[str], str | None]


def log_link(pointer: str, region: str, local: LogHref | None = None) -> str | None:
    """Where a stage's log can be read: the CloudWatch console for a `cloudwatch:STREAM`
    pointer; for a local path what `local` makes of it (the dashboard's own address of the
    log, or a path relative to a report file); None for anything else. Never a file:// URL:
    a page served over HTTP cannot open one."""
    if pointer.startswith("cloudwatch:"):
        stream = pointer.removeprefix("cloudwatch:")
        if not stream or not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d", region):
            return None

        def part(text: str) -> str:  # the console's own escaping of a name in its URL
            return quote(quote(text, safe=""), safe="").replace("%", "$")

        return (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logsV2:log-groups/log-group/{part(log_group())}/log-events/{part(stream)}"
        )
    if local is not None and pointer.startswith("/"):
        return local(pointer)
    return None


# -- text ---------------------------------------------------------------------------------


def text(report: Report, width: int = 100) -> str:
    """`width`: the columns the report fits: the table leaves out or cuts what does not fit,
    every other line is wrapped at spaces (a longer word, such as a log's path, stays whole)."""
    table, notes = _text_table(report.configurations, width)
    lines = ["CI Coverage Report", "", table, ""]
    wrap = textwrap.TextWrapper(
        width=max(width, 40),
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    said: list[str] = [*notes]
    key = STAGE_KEY.capitalize()
    if len(key) > width:  # the stages on one line, the marks under them
        stages, marks = key.split(" (", 1)
        key = f"{stages}\n    ({marks}"
    said += [report.summary.line(), *key.split("\n"), *_cost_lines(report)]
    said.append(report.noise.line())
    unsupported = [c.name for c in report.configurations if c.supportState == "unsupported"]
    if unsupported:
        said.append(f"Unsupported by the generator ({len(unsupported)}): {', '.join(unsupported)}")
    for c in report.running:
        said.append(f"RUNNING {c.name}: {_running_state(c, report.generatedAt)}")
    said += _change_lines(report)
    for c in report.regressions:
        assert c.regression
        said.append(
            f"REGRESSION {c.name}: failing since {clock.display(c.regression.since)}; "
            f"last pass {clock.display(c.regression.lastPass)} (run {c.regression.lastPassRunId})"
        )
    for c in report.fixed:
        said.append(f"FIXED {c.name}: passed after failing")
    for c in report.flaky:
        said.append(f"FLAKY {c.name}: {c.flips} status changes in its last runs")
    said += [f"BLOCKED {c.name}: {sections.blocked_text(c)}" for c in report.blocked]
    lines += [part for line in said for part in wrap.wrap(line)]
    for g in report.failure_groups:
        lines += _failure_group(report, g, width)
    tail = [f"UNREADABLE record {k}: {reason}" for k, reason in report.unreadable.items()]
    if report.profiles.get("example"):
        tail.append(f"Note: {EXAMPLE_NOTE}")
    lines += [part for line in tail for part in wrap.wrap(line)]
    return "\n".join(lines) + "\n"


def _text_table(configs: Sequence[ConfigReport], width: int) -> tuple[str, list[str]]:
    """The table of the text report, fitted to `width` (see texttable)."""
    from mlcc_ci.report.texttable import Column, fit

    status = [_status(c) for c in configs]
    # what _status adds, the class and the flag: under the status when the table is narrow
    flag = " ⚠️ REGRESSION"
    narrow = [
        s.replace(flag, "\n" + flag[1:]).replace(" [", "\n[").replace("blocked (", "blocked\n(")
        for s in status
    ]
    return fit(
        [
            Column("Config", [c.name for c in configs], least=16),
            Column("Status", status, narrow=narrow),
            Column("Project", [c.project or "-" for c in configs], required=False),
            Column("Last Test", [clock.display(c.lastTest) for c in configs]),
            Column("Duration", [_duration(c.duration) for c in configs], required=False),
            Column("Stages", [_stages(c) for c in configs]),
            Column("Pass rate", [_rate(c) for c in configs]),
            Column("Cost", [_cost(c) for c in configs]),
            Column("Owner", [c.owner for c in configs], required=False, least=10),
            Column("Profile", [c.profile or "-" for c in configs], required=False),
        ],
        width,
    )


FAILURE_LOGS_SHOWN = 3


def _failure_group(report: Report, g: FailureGroup, width: int) -> list[str]:
    """A failure group whole, wrapped at spaces to `width`, with where each log is."""
    from mlcc_ci.logs import place

    said = g.sample.strip().splitlines() or ["no error output"]
    names = ", ".join(g.configurations)
    wrap = textwrap.TextWrapper(
        width=max(width, 40),
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    lines = wrap.wrap(sections.text_head(g, names, said[0]))
    if g.kind != "failure":  # its capture said it all; its logs are of no run the record has
        return lines
    wrap.initial_indent = "    "
    for line in said[1:]:
        lines += wrap.wrap(" ".join(line.split()))
    by_name = {c.name: c for c in report.configurations}
    shown = g.configurations[:FAILURE_LOGS_SHOWN]
    for name in shown:
        result = by_name[name].stageResults.get(g.stage)
        if result and result.logPointer:
            # never cut: a path is copied whole, on a line of its own when it does not fit
            where = place(name, g.stage, result.logPointer)
            line = f"    log of {name}: {where}"
            lines += (
                [line] if len(line) <= wrap.width else [f"    log of {name}:", f"      {where}"]
            )
    if len(g.configurations) > len(shown):
        more = len(g.configurations) - len(shown)
        lines += wrap.wrap(f"… {more} more: mlcc-ci logs NAME --stage {g.stage}")
    return lines


# -- JSON ---------------------------------------------------------------------------------


def _cost_item(cost: Cost | None) -> dict[str, Any] | None:
    return None if cost is None else cost.to_item()


def _total_item(t: Total) -> dict[str, Any]:
    return {"usd": t.usd if t.counted or not t.unknown else None, "unknown": t.unknown}


def as_dict(report: Report) -> dict[str, Any]:
    """The versioned JSON (schema/report.schema.json). Its legacy keys keep the shape that
    scripts written for `do/ci report --json` parse. Times are ISO 8601 UTC here; the
    formats people read show them one way (`clock.display`)."""
    s = report.summary
    configs: dict[str, Any] = {}
    for c in report.configurations:
        configs[c.name] = {
            "status": c.status,
            "project": c.project,
            "lastTest": c.lastTest,
            "duration": c.duration,
            "recordCount": c.recordCount,
            "configId": c.configId,
            "supportState": c.supportState,
            "supportReason": c.supportReason,
            "profile": c.profile,
            "owner": c.owner,
            "architecture": c.architecture,
            "region": c.region,
            "instanceType": c.instanceType,
            "lastPass": c.lastPass,
            "regression": None
            if not c.regression
            else {
                "since": c.regression.since,
                "lastPass": c.regression.lastPass,
                "lastPassRunId": c.regression.lastPassRunId,
                "failingRuns": c.regression.failingRuns,
            },
            "fixed": c.fixed,
            "flaky": c.flaky,
            "statusChanges": c.flips,
            "passRate": c.passRate,
            "runs": c.runs,
            "stale": c.stale,
            "errorMessage": c.errorMessage,
            **sections.config_items(c),
            "stageResults": {k: v.to_item() for k, v in c.stageResults.items()},
            "cost": {
                "lastRun": _cost_item(c.lastCost),
                "runsShown": _total_item(c.cost_total),
                "monthly": c.monthlyCost,
            },
            "running": None
            if c.status != RUNNING
            else {
                "runStartedAt": c.runStartedAt,
                "stage": c.currentStage,
                "stageStartedAt": c.currentStageStartedAt,
                "stagesDone": {k: v.to_item() for k, v in c.runStages.items()},
            },
            "history": [
                {
                    "startedAt": r.startedAt,
                    "finishedAt": r.finishedAt,
                    "status": r.status,
                    "runId": r.runId,
                    "durationSeconds": r.durationSeconds,
                    "stageSeconds": {k: v.durationSeconds for k, v in r.stageResults.items()},
                    "costUsd": cost.usd,  # how it was reached: cost.lastRun.basis
                    "failure": r.failure.to_item() if r.failure is not None else None,
                    "attempt": r.attempt,
                }
                for r, cost in zip(c.history, c.runCosts, strict=True)
            ],
        }
    return {
        "schemaVersion": REPORT_VERSION,
        "generatedAt": report.generatedAt,
        "summary": {
            "total": s.total,
            "tested": s.tested,
            "passing": s.passing,
            "failing": s.failing,
            "untested": s.untested,
            "coveragePercent": s.coverage_percent,
            "running": s.running,
            "unsupported": s.unsupported,
            "blocked": s.blocked,
        },
        "configurations": configs,
        "regressions": [c.name for c in report.regressions],
        "untestedConfigs": [c.name for c in report.untested],
        "fixed": [c.name for c in report.fixed],
        "flaky": [c.name for c in report.flaky],
        "running": [c.name for c in report.running],
        "profiles": dict(report.profiles),
        "cost": {
            "priceTable": report.prices,
            "runsShown": _total_item(report.cost_shown),
            "byDay": [{"day": day, **_total_item(t)} for day, t in report.cost_by_day],
            "monthlyProjection": {
                **_total_item(report.monthly),
                "scheduleHours": report.scheduleHours,
            },
        },
        "unreadable": [{"configId": k, "reason": v} for k, v in report.unreadable.items()],
        "failureGroups": [sections.group_item(g) for g in report.failure_groups],
        **sections.report_items(report),
        **(
            {
                "changes": {
                    "newlyFailing": list(report.changes.newly_failing),
                    "newlyPassing": list(report.changes.newly_passing),
                    "new": list(report.changes.new),
                }
            }
            if report.changes
            else {}
        ),
    }


def as_json(report: Report) -> str:
    """One line: a machine format (indenting it costs 7x the encoding; `jq .` reads it)."""
    return json.dumps(as_dict(report), separators=(",", ":"), ensure_ascii=False) + "\n"


# -- Markdown -----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")


MD_CELL_CHARS = 120
MD_LIMIT_BYTES = 64 * 1024 - 2048  # a PR comment takes 65,536; keep room for a wrapper


def md_cell(value: object) -> str:
    """Safe inside a table cell: HTML-escaped, Markdown-escaped, one line, capped."""
    return md_text(capped(" ".join(str(value).split()), MD_CELL_CHARS))


def md_text(value: object) -> str:
    """Safe as Markdown text on one line (uncapped): HTML-escaped, Markdown-escaped."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.split())


def md_fence(body: str, info: str = "text") -> str:
    """A fenced block no content can close: the fence is longer than any backtick run."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def _html_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


_ICON = {"pass": "✅", "untested": "⚪", "running": "🔄", "unsupported": "➖", "unregistered": "⚪"}


# Starts every Markdown report, so a workflow can find its one sticky comment and update it.
MD_MARKER = "<!-- mlcc-ci-report -->"


def markdown(report: Report) -> str:
    """For a pull request: the verdict first, then the summary, the costs that are not
    zero, what changed, the regressions, the failures grouped by cause, and a compact table
    of what can run, failing rows first and passing ones folded; unsupported ones once."""
    from mlcc_ci.report.verdict import verdict

    out = [MD_MARKER, f"**{verdict(report, md_cell)}**", ""]
    out += [f"mlcc-ci coverage · {report.summary.line()}", ""]
    costs = _cost_lines(report, hide_zero=True)
    out += [f"- {md_cell(line)}" for line in costs] + [f"- {md_text(report.noise.line())}", ""]
    if report.profiles.get("example"):
        out += [f"> **Note:** {EXAMPLE_NOTE}", ""]
    if report.changes:
        out += ["### Since the baseline", ""]
        for label, listed in (
            ("newly failing", report.changes.newly_failing),
            ("newly passing", report.changes.newly_passing),
            ("new configurations", report.changes.new),
        ):
            shown = ", ".join(md_cell(n) for n in listed) or "none"
            out.append(f"- {label}: {shown}")
        out.append("")
    out += sections.markdown_caused(report, md_cell)
    if report.regressions:
        out += ["### Regressions", ""]
        for c in report.regressions:
            assert c.regression
            out.append(
                f"- {md_cell(c.name)}: failing since {clock.display(c.regression.since)}; "
                f"last pass {clock.display(c.regression.lastPass)} "
                f"(run {md_cell(c.regression.lastPassRunId)})"
            )
        out.append("")
    groups = [g for g in report.failure_groups if g.kind == "failure"]
    if groups:
        out += ["### Failures by class", ""]
        for g in groups:
            summary = _html_escape(capped(sections.markdown_summary(g, _plain), 400))
            out += [
                f"<details><summary>{summary}</summary>",
                "",
                md_fence(capped(g.sample, 600) or "(no error output)"),
                "",
                "</details>",
                "",
            ]
    for title, configs, say in (
        ("Fixed", report.fixed, lambda c: "passed after failing"),
        ("Flaky", report.flaky, lambda c: f"{c.flips} status changes in its last runs"),
        ("Running", report.running, lambda c: _running_state(c, report.generatedAt)),
    ):
        if configs:
            out += [f"### {title}", ""]
            out += [f"- {md_cell(c.name)}: {md_cell(say(c))}" for c in configs]
            out.append("")
    runnable = [c for c in report.configurations if c.supportState != "unsupported"]
    first = [c for c in runnable if c.failing or _blocked(c)]
    first += [c for c in runnable if not (c.failing or c.passing or _blocked(c))]
    if first:
        out += [*MD_TABLE_HEAD, *(_md_row(c) for c in first), ""]
    passing = [c for c in runnable if c.passing and not _blocked(c)]
    if passing:
        out += [f"<details><summary>{len(passing)} passing</summary>", "", *MD_TABLE_HEAD]
        out += [*(_md_row(c) for c in passing), "", "</details>", ""]
    out += [md_cell(STAGE_KEY.capitalize()), ""]
    unsupported = [c.name for c in report.configurations if c.supportState == "unsupported"]
    if unsupported:
        out.append(f"Unsupported by the generator: {', '.join(md_cell(n) for n in unsupported)}")
    for config_id, reason in report.unreadable.items():
        out.append(f"\nUnreadable record {md_cell(config_id)}: {md_cell(reason)}")
    return _fit("\n".join(out).rstrip() + "\n")


MD_TABLE_HEAD = (
    "| Config | Status | Last Test | Duration | Stages | Pass rate | Cost | Owner | Profile |",
    "|---|---|---|---|---|---|---|---|---|",
)


def _plain(name: str) -> str:
    """A name in a <summary>, escaped there as HTML as a whole."""
    return capped(name, MD_CELL_CHARS)


def _blocked(c: ConfigReport) -> bool:
    return c.blocked is not None and c.status != RUNNING


def _md_row(c: ConfigReport) -> str:
    icon = "🚧" if _blocked(c) else _ICON.get(c.status, "❌")
    status = md_cell(shown_status(c)) + (" ⚠️ **REGRESSION**" if c.regression else "")
    if _blocked(c):
        assert c.blocked is not None
        status += f" since {clock.display(c.blocked.since)}"
    if c.lastError is not None:
        status += " (last run: harness error)"
    status += " (fixed)" if c.fixed else ""
    status += " (flaky)" if c.flaky else ""
    return (
        f"| {md_cell(c.name)} | {icon} {status} | {clock.display(c.lastTest)} | "
        f"{_duration(c.duration)} | {_stages(c)} | {_rate(c)} | {md_cell(_cost(c))} | "
        f"{md_cell(c.owner)} | {md_cell(c.profile or '-')} |"
    )


def _change_lines(report: Report) -> list[str]:
    if not report.changes:
        return []
    c = report.changes
    return [
        f"SINCE THE BASELINE: newly failing {', '.join(c.newly_failing) or 'none'}; "
        f"newly passing {', '.join(c.newly_passing) or 'none'}; "
        f"new {', '.join(c.new) or 'none'}"
    ]


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def open_fence(text: str) -> str | None:
    """The fence still open at the end of `text`, as CommonMark reads fences: a block opened
    by N backticks (or tildes) closes only at a line of at least N of the same, with nothing
    after them; a shorter run inside, or one with text after it, is content."""
    opened: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if not match:
            continue
        run, rest = match.groups()
        if opened is None:
            if not (run[0] == "`" and "`" in rest):  # an info string holds no backtick
                opened = run
        elif run[0] == opened[0] and len(run) >= len(opened) and not rest.strip():
            opened = None
    return opened


def _fit(text: str) -> str:
    """Under MD_LIMIT_BYTES whatever the inputs: cut at a line, and say so."""
    if len(text.encode()) <= MD_LIMIT_BYTES:
        return text
    note = "\n\n… (cut to fit a pull-request comment: see the full report with `--format html`)\n"
    room = MD_LIMIT_BYTES - len(note.encode())
    kept = text.encode()[:room].decode("utf-8", errors="ignore")
    kept = kept[: kept.rfind("\n")] if "\n" in kept else kept
    # an open fence or <details> would swallow the note: close them
    fence = open_fence(kept)
    if fence:
        kept += "\n" + fence
    if kept.count("<details>") > kept.count("</details>"):
        kept += "\n\n</details>"
    return kept + note


# -- HTML ---------------------------------------------------------------------------------


@cache
def _template(name: str) -> Any:
    import jinja2

    from mlcc_ci.resources import data_path

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_path("reports"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(name)


def _group(c: ConfigReport) -> str:
    """What the status filter calls a row."""
    if c.status == RUNNING:
        return "running"
    if c.blocked is not None:
        return "blocked"
    if c.failing:
        return "failing"
    if c.passing:
        return "pass"
    return "unsupported" if c.supportState == "unsupported" else "untested"


def live_timeline(c: ConfigReport, now: str) -> str:
    """A running configuration's stages so far, the current one drawn as running, as long
    as it has taken until `now`."""
    spent = _seconds_since(c.currentStageStartedAt, now) or 0.0
    return charts.timeline(c.runStages, c.currentStage, spent)


def _live_cell(c: ConfigReport) -> str:
    if c.status != RUNNING:
        return ""
    since = escape(c.currentStageStartedAt or c.runStartedAt or "")
    return (
        f'<div class="live" data-since="{since}">'
        f'<span class="stage">{escape(c.currentStage or "starting")}</span> · '
        f'<span class="elapsed">-</span></div>'
    )


def _stage_list(c: ConfigReport, local: LogHref | None) -> str:
    """Every stage of the last run: status, time, note, and a link to its log."""
    if not c.stageResults:
        return ""
    rows = []
    for stage, r in c.stageResults.items():
        link = log_link(r.logPointer, c.region, local) if r.logPointer else None
        log = f'<a href="{escape(link)}">log</a>' if link else escape(r.logPointer)
        said = r.note or r.errorSummary
        note = escape(said.strip().splitlines()[-1]) if said.strip() else ""
        rows.append(
            f'<tr><td>{word(stage)}</td><td class="s-{word(r.status)}">{word(r.status)}'
            f"</td><td>{seconds(r.durationSeconds)}</td><td>{log}</td><td>{note}</td></tr>"
        )
    return (
        '<details class="stagelist"><summary>stages</summary><table>'
        "<tr><th>stage</th><th>status</th><th>time</th><th>log</th><th>note</th></tr>"
        f"{''.join(rows)}</table></details>"
    )


def _row(c: ConfigReport, now: str, local: LogHref | None = None) -> str:
    """One configuration's table row. Built here, every value escaped, because thousands
    of tiny template expressions would dominate the render time."""
    name = escape(c.name)
    status = word(c.status)
    flags = ""
    if c.regression:
        since = escape(
            f"failing since {clock.display(c.regression.since)}; "
            f"last pass {clock.display(c.regression.lastPass)}"
        )
        flags += f'<span class="flag" title="{since}">REGRESSION</span>'
    if c.fixed:
        flags += '<span class="good">fixed</span>'
    if c.flaky:
        flags += f'<span class="flag" title="{c.flips} status changes">flaky</span>'
    extra = ""
    if c.supportReason and c.supportState == "unsupported":
        extra += f'<div class="muted">{escape(c.supportReason)}</div>'
    for stage, result in c.stageResults.items():
        if result.status == "fail":
            extra += (
                f"<details><summary>{word(stage)} failed</summary>"
                f"<pre>{escape(result.errorSummary)}</pre></details>"
            )
    badge = "fail" if c.failing else status
    shown = status
    if _blocked(c):
        badge, shown = "blocked", word(shown_status(c))
    timeline = live_timeline(c, now) if c.status == RUNNING else charts.timeline(c.stageResults)
    last = escape(c.lastTest or "")
    stale = ' <span class="muted">(stale)</span>' if c.stale else ""
    cost = c.lastCost
    cost_title = escape(cost.basis) if cost else ""
    cost_value = "" if cost is None or cost.usd is None else f"{cost.usd:.4f}"
    rate = "" if c.passRate is None else f"{c.passRate:.3f}"
    shown_cost = (
        f'<div class="muted">{c.cost_total.text} in {len(c.history)} runs</div>'
        if c.history
        else ""
    )
    return (
        f'<tr data-config="{name}" data-status="{status}" data-group="{_group(c)}" '
        f'data-arch="{word(c.architecture)}" data-owner="{word(c.owner)}" '
        f'data-last="{last}" data-duration="{c.duration if c.duration is not None else ""}" '
        f'data-cost="{cost_value}" data-rate="{rate}">'
        f'<td class="name">{name}<div class="muted">{escape(c.project or "")}</div></td>'
        f'<td class="status"><span class="badge {badge}">{shown}</span>'
        f"{sections.html_class(c)}{flags}{sections.html_notes(c)}{_live_cell(c)}{extra}</td>"
        f"<td>{word(c.architecture)}</td><td>{word(c.owner)}</td>"
        f'<td><time datetime="{last}">{clock.display(c.lastTest)}</time>{stale}</td>'
        f"<td>{_duration(c.duration)}</td>"
        f'<td class="tl">{timeline}{_stage_list(c, local)}</td>'
        f'<td class="trend">{charts.trend(c.history)}<div>{_rate(c)}</div></td>'
        f"<td>{charts.durations(c.history)}</td>"
        f'<td title="{cost_title}">{_cost(c)}{shown_cost}</td>'
        f"<td>{word(c.profile or '-')}</td></tr>"
    )


@cache
def script() -> str:
    """The page's one script (sorting, filtering, live updates), inlined; its hash goes
    into the dashboard's Content-Security-Policy."""
    from mlcc_ci.resources import data_path

    return (data_path("reports") / "report.js").read_text(encoding="utf-8")


@cache
def script_hash() -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(script().encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def html(report: Report, *, live: bool = False, log_href: LogHref | None = None) -> str:
    """The report as one self-contained page. `live`: served by the dashboard, which the
    page polls (api/live) to show running stages without reloading. `log_href`: the link
    to a local stage log (none without it)."""
    from markupsafe import Markup

    rows = Markup("\n".join(_row(c, report.generatedAt, log_href) for c in report.configurations))
    return _template("report.html.j2").render(
        rows=rows,
        report=report,
        summary=report.summary,
        example_note=EXAMPLE_NOTE if report.profiles.get("example") else None,
        live=live,
        display=clock.display,
        script=Markup(script()),
        status_colours=charts.STATUS_COLOURS,
        stage_colours=charts.STAGE_COLOURS,
        cost_lines=_cost_lines(report),
        running_state=lambda c: _running_state(c, report.generatedAt),
        blocked_text=sections.blocked_text,
        error_text=sections.error_text,
        failure_classes=sections.html_classes(report),
        architectures=sorted({c.architecture for c in report.configurations}),
        owners=sorted({c.owner for c in report.configurations}),
    )


def render(report: Report, fmt: str, *, width: int = 100, log_href: LogHref | None = None) -> str:
    """`width` wraps the text format's failures; `log_href` links local logs in HTML."""
    if fmt == "text":
        return text(report, width)
    if fmt == "json":
        return as_json(report)
    if fmt == "markdown":
        return markdown(report)
    return html(report, log_href=log_href)
