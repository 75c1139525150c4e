"""One comparison: a world from the catalog and a seed, each policy replayed in it."""

from collections.abc import Sequence
from dataclasses import dataclass

from mlcc_ci.catalog import Catalog, load_valid_catalog
from mlcc_ci.constants import DEFAULT_MAX_CONCURRENCY
from mlcc_ci.cost import prices_of
from mlcc_ci.errors import UsageError
from mlcc_ci.registration import from_entry
from mlcc_ci.simulation.metrics import Summary, summarize
from mlcc_ci.simulation.replay import POLICIES, Setting, replay
from mlcc_ci.simulation.world import RATES, Rates, World, configs_of

DEFAULT_POLICIES = ("default", "seed")
# Days the world runs before the measured ones, nothing breaking: a policy that schedules by
# history is measured with one, as a stack that has been running has (about a release apart).
WARMUP_DAYS = 28.0


@dataclass(frozen=True)
class Comparison:
    world: World
    setting: Setting
    summaries: tuple[Summary, ...]
    entries: int  # in the catalog, supported or not

    def by_name(self, name: str) -> Summary:
        return next(s for s in self.summaries if s.policy == name)


def setting_of(
    catalog: Catalog,
    concurrency: int = DEFAULT_MAX_CONCURRENCY,
    daily_budget: float | None = None,
    image_digests: bool = True,
) -> Setting:
    stages = catalog.defaults.get("stages") or {}
    timeouts = {
        name: float(spec["timeoutSeconds"])
        for name, spec in stages.items()
        if isinstance(spec, dict) and "timeoutSeconds" in spec
    }
    return Setting(prices_of(catalog.defaults), timeouts, concurrency, daily_budget, image_digests)


def compare(
    days: float,
    seed: int,
    policies: Sequence[str] = DEFAULT_POLICIES,
    concurrency: int = DEFAULT_MAX_CONCURRENCY,
    daily_budget: float | None = None,
    catalog: Catalog | None = None,
    rates: Rates = RATES,
    checked: bool = False,
    warmup_days: float = WARMUP_DAYS,
    image_digests: bool = True,
) -> Comparison:
    """Replay the world of `seed` over `warmup_days` and then `days` under each of `policies`
    (names in POLICIES); what is measured is the `days`."""
    catalog = catalog or load_valid_catalog()
    registrations = {e.config_id: from_entry(e) for e in catalog.entries}
    supported = {k: r for k, r in registrations.items() if r.supportState == "supported"}
    if not supported:
        raise UsageError("the catalog has no supported configuration to simulate")
    version = str((catalog.defaults.get("generator") or {}).get("version") or "1.0.0")
    world = World(
        seed, days, configs_of(supported), generator=version, rates=rates, warmup_days=warmup_days
    )
    setting = setting_of(catalog, concurrency, daily_budget, image_digests)
    summaries = []
    for name in policies:
        result = replay(world, name, registrations, setting, checked=checked)
        summaries.append(summarize(POLICIES[name].name, world, result.runs, result.seconds))
    return Comparison(world, setting, tuple(summaries), len(registrations))
