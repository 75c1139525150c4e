"""Step Functions `mlcc-ci-orchestrator`: one execution runs one claimed configuration.

It starts the executor build and waits for it (`codebuild:startBuild.sync`), retrying
StartBuild's own refusals (throttling, a full build queue) with backoff. When the build
fails, times out or never starts without having written its result, the recorder Lambda
(mlcc_ci/aws/recorder.py) records the failure, classified by the same rules as the runner:
only while the record is still `running` with this run's id, and a failure of the
infrastructure blocks the configuration, its status kept.
"""

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from mlcc_ci.aws.recorder import RECORDED
from mlcc_ci.budget import Budget
from mlcc_ci.stack.buildspec import LOG_STREAM_PREFIX
from mlcc_ci.stack.executor import Executor
from mlcc_ci.stack.names import Names

# StartBuild's own errors, as Step Functions names a service's error: `<Service>.<Exception>`
# ("Error handling in Step Functions workflows", https://docs.aws.amazon.com/step-functions/
# latest/dg/concepts-error-handling.html; e.g. `Lambda.ServiceException`,
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html).
# AccountLimitExceededException is StartBuild's documented error for a full build queue
# (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StartBuild.html); a
# throttled call is the common ThrottlingException of AWS APIs, which an integration whose
# SDK does not model it names after the SDK's base exception (`CodeBuild.AWSCodeBuildException`,
# the cause saying "Error Code: ThrottlingException"): all of them are retried; the recorder
# reads the cause's error code when it has to record one.
START_BUILD_ERRORS = [
    "CodeBuild.ThrottlingException",
    "CodeBuild.AWSCodeBuildException",
    "CodeBuild.CodeBuildException",
    "CodeBuild.AccountLimitExceededException",
]
# 30 s, 60 s, 120 s: a throttle passes in seconds; a full queue frees a slot as a build ends
START_BUILD_RETRY_SECONDS = 30
START_BUILD_BACKOFF = 2.0
START_BUILD_ATTEMPTS = 3


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
        executor: Executor,
        recorder: lambda_.IFunction,
        log_group: logs.ILogGroup,
        budget: Budget,
        names: Names,
    ) -> None:
        super().__init__(scope, construct_id)
        record_failure = tasks.LambdaInvoke(
            self,
            "RecordFailure",
            comment="Only while the record still belongs to this run: a run that wrote its "
            "own result keeps it. Classified by the runner's rules: the infrastructure's "
            "failures block the configuration.",
            lambda_function=recorder,
            payload=sfn.TaskInput.from_object(
                {
                    "configId": sfn.JsonPath.string_at("$.configId"),
                    "runId": sfn.JsonPath.string_at("$.runId"),
                    "error": sfn.JsonPath.object_at("$.error"),
                }
            ),
            result_selector={"outcome.$": "$.Payload.outcome"},
            result_path="$.recorded",
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
        record_failure.next(
            sfn.Choice(self, "Recorded")
            .when(sfn.Condition.string_equals("$.recorded.outcome", RECORDED), executor_failed)
            .otherwise(run_failed)
        )

        done = sfn.Succeed(self, "RunPassed")
        builds = []
        for privileged, project in executor.projects.items():
            name = "BuildDockerInDocker" if privileged else "Build"
            build = _start_build(
                self, name, project.project_name, log_group.log_group_name, budget.task_seconds
            )
            build.add_retry(
                errors=START_BUILD_ERRORS,
                interval=Duration.seconds(START_BUILD_RETRY_SECONDS),
                backoff_rate=START_BUILD_BACKOFF,
                max_attempts=START_BUILD_ATTEMPTS,
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
