"""Options shared by the commands that read or write results."""

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


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
