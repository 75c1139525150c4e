"""What a run costs, estimated from the price table in the catalog defaults. Pure.

A run pays for the CodeBuild minutes of its build stage (do/submit starts the generator's
own CodeBuild project, billed by the started minute at its compute type), for the
endpoint's instance-hours while deploy_test runs, and — when the run itself runs in the
CodeBuild executor — for the executor's minutes. A price the table lacks makes the cost
unknown (None), never 0: a report that adds an unknown as 0 lies by omission.
"""

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mlcc_ci.models import Cost, Record, StageResult

# The generator's default for codebuildComputeType (its parameter-matrix.js, 1.6.0).
GENERATOR_COMPUTE_TYPE = "BUILD_GENERAL1_LARGE"
# The stack's executor project (mlcc_ci/stack/executor.py).
EXECUTOR_COMPUTE_TYPE = "BUILD_GENERAL1_MEDIUM"
HOURS_PER_MONTH = 730  # AWS bills a month as 730 hours


@dataclass(frozen=True)
class Prices:
    version: int
    date: str
    currency: str
    codebuild: Mapping[str, Mapping[str, float]]  # compute type -> region -> per minute
    instances: Mapping[str, Mapping[str, float]]  # instance type -> region -> per hour
    unbilled: frozenset[str] = frozenset()  # profiles that run nothing in AWS

    @property
    def label(self) -> str:
        return f"price table v{self.version} of {self.date}"


NO_PRICES = Prices(0, "-", "USD", {}, {})


def prices_of(defaults: Mapping[str, Any]) -> Prices:
    """The catalog defaults' `prices` (validated by the schema), and which profiles are
    unbilled (`billed: false`)."""
    table = defaults.get("prices") or {}
    unbilled = frozenset(
        name
        for name, spec in (defaults.get("profiles") or {}).items()
        if spec.get("billed") is False
    )
    if not table:
        return Prices(0, "-", "USD", {}, {}, unbilled)
    return Prices(
        version=int(table["version"]),
        date=str(table["date"]),
        currency=str(table.get("currency", "USD")),
        codebuild=table.get("codebuildPerMinute") or {},
        instances=table.get("instancePerHour") or {},
        unbilled=unbilled,
    )


def _ran(stages: Mapping[str, StageResult], name: str) -> float | None:
    result = stages.get(name)
    if result is None or result.status == "skip":
        return None
    return result.durationSeconds


def estimate(
    prices: Prices,
    config: Mapping[str, Any],
    stages: Mapping[str, StageResult],
    *,
    profile: str,
    run_seconds: float = 0.0,
    in_executor: bool = False,
) -> Cost:
    """The cost of one run of `config` (a configJson) whose stages took what `stages` say."""
    if profile in prices.unbilled:
        return Cost(0.0, f"profile {profile} runs nothing in AWS")
    region = str(config.get("awsRegion") or "")
    parts: list[str] = []
    total = 0.0

    def rate(table: Mapping[str, Mapping[str, float]], key: str) -> float | None:
        value = (table.get(key) or {}).get(region)
        return None if value is None else float(value)

    build = _ran(stages, "build")
    if build is not None and config.get("buildStrategy", "codebuild-submit") == "codebuild-submit":
        compute = str(config.get("codebuildComputeType") or GENERATOR_COMPUTE_TYPE)
        per_minute = rate(prices.codebuild, compute)
        if per_minute is None:
            return Cost(
                None, f"no {compute} price for {region or 'no region'} in the {prices.label}"
            )
        minutes = max(1, math.ceil(build / 60))
        total += minutes * per_minute
        parts.append(f"{minutes} min {compute}")
    deploy = _ran(stages, "deploy_test")
    if deploy is not None:
        instance = str(config.get("instanceType") or "")
        per_hour = rate(prices.instances, instance)
        if per_hour is None:
            what = instance or "instance"
            return Cost(None, f"no {what} price for {region or 'no region'} in the {prices.label}")
        count = int((config.get("endpointConfig") or {}).get("initialInstanceCount") or 1)
        hours = deploy / 3600 * count
        total += hours * per_hour
        parts.append(f"{hours:.2f} h {instance}" + (f" ×{count}" if count > 1 else ""))
    if in_executor:
        per_minute = rate(prices.codebuild, EXECUTOR_COMPUTE_TYPE)
        if per_minute is None:
            return Cost(None, f"no executor price for {region} in the {prices.label}")
        minutes = max(1, math.ceil(run_seconds / 60))
        total += minutes * per_minute
        parts.append(f"{minutes} min executor")
    basis = ", ".join(parts) if parts else "nothing billed ran"
    return Cost(round(total, 4), f"{basis} ({prices.label})")


def money(usd: float | None) -> str:
    """One way to show an amount: `$1.23`, `<$0.01`, or `unknown`."""
    if usd is None:
        return "unknown"
    if 0 < usd < 0.005:
        return "<$0.01"
    return f"${usd:,.2f}"


@dataclass(frozen=True)
class Total:
    """A sum of costs that may include unknown ones: `usd` is what is known."""

    usd: float
    unknown: int
    counted: int

    @property
    def text(self) -> str:
        if not self.counted and self.unknown:
            return "unknown"
        shown = money(self.usd)
        return f"{shown} (+{self.unknown} unknown)" if self.unknown else shown


def total(costs: Iterable[Cost | None]) -> Total:
    usd, unknown, counted = 0.0, 0, 0
    for c in costs:
        if c is None or c.usd is None:
            unknown += 1
        else:
            usd += c.usd
            counted += 1
    return Total(round(usd, 4), unknown, counted)


def monthly(per_run: float | None, every: timedelta) -> float | None:
    """What a configuration costs in a month when it runs once every `every`."""
    if per_run is None or every.total_seconds() <= 0:
        return None
    runs = HOURS_PER_MONTH * 3600 / every.total_seconds()
    return round(per_run * runs, 2)


def expected(
    record: Record, prices: Prices, profile: str, timeouts: Mapping[str, float]
) -> tuple[Cost, str]:
    """What the next run of `record` should cost, and how that was reached: the mean of its
    recent runs' costs, or for one that never ran, at most what its stages may take
    (`timeouts`: stage -> seconds)."""
    known = [
        r.estimatedCost.usd
        for r in record.recentRuns
        if r.estimatedCost and r.estimatedCost.usd is not None
    ]
    if profile in prices.unbilled:
        return Cost(0.0, f"profile {profile} runs nothing in AWS"), "unbilled"
    if known:
        mean = round(sum(known) / len(known), 4)
        return Cost(mean, f"mean of its last {len(known)} runs"), "mean"
    try:
        config = json.loads(record.configJson)
    except ValueError:
        config = {}
    bound = {
        stage: StageResult("pass", float(seconds))
        for stage, seconds in timeouts.items()
        if stage in ("build", "deploy_test")
    }
    cost = estimate(prices, config if isinstance(config, dict) else {}, bound, profile=profile)
    return cost, "at most"
