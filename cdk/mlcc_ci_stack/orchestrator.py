"""Step Functions `mlcc-ci-orchestrator`: one execution runs one claimed configuration.

It starts the executor build and waits for it (`codebuild:startBuild.sync`). When the build
fails or times out without having written its result, the failure is written to the record
(conditionally: only while the record is still `running` with this run's id) and to the
history, through the DynamoDB service integration.
"""

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlcc_ci.budget import Budget
from mlcc_ci.constants import RUNNING
from mlcc_ci_stack.buildspec import LOG_STREAM_PREFIX
from mlcc_ci_stack.executor import Executor
from mlcc_ci_stack.names import Names
from mlcc_ci_stack.tables import Tables

FAILURE_MESSAGE = (
    "executor build failed or timed out without writing its result ({}); "
    "see its log stream under build/{}/{}/"
)


def _start_build(
    scope: Construct, name: str, project_name: str, log_group: str, timeout_seconds: int
) -> sfn.CustomState:
    # CodeBuild takes the stream name as a prefix and appends the build's UUID
    pattern = LOG_STREAM_PREFIX.format(configId="{}", runId="{}")
    stream = f"States.Format('{pattern}', $.configId, $.runId)"
    return sfn.CustomState(
        scope,
        name,
        state_json={
            "Type": "Task",
            "Resource": f"arn:{Aws.PARTITION}:states:::codebuild:startBuild.sync",
            "Parameters": {
                "ProjectName": project_name,
                "EnvironmentVariablesOverride": [
                    {"Name": "CONFIG_ID", "Type": "PLAINTEXT", "Value.$": "$.configId"},
                    {"Name": "RUN_ID", "Type": "PLAINTEXT", "Value.$": "$.runId"},
                    {"Name": "BUILD_STRATEGY", "Type": "PLAINTEXT", "Value.$": "$.buildStrategy"},
                ],
                "LogsConfigOverride": {
                    "CloudWatchLogs": {
                        "Status": "ENABLED",
                        "GroupName": log_group,
                        "StreamName.$": stream,
                    }
                },
            },
            "ResultSelector": {"buildId.$": "$.Build.Id", "status.$": "$.Build.BuildStatus"},
            "ResultPath": "$.build",
            "TimeoutSeconds": timeout_seconds,
        },
    )


