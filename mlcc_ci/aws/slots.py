"""Hard cost limits for the scanner: concurrency slots and the day's spend, held by
conditional writes in one small DynamoDB table (SLOTS_TABLE_NAME; key `slot`, TTL
`expiresAt`). Low-level boto3 client only.

A slot item `slot-<i>` (i < MaxConcurrency) holds the run that took it: `configId`,
`runId`, the record's `version` when it was read (before the claim), `takenAt`, and
`expiresAt`, when the longest a run may rightly take has passed (a slot whose run died is
free again then). A slot is taken by a PutItem that succeeds only if no one holds it or its
holder expired, so however many scans run at once (EventBridge's duplicate deliveries, a
manual trigger during a scheduled scan), no more than MaxConcurrency runs hold one.

A slot is freed early when its run is over, read from the records table with a strongly
consistent GetItem: the record is not running, or runs another run (a run id that does not
begin with the slot's; a retry's begins with it). A slot taken by a scan that has not
claimed its record yet (the record's version is still the one the scan read) is left alone
for PENDING_SECONDS: freeing it would let a second scan take the slot before the first
claims.

The day's spend is an item `spend-YYYY-MM-DD` (UTC), `ADD dollars` conditioned on staying
within the cap.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from mlcc_ci.constants import RUNNING

PENDING_SECONDS = 900  # a scan claims within its Lambda's timeout (5 minutes), well within this
SPEND_DAYS = 2  # a day's spend item expires this long after its day


def _conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


@dataclass(frozen=True)
class Held:
    slot: str
    configId: str
    runId: str
    version: int
    takenAt: int
    expiresAt: int


class Slots:
    """MaxConcurrency slots in `table`; `records_table` tells whose run is over."""

    def __init__(
        self,
        client: Any,
        *,
        table: str,
        records_table: str,
        size: int,
        hold: timedelta,
        now: datetime,
    ) -> None:
        self.client = client
        self.table = table
        self.records_table = records_table
        self.size = max(size, 0)
        self.hold = hold
        self.now = now
        # what this scan knows: slots it took, and slots it saw held by runs not over;
        # taking tries the rest first (each refused try costs a conditional write)
        self.taken: set[str] = set()
        self.busy: set[str] = set()

    def names(self) -> list[str]:
        return [f"slot-{i}" for i in range(self.size)]

    def held(self) -> Iterator[Held]:
        """Every slot someone holds, expired or not (strongly consistent reads)."""
        for name in self.names():
            item = self.client.get_item(
                TableName=self.table, Key={"slot": {"S": name}}, ConsistentRead=True
            ).get("Item")
            if item and "runId" in item:
                yield Held(
                    slot=name,
                    configId=item.get("configId", {}).get("S", ""),
                    runId=item["runId"]["S"],
                    version=int(item.get("version", {}).get("N", "0")),
                    takenAt=int(item.get("takenAt", {}).get("N", "0")),
                    expiresAt=int(item.get("expiresAt", {}).get("N", "0")),
                )

    def over(self, held: Held) -> bool:
        """Whether `held`'s run is over, by its record read with a consistent read."""
        if held.expiresAt < _epoch(self.now):
            return True
        item = self.client.get_item(
            TableName=self.records_table,
            Key={"configId": {"S": held.configId}},
            ConsistentRead=True,
            ProjectionExpression="#s, #r, #v",
            ExpressionAttributeNames={"#s": "testStatus", "#r": "runId", "#v": "version"},
        ).get("Item")
        if item is None:
            return True
        status = item.get("testStatus", {}).get("S", "")
        run_id = item.get("runId", {}).get("S", "")
        if status == RUNNING:
            return not run_id.startswith(held.runId)
        version = int(item.get("version", {}).get("N", "0"))
        pending = version == held.version  # not claimed yet, by the scan that took the slot
        return not pending or held.takenAt + PENDING_SECONDS < _epoch(self.now)

    def free_finished(self) -> list[Held]:
        """Free every slot whose run is over; those freed."""
        freed = []
        for held in self.held():
            if self.over(held) and self.give_back(held.slot, held.runId):
                freed.append(held)
            else:
                self.busy.add(held.slot)
        return freed

    def take(self, config_id: str, run_id: str, version: int) -> str | None:
        """A free (or expired) slot, now held by `run_id`; None when all are held."""
        now = _epoch(self.now)
        candidates = [n for n in self.names() if n not in self.taken]
        # the ones last seen free first; a busy one may have expired or been freed since
        for name in sorted(candidates, key=lambda n: n in self.busy):
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item={
                        "slot": {"S": name},
                        "configId": {"S": config_id},
                        "runId": {"S": run_id},
                        "version": {"N": str(version)},
                        "takenAt": {"N": str(now)},
                        "expiresAt": {"N": str(_epoch(self.now + self.hold))},
                    },
                    ConditionExpression="attribute_not_exists(slot) OR expiresAt < :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
            except ClientError as exc:
                if _conflict(exc):
                    self.busy.add(name)
                    continue
                raise
            self.taken.add(name)
            return name
        return None

    def give_back(self, slot: str, run_id: str) -> bool:
        """Free `slot` if `run_id` still holds it; whether it did."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key={"slot": {"S": slot}},
                ConditionExpression="runId = :run",
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
        except ClientError as exc:
            if _conflict(exc):
                return False
            raise
        self.taken.discard(slot)
        self.busy.discard(slot)
        return True


class Spend:
    """The day's spend (UTC day of `now`) against `cap` dollars, in `table`."""

    def __init__(self, client: Any, *, table: str, cap: float, now: datetime) -> None:
        self.client = client
        self.table = table
        self.cap = cap
        self.day = now.strftime("%Y-%m-%d")
        self.key = {"slot": {"S": f"spend-{self.day}"}}
        midnight = datetime(now.year, now.month, now.day, tzinfo=now.tzinfo)
        self.expires = _epoch(midnight + timedelta(days=1 + SPEND_DAYS))

    def spent(self) -> float:
        item = self.client.get_item(TableName=self.table, Key=self.key, ConsistentRead=True).get(
            "Item"
        )
        return float(item["dollars"]["N"]) if item and "dollars" in item else 0.0

    def charge(self, cost: float) -> bool:
        """Add `cost` to the day's spend if it stays within the cap; whether it did."""
        if cost > self.cap:
            return False
        try:
            self._add(cost, "attribute_not_exists(dollars) OR dollars <= :room", self.cap - cost)
        except ClientError as exc:
            if _conflict(exc):
                return False
            raise
        return True

    def refund(self, cost: float) -> None:
        """Take back what `charge` added for a run that did not start."""
        if cost:
            self._add(-cost, None, None)

    def _add(self, cost: float, condition: str | None, room: float | None) -> None:
        values = {":cost": {"N": _number(cost)}, ":expires": {"N": str(self.expires)}}
        if room is not None:
            values[":room"] = {"N": _number(room)}
        self.client.update_item(
            TableName=self.table,
            Key=self.key,
            UpdateExpression="ADD dollars :cost SET expiresAt = :expires",
            **({"ConditionExpression": condition} if condition else {}),
            ExpressionAttributeValues=values,
        )


def _number(value: float) -> str:
    return f"{round(value, 6):.6f}"
