"""A daily dollar budget for what the schedule starts. Pure.

`Policy.daily_budget_usd` (the `daily-budget` setting, `--daily-budget`; in the stack the
`DailyBudget` parameter, the scanner's DAILY_BUDGET_USD): the dollars the runs started in one
UTC day are expected to cost. None (or 0 where it is read): no budget.

- **Spent today**: each run started since midnight UTC that the records in view carry
  (`recentRuns`, by `startedAt`) at its `estimatedCost`, and each run under way since then at
  its expected price (`Inputs.price`). A finished run whose cost is unknown counts nothing
  and is said (`unpriced`). `Inputs.spent_today` replaces the count (a simulation).
- **Within it**: the due configurations are taken in the plan's order while the expected
  price of each fits what is left (spent + taken so far + its price <= the budget); one that
  does not fit is left out (`daily-budget`, saying its price, what was spent and what the
  plan took) and the next that fits is taken, as the scanner's hard cap does. One whose
  price is more than the whole budget never runs within it, and is said so. Those past the
  free slots (MaxConcurrency) are not priced here: they wait for a slot anyway.
- **An unknown price**: while a budget is kept, a configuration whose expected cost is
  unknown is left out, said so (add its instance's price to the catalog's table): a budget
  that lets through what it cannot price is no budget, and the stack's spend cap refuses it
  too.

The budget plans, by the expected cost (cost.expected: the mean of the last runs, or for one
that never ran its bound); the stack's `DailySpendCap` (each run at its worst case, charged
atomically) stays the hard stop: set the budget below it.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from mlcc_ci import clock
from mlcc_ci.constants import RUNNING
from mlcc_ci.cost import money
from mlcc_ci.models import Record

Price = Callable[[Record], float | None]


class _Due(Protocol):
    @property
    def record(self) -> Record: ...

    @property
    def reason(self) -> str: ...


D = TypeVar("D", bound=_Due)
REASON = "daily-budget"


@dataclass(frozen=True)
class Budget:
    """What a plan kept of today's budget."""

    cap: float
    spent: float  # before this plan
    planned: float = 0.0  # the expected cost of what this plan takes
    left_out: int = 0
    unpriced: int = 0  # runs started today whose cost is unknown (counted as nothing)

    @property
    def left(self) -> float:
        return round(self.cap - self.spent - self.planned, 4)

    @property
    def text(self) -> str:
        """`Daily budget $50.00: $45.10 spent today, ~$3.20 due now, $1.70 left; 2 left out`."""
        unpriced = f" (+{self.unpriced} of unknown cost)" if self.unpriced else ""
        out = (
            f"Daily budget {money(self.cap)}: {money(self.spent)} spent today{unpriced}, "
            f"~{money(self.planned)} due now, {money(max(self.left, 0.0))} left"
        )
        return out + (f"; {self.left_out} left out" if self.left_out else "")

    def to_json(self) -> dict[str, object]:
        return {
            "usd": self.cap,
            "spentToday": self.spent,
            "unpricedToday": self.unpriced,
            "planned": self.planned,
            "left": self.left,
            "leftOut": self.left_out,
        }


def day_start(now: datetime) -> str:
    """Midnight UTC of `now`'s day, as the store writes moments."""
    return clock.iso(now.replace(hour=0, minute=0, second=0, microsecond=0))


def spent_today(records: Iterable[Record], now: datetime, price: Price | None) -> tuple[float, int]:
    """The dollars of the runs started today (UTC) that `records` carry, and how many of
    them cost what is unknown: finished ones at their estimated cost, each run under way at
    its expected price."""
    start = day_start(now)
    seen: set[tuple[str, str]] = set()
    usd, unknown = 0.0, 0
    for record in records:
        for run in record.recentRuns:  # newest first: the rest started before today
            if run.startedAt < start:
                break
            if (run.configId, run.startedAt) in seen:
                continue
            seen.add((run.configId, run.startedAt))
            cost = run.estimatedCost.usd if run.estimatedCost is not None else None
            if cost is None:
                unknown += 1
            else:
                usd += cost
        started = record.runStartedAt or ""
        if record.testStatus == RUNNING and started >= start:
            expected = price(record) if price is not None else None
            if expected is None:
                unknown += 1
            else:
                usd += expected
    return round(usd, 4), unknown


def within(
    due: Sequence[D], cap: float, spent: float, price: Price | None, limit: int | None
) -> tuple[list[D], list[tuple[D, str]], float]:
    """`due` (in the plan's order) split into what the budget takes (and those past the
    `limit` of free slots, unpriced) and what it leaves out, each with why; and the expected
    dollars of what it takes."""
    kept: list[D] = []
    over: list[tuple[D, str]] = []
    planned, taken = 0.0, 0
    for decision in due:
        if limit is not None and taken >= limit:
            kept.append(decision)
            continue
        cost = price(decision.record) if price is not None else None
        if cost is None:
            why = (
                f"{decision.reason}; its expected cost is unknown (a price the table lacks), "
                f"and today's {money(cap)} budget needs one"
            )
            over.append((decision, why))
            continue
        if cost > cap + 1e-9:
            why = (
                f"{decision.reason}; {money(cost)} expected, more than the whole daily "
                f"budget ({money(cap)}): it never runs within it"
            )
            over.append((decision, why))
            continue
        if spent + planned + cost > cap + 1e-9:
            took = f", {money(planned)} taken by this plan" if planned else ""
            why = (
                f"{decision.reason}; over today's {money(cap)} budget: {money(cost)} "
                f"expected, {money(spent)} spent{took}"
            )
            over.append((decision, why))
            continue
        planned += cost
        taken += 1
        kept.append(decision)
    return kept, over, round(planned, 4)
