"""`mlcc-ci catalog validate|list|show` and `mlcc-ci config-id`."""

import json
from pathlib import Path

import click

from mlcc_ci.cli.options import json_option


@click.group()
def catalog() -> None:
    """Validate and inspect the catalog of deployment configurations."""


@catalog.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check catalog files (default: the shipped catalog). PATH may be a folder or a file.

    Every problem is printed, one per line, as FILE:LINE: ENTRY JSON-PATH: MESSAGE, sorted
    by file and line: schema and rule problems, instance types SageMaker does not offer, and
    for supported entries that loaded, the parameters the pinned generator would refuse,
    ignore or find missing when it is installed (mlcc-ci generator install).
    Exit 0 when valid, 2 when not.
    """
    import os

    from mlcc_ci import generator
    from mlcc_ci.catalog import load_catalog, problem_order

    result = load_catalog(paths or None)
    pin = generator.pin_of(result.defaults)
    if result.entries and pin.version:  # the entries that loaded, whatever else is wrong
        installed = generator.find(pin, os.environ)
        if installed is None or installed.version != pin.version:
            click.echo(
                f"note: not checked against the generator's parameters: {pin.spec} is not "
                "installed (mlcc-ci generator install)",
                err=True,
            )
        else:
            params = generator.load_parameters(installed)
            found = result.problems + generator.catalog_problems(result.entries, params)
            result.problems = sorted(found, key=problem_order)
    if result.problems:
        for line in result.problems:
            click.echo(line, err=True)
        n = len(result.problems)
        click.echo(f"{n} problem{'s' if n != 1 else ''} found", err=True)
        raise SystemExit(2)
    n = len(result.entries)
    click.echo(f"catalog valid: {n} entr{'ies' if n != 1 else 'y'}")


@catalog.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
def init(directory: Path) -> None:
    """Start a team catalog in DIRECTORY from the shipped one.

    Each file's schema comment points at the installed schemas, so editors check entries as
    you type. Use it with `mlcc-ci --catalog DIRECTORY ...` or MLCC_CI_CATALOG=DIRECTORY.
    """
    from mlcc_ci.errors import UsageError
    from mlcc_ci.files import write_atomic
    from mlcc_ci.resources import data_path

    if directory.is_symlink():
        raise UsageError(f"{directory} is a symbolic link; choose a new folder")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"{directory} is not an empty folder; choose a new one")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None
    schemas = data_path("schema").resolve()
    count = 0
    for source in sorted(data_path("catalog").glob("*.yaml")):
        text = source.read_text(encoding="utf-8").replace(
            "$schema=../schema/", f"$schema={schemas.as_uri()}/"
        )
        write_atomic(directory / source.name, text.encode("utf-8"))
        count += source.name != "_defaults.yaml"
    click.echo(
        f"created {directory} with {count} entries and _defaults.yaml; use it with "
        f"`mlcc-ci --catalog {directory} ...` or MLCC_CI_CATALOG={directory}"
    )


@catalog.command("list")
@json_option
def list_entries(as_json: bool) -> None:
    """List the catalog's configurations with their configIds."""
    from mlcc_ci.catalog import load_valid_catalog

    entries = load_valid_catalog().entries
    rows = [
        {
            "name": e.name,
            "architecture": e.data["architecture"],
            "backend": e.data["backend"],
            "instanceType": e.data["instanceType"],
            "support": e.data["support"]["state"],
            "configId": e.config_id,
        }
        for e in entries
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from tabulate import tabulate

    headers = {k: k for k in rows[0]} if rows else ()
    click.echo(tabulate(rows, headers=headers))


@catalog.command()
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Show one merged entry and the compact configJson it registers."""
    from mlcc_ci.catalog import load_valid_catalog

    entry = load_valid_catalog().get(name)
    if as_json:
        doc = {
            "entry": dict(entry.data),
            "configId": entry.config_id,
            "configJson": entry.config_json,
        }
        click.echo(json.dumps(doc, indent=2))
        return
    import yaml

    click.echo(f"# {entry.path}")
    click.echo(yaml.safe_dump(dict(entry.data), sort_keys=False).rstrip())
    click.echo(f"configId: {entry.config_id}")
    click.echo(f"configJson: {entry.config_json}")


@click.command("config-id")
@click.option("--deployment-config", required=True, help="e.g. transformers-vllm")
@click.option("--model", default="", help="Model name; omitted or empty means none.")
@click.option("--instance-type", required=True, help="e.g. ml.g5.xlarge")
@click.option("--region", required=True, help="e.g. us-east-1")
@click.option("--target", "deployment_target", default="realtime-inference", show_default=True)
def config_id_cmd(
    deployment_config: str, model: str, instance_type: str, region: str, deployment_target: str
) -> None:
    """Print the configId of a deployment (16 hex characters of a SHA-256)."""
    from mlcc_ci.configid import config_id
    from mlcc_ci.errors import UsageError

    try:
        click.echo(config_id(deployment_config, model, instance_type, region, deployment_target))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


COMMANDS = [catalog, config_id_cmd]
