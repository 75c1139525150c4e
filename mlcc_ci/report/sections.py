"""What every format says of failure classes: blocked configurations, harness errors, the
infrastructure noise, and failures by class. The words are made here once; each format
escapes them its own way (`cell`: the Markdown cell escaper, `escape`: HTML)."""

from collections.abc import Callable
from html import escape
from typing import Any

from mlcc_ci import clock
from mlcc_ci.report.classes import (
    CLASS_ORDER,
    CLASS_TITLES,
    FailureGroup,
    failure_class,
    shown_status,
)
from mlcc_ci.report.model import ConfigReport, Report
from mlcc_ci.report.verdict import newly_failing

Cell = Callable[[str], str]


def _runs(n: int) -> str:
    return f"{n} run{'' if n == 1 else 's'} in a row"


def blocked_text(c: ConfigReport) -> str:
    """`capacity at deploy_test since 2026-02-04 00:00 UTC, 2 runs in a row; next try after
    2026-02-05 00:00 UTC; last product result: pass`."""
    b = c.blocked
    assert b is not None
    cls = failure_class(c)
    last = f"{c.status} [{cls}]" if cls else c.status
    return (
        f"{b.cls} at {b.stage} since {clock.display(b.since)}, {_runs(b.rounds)}; "
        f"next try after {clock.display(b.retryAfter)}; last product result: {last}"
    )


def error_text(c: ConfigReport) -> str:
    """`harness error at generate on 2026-02-05 01:00 UTC (harness-internal-error:
    KeyError): mlcc-ci's own, not counted against the configuration`."""
    run = c.lastError
    assert run is not None
    failure = run.failure
    stage = failure.stage if failure and failure.stage else "-"
    cause = f" ({failure.rule}: {failure.capture})" if failure and failure.rule else ""
    return (
        f"harness error at {stage} on {clock.display(run.finishedAt)}{cause}: "
        "mlcc-ci's own, not counted against the configuration"
    )


def _tag(g: FailureGroup) -> str:
    return f"{g.cls}, {g.cause}" if g.cause else g.cls


# -- text ---------------------------------------------------------------------------------


def text_head(g: FailureGroup, names: str, said: str) -> str:
    """A group's first line: `FAILURE [product, cuda-out-of-memory: CUDA out of memory] in
    deploy_test ×1 (names): said`, `BLOCKED [capacity, ...] at deploy_test ×1 (names)`,
    `ERROR [harness, ...] in generate ×1 (names): mlcc-ci's own error, ...`."""
    n = len(g.configurations)
    if g.kind == "blocked":
        return f"BLOCKED [{_tag(g)}] at {g.stage} ×{n} ({names}): not the configuration's"
    if g.kind == "error":
        return (
            f"ERROR [{_tag(g)}] in {g.stage} ×{n} ({names}): "
            "mlcc-ci's own error, not the configuration's"
        )
    return f"FAILURE [{_tag(g)}] in {g.stage} ×{n} ({names}): {said}"


# -- JSON ---------------------------------------------------------------------------------


def config_items(c: ConfigReport) -> dict[str, Any]:
    """The classes' keys of one configuration in the JSON report."""
    cls = failure_class(c)
    failure: dict[str, Any] | None = None
    if cls is not None:
        f = c.failure
        failure = {
            "class": cls,
            "stage": f.stage if f else _failed(c),
            "rule": f.rule if f and f.rule else None,
            "capture": f.capture if f and f.capture else None,
        }
    error = None
    if c.lastError is not None:
        run, f = c.lastError, c.lastError.failure
        error = {
            "runId": run.runId,
            "finishedAt": run.finishedAt,
            "stage": f.stage if f else None,
            "rule": f.rule if f and f.rule else None,
            "capture": f.capture if f and f.capture else None,
        }
    return {
        "shownStatus": shown_status(c),
        "failure": failure,
        "blocked": c.blocked.to_item() if c.blocked is not None else None,
        "lastError": error,
    }


def _failed(c: ConfigReport) -> str | None:
    return next((s for s, r in c.stageResults.items() if r.status == "fail"), None)


def report_items(report: Report) -> dict[str, Any]:
    """The classes' keys of the JSON report, beside the configurations."""
    by_class: dict[str, dict[str, None]] = {}  # class -> its configurations, in order, once
    for g in report.failure_groups:
        by_class.setdefault(g.cls, {}).update(dict.fromkeys(g.configurations))
    return {
        "blocked": [c.name for c in report.blocked],
        "suspects": [c.suspect.to_item(c.name) for c in report.suspects if c.suspect],
        "errors": [c.name for c in report.errors],
        "noise": report.noise.to_item(),
        "failuresByClass": {cls: list(names) for cls, names in by_class.items()},
    }


def group_item(g: FailureGroup) -> dict[str, Any]:
    return {
        "class": g.cls,
        "kind": g.kind,
        "stage": g.stage,
        "rule": g.rule or None,
        "capture": g.capture or None,
        "signature": g.signature,
        "sample": g.sample,
        "configurations": list(g.configurations),
    }


# -- Markdown -----------------------------------------------------------------------------


def markdown_caused(report: Report, cell: Cell) -> list[str]:
    """What the change caused (newly failing, with their class and rule) apart from what
    the infrastructure or mlcc-ci did (blocked configurations, harness errors), by class."""
    out: list[str] = []
    by_name = {c.name: c for c in report.configurations}
    new = [by_name[n] for n in newly_failing(report)]
    if new:
        out += ["### Caused by this change", ""]
        for c in new:
            f = c.failure
            cause = f" · {cell(f.rule)}: {cell(f.capture)}" if f is not None and f.rule else ""
            out.append(f"- {cell(c.name)}: {cell(shown_status(c))}{cause}")
        out.append("")
    groups = [g for g in report.failure_groups if g.kind != "failure"]
    if groups:
        out += ["### Not caused by this change: infrastructure", ""]
        for g in groups:
            cause = f" · {cell(g.cause)}" if g.cause else ""
            listed = ", ".join(f"{cell(n)} ({cell(_why(by_name[n], g))})" for n in g.configurations)
            out.append(
                f"- **{cell(g.cls)}** at {cell(g.stage)}{cause} ×{len(g.configurations)}: {listed}"
            )
        out.append("")
    return out


def _why(c: ConfigReport, g: FailureGroup) -> str:
    if g.kind == "error" and c.lastError is not None:
        return f"mlcc-ci's own error on {clock.display(c.lastError.finishedAt)}"
    b = c.blocked
    if b is None:
        return "-"
    return f"blocked since {clock.display(b.since)}, {_runs(b.rounds)}"


def markdown_summary(g: FailureGroup, cell: Cell) -> str:
    """A product failure group's <summary>: `[product] deploy_test ×1: names · rule: capture`."""
    names = ", ".join(cell(n) for n in g.configurations)
    cause = f" · {g.cause}" if g.cause else ""
    return f"[{g.cls}] {g.stage} ×{len(g.configurations)}: {names}{cause}"


# -- HTML ---------------------------------------------------------------------------------


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
        out += f'<div class="blocked-since">{escape(blocked_text(c))}</div>'
    if c.lastError is not None:
        out += f'<div class="error">last run: {escape(error_text(c))}</div>'
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
