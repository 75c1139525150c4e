"""Which records describe the same deployment. Pure.

The configId is a hash of exactly the fields it is given, and writers disagree on them: the
generator's own `do/register --ci` hashes seven fields, an older catalog said
`managed-inference` where the generator now says `realtime-inference`. Records whose five
identity fields agree after normalizing such aliases are one deployment: one row in reports,
one run per scan. This is matching only; configIds are never recomputed.
"""

import json
from collections.abc import Collection, Iterable
from typing import NamedTuple

from mlcc_ci.models import Record

TARGET_ALIASES = {"managed-inference": "realtime-inference"}


class Deployment(NamedTuple):
    generator: str  # the generator's own configuration id, e.g. triton-onnxruntime
    model: str
    instanceType: str
    region: str
    target: str


def deployment(record: Record) -> Deployment:
    try:
        config = json.loads(record.configJson)
    except ValueError:
        config = {}
    config = config if isinstance(config, dict) else {}
    target = str(config.get("deploymentTarget") or "")
    return Deployment(
        generator=str(config.get("deploymentConfig") or record.deploymentConfig),
        model=str(config.get("modelName") or "none"),
        instanceType=str(config.get("instanceType") or ""),
        region=str(config.get("awsRegion") or config.get("region") or ""),
        target=TARGET_ALIASES.get(target, target),
    )


def canonical_first(records: Iterable[Record], preferred: Collection[str] = ()) -> list[Record]:
    """The record that stands for a deployment first: one whose configId is `preferred` (the
    catalog's), then one mlcc-ci wrote (it has a version), then the oldest."""
    return sorted(
        records,
        key=lambda r: (r.configId not in preferred, r.version == 0, r.createdAt, r.configId),
    )


def groups(records: Iterable[Record], preferred: Collection[str] = ()) -> list[list[Record]]:
    """Records grouped by deployment, each group canonical first, in first-seen order."""
    found: dict[Deployment, list[Record]] = {}
    for record in records:
        found.setdefault(deployment(record), []).append(record)
    return [canonical_first(group, preferred) for group in found.values()]
