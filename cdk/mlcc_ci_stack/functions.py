"""What the stack's Lambdas share: the mlcc_ci asset on the Lambda runtime, one invocation
at a time, a role of their own that may write to the stack's log group, an hourly-style rule."""

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlcc_ci_stack.assets import LAMBDA_PYTHON, scanner_asset


def stack_function(
    scope: Construct,
    *,
    name: str,
    handler: str,
    description: str,
    role_description: str,
    statements: Sequence[iam.PolicyStatement],
    log_group: logs.ILogGroup,
    timeout: Duration,
    environment: Mapping[str, str],
) -> lambda_.Function:
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
    )
    logs_statement = iam.PolicyStatement(
        sid="Logs",
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"],
    )
    for statement in (*statements, logs_statement):
        role.add_to_policy(statement)
    return lambda_.Function(
        scope,
        "Function",
        function_name=name,
        description=description,
        runtime=lambda_.Runtime(f"python{LAMBDA_PYTHON}", lambda_.RuntimeFamily.PYTHON),
        handler=handler,
        code=lambda_.Code.from_asset(str(scanner_asset())),
        role=role,
        memory_size=256,
        # one at a time: a manual invocation overlapping the schedule cannot double the work
        # (for the scanner: start more than MaxConcurrency between them)
        reserved_concurrent_executions=1,
        timeout=timeout,
        log_group=log_group,
        environment=dict(environment),
    )


def schedule_rule(
    scope: Construct, *, name: str, description: str, schedule: str, function: lambda_.IFunction
) -> events.Rule:
    return events.Rule(
        scope,
        "Schedule",
        rule_name=name,
        description=description,
        schedule=events.Schedule.expression(schedule),
        targets=[targets.LambdaFunction(function)],
    )
