"""`mlcc-ci register` (from the catalog or from a generated project) and `mlcc-ci store`."""

import os
from pathlib import Path

import click

from mlcc_ci.cli.helptext import ProfileOption
from mlcc_ci.cli.options import confirm, profile_option, store_options

_LABEL = {"created": "created", "changed": "changed → untested", "unchanged": "unchanged"}


@click.command()
@click.argument("names", nargs=-1)
@click.option("--from-catalog", is_flag=True, help="Register catalog entries (NAME... or --all).")
@click.option("--all", "all_entries", is_flag=True, help="With --from-catalog: every entry.")
@click.option(
    "--from-project",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Register the generated project in DIR from its do/config (parsed, never run).",
)
@click.option(
    "--ci-table", metavar="NAME", help="With --from-project: the CI DynamoDB table to write."
)
@click.option(
    "--ci-region",
    metavar="REGION",
    help="Region of the CI table (default: $MLCC_CI_REGION, then the AWS default region; "
    "never the project's AWS_REGION).",
)
@click.option(
    "--retest",
    is_flag=True,
    help="With --from-catalog: put the entries back to untested even when unchanged, so the "
    "next run tests them (a project registration always does).",
)
@click.option(
    "--region",
    metavar="REGION",
    help="With --from-catalog: register every entry for REGION instead of the catalog's "
    "(the region of the stack that runs them; one of the catalog's rules.regions).",
)
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete records whose entry left the catalog (an entry's earlier identities stay).",
)
@click.option("--yes", is_flag=True, help="With --prune: do not ask for confirmation.")
@click.option(
    "--profile",
    "profile_name",
    cls=ProfileOption,
    metavar="NAME",
    help="Use the store of this run profile{profiles} unless --store is given.",
)
@store_options
def register(
    names: tuple[str, ...],
    from_catalog: bool,
    all_entries: bool,
    from_project: Path | None,
    ci_table: str | None,
    ci_region: str | None,
    retest: bool,
    region: str | None,
    dry_run: bool,
    prune: bool,
    yes: bool,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Register configurations into the results store so the matrix tests them.

    From the catalog, re-registering an unchanged configuration changes nothing (unless
    --retest); a changed one goes back to untested and keeps its history. Registering a
    project always puts it back to untested: it is how a project asks for a retest.
    """
    from mlcc_ci.errors import UsageError

    if bool(from_catalog) == bool(from_project):
        raise UsageError("say where from: --from-catalog [NAME ... | --all] or --from-project DIR")
    if from_project:
        if names or all_entries or prune or retest or region:
            raise UsageError("--from-project takes no NAMEs, --all, --prune, --retest or --region")
        _from_project(from_project, ci_table, ci_region, dry_run, store_url, table)
        return
    if ci_table:
        raise UsageError("--ci-table goes with --from-project; use --table or --store here")
    if not (names or all_entries or prune):
        raise UsageError("name the entries to register, or give --all")
    if names and all_entries:
        raise UsageError("give NAMEs or --all, not both")
    if profile_name and not table:
        from mlcc_ci.catalog import load_valid_catalog
        from mlcc_ci.profiles import load_profile, profile_store

        store_url = profile_store(load_profile(load_valid_catalog(), profile_name), store_url)
    _from_catalog(names, retest, region, dry_run, prune, yes, store_url, table)


def _from_catalog(
    names: tuple[str, ...],
    retest: bool,
    region: str | None,
    dry_run: bool,
    prune: bool,
    yes: bool,
    store_url: str | None,
    table: str | None,
) -> None:
    from mlcc_ci import clock
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.registration import from_entry, prunable
    from mlcc_ci.stores.base import unchanged
    from mlcc_ci.stores.open import open_store

    catalog = load_valid_catalog()
    if region is not None:
        from mlcc_ci.errors import UsageError
        from mlcc_ci.registration import in_region

        try:
            catalog = in_region(catalog, region)
        except UsageError as exc:
            raise UsageError(f"--region {exc}") from None
    entries = [catalog.get(n) for n in names] if names else catalog.entries
    registrations = [from_entry(e) for e in entries]
    store = open_store(store_url, table=table)
    store.check()
    now = clock.iso(clock.now())
    counts = {"created": 0, "changed": 0, "unchanged": 0}
    for entry, reg in zip(entries, registrations, strict=True):
        if dry_run:
            old = store.get(reg.configId)
            outcome = (
                "created"
                if old is None
                else "unchanged"
                if unchanged(old, reg) and not retest
                else "changed"
            )
        else:
            outcome = store.register(reg, now, retest=retest)
        counts[outcome] += 1
        note = "" if entry.supported else f"  (unsupported: {entry.support_reason})"
        prefix = "would be " if dry_run and outcome != "unchanged" else ""
        click.echo(f"{prefix + _LABEL[outcome]:<20} {entry.name:<28} {reg.configId}{note}")
    summary = ", ".join(f"{n} {k}" for k, n in counts.items())
    click.echo(f"{summary}{' (dry run: nothing written)' if dry_run else ''}")
    if prune:  # an entry's earlier identities stay: a revert makes one current again
        gone = prunable(store.records(), catalog)
        for record in gone:
            click.echo(f"not in the catalog: {record.deploymentConfig:<28} {record.configId}")
        if not gone:
            click.echo("nothing to prune")
        elif dry_run:
            click.echo(f"{len(gone)} record(s) would be deleted (dry run)")
        elif yes or confirm(f"Delete these {len(gone)} record(s)?"):
            for record in gone:
                store.delete(record.configId)
            click.echo(f"deleted {len(gone)} record(s)")
        else:
            click.echo("nothing deleted")


def _from_project(
    project: Path,
    ci_table: str | None,
    ci_region: str | None,
    dry_run: bool,
    store_url: str | None,
    table: str | None,
) -> None:
    from mlcc_ci import clock
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.registration import from_project
    from mlcc_ci.stores.open import open_store

    result = from_project(project, load_valid_catalog())
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if result.dropped_secrets:
        click.echo(f"not stored (secrets): {', '.join(result.dropped_secrets)}", err=True)
    reg = result.registration
    region = ci_region or os.environ.get("MLCC_CI_REGION") or None
    if ci_table and not store_url:
        store = open_store(None, table=ci_table or table, region=region)
    else:
        store = open_store(store_url, table=table, region=region)
    if dry_run:
        click.echo(f"would register {reg.deploymentConfig} {reg.configId} into {store.description}")
        click.echo(reg.configJson)
        return
    store.check()
    outcome = store.register(reg, clock.iso(clock.now()), retest=True)
    click.echo(f"{_LABEL[outcome]:<20} {reg.deploymentConfig:<28} {reg.configId}")


@click.group()
def store() -> None:
    """Manage the results store."""


@store.command("create-tables")
@store_options
def create_tables(store_url: str | None, table: str | None) -> None:
    """Create the store's tables (for DynamoDB Local or moto; in AWS the stack does it)."""
    from mlcc_ci.stores.open import open_store

    target = open_store(store_url, table=table)
    target.create_tables()
    click.echo(f"tables ready in {target.description}")


@store.command()
@click.option("--fix", is_flag=True, help="Adopt what was found (asks first unless --yes).")
@click.option("--yes", is_flag=True, help="With --fix: do not ask for confirmation.")
@profile_option
@store_options
def doctor(
    fix: bool, yes: bool, profile_name: str | None, store_url: str | None, table: str | None
) -> None:
    """Find records other tools wrote that mlcc-ci would not: unreadable ones, another
    tool's shape, secrets in configJson, several records of one deployment.

    With --fix, adopt them: rewrite in mlcc-ci's shape with secrets masked (keeping what
    other tools added), move a duplicate's history to the catalog's record and delete the
    duplicate. Unreadable records are only listed. Exit 1 while anything is left.
    """
    from mlcc_ci import doctor as doc
    from mlcc_ci.cli.opening import open_for

    catalog, _profile, target = open_for(profile_name, store_url, table)  # never makes one
    preferred = {e.config_id for e in catalog.entries}
    exam = doc.examine(target, preferred)
    for f in exam.findings:
        click.echo(f"{f.kind:<11} {f.config_id}  {f.detail}")
    if not exam.findings:
        click.echo(f"nothing to fix in {target.description}")
        return
    fixable = len(exam.adopt) + len(exam.merge)
    click.echo(f"{len(exam.findings)} finding(s); {fixable} record(s) to adopt or merge")
    if fix and fixable and (yes or confirm("Fix them?")):
        for line in doc.fix(target, exam):
            click.echo(line)
        left = doc.examine(target, preferred).findings
        if not left:
            return
        click.echo(f"{len(left)} finding(s) left (unreadable records are for you to delete)")
    elif fix and fixable:
        click.echo("nothing changed")
    raise SystemExit(1)


COMMANDS = [register, store]
