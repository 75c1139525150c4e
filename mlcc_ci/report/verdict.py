"""The one line a pull request's reviewer reads first: what newly fails, how many pass, and
what the profile proves. Pure."""

from collections.abc import Callable, Mapping
from typing import Any

from mlcc_ci.report.model import Report

NAMES_SHOWN = 5  # newly failing names the verdict spells out; the rest are counted


def scope(name: str, spec: Mapping[str, Any] | None) -> str:
    """What a run under profile `name` proves, from its catalog entry: `static profile:
    generation and validation only` out of its skipReason `the static profile proves
    generation and validation only`; a profile that skips nothing is named only."""
    reason = " ".join(str((spec or {}).get("skipReason") or "").split())
    if not reason:
        return f"{name} profile"
    said = f"the {name} profile proves "
    if reason.lower().startswith(said.lower()):
        reason = reason[len(said) :]
    return f"{name} profile: {reason}"


def scopes_of(profiles: Mapping[str, Any]) -> dict[str, str]:
    """Profile name -> what it proves, for every profile of the catalog."""
    return {
        str(n): scope(str(n), s if isinstance(s, Mapping) else None) for n, s in profiles.items()
    }


def newly_failing(report: Report) -> list[str]:
    """Failing now and not before: against the baseline when one was given (a configuration
    the baseline lacks counts too), else against the store's history (the regressions). A
    quarantined configuration is never one: its failures are out of the verdict."""
    failing = report.counted_failures
    if report.changes:
        new = set(report.changes.newly_failing) | set(report.changes.new)
        return [c.name for c in failing if c.name in new]
    return [c.name for c in failing if c.regression]


def _names(names: list[str], cell: Callable[[str], str]) -> str:
    shown = ", ".join(cell(n) for n in names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _configurations(n: int) -> str:
    return f"{n} configuration{'' if n == 1 else 's'}"


def _blocked(report: Report, cell: Callable[[str], str]) -> str:
    named = [f"{c.name}: {c.blocked.cls}" for c in report.blocked if c.blocked is not None]
    return f"{len(named)} blocked by the infrastructure, nothing proven ({_names(named, cell)})"


def verdict(report: Report, cell: Callable[[str], str] = str) -> str:
    """`❌ 1 configuration newly failing (http-flask) · 13/16 passing · static profile:
    generation and validation only`. `cell` escapes what came from the catalog or a store.
    What mlcc-ci broke on is said apart and never blamed on the change. What the
    infrastructure blocked is never counted as passing, nor called ✅: a block proves
    nothing (`⚠️ 1 blocked by the infrastructure, nothing proven (triton-fil: capacity) ·
    14/15 passing`), and a rule that has blocked a configuration more than suspect-rounds
    rounds is named as suspect."""
    supported = [
        c for c in report.configurations if c.supportState == "supported" and not c.removed
    ]
    passing = sum(c.passing for c in supported)
    failing = [c.name for c in report.counted_failures]
    blocked = report.blocked
    errors = report.errors
    new = newly_failing(report)
    if new:
        head = f"❌ {_configurations(len(new))} newly failing ({_names(new, cell)})"
    elif failing:
        why = "failing in the baseline too" if report.changes else "none has passed before"
        head = f"⚠️ {_configurations(len(failing))} failing, none newly: {why}"
        head += f" ({_names(failing, cell)})"
    elif blocked:
        head = f"⚠️ {_blocked(report, cell)}"
    elif errors or any(c.failing for c in report.quarantined):
        head = "✅ no failures caused by this change"
    elif supported and passing == len(supported):
        head = "✅ all passing"
    else:
        head = "✅ no failures"
    parts = [head, f"{passing}/{len(supported)} passing"]
    if blocked and (new or failing):
        parts.append(_blocked(report, cell))
    if report.suspects:
        named = [f"{c.suspect.rule or '-'} on {c.name}" for c in report.suspects if c.suspect]
        s = "" if len(named) == 1 else "s"
        parts.append(f"{len(named)} suspect rule{s}, blocking for rounds ({_names(named, cell)})")
    if errors:
        s = "" if len(errors) == 1 else "s"
        parts.append(
            f"{len(errors)} harness error{s}, mlcc-ci's own "
            f"({_names([c.name for c in errors], cell)})"
        )
    if report.quarantined:
        named = [f"{c.name} until {c.quarantine.until}" for c in report.quarantined if c.quarantine]
        parts.append(f"{len(named)} quarantined, not counted ({_names(named, cell)})")
    ranked = sorted(report.profiles, key=lambda p: -report.profiles[p])
    scopes = [cell(report.scopes.get(p) or f"{p} profile") for p in ranked]
    return " · ".join([*parts, *scopes])
