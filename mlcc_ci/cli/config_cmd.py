"""`mlcc-ci config` (the effective settings and where each came from) and `mlcc-ci clean`."""

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mlcc_ci.cli.options import json_option, profile_option, store_options

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
    default. Flags win over the environment, the environment over the file. With a settings
    file the store and the run folders default to .mlcc-ci/ beside it. A password in the
    store URL shows as ***; with an invalid catalog the settings still show, then its problem
    (exit 2). A settings file someone else owns or can write is refused unless
    MLCC_CI_SAFE_DIRECTORIES names its folder (README, Settings)."""
    import json

    from mlcc_ci import settings
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.errors import MlccError
    from mlcc_ci.profiles import load_profile
    from mlcc_ci.resources import catalog_dir
    from mlcc_ci.safetext import printable
    from mlcc_ci.stores.open import default_url, expand, shown_url

    found = settings.load()
    label = f"settings file {found.label}"
    state = settings.state_dir()
    where = (
        f"in {settings.STATE_FOLDER}/ beside the settings file"
        if found.path
        else "user-wide, no settings file"
    )
    root = ctx.find_root()
    rows: list[tuple[str, Any, str]] = []
    catalog_source = _source(root, "catalog_dir", "MLCC_CI_CATALOG", label)
    rows.append(("catalog", str(catalog_dir()), catalog_source.replace("default", "shipped")))
    problem: MlccError | None = None
    try:
        profile = load_profile(load_valid_catalog(), profile_name)
    except MlccError as exc:  # an invalid catalog: every other setting still shows, then it
        problem, profile = exc, None
    name = profile.name if profile else profile_name or "default"
    rows.append(("profile", name, _source(ctx, "profile_name", "MLCC_CI_PROFILE", label)))
    if table:
        rows.append(("store", f"dynamodb://{table}", "flag (--table)"))
    elif store_url:
        source = _source(ctx, "store_url", "MLCC_CI_STORE", label)
        rows.append(("store", shown_url(store_url), source))
    elif profile is None:
        rows.append(("store", None, "the profile's, unknown while the catalog is invalid"))
    elif profile.store:
        in_state = f", {where}" if "{data_dir}" in profile.store else ""
        shown = shown_url(expand(profile.store))
        rows.append(("store", shown, f"profile {profile.name}{in_state}"))
    else:
        rows.append(("store", default_url(), f"default, {where}"))
    for setting, value, source in settings.resolve(found):  # every other one, as it is
        if setting.key == "work":
            shown = f"default, {where}" if value is None else source
            rows.append(("work", str(settings.work_root()), shown))
        elif setting.key not in ("catalog", "profile", "store"):  # shown above, as used
            rows.append((setting.key, value, source))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "settingsFile": str(found.path) if found.path else None,
                    "stateDir": str(state),
                    "settings": {k: {"value": v, "source": s} for k, v, s in rows},
                    **({"catalogProblem": printable(str(problem))} if problem else {}),
                }
            )
        )
    else:
        click.echo(f"settings file: {found.label if found.path else 'none found'}")
        width = max(len(k) for k, _, _ in rows)
        for key, value, source in rows:
            click.echo(f"{key.ljust(width)}  {'unknown' if value is None else value}  ({source})")
    if problem:
        click.echo(f"Error: {printable(str(problem))}", err=True)
        ctx.exit(problem.exit_code)


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
    help="The work folder the runs used (default: the `work` setting, as `mlcc-ci config` "
    "shows it).",
)
@profile_option
@store_options
def clean(
    keep: int | None,
    dry_run: bool,
    work_dir: Path | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Remove old run folders (generated projects and their logs) of the store in use (the
    profile's, --store's), keeping the newest N of each configuration. Another store's run
    folders, and one whose run is still going, are never removed."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.profiles import load_profile, profile_store
    from mlcc_ci.settings import value_of, work_root
    from mlcc_ci.stores.open import open_store
    from mlcc_ci.workdirs import owner_of, remove, run_folders, sort_out

    root = work_dir or work_root()
    if keep is None:
        keep = max(0, int(value_of("keep-runs")))
    url = (
        None
        if table
        else profile_store(load_profile(load_valid_catalog(), profile_name), store_url)
    )
    owner = owner_of(open_store(url, table=table))  # named only: nothing is read or made
    folders = run_folders(root)
    others = sum(f.owner != owner for f in folders)
    mine = len(folders) - others
    left = f"; {others} of other stores, or of none, left alone" if others else ""
    going, busy = sort_out(root, keep, owner)
    size = sum(f.size for f in going)
    if going and not dry_run:
        size, now_busy = remove(going)  # each re-checked: a run may hold it by now
        going = [f for f in going if f not in now_busy]
        busy += now_busy
    if busy:
        s = "s" if len(busy) != 1 else ""
        left += f"; {len(busy)} running run folder{s} left alone"
    if not going:
        click.echo(
            f"nothing to clean in {root} ({mine} run folder{'s' if mine != 1 else ''} of {owner}, "
            f"keeping {keep} per configuration{left})"
        )
        return
    verb = "would remove" if dry_run else "removed"
    for folder in going:
        click.echo(f"{verb} {folder.path.name}")
    click.echo(
        f"{verb} {len(going)} run folder{'s' if len(going) != 1 else ''} "
        f"({_megabytes(size)}) of {owner} from {root}, keeping {keep} per configuration{left}"
    )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


COMMANDS = [config, clean]
