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

from mlcc_ci.cli.options import json_option, store_options

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
    profile_name: str | None, store_url: str | None, table: str | None, *, create: bool = False
) -> Any:
    """The catalog, the profile and the store it implies. Only commands that write results
    (`create`) make a new SQLite store; the others say there is none."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.profiles import load_profile, profile_store
    from mlcc_ci.stores.open import open_store

    catalog = load_valid_catalog()
    profile = load_profile(catalog, profile_name)
    store = open_store(
        None if table else profile_store(profile, store_url), table=table, create=create
    )
    store.check()
    return catalog, profile, store


def _due_cost(record: Any, catalog: Any, profile: Any) -> Any:
    """What the next run of `record` should cost, and how that was reached."""
    from mlcc_ci.cost import expected
    from mlcc_ci.matrix import entry_for

    stages = entry_for(record, catalog).data.get("stages", {})
    timeouts = {k: v.get("timeoutSeconds", 0) for k, v in stages.items()}
    return expected(record, profile.prices, profile.name, timeouts)


def _next_due_line(following: Any, now: Any) -> str:
    """`Nothing is due. Next: NAME (pass) at WHEN, in 3.2h.`"""
    from mlcc_ci import clock

    if following is None:
        return "Nothing is due, and no finished result will go stale."
    hours = (following.at - now).total_seconds() / 3600
    wait = f"in {hours:.1f}h" if hours < 48 else f"in {hours / 24:.1f}d"
    record = following.record
    when = clock.display(clock.iso(following.at))
    if following.blocked and record.blocked is not None:
        return (
            f"Nothing is due. Next: {record.deploymentConfig} (blocked ({record.blocked.cls})) "
            f"at {when}, {wait}, when it may be tried again."
        )
    return (
        f"Nothing is due. Next: {record.deploymentConfig} ({record.testStatus}) at "
        f"{when}, {wait}, when its result goes stale."
    )


def _decision_json(d: Any) -> dict[str, Any]:
    return {
        "name": d.record.deploymentConfig,
        "configId": d.record.configId,
        "reason": d.reason,
        "detail": d.detail,
        "status": d.record.testStatus,
    }


@click.command()
@click.option("--now", "now_text", metavar="ISO-8601", help="Plan as if it were this time.")
@json_option
@policy_options
@profile_option
@store_options
def plan(
    now_text: str | None,
    as_json: bool,
    stale_hours: float,
    max_concurrency: int | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Show what is due and why, and what is skipped and why; when nothing is due, when
    the next run falls due.

    Selection reads the status index (as the scanner does) and the catalog's own records: an
    entry edited since its last run is due at once ("changed"), without `register`. Other
    configurations tested within --stale-hours are not listed.
    """
    from mlcc_ci import clock
    from mlcc_ci.cost import money, total
    from mlcc_ci.errors import UsageError
    from mlcc_ci.registration import catalog_registrations
    from mlcc_ci.scheduling import gather, upcoming
    from mlcc_ci.selection import blocked_next, select

    try:
        now = clock.parse(now_text) if now_text else clock.now()
    except ValueError:
        raise UsageError(f"--now {now_text!r} is not an ISO-8601 time") from None
    catalog, profile, store = open_for(profile_name, store_url, table)
    policy = policy_from_options(stale_hours, max_concurrency, catalog)
    store.unreadable.clear()
    current = catalog_registrations(catalog)
    try:
        result = select(gather(store, now, policy, current), now, policy, current)
    except OverflowError:
        raise UsageError(
            f"--now {now_text} is too early for --stale-hours {stale_hours:g}"
        ) from None
    # idle: say when the next result goes stale (max-concurrency holding some back is not idle)
    idle = not result.due and not any(d.reason == "max-concurrency" for d in result.skipped)
    following = upcoming(store, policy) if idle else None
    if idle and (after_block := blocked_next(result)) is not None:
        following = after_block if following is None or after_block.at < following.at else following
    unreadable = dict(store.unreadable)
    costs = {d.record.configId: _due_cost(d.record, catalog, profile) for d in result.due}
    due_total = total(cost for cost, _ in costs.values())
    bounded = sum(how == "at most" for _, how in costs.values())
    if as_json:
        doc = {
            "now": clock.iso(now),
            "due": [
                {
                    **_decision_json(d),
                    "estimatedCost": costs[d.record.configId][0].to_item(),
                    "costFrom": costs[d.record.configId][1],
                }
                for d in result.due
            ],
            "estimatedCost": {
                "usd": due_total.usd if due_total.counted else None,
                "unknown": due_total.unknown,
                "atMost": bounded,
                "priceTable": profile.prices.label,
            },
            "nextDue": None
            if following is None
            else {
                "name": following.record.deploymentConfig,
                "configId": following.record.configId,
                "status": following.record.testStatus,
                "at": clock.iso(following.at),
                # due then because its block's retry time comes: what blocks it
                "blocked": following.record.blocked.cls
                if following.blocked and following.record.blocked
                else None,
            },
            "reap": [_decision_json(d) for d in result.reap],
            "skipped": [_decision_json(d) for d in result.skipped],
            "unreadable": [{"configId": k, "reason": v} for k, v in unreadable.items()],
            "unregistered": result.unregistered,
        }
        click.echo(json.dumps(doc, indent=2))
        return
    for title, items in (
        ("Due", result.due),
        ("Orphaned (will be reaped)", result.reap),
        ("Skipped", result.skipped),
    ):
        click.echo(f"{title} ({len(items)}):")
        for d in items:
            line = f"  {d.record.deploymentConfig:<28} {d.reason:<16} {d.detail}"
            if d.record.configId in costs:
                cost, how = costs[d.record.configId]
                line += f"  ~{'≤' if how == 'at most' else ''}{money(cost.usd)}"
            click.echo(line)
        if title == "Due" and items:
            note = f", {bounded} never run: at most, by stage timeouts" if bounded else ""
            click.echo(
                f"  Estimated cost of what is due: {due_total.text} ({profile.prices.label}{note})"
            )
        elif title == "Due" and idle:
            click.echo(f"  {_next_due_line(following, now)}")
    if unreadable:
        click.echo(f"Unreadable ({len(unreadable)}):")
        for config_id, reason in unreadable.items():
            click.echo(f"  {config_id:<28} {reason}")
    if result.unregistered:
        click.echo(f"Not registered ({len(result.unregistered)}):")
        for name in result.unregistered:
            click.echo(f"  {name:<28} in the catalog, no record under its configId")
        click.echo(
            "  A new entry, or one whose model, instance type, region or target changed (a new "
            "configId): `mlcc-ci register --from-catalog NAME` (or `run NAME`) adds it"
        )


