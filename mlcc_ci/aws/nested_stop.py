"""Stop the nested CodeBuild builds whose run is over.

do/submit starts a nested build (`<project>-build-<region code>`) and waits for it; a run
killed meanwhile (its executor build timed out or was stopped) leaves the build running and
pushing. A sweep stops every IN_PROGRESS build (queued ones included) of a nested project
under the prefix unless a run of the project that owns it is under way, as it decides for
endpoints (sweeper.projects: a `running` record within its deadline).
"""

import fnmatch
from collections.abc import Iterable
from typing import Any

from mlcc_ci.naming import region_code
from mlcc_ci.ownership import Project

# The newest builds of a project (ListBuildsForProject sorts newest first): one run starts
# one build, so a build still in progress is among them.
NEWEST = 100


def nested_projects(codebuild: Any, prefix: str) -> list[str]:
    pattern = f"{prefix}-*-build-*"
    pages = codebuild.get_paginator("list_projects").paginate()
    return sorted(n for page in pages for n in page["projects"] if fnmatch.fnmatch(n, pattern))


def owner(project: str, region: str, projects: Iterable[Project]) -> Project | None:
    suffix = f"-build-{region_code(region)}"
    if not project.endswith(suffix):
        return None
    name = project[: -len(suffix)]
    return next((p for p in projects if p.name == name), None)


def stop_finished(
    codebuild: Any, prefix: str, projects: Iterable[Project], *, dry_run: bool
) -> dict[str, list[Any]]:
    """{"stopped": [build id], "running": [build id kept], "errors": [{resource, error}]};
    with `dry_run`, "stopped" lists what would be stopped and nothing is."""
    known = list(projects)
    region = codebuild.meta.region_name
    found: dict[str, list[Any]] = {"stopped": [], "running": [], "errors": []}
    for project in nested_projects(codebuild, prefix):
        try:
            _stop(codebuild, project, owner(project, region, known), dry_run, found)
        except Exception as exc:  # one project that resists never keeps the others
            found["errors"].append({"resource": project, "error": f"{type(exc).__name__}: {exc}"})
    return found


def _stop(
    codebuild: Any, project: str, by: Project | None, dry_run: bool, found: dict[str, list[Any]]
) -> None:
    ids = codebuild.list_builds_for_project(projectName=project, sortOrder="DESCENDING")
    ids = ids.get("ids", [])[:NEWEST]
    builds = codebuild.batch_get_builds(ids=ids).get("builds", []) if ids else []
    for build in (b for b in builds if b.get("buildStatus") == "IN_PROGRESS"):
        if by is not None and by.live:
            found["running"].append(build["id"])
        else:
            if not dry_run:
                codebuild.stop_build(id=build["id"])
            found["stopped"].append(build["id"])
