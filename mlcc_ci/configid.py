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
    """First 16 hex characters of SHA-256 of the five identity fields joined by ':'."""
    model = model_name or NO_MODEL
    canonical = ":".join((deployment_config, model, instance_type, region, deployment_target))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
