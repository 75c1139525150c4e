"""What IAM would say to a recorded call: the action it needs, the resources it names, and
whether a role's statements allow it (an explicit Deny wins; the condition operators and
keys the synthesized template uses are honoured, any other raises NotImplementedError so
nothing is allowed by accident).

Each action's resource comes from the Service Authorization Reference page of its service
("Actions, resources, and condition keys for ..."):
- SageMaker: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
- CodeBuild: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscodebuild.html
- CloudWatch Logs: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
- DynamoDB: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
  (an index is its own resource, table/<t>/index/<i>:
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-specific-table-indexes.html)
- Step Functions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
- ECR, S3, IAM, SNS, Secrets Manager: the pages list_amazonelasticcontainerregistry.html,
  list_amazons3.html, list_awsidentityandaccessmanagementiam.html, list_amazonsns.html,
  list_awssecretsmanager.html beside them.
"""

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.twin.hosting import ACCOUNT

if TYPE_CHECKING:
    from tests.twin.server import Call, Twin

# API operations whose IAM action has another name.
_ACTION = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("monitoring", "PutMetricData"): "cloudwatch:PutMetricData",  # CloudWatch's endpoint name
}
# Calls that need no permission.
_FREE = {("sts", "GetCallerIdentity")}
# Actions AWS scopes to no resource: their "Resource types" column is empty on the
# service's reference page (list_amazonsagemaker.html, list_awscodebuild.html, ...).
_ANY_RESOURCE = {
    "ecr:GetAuthorizationToken",
    "sagemaker:ListInferenceComponents",
    "sagemaker:ListEndpoints",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListModels",
    "sagemaker:ListAIBenchmarkJobs",
    "codebuild:ListProjects",
    "secretsmanager:ListSecrets",
}
# The condition operators and keys the synthesized roles use (the trust policies' ArnLike
# aws:SourceArn and StringEquals aws:SourceAccount are CloudFormation's, not a caller's); a
# statement with another raises NotImplementedError rather than being read as allowed.
_OPERATORS = {"StringEquals"}
_KNOWN_KEYS = {"iam:PassedToService", "cloudwatch:namespace"}


