"""`mlcc-ci project install-scripts DIR`."""

from pathlib import Path

import click


@click.group()
def project() -> None:
    """Work with a generated project."""


@project.command("install-scripts")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
def install_scripts_cmd(directory: Path) -> None:
    """Install the drop-in do/register (and do/ci) scripts into a generated project."""
    from mlcc_ci.project import install_scripts

    for line in install_scripts(directory):
        click.echo(line)


COMMANDS = [project]
