"""What `plan` shows, as text lines or a JSON document: what is due (with its expected
cost), orphaned, skipped, unreadable and not registered; what the daily budget kept and left
out; when idle, what falls due next, or why the filters left nothing."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlcc_ci import clock
from mlcc_ci.catalog import Catalog
from mlcc_ci.cost import Total, money, total
from mlcc_ci.models import Cost, Record
from mlcc_ci.profiles import Profile
from mlcc_ci.quarantine import Quarantine
from mlcc_ci.selection import Decision, Plan, Upcoming


def due_cost(record: Record, catalog: Catalog, profile: Profile) -> tuple[Cost, str]:
    """What the next run of `record` should cost, and how that was reached."""
    from mlcc_ci.cost import expected
    from mlcc_ci.matrix import entry_for

    stages = entry_for(record, catalog).data.get("stages", {})
    timeouts = {k: v.get("timeoutSeconds", 0) for k, v in stages.items()}
    return expected(record, profile.prices, profile.name, timeouts)


def next_due_line(following: Upcoming | None, now: datetime) -> str:
    """`Nothing is due. Next: NAME (pass) at WHEN, in 3.2h.`"""
    if following is None:
        return "Nothing is due, and no finished result will go stale."
    hours = (following.at - now).total_seconds() / 3600
    wait = f"in {hours:.1f}h" if hours < 48 else f"in {hours / 24:.1f}d"
    record = following.record
    when = clock.display(clock.iso(following.at))
    if following.blocked and record.blocked is not None:
        return (
            f"Nothing is due. Next: {record.deploymentConfig} (blocked ({record.blocked.cls})) "
            f"at {when}, {wait}, when it may be tried again."
        )
    return (
        f"Nothing is due. Next: {record.deploymentConfig} ({record.testStatus}) at "
        f"{when}, {wait}, when its result goes stale."
    )


def decision_json(
    d: Decision, quarantines: Mapping[str, Quarantine] | None = None
) -> dict[str, Any]:
    q = (quarantines or {}).get(d.record.deploymentConfig)
    return {
        "name": d.record.deploymentConfig,
        "configId": d.record.configId,
        "reason": d.reason,
        "detail": d.detail,
        "status": d.record.testStatus,
        "quarantine": q.to_item() if q is not None else None,
    }


@dataclass
class PlanView:
    now: datetime
    result: Plan
    costs: Mapping[str, tuple[Cost, str]]  # configId of each due record -> cost, how reached
    profile: Profile
    following: Upcoming | None  # when idle: what falls due next
    idle: bool
    unreadable: Mapping[str, str]
    quarantines: Mapping[str, Quarantine] = field(default_factory=dict)  # entry name -> its own
    empty: str | None = None  # why the filters left nothing (targets.nothing_left)

    @property
    def due_total(self) -> Total:
        return total(cost for cost, _ in self.costs.values())

    @property
    def bounded(self) -> int:
        return sum(how == "at most" for _, how in self.costs.values())

    def doc(self) -> dict[str, Any]:
        following, due_total = self.following, self.due_total
        return {
            "now": clock.iso(self.now),
            "due": [
                {
                    **decision_json(d, self.quarantines),
                    "estimatedCost": self.costs[d.record.configId][0].to_item(),
                    "costFrom": self.costs[d.record.configId][1],
                }
                for d in self.result.due
            ],
            "estimatedCost": {
                "usd": due_total.usd if due_total.counted else None,
                "unknown": due_total.unknown,
                "atMost": self.bounded,
                "priceTable": self.profile.prices.label,
            },
            "nextDue": None
            if following is None
            else {
                "name": following.record.deploymentConfig,
                "configId": following.record.configId,
                "status": following.record.testStatus,
                "at": clock.iso(following.at),
                # due then because its block's retry time comes: what blocks it
                "blocked": following.record.blocked.cls
                if following.blocked and following.record.blocked
                else None,
            },
            "reap": [decision_json(d, self.quarantines) for d in self.result.reap],
            "skipped": [decision_json(d, self.quarantines) for d in self.result.skipped],
            "unreadable": [{"configId": k, "reason": v} for k, v in self.unreadable.items()],
            "unregistered": self.result.unregistered,
            "empty": self.empty,
            "budget": None if self.result.budget is None else self.result.budget.to_json(),
        }

    def lines(self) -> list[str]:
        out = []
        result = self.result
        shown = [d.record.deploymentConfig for d in (*result.due, *result.reap, *result.skipped)]
        width = max([28, *(len(n) + 1 for n in (*shown, *result.unregistered))])
        for title, items in (
            ("Due", result.due),
            ("Orphaned (will be reaped)", result.reap),
            ("Skipped", result.skipped),
        ):
            out.append(f"{title} ({len(items)}):")
            for d in items:
                line = f"  {d.record.deploymentConfig:<{width}} {d.reason:<16} {d.detail}"
                if d.record.configId in self.costs:
                    cost, how = self.costs[d.record.configId]
                    line += f"  ~{'≤' if how == 'at most' else ''}{money(cost.usd)}"
                if (q := self.quarantines.get(d.record.deploymentConfig)) is not None:
                    line += f"  [{q.text}]"
                out.append(line)
            if title == "Due" and result.budget is not None:
                out.append(f"  {result.budget.text}")
            if title == "Due" and items:
                bounded = self.bounded
                note = f", {bounded} never run: at most, by stage timeouts" if bounded else ""
                out.append(
                    f"  Estimated cost of what is due: {self.due_total.text} "
                    f"({self.profile.prices.label}{note})"
                )
            elif title == "Due" and self.empty:
                out.append(f"  {self.empty}")
            elif title == "Due" and self.idle:
                out.append(f"  {next_due_line(self.following, self.now)}")
        if self.unreadable:
            out.append(f"Unreadable ({len(self.unreadable)}):")
            for config_id, reason in self.unreadable.items():
                out.append(f"  {config_id:<28} {reason}")
        if result.unregistered:  # a stack's table runs only what is registered there
            out.append(f"Not registered ({len(result.unregistered)}):")
            for name in result.unregistered:
                out.append(f"  {name:<{width}} in the catalog, no record under its configId")
            out.append(
                "  A new entry, or one whose model, instance type, region or target changed (a "
                "new configId): `mlcc-ci register --from-catalog NAME` (or `run NAME`) adds it"
            )
        return out
