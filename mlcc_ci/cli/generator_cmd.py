"""`mlcc-ci generator install|check|where`: the pinned container generator."""

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mlcc_ci.catalog import Catalog
    from mlcc_ci.generator import Pin
    from mlcc_ci.generatorcheck import Drift


def _pin_and_catalog() -> "tuple[Pin, Catalog]":
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.generator import pin_of

    catalog = load_valid_catalog()
    return pin_of(catalog.defaults), catalog


@click.group()
def generator() -> None:
    """Install and check the generator that the catalog pins."""


@generator.command()
@click.option("--force", is_flag=True, help="Install again even if it is already there.")
def install(force: bool) -> None:
    """Install the pinned generator with npm into mlcc-ci's data folder.

    Nothing global is changed: stages find it there (set MLCC_CI_GENERATOR_HOME to use
    another folder). Needs Node.js and npm.
    """
    from mlcc_ci import generator as gen

    pin, _ = _pin_and_catalog()
    present = gen.find(pin, {**os.environ, "PATH": ""})
    if force or present is None or present.version != pin.version:
        click.echo(f"installing {pin.spec} into {gen.prefix(pin, os.environ)}", err=True)
    installed = gen.install(pin, os.environ, force=force)
    click.echo(f"{pin.package} {installed.version}: {installed.command}")


@generator.command()
def where() -> None:
    """Show which generator the stages would run, and whether it is the pinned one."""
    from mlcc_ci import generator as gen
    from mlcc_ci.errors import HarnessError

    pin, _ = _pin_and_catalog()
    installed = gen.require(pin, os.environ)
    click.echo(f"{pin.package} {installed.version}: {installed.command}")
    problem = gen.problem_with(pin, os.environ)
    if problem:
        raise HarnessError(problem)


@generator.command()
def check() -> None:
    """Compare the installed generator with the catalog: configurations it offers that the
    catalog lacks, ones the catalog names that it dropped, and parameters of supported
    entries that it would refuse or ignore. Exit 1 when the catalog would break.

    A team's catalog (--catalog) need not name every configuration: the ones it does not
    are a note, with how to add one.

    Configurations it offers that no entry runs (none names them, or the entry is
    unsupported, for the reason it gives) are listed for a decision; they break nothing,
    and the verdict names them."""
    from mlcc_ci import generator as gen
    from mlcc_ci.generatorcheck import drift

    pin, catalog = _pin_and_catalog()
    installed = gen.require(pin, os.environ)
    if installed.version != pin.version:
        click.echo(f"note: checking generator {installed.version}; the catalog pins {pin.version}")
    found = drift(catalog.entries, gen.load_parameters(installed))
    # A team's catalog holds the configurations it runs: the rest are no gap in it.
    team = not _shipped()
    # An entry may stay unsupported on purpose: its reason says whether the day has come.
    reasons = {e.name: e.support_reason for e in catalog.entries}
    available = [f"{name} (unsupported: {reasons[name]})" for name in found.available]
    sections = (
        ("configurations the catalog lacks", [] if team else found.missing),
        ("supported entries whose configuration the generator dropped", found.dropped),
        ("unsupported entries the generator offers, not run for the reason given", available),
        ("parameters the generator would refuse or ignore", found.problems),
    )
    for title, items in sections[1:] if team else sections:
        click.echo(f"{title} ({len(items)}):")
        for item in items:
            click.echo(f"  {item}")
    click.echo(f"generator {installed.version} {_verdict(found, team)}")
    if team and found.missing:
        n = len(found.missing)
        click.echo(
            f"note: the generator offers {n} more configuration{'s' if n != 1 else ''} "
            f"({', '.join(found.missing)}); this catalog need not name them: add one with "
            "`mlcc-ci catalog add NAME --from CONFIGURATION`"
        )
    if found.breaking:
        raise SystemExit(1)


def _shipped() -> bool:
    """Whether the catalog in use is the shipped one, which must name every configuration
    the generator offers (supported, or unsupported with the reason)."""
    from mlcc_ci.resources import catalog_dir, data_path

    return catalog_dir().resolve() == data_path("catalog").resolve()


def _verdict(found: "Drift", team: bool) -> str:
    """Whether the catalog breaks, and what the generator offers that no run covers, so a
    listing above the verdict never reads as a problem the verdict ignored (a team's
    catalog: what it does not name is said apart, as information)."""
    if found.breaking:
        return "breaks the catalog"
    not_run = [f"{name} (unsupported)" for name in found.available]
    if found.missing and not team:
        n = len(found.missing)
        not_run.append(f"{n} configuration{'s' if n != 1 else ''} no entry names")
    if not_run:
        return f"fits the catalog; offered but not run: {', '.join(not_run)}"
    return "fits the catalog"


COMMANDS = [generator]
