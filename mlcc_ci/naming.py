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


# do/submit names its nested CodeBuild project's role `<project>-service-role`.
NESTED_ROLE_SUFFIX = "-service-role"


def nested_build_role(project_name: str, project_config: Mapping[str, str]) -> str | None:
    """The IAM role do/submit looks for before it builds `project_name`'s image, given the
    profile's projectConfig (CODEBUILD_PROJECT_NAME); None when the profile names none."""
    template = project_config.get("CODEBUILD_PROJECT_NAME")
    if not template:
        return None
    return template.replace("{projectName}", project_name) + NESTED_ROLE_SUFFIX


def nested_builds(
    catalog: Any, prefix: str, profile_name: str = "default"
) -> list[tuple[str, str]]:
    """(nested CodeBuild project, its role) of every supported entry that builds with
    codebuild-submit, as `profile_name` runs it in AWS."""
    from mlcc_ci.profiles import load_profile

    settings = load_profile(catalog, profile_name).project_config
    template = settings.get("CODEBUILD_PROJECT_NAME")
    found = set()
    for entry in catalog.entries:
        if not entry.supported or entry.data.get("buildStrategy") != "codebuild-submit":
            continue
        name = run_project_name(entry.config, prefix)
        role = nested_build_role(name, settings)
        if template and role:
            found.add((template.replace("{projectName}", name), role))
    return sorted(found)
