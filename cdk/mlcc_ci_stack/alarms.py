"""Alarms that reach people: the Lambdas' errors, executions that failed without a result,
and a sweep that left a leak standing, each published to the notifications topic."""

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlcc_ci.aws.sweeper import METRIC_NAMESPACE, SWEEP_FAILURES
from mlcc_ci_stack.names import Names

PERIOD = Duration.hours(1)  # the Lambdas run hourly


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        functions: dict[str, lambda_.IFunction],
        state_machine: sfn.IStateMachine,
        names: Names,
    ) -> None:
        super().__init__(scope, construct_id)
        self.names = names
        self.alarms: list[cloudwatch.Alarm] = []
        for label, function in functions.items():
            self._alarm(
                f"{label}-errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                f"The {label} Lambda raised an error (see its log in the stack's log group).",
            )
        for label, metric in (
            ("executions-failed", state_machine.metric_failed(period=PERIOD, statistic="Sum")),
            (
                "executions-timed-out",
                state_machine.metric_timed_out(period=PERIOD, statistic="Sum"),
            ),
            ("executions-aborted", state_machine.metric_aborted(period=PERIOD, statistic="Sum")),
        ):
            self._alarm(
                label,
                metric,
                "An orchestrator execution ended without the run's result: the executor "
                "build died or could not start (its record says fail-build).",
            )
        self._alarm(
            "sweep-failures",
            cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name=SWEEP_FAILURES,
                period=PERIOD,
                statistic="Sum",
            ),
            "The sweeper could not delete a leaked endpoint; it is still running (and billed).",
        )
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(topic))

    def _alarm(self, label: str, metric: cloudwatch.Metric, description: str) -> None:
        self.alarms.append(
            metric.create_alarm(
                self,
                label,
                alarm_name=self.names(label),
                alarm_description=description,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
