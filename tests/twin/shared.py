"""A shared account: what is already there when the stack is deployed into an account
other people use. Another team's hosting (an endpoint on a model, an endpoint with an
inference component, configs and models of their own), their CodeBuild projects and log
groups, names that contain the CI prefix without starting with it, an `mlcc-ci-*` endpoint
someone deployed by hand before any run, and what the generator's own `bootstrap`
(@aws/ml-container-creator 1.6.0) leaves: its SageMaker role, its ECR repository and its
source bucket.

Not here: the generator's own `infra/ci-harness` stack. It uses the same fixed names as
ours (mlcc-ci-table, ml-container-creator-ci, mlcc-ci-scanner, mlcc-ci-scanner-schedule,
mlcc-ci-orchestrator, mlcc-ci-executor, ...), so our stack cannot deploy beside it until
issue 29 renames ours; an account holding it is a deployment failure, not a sweep.
"""

import json
import time
from typing import Any

from tests.twin.hosting import ACCOUNT
from tests.twin.server import Twin
from tests.twin.template import REGION

TEAM = "recsys"  # the other team
BOOTSTRAP_ROLE = "mlcc-sagemaker-execution-role"  # the generator's bootstrap, 1.6.0
BOOTSTRAP_REPOSITORY = "ml-container-creator"
BOOTSTRAP_BUCKET = f"codebuild-source-{ACCOUNT}-{REGION}"
# a registered project's endpoint, deployed by a person with the generated do/deploy (its
# names: <project>-endpoint-<epoch seconds>) before any run
BY_HAND_AT = "1764892800"  # 2025-12-05
BY_HAND = f"mlcc-ci-triton-fil-endpoint-{BY_HAND_AT}"
BY_HAND_CONFIG = f"mlcc-ci-triton-fil-epc-{BY_HAND_AT}"
BY_HAND_COMPONENT = f"mlcc-ci-triton-fil-default-{BY_HAND_AT}"
# the prefix inside a name, not at its start: never the sweeper's
LOOKALIKE = "team-mlcc-ci-shadow"

MODELS = (f"{TEAM}-ranker-model", f"{LOOKALIKE}-model")
CONFIGS = (f"{TEAM}-ranker-epc", f"{TEAM}-ic-epc", f"{LOOKALIKE}-epc", BY_HAND_CONFIG)
ENDPOINTS = (f"{TEAM}-ranker", f"{TEAM}-ic-endpoint", BY_HAND)
COMPONENTS = (f"{TEAM}-ic-ranker", BY_HAND_COMPONENT)
PROJECTS = (f"{TEAM}-train", f"{TEAM}-images-build", f"{LOOKALIKE}-build")
LOG_GROUPS = tuple(f"/aws/codebuild/{p}" for p in PROJECTS)
ROLES = (f"{TEAM}-sagemaker-role", f"{TEAM}-codebuild-role", BOOTSTRAP_ROLE)
REPOSITORIES = (f"{TEAM}-images", BOOTSTRAP_REPOSITORY)
BUCKETS = (f"{TEAM}-artifacts", BOOTSTRAP_BUCKET)


