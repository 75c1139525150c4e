"""The Markdown report, for a pull request's comment: the verdict first, what the change
caused, then the table; under 64 KB whatever the inputs. Everything from logs, configs or
users is escaped here: Markdown cells and fences by hand."""

import re

from mlcc_ci import clock
from mlcc_ci.report import sections
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
from mlcc_ci.report.classes import shown_status
from mlcc_ci.report.model import ConfigReport, Report
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


def markdown(report: Report) -> str:
    """For a pull request: the verdict first, then the summary, the costs that are not
    zero, what changed, the regressions, the failures grouped by cause, and a compact table
    of what can run, failing rows first and passing ones folded; unsupported ones once."""
    from mlcc_ci.report.verdict import verdict

    out = [MD_MARKER, f"**{verdict(report, md_cell)}**", ""]
    out += [f"mlcc-ci coverage · {report.summary.line()}", ""]
    costs = cost_lines(report, hide_zero=True)
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
    if report.quarantined:
        out += ["### Quarantined", ""]
        for c in report.quarantined:
            out.append(
                f"- {md_cell(c.name)}: {md_cell(shown_status(c))}, {md_cell(quarantine_text(c))}"
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
        ("Running", report.running, lambda c: running_state(c, report.generatedAt)),
    ):
        if configs:
            out += [f"### {title}", ""]
            out += [f"- {md_cell(c.name)}: {md_cell(say(c))}" for c in configs]
            out.append("")
    runnable = [
        c for c in report.configurations if c.supportState != "unsupported" and not c.removed
    ]
    first = [c for c in runnable if c.failing or is_blocked(c)]
    first += [c for c in runnable if not (c.failing or c.passing or is_blocked(c))]
    if first:
        out += [*MD_TABLE_HEAD, *(_md_row(c) for c in first), ""]
    passing = [c for c in runnable if c.passing and not is_blocked(c)]
    if passing:
        out += [f"<details><summary>{len(passing)} passing</summary>", "", *MD_TABLE_HEAD]
        out += [*(_md_row(c) for c in passing), "", "</details>", ""]
    out += [md_cell(STAGE_KEY.capitalize()), ""]
    unsupported = [c.name for c in report.configurations if c.supportState == "unsupported"]
    if unsupported:
        out.append(f"Unsupported by the generator: {', '.join(md_cell(n) for n in unsupported)}")
    if report.removed:
        names = ", ".join(md_cell(c.name) for c in report.removed)
        out.append(f"\nRemoved from the catalog, their records kept, counted nowhere: {names}")
    earlier = [(c, line) for c in report.configurations for line in earlier_lines(c)]
    if earlier:
        out += ["", f"<details><summary>Earlier identities ({len(earlier)})</summary>", ""]
        out += [f"- {md_cell(c.name)}: {md_cell(line)}" for c, line in earlier]
        out += ["", "</details>"]
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


def _md_row(c: ConfigReport) -> str:
    icon = "🚧" if is_blocked(c) else _ICON.get(c.status, "❌")
    icon = "🔇" if c.quarantine is not None and c.failing else icon
    status = md_cell(shown_status(c)) + (" ⚠️ **REGRESSION**" if c.regression else "")
    if c.quarantine is not None:
        status += f" (quarantined until {md_cell(c.quarantine.until)})"
    if is_blocked(c):
        assert c.blocked is not None
        status += f" since {clock.display(c.blocked.since)}"
    if c.lastError is not None:
        status += " (last run: harness error)"
    status += " (fixed)" if c.fixed else ""
    status += " (flaky)" if c.flaky else ""
    return (
        f"| {md_cell(c.name)} | {icon} {status} | {clock.display(c.lastTest)} | "
        f"{clock.duration(c.duration)} | {stage_marks(c)} | {rate_text(c)} | "
        f"{md_cell(cost_text(c))} | {md_cell(c.owner)} | {md_cell(c.profile or '-')} |"
    )


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
