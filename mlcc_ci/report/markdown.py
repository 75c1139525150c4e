"""The Markdown report, for a pull request's comment: the verdict first, what the change
caused, then the table; under 64 KB whatever the inputs. Laid out by a jinja2 template
(reports/report.md.j2), as the HTML is; everything from logs, configs or users is escaped
here: every value the template prints goes through `md_cell` (`finalize`) unless a filter
made it `Safe` its own way (uncapped text, fences, a <summary>'s HTML)."""

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from mlcc_ci import clock
from mlcc_ci.report.cells import (
    EXAMPLE_NOTE,
    STAGE_KEY,
    cost_lines,
    cost_text,
    earlier_lines,
    is_blocked,
    quarantine_text,
    rate_text,
    running_state,
    stage_marks,
)
from mlcc_ci.report.classes import FailureGroup, shown_status
from mlcc_ci.report.model import ConfigReport, Report
from mlcc_ci.report.sections import in_a_row
from mlcc_ci.safetext import capped

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


class Safe(str):
    """Markdown already made safe (escaped its own way, or mlcc-ci's own words): printed as
    it is. Anything else the template prints is escaped as a cell (`_escaped`)."""


def _escaped(value: object) -> str:
    """Every value the template prints: as it is when Safe, else escaped as a table cell."""
    return value if isinstance(value, Safe) else md_cell(value)


def _cells(names: Iterable[object], empty: str = "") -> Safe:
    """Names, each escaped as a cell, joined by `, `; `empty` when there are none."""
    return Safe(", ".join(md_cell(n) for n in names) or empty)


def _rule_cause(c: ConfigReport) -> Safe:
    """` · rule: capture` of a newly failing configuration whose failure a rule named."""
    f = c.failure
    return Safe(f" · {md_cell(f.rule)}: {md_cell(f.capture)}" if f is not None and f.rule else "")


def _why(c: ConfigReport, g: FailureGroup) -> str:
    if g.kind == "error" and c.lastError is not None:
        return f"mlcc-ci's own error on {clock.display(c.lastError.finishedAt)}"
    b = c.blocked
    if b is None:
        return "-"
    return f"blocked since {clock.display(b.since)}, {in_a_row(b.rounds)}"


def _summary(g: FailureGroup) -> Safe:
    """A product failure group's <summary>, escaped there as HTML as a whole: `[product]
    deploy_test ×1: names · rule: capture`."""
    names = ", ".join(capped(n, MD_CELL_CHARS) for n in g.configurations)
    cause = f" · {g.cause}" if g.cause else ""
    said = f"[{g.cls}] {g.stage} ×{len(g.configurations)}: {names}{cause}"
    return Safe(_html_escape(capped(said, 400)))


def _icon(c: ConfigReport) -> str:
    icon = "🚧" if is_blocked(c) else _ICON.get(c.status, "❌")
    return "🔇" if c.quarantine is not None and c.failing else icon


@cache
def _template() -> Any:
    import jinja2

    from mlcc_ci.resources import data_path

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_path("reports"))),
        autoescape=False,  # Markdown is not HTML: every value is escaped by `_escaped`
        finalize=_escaped,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        safe=lambda v: Safe(v),
        text=lambda v: Safe(md_text(v)),
        fence=lambda v: Safe(md_fence(capped(v, 600) or "(no error output)")),
        summary=_summary,
        cells=_cells,
        rule_cause=_rule_cause,
        display=clock.display,
        duration=clock.duration,
    )
    return env.get_template("report.md.j2")


def markdown(report: Report) -> str:
    """For a pull request: the verdict first, then the summary, the costs that are not
    zero, what changed, the regressions, the failures grouped by cause, and a compact table
    of what can run, failing rows first and passing ones folded; unsupported ones once.
    The layout is the template's (reports/report.md.j2); what goes in it is chosen here."""
    from mlcc_ci.report.verdict import newly_failing, verdict

    by_name = {c.name: c for c in report.configurations}

    def why_listed(g: FailureGroup) -> Safe:
        """`name (blocked since ..., 2 runs in a row), ...`: each name and why escaped."""
        said = (f"{md_cell(n)} ({md_cell(_why(by_name[n], g))})" for n in g.configurations)
        return Safe(", ".join(said))

    runnable = [
        c for c in report.configurations if c.supportState != "unsupported" and not c.removed
    ]
    first = [c for c in runnable if c.failing or is_blocked(c)]
    first += [c for c in runnable if not (c.failing or c.passing or is_blocked(c))]
    passing = [c for c in runnable if c.passing and not is_blocked(c)]
    lists = [
        ("Fixed", report.fixed, lambda c: "passed after failing"),
        ("Flaky", report.flaky, lambda c: f"{c.flips} status changes in its last runs"),
        ("Running", report.running, lambda c: running_state(c, report.generatedAt)),
    ]
    text = _template().render(
        report=report,
        marker=MD_MARKER,
        verdict=verdict(report, md_cell),
        costs=cost_lines(report, hide_zero=True),
        example=bool(report.profiles.get("example")),
        example_note=EXAMPLE_NOTE,
        caused=[by_name[n] for n in newly_failing(report)],
        not_caused=[g for g in report.failure_groups if g.kind != "failure"],
        groups=[g for g in report.failure_groups if g.kind == "failure"],
        lists=[(title, configs, say) for title, configs, say in lists if configs],
        tables=[(folded, rows) for folded, rows in ((False, first), (True, passing)) if rows],
        unsupported=[c.name for c in report.configurations if c.supportState == "unsupported"],
        earlier=[(c, line) for c in report.configurations for line in earlier_lines(c)],
        stage_key=STAGE_KEY.capitalize(),
        shown_status=shown_status,
        quarantine_text=quarantine_text,
        icon=_icon,
        blocked=is_blocked,
        stage_marks=stage_marks,
        rate_text=rate_text,
        cost_text=cost_text,
        why_listed=why_listed,
    )
    return _fit(text.rstrip() + "\n")


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
