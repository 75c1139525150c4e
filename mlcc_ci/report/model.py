"""The report model, built from records, their history and the catalog. Pure."""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import TypedDict

from mlcc_ci import cadence, clock
from mlcc_ci.catalog import Entry
from mlcc_ci.constants import DEFAULT_STALE_HOURS, NEVER_TESTED, PASS, RUNNING, UNTESTED
from mlcc_ci.cost import NO_PRICES, Prices, Total, estimate, monthly, total
from mlcc_ci.history import analyse
from mlcc_ci.models import (
    MOST_RECENT_RUNS,
    RECENT_RUNS,
    Cost,
    Record,
    Run,
)
from mlcc_ci.quarantine import in_force
from mlcc_ci.report.classes import FailureGroup, Noise, failure_groups, last_error, noise
from mlcc_ci.report.configreport import ConfigReport as ConfigReport
from mlcc_ci.report.identities import EarlierIdentity, Row, earlier_identities, primary, rows

REPORT_VERSION = 1
HISTORY_SHOWN = RECENT_RUNS  # the runs a report shows per configuration
# ... and the most it reads of one: as many as a record carries (the newest 20 and, behind
# retried attempts, its last product runs: the pass rate's), so one with none of its own
# has as many read from its history
HISTORY_STRIP = MOST_RECENT_RUNS
COST_DAYS = 14  # the days the cost-per-day table shows


@dataclass(frozen=True)
class Summary:
    total: int
    tested: int
    passing: int
    failing: int
    untested: int
    running: int
    unsupported: int
    blocked: int = 0  # of the above, kept from being tested by the infrastructure
    quarantined: int = 0  # of the above, whose failures the verdict leaves out until a date
    removed: int = 0  # not in the above: names the catalog no longer has, kept for their runs
    unproven: int = 0  # tested, passed last, blocked since: neither passing nor failing

    @property
    def coverage_percent(self) -> float:
        return round(100.0 * self.tested / self.total, 1) if self.total else 0.0

    def line(self) -> str:
        """The seed layout, made to add up: total = tested + untested + unsupported (+ running);
        tested = passing + failing (+ unproven: blocked since its last pass)."""
        running = f"{self.running} running | " if self.running else ""
        unproven = f"{self.unproven} unproven (blocked) | " if self.unproven else ""
        return (
            f"Summary: {self.total} total | {self.tested} tested | {self.passing} passing | "
            f"{self.failing} failing | {unproven}{self.untested} untested | {running}"
            f"{self.unsupported} unsupported | {self.coverage_percent:.1f}% coverage"
            + (f" | {self.blocked} blocked by infrastructure" if self.blocked else "")
            + (f" | {self.quarantined} quarantined" if self.quarantined else "")
            + (f" | {self.removed} removed from the catalog" if self.removed else "")
        )


