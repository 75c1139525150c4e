"""`mlcc-ci confidence [NAME...]` and `mlcc-ci publish --output DIR`: how far each
configuration can be trusted (confidence.py), in the terminal, as JSON, and as a static
site for the generator's users (publish/)."""

from pathlib import Path

import click

from mlcc_ci.cli.opening import open_for
from mlcc_ci.cli.options import json_option, profile_option, store_options


@click.command()
@click.argument("names", metavar="[NAME]...", nargs=-1)
@json_option
@profile_option
@store_options
def confidence(
    names: tuple[str, ...],
    as_json: bool,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """How far each configuration (or each NAME) can be trusted, from its product runs
    only (never blocked, error or interrupted runs): over its last 20 in 90 days, the
    lower bound of the 95 % Wilson interval of its pass rate, and a level:

    \b
      battle-tested  the bound is 0.75 or more (12 passes in a row), the last pass
                     within 14 days
      passing        the last product run passed
      new            passed, fewer than 3 product runs
      failing        the last product run failed
      unknown        no product run in the window
    """
    import json

    from mlcc_ci import clock
    from mlcc_ci.assessing import assess_store, document, source_of

    catalog, profile, store = open_for(profile_name, store_url, table)
    now = clock.now()
    assessed = assess_store(store, catalog, now, names or None)
    source = source_of(profile)
    if as_json:
        doc = document(assessed, now, source=source)
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    click.echo(_table(assessed))
    for line in _unreadable_lines(assessed):
        click.echo(line)
    click.echo(f"\nProfile {source.profile}" + (f": {source.note}" if source.note else ""))


def _unreadable_lines(assessed: list) -> list[str]:
    """A line for each configuration whose stored record cannot be read, as the report
    names them: its level comes from its history (the runs table), not from the record."""
    from mlcc_ci.safetext import printable

    return [
        f"UNREADABLE record {a.confidence.configId} ({printable(a.confidence.name)}): "
        f"{printable(a.unreadable)}; its level is from its history (mlcc-ci store doctor)"
        for a in assessed
        if a.unreadable is not None
    ]


def _level(a) -> str:
    """The level, and why the runs behind it are not the record's own or never come."""
    if a.unreadable is not None:
        return f"{a.confidence.level} (unreadable)"
    return a.confidence.level if a.supported else f"{a.confidence.level} (not supported)"


def _table(assessed: list) -> str:
    from tabulate import tabulate

    from mlcc_ci import clock
    from mlcc_ci.safetext import printable

    rows = []
    for a in assessed:
        c = a.confidence
        rows.append(
            [
                printable(c.name),
                _level(a),
                f"{c.lower:.3f}",
                c.runs,
                c.passes,
                clock.display(c.lastPass) if c.lastPass else "-",
                clock.display(c.lastFailure) if c.lastFailure else "-",
                printable(", ".join(c.generatorVersions)) or "-",
            ]
        )
    headers = [
        "Configuration",
        "Level",
        "Confidence",
        "Runs",
        "Passes",
        "Last pass",
        "Last failure",
        "Generator versions",
    ]
    return tabulate(rows, headers=headers, disable_numparse=True)


@click.command()
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="The site's folder: made, or replaced whole if an earlier publish made it (any "
    "other folder is refused).",
)
@click.option(
    "--badge-label",
    default=None,
    metavar="TEXT",
    help="The left side of each badge; {name} is the configuration's name. Default: "
    "mlcc-ci, or `mlcc-ci PROFILE` for a profile whose results prove no deployment "
    "(example, static), so that a badge shown elsewhere still says so.",
)
@profile_option
@store_options
def publish(
    output: Path,
    badge_label: str | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Write a static site of every configuration's confidence to DIR: index.html (search,
    filter by level), a page per configuration (its runs, their trend, the generator
    versions and base images it passed with), an SVG badge per configuration, and
    confidence.json (schema/confidence.schema.json). It opens from the file system and
    from any static host (relative links only); a failed publish leaves the old site."""
    from mlcc_ci import clock
    from mlcc_ci.assessing import assess_store, source_of
    from mlcc_ci.publish.site import publish_site

    catalog, profile, store = open_for(profile_name, store_url, table)
    now = clock.now()
    assessed = assess_store(store, catalog, now)
    source = source_of(profile)
    if badge_label is None:
        badge_label = f"mlcc-ci {source.profile}" if source.note else "mlcc-ci"
    written = publish_site(assessed, output, now, badge_label=badge_label, source=source)
    click.echo(written.line())
    for line in _unreadable_lines(assessed):  # published from its history, and marked so
        click.echo(f"warning: {line}", err=True)


COMMANDS = [confidence, publish]
