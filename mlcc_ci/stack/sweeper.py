"""Lambda `mlcc-ci-sweeper` on a schedule, and the SNS topics: `mlcc-ci-notifications` for the
configurations' owners, `mlcc-ci-platform` for the platform team."""

from aws_cdk import Aws, CfnCondition, Duration, Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlcc_ci import naming
from mlcc_ci.aws.sweeper import METRIC_NAMESPACE
from mlcc_ci.budget import Budget
from mlcc_ci.stack.functions import schedule_rule, stack_function
from mlcc_ci.stack.names import Names
from mlcc_ci.stack.tables import Tables

HANDLER = "mlcc_ci.aws.sweeper.handler"
# A leaked endpoint bills until the next sweep: at most this long past its run.
SCHEDULE = "rate(15 minutes)"


class Notifications(Construct):
    """Regressions, fixes and sweeps are published to the owners' topic; infrastructure that
    has blocked a configuration for a day (capacity, quota, credentials) to the platform
    team's. Nothing while all stays green."""

    def __init__(self, scope: Construct, construct_id: str, *, names: Names, email: str) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=names("notifications"),
            enforce_ssl=True,
            display_name="mlcc-ci notifications",
        )
        # the same hygiene; subscribed by the platform team themselves (the stack's output
        # PlatformTopicArn names it)
        self.platform_topic = sns.Topic(
            self,
            "PlatformTopic",
            topic_name=names("platform"),
            enforce_ssl=True,
            display_name="mlcc-ci platform",
        )
        # subscribed only when an address was given (the parameter defaults to none)
        has_email = CfnCondition(
            self, "HasEmail", expression=Fn.condition_not(Fn.condition_equals(email, ""))
        )
        subscription = sns.CfnSubscription(
            self, "Email", topic_arn=self.topic.topic_arn, protocol="email", endpoint=email
        )
        subscription.cfn_options.condition = has_email


class Sweeper(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        topic: sns.ITopic,
        log_group: logs.ILogGroup,
        budget: Budget,
        names: Names,
        reserved: "tuple[CfnCondition, str] | None" = None,
        schedule: str = SCHEDULE,
    ) -> None:
        super().__init__(scope, construct_id)
        nested = f"{names.prefix}-*-build-*"
        region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION

        def arn(resource: str) -> str:
            return f"arn:{partition}:sagemaker:{region}:{account}:{resource}/{names.prefix}-*"

        self.function = stack_function(
            self,
            name=names("sweeper"),
            handler=HANDLER,
            description="mlcc-ci: deletes SageMaker endpoints no running run owns",
            role_description="mlcc-ci sweeper: deletes endpoints no running run owns",
            statements=[
                iam.PolicyStatement(
                    sid="FindWhatRunsLeft",
                    actions=[
                        "sagemaker:ListEndpoints",
                        "sagemaker:ListEndpointConfigs",
                        "sagemaker:ListModels",
                        "sagemaker:ListInferenceComponents",
                        "codebuild:ListProjects",
                    ],
                    resources=["*"],  # list actions take no resource; deletes are scoped below
                ),
                iam.PolicyStatement(
                    sid="DeleteNestedBuildProjects",
                    actions=["codebuild:BatchGetProjects", "codebuild:DeleteProject"],
                    resources=[f"arn:{partition}:codebuild:{region}:{account}:project/{nested}"],
                ),
                iam.PolicyStatement(
                    # the nested builds whose run is over (nested_stop.py)
                    sid="StopNestedBuilds",
                    actions=[
                        "codebuild:ListBuildsForProject",
                        "codebuild:BatchGetBuilds",
                        "codebuild:StopBuild",
                    ],
                    resources=[f"arn:{partition}:codebuild:{region}:{account}:project/{nested}"],
                ),
                iam.PolicyStatement(
                    # the endpoints in service and the oldest one's age, for the alarms
                    sid="EndpointMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],  # PutMetricData has no resource: the namespace is fixed
                    conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
                ),
                iam.PolicyStatement(
                    # which hand-made endpoints the owners were already told of (told.py)
                    sid="ToldOnce",
                    actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                    resources=[tables.slots.table_arn],
                ),
                iam.PolicyStatement(
                    # when each project's runs ran: what a run made, and what it did not
                    sid="RunTimes",
                    actions=["dynamodb:Query"],
                    resources=[tables.runs.table_arn],
                ),
                iam.PolicyStatement(
                    sid="DeleteLeaked",
                    actions=[
                        "sagemaker:DescribeEndpoint",
                        "sagemaker:DeleteEndpoint",
                        "sagemaker:DescribeEndpointConfig",
                        "sagemaker:DeleteEndpointConfig",
                        "sagemaker:DescribeInferenceComponent",
                        "sagemaker:DeleteInferenceComponent",
                        "sagemaker:DeleteModel",
                    ],
                    resources=[
                        arn("endpoint"),
                        arn("endpoint-config"),
                        arn("inference-component"),
                        arn("model"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="FindNestedBuildLogs",
                    actions=["logs:DescribeLogGroups"],
                    resources=[f"arn:{partition}:logs:{region}:{account}:log-group:*"],
                ),
                iam.PolicyStatement(
                    sid="BoundNestedBuildLogs",
                    actions=["logs:PutRetentionPolicy"],
                    resources=[
                        f"arn:{partition}:logs:{region}:{account}:log-group:"
                        f"/aws/codebuild/{names.prefix}-*"
                    ],
                ),
                iam.PolicyStatement(
                    sid="RunningRuns",
                    actions=["dynamodb:Query"],
                    resources=[tables.status_index_arn],
                ),
                iam.PolicyStatement(
                    sid="Tell", actions=["sns:Publish"], resources=[topic.topic_arn]
                ),
            ],
            log_group=log_group,
            timeout=Duration.minutes(10),
            reserved=reserved,
            environment={
                "TABLE_NAME": tables.records.table_name,
                "RUNS_TABLE_NAME": tables.runs.table_name,
                "TOPIC_ARN": topic.topic_arn,
                "SLOTS_TABLE_NAME": tables.slots.table_name,
                naming.PREFIX_ENV: names.prefix,
                # a run may rightly stay `running` this long: queued, then built
                "BUILD_TIMEOUT_MINUTES": str(budget.running_minutes),
            },
        )
        schedule_rule(
            self,
            name=names("sweeper-schedule"),
            description="Runs the mlcc-ci sweeper",
            schedule=schedule,
            function=self.function,
            # the sweeper deletes only when told exactly this; a manual `{}` only lists
            event={"dryRun": False},
        )