@dataclass(frozen=True)
class Report:
    generatedAt: str
    summary: Summary
    configurations: Sequence[ConfigReport]
    profiles: Mapping[str, int] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)  # configId -> why
    changes: "Changes | None" = None  # against a baseline report, when one was given
    prices: str = "-"  # the price table the costs come from
    scheduleHours: float = DEFAULT_STALE_HOURS  # how often a configuration is due
    schedule: str = cadence.CONFIDENCE  # the cadence `stale` and `nextDue` follow
    scopes: Mapping[str, str] = field(default_factory=dict)  # profile -> what its runs prove
    unbilled: Sequence[str] = ()  # the profiles of the results shown that bill nothing

    @property
    def running(self) -> list[ConfigReport]:
        return [c for c in self.configurations if c.status == RUNNING]

    @cached_property
    def cost_by_day(self) -> list[tuple[str, Total]]:
        """The runs shown, by the UTC day they finished: the last COST_DAYS days with runs."""
        days: dict[str, list[Cost]] = {}
        for c in self.configurations:
            for run, cost in zip(c.history, c.runCosts, strict=True):
                days.setdefault(run.finishedAt[:10], []).append(cost)
        return [(day, total(days[day])) for day in sorted(days, reverse=True)[:COST_DAYS]]

    @cached_property
    def cost_shown(self) -> Total:
        return total(cost for c in self.configurations for cost in c.runCosts)

    @cached_property
    def monthly(self) -> Total:
        """The month at the current schedule: every supported configuration that has run,
        at the cost of its last run; ones whose cost is unknown are counted as such."""
        scheduled = [c for c in self.configurations if c.supportState == "supported" and c.history]
        return total(Cost(c.monthlyCost) if c.monthlyCost is not None else None for c in scheduled)

    @property
    def regressions(self) -> list[ConfigReport]:
        return [c for c in self.configurations if c.regression]

    @property
    def fixed(self) -> list[ConfigReport]:
        return [c for c in self.configurations if c.fixed]

    @property
    def flaky(self) -> list[ConfigReport]:
        return [c for c in self.configurations if c.flaky]

    @property
    def untested(self) -> list[ConfigReport]:
        return [
            c
            for c in self.configurations
            if c.status in (UNTESTED, "unregistered") and not c.removed
        ]

    @property
    def blocked(self) -> list[ConfigReport]:
        return [
            c
            for c in self.configurations
            if c.blocked is not None and c.status != RUNNING and not c.removed
        ]

    @property
    def suspects(self) -> list[ConfigReport]:
        """Blocked configurations whose rule has blocked them more than suspect-rounds."""
        return [c for c in self.blocked if c.suspect is not None]

    @property
    def errors(self) -> list[ConfigReport]:
        """Configurations whose last run was a harness error (mlcc-ci's, not theirs)."""
        return [c for c in self.configurations if c.lastError is not None and not c.removed]

    @property
    def quarantined(self) -> list[ConfigReport]:
        return [c for c in self.configurations if c.quarantine is not None]

    @property
    def removed(self) -> list[ConfigReport]:
        return [c for c in self.configurations if c.removed]

    @property
    def counted_failures(self) -> list[ConfigReport]:
        """The failing configurations the verdict counts: not quarantined, not removed."""
        return [c for c in self.configurations if c.counts]

    @cached_property  # every renderer asks, the HTML template twice
    def failure_groups(self) -> list[FailureGroup]:
        """Failures by class, then by rule and capture (see classes.failure_groups)."""
        return failure_groups(self.configurations)

    @cached_property
    def noise(self) -> Noise:
        """The infrastructure's failures in the runs shown (see classes.noise)."""
        return noise(self.configurations)


def _tested(record: Record) -> bool:
    return record.lastTestTimestamp != NEVER_TESTED and record.testStatus not in (UNTESTED,)


class _Facts(TypedDict):
    owner: str
    architecture: str
    region: str
    instanceType: str


def _facts(entry: Entry | None, config: Mapping[str, object]) -> _Facts:
    """Owner, architecture, region and instance type, from the catalog or the configJson."""
    data: Mapping[str, object] = entry.data if entry else {}
    return {
        "owner": str(data.get("owner") or config.get("owner") or "-"),
        "architecture": str(data.get("architecture") or config.get("architecture") or "-"),
        "region": str(data.get("region") or config.get("awsRegion") or "-"),
        "instanceType": str(data.get("instanceType") or config.get("instanceType") or "-"),
    }


def _config_json(record: Record) -> dict[str, object]:
    try:
        value = json.loads(record.configJson)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def interval(
    record: Record, own: Sequence[Run], stale_after: timedelta, schedule: str
) -> timedelta:
    """How long after its last test the schedule makes `record` due again (cadence.every, as
    `plan` works it out), counted on the runs the record carries, or on `own` (its history)
    when it carries none."""
    if own and not record.recentRuns:
        record = replace(record, recentRuns=tuple(own))
    return cadence.every(record, stale_after, schedule)


