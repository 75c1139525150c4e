"""`mlcc-ci history NAME` and `mlcc-ci history forget RUN_ID`: the runs kept for a
configuration, and removing one that should never have counted."""

from typing import Any

import click

from mlcc_ci.cli.options import confirm, json_option, store_options
from mlcc_ci.cli.run_cmd import open_for, profile_option


@click.group(invoke_without_command=False)
def history() -> None:
    """The runs kept for each configuration, newest first: list them, or forget one."""


@history.command("show")
@click.argument("name")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@json_option
@profile_option
@store_options
def show(
    name: str,
    limit: int,
    as_json: bool,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """List NAME's last runs: id, start, status, failure class and rule, attempt."""
    import json

    from tabulate import tabulate

    from mlcc_ci import clock
    from mlcc_ci.cli.logs_cmd import resolve_name

    catalog, _, store = open_for(profile_name, store_url, table)
    name, config_id = resolve_name(catalog, store, name)
    runs = store.history(config_id, limit)
    if as_json:
        click.echo(json.dumps([r.to_item() for r in runs], indent=2))
        return
    if not runs:
        click.echo(f"{name} has no runs yet")
        return
    rows = [
        [
            r.runId,
            clock.display(r.startedAt),
            r.status,
            _class(r),
            r.attempt if r.attempt > 1 else "",
            clock.duration(r.durationSeconds),
        ]
        for r in runs
    ]
    headers = ["Run", "Started", "Status", "Class (rule)", "Attempt", "Duration"]
    click.echo(tabulate(rows, headers=headers))


def _class(run: Any) -> str:
    failure = run.failure
    if failure is None:
        return ""
    return f"{failure.cls} ({failure.rule})" if failure.rule else failure.cls


@history.command()
@click.argument("run_id", metavar="RUN_ID")
@click.option("--name", metavar="NAME", help="The run's configuration (for an older run).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@profile_option
@store_options
def forget(
    run_id: str,
    name: str | None,
    yes: bool,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Remove run RUN_ID from the history, for good: a run that proved nothing (a harness
    that broke, a test of the harness) and should not count. When it was the
    configuration's last result, the configuration takes the result of the run before it."""
    from mlcc_ci import clock, runs
    from mlcc_ci.cli.logs_cmd import resolve_name
    from mlcc_ci.safetext import printable

    catalog, _, store = open_for(profile_name, store_url, table)
    config_id = resolve_name(catalog, store, name)[1] if name else None
    record, run = runs.find(store, run_id, config_id)
    what = (
        f"run {run.runId} of {record.deploymentConfig}: {run.status}{_with_class(run)}, "
        f"started {clock.display(run.startedAt)}"
    )
    click.echo(printable(what))
    last = record.runId == run.runId
    if last:
        click.echo("It is the configuration's last result: the run before it becomes the last.")
    if not yes and not confirm("Forget it?"):
        click.echo("nothing forgotten (--yes forgets without asking)")
        raise SystemExit(1)
    new = runs.forget(store, record, run)  # a run under way, or a record changed: exit 3
    tail = f"; {record.deploymentConfig} is now {new.testStatus}" if last else ""
    if record.blocked is not None and new.blocked is None:
        tail += f"; the block ({record.blocked.cls}) it caused is lifted"
    click.echo(f"forgot run {run.runId}{tail}")


def _with_class(run: Any) -> str:
    return f" [{_class(run)}]" if run.failure is not None else ""


COMMANDS = [history]
