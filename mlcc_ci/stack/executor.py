"""CodeBuild `mlcc-ci-executor`: runs `mlcc-ci run --config-id` for one claimed record.

Two projects share one role and one buildspec: the default one is not privileged; the
`-dind` one is, because only docker-in-docker builds need it. Every time limit comes from
the catalog's stage timeouts (mlcc_ci/budget.py).
"""

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlcc_ci.budget import Budget
from mlcc_ci.mirror import MIRROR_ENV
from mlcc_ci.naming import PREFIX_ENV
from mlcc_ci.preflight import ROLE_GIVEN_ENV
from mlcc_ci.stack.assets import source_asset
from mlcc_ci.stack.buildspec import build_spec
from mlcc_ci.stack.mirror import DockerHubCache
from mlcc_ci.stack.names import RUN_SAGEMAKER_KINDS, Names
from mlcc_ci.stack.nested import DLC_ACCOUNT, NestedBuildRoles
from mlcc_ci.stack.tables import Tables
from mlcc_ci.stack.trust import service

IMAGE_DAYS = 14  # an image nothing pushed again for this long is expired


class Executor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        log_group: logs.ILogGroup,
        topic: sns.ITopic,
        platform_topic: sns.ITopic,
        sagemaker_role_arn: str,
        sagemaker_role_given: str,
        budget: Budget,
        nested_builds: list[tuple[str, str]],
        nested_lookups: list[str],
        docker_hub_mirror: str,
        names: Names,
        publish_environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.names = names
        source = s3_assets.Asset(self, "Source", path=str(source_asset()))
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=service("codebuild"),
            description="mlcc-ci executor: runs one configuration's lifecycle",
        )
        # the owners hear of regressions and fixes; the platform team of infrastructure
        # that has blocked a configuration for a day
        self.role.add_to_policy(
            iam.PolicyStatement(sid="Tell", actions=["sns:Publish"], resources=[topic.topic_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TellPlatform", actions=["sns:Publish"], resources=[platform_topic.topic_arn]
            )
        )
        # What the generated do/submit would take from the generator's local profile, which
        # CodeBuild has not: a bucket for the nested build's sources, and a repository name
        # under the prefix the role may push to.
        self.sources = s3.Bucket(
            self,
            "Sources",
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(7))],
            # `cdk destroy` empties it first: a bucket with objects cannot be deleted
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="NestedBuildSources",
                actions=["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[self.sources.bucket_arn, self.sources.arn_for_objects("*")],
            )
        )
        self.images = ecr.Repository(
            self,
            "Images",
            repository_name=names.images,
            image_scan_on_push=True,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"images not pushed again for {IMAGE_DAYS} days",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_age=Duration.days(IMAGE_DAYS),
                )
            ],
            removal_policy=RemovalPolicy.DESTROY,
            empty_on_delete=True,
        )
        self.nested = NestedBuildRoles(
            self,
            "NestedBuilds",
            names=nested_builds,
            sources=self.sources,
            images=self.images,
            prefix=names.prefix,
        )
        self._grant(tables, log_group, sagemaker_role_arn, nested_lookups)
        self.nested.grant_use(self.role)
        # docker-in-docker builds
        self.role.add_to_policy(DockerHubCache.pull_statement(names.prefix))
        environment_variables = {
            "MLCC_CI_SOURCES_BUCKET": codebuild.BuildEnvironmentVariable(
                value=self.sources.bucket_name
            ),
            "ECR_REPOSITORY_NAME": codebuild.BuildEnvironmentVariable(value=names.images),
            # where `mlcc-ci logs` and the reports find the builds' logs
            "MLCC_CI_LOG_GROUP": codebuild.BuildEnvironmentVariable(value=log_group.log_group_name),
            "MLCC_CI_TOPIC_ARN": codebuild.BuildEnvironmentVariable(value=topic.topic_arn),
            "MLCC_CI_PLATFORM_TOPIC_ARN": codebuild.BuildEnvironmentVariable(
                value=platform_topic.topic_arn
            ),
            "TABLE_NAME": codebuild.BuildEnvironmentVariable(value=tables.records.table_name),
            "RUNS_TABLE_NAME": codebuild.BuildEnvironmentVariable(value=tables.runs.table_name),
            "ROLE_ARN": codebuild.BuildEnvironmentVariable(value=sagemaker_role_arn),
            ROLE_GIVEN_ENV: codebuild.BuildEnvironmentVariable(value=sagemaker_role_given),
            # a configuration for another region would deploy where this stack's IAM does
            # not reach: the validate stage refuses it
            "MLCC_CI_STACK_REGION": codebuild.BuildEnvironmentVariable(value=Aws.REGION),
            # every name a run creates stays under the prefix this role may manage
            PREFIX_ENV: codebuild.BuildEnvironmentVariable(value=names.prefix),
            # profile.sh would otherwise look through the account's secrets for anything named
            # like a Hugging Face or NGC token, another team's included. The harness passes
            # no token at all (mlcc_ci/modeltoken.py: do/deploy would put it in plain text
            # into the inference component's environment): the role reads no secret
            "MLCC_SKIP_SECRET_DISCOVERY": codebuild.BuildEnvironmentVariable(value="1"),
            # Docker Hub base images through the account's pull-through cache (empty: none)
            MIRROR_ENV: codebuild.BuildEnvironmentVariable(value=docker_hub_mirror),
            # where post_build publishes the confidence site (empty bucket: nowhere)
            **{
                name: codebuild.BuildEnvironmentVariable(value=value)
                for name, value in (publish_environment or {}).items()
            },
        }
        self.projects: dict[bool, codebuild.Project] = {}
        for privileged in (False, True):
            name = f"{names.executor}-dind" if privileged else names.executor
            self.projects[privileged] = codebuild.Project(
                self,
                "DockerInDocker" if privileged else "Project",
                project_name=name,
                description="mlcc-ci lifecycle runner"
                + (" (privileged: docker-in-docker builds)" if privileged else ""),
                role=self.role,
                source=codebuild.Source.s3(bucket=source.bucket, path=source.s3_object_key),
                build_spec=build_spec(budget),
                timeout=Duration.minutes(budget.build_minutes),
                queued_timeout=Duration.minutes(budget.queued_minutes),
                environment=codebuild.BuildEnvironment(
                    build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                    compute_type=codebuild.ComputeType.MEDIUM,
                    privileged=privileged,
                ),
                environment_variables=environment_variables,
                logging=codebuild.LoggingOptions(
                    cloud_watch=codebuild.CloudWatchLoggingOptions(
                        log_group=log_group, prefix="build"
                    )
                ),
            )

    def _grant(
        self,
        tables: Tables,
        log_group: logs.ILogGroup,
        sagemaker_role_arn: str,
        nested_lookups: list[str],
    ) -> None:
        region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
        prefix = self.names.prefix

        def arn(service: str, resource: str) -> str:
            return f"arn:{partition}:{service}:{region}:{account}:{resource}"

        statements = [
            iam.PolicyStatement(
                sid="Results",
                actions=["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[tables.records.table_arn],
            ),
            iam.PolicyStatement(
                sid="History",
                actions=["dynamodb:DescribeTable", "dynamodb:PutItem"],
                resources=[tables.runs.table_arn],
            ),
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"],
            ),
            iam.PolicyStatement(
                sid="SageMakerRunResources",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:CreateInferenceComponent",
                    "sagemaker:DescribeInferenceComponent",
                    "sagemaker:DeleteInferenceComponent",
                    "sagemaker:AddTags",
                    # do/test's batch path and do/clean's benchmark clean-up
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:DescribeAiWorkloadConfig",
                    "sagemaker:DeleteAiWorkloadConfig",
                    "sagemaker:DeleteAiBenchmarkJob",
                ],
                resources=[arn("sagemaker", f"{kind}/{prefix}-*") for kind in RUN_SAGEMAKER_KINDS],
            ),
            iam.PolicyStatement(
                # a role SageMakerRoleArn named is read and judged before a deploy uses it
                sid="JudgeSageMakerRole",
                actions=[
                    "iam:GetRole",
                    "iam:ListRolePolicies",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                ],
                resources=[sagemaker_role_arn],
            ),
            iam.PolicyStatement(
                # the managed policies attached to it: the account's own or AWS's
                sid="ReadAttachedPolicies",
                actions=["iam:GetPolicy", "iam:GetPolicyVersion"],
                resources=[
                    f"arn:{partition}:iam::aws:policy/*",
                    f"arn:{partition}:iam::{account}:policy/*",
                ],
            ),
            iam.PolicyStatement(
                sid="PassSageMakerRole",
                actions=["iam:PassRole"],
                resources=[sagemaker_role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
            iam.PolicyStatement(
                sid="EcrLogin",
                actions=["ecr:GetAuthorizationToken"],
                resources=["*"],  # the action has no resource-level permissions
            ),
            iam.PolicyStatement(
                sid="EcrRunRepositories",
                actions=[
                    "ecr:CreateRepository",
                    "ecr:DescribeRepositories",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload",
                    "ecr:PutImage",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    # do/deploy checks the image is there; do/clean deletes it
                    "ecr:DescribeImages",
                    "ecr:ListImages",
                    "ecr:BatchDeleteImage",
                ],
                resources=[arn("ecr", f"repository/{prefix}-*")],
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
                sid="NestedBuildLogs",
                actions=["logs:DescribeLogStreams", "logs:GetLogEvents"],
                resources=[
                    arn("logs", f"log-group:/aws/codebuild/{prefix}-*"),
                    arn("logs", f"log-group:/aws/codebuild/{prefix}-*:log-stream:*"),
                ],
            ),
            iam.PolicyStatement(
                # the harness bounds how long an endpoint's logs are kept, after its deploy
                sid="EndpointLogRetention",
                actions=["logs:PutRetentionPolicy"],
                resources=[arn("logs", f"log-group:/aws/sagemaker/Endpoints/{prefix}-*")],
            ),
            iam.PolicyStatement(
                sid="ListOnly",
                actions=[
                    "codebuild:ListProjects",
                    "sagemaker:ListInferenceComponents",
                    "sagemaker:ListAiBenchmarkJobs",
                ],
                resources=["*"],  # list actions AWS scopes to no resource
            ),
        ]
        if nested_lookups:
            # do/clean looks for the nested project of every configuration, whatever it
            # built with (there is none for docker-in-docker): a read, by exact name
            statements.append(
                iam.PolicyStatement(
                    sid="LookUpNestedProjects",
                    actions=["codebuild:BatchGetProjects"],
                    resources=[arn("codebuild", f"project/{p}") for p in nested_lookups],
                )
            )
        if self.nested.projects:
            # do/submit makes, starts and waits for the nested build of the run's own project,
            # do/clean deletes it, teardown and the sweeper stop it: only the projects this
            # stack names, by exact ARN (a buildspecOverride reaches nothing else: each runs
            # as its own nested role, and PassRole is granted on those alone)
            statements.append(
                iam.PolicyStatement(
                    sid="NestedBuilds",
                    actions=[
                        "codebuild:CreateProject",
                        "codebuild:DeleteProject",
                        "codebuild:BatchGetProjects",
                        "codebuild:StartBuild",
                        "codebuild:StopBuild",
                        "codebuild:BatchGetBuilds",
                        "codebuild:ListBuildsForProject",
                    ],
                    resources=[arn("codebuild", f"project/{p}") for p in self.nested.projects],
                )
            )
        for statement in statements:
            self.role.add_to_policy(statement)