class Orchestrator(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Tables,
        executor: Executor,
        log_group: logs.ILogGroup,
        budget: Budget,
        names: Names,
    ) -> None:
        super().__init__(scope, construct_id)
        S = tasks.DynamoAttributeValue.from_string
        now = sfn.JsonPath.string_at("$$.State.EnteredTime")
        message = sfn.JsonPath.format(
            FAILURE_MESSAGE,
            sfn.JsonPath.string_at("$.error.Error"),
            sfn.JsonPath.string_at("$.configId"),
            sfn.JsonPath.string_at("$.runId"),
        )
        record_failure = tasks.DynamoUpdateItem(
            self,
            "RecordFailure",
            comment="Only while the record still belongs to this run: a run that wrote its "
            "own result keeps it.",
            table=tables.records,
            key={"configId": S(sfn.JsonPath.string_at("$.configId"))},
            update_expression=(
                "SET #status = :failed, #error = :message, #tested = :now, "
                "#stages = :stages, #version = #version + :one"
            ),
            # begins_with: a retry's attempt runs as `<claimed id>-r<N>` (lifecycle.py)
            condition_expression="#status = :running AND begins_with(#run, :run)",
            expression_attribute_names={
                "#status": "testStatus",
                "#error": "errorMessage",
                "#tested": "lastTestTimestamp",
                "#stages": "stageResults",
                "#version": "version",
                "#run": "runId",
            },
            expression_attribute_values={
                ":failed": S("fail-build"),
                ":running": S(RUNNING),
                ":message": S(message),
                ":now": S(now),
                ":one": tasks.DynamoAttributeValue.from_number(1),
                ":stages": tasks.DynamoAttributeValue.from_map(
                    {
                        "build": tasks.DynamoAttributeValue.from_map(
                            {
                                "status": S("fail"),
                                "durationSeconds": tasks.DynamoAttributeValue.from_number(0),
                                "errorSummary": S(message),
                            }
                        )
                    }
                ),
                ":run": S(sfn.JsonPath.string_at("$.runId")),
            },
            return_values=tasks.DynamoReturnValues.ALL_NEW,
            result_selector={
                "deploymentConfig.$": "$.Attributes.deploymentConfig.S",
                "startedAt.$": "$.Attributes.runStartedAt.S",
            },
            result_path="$.record",
        )
        record_run = tasks.DynamoPutItem(
            self,
            "RecordRunInHistory",
            table=tables.runs,
            item={
                "configId": S(sfn.JsonPath.string_at("$.configId")),
                "startedAt": S(sfn.JsonPath.string_at("$.record.startedAt")),
                "runId": S(sfn.JsonPath.string_at("$.runId")),
                "finishedAt": S(now),
                "status": S("fail-build"),
                "durationSeconds": tasks.DynamoAttributeValue.from_number(0),
                "deploymentConfig": S(sfn.JsonPath.string_at("$.record.deploymentConfig")),
                "errorMessage": S(message),
                "profile": S("default"),
                "expiresAt": tasks.DynamoAttributeValue.number_from_string(
                    sfn.JsonPath.string_at("$.expiresAt")
                ),
            },
            result_path=sfn.JsonPath.DISCARD,
        )
        executor_failed = sfn.Fail(
            self,
            "ExecutorFailed",
            error="ExecutorFailed",
            cause="The build ended without a result; the failure was recorded.",
        )
        # The build failed because the configuration did, and the run recorded it: the
        # orchestration did its job. Only a build that died without a result fails the
        # execution, so the failed-executions alarm means the machinery, not the product.
        run_failed = sfn.Succeed(
            self,
            "RunRecordedItsFailure",
            comment="The run recorded its own failure; see the record's stageResults.",
        )
        record_failure.add_catch(
            run_failed,
            errors=["DynamoDB.ConditionalCheckFailedException"],
            result_path=sfn.JsonPath.DISCARD,
        )
        record_failure.next(record_run).next(executor_failed)

        done = sfn.Succeed(self, "RunPassed")
        builds = []
        for privileged, project in executor.projects.items():
            name = "BuildDockerInDocker" if privileged else "Build"
            build = _start_build(
                self, name, project.project_name, log_group.log_group_name, budget.task_seconds
            )
            build.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")
            build.next(done)
            builds.append(build)
        choose = (
            sfn.Choice(self, "BuildStrategy")
            .when(sfn.Condition.string_equals("$.buildStrategy", "docker-in-docker"), builds[1])
            .otherwise(builds[0])
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=names("orchestrator"),
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(choose),
            timeout=Duration.minutes(budget.state_machine_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                # every event, but no execution data (inputs, outputs, errors' causes): what a
                # run did is in its build's log and its record. A group under
                # /aws/vendedlogs/ needs no entry in the account's CloudWatch Logs resource
                # policy, whose 5,120 characters other stacks share ("Enabling logging from
                # AWS services", CloudWatch Logs User Guide)
                destination=logs.LogGroup(
                    self,
                    "Logs",
                    log_group_name=names.orchestrator_logs,
                    retention=logs.RetentionDays.THREE_MONTHS,
                    removal_policy=RemovalPolicy.DESTROY,
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=False,
            ),
        )
        region, account, partition = Aws.REGION, Aws.ACCOUNT_ID, Aws.PARTITION
        for statement in (
            iam.PolicyStatement(
                sid="RunExecutorBuilds",
                actions=["codebuild:StartBuild", "codebuild:StopBuild", "codebuild:BatchGetBuilds"],
                resources=[p.project_arn for p in executor.projects.values()],
            ),
            iam.PolicyStatement(
                sid="SyncBuildEvents",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    f"arn:{partition}:events:{region}:{account}:rule/"
                    "StepFunctionsGetEventForCodeBuildStartBuildRule"
                ],
            ),
        ):
            self.state_machine.add_to_role_policy(statement)
