"""The HTML report: one self-contained page (the dashboard serves it live). Rows are built
here, every value escaped; the rest of the page is a jinja2 template (autoescape on)."""

from functools import cache
from html import escape
from typing import Any

from mlcc_ci import clock
from mlcc_ci.constants import RUNNING
from mlcc_ci.report import charts, ondemand, sections
from mlcc_ci.report.cells import (
    EXAMPLE_NOTE,
    LogHref,
    cost_lines,
    cost_text,
    earlier_lines,
    is_blocked,
    log_link,
    quarantine_text,
    rate_text,
    removed_text,
    running_state,
    seconds_since,
)
from mlcc_ci.report.charts import word
from mlcc_ci.report.classes import (
    CLASS_ORDER,
    CLASS_TITLES,
    FailureGroup,
    failure_class,
    shown_status,
)
from mlcc_ci.report.model import ConfigReport, Report
from mlcc_ci.report.ondemand import FIRST_SCREEN, SMALL, block
from mlcc_ci.report.pagedata import data as table_data
from mlcc_ci.report.pagedata import group as _group


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


def live_timeline(c: ConfigReport, now: str) -> str:
    """A running configuration's stages so far, the current one drawn as running, as long
    as it has taken until `now`."""
    spent = seconds_since(c.currentStageStartedAt, now) or 0.0
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
            f"</td><td>{clock.duration(r.durationSeconds)}</td><td>{log}</td><td>{note}</td></tr>"
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
    if c.quarantine is not None:
        flags += f'<span class="quarantined">quarantined until {escape(c.quarantine.until)}</span>'
    extra = ""
    if c.quarantine is not None:
        extra += f'<div class="quarantine">{escape(quarantine_text(c))}</div>'
    if c.removed:
        extra += f'<div class="muted">{escape(removed_text(c))}</div>'
    if c.earlier:
        n = len(c.earlier)
        items = "".join(f"<li>{escape(line)}</li>" for line in earlier_lines(c))
        extra += (
            f'<details class="earlier"><summary>{n} earlier identit{"y" if n == 1 else "ies"}'
            f"</summary><ul>{items}</ul></details>"
        )
    if c.supportReason and c.supportState == "unsupported":
        extra += f'<div class="muted">{escape(c.supportReason)}</div>'
    for stage, result in c.stageResults.items():
        if result.status == "fail":
            extra += (
                f"<details><summary>{word(stage)} failed</summary>"
                f"<pre>{escape(result.errorSummary)}</pre></details>"
            )
    badge = "fail" if c.failing else "removed" if c.removed else status
    shown = status
    if is_blocked(c):
        badge, shown = "blocked", word(shown_status(c))
    timeline = live_timeline(c, now) if c.status == RUNNING else charts.timeline(c.stageResults)
    last = escape(c.lastTest or "")
    stale = ""
    if c.stale:  # its next test was due in the past
        due = escape(f"next test due {clock.display(c.nextDue)}")
        stale = f' <span class="muted" title="{due}">(stale)</span>'
    cost = c.lastCost
    cost_title = escape(cost.basis) if cost else ""
    cost_value = "" if cost is None or cost.usd is None else f"{cost.usd:.4f}"
    rate = "" if c.passRate is None else f"{c.passRate:.3f}"
    said = rate_text(c)  # the table's pass rate, and the rate the trend's title says now
    shown_cost = (
        f'<div class="muted">{c.cost_total.text} in {len(c.history)} '
        f"run{'' if len(c.history) == 1 else 's'}</div>"
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
        f"{html_class(c)}{flags}{html_notes(c)}{_live_cell(c)}{extra}</td>"
        f"<td>{word(c.architecture)}</td><td>{word(c.owner)}</td>"
        f'<td><time datetime="{last}">{clock.display(c.lastTest)}</time>{stale}</td>'
        f"<td>{clock.duration(c.duration)}</td>"
        f'<td class="tl">{timeline}{_stage_list(c, local)}</td>'
        f'<td class="trend">{charts.trend(c.history, said)}<div>{said}</div></td>'
        f"<td>{charts.durations(c.history)}</td>"
        f'<td title="{cost_title}">{cost_text(c)}{shown_cost}</td>'
        f"<td>{word(c.profile or '-')}</td></tr>"
    )


@cache
def script() -> str:
    """The page's one script (rows on demand, sorting, filtering, live updates), inlined;
    its hash goes into the dashboard's Content-Security-Policy."""
    from mlcc_ci.resources import data_path

    report_js = (data_path("reports") / "report.js").read_text(encoding="utf-8")
    return f"{ondemand.script()}\n{report_js}"


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

    configs = report.configurations
    large = len(configs) > SMALL  # the rest of its rows, and their histories, come as data
    shown = configs[:FIRST_SCREEN] if large else configs
    rows = Markup("\n".join(_row(c, report.generatedAt, log_href) for c in shown))
    data = block(table_data(report, log_href, live=live)) if large else None
    return _template("report.html.j2").render(
        rows=rows,
        data=data,
        report=report,
        summary=report.summary,
        example_note=EXAMPLE_NOTE if report.profiles.get("example") else None,
        live=live,
        display=clock.display,
        script=Markup(script()),
        status_colours=charts.STATUS_COLOURS,
        stage_colours=charts.STAGE_COLOURS,
        cost_lines=cost_lines(report),
        running_state=lambda c: running_state(c, report.generatedAt),
        blocked_text=sections.blocked_text,
        error_text=sections.error_text,
        quarantine_text=quarantine_text,
        removed_text=removed_text,
        failure_classes=html_classes(report),
        architectures=sorted({c.architecture for c in report.configurations}),
        owners=sorted({c.owner for c in report.configurations}),
    )


def html_class(c: ConfigReport) -> str:
    """Beside a failing row's badge: the class of its failure."""
    cls = failure_class(c)
    if cls is None or (c.blocked is not None and c.status != "running"):
        return ""
    return f'<span class="cls cls-{escape(cls)}">{escape(cls)}</span>'


def html_notes(c: ConfigReport) -> str:
    """Under a row's badge: how long it has been blocked, or the last run's harness error."""
    out = ""
    if c.blocked is not None and c.status != "running":
        out += f'<div class="blocked-since">{escape(sections.blocked_text(c))}</div>'
    if c.lastError is not None:
        out += f'<div class="error">last run: {escape(sections.error_text(c))}</div>'
    return out


def html_classes(report: Report) -> list[tuple[str, str, list[FailureGroup]]]:
    """(class, what it means, its groups) in CLASS_ORDER, for the template."""
    by_class: dict[str, list[FailureGroup]] = {}
    for g in report.failure_groups:
        by_class.setdefault(g.cls, []).append(g)
    order = [c for c in CLASS_ORDER if c in by_class] + sorted(
        c for c in by_class if c not in CLASS_ORDER
    )
    return [(c, CLASS_TITLES.get(c, ""), by_class[c]) for c in order]
