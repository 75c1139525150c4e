"""The roles the nested image builds run as, and their log groups, one per configuration
of the catalog.

The generated `do/submit` builds the image in a CodeBuild project of its own, and creates
that project's service role when `iam get-role` finds none. An executor allowed to create
roles could create any role — an administrator, one trusted from outside — so the stack
creates them instead, each limited to what that build does (write its logs, push to the
stack's repository, read its uploaded source), and the executor may only read and pass
them. do/submit finds its role and never creates one; do/clean's attempt to delete it is
refused, which it reports and goes on. Each role is named after its project, which carries
the region's code (IAM names are account-wide).

CodeBuild writes a project's logs to /aws/codebuild/<project>: the stack makes those groups,
with a retention, and `cdk destroy` removes them.
"""

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from mlcc_ci.stack.mirror import DockerHubCache
from mlcc_ci.stack.trust import service

NESTED_LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# AWS Deep Learning Containers, the base of the LMI/DJL images (read-only pulls).
DLC_ACCOUNT = "763104351884"


class NestedBuildRoles(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: list[tuple[str, str]],
        sources: s3.IBucket,
        images: ecr.IRepository,
        prefix: str,
    ) -> None:
        """`names`: (nested CodeBuild project, its role) for each configuration."""
        super().__init__(scope, construct_id)
        region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
        self.roles: list[iam.Role] = []
        self.projects = [project for project, _ in names]
        for project, role_name in names:
            logs.LogGroup(
                self,
                f"{project}-logs",
                log_group_name=f"/aws/codebuild/{project}",
                retention=NESTED_LOG_RETENTION,
                removal_policy=RemovalPolicy.DESTROY,
            )
            role = iam.Role(
                self,
                role_name,
                role_name=role_name,
                assumed_by=service("codebuild"),
                description=f"mlcc-ci: the nested image build {project} (do/submit)",
            )
            for statement in (
                iam.PolicyStatement(
                    sid="BuildLogs",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        f"arn:{partition}:logs:{region}:{account}:log-group:/aws/codebuild/{project}",
                        f"arn:{partition}:logs:{region}:{account}:log-group:/aws/codebuild/{project}:*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="PushImage",
                    actions=[
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:InitiateLayerUpload",
                        "ecr:UploadLayerPart",
                        "ecr:CompleteLayerUpload",
                        "ecr:PutImage",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    resources=[images.repository_arn],
                ),
                iam.PolicyStatement(
                    sid="PullDeepLearningContainers",
                    actions=[
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchCheckLayerAvailability",
                    ],
                    resources=[f"arn:{partition}:ecr:*:{DLC_ACCOUNT}:repository/*"],
                ),
                iam.PolicyStatement(
                    sid="ReadSource",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[sources.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    sid="ListSource", actions=["s3:ListBucket"], resources=[sources.bucket_arn]
                ),
                DockerHubCache.pull_statement(prefix),
            ):
                role.add_to_policy(statement)
            self.roles.append(role)

    @property
    def arns(self) -> list[str]:
        return [role.role_arn for role in self.roles]

    def grant_use(self, executor: iam.IRole) -> None:
        """What the executor may do with these roles: look them up (do/submit does before
        it builds) and pass them to CodeBuild, each by its ARN; nothing else."""
        if not self.roles:
            return
        iam.ManagedPolicy(
            self,
            "ExecutorUse",
            description="mlcc-ci executor: look up and pass the nested builds' roles",
            roles=[executor],
            statements=[
                iam.PolicyStatement(
                    sid="PassNestedBuildRoles",
                    actions=["iam:PassRole"],
                    resources=self.arns,
                    conditions={"StringEquals": {"iam:PassedToService": "codebuild.amazonaws.com"}},
                ),
                iam.PolicyStatement(
                    sid="SeeNestedBuildRoles",
                    actions=["iam:GetRole", "iam:ListRolePolicies"],
                    resources=self.arns,
                ),
            ],
        )