def _role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def fill(twin: Twin, owner: dict[str, Any]) -> None:
    """Put the foreign resources into the account, as their owners made them (with the
    account owner's `owner` clients: no role of the stack's)."""
    iam, sm = owner["iam"], owner["sagemaker"]
    for name in ROLES:
        service = "codebuild" if "codebuild" in name else "sagemaker"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_role(service))
    for name in REPOSITORIES:
        owner["ecr"].create_repository(repositoryName=name)
    twin.push_image(REGION, f"{TEAM}-images", f"{TEAM}-ranker", "", ["latest"])
    # the person deployed the generated project with the generator's defaults
    twin.push_image(REGION, BOOTSTRAP_REPOSITORY, "triton-fil", "", ["triton-fil-latest"])
    for name in BUCKETS:
        owner["s3"].create_bucket(Bucket=name)
        owner["s3"].put_object(Bucket=name, Key="kept.txt", Body=b"theirs")

    variant = {
        "VariantName": "AllTraffic",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    for model in MODELS:
        sm.create_model(
            ModelName=model,
            ExecutionRoleArn=_arn("role", f"{TEAM}-sagemaker-role"),
            PrimaryContainer={"Image": f"{registry}/{TEAM}-images:latest"},
        )
    configs = {
        f"{TEAM}-ranker-epc": [{**variant, "ModelName": MODELS[0]}],
        f"{LOOKALIKE}-epc": [{**variant, "ModelName": MODELS[1]}],
        f"{TEAM}-ic-epc": [variant],
        BY_HAND_CONFIG: [variant],
    }
    for config, variants in configs.items():
        extra = (
            {} if "ModelName" in variants[0] else {"ExecutionRoleArn": _arn("role", BOOTSTRAP_ROLE)}
        )
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=variants, **extra)
    on = {
        f"{TEAM}-ranker": f"{TEAM}-ranker-epc",
        f"{TEAM}-ic-endpoint": f"{TEAM}-ic-epc",
        BY_HAND: BY_HAND_CONFIG,
    }
    for endpoint, config in on.items():
        sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    for endpoint in on:
        sm.get_waiter("endpoint_in_service").wait(
            EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    components = {
        f"{TEAM}-ic-ranker": (f"{TEAM}-ic-endpoint", f"{registry}/{TEAM}-images:latest"),
        BY_HAND_COMPONENT: (BY_HAND, f"{registry}/{BOOTSTRAP_REPOSITORY}:triton-fil-latest"),
    }
    for component, (endpoint, image) in components.items():
        sm.create_inference_component(
            InferenceComponentName=component,
            EndpointName=endpoint,
            VariantName="AllTraffic",
            Specification={
                "Container": {"Image": image},
                "ComputeResourceRequirements": {
                    "NumberOfCpuCoresRequired": 1,
                    "MinMemoryRequiredInMb": 1024,
                },
            },
            RuntimeConfig={"CopyCount": 1},
        )
    for component in components:  # botocore has no waiter for inference components
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            described = sm.describe_inference_component(InferenceComponentName=component)
            if described["InferenceComponentStatus"] == "InService":
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"{component}: {described}")
    for project in PROJECTS:
        owner["codebuild"].create_project(
            name=project,
            source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole=_arn("role", f"{TEAM}-codebuild-role"),
        )
    for group in LOG_GROUPS:
        owner["logs"].create_log_group(logGroupName=group)


def _without(doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in (*keys, "ResponseMetadata")}


def describe(owner: dict[str, Any]) -> dict[str, Any]:
    """Everything about the foreign resources an owner could see, to compare before and
    after: a missing one is described as None."""
    sm, found = owner["sagemaker"], {}

    def each(kind: str, names: tuple[str, ...], call: Any) -> None:
        for name in names:
            try:
                found[f"{kind} {name}"] = call(name)
            except sm.exceptions.ClientError:
                found[f"{kind} {name}"] = None

    each("model", MODELS, lambda n: _without(sm.describe_model(ModelName=n)))
    each("config", CONFIGS, lambda n: _without(sm.describe_endpoint_config(EndpointConfigName=n)))
    each("endpoint", ENDPOINTS, lambda n: _without(sm.describe_endpoint(EndpointName=n)))
    each(
        "component",
        COMPONENTS,
        lambda n: _without(sm.describe_inference_component(InferenceComponentName=n)),
    )
    projects = owner["codebuild"].batch_get_projects(names=list(PROJECTS))
    for project in projects["projects"]:
        found[f"project {project['name']}"] = project
    for name in set(PROJECTS) - {p["name"] for p in projects["projects"]}:
        found[f"project {name}"] = None
    groups = owner["logs"].describe_log_groups(logGroupNamePrefix="/aws/codebuild/")["logGroups"]
    for group in LOG_GROUPS:
        found[f"log group {group}"] = next((g for g in groups if g["logGroupName"] == group), None)
    roles = {r["RoleName"]: r for r in owner["iam"].list_roles()["Roles"]}
    for name in ROLES:
        found[f"role {name}"] = roles.get(name)
    for name in REPOSITORIES:
        images = owner["ecr"].describe_images(repositoryName=name)["imageDetails"]
        found[f"repository {name}"] = sorted(t for i in images for t in i.get("imageTags", []))
    for name in BUCKETS:
        listed = owner["s3"].list_objects_v2(Bucket=name).get("Contents", [])
        found[f"bucket {name}"] = sorted((o["Key"], o["ETag"]) for o in listed)
    return found
