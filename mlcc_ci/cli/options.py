"""Options shared by the commands that read or write results, and what they mean."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click

F = Callable[..., Any]


MAX_STALE_HOURS = 24 * 365 * 10


def _hours(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if value != value:  # NaN passes every range check
        raise click.BadParameter("not a number")
    return value


def policy_options(func: F) -> F:
    func = click.option(
        "--stale-hours",
        type=click.FloatRange(min=0, max=MAX_STALE_HOURS),
        callback=_hours,
        envvar="MLCC_CI_STALE_HOURS",
        default=24.0,
        show_default=True,
        help="daily schedule: a finished result older than this is due again; confidence "
        "schedule: the interval's unit (times 1 to 3.5 as confidence grows).",
    )(func)
    func = click.option(
        "--max-concurrency",
        type=click.IntRange(min=1),
        envvar="MLCC_CI_MAX_CONCURRENCY",
        help="At most this many running at once, counting those already running.",
    )(func)
    # kept in the context (SCHEDULE), not passed: policy_from_options and
    # inputs_from_options read them
    func = click.option(
        "--schedule",
        type=click.Choice(["confidence", "daily"]),
        envvar="MLCC_CI_SCHEDULE",
        default="confidence",
        show_default=True,
        expose_value=False,
        callback=_keep,
        help="confidence: due at once when the generator or base image changed, else after "
        "--stale-hours times 1 to 3.5 as confidence grows (a failure that repeats: 1, 2, 4, "
        "then 7 days); daily: every --stale-hours.",
    )(func)
    func = click.option(
        "--daily-budget",
        type=click.FloatRange(min=0, max=1_000_000),
        envvar="MLCC_CI_DAILY_BUDGET",
        default=0.0,
        metavar="USD",
        expose_value=False,
        callback=_keep,
        help="Dollars the runs started in one UTC day are expected to cost; what would pass "
        "it is left out, said why. 0: no budget.",
    )(func)
    return func


SCHEDULE = "mlcc_ci.schedule"


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value != value:  # NaN passes every range check
        raise click.BadParameter("not a number")
    ctx.meta.setdefault(SCHEDULE, {})[param.name] = value
    return value


def _scheduled(name: str, default: Any) -> Any:
    ctx = click.get_current_context(silent=True)
    return default if ctx is None else ctx.meta.get(SCHEDULE, {}).get(name, default)


def profile_option(func: F) -> F:
    from mlcc_ci.cli.helptext import ProfileOption

    return click.option(
        "--profile",
        "profile_name",
        cls=ProfileOption,  # its help lists the profiles of the catalog in use
        metavar="NAME",
        envvar="MLCC_CI_PROFILE",
    )(func)


def policy_from_options(stale_hours: float, max_concurrency: int | None, catalog: Any) -> Any:
    """The selection policy; a run counts as orphaned only once the catalog's stage timeouts
    could not explain it any more (budget.py), as in AWS."""
    from mlcc_ci.budget import for_catalog
    from mlcc_ci.selection import Policy

    budget = _scheduled("daily_budget", 0.0)
    return Policy(
        stale_after=timedelta(hours=stale_hours),
        max_concurrency=max_concurrency,
        build_timeout=timedelta(minutes=for_catalog(catalog).running_minutes),
        cadence=_scheduled("schedule", "confidence"),
        daily_budget_usd=budget or None,
    )


def inputs_from_options(catalog: Any, profile: Any) -> Any:
    """What the schedule compares and prices (scheduleinputs.local); base image digests
    looked up as the `image-digests` setting says (MLCC_CI_IMAGE_DIGESTS), which the runs
    read too."""
    from mlcc_ci.scheduleinputs import local
    from mlcc_ci.settings import value_of

    return local(catalog, profile, value_of("image-digests"))


def store_options(func: F) -> F:
    func = click.option(
        "--table",
        metavar="NAME",
        help="Shortcut for --store dynamodb://NAME (region from the AWS environment).",
    )(func)
    func = click.option(
        "--store",
        "store_url",
        metavar="URL",
        envvar="MLCC_CI_STORE",
        help="Results store: sqlite:///path.db or dynamodb://TABLE?region=R&endpoint_url=U. "
        "Default: $MLCC_CI_STORE, else the embedded SQLite file.",
    )(func)
    return func


def pick_options(func: F) -> F:
    """--tag, -k and --last-failed: `run` and `plan` narrow what they take (picking.py)."""
    func = click.option(
        "--last-failed",
        "--lf",
        "last_failed",
        is_flag=True,
        help="Only entries whose last run under this profile did not pass: failed (fail-*), "
        "blocked by the infrastructure, or an error of mlcc-ci (an interrupted run is not "
        "counted). With none, says so and exits 0.",
    )(func)
    func = click.option(
        "-k",
        "keyword",
        metavar="EXPR",
        help="Only entries whose name matches EXPR, as pytest's -k: case-insensitive "
        "substrings with and, or, not and parentheses, e.g. -k 'vllm and not triton'.",
    )(func)
    func = click.option(
        "--tag",
        "tags",
        metavar="TAG",
        multiple=True,
        help="Only entries carrying TAG (the catalog's `tags`); repeat for any of several.",
    )(func)
    return func


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def confirm(question: str) -> bool:
    """Ask `question`; no answer (stdin at its end, closed or absent) is no, never a
    traceback."""
    import sys

    if sys.stdin is None or sys.stdin.closed:
        click.echo(f"{question} [y/N]: (no one to answer)")
        return False
    try:
        return click.confirm(question, default=False)
    except (click.Abort, RuntimeError, OSError, ValueError):  # EOF, lost or closed stdin
        click.echo()
        return False
