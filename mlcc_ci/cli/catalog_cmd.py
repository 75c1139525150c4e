"""`mlcc-ci catalog validate|list|show` and `mlcc-ci config-id`."""

import json
import re
from pathlib import Path

import click

from mlcc_ci.cli.options import json_option


@click.group()
def catalog() -> None:
    """Validate and inspect the catalog of deployment configurations: by default the
    catalog in use: --catalog, MLCC_CI_CATALOG or the settings file's, else the shipped
    one."""


@catalog.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "markdown"]),
    default="text",
    show_default=True,
    help="github: also a workflow annotation (::error file=…,line=…) per problem; "
    "markdown: the pull request comment an invalid catalog gets, on standard output.",
)
def validate(paths: tuple[Path, ...], fmt: str) -> None:
    """Check catalog files (default: the catalog in use: --catalog, MLCC_CI_CATALOG or the
    settings file's, else the shipped one). PATH may be a folder or a file.

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
    warnings: list[str] = []  # what the generator will fail at, in a valid catalog
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
            from mlcc_ci.generatorcheck import catalog_problems

            found = result.problems + catalog_problems(result.entries, params)
            result.problems = sorted(found, key=problem_order)
            from mlcc_ci.placement import catalog_warnings

            warnings = catalog_warnings(result.entries, installed.root, installed.version)
    from mlcc_ci import clock, quarantine

    warnings += quarantine.expired(result.entries, clock.now())  # a warning, never a failure
    # the failure rules of the catalog validated (a team's first, then the shipped ones)
    from mlcc_ci.errors import CatalogError
    from mlcc_ci.failures import load_rules

    folders = [p for p in paths if p.is_dir()] or [p.parent for p in paths if p.is_file()]
    try:
        load_rules(folders[0] if folders else None)
    except CatalogError as exc:
        result.problems = sorted([*result.problems, *exc.problems], key=problem_order)
    n = len(result.problems)
    if fmt == "markdown":
        click.echo(_markdown(result.problems, len(result.entries)))
    elif fmt == "github":
        for line in result.problems:
            click.echo(_annotation(line))
    from mlcc_ci.report.annotations import log_line

    # a file name or key can hold a newline and `::warning …`: each problem stays one line
    # and starts no workflow command (GitHub reads commands from stderr as well)
    if result.problems:
        if fmt != "markdown":
            for line in result.problems:
                click.echo(log_line(line), err=True)
            click.echo(f"{n} problem{'s' if n != 1 else ''} found", err=True)
        raise SystemExit(2)
    if fmt != "markdown":
        for line in warnings:
            if fmt == "github":
                click.echo(_annotation(line, "warning"))
            click.echo(log_line(line), err=True)
        n = len(result.entries)
        click.echo(f"catalog valid: {n} entr{'ies' if n != 1 else 'y'}")


def _annotation(problem: str, level: str = "error") -> str:
    """A GitHub workflow command that puts `problem` on its file and line in the diff."""
    from mlcc_ci.report.annotations import command

    found = _PLACE.match(problem)  # a file name may hold a newline
    file, line = (found["file"], int(found["line"] or 0)) if found else (problem, 0)
    message = problem[found.end() :] if found else problem
    return command(level, message, file=file, line=line, title="mlcc-ci catalog")


_PLACE = re.compile(r"(?P<file>.*?):(?:(?P<line>\d+):)? ", re.DOTALL)


def _markdown(problems: list[str], entries: int) -> str:
    """The sticky comment for a catalog that does not load: what is wrong, where."""
    from mlcc_ci.report.render import MD_MARKER, md_fence
    from mlcc_ci.safetext import capped

    if not problems:
        return f"{MD_MARKER}\n✅ catalog valid: {entries} entries"
    n = len(problems)
    shown = [capped(p, 500) for p in problems[:200]]
    if n > 200:
        shown.append(f"…and {n - 200} more: run mlcc-ci catalog validate")
    lines = [
        MD_MARKER,
        f"❌ **The catalog is invalid**: {n} problem{'s' if n != 1 else ''} · nothing was run",
        "",
        md_fence("\n".join(shown)),
        "",
        "`mlcc-ci catalog validate` shows the same list; in the workflow each is also an "
        "annotation on its file and line.",
    ]
    return "\n".join(lines)


@catalog.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.argument("names", nargs=-1)
@click.option("--no-entries", is_flag=True, help="Write the defaults only; add entries later.")
@click.option("--owner", default="my-team", show_default=True, help="The team's owner tag.")
def init(directory: Path, names: tuple[str, ...], no_entries: bool, owner: str) -> None:
    """Start a team catalog in DIRECTORY: a `_defaults.yaml` that extends the shipped
    defaults (override only what differs), the shipped entries (or only NAME ...), and the
    JSON schemas in DIRECTORY/.schema, which each file's schema comment names relatively,
    so editors check entries as you type for everyone who clones the repository.

    DIRECTORY may hold other files: init overwrites none. It writes the files that are not
    there, leaves those that already say the same, and refuses, writing nothing, where a
    different file is in the way.

    Use it with `--catalog DIRECTORY`, MLCC_CI_CATALOG=DIRECTORY or `catalog = "DIRECTORY"`
    in mlcc-ci.toml.
    """
    from mlcc_ci.catalog import load_valid_catalog, shown_path
    from mlcc_ci.catalogadd import init_conflicts, init_files
    from mlcc_ci.errors import UsageError
    from mlcc_ci.files import write_atomic
    from mlcc_ci.resources import use_catalog

    if directory.is_symlink():
        raise UsageError(f"{directory} is a symbolic link; choose a new folder")
    if no_entries and names:
        raise UsageError("give NAME ... or --no-entries, not both")
    if not _OWNER.fullmatch(owner):
        raise UsageError(f"--owner {owner!r}: letters, digits, '.', '_' and '-' only")
    use_catalog(None)  # entries come from the shipped catalog
    shipped = load_valid_catalog()
    chosen = [] if no_entries else [shipped.get(n) for n in names] or shipped.entries
    files = init_files(directory, chosen, owner)
    conflicts, same = init_conflicts(directory, files)
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise UsageError(
            f"{shown_path(conflicts[0])} is in the way{more}: catalog init overwrites "
            "nothing and wrote nothing; move it away, or choose another folder"
        )
    try:
        (directory / ".schema").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {directory}: {exc.strerror or exc}") from None
    for path, data in files.items():
        if path not in same:
            write_atomic(path, data)
    n = len(chosen)
    kept = f"; {len(same)} file(s) already there kept as they were" if same else ""
    click.echo(
        f"created {directory}: _defaults.yaml (extends the shipped defaults), "
        f"{n} entr{'ies' if n != 1 else 'y'}, schemas in .schema/{kept}; use it with "
        f"`mlcc-ci --catalog {directory} ...`, MLCC_CI_CATALOG={directory}, or "
        f'`catalog = "{directory}"` in mlcc-ci.toml'
    )


_OWNER = re.compile(r"[A-Za-z0-9._-]{1,64}")


@catalog.command()
@click.argument("name")
@click.option(
    "--from",
    "source",
    metavar="ENTRY",
    help="Copy this entry (the team catalog's, else the shipped one of that name) instead "
    "of starting from a skeleton.",
)
def add(name: str, source: str | None) -> None:
    """Write a new entry, NAME.yaml, into the catalog in use (--catalog, MLCC_CI_CATALOG or
    the settings file).

    NAME: lowercase letters and digits in words joined by '-', at most 30 characters with
    the shipped defaults: a run's AWS names are made from it, and the longest, its nested
    build's IAM role (mlcc-ci-NAME-build-REGION-service-role), must fit in 64.

    With --from ENTRY, a copy of ENTRY's file, renamed NAME; where NAME is not the
    generator's name for the configuration, `generatorName` says which one it is a variant
    of. Without, a skeleton whose comments say what to fill in: valid as it is, and
    unsupported (never run) until you say what it deploys. An existing file is never
    overwritten, and a file that would not validate on its own is not written; a copy
    deploys the same thing as ENTRY, which `catalog validate` reports on both, until you
    change its model or instance type.
    """
    from mlcc_ci.catalog import load_catalog, shown_path
    from mlcc_ci.catalogadd import add_entry, check_name, copy_text, find_source, skeleton_text
    from mlcc_ci.errors import UsageError
    from mlcc_ci.resources import catalog_dir, data_path

    check_name(name)
    folder = catalog_dir()
    shipped = data_path("catalog")
    if folder.resolve() == shipped.resolve() and shipped.parent.name == "_data":
        raise UsageError(
            "no team catalog to add to: name one with --catalog DIR, MLCC_CI_CATALOG or "
            '`catalog = "DIR"` in mlcc-ci.toml (`mlcc-ci catalog init DIR` starts one)'
        )
    team = load_catalog([folder])  # the entries that load, whatever else is wrong
    shipped_catalog = load_catalog([shipped])
    # a name too long for its AWS names, whether or not the new entry is supported yet
    check_name(name, team.defaults or shipped_catalog.defaults)
    if source is None:
        text, what = skeleton_text(name, folder), "a skeleton to fill in"
    else:
        entry = find_source(source, [team, shipped_catalog])
        text = copy_text(entry, name, folder)
        what = f"a copy of {entry.name}"
        if name != entry.generator_name:
            what += f", generatorName: {entry.generator_name}"
    added = add_entry(folder, name, text, team)
    path = shown_path(added.path)
    click.echo(f"wrote {path} ({what})")
    if added.same_as is not None:
        click.echo(
            f"note: it deploys the same thing as {added.same_as.name} until you change its "
            "model, instance type, region or target: catalog validate fails until then"
        )
    click.echo(f"next: edit it, then mlcc-ci catalog validate {path}")


@catalog.command("show-defaults")
def show_defaults() -> None:
    """Print the catalog's defaults as entries inherit them, each top-level key with the
    file and line it comes from (a team's _defaults.yaml, or the shipped one it extends)."""
    import yaml

    from mlcc_ci.catalog import load_valid_catalog, locate, shown_path

    catalog = load_valid_catalog()
    for key, value in catalog.defaults.items():
        if key == "extends":
            continue
        if catalog.defaults_files:
            path, line = locate(catalog.defaults_files, (key,))
            click.echo(f"# {shown_path(path)}:{line}")
        click.echo(yaml.safe_dump({key: value}, sort_keys=False).rstrip())


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
@click.option(
    "--yaml",
    "as_yaml",
    is_flag=True,
    help="Print the entry as its file writes it, without derived values: what can be "
    "pasted into an entry file (or use `catalog add NEW --from NAME`).",
)
def show(name: str, as_json: bool, as_yaml: bool) -> None:
    """Show one entry merged with the defaults it inherits, and the configId and compact
    configJson it registers (as comments: they are derived, never written in an entry)."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.errors import UsageError

    if as_json and as_yaml:
        raise UsageError("give --json or --yaml, not both")
    entry = load_valid_catalog().get(name)
    if as_yaml:
        from mlcc_ci.catalogadd import own_text
        from mlcc_ci.safetext import printable

        click.echo(printable(own_text(entry)), nl=False)
        return
    if as_json:
        doc = {
            "entry": dict(entry.data),
            "configId": entry.config_id,
            "configJson": entry.config_json,
        }
        click.echo(json.dumps(doc, indent=2))
        return
    import yaml

    from mlcc_ci.catalog import shown_path

    click.echo(f"# {shown_path(entry.path)}, merged with the defaults it inherits")
    click.echo(f"# as written, to copy: mlcc-ci catalog show {entry.name} --yaml")
    click.echo(yaml.safe_dump(dict(entry.data), sort_keys=False).rstrip())
    click.echo(f"# configId: {entry.config_id}")
    click.echo(f"# configJson: {entry.config_json}")


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
