"""Global secondary indexes that lag the table, as DynamoDB's do.

"All reads from GSIs and streams are eventually consistent", and strongly consistent reads
are "not supported on global secondary indexes" ("DynamoDB read consistency",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html;
"Using Global Secondary Indexes in DynamoDB", https://docs.aws.amazon.com/amazondynamodb/
latest/developerguide/GSI.html: "changes to the table data are propagated to the global
secondary indexes within a fraction of a second, under normal conditions"; a Query with
ConsistentRead true on a GSI is a ValidationException, which moto gives already).

moto's indexes are read-after-write consistent. Here every write to a table (PutItem,
UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) is recorded with the item's
image before it, and a Query or Scan of a global secondary index answers from the table as
it was `lag` seconds ago: moto answers it against a copy of the table, rolled back, in a
region of its own. Lag 0 (the default) answers from the table as it is.
"""

import copy
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Answer = tuple[int, dict[str, str], bytes]
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
SHADOW_REGION = "sa-east-1"  # no test of the twin uses it: where the rolled-back copies live
KEEP_SECONDS = 3600.0  # writes older than this are forgotten: no lag is that long


@dataclass(frozen=True)
class Write:
    at: float  # time.time() when it was acknowledged
    region: str
    table: str
    key: tuple[Any, Any]  # (hash DynamoType, range DynamoType or None)
    before: Any  # the moto Item before the write (a copy), or None: there was none


class IndexLag:
    def __init__(self, account: str) -> None:
        self.account = account
        self.writes: list[Write] = []
        self._lock = threading.RLock()  # writes are recorded in the order moto applied them

    def answer(
        self,
        lag: float,
        action: str,
        region: str,
        params: dict[str, Any],
        environ: dict[str, Any],
        passthrough: Callable[[dict[str, Any]], Answer],
        as_of: float | None = None,
    ) -> Answer:
        """`as_of` (a time.time()), when given: GSI reads answer as the table was then,
        however long ago that is by the time the read is answered; else `lag` seconds ago."""
        if action in WRITES:
            return self._write(action, region, params, environ, passthrough)
        if (
            action in ("Query", "Scan")
            and (lag > 0 or as_of is not None)
            and not params.get("ConsistentRead")  # moto refuses that on a GSI, as AWS does
            and self._is_global_index(region, params)
        ):
            return self._lagging(lag, as_of, region, params, environ, passthrough)
        return passthrough(environ)

    # -- writes ---------------------------------------------------------------------------

    def _backend(self, region: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.account][region]

    def _table(self, region: str, name: str) -> Any:
        return self._backend(region).tables.get(name)

    def _key(self, table: Any, attrs: dict[str, Any]) -> tuple[Any, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        if table.hash_key_attr not in attrs:
            return None
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_attr = table.range_key_attr
        range_key = DynamoType(attrs[range_attr]) if range_attr and range_attr in attrs else None
        return hash_key, range_key

    @staticmethod
    def _targets(action: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(table, key or item attributes) of each item the write touches."""
        if action in ("PutItem", "UpdateItem", "DeleteItem"):
            return [(params.get("TableName", ""), params.get("Key") or params.get("Item") or {})]
        if action == "BatchWriteItem":
            return [
                (
                    table,
                    (request.get("PutRequest") or {}).get("Item")
                    or (request.get("DeleteRequest") or {}).get("Key")
                    or {},
                )
                for table, requests in (params.get("RequestItems") or {}).items()
                for request in requests
            ]
        found = []
        for entry in params.get("TransactItems") or []:
            for kind in ("Put", "Update", "Delete"):
                if kind in entry:
                    body = entry[kind]
                    found.append((body.get("TableName", ""), body.get("Key") or body.get("Item")))
        return found

    def _write(
        self,
        action: str,
        region: str,
        params: dict[str, Any],
        environ: dict[str, Any],
        passthrough: Callable[[dict[str, Any]], Answer],
    ) -> Answer:
        with self._lock:
            before = []
            for name, attrs in self._targets(action, params):
                table = self._table(region, name)
                key = self._key(table, attrs or {}) if table is not None else None
                if key is not None:
                    whole = key[1] is not None or not table.has_range_key
                    item = table.get_item(*key) if whole else None
                    before.append((table.name, key, copy.deepcopy(item)))
            answer = passthrough(environ)
            if answer[0] == 200:
                now = time.time()
                self.writes += [Write(now, region, n, k, item) for n, k, item in before]
                self.writes = [w for w in self.writes if now - w.at < KEEP_SECONDS]
            return answer

    # -- index reads ----------------------------------------------------------------------

    def _is_global_index(self, region: str, params: dict[str, Any]) -> bool:
        name = params.get("IndexName")
        table = self._table(region, params.get("TableName", ""))
        return (
            bool(name)
            and table is not None
            and any(index.name == name for index in table.global_indexes)
        )

    def _lagging(
        self,
        lag: float,
        as_of: float | None,
        region: str,
        params: dict[str, Any],
        environ: dict[str, Any],
        passthrough: Callable[[dict[str, Any]], Answer],
    ) -> Answer:
        with self._lock:
            table = self._table(region, params["TableName"])
            past = copy.deepcopy(table)
            cutoff = as_of if as_of is not None else time.time() - lag
            for write in reversed(self.writes):
                if write.at <= cutoff:
                    break
                if write.region == region and write.table == table.name:
                    _restore(past, write.key, write.before)
            shadow = self._backend(SHADOW_REGION)
            shadow.tables[table.name] = past
            try:
                return passthrough(_in_region(environ, region, SHADOW_REGION))
            finally:
                shadow.tables.pop(table.name, None)


def _restore(table: Any, key: tuple[Any, Any], item: Any) -> None:
    hash_key, range_key = key
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if item is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = item


def _in_region(environ: dict[str, Any], region: str, other: str) -> dict[str, Any]:
    """The same request, signed for `other`: moto takes the region from the signature."""
    moved = dict(environ)
    moved["HTTP_AUTHORIZATION"] = re.sub(
        rf"/{re.escape(region)}/dynamodb/",
        f"/{other}/dynamodb/",
        environ.get("HTTP_AUTHORIZATION", ""),
    )
    return moved
