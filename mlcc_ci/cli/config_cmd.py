"""`mlcc-ci config` (the effective settings and where each came from) and `mlcc-ci clean`."""

import os
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mlcc_ci.cli.options import json_option, store_options
from mlcc_ci.cli.run_cmd import profile_option

_SOURCES = {
    ParameterSource.COMMANDLINE: "flag",
    ParameterSource.ENVIRONMENT: "environment",
    ParameterSource.DEFAULT_MAP: "settings file",
    ParameterSource.DEFAULT: "default",
}


def _source(ctx: click.Context, name: str, env: str, file_label: str) -> str:
    source = ctx.get_parameter_source(name)
    if source is ParameterSource.ENVIRONMENT:
        return f"environment ({env})"
    if source is ParameterSource.DEFAULT_MAP:
        return file_label
    return _SOURCES.get(source, "default") if source else "default"


@click.command("config")
@json_option
@profile_option
@store_options
@click.pass_context
def config(
    ctx: click.Context,
    as_json: bool,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Each effective setting and where it came from: a flag, the environment, the settings
    file (mlcc-ci.toml, or [tool.mlcc-ci] in pyproject.toml, found upward from here) or the
    default. Flags win over the environment, the environment over the file."""
    import json

    from mlcc_ci import settings
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.profiles import load_profile
    from mlcc_ci.resources import catalog_dir
    from mlcc_ci.stores.open import data_dir

    found = settings.load()
    label = f"settings file {found.label}"
    root = ctx.find_root()
    rows: list[tuple[str, Any, str]] = []
    catalog_source = _source(root, "catalog_dir", "MLCC_CI_CATALOG", label)
    rows.append(("catalog", str(catalog_dir()), catalog_source.replace("default", "shipped")))
    profile = load_profile(load_valid_catalog(), profile_name)
    rows.append(("profile", profile.name, _source(ctx, "profile_name", "MLCC_CI_PROFILE", label)))
    if table:
        rows.append(("store", f"dynamodb://{table}", "flag (--table)"))
    elif store_url:
        rows.append(("store", store_url, _source(ctx, "store_url", "MLCC_CI_STORE", label)))
    elif profile.store:
        url = profile.store.replace("{data_dir}", str(data_dir(os.environ)))
        rows.append(("store", url, f"profile {profile.name}"))
    else:
        rows.append(("store", f"sqlite:///{data_dir(os.environ) / 'results.db'}", "default"))
    for setting, value, source in settings.resolve(found):
        if setting.key in ("jobs", "keep-runs"):
            rows.append((setting.key, value, source))
    rows.append(("work", str(data_dir(os.environ) / "work"), "default"))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "settingsFile": str(found.path) if found.path else None,
                    "settings": {k: {"value": v, "source": s} for k, v, s in rows},
                }
            )
        )
        return
    click.echo(f"settings file: {found.label if found.path else 'none found'}")
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key.ljust(width)}  {value}  ({source})")


@click.command()
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    metavar="N",
    help="Run folders to keep per configuration (default: `keep-runs` from the settings "
    "file or MLCC_CI_KEEP_RUNS, else 3).",
)
@click.option("--dry-run", is_flag=True, help="Say what would go; delete nothing.")
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The work root the runs used (default: DATA_DIR/work).",
)
def clean(keep: int | None, dry_run: bool, work_dir: Path | None) -> None:
    """Remove old run folders (generated projects and their logs), keeping the newest N of
    each configuration. A folder whose run is still going is never removed."""
    from mlcc_ci.stores.open import data_dir
    from mlcc_ci.workdirs import remove, run_folders, surplus

    root = work_dir or data_dir(os.environ) / "work"
    if keep is None:
        keep = keep_runs()
    going = surplus(root, keep)
    if not going:
        click.echo(
            f"nothing to clean in {root} ({len(run_folders(root))} run folders, "
            f"keeping {keep} per configuration)"
        )
        return
    size = sum(f.size for f in going)
    verb = "would remove" if dry_run else "removed"
    for folder in going:
        click.echo(f"{verb} {folder.path.name}")
    if not dry_run:
        size = remove(going)
    click.echo(
        f"{verb} {len(going)} run folder{'s' if len(going) != 1 else ''} "
        f"({_megabytes(size)}) from {root}, keeping {keep} per configuration"
    )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def keep_runs(env: Any = os.environ) -> int:
    from mlcc_ci import settings

    for setting, value, _source in settings.resolve(settings.load(), env):
        if setting.key == "keep-runs":
            return max(0, int(value))
    return 3


COMMANDS = [config, clean]
