"""Registrations from the catalog and from a generated project's do/config."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcc_ci import doconfig, fields
from mlcc_ci.catalog import Catalog, Entry, compact_json
from mlcc_ci.configid import config_id
from mlcc_ci.constants import BUILD_STRATEGIES
from mlcc_ci.errors import ConfigFileError, NotFound, UsageError
from mlcc_ci.generator import generation_params
from mlcc_ci.models import Record, Registration
from mlcc_ci.redact import looks_secret

REQUIRED = ("PROJECT_NAME", "DEPLOYMENT_CONFIG", "INSTANCE_TYPE", "AWS_REGION")
# Keys the configJson takes by name, or that describe the account rather than the deployment.
_MAPPED = {
    "PROJECT_NAME",
    "DEPLOYMENT_CONFIG",
    "AWS_REGION",
    "INSTANCE_TYPE",
    "DEPLOYMENT_TARGET",
    "BUILD_TARGET",
    "MODEL_NAME",
    "BASE_IMAGE",
    "FRAMEWORK",
    "MODEL_SERVER",
    "BUILD_STRATEGY",
}
_ACCOUNT = {"ROLE_ARN", "AWS_ACCOUNT_ID", "ACCOUNT_ID", "AWS_PROFILE", "ECR_REPOSITORY_URI"}


def from_entry(entry: Entry) -> Registration:
    config = entry.config
    return Registration(
        configId=entry.config_id,
        configJson=entry.config_json,
        deploymentConfig=entry.name,
        buildStrategy=config.get("buildStrategy", ""),
        projectName=config["projectName"],
        source="catalog",
        supportState=entry.data["support"]["state"],
        supportReason=entry.support_reason,
        baseImage=config.get("baseImage", ""),
    )


def catalog_registrations(catalog: Catalog) -> dict[str, Registration]:
    """configId -> registration of each supported entry, as the catalog makes it now: what a
    record the catalog registered is compared with to tell that its entry changed."""
    return {entry.config_id: from_entry(entry) for entry in catalog.entries if entry.supported}


def prunable(records: Iterable[Record], catalog: Catalog) -> list[Record]:
    """The records `register --prune` deletes: the catalog registered them, and the catalog
    no longer has their entry, by its name or as an entry's generator name. An entry's
    earlier identities (another model, instance type, region or target) are kept: a revert
    makes one current again."""
    names = {e.name for e in catalog.entries} | {e.generator_name for e in catalog.entries}
    return [r for r in records if r.source == "catalog" and r.deploymentConfig not in names]


def _generated_from(
    catalog: Catalog, generator_name: str, get: Callable[[str], str]
) -> Entry | None:
    """The one entry of the generator's configuration whose model, instance type and region
    the project has: a team's two entries of one configuration (`transformers-vllm`, and
    `qwen-vllm-small` with another model) each register as themselves."""
    found = [
        e
        for e in catalog.entries
        if e.generator_name == generator_name
        and (e.model_name or "", e.data.get("instanceType"), e.data.get("region"))
        == (get("MODEL_NAME"), get("INSTANCE_TYPE"), get("AWS_REGION"))
    ]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class ProjectRegistration:
    registration: Registration
    warnings: list[str] = field(default_factory=list)
    dropped_secrets: list[str] = field(default_factory=list)


def from_project(project: Path, catalog: Catalog) -> ProjectRegistration:
    """The registration a generated project describes.

    do/config is read as the project declares it, never resolved against the registering
    shell's environment: `AWS_REGION=${AWS_REGION:-us-east-1}` means us-east-1 whatever
    region the user's shell happens to have, so the same project always registers the
    same deployment."""
    path = project / "do" / "config"
    if not path.is_file():
        raise ConfigFileError(f"{path}: no do/config here; is {project} a generated project?")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot read: {exc}") from None
    values = doconfig.parse(text, {})
    for key in REQUIRED:
        if key not in values:
            raise ConfigFileError(f"{path}: required key {key} is missing")
        found = values[key]
        if found.value is None:
            raise ConfigFileError(
                f"{path}:{found.line}: {key} needs a command substitution, which mlcc-ci never "
                "runs; set it literally or through the environment"
            )
        if not found.value:
            raise ConfigFileError(f"{path}:{found.line}: {key} is empty")

    def get(key: str) -> str:
        found = values.get(key)
        return found.value or "" if found else ""

    shapes = {
        "PROJECT_NAME": "projectName",
        "DEPLOYMENT_CONFIG": "deploymentConfig",
        "INSTANCE_TYPE": "instanceType",
        "AWS_REGION": "region",
        "DEPLOYMENT_TARGET": "deploymentTarget",
        "MODEL_NAME": "modelName",
    }
    for key, shape in shapes.items():
        if get(key) and (why := fields.problem(shape, get(key))):
            raise ConfigFileError(f"{path}:{values[key].line}: {key}: {why}")
    strategy = get("BUILD_STRATEGY")
    if strategy and strategy not in BUILD_STRATEGIES:
        raise ConfigFileError(
            f"{path}:{values['BUILD_STRATEGY'].line}: BUILD_STRATEGY '{strategy}' is not one of "
            f"{', '.join(BUILD_STRATEGIES)}"
        )

    warnings: list[str] = []
    generator_name = get("DEPLOYMENT_CONFIG")
    entry: Entry | None
    try:
        entry = _generated_from(catalog, generator_name, get) or catalog.get(generator_name)
    except NotFound:
        entry = None
        warnings.append(
            f"DEPLOYMENT_CONFIG '{generator_name}' is not in the catalog: registering it "
            "as a custom configuration"
        )
    name = entry.name if entry else generator_name
    known: Mapping[str, Any] = entry.data if entry else {}
    target = get("DEPLOYMENT_TARGET") or known.get("deploymentTarget") or "realtime-inference"
    config: dict[str, Any] = {
        "projectName": get("PROJECT_NAME"),
        "deploymentConfig": generator_name,
        "architecture": known.get("architecture") or get("FRAMEWORK") or None,
        "backend": known.get("backend") or get("MODEL_SERVER") or None,
        "instanceType": get("INSTANCE_TYPE"),
        "awsRegion": get("AWS_REGION"),
        "deploymentTarget": target,
        "buildTarget": get("BUILD_TARGET") or known.get("buildTarget") or None,
        "baseImage": get("BASE_IMAGE") or None,
        "buildStrategy": get("BUILD_STRATEGY") or known.get("buildStrategy") or "codebuild-submit",
    }
    if get("MODEL_NAME"):
        config["modelName"] = get("MODEL_NAME")
    # secret by name, or by the shape of the value (AKIA..., a URL with a password, ...)
    secrets = sorted(
        k for k, v in values.items() if doconfig.is_secret(k) or looks_secret(v.value or "")
    )
    parameters = {
        k: v.value
        for k, v in values.items()
        if k not in _MAPPED and k not in _ACCOUNT and k not in secrets and v.value is not None
    }
    if parameters:
        config["parameters"] = parameters
    # What the generator was told beyond do/config (e.g. modelFormat), as it recorded it.
    answers = (generation_params(project) or {}).get("answers") or {}
    for key in known.get("generatorOptions", {}):
        if isinstance(answers, dict) and answers.get(key) is not None:
            config[key] = answers[key]
    config = {k: v for k, v in config.items() if v is not None}
    registration = Registration(
        configId=config_id(
            name, config.get("modelName"), config["instanceType"], config["awsRegion"], target
        ),
        configJson=compact_json(config),
        deploymentConfig=name,
        buildStrategy=config["buildStrategy"],
        projectName=config["projectName"],
        source="project",
        supportState=known.get("support", {}).get("state", "supported"),
        supportReason=known.get("support", {}).get("reason", ""),
        baseImage=config.get("baseImage", ""),
    )
    return ProjectRegistration(registration, warnings, secrets)


def in_region(catalog: Catalog, region: str) -> Catalog:
    """The catalog with every entry deploying to `region` (each identity changes with it): a
    stack in another region than the catalog's runs its configurations there. `region` must
    be one of the catalog's rules.regions."""
    from dataclasses import replace

    allowed = catalog.defaults.get("rules", {}).get("regions") or []
    if region not in allowed:
        raise UsageError(f"{region}: not one of the catalog's rules.regions ({', '.join(allowed)})")
    entries = [replace(e, data={**e.data, "region": region}) for e in catalog.entries]
    return replace(catalog, entries=entries)
