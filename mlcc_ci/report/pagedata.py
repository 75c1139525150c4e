"""The HTML report's rows and histories as data (ondemand.py), for a report too large to be
HTML whole: each row says what page._row shows, as parts the page builds elements from,
and each history what the trend, the durations and the stage list draw."""

from typing import Any

from mlcc_ci import clock
from mlcc_ci.constants import RUNNING
from mlcc_ci.report import charts, sections
from mlcc_ci.report.cells import (
    LogHref,
    cost_text,
    earlier_lines,
    is_blocked,
    log_link,
    quarantine_text,
    rate_text,
    removed_text,
    seconds_since,
)
from mlcc_ci.report.classes import failure_class, shown_status
from mlcc_ci.report.model import ConfigReport, Report
from mlcc_ci.report.ondemand import FIRST_SCREEN, Part, details, element, items, table_data, text

STAGE_ORDER = tuple(charts.STAGE_COLOURS)
HISTORY_URL = "api/history/"
# the classes of a row's cells, as page._row gives them
CELL_CLASSES = (
    "name",
    "status",
    "",
    "",
    "",
    "",
    "tl",
    "trend",
    "",
    "",
    "",
)  # the dashboard's: a configuration's history by its configId


def group(c: ConfigReport) -> str:
    """What the status filter calls a row."""
    if c.removed:
        return "removed"
    if c.status == RUNNING:
        return "running"
    if c.blocked is not None:
        return "blocked"
    if c.failing:
        return "quarantined" if c.quarantine is not None else "failing"
    if c.passing:
        return "pass"
    return "unsupported" if c.supportState == "unsupported" else "untested"


def keys(c: ConfigReport) -> dict[str, str]:
    """The row's data- attributes: what the filters, the search and the sorting read."""
    cost = c.lastCost
    return {
        "config": c.name,
        "status": c.status,
        "group": group(c),
        "arch": c.architecture,
        "owner": c.owner,
        "last": c.lastTest or "",
        "duration": "" if c.duration is None else str(c.duration),
        "cost": "" if cost is None or cost.usd is None else f"{cost.usd:.4f}",
        "rate": "" if c.passRate is None else f"{c.passRate:.3f}",
    }


def _status_cell(c: ConfigReport) -> list[Part]:
    status = c.status
    badge = "fail" if c.failing else "removed" if c.removed else status
    shown = status
    if is_blocked(c):
        badge, shown = "blocked", shown_status(c)
    parts = [element("span", shown, f"badge {badge}")]
    cls = failure_class(c)
    if cls is not None and not (c.blocked is not None and c.status != "running"):
        parts.append(element("span", cls, f"cls cls-{cls}"))
    if c.regression:
        since = (
            f"failing since {clock.display(c.regression.since)}; "
            f"last pass {clock.display(c.regression.lastPass)}"
        )
        parts.append(element("span", "REGRESSION", "flag", title=since))
    if c.fixed:
        parts.append(element("span", "fixed", "good"))
    if c.flaky:
        parts.append(element("span", "flaky", "flag", title=f"{c.flips} status changes"))
    if c.quarantine is not None:
        parts.append(element("span", f"quarantined until {c.quarantine.until}", "quarantined"))
    if c.blocked is not None and c.status != "running":
        parts.append(element("div", sections.blocked_text(c), "blocked-since"))
    if c.lastError is not None:
        parts.append(element("div", f"last run: {sections.error_text(c)}", "error"))
    if c.status == RUNNING:
        since = c.currentStageStartedAt or c.runStartedAt or ""
        parts.append(["live", since, c.currentStage or "starting"])
    if c.quarantine is not None:
        parts.append(element("div", quarantine_text(c), "quarantine"))
    if c.removed:
        parts.append(element("div", removed_text(c), "muted"))
    if c.earlier:
        n = len(c.earlier)
        summary = f"{n} earlier identit{'y' if n == 1 else 'ies'}"
        parts.append(details(summary, [items(earlier_lines(c))], "earlier"))
    if c.supportReason and c.supportState == "unsupported":
        parts.append(element("div", c.supportReason, "muted"))
    for stage, result in c.stageResults.items():
        if result.status == "fail":
            parts.append(details(f"{stage} failed", [element("pre", result.errorSummary)]))
    return parts


