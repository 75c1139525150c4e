"""Lambda `mlcc-ci-sweeper`: delete SageMaker endpoints that no running run owns.

If teardown fails, or CodeBuild kills a build at its hard timeout, the endpoint a run
deployed keeps running (a GPU instance at several dollars an hour) until someone notices.
Every endpoint whose name starts with a run's project name (the generated do-scripts name
them `<projectName>-endpoint-<time>`) belongs to that project's run: it is kept while that
run is `running` and within its deadline, and deleted otherwise. As SageMaker asks, its
inference components go first, and the endpoint only once they are gone; then its endpoint
config and models. One leak that cannot be deleted never stops the others: each says what
went wrong. DRY_RUN=true only lists what it would delete.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlcc_ci import clock, naming
from mlcc_ci.constants import RESOURCE_PREFIX, RUNNING
from mlcc_ci.endpoint import POLL_SECONDS, Remover
from mlcc_ci.selection import Policy
from mlcc_ci.stores.base import ResultsStore

# CodeBuild makes each nested build's log group (/aws/codebuild/<project>) with no expiry;
# the sweeper gives those of runs this retention.
NESTED_LOG_DAYS = 30
# A metric in CloudWatch's embedded format: leaks a sweep could not delete (an alarm watches)
METRIC_NAMESPACE = "mlcc-ci"
SWEEP_FAILURES = "SweepFailures"
# How long one sweep waits for an endpoint's inference components to be deleted; what is
# still deleting then is finished by the next sweep.
COMPONENT_PATIENCE_SECONDS = 300.0


@dataclass(frozen=True)
class Leak:
    endpoint: str
    reason: str


def owners(store: ResultsStore, now: datetime, policy: Policy, prefix: str) -> dict[str, str]:
    """Project name a run deploys under -> runId, for every run that may still own an
    endpoint (status index)."""
    live = {}
    for record in store.by_status(RUNNING):
        started = record.runStartedAt or record.lastTestTimestamp
        if now - clock.parse(started) > policy.orphan_after:
            continue
        try:
            name = naming.run_project_name({"projectName": record.projectName}, prefix)
        except ValueError:
            continue  # it cannot run under the prefix, so it owns nothing there
        live[name] = record.runId or ""
    return live


def leaks(endpoints: list[str], live: Mapping[str, str], prefix: str) -> list[Leak]:
    """The endpoints of ours that no live run owns."""
    found = []
    for name in endpoints:
        if not name.startswith(f"{prefix}-"):
            continue  # not ours to touch
        owner = max((p for p in live if name.startswith(f"{p}-")), key=len, default=None)
        if owner is None:
            found.append(Leak(name, "no running run owns it"))
    return found


def bound_nested_logs(logs: Any, prefix: str, days: int = NESTED_LOG_DAYS) -> list[str]:
    """Give every nested build's log group under the prefix a retention; those changed."""
    changed = []
    pages = logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=f"/aws/codebuild/{prefix}-"
    )
    for group in (g for page in pages for g in page.get("logGroups", [])):
        if "retentionInDays" not in group:
            logs.put_retention_policy(logGroupName=group["logGroupName"], retentionInDays=days)
            changed.append(group["logGroupName"])
    return changed


def sweep(
    store: ResultsStore,
    sagemaker: Any,
    now: datetime,
    policy: Policy,
    *,
    prefix: str = RESOURCE_PREFIX,
    dry_run: bool = False,
    publish: Callable[[str, str], None] = lambda subject, message: None,
    sweeper: Remover | None = None,
    logs: Any = None,
) -> dict[str, Any]:
    sweeper = sweeper or Remover(sagemaker, patience=COMPONENT_PATIENCE_SECONDS)
    endpoints = [
        e["EndpointName"]
        for page in sagemaker.get_paginator("list_endpoints").paginate(NameContains=prefix)
        for e in page.get("Endpoints", [])
    ]
    found = leaks(endpoints, owners(store, now, policy, prefix), prefix)
    deleted: list[str] = []
    errors: list[dict[str, str]] = []
    for leak in found:
        if dry_run:
            continue
        try:
            sweeper.delete(leak.endpoint, deleted)
        except Exception as exc:  # one leak that resists never keeps the others alive
            errors.append({"endpoint": leak.endpoint, "error": f"{type(exc).__name__}: {exc}"})
    retention: list[str] = []
    if logs is not None and not dry_run:
        try:
            retention = bound_nested_logs(logs, prefix)
        except Exception as exc:  # the endpoints matter more; say it and go on
            errors.append(
                {"logs": f"/aws/codebuild/{prefix}-*", "error": f"{type(exc).__name__}: {exc}"}
            )
    failed = [e for e in errors if "endpoint" in e]
    if deleted or failed:
        lines = [f"- {d}" for d in deleted] + [
            f"- NOT deleted {e['endpoint']}: {e['error']}" for e in errors
        ]
        publish(
            f"mlcc-ci sweeper deleted {len(found) - len(failed)} leaked endpoint(s)"
            + (f", {len(failed)} could not be deleted" if failed else ""),
            "Endpoints no running run owns:\n" + "\n".join(lines),
        )
    result = {
        "leaked": [{"endpoint": x.endpoint, "reason": x.reason} for x in found],
        "deleted": deleted,
        "errors": errors,
        "logRetention": retention,
        "dryRun": dry_run,
    }
    metric = {
        "_aws": {
            "Timestamp": int(now.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [[]],
                    "Metrics": [{"Name": SWEEP_FAILURES, "Unit": "Count"}],
                }
            ],
        },
        SWEEP_FAILURES: len(errors),
    }
    print(json.dumps({"event": "swept", **result, **metric}), flush=True)
    return result


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
) -> dict[str, Any]:
    """Lambda entry point (the scanner's environment: TABLE_NAME, RUNS_TABLE_NAME, ...;
    PATIENCE_SECONDS and POLL_SECONDS: how long and how often to wait for inference
    components to be deleted)."""
    from mlcc_ci.aws.notify import publisher
    from mlcc_ci.aws.scanner import lambda_context, policy_from

    env, session, store = lambda_context(env, session)
    dry_run = str(event.get("dryRun", env.get("DRY_RUN", "false"))).lower() == "true"
    sagemaker = session.client("sagemaker")
    sweeper = Remover(
        sagemaker,
        patience=float(env.get("PATIENCE_SECONDS", COMPONENT_PATIENCE_SECONDS)),
        poll=float(env.get("POLL_SECONDS", POLL_SECONDS)),
    )
    return sweep(
        store,
        sagemaker,
        clock.now(),
        policy_from(env),
        dry_run=dry_run,
        publish=publisher(env, session),
        sweeper=sweeper,
        logs=session.client("logs"),
    )
