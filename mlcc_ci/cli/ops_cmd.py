"""`mlcc-ci status`, `mlcc-ci trigger` and `mlcc-ci record-failure`."""

import json
from typing import Any

import click

from mlcc_ci.cli.options import json_option, store_options
from mlcc_ci.cli.run_cmd import (
    execute_runs,
    open_for,
    policy_from_options,
    policy_options,
    profile_option,
    select_targets,
)


@click.command()
@json_option
@profile_option
@store_options
def status(
    as_json: bool, profile_name: str | None, store_url: str | None, table: str | None
) -> None:
    """Aggregate counts per deployment: total, running, passing, failing, untested, last
    completed. Records of one deployment written by different tools count once."""
    from mlcc_ci import clock
    from mlcc_ci.constants import NEVER_TESTED, PASS, RUNNING, UNTESTED
    from mlcc_ci.identity import groups

    _, _, store = open_for(profile_name, store_url, table)
    store.unreadable.clear()
    every = list(store.records())
    # a deployment's status is its most recently tested record's
    records = [max(g, key=lambda r: (r.lastTestTimestamp, r.createdAt)) for g in groups(every)]
    finished = [r.lastTestTimestamp for r in records if r.tested and r.lastTestTimestamp]
    counts = {
        "total": len(records),
        "records": len(every),
        "running": sum(r.testStatus == RUNNING for r in records),
        "passing": sum(r.testStatus == PASS for r in records),
        "failing": sum(r.failing for r in records),
        "untested": sum(r.testStatus == UNTESTED and r.supported for r in records),
        "unsupported": sum(not r.supported for r in records),
        "lastCompleted": max((t for t in finished if t != NEVER_TESTED), default=None),
        "store": store.description,
        "unreadable": [{"configId": k, "reason": v} for k, v in store.unreadable.items()],
    }
    if as_json:
        click.echo(json.dumps(counts, indent=2))
        return
    click.echo("CI system status")
    labels = [
        ("Deployments", "total"),
        ("Records", "records"),
        ("Running", "running"),
        ("Passing", "passing"),
        ("Failing", "failing"),
        ("Untested", "untested"),
        ("Unsupported", "unsupported"),
        ("Last completed", "lastCompleted"),
        ("Store", "store"),
    ]
    shown = {**counts, "lastCompleted": clock.display(counts["lastCompleted"])}
    for label, key in labels:
        click.echo(f"  {label + ':':<16} {shown[key] if shown[key] is not None else '-'}")
    for config_id, reason in store.unreadable.items():
        click.echo(f"  Unreadable:      {config_id}: {reason}")


@click.command()
@click.option(
    "--function",
    "function_name",
    default="mlcc-ci-scanner",
    show_default=True,
    help="With a DynamoDB store: the scanner Lambda to invoke.",
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
    function_name: str,
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
        _invoke_scanner(store, function_name)
        return
    records = select_targets(
        catalog, store, policy_from_options(stale_hours, max_concurrency, catalog), due=True
    )
    if execute_runs(catalog, profile, store, records, jobs, None, preclaimed=False):
        raise SystemExit(1)


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
    if record.testStatus != RUNNING or record.runId != run_id:
        click.echo(f"run {run_id} already has its result ({record.testStatus}); nothing to do")
        return
    if fail_run(store, record, clock.now(), message, stage) is None:
        click.echo(f"run {run_id} wrote its result meanwhile; nothing to do")
        return
    click.echo(f"recorded fail-{stage} for {record.deploymentConfig} run {run_id}")


COMMANDS = [status, trigger, record_failure]