def _config(
    row: Row,
    runs: Sequence[Run],
    now: datetime,
    stale_after: timedelta,
    prices: Prices,
    earlier: Sequence[EarlierIdentity],
    schedule: str,
    own: Sequence[Run],
) -> ConfigReport:
    """`own`: the primary record's runs, newest first, when it carries none."""
    name, entry, records = row.name, row.entry, row.current
    supported = entry.supported if entry else all(r.supported for r in (*records, *row.earlier))
    reason = entry.support_reason if entry else None
    quarantine = in_force(entry, now)
    if not records:
        return ConfigReport(
            name=name,
            status="unsupported" if not supported else "unregistered",
            project=None,
            configId=entry.config_id if entry else None,
            lastTest=None,
            duration=None,
            stageResults={},
            errorMessage=None,
            lastPass=None,
            regression=None,
            fixed=False,
            flips=0,
            flaky=False,
            passRate=None,
            runs=0,
            stale=False,
            supportState="supported" if supported else "unsupported",
            supportReason=reason,
            profile=None,
            recordCount=len(row.earlier),
            **_facts(entry, entry.config if entry else {}),
            earlier=earlier,
            quarantine=quarantine,
            removed=row.removed,
        )
    record = primary(records)
    # the configJson is parsed only when the catalog cannot say, or a run has no cost
    needs_config = entry is None or any(run.estimatedCost is None for run in runs[:HISTORY_SHOWN])
    config = _config_json(record) if needs_config else {}
    trend = analyse(runs)
    tested = _tested(record)
    status = record.testStatus
    if not supported and status == UNTESTED:
        status = "unsupported"
    last_pass = record.lastPassTimestamp or next((r.finishedAt for r in runs if r.passed), None)
    # stale: overdue by the schedule in force, as `plan` would make it due
    every = interval(record, own, stale_after, schedule)  # when due again; the month's runs
    due = clock.parse(record.lastTestTimestamp) + every if tested and status != RUNNING else None
    stale = due is not None and now > due
    shown = tuple(runs[:HISTORY_SHOWN])
    # A run another writer recorded, or one from before costs were kept, is estimated now.
    costs = tuple(
        run.estimatedCost or estimate(prices, config, run.stageResults, profile=run.profile)
        for run in shown
    )
    last_cost = record.estimatedCost or (costs[0] if costs else None)
    running = status == RUNNING
    # the flags the verdict reads: never of a quarantined or a removed configuration
    flagged = quarantine is None and not row.removed
    return ConfigReport(
        name=name,
        status=status,
        project=record.projectName,
        # the current identity: the one the catalog gives the entry now
        configId=entry.config_id if entry else record.configId,
        lastTest=record.lastTestTimestamp if tested else None,
        duration=_duration(record, shown) if tested else None,
        stageResults=record.stageResults,
        errorMessage=record.errorMessage,
        lastPass=last_pass,
        regression=trend.regression if flagged else None,
        fixed=trend.fixed and not row.removed,
        flips=trend.flips,
        flaky=trend.flaky and not row.removed,
        passRate=trend.passRate,
        runs=trend.runs,
        stale=stale,
        nextDue=clock.iso(due) if due is not None else None,
        supportState="supported" if supported else "unsupported",
        supportReason=reason or record.supportReason,
        profile=record.profile,
        recordCount=len(records) + len(row.earlier),
        history=shown,
        **_facts(entry, {} if entry else config),  # the catalog's own, whatever the runs cost
        lastCost=last_cost if tested or shown else None,
        runCosts=costs,
        # as often as the schedule in force runs it (the confidence cadence: less than daily)
        monthlyCost=monthly(last_cost.usd, every) if last_cost and supported else None,
        runStartedAt=record.runStartedAt if running else None,
        currentStage=record.currentStage if running else None,
        currentStageStartedAt=record.currentStageStartedAt if running else None,
        runStages=record.runStages if running else {},
        failure=record.failure if status.startswith("fail-") else None,
        blocked=record.blocked,
        lastError=last_error(shown),
        earlier=earlier,
        quarantine=quarantine,
        removed=row.removed,
    )


