"""What a configuration's run history says: regression, fixed, flakiness, pass rate. Pure."""

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlcc_ci.constants import PASS
from mlcc_ci.models import PRODUCT_RUNS, Run

WINDOW = PRODUCT_RUNS  # a record keeps this many product runs, whatever retries came after
FLAKY_FLIPS = 3


@dataclass(frozen=True)
class Regression:
    since: str  # when the first run of the current failing streak started
    lastPass: str  # when the last passing run finished
    lastPassRunId: str
    failingRuns: int


@dataclass(frozen=True)
class Trend:
    regression: Regression | None
    fixed: bool  # passed now after failing before
    flips: int  # pass/fail changes over the window
    passRate: float | None  # over the window; the confidence score
    runs: int

    @property
    def flaky(self) -> bool:
        return self.flips >= FLAKY_FLIPS


def analyse(runs: Sequence[Run], window: int = WINDOW) -> Trend:
    """`runs` newest first. Only product outcomes count (Run.product): a pass, or a failure
    no rule put on the infrastructure or the harness. A run the user interrupted, a harness
    `error`, or a capacity, quota, throttling or credentials failure proved nothing about
    the product: it counts toward no regression, fix, flakiness or pass rate."""
    runs = [r for r in runs if r.product]
    if not runs:
        return Trend(None, False, 0, None, 0)
    passed = [r.status == PASS for r in runs]
    regression = None
    if not passed[0]:
        streak = passed.index(True) if True in passed else len(runs)
        if streak < len(runs):
            last_pass = runs[streak]
            regression = Regression(
                since=runs[streak - 1].startedAt,
                lastPass=last_pass.finishedAt,
                lastPassRunId=last_pass.runId,
                failingRuns=streak,
            )
    fixed = passed[0] and len(runs) > 1 and not passed[1]
    recent = passed[:window]
    flips = sum(a != b for a, b in itertools.pairwise(recent))
    rate = sum(recent) / len(recent)
    return Trend(regression, fixed, flips, round(rate, 3), len(runs))


def rounds(runs: Sequence[Run], count: int) -> tuple[list[Run], bool]:
    """The runs (newest first) of the newest `count` rounds of `runs`, and whether they are
    all of `runs`' runs. A round is a run's attempts: its first, and the retries listed
    before it; a run starts a round unless it is an earlier attempt than the one before it
    (so a round whose first attempt was forgotten still ends)."""
    kept: list[Run] = []
    seen = 0
    for run in runs:
        if not kept or run.attempt >= kept[-1].attempt:
            if seen == count:
                return kept, False
            seen += 1
        kept.append(run)
    return kept, True


def transition(previous_status: str | None, status: str) -> str | None:
    """What a finished run changed: 'regressed' (it passed before and fails now), 'fixed'
    (it failed before and passes now), or None (nothing worth telling anyone)."""
    before = previous_status or ""
    if before == PASS and status.startswith("fail-"):
        return "regressed"
    if before.startswith("fail-") and status == PASS:
        return "fixed"
    return None


_VOLATILE = (
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ][0-9:.]+Z?"), "<time>"),
    (re.compile(r"(?:/[\w.@+~-]+){2,}/?"), "<path>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b"), "<id>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)


def signature(text: str, names: Sequence[str] = ()) -> str:
    """An error summary with what differs from run to run taken out (the configuration's own
    names, paths, ids, times, numbers), so failures of one cause read the same."""
    for name in sorted((n for n in names if n), key=len, reverse=True):
        text = text.replace(name, "<config>")
    for pattern, mark in _VOLATILE:
        text = pattern.sub(mark, text)
    return " ".join(text.split())
