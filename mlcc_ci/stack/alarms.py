"""Alarms that reach people: the Lambdas' errors, executions that failed without a result,
a sweep that left a leak standing, more endpoints in service under the prefix than the
stack parameter `MaxEndpoints` allows, and one older than a run may take, each published to
the notifications topic."""

from aws_cdk import CfnParameter, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from mlcc_ci.aws.fleet import ENDPOINTS_IN_SERVICE, OLDEST_ENDPOINT_MINUTES, PREFIX_DIMENSION
from mlcc_ci.aws.sweeper import METRIC_NAMESPACE, SWEEP_FAILURES
from mlcc_ci.budget import Budget
from mlcc_ci.stack.names import Names

PERIOD = Duration.hours(1)  # the scanner's default schedule
SWEEP_PERIOD = Duration.minutes(15)  # the sweeper measures the endpoints every 15 minutes
DEFAULT_MAX_ENDPOINTS = 4  # twice the default MaxConcurrency (a parameter cannot say so)
# An endpoint may rightly live as long as a run stays `running`; past this much more, it
# is a leak the sweeper did not delete (a person's own, or one it could not).
OLDEST_GRACE_MINUTES = 30
GE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD


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
        budget: Budget,
    ) -> None:
        super().__init__(scope, construct_id)
        self.names = names
        self.alarms: list[cloudwatch.Alarm] = []
        max_endpoints = CfnParameter(
            self,
            "MaxEndpoints",
            type="Number",
            default=DEFAULT_MAX_ENDPOINTS,
            min_value=1,
            description="An alarm when more endpoints than this are in service under the "
            "prefix (about twice MaxConcurrency).",
        )
        max_endpoints.override_logical_id("MaxEndpoints")
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
                "build died or could not start (the recorder wrote it: failed, or blocked).",
            )
        self._alarm(
            "sweep-failures",
            cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name=SWEEP_FAILURES,
                dimensions_map={"Prefix": names.prefix},
                period=PERIOD,
                statistic="Sum",
            ),
            "The sweeper could not delete a leaked endpoint; it is still running (and billed).",
        )
        self._alarm(
            "endpoints-in-service",
            self._fleet(ENDPOINTS_IN_SERVICE),
            "More endpoints are in service under the prefix than MaxEndpoints: runs "
            "overlapping past the concurrency limit, or leaks the sweeper leaves (billed).",
            threshold=max_endpoints.value_as_number,
            operator=GT,
        )
        oldest = budget.running_minutes + OLDEST_GRACE_MINUTES
        self._alarm(
            "oldest-endpoint",
            self._fleet(OLDEST_ENDPOINT_MINUTES),
            f"An endpoint under the prefix is older than {oldest} minutes, longer than any "
            "run may take: a leak the sweeper did not delete (a person's own, or one it "
            "could not). It is billed while it stands.",
            threshold=oldest,
            operator=GT,
        )
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(topic))

    def _fleet(self, name: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=name,
            dimensions_map={PREFIX_DIMENSION: self.names.prefix},
            period=SWEEP_PERIOD,
            statistic="Maximum",
        )

    def _alarm(
        self,
        label: str,
        metric: cloudwatch.Metric,
        description: str,
        *,
        threshold: float = 1,
        operator: cloudwatch.ComparisonOperator = GE,
    ) -> None:
        self.alarms.append(
            metric.create_alarm(
                self,
                label,
                alarm_name=self.names(label),
                alarm_description=description,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=operator,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
