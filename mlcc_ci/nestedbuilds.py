"""The nested CodeBuild projects (and their roles) the stack lets the executor make: one for
each supported catalog entry that builds with codebuild-submit, named as its profile names
it in AWS (naming.py's rules; the catalog and profiles come from above it)."""

from typing import Any

from mlcc_ci.naming import (
    CATALOG_HINT,
    NESTED_ROLE_SUFFIX,
    _check_role,
    expand,
    run_project_name,
)


def nested_builds(
    catalog: Any,
    prefix: str,
    region: str | None,
    profile_name: str = "default",
    *,
    every_strategy: bool = False,
) -> list[tuple[str, str]]:
    """(nested CodeBuild project, its role) of every supported entry that builds with
    codebuild-submit (`every_strategy`: of every supported entry, whose do/clean looks for
    one all the same), as `profile_name` runs it in AWS in `region`; with no region the
    names keep `{regionCode}` for the caller to fill."""
    from mlcc_ci.profiles import load_profile

    settings = load_profile(catalog, profile_name).project_config
    template = settings.get("CODEBUILD_PROJECT_NAME")
    if not template:
        return []
    found = set()
    for entry in catalog.entries:
        if not entry.supported:
            continue
        if not every_strategy and entry.data.get("buildStrategy") != "codebuild-submit":
            continue
        try:
            name = run_project_name(entry.config, prefix, registered=False)
            project = (
                expand(template, name, region)
                if region
                else template.replace("{projectName}", name)
            )
            # the stack's names come from the catalog: an entry's name, and the prefix
            found.add((project, _check_role(project + NESTED_ROLE_SUFFIX, CATALOG_HINT)))
        except ValueError as exc:
            raise ValueError(f"{_entry_place(entry)}: {exc}") from None
    return sorted(found)


def _entry_place(entry: Any) -> str:
    """`FILE:LINE: NAME $.name`: where a catalog entry's name is written."""
    from mlcc_ci.catalog import shown_path

    line = entry.lines.get(("name",), 1)
    return f"{shown_path(entry.path)}:{line}: {entry.name} $.name"