@click.command()
@click.argument("names", nargs=-1)
@click.option("--due", is_flag=True, help="Run what `plan` says is due.")
@click.option("--all", "all_entries", is_flag=True, help="Run every supported catalog entry.")
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
    help="Where each run gets its folder (default: DATA_DIR/work).",
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

    Exit status 1 when any run failed.
    """
    from mlcc_ci.errors import UsageError
    from mlcc_ci.lifecycle import faults

    try:
        faults(os.environ)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    chosen = sum(bool(x) for x in (names, due, all_entries, config_id))
    if chosen != 1:
        raise UsageError("choose what to run: NAME ..., --due, --all or --config-id ID")
    if run_id and not config_id:
        raise UsageError("--run-id goes with --config-id")
    catalog, profile, store = open_for(profile_name, store_url, table, create=True)
    records = select_targets(
        catalog,
        store,
        policy_from_options(stale_hours, max_concurrency, catalog),
        names=names,
        due=due,
        config_id=config_id,
        run_id=run_id,
        dry_run=dry_run,
    )
    if dry_run:
        _print_dry_run(catalog, profile, records)
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


def select_targets(
    catalog: Any,
    store: Any,
    policy: Any,
    *,
    names: tuple[str, ...] = (),
    due: bool = False,
    config_id: str | None = None,
    run_id: str | None = None,
    dry_run: bool = False,
) -> list[Any]:
    """The records to run: one claimed record, what is due, or the named (default: all
    supported) catalog entries, registered first."""
    from mlcc_ci import clock
    from mlcc_ci.constants import RUNNING
    from mlcc_ci.errors import NotFound, UsageError
    from mlcc_ci.registration import catalog_registrations, from_entry
    from mlcc_ci.scheduling import gather, reap, reregister
    from mlcc_ci.selection import select
    from mlcc_ci.stores.base import reregistered

    if config_id:
        record = store.get(config_id)
        if record is None:
            raise NotFound(f"no record {config_id} in {store.description}")
        if run_id and (record.testStatus != RUNNING or record.runId != run_id):
            raise UsageError(
                f"record {config_id} is not claimed by run {run_id} "
                f"(status {record.testStatus}, run {record.runId})"
            )
        return [record]
    if due:
        now = clock.now()
        current = catalog_registrations(catalog)
        result = select(gather(store, now, policy, current), now, policy, current)
        if dry_run:  # each changed entry as registering it anew would make it
            return [
                reregistered(d.record, current[d.record.configId])
                if d.reason == "changed"
                else d.record
                for d in result.due
            ]
        for gone in reap(store, result, now, policy):
            click.echo(f"reaped {gone.deploymentConfig}: {gone.errorMessage}", err=True)
        result = reregister(store, result, current, now)
        for decision in result.due:
            if decision.reason == "changed":
                name = decision.record.deploymentConfig
                click.echo(f"registered {name} anew: {decision.detail}", err=True)
        return [d.record for d in result.due]
    entries = [catalog.get(n) for n in names] if names else catalog.entries
    records = []
    for entry in entries:
        if not entry.supported:
            click.echo(f"skipped {entry.name}: unsupported ({entry.support_reason})", err=True)
            continue
        if not dry_run:
            outcome = store.register(from_entry(entry), clock.iso(clock.now()))
            if outcome != "unchanged":
                click.echo(f"registered {entry.name}: {outcome}", err=True)
        record = store.get(entry.config_id)
        if record is None:  # dry run of an unregistered entry
            from mlcc_ci.models import Record

            record = Record.registered(from_entry(entry), clock.iso(clock.now()))
        if record.testStatus == RUNNING:
            click.echo(f"skipped {entry.name}: already running (run {record.runId})", err=True)
            continue
        records.append(record)
    return records


def _print_dry_run(catalog: Any, profile: Any, records: list[Any]) -> None:
    from mlcc_ci.lifecycle import RUN_STAGES
    from mlcc_ci.matrix import entry_for

    click.echo(f"profile {profile.name}: {profile.description}")
    for record in records:
        entry = entry_for(record, catalog)
        specs = profile.stage_specs(entry)
        click.echo(f"\n{entry.name} ({record.configId}) — configJson: {record.configJson}")
        for name in (*RUN_STAGES, "teardown"):
            spec = specs.get(name)
            if not profile.runs(name):
                click.echo(f"  {name:<12} skipped: {profile.skip_reason}")
                continue
            if name == "validate":
                command = (
                    "(built in: required files, executables, bash -n, Dockerfile FROM, "
                    "python compile, do/config matches)"
                )
            else:
                command = spec.command if spec and spec.command else "(nothing to run)"
            timeout = f"{spec.timeout:g}s" if spec else "-"
            checks = f" [checks: {', '.join(spec.checks)}]" if spec and spec.checks else ""
            click.echo(f"  {name:<12} timeout {timeout:<6} {command}{checks}")
        click.echo("  update       write the record and append the run to the history")
    if not records:
        click.echo("nothing to run")


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
    or is blocked, 3 only harness errors."""
    from tabulate import tabulate

    from mlcc_ci.aws.notify import publisher
    from mlcc_ci.cli.logs_cmd import build_log_copier, first_failures
    from mlcc_ci.cli.progress import ProgressView
    from mlcc_ci.failures import load_rules
    from mlcc_ci.lifecycle import Runner
    from mlcc_ci.matrix import Job, claim_all, entry_for, install_signal_handlers, run_all
    from mlcc_ci.safetext import printable
    from mlcc_ci.stores.base import release
    from mlcc_ci.stores.open import data_dir

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
    root = (work_dir or data_dir(os.environ) / "work").absolute()  # logs are found by it
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
    rows = []
    for report in reports:
        rows.append(
            [
                report.record.deploymentConfig,
                shown_outcome(report.outcome) if report.stored else "error (not stored)",
                f"{report.outcome.durationSeconds:.1f}s",
            ]
        )
        for note in report.notes:
            click.echo(f"note: {report.record.deploymentConfig}: {note}", err=True)
    click.echo(tabulate(rows, headers=["Config", "Status", "Duration"]))
    failures = first_failures(reports, shutil.get_terminal_size((100, 24)).columns)
    if failures:
        click.echo("\nFirst failure of each failed run:")
        click.echo("\n".join(failures))
    passed = sum(r.status == "pass" and r.stored for r in reports)
    kinds = {"blocked": 0, "error": 0, "interrupted": 0}
    for r in reports:
        # a result the store could not take is the harness's failure, whatever it was
        kind = outcome_kind(r.outcome) if r.stored else "error"
        if kind in kinds:
            kinds[kind] += 1
    failed = len(reports) - passed - sum(kinds.values())
    counts = [f"{passed} passed", f"{failed} failed"]
    counts += [f"{n} {name}" for name, n in kinds.items() if n]
    click.echo(f"{', '.join(counts)} (profile {profile.name}; logs in {root})")
    unstored = [r for r in reports if not r.stored]
    if unstored:
        click.echo(f"{len(unstored)} result(s) could not be stored; see the notes above", err=True)
    _prune(root, {r.record.runId or "" for r in reports if not r.stored})
    if failed or kinds["blocked"] or kinds["interrupted"]:
        return 1  # the matrix is not proven
    return 3 if kinds["error"] else 0  # only mlcc-ci itself failed


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


