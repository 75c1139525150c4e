"""DynamoDB store: the records table with its status GSI, and the runs-history table.

All storage-to-object mapping and all boto3 errors stop here: callers see records and
domain errors. Throttling is retried a bounded number of times with backoff.
"""

import random
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from mlcc_ci import clock, decode
from mlcc_ci.constants import (
    HISTORY_DAYS,
    NEVER_TESTED,
    SCHEMA_VERSION,
    STATUS_INDEX,
    UNTESTED,
)
from mlcc_ci.errors import ConflictError, NotProvisioned, StoreError
from mlcc_ci.models import Record, Registration, Run
from mlcc_ci.stores.base import OWNED, RegisterOutcome
from mlcc_ci.stores.validate import check_record
from mlcc_ci.urltext import hide_passwords

RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


def not_provisioned(table: str, region: str) -> NotProvisioned:
    return NotProvisioned(
        f"CI infrastructure not provisioned: table {table} not found in {region}. "
        "Deploy the stack (cd cdk && npx cdk deploy, see README 'Deploy to AWS'), "
        "or for a local endpoint run: mlcc-ci store create-tables --store URL"
    )


class DynamoStore:
    def __init__(
        self,
        client: Any,
        *,
        table: str,
        runs_table: str,
        region: str,
        attempts: int = 6,
        backoff: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self.client = client
        self.table = table
        self.runs_table = runs_table
        self.region = region
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.requests = 0
        self.page_size: int | None = None
        self.description = f"dynamodb://{table}?region={region}"
        self.unreadable: dict[str, str] = {}
        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    # -- plumbing -----------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import (
            ClientError,
            HTTPClientError,
            InvalidProxiesConfigError,
            NoCredentialsError,
            PartialCredentialsError,
        )
        from botocore.exceptions import ConnectionError as NoConnection

        table = kwargs.get("TableName", self.table)
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            try:
                response: dict[str, Any] = getattr(self.client, operation)(**kwargs)
                _from_dynamodb(response, operation, self.client)
                return response
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ResourceNotFoundException":
                    raise not_provisioned(table, self.region) from None
                if code == "ConditionalCheckFailedException":
                    raise ConflictError(f"conditional write to {table} lost") from None
                if code in RETRYABLE and attempt < self.attempts:
                    self.sleep(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
                    continue
                if code in RETRYABLE:
                    raise StoreError(
                        f"DynamoDB kept throttling {operation} on {table} "
                        f"({code}, {self.attempts} attempts); try again later"
                    ) from None
                message = exc.response.get("Error", {}).get("Message", "")
                raise StoreError(
                    f"DynamoDB {operation} on {table} failed: {code}: {message}"
                ) from None
            except (NoCredentialsError, PartialCredentialsError):
                raise StoreError(
                    "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, or run 'aws configure'"
                ) from None
            except (NoConnection, HTTPClientError, InvalidProxiesConfigError) as exc:
                # the connection's errors only (endpoint, proxy, TLS, timeouts; a bad
                # parameter still raises): the endpoint and proxy without their passwords
                at = getattr(getattr(self.client, "meta", None), "endpoint_url", None)
                raise StoreError(
                    hide_passwords(f"cannot reach DynamoDB{f' at {at}' if at else ''}: {exc}")
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _item(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(_decimals(v)) for k, v in values.items()}

    def _plain(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: self._de.deserialize(v) for k, v in item.items()}

    def _pages(self, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        if self.page_size and "Limit" not in kwargs:
            kwargs["Limit"] = self.page_size
        while True:
            page = self._call(operation, **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- the interface ------------------------------------------------------------------

    def check(self) -> None:
        for table in (self.table, self.runs_table):
            self._call("describe_table", TableName=table)

    def create_tables(self) -> None:
        s = {"AttributeType": "S"}
        self._call(
            "create_table",
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "configId", **s},
                {"AttributeName": "testStatus", **s},
                {"AttributeName": "lastTestTimestamp", **s},
            ],
            KeySchema=[{"AttributeName": "configId", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": STATUS_INDEX,
                    "KeySchema": [
                        {"AttributeName": "testStatus", "KeyType": "HASH"},
                        {"AttributeName": "lastTestTimestamp", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        self._call(
            "create_table",
            TableName=self.runs_table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "configId", **s},
                {"AttributeName": "startedAt", **s},
            ],
            KeySchema=[
                {"AttributeName": "configId", "KeyType": "HASH"},
                {"AttributeName": "startedAt", "KeyType": "RANGE"},
            ],
        )
        for table in (self.table, self.runs_table):
            self.client.get_waiter("table_exists").wait(
                TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
        self._call(
            "update_time_to_live",
            TableName=self.runs_table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"},
        )

    def _decode(self, item: dict[str, Any]) -> Record | None:
        """The record, or None (and a note in `unreadable`) for an item no one can read."""
        try:
            return decode.record(self._plain(item))
        except decode.Unreadable as exc:
            self.unreadable[exc.config_id] = exc.reason
            return None
        except (TypeError, ValueError):  # not even DynamoDB's types
            key = item.get("configId", {}).get("S", "?") if isinstance(item, dict) else "?"
            self.unreadable[decode.shown_id(key)] = "not a DynamoDB item"
            return None

    def register(self, reg: Registration, now: str, *, retest: bool = False) -> RegisterOutcome:
        fresh = Record.registered(reg, now)
        check_record(fresh.to_item())
        values: dict[str, Any] = {
            "configJson": reg.configJson,
            "deploymentConfig": reg.deploymentConfig,
            "buildStrategy": reg.buildStrategy,
            "projectName": reg.projectName,
            "source": reg.source,
            "supportState": reg.supportState,
            "schemaVersion": SCHEMA_VERSION,
        }
        optional = {
            "supportReason": fresh.supportReason,
            "baseImage": fresh.baseImage,
            "baseImageVersion": fresh.baseImageVersion,
        }
        values.update({k: v for k, v in optional.items() if v})
        remove = ["runId", "runStartedAt", *(k for k, v in optional.items() if not v)]
        names = {
            f"#{k}": k
            for k in [
                *values,
                *remove,
                "configId",
                "createdAt",
                "testStatus",
                "previousStatus",
                "lastTestTimestamp",
                "version",
            ]
        }
        sets = [f"#{k} = :{k}" for k in values] + [
            "#createdAt = if_not_exists(#createdAt, :now)",
            "#previousStatus = if_not_exists(#testStatus, :untested)",
            "#testStatus = :untested",
            "#lastTestTimestamp = if_not_exists(#lastTestTimestamp, :epoch)",
            "#version = if_not_exists(#version, :zero) + :one",
        ]
        attr = {f":{k}": v for k, v in values.items()}
        attr.update(
            {":now": now, ":untested": UNTESTED, ":epoch": NEVER_TESTED, ":zero": 0, ":one": 1}
        )
        condition = (
            None
            if retest
            else "attribute_not_exists(#configId) OR attribute_not_exists(#supportState) OR "
            "#configJson <> :configJson OR #supportState <> :supportState"
        )
        if condition is None:
            del names["#configId"]
        try:
            response = self._call(
                "update_item",
                TableName=self.table,
                Key=self._item({"configId": reg.configId}),
                UpdateExpression="SET "
                + ", ".join(sets)
                + " REMOVE "
                + ", ".join(f"#{k}" for k in remove),
                **({"ConditionExpression": condition} if condition else {}),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=self._item(attr),
                ReturnValues="ALL_OLD",
            )
        except ConflictError:
            return "unchanged"
        return "changed" if response.get("Attributes") else "created"

    def get(self, config_id: str) -> Record | None:
        response = self._call(
            "get_item",
            TableName=self.table,
            Key=self._item({"configId": config_id}),
            ConsistentRead=True,
        )
        return self._decode(response["Item"]) if "Item" in response else None

    def records(self) -> Iterator[Record]:
        for item in self._pages("scan", TableName=self.table):
            if (record := self._decode(item)) is not None:
                yield record

    def raw_items(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        for item in self._pages("scan", TableName=self.table):
            key = item.get("configId", {}).get("S", "?")
            try:
                yield key, decode.plain(self._plain(item))
            except (TypeError, ValueError):
                yield key, None

    def by_status(self, status: str, before: str | None = None) -> Iterator[Record]:
        condition = "#s = :s" + (" AND #t < :before" if before else "")
        values: dict[str, Any] = {":s": status}
        names = {"#s": "testStatus"}
        if before:
            values[":before"] = before
            names["#t"] = "lastTestTimestamp"
        for item in self._pages(
            "query",
            TableName=self.table,
            IndexName=STATUS_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=self._item(values),
        ):
            if (record := self._decode(item)) is not None:
                yield record

    def replace(self, record: Record, *, expect_version: int, expect_run_id: str | None) -> None:
        """An UpdateItem of the attributes mlcc-ci owns: what other tools wrote stays."""
        item = check_record(record.to_item())
        item.pop("configId")
        owned = sorted(OWNED - {"configId"})
        names = {f"#a{i}": k for i, k in enumerate(owned)}
        alias = {k: f"#a{i}" for i, k in enumerate(owned)}
        values: dict[str, Any] = {f":a{i}": item[k] for i, k in enumerate(owned) if k in item}
        sets = [f"{alias[k]} = :a{i}" for i, k in enumerate(owned) if k in item]
        removes = [alias[k] for k in owned if k not in item]
        names["#configId"] = "configId"
        if expect_version == 0:  # written by another tool, never by mlcc-ci
            condition = f"attribute_exists(#configId) AND attribute_not_exists({alias['version']})"
        else:
            condition = f"attribute_exists(#configId) AND {alias['version']} = :expect"
            values[":expect"] = expect_version
        if expect_run_id:
            condition += f" AND {alias['runId']} = :run"
            values[":run"] = expect_run_id
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key=self._item({"configId": record.configId}),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=self._item(values),
            )
        except ConflictError:
            raise ConflictError(
                f"record {record.configId} changed since it was read "
                f"(expected version {expect_version}"
                + (f", run {expect_run_id})" if expect_run_id else ")")
            ) from None

    def append_run(self, run: Run) -> None:
        expires = clock.parse(run.finishedAt) + timedelta(days=HISTORY_DAYS)
        item = {**run.to_item(), "expiresAt": int(expires.timestamp())}
        self._call("put_item", TableName=self.runs_table, Item=self._item(item))

    def forget_run(self, config_id: str, started_at: str) -> None:
        key = {"configId": config_id, "startedAt": started_at}
        self._call("delete_item", TableName=self.runs_table, Key=self._item(key))

    def history(self, config_id: str, limit: int | None = None) -> list[Run]:
        kwargs: dict[str, Any] = {
            "TableName": self.runs_table,
            "KeyConditionExpression": "configId = :c",
            "ExpressionAttributeValues": self._item({":c": config_id}),
            "ScanIndexForward": False,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        runs: list[Run] = []
        for item in self._pages("query", **kwargs):
            try:
                runs.append(decode.run(self._plain(item)))
            except decode.Unreadable:
                continue  # a history item no one can read tells nothing
            if limit is not None and len(runs) >= limit:
                break
        return runs

    def change_token(self) -> object:
        return None  # no cheap way to know: a reader refreshes on a timer

    def histories(self, config_ids: Sequence[str], limit: int) -> dict[str, list[Run]]:
        """DynamoDB has no query across partitions: one Query (of `limit` items) per
        configuration. Reports ask only for records that carry no recentRuns of their own:
        ones another tool wrote, or written before records kept them."""
        return {c: self.history(c, limit=limit) for c in config_ids}

    def delete(self, config_id: str) -> None:
        self._call("delete_item", TableName=self.table, Key=self._item({"configId": config_id}))


def _from_dynamodb(response: dict[str, Any], operation: str, client: Any) -> None:
    """An endpoint that answers 200 with a web page is not DynamoDB: botocore would read its
    silence as success, and a result would be reported stored that went nowhere."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    if "x-amzn-requestid" in headers or headers.get("content-type", "").startswith(
        "application/x-amz-json"
    ):
        return
    endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "the endpoint")
    kind = headers.get("content-type", "no content type")
    raise StoreError(
        f"{endpoint} answered {operation} with {kind}, not DynamoDB's reply: "
        "is the endpoint URL right?"
    )


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
