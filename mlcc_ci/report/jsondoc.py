"""The JSON report: versioned (schema/report.schema.json), one line. Times are ISO 8601 UTC
here; the formats people read show them one way (`clock.display`)."""

import json
from typing import Any

from mlcc_ci.constants import RUNNING
from mlcc_ci.cost import Total
from mlcc_ci.models import Cost, Run
from mlcc_ci.report.classes import FailureGroup, failure_class, shown_status
from mlcc_ci.report.model import REPORT_VERSION, ConfigReport, Report
from mlcc_ci.report.one import One, failed_stage


def _cost_item(cost: Cost | None) -> dict[str, Any] | None:
    return None if cost is None else cost.to_item()


def _total_item(t: Total) -> dict[str, Any]:
    return {"usd": t.usd if t.counted or not t.unknown else None, "unknown": t.unknown}


def as_dict(report: Report) -> dict[str, Any]:
    """The versioned JSON (schema/report.schema.json). Its legacy keys keep the shape that
    scripts written for `do/ci report --json` parse. Times are ISO 8601 UTC here; the
    formats people read show them one way (`clock.display`)."""
    s = report.summary
    configs: dict[str, Any] = {}
    for c in report.configurations:
        configs[c.name] = {
            "status": c.status,
            "project": c.project,
            "lastTest": c.lastTest,
            "duration": c.duration,
            "recordCount": c.recordCount,
            "configId": c.configId,
            "supportState": c.supportState,
            "supportReason": c.supportReason,
            "profile": c.profile,
            "owner": c.owner,
            "architecture": c.architecture,
            "region": c.region,
            "instanceType": c.instanceType,
            "lastPass": c.lastPass,
            "regression": None
            if not c.regression
            else {
                "since": c.regression.since,
                "lastPass": c.regression.lastPass,
                "lastPassRunId": c.regression.lastPassRunId,
                "failingRuns": c.regression.failingRuns,
            },
            "fixed": c.fixed,
            "flaky": c.flaky,
            "statusChanges": c.flips,
            "passRate": c.passRate,
            "runs": c.runs,
            "stale": c.stale,
            "nextDue": c.nextDue,
            "errorMessage": c.errorMessage,
            "quarantine": c.quarantine.to_item() if c.quarantine is not None else None,
            "earlierIdentities": [e.to_item() for e in c.earlier],
            "removed": c.removed,
            **config_items(c),
            "stageResults": {k: v.to_item() for k, v in c.stageResults.items()},
            "cost": {
                "lastRun": _cost_item(c.lastCost),
                "runsShown": _total_item(c.cost_total),
                "monthly": c.monthlyCost,
            },
            "running": None
            if c.status != RUNNING
            else {
                "runStartedAt": c.runStartedAt,
                "stage": c.currentStage,
                "stageStartedAt": c.currentStageStartedAt,
                "stagesDone": {k: v.to_item() for k, v in c.runStages.items()},
            },
            "history": [
                {
                    "startedAt": r.startedAt,
                    "finishedAt": r.finishedAt,
                    "status": r.status,
                    "runId": r.runId,
                    "durationSeconds": r.durationSeconds,
                    "stageSeconds": {k: v.durationSeconds for k, v in r.stageResults.items()},
                    "costUsd": cost.usd,  # how it was reached: cost.lastRun.basis
                    "failure": r.failure.to_item() if r.failure is not None else None,
                    "attempt": r.attempt,
                }
                for r, cost in zip(c.history, c.runCosts, strict=True)
            ],
        }
    return {
        "schemaVersion": REPORT_VERSION,
        "generatedAt": report.generatedAt,
        "summary": {
            "total": s.total,
            "tested": s.tested,
            "passing": s.passing,
            "failing": s.failing,
            "untested": s.untested,
            "coveragePercent": s.coverage_percent,
            "running": s.running,
            "unsupported": s.unsupported,
            "blocked": s.blocked,
            "unproven": s.unproven,
            "quarantined": s.quarantined,
            "removed": s.removed,
        },
        "configurations": configs,
        "regressions": [c.name for c in report.regressions],
        "untestedConfigs": [c.name for c in report.untested],
        "fixed": [c.name for c in report.fixed],
        "flaky": [c.name for c in report.flaky],
        "running": [c.name for c in report.running],
        "quarantined": [c.name for c in report.quarantined],
        "removed": [c.name for c in report.removed],
        "profiles": dict(report.profiles),
        "cost": {
            "priceTable": report.prices,
            "runsShown": _total_item(report.cost_shown),
            "byDay": [{"day": day, **_total_item(t)} for day, t in report.cost_by_day],
            "monthlyProjection": {
                **_total_item(report.monthly),
                "scheduleHours": report.scheduleHours,
            },
        },
        "unreadable": [{"configId": k, "reason": v} for k, v in report.unreadable.items()],
        "failureGroups": [group_item(g) for g in report.failure_groups],
        **report_items(report),
        **(
            {
                "changes": {
                    "newlyFailing": list(report.changes.newly_failing),
                    "newlyPassing": list(report.changes.newly_passing),
                    "new": list(report.changes.new),
                }
            }
            if report.changes
            else {}
        ),
    }


