"""Which AWS resources under the CI prefix a sweep may delete. Pure.

A run names everything it creates after its project (`<project>-endpoint-<time>`,
`<project>-epc-<time>`, the nested build `<project>-build-<region code>`), and the project is
read back out of the name exactly. A resource is the stack's to
delete when its name belongs to a registered project whose run made it: created while one of
that project's runs was under way (its history says when), and that run is over. A resource
with such a name made at another time — by a person trying the same project from a laptop in
the same account — is left alone, and so is one no registered project explains.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# A run's last calls may land a little after it recorded its end.
AFTER_RUN = timedelta(minutes=10)


@dataclass(frozen=True)
class Project:
    name: str  # the name its runs deploy under
    live: bool  # a run of it is under way
    windows: tuple[tuple[datetime, datetime], ...] = ()  # when its finished runs ran


@dataclass(frozen=True)
class Decision:
    resource: str
    action: str  # delete | keep | leave
    reason: str


# How the generated scripts name what they create, after the project (what follows it):
# the project is read out of the name exactly, never matched as a prefix (a record named
# `mlcc-ci` must not own every `mlcc-ci-*` endpoint).
SHAPES = {
    "endpoint": r"-endpoint-\d+",
    "endpoint-config": r"-epc-\d+",
    "model": r"-(?:batch-)?model(?:-\d+)?",
    # <project>-build-<region code> (naming.region_code: use1, apse2, usgw1, ...)
    "nested-build": r"-build-[a-z]+[0-9]+",
}
NAMES = {kind: re.compile(rf"^(?P<project>.+){shape}$") for kind, shape in SHAPES.items()}


def owner(resource: str, kind: str, projects: Iterable[Project]) -> Project | None:
    """The project the resource's name says made it, if one is registered. A name can read
    two ways (`x-batch-model-1` is project x's batch model, or project x-batch's model): of
    the registered projects it reads as, the longest name wins."""
    fits = [p for p in projects if re.fullmatch(re.escape(p.name) + SHAPES[kind], resource)]
    return max(fits, key=lambda p: len(p.name), default=None)


def decide(resource: str, kind: str, created: datetime, projects: Iterable[Project]) -> Decision:
    found = owner(resource, kind, projects)
    if found is None:
        return Decision(resource, "leave", "no registered project's runs name it")
    if found.live:
        return Decision(resource, "keep", f"a run of {found.name} is under way")
    for start, end in found.windows:
        if start <= created <= end + AFTER_RUN:
            return Decision(resource, "delete", f"left by a finished run of {found.name}")
    return Decision(
        resource, "leave", f"made outside every recorded run of {found.name} (by hand?)"
    )
