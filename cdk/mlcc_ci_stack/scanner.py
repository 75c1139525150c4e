"""Lambda `mlcc-ci-scanner` and its hourly EventBridge rule."""

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlcc_ci.constants import BUILD_TIMEOUT_MINUTES, SCANNER_FUNCTION, SCHEDULE_RULE
from mlcc_ci_stack.assets import LAMBDA_PYTHON, scanner_asset
from mlcc_ci_stack.tables import Tables

HANDLER = "mlcc_ci.aws.scanner.handler"


class Scanner(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        state_machine: sfn.IStateMachine,
        log_group: logs.ILogGroup,
        max_concurrency: str,
        stale_hours: str,
        schedule: str,
    ) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="mlcc-ci scanner: selects due configurations and starts their runs",
        )
        for statement in (
            iam.PolicyStatement(
                sid="SelectDue",
                actions=["dynamodb:Query"],
                resources=[tables.status_index_arn],
            ),
            iam.PolicyStatement(
                sid="ClaimAndReap",
                actions=["dynamodb:UpdateItem"],
                resources=[tables.records.table_arn],
            ),
            iam.PolicyStatement(
                sid="RecordReapedRuns",
                actions=["dynamodb:PutItem"],
                resources=[tables.runs.table_arn],
            ),
            iam.PolicyStatement(
                sid="StartRuns",
                actions=["states:StartExecution"],
                resources=[state_machine.state_machine_arn],
            ),
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"],
            ),
        ):
            role.add_to_policy(statement)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=SCANNER_FUNCTION,
            description="mlcc-ci: claims due configurations and starts one execution each",
            runtime=lambda_.Runtime(f"python{LAMBDA_PYTHON}", lambda_.RuntimeFamily.PYTHON),
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(scanner_asset())),
            role=role,
            memory_size=256,
            # one scan at a time: a manual trigger overlapping the schedule cannot start
            # more than MaxConcurrency between them
            reserved_concurrent_executions=1,
            timeout=Duration.minutes(5),
            log_group=log_group,
            environment={
                "TABLE_NAME": tables.records.table_name,
                "RUNS_TABLE_NAME": tables.runs.table_name,
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "MAX_CONCURRENCY": max_concurrency,
                "STALE_HOURS": stale_hours,
                "BUILD_TIMEOUT_MINUTES": str(BUILD_TIMEOUT_MINUTES),
            },
        )
        self.rule = events.Rule(
            self,
            "Schedule",
            rule_name=SCHEDULE_RULE,
            description="Runs the mlcc-ci scanner",
            schedule=events.Schedule.expression(schedule),
            targets=[targets.LambdaFunction(self.function)],
        )
