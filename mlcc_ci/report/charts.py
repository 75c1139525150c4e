"""Small inline SVG charts for the HTML report: no script, no external file, no library.

Built as strings because a report of 10,000 configurations draws 30,000 of them; every
text that came from a store goes through `escape`. Numbers are formatted, never escaped.
"""

from collections.abc import Mapping, Sequence
from functools import lru_cache
from html import escape
from operator import sub

from mlcc_ci.clock import duration as seconds
from mlcc_ci.history import WINDOW
from mlcc_ci.models import Run, StageResult

# Colours, shared with the legend and the stylesheet (reports/report.html.j2).
STATUS_COLOURS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "skip": "#d4a72c",
    "running": "#0969da",
    "none": "#d0d7de",
}
STAGE_COLOURS = {
    "generate": "#6639ba",
    "validate": "#9a6700",
    "build": "#0550ae",
    "deploy_test": "#bc4c00",
    "register": "#1b7c83",
    "teardown": "#57606a",
}
# the pass rate at each run is over this many runs ending there: the table's own window
TREND_WINDOW = WINDOW


@lru_cache(maxsize=4096)
def word(text: str) -> str:
    """`escape` for the few words a report repeats thousands of times (stage names,
    statuses, owners, architectures, profiles): each one escaped once."""
    return escape(text)


# The start of each duration bar (its centre, in tenths of a pixel), for up to 64 runs.
_MOVES = [f"M{35 + i * 80} " for i in range(64)]


def _runs(n: int) -> str:
    return f"{n} run{'' if n == 1 else 's'}"


def trend(runs: Sequence[Run], rate: str) -> str:
    """Pass rate over time (oldest left), each run a dot in its status colour. `runs`
    newest first, as the report keeps them; `rate`: the pass rate the table shows beside it
    (cells.rate_text), which the title quotes as the rate now. Drawn in tenths of a pixel,
    as whole numbers."""
    # what the pass rate counts: a run that proved nothing of the product is no dot
    passes = [r.passed for r in reversed(runs) if r.product]
    if not passes:
        return '<svg class="trend empty" width="0" height="0" aria-hidden="true"></svg>'
    step = 8
    width, height = max(step * len(passes), 48), 24
    points: list[str] = []
    passed: list[str] = []
    failed: list[str] = []
    window = 0  # passes among the last TREND_WINDOW runs
    first = 0.0
    for i, ok in enumerate(passes):
        window += ok - (passes[i - TREND_WINDOW] if i >= TREND_WINDOW else 0)
        at = window / min(i + 1, TREND_WINDOW)
        first = at if i == 0 else first
        x, y = 30 + i * step * 10, 30 + int((1 - at) * (height - 6) * 10)
        points.append(f"{x},{y}")
        (passed if ok else failed).append(f"M{x - 20} {y - 20}h40v40h-40z")
    label = f"pass rate over the last {_runs(len(passes))}: {first * 100:.0f}% at first, {rate} now"
    return (
        f'<svg class="trend" width="{width}" height="{height}" '
        f'viewBox="0 0 {width * 10} {height * 10}" role="img">'
        f'<title>{label}</title><polyline points="{" ".join(points)}" fill="none" '
        f'stroke="#8c959f" stroke-width="10"/>'
        f'<path d="{"".join(passed)}" fill="{STATUS_COLOURS["pass"]}"/>'
        f'<path d="{"".join(failed)}" fill="{STATUS_COLOURS["fail"]}"/></svg>'
    )


def durations(runs: Sequence[Run]) -> str:
    """Each run a bar (oldest left), stacked by stage in the stage colours, scaled to the
    longest run shown. Drawn in tenths of a pixel, as whole numbers (quick to write)."""
    ordered = runs[::-1]
    results = [run.stageResults for run in ordered]
    columns = {  # stage -> its seconds in each run, oldest first
        stage: [(r.durationSeconds if (r := sr.get(stage)) else 0.0) for sr in results]
        for stage in STAGE_COLOURS
    }
    longest = max(map(sum, zip(*columns.values(), strict=True)), default=0.0)
    if longest <= 0:
        return '<svg class="durations empty" width="0" height="0" aria-hidden="true"></svg>'
    step, height = 8, 30
    width = max(step * len(ordered), 48)
    scale = height * 10 / longest
    tops = [height * 10] * len(ordered)  # where the next stage's segment ends, per run
    moves = _MOVES[: len(ordered)]
    drawn: list[str] = []
    spent: dict[str, float] = {}
    for stage, column in columns.items():  # one path per stage
        total = sum(column)
        if total <= 0:
            continue
        spent[stage] = total
        heights = [int(v * scale) for v in column]
        tops = list(map(sub, tops, heights))
        # each segment a vertical stroke 7 px wide: `M x y v h`, x from a table of strings
        d = "".join([f"{m}{y}v{h}" for m, y, h in zip(moves, tops, heights, strict=True) if h])
        drawn.append(f'<path d="{d}" stroke="{STAGE_COLOURS[stage]}" stroke-width="70"/>')
    mean = ", ".join(f"{stage} {seconds(t / len(ordered))}" for stage, t in spent.items())
    # numbers and our own stage names only: nothing to escape
    label = f"stage durations of the last {_runs(len(ordered))} (longest {seconds(longest)}); "
    label += f"mean {mean}"
    return (
        f'<svg class="durations" width="{width}" height="{height}" '
        f'viewBox="0 0 {width * 10} {height * 10}" role="img">'
        f"<title>{label}</title>{''.join(drawn)}</svg>"
    )


def timeline(
    stages: Mapping[str, StageResult],
    current: str | None = None,
    current_seconds: float = 0.0,
    width: int = 180,
) -> str:
    """The stages of one run in order, each as wide as it took (at least 3 px), coloured by
    its status; `current` is the stage under way for `current_seconds` (drawn as running)."""
    shown = [(name, r) for name, r in stages.items() if r.status != "skip" or r.durationSeconds]
    if current and current not in stages:
        shown.append((current, StageResult("running", max(current_seconds, 0.0))))
    if not shown:
        return '<svg class="timeline empty" width="0" height="0" aria-hidden="true"></svg>'
    spent = sum(r.durationSeconds for _, r in shown) or 1.0
    room = (width - 3 * len(shown)) * 10  # in tenths of a pixel, as whole numbers
    x, parts = 0, []
    for name, result in shown:
        w = 30 + int(result.durationSeconds / spent * room)
        colour = STATUS_COLOURS.get(result.status, STATUS_COLOURS["none"])
        stage = word(name)
        parts.append(
            f'<rect x="{x}" y="0" width="{max(w - 10, 20)}" height="120" fill="{colour}" '
            f'data-stage="{stage}"><title>{stage}: {word(result.status)} '
            f"{seconds(result.durationSeconds)}</title></rect>"
        )
        x += w
    return (
        f'<svg class="timeline" width="{width}" height="12" viewBox="0 0 {width * 10} 120" '
        f'role="img" aria-label="stage timeline">{"".join(parts)}</svg>'
    )
