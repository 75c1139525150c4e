"""Which hand-made resources under the CI prefix the owners were already told of.

A sweep leaves alone what no run made (a person's own endpoint under the prefix) and says
so; without memory it would say so every sweep, four times an hour. Each resource told of
gets an item in the slots table (`slot = "told#<name>"`, expiring after TOLD_DAYS, so one
still standing then is told of again), written once the message is published."""

from datetime import datetime, timedelta
from typing import Any

from mlcc_ci.constants import ATTR_EXPIRES_AT

TOLD_DAYS = 30
KEY = "slot"


def key(resource: str) -> str:
    return f"told#{resource}"


class Told:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def already(self, resource: str) -> bool:
        item = self.dynamodb.get_item(
            TableName=self.table, Key={KEY: {"S": key(resource)}}, ConsistentRead=True
        ).get("Item")
        return item is not None

    def remember(self, resource: str, now: datetime, days: int = TOLD_DAYS) -> None:
        expires = int((now + timedelta(days=days)).timestamp())
        self.dynamodb.put_item(
            TableName=self.table,
            Item={KEY: {"S": key(resource)}, ATTR_EXPIRES_AT: {"N": str(expires)}},
        )
