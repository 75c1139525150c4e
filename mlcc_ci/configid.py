"""The one function that names a deployment. Catalog and do/config registration share it."""

import hashlib

NO_MODEL = "none"


def config_id(
    deployment_config: str,
    model_name: str | None,
    instance_type: str,
    region: str,
    deployment_target: str,
) -> str:
    """First 16 hex characters of SHA-256 of the five identity fields joined by ':'.

    A field holding ':' is refused: `a:b` + `c` and `a` + `b:c` would be one deployment."""
    model = model_name or NO_MODEL
    parts = (deployment_config, model, instance_type, region, deployment_target)
    if any(":" in part for part in parts):
        raise ValueError(f"an identity field holds ':', the separator: {':'.join(parts)!r}")
    canonical = ":".join(parts)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
