"""Lambda `mlcc-ci-sweeper`: delete what runs left behind, and only that.

If teardown fails, or CodeBuild kills a build at its hard timeout, the endpoint a run
deployed keeps running (a GPU instance at several dollars an hour) until someone notices.
Every 15 minutes the sweeper finds, under the CI prefix, the endpoints, endpoint configs
without an endpoint, models nothing uses and nested CodeBuild projects
(`<project>-build-<region code>`) that a finished run left (see ownership.py: named after a
registered project, made while one of its runs was under way), and deletes them: an
endpoint's inference components first, the endpoint once they are gone, then its endpoint
config and models, as SageMaker asks. What a run still under way uses is kept; what no run
made (a person's own try, under the same name) is left alone and listed. One resource that
cannot be deleted never stops the others: each says what went wrong, and a metric counts
them for an alarm. It also gives the nested builds' log groups a retention, stops the nested
builds whose run is over (nested_stop.py), tells of each hand-made resource once (told.py),
and publishes how many endpoints are in service under the prefix and how old the oldest is
(fleet.py). It deletes only when its event says `{"dryRun": false}` (the schedule does); any
other event, `{}` included, only lists what it would delete.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from mlcc_ci import clock, naming
from mlcc_ci.aws import fleet
from mlcc_ci.aws.nested_stop import stop_finished
from mlcc_ci.aws.told import Told
from mlcc_ci.constants import RESOURCE_PREFIX, RUNNING, STATUSES
from mlcc_ci.endpoint import POLL_SECONDS, Remover
from mlcc_ci.ownership import NAMES, Decision, Project, decide
from mlcc_ci.selection import FUTURE_SKEW, Policy
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
HISTORY_RUNS = 50  # the runs of a project whose times are read to tell who made a resource


def projects(
    store: ResultsStore, now: datetime, policy: Policy, prefix: str, owning: Iterable[str]
) -> list[Project]:
    """Every registered project as its runs deploy it (status index queries only), with the
    times of its finished runs for those whose name some resource in `owning` starts with."""
    records: dict[str, list[Any]] = {}
    for status in STATUSES:
        for record in store.by_status(status):
            try:
                name = naming.run_project_name({"projectName": record.projectName}, prefix)
            except ValueError:
                continue  # it cannot run under the prefix, so it made nothing there
            records.setdefault(name, []).append(record)
    names = list(owning)
    found = []
    for name, group in records.items():
        live = any(
            r.testStatus == RUNNING
            and timedelta(0) - FUTURE_SKEW
            <= now - clock.parse(r.runStartedAt or r.lastTestTimestamp)
            <= policy.orphan_after
            for r in group
        )  # a run that claims a future start owns nothing (selection reaps it)
        windows: tuple[tuple[datetime, datetime], ...] = ()
        if not live and any(n.startswith(f"{name}-") for n in names):
            windows = tuple(
                (clock.parse(run.startedAt), clock.parse(run.finishedAt))
                for r in group
                for run in store.history(r.configId, limit=HISTORY_RUNS)
            )
            # a run still `running` past its deadline lost its executor: it ran until now
            windows += tuple(
                (clock.parse(r.runStartedAt), now)
                for r in group
                if r.testStatus == RUNNING and r.runStartedAt
            )
        found.append(Project(name, live, windows))
    return found


def _created(value: Any) -> datetime:
    return value if isinstance(value, datetime) else clock.parse(str(value))


def _listed(pages: Iterable[dict[str, Any]], key: str, name: str) -> dict[str, datetime]:
    return {item[name]: _created(item["CreationTime"]) for page in pages for item in page[key]}


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
    codebuild: Any = None,
    cloudwatch: Any = None,
    told: Told | None = None,
) -> dict[str, Any]:
    remover = sweeper or Remover(sagemaker, patience=COMPONENT_PATIENCE_SECONDS)

    def listing(method: str, key: str, name: str) -> dict[str, datetime]:
        pages = sagemaker.get_paginator(method).paginate(NameContains=prefix)
        return {k: v for k, v in _listed(pages, key, name).items() if k.startswith(f"{prefix}-")}

    endpoints = listing("list_endpoints", "Endpoints", "EndpointName")
    configs = listing("list_endpoint_configs", "EndpointConfigs", "EndpointConfigName")
    models = listing("list_models", "Models", "ModelName")
    nested = _nested_projects(codebuild, prefix) if codebuild is not None else {}
    store.unreadable.clear()
    known = projects(store, now, policy, prefix, [*endpoints, *configs, *models, *nested])
    deleted: list[str] = []
    errors: list[dict[str, str]] = []
    decisions = [decide(n, "endpoint", t, known) for n, t in endpoints.items()]

    def act(decision: Decision, delete: Callable[[], None]) -> None:
        if decision.action != "delete" or dry_run:
            return
        try:
            delete()
        except Exception as exc:  # one resource that resists never keeps the others
            errors.append({"resource": decision.resource, "error": f"{type(exc).__name__}: {exc}"})

    for d in decisions:
        act(d, partial(remover.delete, d.resource, deleted))
    # endpoint configs no endpoint uses, models no config or component uses
    gone = {x.split(" ", 2)[-1] for x in deleted}
    used_configs = _used_configs(sagemaker, [e for e in endpoints if e not in gone])
    for name, created in configs.items():
        if name in gone or name in used_configs:
            continue
        decision = decide(name, "endpoint-config", created, known)
        decisions.append(decision)
        act(decision, partial(_delete_config, sagemaker, name, deleted))
    spare = {m: t for m, t in models.items() if m not in gone}
    if spare:
        used_models = _used_models(sagemaker, prefix)
        for name, created in spare.items():
            if name in used_models:
                continue
            decision = decide(name, "model", created, known)
            decisions.append(decision)
            act(decision, partial(_delete_model, sagemaker, name, deleted))
    builds: dict[str, list[Any]] = {"stopped": [], "running": []}
    if codebuild is not None:
        builds = stop_finished(codebuild, prefix, known, dry_run=dry_run)
        errors += builds.pop("errors")
    for name, created in nested.items():
        decision = decide(name, "nested-build", created, known)
        decisions.append(decision)
        act(decision, partial(_delete_project, codebuild, name, deleted))
    retention: list[str] = []
    if logs is not None and not dry_run:
        try:
            retention = bound_nested_logs(logs, prefix)
        except Exception as exc:  # the endpoints matter more; say it and go on
            errors.append(
                {"resource": f"/aws/codebuild/{prefix}-*", "error": f"{type(exc).__name__}: {exc}"}
            )
    leaked = [d for d in decisions if d.action == "delete"]
    left = [d for d in decisions if d.action == "leave"]
    # what no run made is told of once (told.py), not every sweep
    news = [d for d in left if told is None or not _told(told, d.resource, errors)]
    stopped = builds["stopped"]
    if not dry_run and (deleted or errors or stopped or news):
        lines = [f"- deleted {d}" for d in deleted]
        lines += [f"- stopped nested build {b} (its run is over)" for b in stopped]
        lines += [f"- NOT deleted {e['resource']}: {e['error']}" for e in errors]
        lines += [f"- left alone {d.resource}: {d.reason}" for d in news]
        subject = f"mlcc-ci sweeper deleted {len(deleted)} resource(s)"
        if errors:
            subject += f", {len(errors)} could not be deleted"
        publish(subject, "What runs left behind, under the CI prefix:\n" + "\n".join(lines))
        for d in news if told is not None else []:
            try:
                told.remember(d.resource, now)  # type: ignore[union-attr]
            except Exception as exc:  # told again next sweep: better twice than never
                errors.append({"resource": d.resource, "error": f"{type(exc).__name__}: {exc}"})
    measured = _measure(sagemaker, cloudwatch, prefix, now, errors)
    result = {
        "leaked": [{"resource": d.resource, "reason": d.reason} for d in leaked],
        "left": [{"resource": d.resource, "reason": d.reason} for d in left],
        "deleted": deleted,
        "errors": errors,
        "logRetention": retention,
        "nestedBuilds": builds,
        "fleet": measured.__dict__ if measured else None,
        "unreadable": [{"configId": k, "reason": v} for k, v in store.unreadable.items()],
        "dryRun": dry_run,
    }
    metric = {
        "_aws": {
            "Timestamp": int(now.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    # each stack's own: another prefix's failures are not this one's alarm
                    "Dimensions": [["Prefix"]],
                    "Metrics": [{"Name": SWEEP_FAILURES, "Unit": "Count"}],
                }
            ],
        },
        "Prefix": prefix,
        SWEEP_FAILURES: len(errors),
    }
    print(json.dumps({"event": "swept", **result, **metric}, default=str), flush=True)
    return result


def _told(told: Told, resource: str, errors: list[dict[str, str]]) -> bool:
    try:
        return told.already(resource)
    except Exception as exc:  # unread, it is told again: better twice than never
        errors.append({"resource": f"told#{resource}", "error": f"{type(exc).__name__}: {exc}"})
        return False


def _measure(
    sagemaker: Any, cloudwatch: Any, prefix: str, now: datetime, errors: list[dict[str, str]]
) -> fleet.Fleet | None:
    """The endpoints left under the prefix after the sweep, published for the alarms."""
    try:
        measured = fleet.measure(fleet.listed(sagemaker, prefix), prefix, now)
        if cloudwatch is not None:
            fleet.publish(cloudwatch, METRIC_NAMESPACE, prefix, measured, now)
        return measured
    except Exception as exc:  # the deletes matter more; say it and go on
        errors.append({"resource": "metrics", "error": f"{type(exc).__name__}: {exc}"})
        return None


def _nested_projects(codebuild: Any, prefix: str) -> dict[str, datetime]:
    names = [
        n
        for page in codebuild.get_paginator("list_projects").paginate()
        for n in page["projects"]
        if n.startswith(f"{prefix}-") and NAMES["nested-build"].match(n)
    ]
    found = {}
    for start in range(0, len(names), 100):
        for project in codebuild.batch_get_projects(names=names[start : start + 100])["projects"]:
            found[project["name"]] = _created(project["created"])
    return found


def _used_configs(sagemaker: Any, endpoints: list[str]) -> set[str]:
    used = set()
    for name in endpoints:
        try:
            used.add(sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"])
        except Exception:
            continue  # gone meanwhile
    return used


def _used_models(sagemaker: Any, prefix: str) -> set[str]:
    """The models the endpoint configs and inference components under the prefix use.

    Only those: the sweeper's role may describe nothing else (a shared account holds other
    teams' configs, and describing one is AccessDenied), and NameContains alone would also
    match `team-mlcc-ci-x`. So a model under the prefix that another team's config (or
    component) names looks unused here, and may be deleted once `decide` finds that a
    finished run made it. That is accepted: a model under the prefix is a run's own, made
    for the run and deleted by its teardown (Remover) whoever else names it, so a sweep
    does no more than that teardown would have; the alternative, describing every config in
    the account, needs a role that can read every team's. What no run made (a person's
    own, under the prefix) is still left alone.
    """
    used = set()
    pages = sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=prefix)
    for config in (c for page in pages for c in page["EndpointConfigs"]):
        if not config["EndpointConfigName"].startswith(f"{prefix}-"):
            continue
        described = sagemaker.describe_endpoint_config(
            EndpointConfigName=config["EndpointConfigName"]
        )
        used |= {v.get("ModelName", "") for v in described.get("ProductionVariants", [])}
    pages = sagemaker.get_paginator("list_inference_components").paginate(NameContains=prefix)
    for component in (c for page in pages for c in page["InferenceComponents"]):
        if not component["InferenceComponentName"].startswith(f"{prefix}-"):
            continue
        described = sagemaker.describe_inference_component(
            InferenceComponentName=component["InferenceComponentName"]
        )
        used.add(described.get("Specification", {}).get("ModelName", ""))
    return used


def _delete_config(sagemaker: Any, name: str, deleted: list[str]) -> None:
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    deleted.append(f"endpoint config {name}")


def _delete_model(sagemaker: Any, name: str, deleted: list[str]) -> None:
    sagemaker.delete_model(ModelName=name)
    deleted.append(f"model {name}")


def _delete_project(codebuild: Any, name: str, deleted: list[str]) -> None:
    codebuild.delete_project(name=name)
    deleted.append(f"nested build project {name}")


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
    prefix = env.get(naming.PREFIX_ENV) or RESOURCE_PREFIX
    slots = env.get("SLOTS_TABLE_NAME")
    # deleting is what a sweep must be told to do, exactly: anything else only lists
    dry_run = event.get("dryRun") is not False
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
        prefix=prefix,
        dry_run=dry_run,
        publish=publisher(env, session),
        sweeper=sweeper,
        logs=session.client("logs"),
        codebuild=session.client("codebuild"),
        cloudwatch=session.client("cloudwatch"),
        told=Told(session.client("dynamodb"), slots) if slots else None,
    )
