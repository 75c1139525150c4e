"""`mlcc-ci plan`, `mlcc-ci run` and `mlcc-ci trigger`."""

import json
import os
from pathlib import Path

import click

from mlcc_ci.cli.execution import execute_runs
from mlcc_ci.cli.opening import open_for
from mlcc_ci.cli.options import (
    inputs_from_options,
    json_option,
    pick_options,
    policy_from_options,
    policy_options,
    profile_option,
    store_options,
)
from mlcc_ci.cli.targeting import choose_targets


@click.command()
@click.option("--now", "now_text", metavar="ISO-8601", help="Plan as if it were this time.")
@json_option
@pick_options
@policy_options
@profile_option
@store_options
def plan(
    now_text: str | None,
    as_json: bool,
    tags: tuple[str, ...],
    keyword: str | None,
    last_failed: bool,
    stale_hours: float,
    max_concurrency: int | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Show what is due and why, and what is skipped and why; when nothing is due, when
    the next run falls due.

    Selection reads the status index (as the scanner does) and the catalog's own records: an
    entry edited since its last run is due at once ("changed"), without `register`; so is,
    in a local store, an entry with no record under its configId ("new": a new entry, or a
    new model, instance type, region or target). The others are listed as skipped, with
    when each falls due (--schedule). --tag, -k and --last-failed show only the entries `run`
    would take with them.
    """
    from mlcc_ci import clock, quarantine
    from mlcc_ci.errors import UsageError
    from mlcc_ci.picking import Filters, Picker
    from mlcc_ci.planview import PlanView, due_cost
    from mlcc_ci.targets import following, nothing_left, selected

    try:
        now = clock.parse(now_text) if now_text else clock.now()
    except ValueError:
        raise UsageError(f"--now {now_text!r} is not an ISO-8601 time") from None
    filters = Filters(tags, keyword, last_failed)
    catalog, profile, store = open_for(profile_name, store_url, table, filters=filters)
    picker = Picker(filters, catalog, store, profile.name) if filters.active else None
    policy = policy_from_options(stale_hours, max_concurrency, catalog)
    store.unreadable.clear()
    inputs = inputs_from_options(catalog, profile)
    try:
        result, _ = selected(catalog, store, policy, now, picker, inputs)
    except OverflowError:
        raise UsageError(
            f"--now {now_text} is too early for --stale-hours {stale_hours:g}"
        ) from None
    # idle: say when the next result goes stale (max-concurrency or the budget holding some
    # back is not idle)
    held = ("max-concurrency", "daily-budget")
    idle = not result.due and not any(d.reason in held for d in result.skipped)
    view = PlanView(
        now=now,
        result=result,
        costs={d.record.configId: due_cost(d.record, catalog, profile) for d in result.due},
        profile=profile,
        following=following(catalog, store, policy, result, picker) if idle else None,
        idle=idle,
        unreadable=dict(store.unreadable),
        quarantines=quarantine.by_name(catalog.entries, now),
        empty=nothing_left(catalog, picker, result),
    )
    if as_json:
        click.echo(json.dumps(view.doc(), indent=2))
        return
    click.echo("\n".join(view.lines()))


@click.command()
@click.argument("names", nargs=-1)
@click.option("--due", is_flag=True, help="Run what `plan` says is due.")
@click.option("--all", "all_entries", is_flag=True, help="Run every supported catalog entry.")
@pick_options
@click.option("--config-id", metavar="ID", help="Run one registered record (the AWS executor).")
@click.option("--run-id", metavar="ID", help="With --config-id: the run the scanner claimed.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    envvar="MLCC_CI_JOBS",
    default=1,
    show_default=True,
    help="Runs at once (or MLCC_CI_JOBS, or `jobs` in the settings file).",
)
@click.option("--dry-run", is_flag=True, help="Print the exact stage commands; run nothing.")
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where each run gets its folder (default: the `work` setting, as `mlcc-ci config` "
    "shows it: MLCC_CI_WORK, the file's, else .mlcc-ci/work beside the settings file).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines; the summary only.")
@click.option(
    "--no-retry",
    is_flag=True,
    help="Do not retry infrastructure failures (capacity, quota, throttling) in this run: "
    "record them as blocked at once; `run --due` tries them after their backoff.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="A line for every stage start and end, terminal too."
)
@policy_options
@profile_option
@store_options
def run(
    names: tuple[str, ...],
    due: bool,
    all_entries: bool,
    tags: tuple[str, ...],
    keyword: str | None,
    last_failed: bool,
    config_id: str | None,
    run_id: str | None,
    jobs: int,
    dry_run: bool,
    work_dir: Path | None,
    quiet: bool,
    no_retry: bool,
    verbose: bool,
    stale_hours: float,
    max_concurrency: int | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Run configurations through generate → validate → build → deploy_test → register →
    teardown → update, and record every stage.

    --tag, -k and --last-failed narrow NAME ..., --all or --due (alone: every entry), each
    keeping what the others kept, as pytest's do.

    Exit status 1 when any run failed.
    """
    from mlcc_ci.dryrun import lines
    from mlcc_ci.errors import UsageError
    from mlcc_ci.lifecycle import faults
    from mlcc_ci.picking import Filters, Picker

    try:
        faults(os.environ)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    filters = Filters(tags, keyword, last_failed)
    chosen = sum(bool(x) for x in (names, due, all_entries, config_id))
    if chosen > 1 or not (chosen or filters.active):
        raise UsageError(
            "choose what to run: NAME ..., --due, --all or --config-id ID "
            "(or every entry narrowed by --tag, -k or --last-failed)"
        )
    if run_id and not config_id:
        raise UsageError("--run-id goes with --config-id")
    if config_id and filters.active:
        raise UsageError("--config-id runs the record it names: no --tag, -k or --last-failed")
    catalog, profile, store = open_for(profile_name, store_url, table, create=True, filters=filters)
    targets = choose_targets(
        catalog,
        store,
        policy_from_options(stale_hours, max_concurrency, catalog),
        names=names,
        due=due,
        config_id=config_id,
        run_id=run_id,
        dry_run=dry_run,
        picker=Picker(filters, catalog, store, profile.name) if filters.active else None,
        inputs=inputs_from_options(catalog, profile) if due else None,
    )
    records = targets.records
    if not records and targets.empty:  # e.g. nothing failed last time: nothing to do
        click.echo(targets.empty)
        return
    if dry_run:
        click.echo(
            "\n".join(lines(catalog, profile, records) + ([] if records else ["nothing to run"]))
        )
        return
    if quiet and verbose:
        raise UsageError("choose -q or -v, not both")
    code = execute_runs(
        catalog,
        profile,
        store,
        records,
        jobs,
        work_dir,
        preclaimed=bool(config_id and run_id),
        verbosity=0 if quiet else 2 if verbose else 1,
        retry=not no_retry,
    )
    if code:
        raise SystemExit(code)


COMMANDS = [plan, run]
