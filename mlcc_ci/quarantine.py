"""A catalog entry's `quarantine:` (a reason and a last day). Pure.

A quarantined entry keeps running and its results are kept, but until its date (inclusive,
in UTC) its failures stay out of the verdict (`run`'s exit status, `report
--fail-on-regression`, the pull request's check) and out of the regression flags; every
output shows it as quarantined, with its reason and date. The day after, it counts again,
and `catalog validate` warns that the quarantine expired.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlcc_ci.catalog import Entry


@dataclass(frozen=True)
class Quarantine:
    reason: str
    until: str  # YYYY-MM-DD: the last day it holds

    def holds(self, now: datetime) -> bool:
        """Still in force at `now`: until the end of its day, in UTC."""
        try:
            last = date.fromisoformat(self.until)
        except ValueError:  # the catalog refuses such a date; never quarantined by one
            return False
        return now.astimezone(UTC).date() <= last

    @property
    def text(self) -> str:
        """`quarantined until 2026-12-31: vLLM 0.10 breaks the small Qwen models`."""
        return f"quarantined until {self.until}: {self.reason}"

    def to_item(self) -> dict[str, str]:
        return {"reason": self.reason, "until": self.until}


def declared(entry: "Entry | None") -> Quarantine | None:
    """The entry's quarantine as written, in force or not."""
    found = entry.data.get("quarantine") if entry is not None else None
    if not isinstance(found, dict):
        return None
    return Quarantine(str(found.get("reason", "")), str(found.get("until", "")))


def in_force(entry: "Entry | None", now: datetime) -> Quarantine | None:
    """The entry's quarantine, where it still holds at `now`."""
    found = declared(entry)
    return found if found is not None and found.holds(now) else None


def by_name(entries: Iterable["Entry"], now: datetime) -> dict[str, Quarantine]:
    """Entry name -> its quarantine, of each entry in quarantine at `now`: a record names
    its entry (catalog and project registrations alike)."""
    found = {}
    for entry in entries:
        q = in_force(entry, now)
        if q is not None:
            found[entry.name] = q
    return found


def expired(entries: Iterable["Entry"], now: datetime) -> list[str]:
    """A warning for each quarantine whose last day has passed, at its file and line:
    `team/qwen.yaml:12: qwen $.quarantine.until: warning: the quarantine expired on
    2026-01-31: ...`."""
    from mlcc_ci.catalog import display, line_of

    warnings = []
    for entry in entries:
        q = declared(entry)
        if q is None or q.holds(now):
            continue
        line = line_of(entry.lines, ("quarantine", "until"))
        warnings.append(
            f"{display(entry.path)}:{line}: {entry.name} $.quarantine.until: warning: the "
            f"quarantine expired on {q.until}: its failures count again (fix the entry, then "
            "remove the quarantine, or give it a later date)"
        )
    return warnings
