"""The permissions boundary of every role the stack makes.

A role's identity policy says what it needs; the boundary is the ceiling no policy added
later (by hand, or by a change to this stack) can raise: only the services the loop uses,
no IAM but looking up and passing roles, no secret at all, no build of
a CodeBuild project and no change to a SageMaker resource outside the prefix. "Permissions
boundaries for IAM entities", IAM User Guide:
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
"""

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam

from mlcc_ci_stack.names import Names

# Every service a role of the stack calls (its CDK helpers' included: S3 auto-delete, ECR
# emptying on delete).
SERVICES = (
    "cloudwatch",
    "codebuild",
    "dynamodb",
    "ecr",
    "events",
    "lambda",
    "logs",
    "s3",
    "sagemaker",
    "sns",
    "states",
    "xray",
)


def boundary(stack: Stack, names: Names) -> iam.ManagedPolicy:
    region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION

    def arn(service: str, resource: str) -> str:
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"

    prefixed = names("*")
    return iam.ManagedPolicy(
        stack,
        "PermissionsBoundary",
        description=f"{names.prefix}: the most any role of the stack may ever do",
        statements=[
            iam.PolicyStatement(
                sid="TheLoopsServices",
                actions=[f"{service}:*" for service in SERVICES],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="LookUpAndPassRoles",
                actions=[
                    "iam:GetRole",
                    "iam:ListRolePolicies",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:GetPolicy",
                    "iam:GetPolicyVersion",
                    "iam:PassRole",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="NoBuildOutsideThePrefix",
                effect=iam.Effect.DENY,
                actions=[
                    "codebuild:CreateProject",
                    "codebuild:UpdateProject",
                    "codebuild:DeleteProject",
                    "codebuild:StartBuild",
                    "codebuild:StopBuild",
                ],
                not_resources=[arn("codebuild", f"project/{prefixed}")],
            ),
            iam.PolicyStatement(
                sid="NoSageMakerChangeOutsideThePrefix",
                effect=iam.Effect.DENY,
                actions=["sagemaker:Create*", "sagemaker:Update*", "sagemaker:Delete*"],
                not_resources=[
                    arn("sagemaker", f"{kind}/{prefixed}")
                    for kind in (
                        "model",
                        "endpoint-config",
                        "endpoint",
                        "inference-component",
                        "transform-job",
                        "ai-benchmark-job",
                        "ai-workload-config",
                    )
                ],
            ),
        ],
    )