def as_json(report: Report) -> str:
    """One line: a machine format (indenting it costs 7x the encoding; `jq .` reads it)."""
    return json.dumps(as_dict(report), separators=(",", ":"), ensure_ascii=False) + "\n"


def config_items(c: ConfigReport) -> dict[str, Any]:
    """The classes' keys of one configuration in the JSON report."""
    cls = failure_class(c)
    failure: dict[str, Any] | None = None
    if cls is not None:
        f = c.failure
        failure = {
            "class": cls,
            "stage": f.stage if f else _failed(c),
            "rule": f.rule if f and f.rule else None,
            "capture": f.capture if f and f.capture else None,
        }
    error = None
    if c.lastError is not None:
        run, f = c.lastError, c.lastError.failure
        error = {
            "runId": run.runId,
            "finishedAt": run.finishedAt,
            "stage": f.stage if f else None,
            "rule": f.rule if f and f.rule else None,
            "capture": f.capture if f and f.capture else None,
        }
    return {
        "shownStatus": shown_status(c),
        "failure": failure,
        "blocked": c.blocked.to_item() if c.blocked is not None else None,
        "lastError": error,
    }


def _failed(c: ConfigReport) -> str | None:
    return next((s for s, r in c.stageResults.items() if r.status == "fail"), None)


def report_items(report: Report) -> dict[str, Any]:
    """The classes' keys of the JSON report, beside the configurations."""
    by_class: dict[str, dict[str, None]] = {}  # class -> its configurations, in order, once
    for g in report.failure_groups:
        by_class.setdefault(g.cls, {}).update(dict.fromkeys(g.configurations))
    return {
        "blocked": [c.name for c in report.blocked],
        "suspects": [c.suspect.to_item(c.name) for c in report.suspects if c.suspect],
        "errors": [c.name for c in report.errors],
        "noise": report.noise.to_item(),
        "failuresByClass": {cls: list(names) for cls, names in by_class.items()},
    }


def group_item(g: FailureGroup) -> dict[str, Any]:
    return {
        "class": g.cls,
        "kind": g.kind,
        "stage": g.stage,
        "rule": g.rule or None,
        "capture": g.capture or None,
        "signature": g.signature,
        "sample": g.sample,
        "configurations": list(g.configurations),
    }


# -- one configuration (`report NAME --json`) -----------------------------------------


def one_dict(one: One, report: Report) -> dict[str, Any]:
    """The configuration as `report --json` has it, with its history in full."""
    single = Report(
        report.generatedAt,
        report.summary,
        [one.config],
        prices=report.prices,
        scheduleHours=report.scheduleHours,
        schedule=report.schedule,
    )
    doc = as_dict(single)["configurations"][one.config.name]
    return {
        "name": one.config.name,
        **doc,
        "history": [_run_item(run) for run in one.runs],
    }


def _run_item(run: Run) -> dict[str, Any]:
    return {
        "runId": run.runId,
        "startedAt": run.startedAt,
        "finishedAt": run.finishedAt,
        "status": run.status,
        "durationSeconds": run.durationSeconds,
        "failedStage": failed_stage(run),
        "errorMessage": run.errorMessage or None,
        "profile": run.profile,
        "stageResults": {k: v.to_item() for k, v in run.stageResults.items()},
        "failure": run.failure.to_item() if run.failure is not None else None,
        "attempt": run.attempt,
    }
