"""Lambda `mlcc-ci-sweeper`: delete SageMaker endpoints that no running run owns.

If teardown fails, or CodeBuild kills a build at its hard timeout, the endpoint a run
deployed keeps running (a GPU instance at several dollars an hour) until someone notices.
Every endpoint whose name starts with a registered project's name (the generated do-scripts
name them `<projectName>-endpoint-<time>`) belongs to that project's run: it is kept while
that run is `running` and within its deadline, and deleted otherwise — with its inference
components, endpoint config and models. DRY_RUN=true only lists what it would delete.
"""

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlcc_ci import clock
from mlcc_ci.constants import RESOURCE_PREFIX, RUNNING
from mlcc_ci.selection import Policy
from mlcc_ci.stores.base import ResultsStore


@dataclass(frozen=True)
class Leak:
    endpoint: str
    reason: str


def owners(store: ResultsStore, now: datetime, policy: Policy) -> dict[str, str]:
    """projectName -> runId of every run that may still own an endpoint (status index)."""
    live = {}
    for record in store.by_status(RUNNING):
        started = record.runStartedAt or record.lastTestTimestamp
        if now - clock.parse(started) <= policy.orphan_after:
            live[record.projectName] = record.runId or ""
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


def _delete(sagemaker: Any, endpoint: str) -> list[str]:
    """Delete the endpoint and what it was made of; the names deleted."""
    gone = []
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    config_name = described.get("EndpointConfigName")
    models: list[str] = []
    with contextlib.suppress(Exception):  # not every API (or moto) has inference components
        pages = sagemaker.get_paginator("list_inference_components").paginate(
            EndpointNameEquals=endpoint
        )
        for page in pages:
            for component in page.get("InferenceComponents", []):
                name = component["InferenceComponentName"]
                spec = sagemaker.describe_inference_component(InferenceComponentName=name)
                models.append(spec.get("Specification", {}).get("ModelName", ""))
                sagemaker.delete_inference_component(InferenceComponentName=name)
                gone.append(f"inference component {name}")
    if config_name:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        models += [v.get("ModelName", "") for v in config.get("ProductionVariants", [])]
    sagemaker.delete_endpoint(EndpointName=endpoint)
    gone.append(f"endpoint {endpoint}")
    if config_name:
        sagemaker.delete_endpoint_config(EndpointConfigName=config_name)
        gone.append(f"endpoint config {config_name}")
    for model in dict.fromkeys(m for m in models if m):
        sagemaker.delete_model(ModelName=model)
        gone.append(f"model {model}")
    return gone


def sweep(
    store: ResultsStore,
    sagemaker: Any,
    now: datetime,
    policy: Policy,
    *,
    prefix: str = RESOURCE_PREFIX,
    dry_run: bool = False,
    publish: Callable[[str, str], None] = lambda subject, message: None,
) -> dict[str, Any]:
    endpoints = [
        e["EndpointName"]
        for page in sagemaker.get_paginator("list_endpoints").paginate(NameContains=prefix)
        for e in page.get("Endpoints", [])
    ]
    found = leaks(endpoints, owners(store, now, policy), prefix)
    deleted: list[str] = []
    for leak in found:
        if not dry_run:
            deleted += _delete(sagemaker, leak.endpoint)
    if deleted:
        publish(
            f"mlcc-ci sweeper deleted {len(found)} leaked endpoint(s)",
            "Deleted because no running run owns them:\n" + "\n".join(f"- {d}" for d in deleted),
        )
    result = {
        "leaked": [{"endpoint": x.endpoint, "reason": x.reason} for x in found],
        "deleted": deleted,
        "dryRun": dry_run,
    }
    print(json.dumps({"event": "swept", **result}), flush=True)
    return result


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
) -> dict[str, Any]:
    """Lambda entry point (the scanner's environment: TABLE_NAME, RUNS_TABLE_NAME, ...)."""
    from mlcc_ci.aws.notify import publisher
    from mlcc_ci.aws.scanner import lambda_context, policy_from

    env, session, store = lambda_context(env, session)
    dry_run = str(event.get("dryRun", env.get("DRY_RUN", "false"))).lower() == "true"
    return sweep(
        store,
        session.client("sagemaker"),
        clock.now(),
        policy_from(env),
        dry_run=dry_run,
        publish=publisher(env, session),
    )
