"""Strict shapes for the fields that name a deployment or become part of a path.

They are checked wherever they enter: the catalog, registration from a project, and every
read from the store. A value outside its shape is refused with a one-line reason, never used:
a project name is a folder under the work root, so `/etc` or `../..` must not get that far.
"""

import re

PATTERNS = {
    "deploymentConfig": r"[a-z0-9][a-z0-9-]{0,63}",
    "projectName": r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}",
    "modelName": r"[A-Za-z0-9][A-Za-z0-9_.@+/-]{0,255}",
    "instanceType": r"ml\.[a-z0-9-]+\.[a-z0-9]+",
    "region": r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]",
    "deploymentTarget": r"[a-z][a-z0-9-]{0,63}",
    "runId": r"[A-Za-z0-9_-]{1,64}",
}
_COMPILED = {k: re.compile(v) for k, v in PATTERNS.items()}


def problem(field: str, value: object) -> str | None:
    """Why `value` cannot be this field, or None."""
    if isinstance(value, str) and _COMPILED[field].fullmatch(value) and ".." not in value:
        return None
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "…"
    return f"{field} {shown} is not valid (expected {PATTERNS[field]})"
