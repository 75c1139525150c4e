"""What IAM would say to a recorded call: the action it needs, the resources it names, and
whether a role's statements allow it (an explicit Deny wins; conditions on
iam:PassedToService are honoured)."""

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.twin.hosting import ACCOUNT

if TYPE_CHECKING:
    from tests.twin.server import Call

# API operations whose IAM action has another name.
_ACTION = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
}
# Calls that need no permission.
_FREE = {("sts", "GetCallerIdentity")}
# Actions AWS scopes to no resource.
_ANY_RESOURCE = {
    "ecr:GetAuthorizationToken",
    "sagemaker:ListInferenceComponents",
    "sagemaker:ListEndpoints",
    "sagemaker:ListAIBenchmarkJobs",
    "codebuild:ListProjects",
    "secretsmanager:ListSecrets",
}


@dataclass(frozen=True)
class Need:
    action: str
    resources: tuple[str, ...]
    passed_to: str = ""  # iam:PassRole: the service the role is passed to


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def needs(call: "Call") -> list[Need]:
    """The permissions one call needs."""
    if (call.service, call.action) in _FREE:
        return []
    action = _ACTION.get((call.service, call.action), f"{call.service}:{call.action}")
    p, r = call.params, call.region
    if action in _ANY_RESOURCE:
        return [Need(action, ("*",))]
    if call.service == "sagemaker":
        kinds = {
            "EndpointConfigName": "endpoint-config",
            "EndpointName": "endpoint",
            "InferenceComponentName": "inference-component",
            "ModelName": "model",
            "AIWorkloadConfigName": "ai-workload-config",
        }
        key = next(
            k
            for k in (
                "InferenceComponentName",
                "EndpointName",
                "EndpointConfigName",
                "ModelName",
                "AIWorkloadConfigName",
            )
            if p.get(k)
        )
        found = [Need(action, (_arn("sagemaker", r, f"{kinds[key]}/{p[key].lower()}"),))]
        if action == "sagemaker:CreateEndpoint":
            config = _arn("sagemaker", r, f"endpoint-config/{p['EndpointConfigName'].lower()}")
            found.append(Need(action, (config,)))
        if p.get("ExecutionRoleArn"):
            found.append(Need("iam:PassRole", (p["ExecutionRoleArn"],), "sagemaker.amazonaws.com"))
        return found
    if call.service == "ecr":
        names = p.get("repositoryNames") or [p.get("repositoryName")]
        return [Need(action, tuple(_arn("ecr", r, f"repository/{n}") for n in names))]
    if call.service == "codebuild":
        if call.action == "BatchGetBuilds":
            names = [i.split(":", 1)[0] for i in p["ids"]]
        else:
            names = p.get("names") or [p.get("name") or p.get("projectName")]
        found = [Need(action, tuple(_arn("codebuild", r, f"project/{n}") for n in names))]
        if p.get("serviceRole"):
            found.append(Need("iam:PassRole", (p["serviceRole"],), "codebuild.amazonaws.com"))
        return found
    if call.service == "iam":
        return [Need(action, (f"arn:aws:iam::{ACCOUNT}:role/{p['RoleName']}",))]
    if call.service == "s3":
        bucket, key = p["Bucket"], p.get("Key", "")
        return [
            Need(action, (f"arn:aws:s3:::{bucket}/{key}" if key else f"arn:aws:s3:::{bucket}",))
        ]
    if call.service == "logs":
        group = p["logGroupName"]
        stream = p.get("logStreamName")
        resource = f"log-group:{group}" + (f":log-stream:{stream}" if stream else "")
        return [Need(action, (_arn("logs", r, resource),))]
    if call.service == "secretsmanager":
        return [Need(action, (_arn("secretsmanager", r, f"secret:{p['SecretId']}"),))]
    if call.service == "dynamodb":
        table = _arn("dynamodb", r, f"table/{p['TableName']}")
        if p.get("IndexName"):
            table += f"/index/{p['IndexName']}"
        return [Need(action, (table,))]
    if call.service == "sns":
        return [Need(action, (p["TopicArn"],))]
    raise KeyError(f"no IAM mapping for {call.service}:{call.action}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(statement: dict[str, Any], need: Need, resource: str) -> bool:
    if not any(
        fnmatch.fnmatchcase(need.action.lower(), a.lower()) for a in _listed(statement["Action"])
    ):
        return False
    if not any(
        fnmatch.fnmatchcase(resource, pattern) for pattern in _listed(statement["Resource"])
    ):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        if operator != "StringEquals":
            raise NotImplementedError(operator)
        for key, wanted in conditions.items():
            if key != "iam:PassedToService" or need.passed_to not in _listed(wanted):
                return False
    return True


def allowed(statements: Iterable[dict[str, Any]], need: Need) -> bool:
    statements = list(statements)
    for resource in need.resources:
        if any(s["Effect"] == "Deny" and _matches(s, need, resource) for s in statements):
            return False
        if not any(s["Effect"] == "Allow" and _matches(s, need, resource) for s in statements):
            return False
    return True


def authorizer(statements: list[dict[str, Any]], principal: str) -> Callable[["Call"], str | None]:
    """For the simulated account: why IAM would refuse a call, or None."""

    def refuse(call: "Call") -> str | None:
        for need in needs(call):
            if not allowed(statements, need):
                return (
                    f"User: {principal} is not authorized to perform: {need.action} on "
                    f"resource: {need.resources[0]}"
                )
        return None

    return refuse
