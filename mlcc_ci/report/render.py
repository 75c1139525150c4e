"""Render a Report as text, JSON, Markdown or HTML. Everything from logs, configs or users
is escaped: HTML through jinja2 autoescape (page.py), Markdown cells and fences by hand
(markdown.py). The words the formats share are made once (cells.py). The names imported
`as` themselves are kept here for what imported them from here before they moved."""

import json
import textwrap
from collections.abc import Sequence
from typing import Any

from mlcc_ci import clock
from mlcc_ci.constants import RUNNING
from mlcc_ci.cost import Total
from mlcc_ci.models import Cost
from mlcc_ci.report import sections
from mlcc_ci.report.cells import (
    EXAMPLE_NOTE,
    STAGE_KEY,
    LogHref,
    cost_lines,
    cost_text,
    earlier_lines,
    quarantine_text,
    rate_text,
    removed_text,
    running_state,
    stage_marks,
    status_text,
)
from mlcc_ci.report.cells import log_link as log_link
from mlcc_ci.report.classes import FailureGroup
from mlcc_ci.report.markdown import MD_MARKER as MD_MARKER
from mlcc_ci.report.markdown import _fit as _fit
from mlcc_ci.report.markdown import markdown as markdown
from mlcc_ci.report.markdown import md_cell as md_cell
from mlcc_ci.report.markdown import md_fence as md_fence
from mlcc_ci.report.markdown import md_text as md_text
from mlcc_ci.report.markdown import open_fence as open_fence
from mlcc_ci.report.model import REPORT_VERSION, ConfigReport, Report
from mlcc_ci.report.page import html as html
from mlcc_ci.report.page import live_timeline as live_timeline
from mlcc_ci.report.page import script as script
from mlcc_ci.report.page import script_hash as script_hash

FORMATS = ("text", "json", "markdown", "html")


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
    said += [report.summary.line(), *key.split("\n"), *cost_lines(report)]
    said.append(report.noise.line())
    unsupported = [c.name for c in report.configurations if c.supportState == "unsupported"]
    if unsupported:
        said.append(f"Unsupported by the generator ({len(unsupported)}): {', '.join(unsupported)}")
    for c in report.running:
        said.append(f"RUNNING {c.name}: {running_state(c, report.generatedAt)}")
    said += _change_lines(report)
    said += [f"QUARANTINED {c.name}: {quarantine_text(c)}" for c in report.quarantined]
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
    said += [f"SUSPECT {c.name}: {c.suspect.text(c.name)}" for c in report.suspects if c.suspect]
    said += [
        f"EARLIER {c.name}: {line}" for c in report.configurations for line in earlier_lines(c)
    ]
    said += [f"REMOVED {c.name}: {removed_text(c)}" for c in report.removed]
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

    status = [status_text(c) for c in configs]
    narrow = [status_text(c, narrow=True) for c in configs]
    last = [clock.display(c.lastTest) for c in configs]
    # a configuration's name is never cut (two that begin alike would read the same): the
    # others go over lines, then the last of them make room
    return fit(
        [
            Column("Config", [c.name for c in configs]),
            Column("Status", status, narrow=narrow),
            Column("Project", [c.project or "-" for c in configs], required=False),
            Column(
                "Last Test", last, narrow=[x.replace(" ", "\n", 1) for x in last], droppable=True
            ),
            Column("Duration", [clock.duration(c.duration) for c in configs], required=False),
            Column("Stages", [stage_marks(c) for c in configs]),
            Column("Pass rate", [rate_text(c) for c in configs], droppable=True),
            Column("Cost", [cost_text(c) for c in configs], droppable=True),
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
            "quarantine": c.quarantine.to_item() if c.quarantine is not None else None,
            "earlierIdentities": [e.to_item() for e in c.earlier],
            "removed": c.removed,
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
            "unproven": s.unproven,
            "quarantined": s.quarantined,
            "removed": s.removed,
        },
        "configurations": configs,
        "regressions": [c.name for c in report.regressions],
        "untestedConfigs": [c.name for c in report.untested],
        "fixed": [c.name for c in report.fixed],
        "flaky": [c.name for c in report.flaky],
        "running": [c.name for c in report.running],
        "quarantined": [c.name for c in report.quarantined],
        "removed": [c.name for c in report.removed],
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


def _change_lines(report: Report) -> list[str]:
    if not report.changes:
        return []
    c = report.changes
    return [
        f"SINCE THE BASELINE: newly failing {', '.join(c.newly_failing) or 'none'}; "
        f"newly passing {', '.join(c.newly_passing) or 'none'}; "
        f"new {', '.join(c.new) or 'none'}"
    ]


def render(report: Report, fmt: str, *, width: int = 100, log_href: LogHref | None = None) -> str:
    """`width` wraps the text format's failures; `log_href` links local logs in HTML."""
    if fmt == "text":
        return text(report, width)
    if fmt == "json":
        return as_json(report)
    if fmt == "markdown":
        return markdown(report)
    return html(report, log_href=log_href)
