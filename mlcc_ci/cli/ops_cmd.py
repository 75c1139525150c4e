"""`mlcc-ci status`."""

import json

import click

from mlcc_ci.cli.options import json_option, store_options
from mlcc_ci.cli.run_cmd import open_for, profile_option


@click.command()
@json_option
@profile_option
@store_options
def status(
    as_json: bool, profile_name: str | None, store_url: str | None, table: str | None
) -> None:
    """Aggregate counts: total, running, passing, failing, untested, last completed."""
    from mlcc_ci.constants import NEVER_TESTED, PASS, RUNNING, UNTESTED

    _, _, store = open_for(profile_name, store_url, table)
    records = list(store.records())
    finished = [r.lastTestTimestamp for r in records if r.tested and r.lastTestTimestamp]
    counts = {
        "total": len(records),
        "running": sum(r.testStatus == RUNNING for r in records),
        "passing": sum(r.testStatus == PASS for r in records),
        "failing": sum(r.failing for r in records),
        "untested": sum(r.testStatus == UNTESTED and r.supported for r in records),
        "unsupported": sum(not r.supported for r in records),
        "lastCompleted": max((t for t in finished if t != NEVER_TESTED), default=None),
        "store": store.description,
    }
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    click.echo("CI system status")
    labels = [
        ("Total records", "total"),
        ("Running", "running"),
        ("Passing", "passing"),
        ("Failing", "failing"),
        ("Untested", "untested"),
        ("Unsupported", "unsupported"),
        ("Last completed", "lastCompleted"),
        ("Store", "store"),
    ]
    for label, key in labels:
        click.echo(f"  {label + ':':<16} {counts[key] if counts[key] is not None else '-'}")


COMMANDS = [status]
