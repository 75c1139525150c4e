"""Builders shared by the store tests: a SQLite store and a moto DynamoDB store."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlcc_ci.models import Registration
from mlcc_ci.stores.sqlite import SqliteStore


@contextmanager
def dynamo_store(**kwargs) -> Iterator:
    import boto3
    from botocore.config import Config
    from moto import mock_aws

    from mlcc_ci.stores.dynamodb import DynamoStore

    with mock_aws():
        client = boto3.client(
            "dynamodb", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
        )
        store = DynamoStore(
            client, table="mlcc-ci-table", runs_table="mlcc-ci-runs", region="us-east-1", **kwargs
        )
        store.create_tables()
        yield store


@contextmanager
def sqlite_store(path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(path / "results.db")
    store.create_tables()
    try:
        yield store
    finally:
        store.close()


def registration(n: int = 0, config_json: str | None = None, **kw) -> Registration:
    values = dict(
        configId=f"{n:016x}",
        configJson=config_json or f'{{"projectName":"p{n}"}}',
        deploymentConfig=f"cfg-{n}",
        buildStrategy="codebuild-submit",
        projectName=f"p{n}",
        source="catalog",
        baseImage="python:3.12-slim",
    )
    values.update(kw)
    return Registration(**values)


def add_foreign_attribute(store, config_id: str, name: str, value: str) -> None:
    """Another tool writes an attribute of its own onto a stored record."""
    import json

    if hasattr(store, "client"):
        store.client.update_item(
            TableName=store.table,
            Key={"configId": {"S": config_id}},
            UpdateExpression="SET #n = :v",
            ExpressionAttributeNames={"#n": name},
            ExpressionAttributeValues={":v": {"S": value}},
        )
        return
    with store._write() as conn:
        (text,) = conn.execute(
            "SELECT item FROM records WHERE configId = ?", (config_id,)
        ).fetchone()
        item = {**json.loads(text), name: value}
        conn.execute(
            "UPDATE records SET item = ? WHERE configId = ?", (json.dumps(item), config_id)
        )


def stored_item(store, config_id: str) -> dict:
    return dict(next(item for cid, item in store.raw_items() if cid == config_id) or {})


def pass_state_machine(sfn) -> str:
    """A stand-in orchestrator (one Pass state) in moto: the scanner only starts executions."""
    import json

    return sfn.create_state_machine(
        name="mlcc-ci-orchestrator",
        roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]


# Every finished status, written out (never taken from the product's own constants).
FINISHED_STATUSES = (
    "pass",
    "fail-generate",
    "fail-validate",
    "fail-build",
    "fail-deploy_test",
    "fail-register",
    "fail-teardown",
)


def finished_long_ago(store, status: str, n: int, days: float = 3.0):
    """A record (registration(n)) whose last run finished `days` ago with `status`."""
    from datetime import timedelta

    from mlcc_ci import clock
    from mlcc_ci.models import Outcome
    from mlcc_ci.stores.base import claim, finish

    then = clock.now() - timedelta(days=days)
    store.register(registration(n), clock.iso(then - timedelta(hours=1)))
    running = claim(
        store, store.get(registration(n).configId), f"run-{n}", clock.iso(then, ms=True)
    )
    return finish(store, running, Outcome(status, clock.iso(then), 60.0, {}, profile="default"))
