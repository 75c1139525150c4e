"""What the stack's Lambdas share: the mlcc_ci asset on the Lambda runtime, a role of their
own that may write to the stack's log group, a scheduled rule, and reserved concurrency
only when the LambdaReservedConcurrency parameter asks for it (new accounts often have a
concurrency quota of 10, and reserving any fails CreateFunction there)."""

from collections.abc import Mapping, Sequence

from aws_cdk import Aws, CfnCondition, Duration, Fn, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlcc_ci.stack.assets import LAMBDA_PYTHON, scanner_asset
from mlcc_ci.stack.trust import service


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
    reserved: tuple[CfnCondition, str] | None = None,
) -> lambda_.Function:
    role = iam.Role(
        scope,
        "Role",
        assumed_by=service("lambda"),
        description=role_description,
    )
    logs_statement = iam.PolicyStatement(
        sid="Logs",
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[log_group.log_group_arn, f"{log_group.log_group_arn}:log-stream:*"],
    )
    for statement in (*statements, logs_statement):
        role.add_to_policy(statement)
    function = lambda_.Function(
        scope,
        "Function",
        function_name=name,
        description=description,
        runtime=lambda_.Runtime(f"python{LAMBDA_PYTHON}", lambda_.RuntimeFamily.PYTHON),
        handler=handler,
        code=lambda_.Code.from_asset(str(scanner_asset(region=Stack.of(scope).region))),
        role=role,
        memory_size=256,
        timeout=timeout,
        log_group=log_group,
        environment=dict(environment),
    )
    if reserved is not None:
        condition, value = reserved
        cfn = function.node.default_child
        cfn.add_property_override(  # type: ignore[union-attr]
            "ReservedConcurrentExecutions",
            Fn.condition_if(condition.logical_id, value, Aws.NO_VALUE),
        )
    return function


def schedule_rule(
    scope: Construct,
    *,
    name: str,
    description: str,
    schedule: str,
    function: lambda_.IFunction,
    event: Mapping[str, object] | None = None,
) -> events.Rule:
    target = targets.LambdaFunction(
        function, event=events.RuleTargetInput.from_object(dict(event)) if event else None
    )
    return events.Rule(
        scope,
        "Schedule",
        rule_name=name,
        description=description,
        schedule=events.Schedule.expression(schedule),
        targets=[target],
    )
