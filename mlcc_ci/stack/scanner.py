"""Lambda `<prefix>-scanner` and its EventBridge rule (ScannerSchedule, hourly by default)."""

from aws_cdk import CfnCondition, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlcc_ci.budget import Budget
from mlcc_ci.stack.functions import schedule_rule, stack_function
from mlcc_ci.stack.names import Names
from mlcc_ci.stack.tables import Tables

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
        daily_spend_cap: str,
        schedule: str,
        budget: Budget,
        names: Names,
        reserved: "tuple[CfnCondition, str] | None" = None,
        daily_budget: str = "0",
        retest: str = "confidence",
        image_digests: str = "off",
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = stack_function(
            self,
            name=names("scanner"),
            handler=HANDLER,
            description="mlcc-ci: claims due configurations and starts one execution each",
            role_description="mlcc-ci scanner: selects due configurations and starts their runs",
            statements=[
                iam.PolicyStatement(
                    sid="SelectDue", actions=["dynamodb:Query"], resources=[tables.status_index_arn]
                ),
                iam.PolicyStatement(
                    # UpdateItem also registers anew a record whose catalog entry changed
                    sid="ClaimAndReap",
                    actions=["dynamodb:UpdateItem"],
                    resources=[tables.records.table_arn],
                ),
                iam.PolicyStatement(
                    # the catalog's records the status index does not give (tested lately),
                    # to tell whether their entry changed since
                    sid="ReadCatalogRecords",
                    actions=["dynamodb:GetItem"],
                    resources=[tables.records.table_arn],
                ),
                iam.PolicyStatement(
                    sid="RecordReapedRuns",
                    actions=["dynamodb:PutItem"],
                    resources=[tables.runs.table_arn],
                ),
                iam.PolicyStatement(
                    # concurrency slots and the day's spend: conditional writes that hold
                    # under duplicate events and overlapping scans (mlcc_ci/aws/slots.py)
                    sid="Slots",
                    actions=[
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                    ],
                    resources=[tables.slots.table_arn],
                ),
                iam.PolicyStatement(
                    sid="StartRuns",
                    actions=["states:StartExecution"],
                    resources=[state_machine.state_machine_arn],
                ),
            ],
            log_group=log_group,
            timeout=Duration.minutes(5),
            reserved=reserved,
            environment={
                "TABLE_NAME": tables.records.table_name,
                "RUNS_TABLE_NAME": tables.runs.table_name,
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "MAX_CONCURRENCY": max_concurrency,
                "STALE_HOURS": stale_hours,
                "SLOTS_TABLE_NAME": tables.slots.table_name,
                "DAILY_SPEND_CAP": daily_spend_cap,
                # the schedule confidence drives, within a budget (mlcc_ci/cadence.py)
                "DAILY_BUDGET_USD": daily_budget,
                "SCHEDULE": retest,
                "IMAGE_DIGESTS": image_digests,
                # a run may rightly stay `running` this long: queued, then built
                "BUILD_TIMEOUT_MINUTES": str(budget.running_minutes),
            },
        )
        self.rule = schedule_rule(
            self,
            name=names("scanner-schedule"),
            description="Runs the mlcc-ci scanner",
            schedule=schedule,
            function=self.function,
        )
