"""What the harness does in AWS around a stage's own command, best effort.

In an AWS run (the stack's executor names the resource prefix, naming.PREFIX_ENV), for a
configuration that builds with `codebuild-submit`: before build, the nested CodeBuild
project is made from do/submit's own definition with a current image and a bounded timeout
(nestedproject); before teardown, the nested builds still in progress are stopped. After
deploy_test, passed or failed (a failed deploy's log is the one read most), the endpoint's
log group is given a retention (SageMaker makes `/aws/sagemaker/Endpoints/<endpoint>` with
none).

None of it ever fails a run: what was done, or why it was not, is said in the stage's own
log (`[mlcc-ci] ...` lines after the command's output), and the generated scripts go on as
they would without it. An AWS error is named by its code and operation only, never in the
SDK's words, which the failure rules read as the stage's own (a refusal here is not why the
stage's command failed).
"""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlcc_ci import endpoint, naming, nestedproject

SUBMIT = "codebuild-submit"
ENDPOINT_LOG_DAYS = 30
ENDPOINT_LOG_GROUP = "/aws/sagemaker/Endpoints/{endpoint}"


def in_aws(env: Mapping[str, str]) -> bool:
    return bool(env.get(naming.PREFIX_ENV))


def before(
    stage: str, project: Path, config: Mapping[str, Any], env: Mapping[str, str], timeout: float
) -> list[str]:
    """Before `stage`'s command (whose timeout is `timeout` seconds); what to say in its
    log."""
    if not in_aws(env) or config.get("buildStrategy") != SUBMIT:
        return []
    if stage == "build":
        return _guarded("the nested CodeBuild project", lambda: _prepare(project, env, timeout))
    if stage == "teardown":
        return _guarded("stopping the nested builds", lambda: _stop(project, env))
    return []


def after(
    stage: str,
    project: Path,
    env: Mapping[str, str],
    said: list[str],
    log: Path,
    *,
    hooked: bool = True,
) -> None:
    """After `stage`'s command: what is done then (nothing when not `hooked`: a fault was
    injected into it), and all that was said before, appended to the stage's log (which the
    command has just written)."""
    if stage == "deploy_test" and hooked and in_aws(env):
        said = [*said, *_guarded("the endpoint's log retention", lambda: keep_logs(project, env))]
    if not said:
        return
    try:
        with log.open("a", encoding="utf-8") as out:
            out.writelines(f"[mlcc-ci] {line}\n" for line in said)
    except OSError:
        pass  # the log is the run's account of it, not the run


def _guarded(what: str, step: Callable[[], list[str]]) -> list[str]:
    try:
        return step()
    except Exception as exc:  # never the run's failure
        return [f"{what}: not done ({why(exc)})"]


def why(exc: Exception) -> str:
    """An exception in words no failure rule reads as the stage's own: an AWS error's code
    and operation, else the exception's type."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        return f"{code or 'an error'} from {getattr(exc, 'operation_name', 'AWS')}"
    return type(exc).__name__


def _prepare(project: Path, env: Mapping[str, str], timeout: float) -> list[str]:
    region = nestedproject.region(project, env)

    def account() -> str:
        return str(endpoint.client("sts", region, env).get_caller_identity()["Account"])

    try:
        body = nestedproject.request(project, env, account, timeout)
    except nestedproject.Unreadable as exc:
        return [f"do/submit makes its own nested CodeBuild project: {exc}"]
    return nestedproject.create(endpoint.client("codebuild", region, env), body)


def _stop(project: Path, env: Mapping[str, str]) -> list[str]:
    name = nestedproject.project_name(project, env)
    if not name:
        return []
    codebuild = endpoint.client("codebuild", nestedproject.region(project, env), env)
    stopped = nestedproject.stop_running(codebuild, name)
    return [f"stopped the nested build {build}, still in progress" for build in stopped]


def keep_logs(project: Path, env: Mapping[str, str], days: int = ENDPOINT_LOG_DAYS) -> list[str]:
    """Give the deployed endpoint's log group a retention of `days`; what was done."""
    where = endpoint.deployed(project, env)
    if where is None:
        return []
    group = ENDPOINT_LOG_GROUP.format(endpoint=where.endpoint)
    logs = endpoint.client("logs", where.region, env)
    try:
        logs.put_retention_policy(logGroupName=group, retentionInDays=days)
    except logs.exceptions.ResourceNotFoundException:
        return [f"the endpoint's log group {group} does not exist: no retention set"]
    return [f"the endpoint's log group {group} keeps its logs {days} days"]
