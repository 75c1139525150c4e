"""How far a configuration can be trusted, from its product runs. Pure.

Only product outcomes count (Run.product): a pass, or a failure no rule put on the
infrastructure or the harness. Blocked, error and interrupted runs prove nothing. Over the
window (the newest WINDOW_RUNS product runs, none older than WINDOW_DAYS), the confidence
is the lower bound of the 95 % Wilson score interval of the pass rate: 3 passes of 3 is
0.44, 10 of 10 is 0.72, 20 of 20 is 0.84; a pass rate over few runs is not a confidence.

Levels, first that applies:
  unknown        no product run in the window
  failing        the newest product run failed
  new            fewer than NEW_BELOW product runs
  battle-tested  the lower bound is at least BATTLE_TESTED, and the newest pass is no older
                 than FRESH_DAYS
  passing        otherwise: the newest product run passed
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlcc_ci import clock
from mlcc_ci.models import Run

LEVELS = ("battle-tested", "passing", "new", "failing", "unknown")
WINDOW_RUNS = 20
WINDOW_DAYS = 90
NEW_BELOW = 3
BATTLE_TESTED = 0.75  # 12 passes in a row reach it (0.757); 11 do not (0.741)
FRESH_DAYS = 14
Z95 = 1.959964


def wilson_lower(passes: int, runs: int, z: float = Z95) -> float:
    """The lower bound of the Wilson score interval of `passes` in `runs` (0 for no runs)."""
    if runs <= 0:
        return 0.0
    p = passes / runs
    z2 = z * z
    centre = p + z2 / (2 * runs)
    spread = z * math.sqrt(p * (1 - p) / runs + z2 / (4 * runs * runs))
    return max(0.0, (centre - spread) / (1 + z2 / runs))


@dataclass(frozen=True)
class Window:
    runs: int = WINDOW_RUNS
    days: int = WINDOW_DAYS


@dataclass(frozen=True)
class Confidence:
    configId: str
    name: str
    level: str
    lower: float  # the Wilson lower bound, rounded to 3 places
    runs: int  # product runs in the window
    passes: int
    lastPass: str | None  # when the newest passing run in the window finished
    lastFailure: str | None
    generatorVersions: tuple[str, ...]  # that it passed with, newest first
    images: tuple[str, ...]  # the base images (digests where pinned) it passed with

    @property
    def passRate(self) -> float | None:
        return round(self.passes / self.runs, 3) if self.runs else None

    def to_json(self) -> dict[str, object]:
        return {
            "configId": self.configId,
            "name": self.name,
            "level": self.level,
            "confidence": self.lower,
            "runs": self.runs,
            "passes": self.passes,
            "passRate": self.passRate,
            "lastPass": self.lastPass,
            "lastFailure": self.lastFailure,
            "generatorVersions": list(self.generatorVersions),
            "images": list(self.images),
        }


def in_window(runs: Iterable[Run], now: datetime, window: Window = Window()) -> list[Run]:
    """The product runs of `runs` (newest first) that the confidence counts."""
    oldest = clock.iso(now - timedelta(days=window.days))
    kept = [r for r in runs if r.product and r.startedAt >= oldest]
    return kept[: window.runs]


def assess(
    config_id: str,
    name: str,
    runs: Sequence[Run],
    now: datetime,
    window: Window = Window(),
) -> Confidence:
    """The confidence of one configuration from its runs, newest first (any kind: the ones
    that prove nothing are left out here)."""
    counted = in_window(runs, now, window)
    passed = [r for r in counted if r.passed]
    failed = [r for r in counted if not r.passed]
    lower = round(wilson_lower(len(passed), len(counted)), 3)
    last_pass = passed[0].finishedAt if passed else None
    return Confidence(
        configId=config_id,
        name=name,
        level=_level(counted, lower, last_pass, now),
        lower=lower,
        runs=len(counted),
        passes=len(passed),
        lastPass=last_pass,
        lastFailure=failed[0].finishedAt if failed else None,
        generatorVersions=_distinct(r.generatorVersion for r in passed),
        images=_distinct(r.provenImage for r in passed),
    )


def _level(counted: Sequence[Run], lower: float, last_pass: str | None, now: datetime) -> str:
    if not counted:
        return "unknown"
    if not counted[0].passed:
        return "failing"
    if len(counted) < NEW_BELOW:
        return "new"
    fresh = last_pass is not None and last_pass >= clock.iso(now - timedelta(days=FRESH_DAYS))
    if lower >= BATTLE_TESTED and fresh:
        return "battle-tested"
    return "passing"


def _distinct(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))
