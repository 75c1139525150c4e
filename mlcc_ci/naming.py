"""The name a run deploys under in AWS. Pure.

Everything a run creates there (endpoints, endpoint configs, inference components, the
nested CodeBuild project and its role, image tags) is named after the project. The
executor's IAM and the sweeper reach only names under the CI prefix, so a project
registered under a name of its own (a generated project's `do/register --ci` keeps its
PROJECT_NAME) runs as `<prefix>-<name>`: same project, a name the stack may manage.
"""

import re
from collections.abc import Mapping
from typing import Any

PREFIX_ENV = "MLCC_CI_RESOURCE_PREFIX"
# The generated scripts append up to 20 characters (`-endpoint-<epoch seconds>`) and
# SageMaker names stop at 63; IAM role names (`-build-service-role`) at 64.
MAX_PROJECT_NAME = 43
_VALID = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


def run_project_name(config: Mapping[str, Any], prefix: str | None) -> str:
    """The projectName a run generates and deploys: the registered one, under `prefix`
    when one is required. ValueError when no valid name results."""
    name = str(config.get("projectName") or "")
    if prefix and not name.startswith(f"{prefix}-"):
        name = f"{prefix}-{name}"
    if not _VALID.match(name):
        raise ValueError(
            f"project name {name!r} is not a valid SageMaker resource name (letters, digits "
            "and single hyphens)"
        )
    if len(name) > MAX_PROJECT_NAME:
        raise ValueError(
            f"project name {name!r} is {len(name)} characters; the names the generated "
            f"scripts derive from it allow at most {MAX_PROJECT_NAME}: register it under a "
            "shorter PROJECT_NAME"
        )
    return name
