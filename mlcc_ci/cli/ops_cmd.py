"""`mlcc-ci status`, `mlcc-ci trigger` and `mlcc-ci record-failure`."""

import json
from typing import Any

import click

from mlcc_ci.cli.execution import execute_runs
from mlcc_ci.cli.opening import open_for
from mlcc_ci.cli.options import (
    inputs_from_options,
    json_option,
    policy_from_options,
    policy_options,
    profile_option,
    store_options,
)
from mlcc_ci.cli.targeting import select_targets


@click.command()
@click.argument("name", required=False)
@json_option
@profile_option
@store_options
def status(
    name: str | None,
    as_json: bool,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Counts across the catalog: configurations, records, running, passing, failing,
    untested, unsupported, last completed; the same counts as `report`, from the same model.
    With NAME: that configuration and its history, as `report NAME` shows it."""
    from mlcc_ci import clock
    from mlcc_ci.report.cells import quarantine_text
    from mlcc_ci.report.classes import shown_status
    from mlcc_ci.report.data import load_report

    catalog, _, store = open_for(profile_name, store_url, table)
    report = load_report(store, catalog, clock.now())
    if name is not None:
        from mlcc_ci.report.render import view

        click.echo(view(report, catalog, store, name, "json" if as_json else "text"), nl=False)
        return
    counts = status_counts(report, store.description)
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    click.echo("CI system status")
    labels = [
        ("Configurations", "total"),
        ("Records", "records"),
        ("Tested", "tested"),
        ("Running", "running"),
        ("Passing", "passing"),
        ("Failing", "failing"),
        *([("Unproven", "unproven")] if counts["unproven"] else []),
        ("Untested", "untested"),
        ("Unsupported", "unsupported"),
        ("Coverage", "coveragePercent"),
        ("Last completed", "lastCompleted"),
        ("Store", "store"),
    ]
    earlier = counts["earlierIdentityRecords"]
    shown = {
        **counts,
        # as the report's "Earlier identities (N)": records that are no entry's status
        "records": f"{counts['records']} ({earlier} of earlier identities)"
        if earlier
        else counts["records"],
        "lastCompleted": clock.display(counts["lastCompleted"]),
        "coveragePercent": f"{counts['coveragePercent']:.1f}%",
    }
    for label, key in labels:
        click.echo(f"  {label + ':':<16} {shown[key] if shown[key] is not None else '-'}")
    # each of these is counted above (or, removed, nowhere) already: said apart, never twice
    if report.blocked:
        click.echo(
            f"  {'Blocked:':<16} {counts['blocked']} by the infrastructure (counted above: "
            f"{_counted_as(report.blocked)}; a block is never counted as passing)"
        )
    for c in report.blocked:
        since = clock.display(c.blocked.since if c.blocked else None)
        click.echo(f"  - {c.name}: {c.status}, {shown_status(c)} since {since}")
    if report.suspects:
        click.echo(f"  {'Suspect:':<16} {len(report.suspects)} (a rule blocking for rounds)")
    for c in report.suspects:
        click.echo(f"  - {c.suspect.text(c.name) if c.suspect else c.name}")
    if report.quarantined:
        click.echo(
            f"  {'Quarantined:':<16} {counts['quarantined']} (counted above; their failures "
            "are left out of the verdict)"
        )
    for c in report.quarantined:
        click.echo(f"  - {c.name}: {shown_status(c)}, {quarantine_text(c)}")
    if report.removed:
        click.echo(f"  {'Removed:':<16} {counts['removed']} (not in the catalog; counted nowhere)")
    for c in report.removed:
        click.echo(f"  - {c.name}: last {c.status}, {c.recordCount} record(s) kept")
    for config_id, reason in report.unreadable.items():
        click.echo(f"  Unreadable:      {config_id}: {reason}")


def _counted_as(configs: list[Any]) -> str:
    """Where `status` counts these blocked configurations: "1 unproven, 2 untested" (one
    blocked before it ever ran is untested, not "of the tested")."""
    found: dict[str, int] = {}
    for c in configs:
        if c.unproven:
            where = "unproven"
        elif c.failing:
            where = "failing"
        elif c.status in ("untested", "unregistered"):
            where = "untested"
        else:
            where = c.status
        found[where] = found.get(where, 0) + 1
    return ", ".join(f"{n} {where}" for where, n in found.items())


def status_counts(report: Any, store: str) -> dict[str, Any]:
    """The report's own summary (so `status` and `report` cannot disagree), with the number
    of records behind it (and how many of them are earlier identities) and when a run last
    completed."""
    s = report.summary
    tested = [c.lastTest for c in report.configurations if c.lastTest and not c.removed]
    return {
        "total": s.total,
        "records": sum(c.recordCount for c in report.configurations),
        # of them, records of an identity an entry had before its configuration changed
        "earlierIdentityRecords": sum(len(c.earlier) for c in report.configurations),
        "tested": s.tested,
        "running": s.running,
        "passing": s.passing,
        "failing": s.failing,
        "blocked": s.blocked,
        # which they are, each with its block (class, stage, since, next try, rule)
        "blockedConfigurations": [{"name": c.name, **c.blocked.to_item()} for c in report.blocked],
        "unproven": s.unproven,
        "suspects": [c.suspect.to_item(c.name) for c in report.suspects if c.suspect],
        "quarantined": s.quarantined,
        "removed": s.removed,
        "untested": s.untested,
        "unsupported": s.unsupported,
        "coveragePercent": s.coverage_percent,
        "lastCompleted": max(tested, default=None),
        "store": store,
        "unreadable": [{"configId": k, "reason": v} for k, v in report.unreadable.items()],
    }


@click.command()
@click.option(
    "--function",
    "function_name",
    default=None,
    help="With a DynamoDB store: the scanner Lambda to invoke [default: the store's stack's, "
    "<prefix>-scanner from its runs table <prefix>-runs: mlcc-ci-scanner].",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With the embedded store: runs at once.",
)
@policy_options
@profile_option
@store_options
def trigger(
    function_name: str | None,
    jobs: int,
    stale_hours: float,
    max_concurrency: int | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Start due runs now: invoke the scanner (DynamoDB) or run them here (embedded store)."""
    from mlcc_ci.stores.dynamodb import DynamoStore

    catalog, profile, store = open_for(profile_name, store_url, table, create=True)
    if isinstance(store, DynamoStore):
        # the stack that owns the run history: never the generator's own stack's scanner
        # because a store happens to be on its table
        stack = store.runs_table.removesuffix("-runs")
        _invoke_scanner(store, function_name or f"{stack}-scanner")
        return
    records = select_targets(
        catalog,
        store,
        policy_from_options(stale_hours, max_concurrency, catalog),
        due=True,
        inputs=inputs_from_options(catalog, profile),
    )
    code = execute_runs(catalog, profile, store, records, jobs, None, preclaimed=False)
    if code:
        raise SystemExit(code)


def _invoke_scanner(store: Any, function_name: str) -> None:
    import boto3
    from botocore.exceptions import ClientError

    from mlcc_ci.errors import StoreError

    client = boto3.client("lambda", region_name=store.region)
    click.echo(f"Triggering CI scanner Lambda {function_name}")
    try:
        response = client.invoke(FunctionName=function_name, InvocationType="RequestResponse")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise StoreError(
            f"cannot invoke {function_name}: {error.get('Code')}: {error.get('Message')}"
        ) from None
    payload = response["Payload"].read().decode("utf-8", errors="replace")
    if response.get("FunctionError"):
        raise StoreError(f"scanner failed: {payload[:300]}")
    click.echo("Scanner invoked. Response:")
    try:
        click.echo(json.dumps(json.loads(payload), indent=2))
    except json.JSONDecodeError:
        click.echo(payload)


# internal: the executor's buildspec calls it; hidden from `mlcc-ci --help`
@click.command("record-failure", hidden=True)
@click.option("--config-id", required=True, metavar="ID")
@click.option("--run-id", required=True, metavar="ID")
@click.option(
    "--stage",
    default="build",
    show_default=True,
    type=click.Choice(["generate", "validate", "build", "deploy_test", "register", "teardown"]),
)
@click.option("--message", required=True, help="What happened, e.g. the build timed out.")
@store_options
def record_failure(
    config_id: str, run_id: str, stage: str, message: str, store_url: str | None, table: str | None
) -> None:
    """Record that a run died without writing its result (the executor's post_build step).

    Does nothing when the run already wrote its result.
    """
    from mlcc_ci import clock
    from mlcc_ci.constants import RUNNING
    from mlcc_ci.errors import NotFound
    from mlcc_ci.scheduling import fail_run
    from mlcc_ci.stores.open import open_store

    store = open_store(store_url, table=table)
    store.check()
    record = store.get(config_id)
    if record is None:
        raise NotFound(f"no record {config_id} in {store.description}")
    ours = record.runId == run_id or (record.runId or "").startswith(f"{run_id}-r")
    if record.testStatus != RUNNING or not ours:  # a retry's attempt keeps the claimed id
        click.echo(f"run {run_id} already has its result ({record.testStatus}); nothing to do")
        return
    if fail_run(store, record, clock.now(), message, stage) is None:
        click.echo(f"run {run_id} wrote its result meanwhile; nothing to do")
        return
    click.echo(f"recorded fail-{stage} for {record.deploymentConfig} run {run_id}")


COMMANDS = [status, trigger, record_failure]
