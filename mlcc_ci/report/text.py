"""The text report, for a terminal: the table fitted to a width (texttable.py), then what
needs saying, wrapped at spaces, and each failure group whole with where its logs are."""

import textwrap
from collections.abc import Sequence

from mlcc_ci import clock
from mlcc_ci.report import sections
from mlcc_ci.report.cells import (
    EXAMPLE_NOTE,
    STAGE_KEY,
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
from mlcc_ci.report.classes import FailureGroup
from mlcc_ci.report.model import ConfigReport, Report


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
    lines = wrap.wrap(text_head(g, names, said[0]))
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


def _change_lines(report: Report) -> list[str]:
    if not report.changes:
        return []
    c = report.changes
    return [
        f"SINCE THE BASELINE: newly failing {', '.join(c.newly_failing) or 'none'}; "
        f"newly passing {', '.join(c.newly_passing) or 'none'}; "
        f"new {', '.join(c.new) or 'none'}"
    ]


def text_head(g: FailureGroup, names: str, said: str) -> str:
    """A group's first line: `FAILURE [product, cuda-out-of-memory: CUDA out of memory] in
    deploy_test ×1 (names): said`, `BLOCKED [capacity, ...] at deploy_test ×1 (names)`,
    `ERROR [harness, ...] in generate ×1 (names): mlcc-ci's own error, ...`."""
    n = len(g.configurations)
    if g.kind == "blocked":
        return f"BLOCKED [{sections.tag(g)}] at {g.stage} ×{n} ({names}): not the configuration's"
    if g.kind == "error":
        return (
            f"ERROR [{sections.tag(g)}] in {g.stage} ×{n} ({names}): "
            "mlcc-ci's own error, not the configuration's"
        )
    return f"FAILURE [{sections.tag(g)}] in {g.stage} ×{n} ({names}): {said}"
