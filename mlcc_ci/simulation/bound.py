"""How soon any schedule can find a breakage that nothing announces, for what it spends.

A silent breakage (world.py: a model gone from the hub, a dependency yanked) comes at random
(a Poisson process, the same rate for every configuration) and shows no change to look up:
only a run finds it. Tested every T_i, configuration i finds one T_i / 2 after it starts on
average (the mean of a uniform wait; a schedule whose gaps vary does worse: E[T^2] / 2E[T])
and costs p_i / T_i a day, p_i its run's price. Spending a share s of what the seed's rule
spends (every configuration every T0, sum p_i / T0), the mean wait over the N configurations
is least when T_i grows with the square root of p_i (Lagrange):

    T_i = T0 * sqrt(p_i) * sum(sqrt(p)) / (s * sum(p))
    least mean wait = T0 * sum(sqrt(p))^2 / (2 * s * N * sum(p))

against T0 / 2 for the seed's rule. With the catalog's prices (GPU runs at $2, CPU ones at
3 cents) and s = 1/2 that is about 1.7 times the seed's 12 hours: in a world whose
regressions are mostly silent, a policy at half the cost is later on the median, whatever
it does, unless it is lucky. Changes it can look up (a generator release, an image digest,
an entry edit) it finds at once, which is where the default policy gains.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from mlcc_ci.cost import estimate
from mlcc_ci.models import StageResult
from mlcc_ci.simulation.replay import PROFILE, Setting
from mlcc_ci.simulation.world import AROUND_SECONDS, TYPICAL_SECONDS, World

SEED_EVERY = timedelta(hours=24)  # the seed's rule
SHARE = 0.5  # of the seed's spend: the target's


@dataclass(frozen=True)
class Bound:
    silent: int  # regressions with no visible change
    regressions: int
    share: float  # of the seed's spend
    least_hours: float  # the least mean hours from a silent breakage to its finding, at `share`
    seed_hours: float  # the seed's rule's mean


def typical_price(setting: Setting, config: dict[str, object]) -> float | None:
    """What a typical run of `config` costs (world.TYPICAL_SECONDS), as the replay prices one."""
    stages = {name: StageResult("pass", seconds) for name, seconds in TYPICAL_SECONDS.items()}
    seconds = sum(TYPICAL_SECONDS.values()) + AROUND_SECONDS
    cost = estimate(
        setting.prices, config, stages, profile=PROFILE, run_seconds=seconds, in_executor=True
    )
    return cost.usd


def least_mean_wait(prices: list[float], every: timedelta, share: float) -> timedelta:
    """The least mean wait from a silent breakage to the run that finds it, over configurations
    of `prices`, for a schedule spending `share` of what testing each every `every` spends."""
    roots = sum(math.sqrt(p) for p in prices)
    return every * (roots**2 / (2 * share * len(prices) * sum(prices)))


def silent_bound(world: World, setting: Setting, share: float = SHARE) -> Bound | None:
    """The bound for `world`'s configurations; None when a price is unknown or nothing is
    priced (no money to share)."""
    prices = [typical_price(setting, dict(c.config)) for c in world.configs.values()]
    known = [p for p in prices if p is not None]
    if not known or len(known) < len(prices) or sum(known) <= 0:
        return None
    silent = sum(1 for b in world.regressions if b.kind == "silent")
    least = least_mean_wait(known, SEED_EVERY, share)
    return Bound(
        silent,
        len(world.regressions),
        share,
        round(least.total_seconds() / 3600, 1),
        round(SEED_EVERY.total_seconds() / 7200, 1),
    )


def bound_line(bound: Bound) -> str:
    return (
        f"Silent (no visible change): {bound.silent} of the {bound.regressions} regressions. "
        f"Only a run finds one, and on average a schedule at {bound.share * 100:.0f} % of the "
        f"seed's cost finds one no sooner than {bound.least_hours:g} h after it starts (the "
        f"seed's 24-hour rule: {bound.seed_hours:g} h): a bound from the prices alone, the same "
        "in every world (mlcc_ci/simulation/bound.py)"
    )
