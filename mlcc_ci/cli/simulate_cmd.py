"""`mlcc-ci simulate`: replay a synthetic world over the catalog's configurations and compare
scheduling policies in it (mlcc_ci/simulation)."""

import json
import math

import click

from mlcc_ci.cli.options import json_option
from mlcc_ci.errors import UsageError

MAX_DAYS = 366
MAX_SEED = 2**32 - 1


def _number(
    option: str, text: str, kind: type, low: float, high: float, above: bool = False
) -> float:
    """`text` as a number of `kind` from `low` (`above`: more than `low`) to `high`, or a
    one-line error naming `option`."""
    try:
        value = kind(text)
    except ValueError:
        what = "a number" if kind is float else "a whole number"
        raise UsageError(f"{option}: {text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{option}: {text!r} is not a finite number")
    too_low = value <= low if above else value < low
    if too_low or value > high:
        shown = f"more than {low:g}" if above else f"at least {low:g}"
        raise UsageError(f"{option}: {text} is out of range ({shown}, at most {high:.12g})")
    return value


@click.command("simulate")
@click.option(
    "--days", "days_text", default="30", show_default=True, metavar="DAYS", help="Days to replay."
)
@click.option(
    "--seed", "seed_text", default="1", show_default=True, metavar="N", help="The world's seed."
)
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME",
    help="A policy to replay (repeat for several): default (confidence-driven), seed (every "
    "24 hours), weekly. Default: default and seed.",
)
@click.option(
    "--max-concurrency",
    "concurrency_text",
    default=None,
    metavar="N",
    help="At most this many runs at once (default: the stack's MaxConcurrency default).",
)
@click.option(
    "--warmup-days",
    "warmup_text",
    default=None,
    metavar="DAYS",
    help="Days the world runs first, nothing breaking and nothing counted, so that each "
    "policy has a history to schedule by (default: 28; 0: every configuration untested "
    "at the start).",
)
@click.option(
    "--image-digests",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="Whether base image digests are looked up (the image-digests setting; the stack's "
    "ImageDigests, off by default there): off, a moved tag makes nothing due.",
)
@click.option(
    "--daily-budget",
    "budget_text",
    default=None,
    metavar="USD",
    help="A daily dollar budget for the default policy (default and 0: none, as for plan).",
)
@json_option
def simulate(
    days_text: str,
    seed_text: str,
    policies: tuple[str, ...],
    concurrency_text: str | None,
    warmup_text: str | None,
    image_digests: str,
    budget_text: str | None,
    as_json: bool,
) -> None:
    """Replay DAYS of a synthetic but realistic world over the catalog's supported
    configurations (generator releases and base image updates that break some, entry edits,
    silent breakages, capacity gaps and infrastructure failures, all from the seed) through
    the real scheduling code, once per policy, and compare: regressions caught, hours from
    breakage to detection (median and worst), dollars spent (the cost table's)."""
    from mlcc_ci.constants import DEFAULT_MAX_CONCURRENCY
    from mlcc_ci.simulation import metrics
    from mlcc_ci.simulation.bound import bound_line, silent_bound
    from mlcc_ci.simulation.compare import DEFAULT_POLICIES, WARMUP_DAYS, compare
    from mlcc_ci.simulation.replay import POLICIES

    days = _number("--days", days_text, float, 0, MAX_DAYS, above=True)
    seed = int(_number("--seed", seed_text, int, 0, MAX_SEED))
    concurrency = (
        DEFAULT_MAX_CONCURRENCY
        if concurrency_text is None
        else int(_number("--max-concurrency", concurrency_text, int, 1, 1000))
    )
    warmup = (
        WARMUP_DAYS
        if warmup_text is None
        else _number("--warmup-days", warmup_text, float, 0, MAX_DAYS)
    )
    budget = (
        None
        if budget_text is None
        else _number("--daily-budget", budget_text, float, 0, 1e9) or None  # 0: none, as plan's
    )
    for name in policies:
        if name not in POLICIES:
            raise UsageError(f"--policy: no policy {name!r} (known: {', '.join(POLICIES)})")
    chosen = tuple(dict.fromkeys(policies)) or DEFAULT_POLICIES
    found = compare(
        days,
        seed,
        chosen,
        concurrency,
        budget,
        warmup_days=warmup,
        image_digests=image_digests == "on",
    )
    world = found.world
    bound = silent_bound(world, found.setting)
    if as_json:
        setting = {
            "days": days,
            "seed": seed,
            "configurations": len(world.configs),
            "catalogEntries": found.entries,
            "warmupDays": warmup,
            "imageDigests": image_digests,
            "maxConcurrency": concurrency,
            "dailyBudget": budget,
            "scanEveryHours": 1,
            "prices": found.setting.prices.label,
        }
        out = metrics.report_json(world, found.summaries, setting)
        if bound is not None:
            out["silentBound"] = {
                "silentRegressions": bound.silent,
                "costShare": bound.share,
                "leastMeanHours": bound.least_hours,
                "seedMeanHours": bound.seed_hours,
            }
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(
        f"Simulated {_days(days)} after {_days(warmup)} of warm-up, seed {seed}: the "
        f"{len(world.configs)} supported configuration"
        f"{'' if len(world.configs) == 1 else 's'} of the catalog's {found.entries}, a scan "
        "every hour, MaxConcurrency "
        f"{concurrency}"
        + (f", daily budget ${budget:g} (the default policy's)" if budget is not None else "")
        + ("" if image_digests == "on" else ", image digests not looked up")
        + f"; {found.setting.prices.label}"
    )
    click.echo(metrics.world_line(world))
    for name in chosen:
        click.echo(f"  {name}: {POLICIES[name].description}")
    click.echo("")
    for line in metrics.table(found.summaries):
        click.echo(line)
    for line in metrics.missed_lines(found.summaries):
        click.echo(line)
    if "default" in chosen and "seed" in chosen:
        default, seed_policy = found.by_name("default"), found.by_name("seed")
        click.echo(metrics.target_line(metrics.target(default, seed_policy), default, seed_policy))
    if bound is not None and bound.silent:
        click.echo(bound_line(bound))


def _days(n: float) -> str:
    return "1 day" if n == 1 else f"{n:g} days"


COMMANDS = [simulate]
