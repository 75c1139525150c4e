"""The `mlcc-ci` command. Thin: each command builds what it needs, calls the core, prints.

Heavy libraries (boto3, jinja2) are imported inside the commands that need them so that
`mlcc-ci --help` and `mlcc-ci catalog validate` start fast.
"""

import os
import sys
from pathlib import Path
from typing import Any

import click

from mlcc_ci import __version__
from mlcc_ci.errors import MlccError
from mlcc_ci.resources import use_catalog
from mlcc_ci.safetext import printable


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlccError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {printable(str(exc))}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlcc-ci")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "--catalog",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="MLCC_CI_CATALOG",
    metavar="DIR",
    help="Use the catalog in DIR instead of the shipped one (or set MLCC_CI_CATALOG); "
    "`mlcc-ci catalog init DIR` starts one.",
)
@click.option("--no-color", is_flag=True, help="No colour in the output (NO_COLOR does the same).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, catalog: Path | None, no_color: bool) -> None:
    """Integration-test matrix for ML serving containers.

    The catalog names every deployment configuration; register them into a results
    store, run their lifecycle, and report coverage, history and regressions.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["color"] = not (no_color or os.environ.get("NO_COLOR"))
    use_catalog(catalog.resolve() if catalog else None)


def _register_commands() -> None:
    from mlcc_ci.cli import (
        catalog_cmd,
        generator_cmd,
        ops_cmd,
        project_cmd,
        register_cmd,
        report_cmd,
        run_cmd,
    )

    for module in (
        catalog_cmd,
        generator_cmd,
        register_cmd,
        project_cmd,
        run_cmd,
        ops_cmd,
        report_cmd,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)
    cli.add_command(catalog_cmd.list_entries, "list")  # a shortcut for `catalog list`


_register_commands()


def main() -> None:
    try:
        cli.main(prog_name="mlcc-ci", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        click.echo("Interrupted", err=True)
        sys.exit(130)