def outcome_kind(outcome: Any) -> str:
    """pass, fail (the product's), blocked (the infrastructure's), error (the harness's) or
    interrupted."""
    if outcome.status in ("pass", "error", "interrupted"):
        return str(outcome.status)
    if outcome.blocked_by is not None:
        return "blocked"
    return "fail"


def shown_outcome(outcome: Any) -> str:
    """A run's status as the summary shows it: `fail-build [product]`, `blocked (capacity)
    at deploy_test`, `error`; with the attempt when it was retried."""
    kind = outcome_kind(outcome)
    failure = outcome.failure
    if kind == "blocked":
        text = f"blocked ({failure.cls}) at {failure.stage}"
    elif kind == "fail" and failure is not None:
        text = f"{outcome.status} [{failure.cls}]"
    else:
        text = str(outcome.status)
    return f"{text}, attempt {outcome.attempt}" if outcome.attempt > 1 else text


def _prune(root: Path, keep_ids: set[str]) -> None:
    """Keep the newest `keep-runs` run folders of each configuration (and every folder
    holding a result the store refused); runs still going elsewhere are the newest."""
    from mlcc_ci.cli.config_cmd import keep_runs
    from mlcc_ci.workdirs import remove, surplus

    remove(surplus(root, keep_runs(), running=keep_ids))


COMMANDS = [plan, run]
