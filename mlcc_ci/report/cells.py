"""What every format says the same way: a configuration's status with its flags, its
stages, pass rate, cost and duration, a running run's state, the cost lines, where a log is.
Each format escapes these words its own way."""

import re
from collections.abc import Callable
from urllib.parse import quote

from mlcc_ci import cadence, clock
from mlcc_ci.aws.cloudwatch import log_group
from mlcc_ci.constants import RUNNING, STAGES
from mlcc_ci.cost import Total, money
from mlcc_ci.history import WINDOW
from mlcc_ci.report.classes import shown_status
from mlcc_ci.report.model import ConfigReport, Report

EXAMPLE_NOTE = (
    "Results from the example profile prove the harness on this machine, not the containers in AWS."
)


def status_text(c: ConfigReport, *, narrow: bool = False) -> str:
    """`fail-build [product] ⚠️ REGRESSION`, `blocked (capacity)`, `pass`, `fail-validate
    [product] (quarantined until 2026-12-31)`, `pass (removed from the catalog)`.
    `narrow`: over lines, the class and each flag on a line of its own, a quarantine as the
    one word `quarantined` (the text report says its date and reason below the table)."""
    shown = shown_status(c)
    flags = []
    if c.regression:
        flags.append(REGRESSION)
    if c.quarantine is not None:
        flags.append(QUARANTINED if narrow else f"(quarantined until {c.quarantine.until})")
    if c.removed:
        flags.append(REMOVED)
    if not narrow:
        return " ".join([shown, *flags])
    return "\n".join([shown.replace(" [", "\n[").replace("blocked (", "blocked\n("), *flags])


REGRESSION = "⚠️ REGRESSION"
REMOVED = "(removed from the catalog)"
QUARANTINED = "quarantined"


def quarantine_text(c: ConfigReport) -> str:
    """`until 2026-12-31 (its failures are not counted): vLLM 0.10 breaks the small models`."""
    q = c.quarantine
    assert q is not None
    return f"until {q.until} (its failures are not counted): {q.reason}"


def removed_text(c: ConfigReport) -> str:
    """Why a row counts nowhere, and how to be rid of it."""
    n = c.recordCount
    return (
        f"not in the catalog any more; its {n} record{'' if n == 1 else 's'} and their runs "
        "are kept but counted nowhere (`mlcc-ci register --from-catalog --prune` deletes them)"
    )


def earlier_lines(c: ConfigReport) -> list[str]:
    """`earlier identity 0123456789abcdef (model m): 3 runs, last fail-validate on DATE`,
    one per identity the configuration had before its entry changed."""
    return [e.text for e in c.earlier]


def cost_text(c: ConfigReport) -> str:
    """The last run's cost, or '-' for a configuration that never ran."""
    return money(c.lastCost.usd) if c.lastCost else "-"


MARK = {"pass": "✓", "fail": "✗", "skip": "·"}
STAGE_KEY = (
    "stages: generate validate build deploy_test register teardown "
    "(✓ pass ✗ fail · skip ▶ running - not run)"
)


def stage_marks(c: ConfigReport) -> str:
    """The stages in lifecycle order, one mark each: of the run under way for a running
    configuration (never the previous run's), else of the last run."""
    running = c.status == RUNNING
    results = c.runStages if running else c.stageResults
    if not running and not results:
        return "-"
    current = c.currentStage if running else None
    return "".join(
        "▶" if s == current else MARK.get(r.status, "?") if (r := results.get(s)) else "-"
        for s in STAGES[:-1]
    )


def rate_text(c: ConfigReport) -> str:
    return "-" if c.passRate is None else f"{c.passRate * 100:.0f}% of {min(c.runs, WINDOW)}"


def seconds_since(since: str | None, now: str) -> float | None:
    """Seconds from `since` to `now` (never below 0); None when `since` is none or no time."""
    if not since:
        return None
    try:
        return max((clock.parse(now) - clock.parse(since)).total_seconds(), 0.0)
    except ValueError:
        return None


def elapsed(since: str | None, now: str) -> str:
    return clock.duration(seconds_since(since, now))


def running_state(c: ConfigReport, now: str) -> str:
    """`STAGE for ELAPSED (run started WHEN, ELAPSED ago)`."""
    stage = c.currentStage or "starting"
    return (
        f"{stage} for {elapsed(c.currentStageStartedAt, now)} "
        f"(run started {clock.display(c.runStartedAt)}, {elapsed(c.runStartedAt, now)} ago)"
    )


def is_zero(t: Total) -> bool:
    return t.usd == 0 and not t.unknown


def cost_lines(report: Report, *, hide_zero: bool = False) -> list[str]:
    """Cost shown, per day, and the month at the current schedule, in one wording, and why
    an unbilled profile's cost $0. `hide_zero`: only the figures that are not $0 (a pull
    request's unbilled profile); the why is said all the same, for the table's $0.00."""
    by_day = [(d, t) for d, t in report.cost_by_day[:7] if not (hide_zero and is_zero(t))]
    days = "; ".join(f"{day} {t.text}" for day, t in by_day) or "none"
    lines = []
    if not (hide_zero and is_zero(report.cost_shown)):
        lines.append(f"Cost of the runs shown: {report.cost_shown.text} ({report.prices})")
    if by_day or not hide_zero:
        lines.append(f"Cost per day: {days}")
    if not (hide_zero and is_zero(report.monthly)):
        every = f"every {report.scheduleHours:g} h"
        if report.schedule == cadence.CONFIDENCE:  # as often as its interval says
            longest = report.scheduleHours * cadence.LONGEST / 24
            every = f"{every} to {longest:g} d, by its confidence"
        lines.append(
            f"Month at the current schedule (each configuration {every}): {report.monthly.text}"
        )
    return [*lines, *unbilled_lines(report)]


def unbilled_lines(report: Report) -> list[str]:
    """Why the costs of the profiles that bill nothing (`billed: false`) are $0."""
    names = list(report.unbilled)
    if not names:
        return []
    if len(names) == 1:
        return [f"Profile {names[0]} is not billed: it makes nothing in AWS, so its runs cost $0"]
    listed = f"{', '.join(names[:-1])} and {names[-1]}"
    return [f"Profiles {listed} are not billed: they make nothing in AWS, so their runs cost $0"]


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


def is_blocked(c: ConfigReport) -> bool:
    return c.blocked is not None and c.status != RUNNING
