"""The stage environment: an attempt's work folder, the configuration it runs (under the
name the stack may manage, its base image through the mirror), the environment every stage
gets and the secrets to mask in what they say; and the run's settings written into the
generated project."""

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig, generator, modeltoken, naming, projectsetup, validate_env, workdirs
from mlcc_ci.catalog import Entry
from mlcc_ci.lifecycle.context import RunContext
from mlcc_ci.lifecycle.injection import FAULT_ENV
from mlcc_ci.mirror import MIRROR_ENV, through
from mlcc_ci.models import Record, StageResult
from mlcc_ci.profiles import StageSpec
from mlcc_ci.redact import secret_values
from mlcc_ci.resources import data_path


@dataclass(frozen=True)
class Workspace:
    """What the stages of one attempt run in, together."""

    work: Path  # the run's folder: config.json, smoke-test.json, logs/
    project: Path  # the generated project, inside `work`
    config: dict[str, Any]  # the configuration as this run runs it
    env: dict[str, str]  # every stage's environment
    secrets: list[str]  # to mask in whatever a stage says
    specs: Mapping[str, StageSpec]  # each stage's command and timeout, by the profile
    refused: str | None = None  # why generate may not run under the name it must (naming)


def prepare(
    ctx: RunContext, record: Record, entry: Entry, attempt: int, notes: list[str]
) -> Workspace:
    """The attempt's folder, configuration and environment."""
    work = ctx.work_root / f"{record.deploymentConfig}-{record.runId}"
    config = json.loads(record.configJson)
    refused = _rename(ctx.env, config, notes)
    mirror = ctx.env.get(MIRROR_ENV, "")
    if mirror and config.get("baseImage"):
        pulled = through(str(config["baseImage"]), mirror)
        if pulled != config["baseImage"]:
            notes.append(f"base image {config['baseImage']} pulled through {mirror}")
            config["baseImage"] = pulled
    project = work / str(config.get("projectName", "project"))
    root = ctx.work_root.resolve()
    if not (project.resolve().is_relative_to(root) and project.resolve() != root):
        raise ValueError(f"the project folder {project} would be outside {root}")
    workdirs.make(work, ctx.store)  # marked as the store's: only its runs prune it
    env = _stage_env(ctx, record, entry, config, work, project)
    env["MLCC_ATTEMPT"] = str(attempt)
    secrets = secret_values({**ctx.env, **env})  # a token withheld from env included
    specs = ctx.profile.stage_specs(entry)
    return Workspace(work, project, config, env, secrets, specs, refused)


def _rename(env: Mapping[str, str], config: dict[str, Any], notes: list[str]) -> str | None:
    """Run under the name the stack may manage (see naming); why not, if it cannot."""
    prefix = env.get(naming.PREFIX_ENV)
    if not prefix:
        return None
    registered = str(config.get("projectName") or "")
    try:
        config["projectName"] = naming.run_project_name(config, prefix)
    except ValueError as exc:
        return str(exc)
    if config["projectName"] != registered:
        notes.append(f"runs as {config['projectName']}: AWS runs keep every name under {prefix}-")
    return None


def _stage_env(
    ctx: RunContext,
    record: Record,
    entry: Entry,
    config: Mapping[str, Any],
    work: Path,
    project: Path,
) -> dict[str, str]:
    config_file = work / "config.json"
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    smoke_file = work / "smoke-test.json"
    smoke_file.write_text(json.dumps(entry.data.get("smokeTest", {}), indent=2) + "\n")
    env = {k: v for k, v in ctx.env.items() if k != FAULT_ENV}
    env.update(
        MLCC_CONFIG_FILE=str(config_file),
        MLCC_SMOKE_TEST=str(smoke_file),
        MLCC_WORK_DIR=str(work),
        MLCC_PROJECT_DIR=str(project),
        MLCC_CONFIG_ID=record.configId,
        MLCC_RUN_ID=record.runId or "",
        MLCC_PROFILE=ctx.profile.name,
        MLCC_PYTHON=sys.executable,
        MLCC_EXAMPLES=str(data_path("examples")),
        BUILD_STRATEGY=str(config.get("buildStrategy", "")),
        MLCC_DEPLOY_REGION=str(config.get("awsRegion", "")),
        MLCC_DEPLOYMENT_TARGET=str(config.get("deploymentTarget", "")),
    )
    installed = generator.find(ctx.profile.generator, env)
    if installed is not None:
        env.update(installed.stage_env(env))
    # The generated do-scripts refuse to run outside a Python virtual environment, and
    # a CI image has none: every stage runs in one that sees the harness's boto3.
    env.update(validate_env.activation(generator.home(env) / "validate-env", env))
    return modeltoken.withheld(env)  # no stage gets a Hugging Face token (modeltoken)


def settle(ctx: RunContext, space: Workspace, result: StageResult) -> StageResult:
    """Write the profile's settings into the generated do/config (see projectsetup)."""
    name = str(space.config["projectName"])
    try:
        # do/config's own region: the one its scripts (do/submit) will use
        region = doconfig.values(space.project / "do" / "config", ctx.env).get("AWS_REGION")
        projectsetup.apply(space.project, ctx.profile.project_config, name, region)
    except (OSError, ValueError) as exc:
        note = f"could not write the run's settings into do/config: {exc}"
        return replace(result, status="fail", errorSummary=note)
    return result
