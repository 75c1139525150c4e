"""Lambda `<prefix>-recorder`: the orchestrator's failure path.

When the executor build fails, times out, or never starts (StartBuild refused after the
state machine's retries), the state machine's Catch hands this function the run and the
error Step Functions caught. It records the failure as `mlcc-ci record-failure` does
(`scheduling.fail_run`: classified by the catalog's `_failures.yaml`, so that a throttle, a
full build queue or a queue timeout blocks the configuration instead of failing it), and
only while the record is still `running` with this run's id (or one of its retries',
`<id>-r<N>`): a run that wrote its own result keeps it.

The message is what is known of the failure, built from the error's name and its cause: a
`.sync` task's cause is the Build as CodeBuild describes it, of which only the status and
the phase that did not succeed are kept (a queue timeout reads `TIMED_OUT in phase
QUEUED`); a service's own error (`CodeBuild.<Exception>`) reads as boto3 words it, so that
the runner's rules match it. Everything is redacted before it is stored.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from mlcc_ci import clock
from mlcc_ci.aws.scanner import lambda_context
from mlcc_ci.constants import RUNNING
from mlcc_ci.redact import redact

STAGE = "build"
CAUSE_CHARS = 300
RECORDED = "recorded"  # the outcome the state machine's Choice tells apart
HAD_RESULT = "had-its-result"


def _build(cause: str) -> Mapping[str, Any] | None:
    """The Build a `.sync` task's cause describes, if it is one."""
    try:
        doc = json.loads(cause)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    build = doc.get("Build", doc.get("build", doc))
    if not isinstance(build, dict):
        return None
    if not any(k in build for k in ("BuildStatus", "buildStatus")):
        return None
    return build


def _field(item: Mapping[str, Any], name: str) -> str:
    """A field of CodeBuild's Build, as Step Functions writes it (PascalCase) or the API."""
    value = item.get(name[0].upper() + name[1:], item.get(name))
    return str(value) if value is not None else ""


def _phase(build: Mapping[str, Any]) -> str:
    """The phase that did not succeed (a queue timeout: QUEUED), else the current one."""
    phases = build.get("Phases", build.get("phases")) or []
    for phase in phases if isinstance(phases, list) else []:
        if not isinstance(phase, dict):
            continue
        status = _field(phase, "phaseStatus")
        if status and status != "SUCCEEDED":
            return _field(phase, "phaseType") or "unknown"
    return _field(build, "currentPhase") or "unknown"


_ERROR_CODE = re.compile(r"Error Code: ([A-Za-z]{1,64})")


def message(error: str, cause: str, config_id: str, run_id: str) -> str:
    """What the record and the history say of the failure (redacted)."""
    build = _build(cause)
    if build is not None:
        status = _field(build, "buildStatus") or "unknown"
        text = f"executor build {status} in phase {_phase(build)} ({error})"
    elif error.startswith("CodeBuild."):
        # an error the integration names after the SDK's base exception carries the
        # service's own code in its cause ("... Error Code: ThrottlingException; ...")
        coded = _ERROR_CODE.search(cause)
        exception = coded.group(1) if coded else error.split(".", 1)[1]
        text = (
            "the executor build did not start: An error occurred "
            f"({exception}) when calling the StartBuild operation: {cause[:CAUSE_CHARS]}"
        )
    else:
        text = (
            "executor build failed or timed out without writing its result "
            f"({error}: {cause[:CAUSE_CHARS]})"
        )
    return redact(f"{text}; see its log stream under build/{config_id}/{run_id}/")


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
) -> dict[str, Any]:
    """`event`: {"configId", "runId", "error": {"Error", "Cause"}}, as the Catch wrote it.
    Returns {"outcome": "recorded" | "had-its-result", ...}."""
    from mlcc_ci.scheduling import fail_run

    _, _, store = lambda_context(env, session)
    config_id, run_id = str(event["configId"]), str(event["runId"])
    error = event.get("error") or {}
    text = message(str(error.get("Error", "")), str(error.get("Cause", "")), config_id, run_id)
    record = store.get(config_id)
    if record is None:
        return {"outcome": HAD_RESULT, "status": None, "message": text}
    ours = record.runId == run_id or (record.runId or "").startswith(f"{run_id}-r")
    if record.testStatus != RUNNING or not ours:
        return {"outcome": HAD_RESULT, "status": record.testStatus, "message": text}
    done = fail_run(store, record, clock.now(), text, STAGE)
    if done is None:  # it wrote its result meanwhile
        return {"outcome": HAD_RESULT, "status": None, "message": text}
    failure = done.blocked or done.failure
    return {
        "outcome": RECORDED,
        "status": done.testStatus,
        "blocked": done.blocked is not None,
        "class": failure.cls if failure is not None else "unclassified",
        "message": text,
    }
