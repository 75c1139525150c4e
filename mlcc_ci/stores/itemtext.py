"""A record's item as the SQLite store writes it: JSON, keys sorted, but for the runs it
carries, which come last, so that a report takes them apart from the rest without parsing
them (split_runs)."""

import json
from collections.abc import Mapping
from typing import Any

_CARRIED = ', "recentRuns": '


def item_text(item: Mapping[str, Any]) -> str:
    """A record's item as the store keeps it: JSON, keys sorted, `recentRuns` last."""
    rest = json.dumps({k: v for k, v in item.items() if k != "recentRuns"}, sort_keys=True)
    if "recentRuns" not in item or rest == "{}":
        return json.dumps(dict(item), sort_keys=True)
    return f"{rest[:-1]}{_CARRIED}{json.dumps(item['recentRuns'], sort_keys=True)}}}"


def split_runs(text: str) -> tuple[Any, str] | None:
    """A stored item without the runs it carries (parsed), and their JSON text (not
    parsed); None when `text` does not end with them as item_text writes them (an older
    write, another tool's, a hand edit: the caller parses it whole). The rest parses as
    JSON only if the runs' key is the item's own, never one inside a value or a string."""
    at = text.find(_CARRIED)  # near the start: the runs are most of the text
    if at < 0 or not text.endswith("]}") or not text.startswith("[", at + len(_CARRIED)):
        return None
    try:
        rest = json.loads(text[:at] + "}")
    except ValueError:
        return None
    if not isinstance(rest, dict) or "recentRuns" in rest:
        return None
    return rest, text[at + len(_CARRIED) : -1]
