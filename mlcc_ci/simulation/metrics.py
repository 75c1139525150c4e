"""What a policy did in a world: regressions caught, how soon, and at what cost. Pure.

A regression (world.regressions) is caught when a product run of its configuration (a pass
or a product failure, never a blocked or error run: models.Run.product) that started
inside its window failed; the time to detection is from the window's start to the end of
the first such run. Cost: every run's estimated cost (blocked runs too: they are paid for).
Only runs started within the measured days count (not a warm-up's).
"""

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlcc_ci import clock
from mlcc_ci.constants import PASS
from mlcc_ci.cost import money, total
from mlcc_ci.models import Run
from mlcc_ci.simulation.world import KINDS, Breakage, World

# The target for the default policy against the seed's.
COST_SHARE = 0.5


@dataclass(frozen=True)
class Detection:
    regression: Breakage
    run: Run | None  # the first failing product run that started inside the window

    @property
    def hours(self) -> float | None:
        if self.run is None:
            return None
        seconds = (clock.parse(self.run.finishedAt) - self.regression.start).total_seconds()
        return round(seconds / 3600, 2)


def detect(regression: Breakage, runs: Sequence[Run]) -> Detection:
    """Whether (and by which run) `regression` was caught, of `runs` (any order)."""
    failed = [
        r
        for r in runs
        if r.deploymentConfig == regression.config
        and r.product
        and r.status != PASS
        and regression.covers(clock.parse(r.startedAt))
    ]
    first = min(failed, key=lambda r: r.finishedAt, default=None)
    return Detection(regression, first)


def in_windows(run: Run, regressions: Sequence[Breakage]) -> bool:
    start = clock.parse(run.startedAt)
    return any(b.config == run.deploymentConfig and b.covers(start) for b in regressions)


@dataclass(frozen=True)
class Summary:
    policy: str
    runs: int
    product_runs: int
    blocked_runs: int
    false_alarms: int  # product failures outside every regression window (flakes)
    detections: tuple[Detection, ...]
    usd: float  # of the runs whose cost is known
    days: float
    seconds: float  # the replay's wall time
    unpriced: int = 0  # runs whose cost is unknown (a price the table lacks)

    @property
    def cost_text(self) -> str:
        return money(self.usd) + (f" (+{self.unpriced} unknown)" if self.unpriced else "")

    @property
    def caught(self) -> list[Detection]:
        return [d for d in self.detections if d.run is not None]

    @property
    def missed(self) -> list[Breakage]:
        return [d.regression for d in self.detections if d.run is None]

    @property
    def hours(self) -> list[float]:
        return [h for d in self.detections if (h := d.hours) is not None]

    @property
    def median_hours(self) -> float | None:
        return round(statistics.median(self.hours), 2) if self.hours else None

    @property
    def worst_hours(self) -> float | None:
        return max(self.hours) if self.hours else None

    @property
    def per_day(self) -> float:
        return round(self.usd / self.days, 2) if self.days else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            "runs": self.runs,
            "productRuns": self.product_runs,
            "blockedRuns": self.blocked_runs,
            "falseAlarms": self.false_alarms,
            "regressions": len(self.detections),
            "caught": len(self.caught),
            "missed": [_regression_json(b) for b in self.missed],
            "detections": [
                {**_regression_json(d.regression), "hours": d.hours} for d in self.detections
            ],
            "detectionHours": {"median": self.median_hours, "worst": self.worst_hours},
            "usd": self.usd,
            "unpricedRuns": self.unpriced,
            "usdPerDay": self.per_day,
            "replaySeconds": round(self.seconds, 3),
        }


def summarize(
    policy: str,
    world: World,
    runs: Sequence[Run],
    seconds: float = 0.0,
) -> Summary:
    regressions = world.regressions
    since = clock.iso(world.start)
    runs = [r for r in runs if r.startedAt >= since]  # the warm-up's are not counted
    spent = total(r.estimatedCost for r in runs)
    return Summary(
        policy=policy,
        runs=len(runs),
        product_runs=sum(r.product for r in runs),
        blocked_runs=sum(1 for r in runs if r.failure is not None and r.failure.blocking),
        false_alarms=sum(
            1 for r in runs if r.product and r.status != PASS and not in_windows(r, regressions)
        ),
        detections=tuple(detect(b, runs) for b in regressions),
        usd=round(spent.usd, 2),
        unpriced=spent.unknown,
        days=world.days,
        seconds=seconds,
    )


