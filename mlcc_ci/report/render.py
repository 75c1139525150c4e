"""Render a Report as text, JSON, Markdown or HTML. Everything from logs, configs or users
is escaped: HTML through jinja2 autoescape, Markdown cells and fences by hand."""

import json
import re
from functools import cache
from html import escape
from typing import Any

from mlcc_ci.constants import STAGES
from mlcc_ci.report.model import REPORT_VERSION, ConfigReport, Report
from mlcc_ci.safetext import capped

FORMATS = ("text", "json", "markdown", "html")
EXAMPLE_NOTE = (
    "Results from the example profile prove the harness on this machine, not the containers in AWS."
)


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"


def _status(c: ConfigReport) -> str:
    return f"{c.status} ⚠️ REGRESSION" if c.regression else c.status


# -- text ---------------------------------------------------------------------------------


def text(report: Report) -> str:
    from tabulate import tabulate

    rows = [
        [
            c.name,
            _status(c),
            c.project or "-",
            c.lastTest or "-",
            _duration(c.duration),
            c.profile or "-",
        ]
        for c in report.configurations
    ]
    lines = ["CI Coverage Report", ""]
    lines.append(
        tabulate(
            rows,
            headers=["Config", "Status", "Project", "Last Test", "Duration", "Profile"],
            tablefmt="simple",
        )
    )
    lines += ["", report.summary.line()]
    unsupported = [c.name for c in report.configurations if c.supportState == "unsupported"]
    if unsupported:
        lines.append(f"Unsupported by the generator ({len(unsupported)}): {', '.join(unsupported)}")
    for g in report.failure_groups:
        first = (g.sample.strip().splitlines() or ["no error output"])[0]
        names = ", ".join(g.configurations)
        lines.append(f"FAILURE in {g.stage} ×{len(g.configurations)} ({names}): {first}")
    lines += _change_lines(report)
    for config_id, reason in report.unreadable.items():
        lines.append(f"UNREADABLE record {config_id}: {reason}")
    for c in report.regressions:
        assert c.regression
        lines.append(
            f"REGRESSION {c.name}: failing since {c.regression.since}; "
            f"last pass {c.regression.lastPass} (run {c.regression.lastPassRunId})"
        )
    for c in report.fixed:
        lines.append(f"FIXED {c.name}: passed after failing")
    for c in report.flaky:
        lines.append(f"FLAKY {c.name}: {c.flips} status changes in its last runs")
    if report.profiles.get("example"):
        lines.append(f"Note: {EXAMPLE_NOTE}")
    return "\n".join(lines) + "\n"


# -- JSON ---------------------------------------------------------------------------------


def as_dict(report: Report) -> dict[str, Any]:
    """The versioned JSON (schema/report.schema.json). Its legacy keys keep the shape that
    scripts written for `do/ci report --json` parse."""
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
            "stageResults": {k: v.to_item() for k, v in c.stageResults.items()},
            "history": [
                {"startedAt": r.startedAt, "status": r.status, "runId": r.runId} for r in c.history
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
        },
        "configurations": configs,
        "regressions": [c.name for c in report.regressions],
        "untestedConfigs": [c.name for c in report.untested],
        "fixed": [c.name for c in report.fixed],
        "flaky": [c.name for c in report.flaky],
        "profiles": dict(report.profiles),
        "unreadable": [{"configId": k, "reason": v} for k, v in report.unreadable.items()],
        "failureGroups": [
            {
                "stage": g.stage,
                "signature": g.signature,
                "sample": g.sample,
                "configurations": list(g.configurations),
            }
            for g in report.failure_groups
        ],
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
    return json.dumps(as_dict(report), indent=2) + "\n"


# -- Markdown -----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|~])")


MD_CELL_CHARS = 120
MD_LIMIT_BYTES = 64 * 1024 - 2048  # a PR comment takes 65,536; keep room for a wrapper


