"""`mlcc-ci plan`, `mlcc-ci run` and `mlcc-ci trigger`."""

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from mlcc_ci.cli.options import json_option, pick_options, store_options

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
        help="A finished result older than this is due again.",
    )(func)
    func = click.option(
        "--max-concurrency",
        type=click.IntRange(min=1),
        envvar="MLCC_CI_MAX_CONCURRENCY",
        help="At most this many running at once, counting those already running.",
    )(func)
    return func


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

    return Policy(
        stale_after=timedelta(hours=stale_hours),
        max_concurrency=max_concurrency,
        build_timeout=timedelta(minutes=for_catalog(catalog).running_minutes),
    )


def open_for(
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
    *,
    create: bool = False,
    filters: Any = None,
) -> Any:
    """The catalog, the profile and the store it implies. Only commands that write results
    (`create`) make a new SQLite store; the others say there is none. `filters` (--tag, -k)
    are checked against the catalog first: a mistyped one opens no store."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.picking import check
    from mlcc_ci.profiles import load_profile, profile_store
    from mlcc_ci.stores.open import open_store

    catalog = load_valid_catalog()
    profile = load_profile(catalog, profile_name)
    if filters is not None:
        check(filters, catalog)
    store = open_store(
        None if table else profile_store(profile, store_url), table=table, create=create
    )
    store.check()
    return catalog, profile, store


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
    new model, instance type, region or target). Other configurations tested within
    --stale-hours are not listed. --tag, -k and --last-failed show only the entries `run`
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
    try:
        result, _ = selected(catalog, store, policy, now, picker)
    except OverflowError:
        raise UsageError(
            f"--now {now_text} is too early for --stale-hours {stale_hours:g}"
        ) from None
    # idle: say when the next result goes stale (max-concurrency holding some back is not idle)
    idle = not result.due and not any(d.reason == "max-concurrency" for d in result.skipped)
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


def choose_targets(
    catalog: Any,
    store: Any,
    policy: Any,
    *,
    names: tuple[str, ...] = (),
    due: bool = False,
    config_id: str | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
    picker: Any = None,
) -> Any:
    """The records to run (targets.py), what was done to find them said on standard
    error."""
    from mlcc_ci import targets

    if config_id:
        chosen = targets.claimed(store, config_id, run_id)
    elif due:
        chosen = targets.due(catalog, store, policy, dry_run=dry_run, picker=picker)
    else:
        chosen = targets.named(catalog, store, names, dry_run=dry_run, picker=picker)
    for note in chosen.notes:
        click.echo(note, err=True)
    return chosen


def select_targets(catalog: Any, store: Any, policy: Any, **how: Any) -> list[Any]:
    """The records to run: one claimed record, what is due, or the named (default: all
    supported) catalog entries, registered first."""
    return list(choose_targets(catalog, store, policy, **how).records)


def execute_runs(
    catalog: Any,
    profile: Any,
    store: Any,
    records: list[Any],
    jobs: int,
    work_dir: Path | None,
    preclaimed: bool,
    verbosity: int = 1,
    retry: bool = True,
) -> int:
    """Run the claimed records; the exit status: 0 all passed, 1 some configuration failed
    or is blocked, 3 only harness errors. A quarantined entry's failure is not counted."""
    from tabulate import tabulate

    from mlcc_ci import clock, quarantine
    from mlcc_ci.aws.notify import publisher
    from mlcc_ci.cli.logs_cmd import build_log_copier, first_failures
    from mlcc_ci.cli.progress import ProgressView
    from mlcc_ci.failures import load_rules
    from mlcc_ci.lifecycle import Runner
    from mlcc_ci.matrix import Job, claim_all, entry_for, install_signal_handlers, run_all
    from mlcc_ci.runsummary import outcome_kind, shown_outcome, tally
    from mlcc_ci.safetext import printable
    from mlcc_ci.settings import work_root
    from mlcc_ci.stores.base import release

    rules = load_rules()  # before any claim: rules with a problem stop here, named
    deadline, max_wait = retry_limits(os.environ)
    if preclaimed:
        claimed = [Job(r, entry_for(r, catalog)) for r in records]
    else:
        claimed, lost = claim_all(store, records, catalog)
        for record in lost:
            click.echo(f"skipped {record.deploymentConfig}: claimed by another run first", err=True)
    for config_id, reason in store.unreadable.items():  # read or claimed: named, passed over
        click.echo(f"skipped unreadable record {config_id}: {printable(reason)}", err=True)
    if not claimed:
        click.echo("nothing to run")
        return 0
    root = (work_dir or work_root()).absolute()  # logs are found by it
    ctx = click.get_current_context(silent=True)
    color = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("color", True))
    started: set[str] = set()
    try:
        with ProgressView(color=color, verbosity=verbosity) as view:
            copy = build_log_copier(view.lock) if os.environ.get("MLCC_CI_LOG_STREAM") else None

            def seen(event: Any) -> None:
                started.add(event.name)
                view(event)
                if copy:
                    copy(event)  # in AWS: the stage's output into the build log

            runner = Runner(
                store,
                profile,
                work_root=root,
                progress=seen,
                notify=publisher(os.environ),
                notify_platform=publisher(os.environ, audience="platform"),
                rules=rules,
                deadline=deadline,
                max_wait=max_wait,
                retry=retry,
            )
            restore = install_signal_handlers(runner)
            try:
                reports = run_all(runner, claimed, jobs)
            finally:
                restore()
    except BaseException:
        # a claim whose run never began goes back as it was: it must not wait to be
        # reaped as a failure that never happened
        if not preclaimed:
            for job in claimed:
                if job.entry.name not in started:
                    with contextlib.suppress(Exception):
                        release(store, job.record)
        raise
    # a quarantined entry's failure (or block) is shown, and kept out of the exit status
    held = {
        id(r): q
        for r in reports
        if r.stored
        and outcome_kind(r.outcome) in ("fail", "blocked")
        and (q := quarantine.in_force(entry_for(r.record, catalog), clock.now())) is not None
    }
    rows = []
    for report in reports:
        q = held.get(id(report))
        rows.append(
            [
                report.record.deploymentConfig,
                (shown_outcome(report.outcome) if report.stored else "error (not stored)")
                + (f" (quarantined until {q.until})" if q else ""),
                clock.duration(report.outcome.durationSeconds),
            ]
        )
        for note in report.notes:
            click.echo(f"note: {report.record.deploymentConfig}: {note}", err=True)
    click.echo(tabulate(rows, headers=["Config", "Status", "Duration"]))
    failures = first_failures(reports, shutil.get_terminal_size((100, 24)).columns)
    if failures:
        click.echo("\nFirst failure of each failed run:")
        click.echo("\n".join(failures))
    counted = tally([r for r in reports if id(r) not in held])
    kept_out = f", {len(held)} quarantined (not counted)" if held else ""
    click.echo(f"{counted.counts()}{kept_out} (profile {profile.name}; logs in {root})")
    unstored = [r for r in reports if not r.stored]
    if unstored:
        click.echo(f"{len(unstored)} result(s) could not be stored; see the notes above", err=True)
    _prune(root, store, {r.record.runId or "" for r in reports if not r.stored})
    return counted.exit_status