def timeline(c: ConfigReport, now: str) -> Part:
    """The last run's stages (a running one's so far), as page.live_timeline draws them."""
    if c.status == RUNNING:
        stages = [(k, r.status, r.durationSeconds) for k, r in c.runStages.items()]
        if c.currentStage and c.currentStage not in c.runStages:
            spent = seconds_since(c.currentStageStartedAt, now) or 0.0
            stages.append((c.currentStage, "running", spent))
    else:
        stages = [(k, r.status, r.durationSeconds) for k, r in c.stageResults.items()]
    shown = [s for s in stages if s[1] != "skip" or s[2]]
    return ["tl", [[k, status, seconds, clock.duration(seconds)] for k, status, seconds in shown]]


def row(c: ConfigReport, now: str, index: int | None) -> dict[str, Any]:
    """One configuration's row; `index`: its history's in the data's "histories"."""
    last = c.lastTest or ""
    stale = []
    if c.stale:  # its next test was due in the past
        due = f"next test due {clock.display(c.nextDue)}"
        stale = [element("span", " (stale)", "muted", title=due)]
    cost = c.lastCost
    spent = []
    if c.history:
        runs = f"{len(c.history)} run{'' if len(c.history) == 1 else 's'}"
        spent = [element("div", f"{c.cost_total.text} in {runs}", "muted")]
    cost_title = {"title": cost.basis} if cost and cost.basis else {}
    cells: list[list[Part]] = [
        [text(c.name), element("div", c.project or "", "muted")],
        _status_cell(c),
        [text(c.architecture)],
        [text(c.owner)],
        [element("time", clock.display(c.lastTest), datetime=last), *stale],
        [text(clock.duration(c.duration))],
        [timeline(c, now)],
        [["h", rate_text(c)]] if c.history else [element("div", rate_text(c))],
        [],
        [element("span", cost_text(c), **cost_title), *spent],
        [text(c.profile or "-")],
    ]
    found: dict[str, Any] = {"k": keys(c), "c": cells, "id": c.configId}
    if index is not None:
        found["h"] = index
    return found


def history(c: ConfigReport, local: LogHref | None = None) -> dict[str, Any]:
    """What a row's history draws: each run oldest first (`p` a pass, `f` a failure of the
    product, `n` neither, then its seconds in each stage of STAGE_ORDER), the pass rate it
    reads now, and the last run's stages with their logs and notes."""
    runs = []
    for run in reversed(c.history):
        mark = ("p" if run.passed else "f") if run.product else "n"
        seconds = [
            (r.durationSeconds if (r := run.stageResults.get(s)) else 0) for s in STAGE_ORDER
        ]
        runs.append([mark, *seconds])
    stages = []
    for stage, r in c.stageResults.items():
        link = log_link(r.logPointer, c.region, local) if r.logPointer else None
        said = r.note or r.errorSummary
        note = said.strip().splitlines()[-1] if said.strip() else ""
        stages.append(
            [stage, r.status, clock.duration(r.durationSeconds), link, r.logPointer, note]
        )
    return {"runs": runs, "rate": rate_text(c), "stages": stages}


def data(report: Report, local: LogHref | None = None, *, live: bool = False) -> dict[str, Any]:
    """The table's data: every row, the first FIRST_SCREEN of which the page has as HTML;
    the histories of the others embedded, or (`live`, the dashboard) fetched as asked."""
    rows: list[dict[str, Any]] = []
    histories: list[dict[str, Any]] = []
    for i, c in enumerate(report.configurations):
        if i < FIRST_SCREEN:
            rows.append({"k": keys(c), "id": c.configId})
            continue
        index = None
        if c.history and not live:
            index = len(histories)
            histories.append(history(c, local))
        rows.append(row(c, report.generatedAt, index))
    drawn = {
        "status": charts.STATUS_COLOURS,
        "stage": charts.STAGE_COLOURS,
        "window": charts.TREND_WINDOW,
    }
    return table_data(
        rows,
        first=FIRST_SCREEN,
        histories=None if live else histories,
        history_url=HISTORY_URL if live else None,
        charts=drawn,
        cell_classes=CELL_CLASSES,
    )