def md_cell(value: object) -> str:
    """Safe inside a table cell: HTML-escaped, Markdown-escaped, one line, capped."""
    text = capped(" ".join(str(value).split()), MD_CELL_CHARS)
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
    """For a pull request: the summary first, then what changed, the regressions, the
    failures grouped by cause, and a compact table of what can run; unsupported ones once."""
    out = [MD_MARKER, "## mlcc-ci coverage", "", f"**{report.summary.line()}**", ""]
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
    if report.regressions:
        out += ["### Regressions", ""]
        for c in report.regressions:
            assert c.regression
            out.append(
                f"- {md_cell(c.name)}: failing since {md_cell(c.regression.since)}; "
                f"last pass {md_cell(c.regression.lastPass)} "
                f"(run {md_cell(c.regression.lastPassRunId)})"
            )
        out.append("")
    groups = report.failure_groups
    if groups:
        out += ["### Failures by cause", ""]
        for g in groups:
            names = ", ".join(capped(n, MD_CELL_CHARS) for n in g.configurations)
            summary = _html_escape(f"{g.stage} ×{len(g.configurations)}: {capped(names, 300)}")
            out += [
                f"<details><summary>{summary}</summary>",
                "",
                md_fence(capped(g.sample, 600) or "(no error output)"),
                "",
                "</details>",
                "",
            ]
    out += [
        "| Config | Status | Project | Last Test | Duration | Pass rate | Profile |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in report.configurations:
        if c.supportState == "unsupported":
            continue
        icon = _ICON.get(c.status, "❌")
        status = md_cell(c.status) + (" ⚠️ **REGRESSION**" if c.regression else "")
        status += " (fixed)" if c.fixed else ""
        status += " (flaky)" if c.flaky else ""
        rate = "-" if c.passRate is None else f"{c.passRate * 100:.0f}% of {min(c.runs, 10)}"
        out.append(
            f"| {md_cell(c.name)} | {icon} {status} | {md_cell(c.project or '-')} | "
            f"{md_cell(c.lastTest or '-')} | {_duration(c.duration)} | {rate} | "
            f"{md_cell(c.profile or '-')} |"
        )
    out.append("")
    unsupported = [c.name for c in report.configurations if c.supportState == "unsupported"]
    if unsupported:
        out.append(f"Unsupported by the generator: {', '.join(md_cell(n) for n in unsupported)}")
    for config_id, reason in report.unreadable.items():
        out.append(f"\nUnreadable record {md_cell(config_id)}: {md_cell(reason)}")
    return _fit("\n".join(out).rstrip() + "\n")


def _change_lines(report: Report) -> list[str]:
    if not report.changes:
        return []
    c = report.changes
    return [
        f"SINCE THE BASELINE: newly failing {', '.join(c.newly_failing) or 'none'}; "
        f"newly passing {', '.join(c.newly_passing) or 'none'}; "
        f"new {', '.join(c.new) or 'none'}"
    ]


def _fit(text: str) -> str:
    """Under MD_LIMIT_BYTES whatever the inputs: cut at a line, and say so."""
    if len(text.encode()) <= MD_LIMIT_BYTES:
        return text
    note = "\n\n… (cut to fit a pull-request comment: see the full report with `--format html`)\n"
    room = MD_LIMIT_BYTES - len(note.encode())
    kept = text.encode()[:room].decode("utf-8", errors="ignore")
    kept = kept[: kept.rfind("\n")] if "\n" in kept else kept
    # an open fence or <details> would swallow the note: close them
    fences = re.findall(r"^(`{3,})", kept, re.M)
    if len(fences) % 2:
        kept += "\n" + fences[-1]
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


def _stage_cells(c: ConfigReport) -> str:
    """Per-stage progress: one small cell per stage. Built here, every value escaped,
    because thousands of tiny template expressions dominate the render time."""
    cells = []
    for stage in STAGES[:-1]:
        result = c.stageResults.get(stage)
        status = result.status if result else ""
        title = f"{stage}: {status or 'not run'}"
        cells.append(f'<span class="{escape(status)}" title="{escape(title)}"></span>')
    return "".join(cells)


def _history_strip(c: ConfigReport) -> str:
    """Oldest to newest, one bar per run."""
    return "".join(
        f'<span class="{"pass" if run.passed else "fail"}" '
        f'title="{escape(run.startedAt)} {escape(run.status)}"></span>'
        for run in reversed(c.history)
    )


def html(report: Report, *, refresh: int | None = None) -> str:
    from markupsafe import Markup

    return _template("report.html.j2").render(
        stage_cells=lambda c: Markup(_stage_cells(c)),
        history_strip=lambda c: Markup(_history_strip(c)),
        report=report,
        summary=report.summary,
        stages=STAGES[:-1],
        refresh=refresh,
        example_note=EXAMPLE_NOTE if report.profiles.get("example") else None,
        duration=_duration,
    )


def render(report: Report, fmt: str) -> str:
    if fmt == "text":
        return text(report)
    if fmt == "json":
        return as_json(report)
    if fmt == "markdown":
        return markdown(report)
    return html(report)
