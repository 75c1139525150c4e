"""What a store writes is checked against schema/ci-record.schema.json first."""

from typing import Any

from mlcc_ci import schema
from mlcc_ci.errors import StoreError


def check_record(item: dict[str, Any]) -> dict[str, Any]:
    found = schema.problems(item, schema.RECORD_SCHEMA)
    if found:
        first = found[0]
        raise StoreError(
            f"refusing to write record {item.get('configId', '?')}: "
            f"{schema.json_path(first.path)}: {first.message}"
        )
    return item
