"""The `mlcc-ci` command. Thin: each command builds what it needs, calls the core, prints.

Heavy libraries (boto3, jinja2) are imported inside the commands that need them so that
`mlcc-ci --help` and `mlcc-ci catalog validate` start fast.
"""

import os
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mlcc_ci import __version__
from mlcc_ci.errors import EXIT_HARNESS, MlccError
from mlcc_ci.resources import use_catalog
from mlcc_ci.safetext import printable


class _SettingsError(click.ClickException):
    exit_code = 2


class _Group(click.Group):
    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if parent is None and "default_map" not in extra:
            extra["default_map"] = _settings_defaults(self, args)
        return super().make_context(info_name, args, parent=parent, **extra)

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
    "catalog_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="MLCC_CI_CATALOG",
    metavar="DIR",
    help="Use the catalog in DIR instead of the shipped one (or set MLCC_CI_CATALOG); "
    "`mlcc-ci catalog init DIR` starts one.",
)
@click.option("--no-color", is_flag=True, help="No colour in the output (NO_COLOR does the same).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, catalog_dir: Path | None, no_color: bool) -> None:
    """Integration-test matrix for ML serving containers.

    The catalog names every deployment configuration; register them into a results
    store, run their lifecycle, and report coverage, history and regressions.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["color"] = not (no_color or os.environ.get("NO_COLOR"))
    if catalog_dir is not None:
        source = ctx.get_parameter_source("catalog_dir")
        where = (
            {
                ParameterSource.ENVIRONMENT: " (from MLCC_CI_CATALOG)",
                ParameterSource.DEFAULT_MAP: " (from the settings file: mlcc-ci config)",
            }.get(source, "")
            if source
            else ""
        )
        from mlcc_ci.settings import expand_home

        named = "MLCC_CI_CATALOG" if source is ParameterSource.ENVIRONMENT else "--catalog"
        use_catalog(expand_home(catalog_dir, named).resolve(), where)
    else:
        use_catalog(None)


def _register_commands() -> None:
    from mlcc_ci.cli import (
        catalog_cmd,
        confidence_cmd,
        config_cmd,
        failures_cmd,
        generator_cmd,
        github_cmd,
        history_cmd,
        logs_cmd,
        ops_cmd,
        project_cmd,
        register_cmd,
        report_cmd,
        run_cmd,
        simulate_cmd,
        stack_cmd,
    )

    for module in (
        catalog_cmd,
        generator_cmd,
        register_cmd,
        project_cmd,
        run_cmd,
        ops_cmd,
        report_cmd,
        confidence_cmd,
        logs_cmd,
        failures_cmd,
        history_cmd,
        config_cmd,
        github_cmd,
        history_cmd,
        stack_cmd,
        simulate_cmd,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)
    cli.add_command(catalog_cmd.list_entries, "list")  # a shortcut for `catalog list`


_register_commands()


# Each setting of the settings file, as the parameter of each command that takes it.
_PARAMS = {
    "profile": "profile_name",
    "store": "store_url",
    "jobs": "jobs",
    "schedule": "schedule",
    "daily-budget": "daily_budget",
}


def _defaults_for(command: click.Command, values: dict[str, Any]) -> dict[str, Any]:
    """click's default_map for `command` and its subcommands: the settings file's values
    come after flags and environment variables, before the built-in defaults."""
    out: dict[str, Any] = {}
    names = {p.name for p in command.params}
    for key, param in _PARAMS.items():
        if key in values and param in names:
            out[param] = values[key]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            nested = _defaults_for(sub, values)
            if nested:
                out[name] = nested
    return out


def _settings_defaults(group: click.Group, args: list[str]) -> dict[str, Any]:
    from mlcc_ci import settings

    try:
        found = settings.load()
    except MlccError as exc:
        if _asks_for_help(args):
            return {}  # --help and --version work whatever the settings file says
        raise _SettingsError(printable(str(exc))) from None
    default_map = _defaults_for(group, dict(found.values))
    if "catalog" in found.values:
        default_map["catalog_dir"] = found.values["catalog"]
    return default_map


def _asks_for_help(args: list[str]) -> bool:
    """Whether the command line asks for --help (-h) or --version, before any `--`."""
    head = args[: args.index("--")] if "--" in args else args
    return any(arg in ("--help", "-h", "--version") for arg in head)


def main() -> None:
    from mlcc_ci.cli.pipes import failure, guard, usable_descriptors

    # a reader that leaves early (`| head`) stops the output, never the command; output
    # that cannot be written (closed, a full disk) is one line of error at the end (pipes.py)
    usable_descriptors()
    sys.stdout = guard(sys.stdout)
    sys.stderr = guard(sys.stderr)
    code: Any = 0
    try:
        cli.main(prog_name="mlcc-ci", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        click.echo("Interrupted", err=True)
        code = 130
    except SystemExit as exc:
        code = exc.code
    why = failure(sys.stdout)
    if why is not None:
        click.echo(f"Error: cannot write to standard output: {why}", err=True)
        code = code if isinstance(code, int) and code else EXIT_HARNESS
    sys.exit(code)
