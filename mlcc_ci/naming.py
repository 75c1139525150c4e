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
DEFAULT_PREFIX = "mlcc-ci"  # the seed's names (constants.RESOURCE_PREFIX)
# A stack's prefix: short enough that every run's names fit their services' limits
# (MAX_PROJECT_NAME, the nested builds' 64-character roles).
MAX_PREFIX = 12
_PREFIX = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot name a stack's resources, or None. Every policy of the stack
    reaches `<prefix>-*`: a prefix that begins the default one (`mlcc`) would reach the
    generator's own CI stack's `mlcc-ci-*` resources."""
    if not _PREFIX.match(prefix) or len(prefix) > MAX_PREFIX:
        return (
            f"prefix {prefix!r}: lowercase letters, digits and single hyphens, starting with "
            f"a letter, at most {MAX_PREFIX} characters"
        )
    if prefix != DEFAULT_PREFIX and DEFAULT_PREFIX.startswith(f"{prefix}-"):
        return (
            f"prefix {prefix!r}: its policies' {prefix}-* would reach the {DEFAULT_PREFIX}-* "
            "resources of the generator's own CI stack; choose one that does not begin "
            f"{DEFAULT_PREFIX}"
        )
    return None


# The generated scripts append up to 20 characters (`-endpoint-<epoch seconds>`) and
# SageMaker names stop at 63; IAM role names (`-build-service-role`) at 64.
MAX_PROJECT_NAME = 43
# What to do about a name too long, said to whom it concerns: a project registered by its
# own `do/register --ci` chose its name; a catalog entry's comes from the entry's name.
REGISTERED_HINT = "register the project under a shorter name"
CATALOG_HINT = "rename the catalog entry (or choose a shorter --prefix)"
_VALID = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


def run_project_name(
    config: Mapping[str, Any], prefix: str | None, *, registered: bool = True
) -> str:
    """The projectName a run generates and deploys: the registered one, under `prefix`
    when one is required. ValueError when no valid name results, saying what to shorten
    (`registered`: the project's registered name, else the catalog entry's name)."""
    name = str(config.get("projectName") or "")
    if prefix and prefix != DEFAULT_PREFIX and name.startswith(f"{DEFAULT_PREFIX}-"):
        # a catalog entry's default name moves under the stack's own prefix
        name = name[len(DEFAULT_PREFIX) + 1 :]
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
            f"scripts derive from it allow at most {MAX_PROJECT_NAME}: "
            + ("register it under a shorter PROJECT_NAME" if registered else CATALOG_HINT)
        )
    return name


# do/submit names its nested CodeBuild project's role `<project>-service-role`. IAM names are
# account-wide and project names regional, so the profile's project name carries the
# region's code (`{regionCode}`): stacks in two regions of one account never want one role.
NESTED_ROLE_SUFFIX = "-service-role"
MAX_ROLE_NAME = 64
_COMPASS = {
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "central": "c",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "gov": "g",
    "iso": "i",
    "isob": "ib",
    "isof": "if",
    "isoe": "ie",
}


def region_code(region: str) -> str:
    """A region's short code, as operators write it: us-east-1 -> use1, ap-southeast-2 ->
    apse2, us-gov-west-1 -> usgw1. ValueError for what is not a region name."""
    parts = region.split("-")
    if len(parts) < 3 or not parts[-1].isdigit() or not all(p.isalpha() for p in parts[:-1]):
        raise ValueError(f"{region!r} is not an AWS region name")
    middle = "".join(_COMPASS.get(word, word[0]) for word in parts[1:-1])
    return f"{parts[0]}{middle}{parts[-1]}"


def expand(template: str, project_name: str, region: str | None = None) -> str:
    """A projectConfig value for a run: `{projectName}`, and `{regionCode}` when the run has
    a region (ValueError when the template needs one and there is none)."""
    value = template.replace("{projectName}", project_name)
    if "{regionCode}" in value:
        if not region:
            raise ValueError(f"{template!r} names {{regionCode}} and the run has no AWS region")
        value = value.replace("{regionCode}", region_code(region))
    return value


# The longest code of a region (apse4, usgw1, usibe1): names checked for any region use it.
LONGEST_REGION_CODE = 6
REGION_CODE = "{regionCode}"


def role_length(role: str) -> int:
    """The length of a nested build role, `{regionCode}` counted as the longest code."""
    return len(role.replace(REGION_CODE, "x" * LONGEST_REGION_CODE))


def _check_role(role: str, hint: str = REGISTERED_HINT) -> str:
    length = role_length(role)
    if length > MAX_ROLE_NAME:
        raise ValueError(
            f"the nested build role {role!r} would be {length} characters (IAM allows "
            f"{MAX_ROLE_NAME}): {hint}"
        )
    return role


def nested_build_role(
    project_name: str,
    project_config: Mapping[str, str],
    region: str | None = None,
    *,
    registered: bool = True,
) -> str | None:
    """The IAM role do/submit looks for before it builds `project_name`'s image in `region`,
    given the profile's projectConfig (CODEBUILD_PROJECT_NAME); None when the profile names
    none. ValueError when IAM would refuse the name, saying what to shorten (`registered`:
    the project's registered name, else the catalog entry's name)."""
    template = project_config.get("CODEBUILD_PROJECT_NAME")
    if not template:
        return None
    hint = REGISTERED_HINT if registered else CATALOG_HINT
    return _check_role(expand(template, project_name, region) + NESTED_ROLE_SUFFIX, hint)


def longest_project_name(project_config: Mapping[str, str]) -> int:
    """The longest run project name (prefix included) whose names fit in every region: the
    generated scripts' limit, and the nested build role's with the longest region code."""
    longest = MAX_PROJECT_NAME
    template = project_config.get("CODEBUILD_PROJECT_NAME")
    if template and "{projectName}" in template:
        fixed = role_length(template.replace("{projectName}", "") + NESTED_ROLE_SUFFIX)
        longest = min(longest, (MAX_ROLE_NAME - fixed) // template.count("{projectName}"))
    return longest


def longest_entry_name(project_config: Mapping[str, str], prefix: str = DEFAULT_PREFIX) -> int:
    """The longest catalog entry name that fits (its runs deploy as `<prefix>-<name>`)."""
    return longest_project_name(project_config) - len(prefix) - 1


# The shipped defaults' nested build project (catalog/_defaults.yaml, profile default), and
# so the longest entry name they allow: what `catalog add` advertises.
SHIPPED_BUILD_PROJECT = "{projectName}-build-{regionCode}"
MAX_ENTRY_NAME = longest_entry_name({"CODEBUILD_PROJECT_NAME": SHIPPED_BUILD_PROJECT})


def defaults_project_config(defaults: Mapping[str, Any]) -> dict[str, str]:
    """What a catalog's defaults (merged) have the `default` profile write into a generated
    do/config: what the stack names its nested builds after."""
    profile = (defaults.get("profiles") or {}).get("default") or {}
    return {str(k): str(v) for k, v in (profile.get("projectConfig") or {}).items()}


def longest_catalog_name(defaults: Mapping[str, Any]) -> int:
    """The longest entry name a catalog with these defaults can deploy in every region,
    under the default prefix."""
    return longest_entry_name(defaults_project_config(defaults))


def entry_name_problem(name: str, defaults: Mapping[str, Any]) -> str | None:
    """Why a run of catalog entry `name` could not be named in AWS (and the stack refuses
    to synthesize it): its project name, or its nested build's IAM role, would be too long
    with the default prefix in some region."""
    longest = longest_catalog_name(defaults)
    if len(name) <= longest:
        return None
    project = f"{DEFAULT_PREFIX}-{name}"
    template = defaults_project_config(defaults).get("CODEBUILD_PROJECT_NAME") or ""
    role = template.replace("{projectName}", project) + NESTED_ROLE_SUFFIX
    if template and role_length(role) > MAX_ROLE_NAME:
        why = (
            f"its nested build role {role} would be {role_length(role)} characters with the "
            f"longest region code (IAM allows {MAX_ROLE_NAME})"
        )
    else:
        why = (
            f"its project name {project} would be {len(project)} characters (the generated "
            f"scripts allow {MAX_PROJECT_NAME})"
        )
    return f"'{name}' is {len(name)} characters, at most {longest} fit: in AWS {why}"