@dataclass(frozen=True)
class Target:
    """The issue's target for `default` against `seed`: each part met or not, said why."""

    all_caught: bool
    median_no_later: bool
    cost_share: float | None  # default's dollars / the seed's

    @property
    def cheap_enough(self) -> bool:
        return self.cost_share is not None and self.cost_share <= COST_SHARE

    @property
    def met(self) -> bool:
        return self.all_caught and self.median_no_later and self.cheap_enough


def target(default: Summary, seed: Summary) -> Target:
    ours, theirs = default.median_hours, seed.median_hours
    return Target(
        all_caught=not default.missed,
        median_no_later=theirs is None or (ours is not None and ours <= theirs),
        cost_share=round(default.usd / seed.usd, 3) if seed.usd else None,
    )


def _regression_json(b: Breakage) -> dict[str, object]:
    return {
        "configuration": b.config,
        "kind": b.kind,
        "start": clock.iso(b.start),
        "end": clock.iso(b.end) if b.end else None,
        "cause": b.cause,
    }


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def world_line(world: World) -> str:
    counts = world_counts(world)
    names = {
        "generator-release": "generator release",
        "image-update": "base image update",
        "entry-edit": "entry edit",
        "silent-break": "silent breakage",
        "silent-recovery": "recovery",
        "capacity-gap": "capacity gap",
    }
    parts = ", ".join(_count(counts[k], names[k]) for k in KINDS)
    regressions = _count(len(world.regressions), "regression")
    return f"World: {parts}; {regressions} (a configuration's overlapping breakages are one)"


def _count(n: int, name: str) -> str:
    if n == 1:
        return f"1 {name}"
    return f"{n} {name[:-1]}ies" if name.endswith("y") else f"{n} {name}s"


def world_counts(world: World) -> dict[str, int]:
    """How many events of each kind the measured days saw (not the warm-up's)."""
    return {k: sum(1 for e in world.events if e.kind == k and e.at >= world.start) for k in KINDS}


HEADER = (
    "policy",
    "runs",
    "blocked",
    "caught",
    "median",
    "worst",
    "false alarms",
    "cost",
    "per day",
)


def table(summaries: Sequence[Summary]) -> list[str]:
    """The comparison, one row per policy, columns aligned."""
    rows = [HEADER] + [
        (
            s.policy,
            str(s.runs),
            str(s.blocked_runs),
            f"{len(s.caught)} of {len(s.detections)}",
            _hours(s.median_hours),
            _hours(s.worst_hours),
            str(s.false_alarms),
            s.cost_text,
            money(s.per_day),
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def missed_lines(summaries: Sequence[Summary]) -> list[str]:
    lines = []
    for s in summaries:
        for b in s.missed:
            end = clock.display(clock.iso(b.end)) if b.end else "the end"
            lines.append(
                f"{s.policy} missed: {b.config} ({b.kind}: {b.cause}) broken "
                f"{clock.display(clock.iso(b.start))} to {end}"
            )
    return lines


def target_line(t: Target, default: Summary, seed: Summary) -> str:
    def yes(ok: bool) -> str:
        return "yes" if ok else "NO"

    share = "-" if t.cost_share is None else f"{t.cost_share * 100:.0f} %"
    return (
        f"Target (default against seed): every regression caught {yes(t.all_caught)} "
        f"({len(default.caught)} of {len(default.detections)}); median detection no later "
        f"{yes(t.median_no_later)} ({_hours(default.median_hours)} against "
        f"{_hours(seed.median_hours)}); at most 50 % of the cost {yes(t.cheap_enough)} "
        f"({share}): {'met' if t.met else 'NOT met'}"
    )


def report_json(
    world: World, summaries: Sequence[Summary], setting: Mapping[str, object]
) -> dict[str, object]:
    by_name = {s.policy: s for s in summaries}
    out: dict[str, object] = {
        **setting,
        "world": {
            "events": world_counts(world),
            "regressions": [_regression_json(b) for b in world.regressions],
        },
        "policies": [s.to_json() for s in summaries],
    }
    if "default" in by_name and "seed" in by_name:
        t = target(by_name["default"], by_name["seed"])
        out["target"] = {
            "allCaught": t.all_caught,
            "medianNoLater": t.median_no_later,
            "costShare": t.cost_share,
            "met": t.met,
        }
    return out
