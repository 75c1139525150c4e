"""The permissions boundary of every role the stack makes.

A role's identity policy says what it needs; the boundary is the ceiling no policy added
later (by hand, or by a change to this stack) can raise: only the services the loop uses,
no IAM but looking up roles and passing the stack's own, no Lambda or Step Functions but the
stack's, no secret at all, no build of
a CodeBuild project and no change to a SageMaker resource outside the prefix. "Permissions
boundaries for IAM entities", IAM User Guide:
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
"""

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam

from mlcc_ci.stack.names import RUN_SAGEMAKER_KINDS, Names

# Every service a role of the stack calls on its own resources (its CDK helpers' included:
# S3 auto-delete, ECR emptying on delete); IAM, Lambda and Step Functions are narrower.
SERVICES = (
    "cloudwatch",
    "codebuild",
    "dynamodb",
    "ecr",
    "events",
    "logs",
    "s3",
    "sagemaker",
    "sns",
    "xray",
)


def boundary(stack: Stack, names: Names, given_role: str) -> iam.ManagedPolicy:
    """`given_role`: the role SageMakerRoleArn names (AWS::NoValue when none)."""
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
                # what the do-scripts look up, and the judging of a given SageMaker role
                sid="LookUpRoles",
                actions=[
                    "iam:GetRole",
                    "iam:ListRolePolicies",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="ReadManagedPolicies",
                actions=["iam:GetPolicy", "iam:GetPolicyVersion"],
                resources=[
                    f"arn:{partition}:iam::aws:policy/*",
                    f"arn:{partition}:iam::{account}:policy/*",
                ],
            ),
            iam.PolicyStatement(
                # only the stack's own roles (the nested builds', the endpoints'), or the
                # one SageMakerRoleArn names, and only to the services that run them
                sid="PassOnlyTheStacksRoles",
                actions=["iam:PassRole"],
                resources=[f"arn:{partition}:iam::{account}:role/{prefixed}", given_role],
                conditions={
                    "StringEquals": {
                        "iam:PassedToService": [
                            "codebuild.amazonaws.com",
                            "sagemaker.amazonaws.com",
                        ]
                    }
                },
            ),
            iam.PolicyStatement(
                sid="InvokeOnlyTheStacksFunctions",
                actions=["lambda:InvokeFunction"],
                resources=[arn("lambda", f"function:{prefixed}")],
            ),
            iam.PolicyStatement(
                sid="RunOnlyTheStacksStateMachine",
                actions=["states:StartExecution", "states:DescribeExecution"],
                resources=[
                    arn("states", f"stateMachine:{prefixed}"),
                    arn("states", f"execution:{prefixed}"),
                ],
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
                    arn("sagemaker", f"{kind}/{prefixed}") for kind in RUN_SAGEMAKER_KINDS
                ],
            ),
        ],
    )
