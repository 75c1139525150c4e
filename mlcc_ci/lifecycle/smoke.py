"""The endpoint a project deployed: its smoke test after deploy_test, SageMaker's reasons
when the deploy failed, and what the harness sweeps up after teardown."""

from collections.abc import Mapping
from pathlib import Path

from mlcc_ci import endpoint
from mlcc_ci.catalog import Entry
from mlcc_ci.executors.local import StageRun
from mlcc_ci.lifecycle.context import Stop
from mlcc_ci.lifecycle.stagelog import failure_summary, summarize
from mlcc_ci.models import StageResult
from mlcc_ci.profiles import StageSpec


def smoke_test(project: Path, entry: Entry, env: Mapping[str, str]) -> str | None:
    """The entry's smoke test against the endpoint the project deployed."""
    where = endpoint.deployed(project, env)
    if where is None:
        return "smoke test: do/config names no ENDPOINT_NAME after do/deploy"
    runtime = endpoint.client("sagemaker-runtime", where.region, env)
    return endpoint.smoke_test(where, entry.data.get("smokeTest", {}), runtime)


def with_reasons(project: Path, env: Mapping[str, str], summary: str, secrets: list[str]) -> str:
    """A failed deploy's summary, led by why SageMaker says the endpoint failed."""
    where = endpoint.deployed(project, env)
    if where is None:
        return summary
    reasons = endpoint.failure_reasons(where, endpoint.client("sagemaker", where.region, env))
    if not reasons:
        return summary
    return summarize("; ".join(reasons), summary, secrets)


def swept_up(
    deployed: endpoint.Deployed,
    env: Mapping[str, str],
    outcome: StageRun,
    spec: StageSpec,
    pointer: str,
    secrets: list[str],
    stop: Stop,
) -> StageResult:
    """Teardown's result once what the project deployed is sure to be gone: the harness
    deletes what the project's own cleanup left, and says so."""
    sagemaker = endpoint.client("sagemaker", deployed.region, env)
    remover = endpoint.Remover(sagemaker, patience=max(spec.timeout / 2, 1.0))
    try:
        left = endpoint.sweep_up(deployed, remover)
    except Exception as exc:  # what is left now is the sweeper's
        note = f"endpoint {deployed.endpoint} is still up after teardown: {exc}"
        tail = failure_summary(outcome, spec, secrets, stop) if not outcome.ok else ""
        return StageResult("fail", logPointer=pointer, errorSummary=summarize(note, tail, secrets))
    if not outcome.ok:
        summary = failure_summary(outcome, spec, secrets, stop)
        return StageResult("fail", logPointer=pointer, errorSummary=summary)
    note = f"the project's cleanup left {', '.join(left)}: deleted by the harness" if left else ""
    return StageResult(
        "pass", logPointer=pointer, note=summarize(note, "", secrets) if note else ""
    )
