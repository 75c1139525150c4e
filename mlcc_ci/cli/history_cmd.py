"""`mlcc-ci history show NAME` and `mlcc-ci history forget RUN_ID`: the runs kept for a
configuration, and removing one that should never have counted."""

import difflib
from typing import Any

import click

from mlcc_ci.cli.opening import open_for, resolve_name
from mlcc_ci.cli.options import confirm, json_option, profile_option, store_options

# what people type for a subcommand, and the one that does it
_MEANT = {"list": "show", "ls": "show", "runs": "show", "rm": "forget", "remove": "forget"}


class _Subcommands(click.Group):
    """A mistyped subcommand gets a did-you-mean, whatever click's version (it suggests one
    only from 8.4), and so do the words for one that it is not called (`list`)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        typed = args[0] if args else ""
        if typed and not typed.startswith("-") and self.get_command(ctx, typed) is None:
            close = difflib.get_close_matches(typed, list(self.commands), n=1)
            meant = _MEANT.get(typed) or next(iter(close), None)
            if meant and not ctx.resilient_parsing:
                ctx.fail(f"No such command {typed!r}. Did you mean {meant!r}?")
        return super().resolve_command(ctx, args)


@click.group(cls=_Subcommands, invoke_without_command=False)
def history() -> None:
    """The runs kept for each configuration, newest first: `history show NAME` lists a
    configuration's, `history forget RUN_ID` removes one."""


@history.command("show")
@click.argument("name")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many runs to list; a run's retried attempts are listed with it.",
)
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
    """List NAME's last runs: id, start, status, failure class and rule, attempt. A run
    retried after an infrastructure failure counts once, its attempts listed under it."""
    import json

    from tabulate import tabulate

    from mlcc_ci import clock

    catalog, _, store = open_for(profile_name, store_url, table)
    name, config_id = resolve_name(catalog, store, name)
    runs = _rounds(store, config_id, limit)
    if as_json:
        click.echo(json.dumps([r.to_item() for r in runs], indent=2))
        return
    earlier = _earlier(catalog, store, name)
    if not runs:
        click.echo("\n".join([f"{name} has no runs yet", *earlier]))
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
    click.echo(tabulate(rows, headers=headers, disable_numparse=True))  # a run id of digits
    if earlier:
        click.echo("\n".join(["", *earlier]))


def _rounds(store: Any, config_id: str, limit: int) -> list[Any]:
    """The history items of the last `limit` runs, each with all its attempts: read a page
    at a time, twice as large each time, until it holds them (retries make a run several)."""
    from mlcc_ci.history import rounds

    size = limit
    while True:
        items = store.history(config_id, size)
        runs, whole = rounds(items, limit)
        if not whole or len(items) < size:
            return runs
        size *= 2


def _earlier(catalog: Any, store: Any, name: str) -> list[str]:
    """The identities NAME had before its entry changed, as `report NAME` lists them (the
    report's own rows: identities.py); their runs are not in the table above."""
    from mlcc_ci.report.identities import earlier_identities, rows
    from mlcc_ci.report.model import HISTORY_STRIP
    from mlcc_ci.report.onetext import identity_lines

    row = next((r for r in rows(catalog.entries, store.records()) if r.name == name), None)
    if row is None or not row.earlier:
        return []
    missing = [r.configId for r in row.earlier if not r.recentRuns]
    runs = store.histories(missing, limit=HISTORY_STRIP) if missing else {}
    said = f"not listed above (`mlcc-ci report {name}` shows them)"
    return identity_lines(earlier_identities(row, runs), said)


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