@dataclass(frozen=True)
class Need:
    action: str
    resources: tuple[str, ...]
    passed_to: str = ""  # iam:PassRole: the service the role is passed to
    keys: tuple[tuple[str, str], ...] = ()  # other condition keys the request carries

    @property
    def context(self) -> dict[str, str]:
        """The condition keys this request carries (iam:PassedToService: list_awsidentity
        andaccessmanagementiam.html, "Condition keys"; cloudwatch:namespace:
        list_amazoncloudwatch.html)."""
        found = dict(self.keys)
        if self.passed_to:
            found["iam:PassedToService"] = self.passed_to
        return found


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
    if action == "cloudwatch:PutMetricData":  # no resource; its namespace is a condition key
        return [Need(action, ("*",), keys=(("cloudwatch:namespace", str(p.get("Namespace"))),))]
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
        elif call.action == "StopBuild":
            names = [p["id"].split(":", 1)[0]]
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
        if call.action == "DescribeLogGroups":
            # log-group* with no name in the request: IAM checks the account's log-group:*
            return [Need(action, (_arn("logs", r, "log-group:*"),))]
        group = p["logGroupName"]
        stream = p.get("logStreamName")
        resource = f"log-group:{group}" + (f":log-stream:{stream}" if stream else "")
        return [Need(action, (_arn("logs", r, resource),))]
    if call.service == "secretsmanager":
        # a secret's ARN is its name, a hyphen and six random characters ("Secrets Manager
        # ARNs", https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html):
        # a policy on the name alone does not match it
        secret = p["SecretId"]
        resource = (
            secret
            if secret.startswith("arn:")
            else _arn("secretsmanager", r, f"secret:{secret}-Tw1n0a")
        )
        return [Need(action, (resource,))]
    if call.service == "dynamodb":
        table = _arn("dynamodb", r, f"table/{p['TableName']}")
        if p.get("IndexName"):
            table += f"/index/{p['IndexName']}"
        return [Need(action, (table,))]
    if call.service == "sns":
        return [Need(action, (p["TopicArn"],))]
    if call.service == "events":
        # list_amazoneventbridge.html: PutRule, PutTargets and DescribeRule name the rule
        rule = p.get("Name") or p["Rule"]
        return [Need(action, (_arn("events", r, f"rule/{rule}"),))]
    if call.service == "states":
        # StartExecution and ListExecutions name the stateMachine, DescribeExecution and
        # StopExecution the execution (list_awsstepfunctions.html)
        arn = p.get("executionArn") or p["stateMachineArn"]
        return [Need(action, (arn,))]
    raise KeyError(f"no IAM mapping for {call.service}:{call.action}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition(operator: str, actual: str | None, wanted: Any) -> bool:
    """StringEquals: exact, case-sensitive, any of the values (IAM User Guide, "IAM JSON
    policy elements: Condition operators": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
    A key the request does not carry matches nothing."""
    assert operator == "StringEquals", operator
    return actual is not None and actual in _listed(wanted)


def _matches(statement: dict[str, Any], need: Need, resource: str) -> bool:
    """NotResource: every resource but those ("IAM JSON policy elements: NotResource")."""
    if "NotAction" in statement:
        raise NotImplementedError("NotAction")
    if not any(
        fnmatch.fnmatchcase(need.action.lower(), a.lower()) for a in _listed(statement["Action"])
    ):
        return False
    named = any(
        fnmatch.fnmatchcase(resource, pattern)
        for pattern in _listed(statement.get("Resource", statement.get("NotResource")))
    )
    if named == ("NotResource" in statement):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        if operator not in _OPERATORS:
            raise NotImplementedError(operator)
        for key, wanted in conditions.items():
            if key not in _KNOWN_KEYS:
                raise NotImplementedError(f"{operator} {key}")
            if not _condition(operator, need.context.get(key), wanted):
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


def authorizer(
    statements: list[dict[str, Any]],
    principal: str,
    boundary: list[dict[str, Any]] | None = None,
) -> Callable[["Call"], str | None]:
    """For the simulated account: why IAM would refuse a call, or None. With a permissions
    boundary, a call must be allowed by the role's policies and by the boundary ("Evaluating
    effective permissions with boundaries", IAM User Guide,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html)."""

    def refuse(call: "Call") -> str | None:
        for need in needs(call):
            if not allowed(statements, need) or (
                boundary is not None and not allowed(boundary, need)
            ):
                return (
                    f"User: {principal} is not authorized to perform: {need.action} on "
                    f"resource: {need.resources[0]}"
                )
        return None

    return refuse


def record(twin: "Twin", call: "Call", refusal: str | None) -> None:
    """A call a principal made without going through the server (the state machine's task,
    a nested build's steps), in the account's call log as if it had."""
    from dataclasses import replace

    made = replace(call, status=403 if refusal else 200, error="AccessDenied" if refusal else "")
    with twin._lock:
        twin.calls.append(made)


def sync_build_calls(project: str, key: str) -> list["Call"]:
    """What the state machine's role is asked for by a `codebuild:startBuild.sync` task: the
    build on its project, and the EventBridge rule Step Functions keeps to learn that it
    ended ("IAM policies for calling AWS CodeBuild", in
    https://docs.aws.amazon.com/step-functions/latest/dg/connect-codebuild.html)."""
    from tests.twin.server import Call
    from tests.twin.template import REGION

    rule = "StepFunctionsGetEventForCodeBuildStartBuildRule"
    return [
        Call("codebuild", "StartBuild", key, REGION, {"projectName": project}, 0),
        Call("codebuild", "BatchGetBuilds", key, REGION, {"ids": [f"{project}:twin"]}, 0),
        *(Call("events", a, key, REGION, {"Name": rule}, 0) for a in ("PutTargets", "PutRule")),
        Call("events", "DescribeRule", key, REGION, {"Name": rule}, 0),
    ]


def nested_build_calls(
    region: str, project: dict[str, Any], source: str, repository: str
) -> list["Call"]:
    """What a nested build does as its project's service role: write its log, read its
    uploaded source (DOWNLOAD_SOURCE), log in to ECR and push the image. The actions are
    those of CodeBuild's service role policy ("Allow CodeBuild to interact with other AWS
    services": https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html)
    and of `docker push` to ECR ("IAM permissions for pushing an image to an Amazon ECR
    private repository": https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html)."""
    from tests.twin.server import Call

    role, name = project["serviceRole"], project["name"]
    bucket, _, key = source.partition("/")
    group = {"logGroupName": f"/aws/codebuild/{name}", "logStreamName": "twin"}
    push = (
        "BatchCheckLayerAvailability",
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "PutImage",
    )
    return [
        Call("logs", "CreateLogStream", role, region, group, 0),
        Call("logs", "PutLogEvents", role, region, group, 0),
        Call("s3", "GetObject", role, region, {"Bucket": bucket, "Key": key}, 0),
        Call("ecr", "GetAuthorizationToken", role, region, {}, 0),
        *(Call("ecr", a, role, region, {"repositoryName": repository}, 0) for a in push),
    ]


def refuse_nested_build(
    twin: "Twin", region: str, project: dict[str, Any], params: dict[str, Any], repository: str
) -> bool:
    """Check a nested build's steps against its service role (enforced under the role's ARN,
    see loop.enforce_roles). True when one is refused: then the build ends FAILED as
    CodeBuild ends it, with the refusal in its log, and pushes nothing."""
    check = twin.enforced.get(project.get("serviceRole", ""))
    if check is None:
        return False
    source = params.get("sourceLocationOverride", "")
    for call in nested_build_calls(region, project, source, repository):
        refusal = check(call)
        record(twin, call, refusal)
        if refusal:
            phase = {"s3": "DOWNLOAD_SOURCE", "ecr": "BUILD"}.get(call.service, "PROVISIONING")
            _fail_build(twin, region, project["name"], f"{phase}: CLIENT_ERROR: {refusal}")
            return True
    return False


def _fail_build(twin: "Twin", region: str, project: str, message: str) -> None:
    """The project's newest build ends FAILED (the server reports it so), its log says why."""
    import time

    from moto.codebuild.models import codebuild_backends
    from moto.logs.models import logs_backends

    history = codebuild_backends[ACCOUNT][region].build_metadata_history[project]
    build_id = history[-1]["id"]
    twin._failed_builds.add(build_id)
    logs = logs_backends[ACCOUNT][region]
    group, stream = f"/aws/codebuild/{project}", build_id.split(":", 1)[1]
    if group not in logs.groups:
        logs.create_log_group(group, {})
    logs.create_log_stream(group, stream)
    now = int(time.time() * 1000)
    logs.put_log_events(
        group,
        stream,
        [{"timestamp": now, "message": f"[Container] Phase {message}"}],
    )