def _duration(record: Record, runs: Sequence[Run]) -> float | None:
    """The last test's duration as its run timed it: the record keeps whole seconds (the
    generator's `do/ci report` int()s it), which would read 4.0s for a run of 3.9s. The
    last test need not be the newest run: a blocked or error run after it leaves it."""
    last = next((run for run in runs if run.finishedAt == record.lastTestTimestamp), None)
    return last.durationSeconds if last is not None else record.lastTestDuration


def build_report(
    entries: Iterable[Entry],
    records: Iterable[Record],
    history: Mapping[str, Sequence[Run]],
    now: datetime,
    stale_after: timedelta = timedelta(hours=DEFAULT_STALE_HOURS),
    unreadable: Mapping[str, str] | None = None,
    prices: Prices = NO_PRICES,
    schedule: str = cadence.CONFIDENCE,
) -> Report:
    """Every catalog configuration appears, registered or not; custom ones follow.
    `history`: configId -> runs, newest first, for records that carry no recentRuns.
    `schedule`: the cadence (cadence.CONFIDENCE or DAILY, the `schedule` setting) a finished
    configuration is stale by: when its last test plus the cadence's interval has passed."""
    entries = list(entries)
    configs = []
    for row in rows(entries, records):
        recs = row.current
        own: Sequence[Run]
        if len(recs) == 1:  # the common case: already newest first
            runs = list(recs[0].recentRuns or history.get(recs[0].configId, ()))
            own = runs
        else:
            runs = sorted(
                (run for r in recs for run in (r.recentRuns or history.get(r.configId, ()))),
                key=lambda run: run.startedAt,
                reverse=True,
            )
            own = history.get(primary(recs).configId, ()) if recs else ()
        earlier = earlier_identities(row, history)
        configs.append(_config(row, runs, now, stale_after, prices, earlier, schedule, own))
    profiles: dict[str, int] = {}
    for c in configs:
        if c.tested and c.profile:
            profiles[c.profile] = profiles.get(c.profile, 0) + 1
    counted = [c for c in configs if not c.removed]
    ran = {c.profile for c in configs} | {r.profile for c in configs for r in c.history}
    summary = Summary(
        total=len(counted),
        tested=sum(c.tested and c.status != RUNNING for c in counted),
        passing=sum(c.passing for c in counted),
        failing=sum(c.failing for c in counted),
        untested=sum(c.status in (UNTESTED, "unregistered") for c in counted),
        running=sum(c.status == RUNNING for c in counted),
        unsupported=sum(c.supportState == "unsupported" for c in counted),
        blocked=sum(c.blocked is not None and c.status != RUNNING for c in counted),
        unproven=sum(c.unproven for c in counted),
        quarantined=sum(c.quarantine is not None for c in counted),
        removed=len(configs) - len(counted),
    )
    return Report(
        clock.iso(now),
        summary,
        configs,
        profiles,
        dict(unreadable or {}),
        prices=prices.label if prices.version else "no price table",
        scheduleHours=stale_after.total_seconds() / 3600,
        schedule=schedule,
        unbilled=sorted(p for p in ran if p and p in prices.unbilled),
    )


@dataclass(frozen=True)
class Changes:
    """What changed against a saved report (`report --baseline REPORT.json`)."""

    newly_failing: tuple[str, ...]
    newly_passing: tuple[str, ...]
    new: tuple[str, ...]


def changes(report: Report, baseline: Mapping[str, str]) -> Changes:
    """`baseline`: configuration name -> status, as a saved JSON report has them."""
    now = {c.name: c.status for c in report.configurations if not c.removed}
    blocked = {c.name for c in report.blocked}  # a block proves nothing: never newly passing
    return Changes(
        newly_failing=tuple(
            n
            for n, s in now.items()
            if s.startswith("fail-") and n in baseline and not baseline[n].startswith("fail-")
        ),
        newly_passing=tuple(
            n
            for n, s in now.items()
            if s == PASS and n not in blocked and baseline.get(n, "").startswith("fail-")
        ),
        new=tuple(n for n in now if n not in baseline),
    )
