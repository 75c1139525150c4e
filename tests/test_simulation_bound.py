"""The least mean wait any schedule has for a silent breakage at a share of the seed's spend
(mlcc_ci/simulation/bound.py), and `simulate` saying it."""

import json
import math
import random
from datetime import timedelta

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.cost import Prices
from mlcc_ci.registration import catalog_registrations
from mlcc_ci.simulation.bound import least_mean_wait, silent_bound, typical_price
from mlcc_ci.simulation.compare import setting_of
from mlcc_ci.simulation.world import World, configs_of

DAY = timedelta(hours=24)
CATALOG = load_valid_catalog()
CONFIGS = configs_of(catalog_registrations(CATALOG))


def mean_wait(every: list[timedelta]) -> timedelta:
    """A schedule testing configuration i every every[i]: its mean wait (half an interval)."""
    return sum(every, timedelta()) / (2 * len(every))


def spend(prices: list[float], every: list[timedelta]) -> float:
    """Dollars a day."""
    return sum(p / (e / DAY) for p, e in zip(prices, every, strict=True))


@pytest.mark.unit
def test_equal_prices_wait_a_whole_interval_at_half_the_spend():
    assert least_mean_wait([1.0] * 15, DAY, 1.0) == DAY / 2  # the seed's rule itself
    assert least_mean_wait([1.0] * 15, DAY, 0.5) == DAY  # every other day
    assert least_mean_wait([3.0, 3.0], DAY, 0.25) == 2 * DAY


@pytest.mark.unit
def test_no_schedule_at_that_spend_waits_less_and_the_square_root_one_waits_that():
    prices = [2.17, 2.17, 2.01, 0.75, 0.75, 0.75, 0.03, 0.03]
    least = least_mean_wait(prices, DAY, 0.5)
    budget = 0.5 * spend(prices, [DAY] * len(prices))
    roots = sum(math.sqrt(p) for p in prices)
    best = [DAY * math.sqrt(p) * roots / (0.5 * sum(prices)) for p in prices]
    assert spend(prices, best) == pytest.approx(budget)
    assert mean_wait(best) / least == pytest.approx(1.0)
    draw = random.Random(7)
    for _ in range(200):  # any other schedule spending as much waits longer
        every = [DAY * draw.uniform(0.2, 6) for _ in prices]
        scale = spend(prices, every) / budget  # stretched or shrunk to spend the budget
        every = [e * scale for e in every]
        assert spend(prices, every) == pytest.approx(budget)
        assert mean_wait(every) >= least
    # the catalog's spread of prices makes it a little shorter than with equal prices
    assert DAY / 2 < least < DAY


@pytest.mark.unit
def test_the_bound_of_a_world_counts_its_silent_regressions_and_prices_typical_runs():
    setting = setting_of(CATALOG)
    world = World(3, 30, CONFIGS, warmup_days=28)
    bound = silent_bound(world, setting)
    assert bound is not None
    assert bound.silent == sum(b.kind == "silent" for b in world.regressions) == 5
    assert (bound.regressions, bound.share, bound.seed_hours) == (6, 0.5, 12.0)
    prices = [typical_price(setting, dict(c.config)) for c in CONFIGS]
    assert all(p is not None and p > 0 for p in prices)
    hours = least_mean_wait(prices, DAY, 0.5).total_seconds() / 3600
    assert bound.least_hours == round(hours, 1) and 12 < bound.least_hours < 24


@pytest.mark.unit
def test_no_bound_without_prices():
    setting = setting_of(CATALOG)
    unpriced = Prices(1, "2026-01-01", "USD", codebuild={}, instances={})
    world = World(3, 30, CONFIGS)
    assert silent_bound(world, type(setting)(unpriced, setting.timeouts)) is None


@pytest.mark.functional
def test_simulate_says_the_bound_when_a_regression_is_silent(cli):
    args = ("simulate", "--days", "30", "--seed", "3", "--policy", "seed")
    text = cli(*args).output.splitlines()
    doc = json.loads(cli(*args, "--json").output)
    assert doc["silentBound"] == {
        "silentRegressions": 5,
        "costShare": 0.5,
        "leastMeanHours": doc["silentBound"]["leastMeanHours"],
        "seedMeanHours": 12.0,
    }
    hours = doc["silentBound"]["leastMeanHours"]
    assert text[-1] == (
        "Silent (no visible change): 5 of the 6 regressions. Only a run finds one, and on "
        "average a schedule at 50 % of the seed's cost finds one no sooner than "
        f"{hours:g} h after it starts (the seed's 24-hour rule: 12 h): a bound from the prices "
        "alone, the same in every world (mlcc_ci/simulation/bound.py)"
    )
    assert text[1].endswith("; 6 regressions (a configuration's overlapping breakages are one)")
