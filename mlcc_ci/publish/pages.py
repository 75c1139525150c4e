"""The published site's pages: the index (one lean row per configuration: no runs, so it
stays small at 10,000 configurations) and a page per configuration (its runs and their
trend, what it passed with). jinja2 templates in reports/ (site-*.html.j2, autoescape on);
the trend chart is drawn here, its texts escaped, its numbers formatted."""

from collections.abc import Sequence
from functools import cache
from html import escape
from typing import Any

from markupsafe import Markup

from mlcc_ci import clock
from mlcc_ci.assessing import Assessed, Point, Source, trend
from mlcc_ci.confidence import BATTLE_TESTED, LEVELS, Window
from mlcc_ci.models import Run
from mlcc_ci.publish.badge import COLOURS

# the chart of a configuration's trend: its size, in pixels
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 640, 140, 14


@cache
def _template(name: str) -> Any:
    import jinja2

    from mlcc_ci.resources import data_path

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_path("reports"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = clock.display
    env.filters["duration"] = clock.duration
    return env.get_template(name)


def index(
    assessed: Sequence[Assessed],
    links: dict[str, dict[str, str]],
    generated: str,
    window: Window,
    source: Source | None = None,
) -> str:
    """index.html: every configuration with its level and confidence, a search and a
    filter by level (site.js)."""
    counts = dict.fromkeys(LEVELS, 0)
    for a in assessed:
        counts[a.confidence.level] += 1
    return str(
        _template("site-index.html.j2").render(
            rows=[
                (a.confidence, links[a.confidence.name]["page"], a.supported, a.unreadable)
                for a in assessed
            ],
            unreadable=sum(a.unreadable is not None for a in assessed),
            counts=counts,
            colours=COLOURS,
            generated=generated,
            window=window,
            threshold=BATTLE_TESTED,
            source=source,
        )
    )


def config_page(
    a: Assessed,
    links: dict[str, str],
    generated: str,
    window: Window,
    source: Source | None = None,
) -> str:
    """A configuration's page: its confidence, what it passed with, its runs and their
    trend. Its links are relative to configs/."""
    c = a.confidence
    points = trend(a.runs, window)
    return str(
        _template("site-config.html.j2").render(
            c=c,
            supported=a.supported,
            unreadable=a.unreadable,
            runs=[(r, counted_as(r)) for r in a.runs],
            chart=chart(points),
            points=len(points),
            badge="../" + links["badge"],
            badge_path=links["badge"],
            colours=COLOURS,
            generated=generated,
            window=window,
            threshold=BATTLE_TESTED,
            source=source,
        )
    )


def counted_as(run: Run) -> str:
    """What a run counts for: a pass, a (product) failure, or nothing (blocked by the
    infrastructure, an error of the harness, interrupted)."""
    if run.passed:
        return "pass"
    if run.product:
        return "failure"
    if run.failure is not None and run.failure.blocking:
        return f"nothing: blocked ({run.failure.cls})"
    if run.status == "error":
        return "nothing: harness error"
    return "nothing"


def chart(points: Sequence[Point]) -> Markup:
    """The confidence after each product run, oldest left, each run a dot (green a pass,
    red a failure), and the battle-tested line."""
    if not points:
        return Markup("")
    inner_w = CHART_WIDTH - 2 * CHART_PAD
    inner_h = CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(len(points) - 1, 1)

    def y(value: float) -> float:
        return CHART_PAD + (1 - value) * inner_h

    xs = [CHART_PAD + i * step for i in range(len(points))]
    line = " ".join(f"{x:.1f},{y(p.lower):.1f}" for x, p in zip(xs, points, strict=True))
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y(p.lower):.1f}" r="4" '
        f'fill="{COLOURS["passing" if p.passed else "failing"]}"><title>'
        f"{escape(clock.display(p.finishedAt))}: {'pass' if p.passed else 'failure'}, "
        f"confidence {p.lower:.3f}</title></circle>"
        for x, p in zip(xs, points, strict=True)
    )
    bar = y(BATTLE_TESTED)
    return Markup(
        f'<svg class="chart" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" role="img" '
        f'aria-label="confidence after each product run, oldest first">'
        f'<line x1="{CHART_PAD}" x2="{CHART_WIDTH - CHART_PAD}" y1="{bar:.1f}" y2="{bar:.1f}" '
        f'stroke="{COLOURS["battle-tested"]}" stroke-dasharray="4 3"/>'
        f'<text x="{CHART_PAD + 2}" y="{bar - 4:.1f}" font-size="11" fill="#57606a">'
        f"battle-tested ({BATTLE_TESTED})</text>"
        f'<line x1="{CHART_PAD}" x2="{CHART_WIDTH - CHART_PAD}" y1="{y(0):.1f}" '
        f'y2="{y(0):.1f}" stroke="#d0d7de"/>'
        f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>'
        f"{dots}</svg>"
    )