# In a CodeBuild build, a retry's backoff longer than this is left to the scanner.
BUILD_MAX_RETRY_WAIT = 120


def retry_limits(env: Mapping[str, str]) -> tuple[float | None, float | None]:
    """How far retries within a run may go. In the executor (CodeBuild) the buildspec names
    the run's budget (MLCC_CI_RUN_SECONDS): a retry must fit in it, and a long backoff is
    not slept in a build but left to the scanner's re-queue. Locally: the rules' own."""
    from mlcc_ci.constants import RUN_SECONDS_ENV

    seconds = env.get(RUN_SECONDS_ENV, "")
    in_build = bool(env.get("CODEBUILD_BUILD_ID"))
    deadline = time.monotonic() + float(seconds) if seconds.isdigit() else None
    return deadline, BUILD_MAX_RETRY_WAIT if in_build else None


def _prune(root: Path, store: Any, keep_ids: set[str]) -> None:
    """Keep the newest `keep-runs` run folders of each configuration of this store (and
    every folder holding a result the store refused); a run still going, in any process,
    holds its folder and it stays. Another store's run folders are never this run's to
    prune (workdirs)."""
    from mlcc_ci.settings import value_of
    from mlcc_ci.workdirs import owner_of, remove, surplus

    keep = max(0, int(value_of("keep-runs")))
    remove(surplus(root, keep, owner_of(store), running=keep_ids))


COMMANDS = [plan, run]
