"""MlccCiHarnessStack: tables, scanner, orchestrator, executor and their log group, every
name from one prefix (names.py), every role under one permissions boundary."""

from typing import Any

from aws_cdk import CfnCondition, CfnOutput, CfnParameter, CfnResource, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from mlcc_ci.budget import for_catalog
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.constants import DEFAULT_MAX_CONCURRENCY, DEFAULT_STALE_HOURS
from mlcc_ci.nestedbuilds import nested_builds
from mlcc_ci.stack.alarms import Alarms
from mlcc_ci.stack.boundary import boundary
from mlcc_ci.stack.budget_alarm import BudgetAlarm
from mlcc_ci.stack.executor import Executor
from mlcc_ci.stack.mirror import DockerHubCache
from mlcc_ci.stack.nag import acknowledge
from mlcc_ci.stack.names import Names
from mlcc_ci.stack.orchestrator import Orchestrator
from mlcc_ci.stack.publishing import SitePublishing
from mlcc_ci.stack.recorder import Recorder
from mlcc_ci.stack.roles import SageMakerRole
from mlcc_ci.stack.scanner import Scanner
from mlcc_ci.stack.sweeper import Notifications, Sweeper
from mlcc_ci.stack.tables import Tables
from mlcc_ci.stack.trust import trust_this_account_only


class MlccCiHarnessStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, names: Names | None = None, **kwargs: Any
    ) -> None:
        self.names = names = names or Names()
        super().__init__(
            scope,
            construct_id,
            description="mlcc-ci: integration-test matrix for ML serving containers",
            **kwargs,
        )
        max_concurrency = CfnParameter(
            self,
            "MaxConcurrency",
            type="Number",
            default=DEFAULT_MAX_CONCURRENCY,
            min_value=1,
            description="At most this many configurations run at once (slot items the scanner "
            "holds by conditional writes).",
        )
        spend_cap = CfnParameter(
            self,
            "DailySpendCap",
            type="Number",
            default=0,
            min_value=0,
            description="Dollars the runs started in one day (UTC) may cost at most, priced "
            "by the cost table at each run's worst case; the scanner starts no run past it "
            "(0: no cap).",
        )
        daily_budget = CfnParameter(
            self,
            "DailyBudget",
            type="Number",
            default=0,
            min_value=0,
            description="Dollars the runs started in one day (UTC) are expected to cost, "
            "priced by the cost table (a run's recent mean, else its worst case); the scanner "
            "starts what fits and leaves the rest for a later day (0: no budget). Keep it "
            "below DailySpendCap, the hard stop.",
        )
        retest = CfnParameter(
            self,
            "RetestSchedule",
            type="String",
            default="confidence",
            allowed_values=["confidence", "daily"],
            description="confidence: a configuration whose generator or base image changed "
            "is due at once, others after StaleHours times 1 to 3.5 as confidence grows "
            "(a failure that repeats: 1, 2, 4, then 7 days); "
            "daily: every StaleHours (the seed's).",
        )
        image_digests = CfnParameter(
            self,
            "ImageDigests",
            type="String",
            default="off",
            allowed_values=["off", "on"],
            description="on: the scanner looks up base image digests in their registries "
            "(a moved tag makes its configurations due) and runs record the digest they built "
            "on.",
        )
        schedule = CfnParameter(
            self,
            "ScannerSchedule",
            type="String",
            default="rate(1 hour)",
            description="EventBridge schedule expression for the scanner.",
        )
        stale_hours = CfnParameter(
            self,
            "StaleHours",
            type="Number",
            default=DEFAULT_STALE_HOURS,
            min_value=1,
            description="A finished result older than this is tested again.",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=names.log_group,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.RETAIN,
        )
        email = CfnParameter(
            self,
            "NotificationEmail",
            type="String",
            default="",
            description="Email address told of regressions, fixes and swept endpoints "
            "(empty: no subscription; subscribe anything else to the topic yourself).",
        )
        docker_hub = CfnParameter(
            self,
            "DockerHubAccess",
            type="String",
            default="",
            allowed_pattern=r"^$|^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:"
            r"ecr-pullthroughcache/.+$",
            constraint_description="empty, or the ARN of a secret named ecr-pullthroughcache/...",
            description="A Secrets Manager secret (named ecr-pullthroughcache/..., holding "
            "username and accessToken) for an ECR pull-through cache of Docker Hub: base "
            "images are then pulled with that account, not anonymously (empty: no cache).",
        )
        reserved = CfnParameter(
            self,
            "LambdaReservedConcurrency",
            type="Number",
            default=0,
            min_value=0,
            max_value=1,
            description="1: reserve one concurrent execution for each of the scanner and the "
            "sweeper, so one of each runs at a time (the slots already bound what runs start; "
            "needs spare account concurrency: new accounts' quota of 10 refuses any "
            "reservation); 0: none.",
        )
        reserving = CfnCondition(
            self, "Reserving", expression=Fn.condition_not(Fn.condition_equals(reserved, 0))
        )
        # Every time limit of a run, from the catalog's stage timeouts.
        catalog = load_valid_catalog()
        self.budget = for_catalog(catalog)
        if self.budget.problems():
            raise ValueError("; ".join(self.budget.problems()))
        self.mirror = DockerHubCache(
            self, "DockerHub", secret_arn=docker_hub.value_as_string, prefix=names.prefix
        )
        self.tables = Tables(self, "Tables", names=names)
        self.notifications = Notifications(
            self, "Notifications", names=names, email=email.value_as_string
        )
        self.sagemaker_role = SageMakerRole(self, "SageMaker", names=names)
        # the confidence site, published after each run when PublishBucket names a bucket
        self.publishing = SitePublishing(self, "Publishing", tables=self.tables)
        self.executor = Executor(
            self,
            "Executor",
            tables=self.tables,
            log_group=self.log_group,
            topic=self.notifications.topic,
            platform_topic=self.notifications.platform_topic,
            sagemaker_role_arn=self.sagemaker_role.arn,
            sagemaker_role_given=self.sagemaker_role.given,
            budget=self.budget,
            nested_builds=nested_builds(catalog, names.prefix, self.region),
            nested_lookups=[
                project
                for project, _ in nested_builds(
                    catalog, names.prefix, self.region, every_strategy=True
                )
            ],
            names=names,
            docker_hub_mirror=self.mirror.uri,
            # and whether a run records the digest its base image's tag had (registry.py)
            publish_environment={
                **self.publishing.environment,
                "MLCC_CI_IMAGE_DIGESTS": image_digests.value_as_string,
            },
        )
        self.publishing.grant(self.executor.role)
        self.recorder = Recorder(
            self, "Recorder", tables=self.tables, log_group=self.log_group, names=names
        )
        self.orchestrator = Orchestrator(
            self,
            "Orchestrator",
            executor=self.executor,
            recorder=self.recorder.function,
            log_group=self.log_group,
            budget=self.budget,
            names=names,
        )
        self.scanner = Scanner(
            self,
            "Scanner",
            tables=self.tables,
            state_machine=self.orchestrator.state_machine,
            log_group=self.log_group,
            max_concurrency=max_concurrency.value_as_string,
            stale_hours=stale_hours.value_as_string,
            daily_spend_cap=spend_cap.value_as_string,
            daily_budget=daily_budget.value_as_string,
            retest=retest.value_as_string,
            image_digests=image_digests.value_as_string,
            schedule=schedule.value_as_string,
            budget=self.budget,
            reserved=(reserving, reserved.value_as_string),
            names=names,
        )
        self.sweeper = Sweeper(
            self,
            "Sweeper",
            tables=self.tables,
            topic=self.notifications.topic,
            log_group=self.log_group,
            budget=self.budget,
            reserved=(reserving, reserved.value_as_string),
            names=names,
        )
        self.alarms = Alarms(
            self,
            "Alarms",
            topic=self.notifications.topic,
            functions={
                "scanner": self.scanner.function,
                "sweeper": self.sweeper.function,
                "recorder": self.recorder.function,
            },
            state_machine=self.orchestrator.state_machine,
            names=names,
            budget=self.budget,
        )
        self.budget_alarm = BudgetAlarm(self, "Cost", topic=self.notifications.topic, names=names)
        # every role the stack makes (its own, CDK's helpers', the nested builds') is bounded
        iam.PermissionsBoundary.of(self).apply(boundary(self, names, self.sagemaker_role.given_arn))
        for construct in self.node.find_all():
            # CDK's own helpers' roles (emptying the bucket on delete): the same trust
            if (
                isinstance(construct, CfnResource)
                and not isinstance(construct, iam.CfnRole)
                and construct.cfn_resource_type == "AWS::IAM::Role"
            ):
                trust_this_account_only(construct)
        CfnOutput(
            self,
            "PlatformTopicArn",
            value=self.notifications.platform_topic.topic_arn,
            description="The platform team's topic: configurations infrastructure has blocked "
            "for a day. Subscribe: aws sns subscribe --topic-arn <this> --protocol email "
            "--notification-endpoint ADDRESS",
        )
        CfnOutput(
            self,
            "NotificationTopicArn",
            value=self.notifications.topic.topic_arn,
            description="The owners' topic: regressions, fixes, sweeps and alarms.",
        )
        CfnOutput(
            self,
            "Store",
            value=f"dynamodb://{names.table}?region={self.region}&runs_table={names.runs_table}"
            f"&log_group={names.log_group}",
            description="The results store: mlcc-ci report --store <this>",
        )
        acknowledge(self)
