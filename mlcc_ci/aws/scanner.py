"""The scanner Lambda: select due configurations, claim each, start one execution per claim.

Environment: TABLE_NAME, RUNS_TABLE_NAME, STATE_MACHINE_ARN, MAX_CONCURRENCY (default 1),
STALE_HOURS (default 24), BUILD_TIMEOUT_MINUTES (how long a claimed run may take, queued
then built: the stack derives it from the catalog; default 90), ORPHAN_GRACE_MINUTES (15).
The same selection code as `mlcc-ci plan`; status-index queries only, never a Scan. The
catalog the stack was synthesized from is packaged beside it (REGISTRATIONS_FILE): a record
whose entry changed since its last run is registered anew and started at once. A record the
infrastructure blocked (capacity, quota, ...) is skipped until its `blocked.retryAfter` and
started by the first scan after it: the re-queue, with the rule's backoff, of a retry the
executor's build did not wait for.

A scheduled scan runs as of its EventBridge event's `time` (see `scan_time`).
"""

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mlcc_ci import clock
from mlcc_ci.constants import (
    BUILD_TIMEOUT_MINUTES,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_STALE_HOURS,
    HISTORY_DAYS,
    RUNNING,
    RUNS_TABLE_NAME,
    TABLE_NAME,
)
from mlcc_ci.errors import ConflictError
from mlcc_ci.models import Registration
from mlcc_ci.resources import data_path
from mlcc_ci.scheduling import schedule
from mlcc_ci.selection import ORPHAN_GRACE_MINUTES, Policy
from mlcc_ci.stores.base import ResultsStore, release

# The catalog's registrations, packaged in the Lambda's asset (it has no YAML reader).
REGISTRATIONS_FILE = "catalog-registrations.json"


def policy_from(env: Mapping[str, str]) -> Policy:
    return Policy(
        stale_after=timedelta(hours=float(env.get("STALE_HOURS", DEFAULT_STALE_HOURS))),
        max_concurrency=int(env.get("MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY)),
        build_timeout=timedelta(
            minutes=float(env.get("BUILD_TIMEOUT_MINUTES", BUILD_TIMEOUT_MINUTES))
        ),
        grace=timedelta(minutes=float(env.get("ORPHAN_GRACE_MINUTES", ORPHAN_GRACE_MINUTES))),
    )


def write_catalog(catalog: Any, path: Path) -> None:
    """Package `catalog` for the scanner: each supported entry's registration by configId."""
    from mlcc_ci.registration import catalog_registrations

    items = {k: asdict(v) for k, v in catalog_registrations(catalog).items()}
    path.write_text(json.dumps(items, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def deployed_catalog() -> dict[str, Registration]:
    """The registrations packaged with the scanner; without them (a checkout, an installed
    package) the catalog's own, as `mlcc-ci plan` sees it."""
    path = data_path(REGISTRATIONS_FILE)
    if not path.is_file():
        from mlcc_ci.catalog import load_valid_catalog
        from mlcc_ci.registration import catalog_registrations

        return catalog_registrations(load_valid_catalog())
    items = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): Registration(**v) for k, v in items.items()}


def scan_time(event: Mapping[str, Any], now: datetime) -> datetime:
    """When the scan happens. EventBridge stamps a scheduled event with the `time` it fired
    for; the scan runs as of it, or as of the clock `now` when that is later: a delivery
    retried late never looks into the past (where runs claimed since would seem to start in
    the future). Invoked any other way (`mlcc-ci trigger`, the console): the clock."""
    if event.get("source") != "aws.events" or event.get("detail-type") != "Scheduled Event":
        return now
    try:
        stamped = clock.parse(str(event.get("time", "")))
    except ValueError:
        return now
    return max(stamped, now)


def _log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str))


def scan(
    store: ResultsStore,
    stepfunctions: Any,
    state_machine_arn: str,
    policy: Policy,
    now: datetime,
    catalog: Mapping[str, Registration] | None = None,
) -> dict[str, Any]:
    store.unreadable.clear()
    plan, reaped, claimed = schedule(store, now, policy, catalog)
    for record in reaped:
        _log("reaped", configId=record.configId, message=record.errorMessage)
    arns = []
    for item in claimed:
        record = item.record
        payload = {
            # what the state machine uses, nothing more: the executor reads the record
            "configId": record.configId,
            "buildStrategy": record.buildStrategy,
            "runId": record.runId,
            # for the history item the state machine writes if the build dies: it expires
            # like every other one
            "expiresAt": str(int((now + timedelta(days=HISTORY_DAYS)).timestamp())),
        }
        try:
            response = stepfunctions.start_execution(
                stateMachineArn=state_machine_arn,
                name=f"{record.configId}-{record.runId}",
                input=json.dumps(payload),
            )
        except Exception as exc:
            _release(store, record)
            _log("start-failed", configId=record.configId, error=str(exc)[:300])
            continue
        arns.append(response["executionArn"])
        _log(
            "started",
            configId=record.configId,
            reason=item.reason,
            executionArn=response["executionArn"],
        )
    skipped = [
        {
            "configId": d.record.configId,
            "name": d.record.deploymentConfig,
            "reason": d.reason,
            "detail": d.detail,  # e.g. blocked: by what, and after when it is tried again
        }
        for d in plan.skipped
        if d.reason != "fresh"
    ]
    return {
        "executionArns": arns,
        "reaped": [r.configId for r in reaped],
        "skipped": skipped,
        # one record no one can read (or claim) never stops the scan: it is named here
        "unreadable": [{"configId": k, "reason": v} for k, v in store.unreadable.items()],
    }


def _release(store: ResultsStore, record: Any) -> None:
    """The execution did not start: give the claim back so the next scan retries."""
    if record.testStatus != RUNNING:
        return
    with contextlib.suppress(ConflictError):
        release(store, record)


def lambda_context(
    env: Mapping[str, str] | None, session: Any
) -> tuple[Mapping[str, str], Any, Any]:
    """What a Lambda of the stack works with: its environment, a boto3 session, and the
    results store (TABLE_NAME, RUNS_TABLE_NAME)."""
    import boto3
    from botocore.config import Config

    from mlcc_ci.stores.dynamodb import DynamoStore

    env = os.environ if env is None else env
    session = session or boto3.session.Session()
    region = session.region_name or env.get("AWS_REGION", "us-east-1")
    client = session.client(
        "dynamodb", region_name=region, config=Config(retries={"total_max_attempts": 1})
    )
    store = DynamoStore(
        client,
        table=env.get("TABLE_NAME", TABLE_NAME),
        runs_table=env.get("RUNS_TABLE_NAME", RUNS_TABLE_NAME),
        region=region,
    )
    return env, session, store


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
) -> dict[str, Any]:
    """Lambda entry point: `event` is the schedule's (or `{}` when invoked by hand)."""
    env, session, store = lambda_context(env, session)
    stepfunctions = session.client("stepfunctions", region_name=store.region)
    now = scan_time(event or {}, clock.now())
    result = scan(
        store,
        stepfunctions,
        env["STATE_MACHINE_ARN"],
        policy_from(env),
        now,
        deployed_catalog(),
    )
    _log(
        "scan-done",
        at=clock.iso(now),
        started=len(result["executionArns"]),
        dynamodbRequests=store.requests,
    )
    return result
