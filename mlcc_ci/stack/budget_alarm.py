"""An AWS Budgets budget on the monthly cost in the stack's region, with an alert to the
owners' topic: at 80% of the limit spent, and when the month's spend is forecast past it.
The limit is the stack parameter `MonthlyBudget` (dollars). Budget names are account-wide,
so the name carries the region's code: stacks of one prefix in two regions never want one
budget. It counts everything the region spends, the account's other work there included (a
filter on the stack's own resources needs cost allocation tags the account must activate);
the scanner's DailySpendCap is the exact limit, this the backstop that tells people."""

from aws_cdk import Aws, CfnParameter, Stack, Token
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from mlcc_ci.naming import region_code
from mlcc_ci.stack.names import Names

DEFAULT_MONTHLY_DOLLARS = 500
# (notification type, percent of the limit)
ALERTS = (("ACTUAL", 80), ("FORECASTED", 100))


class BudgetAlarm(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, topic: sns.Topic, names: Names
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        if Token.is_unresolved(region):
            raise ValueError("the budget's name carries the region: give the stack one")
        limit = CfnParameter(
            self,
            "MonthlyBudget",
            type="Number",
            default=DEFAULT_MONTHLY_DOLLARS,
            min_value=1,
            description="Dollars a month: an alert to the notification topic at 80% spent "
            "and when the month is forecast past it (AWS Budgets, the region's cost).",
        )
        limit.override_logical_id("MonthlyBudget")
        allowed = topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetsPublish",
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:budgets::{Aws.ACCOUNT_ID}:*"
                    },
                },
            )
        )
        self.name = names(f"cost-{region_code(region)}")
        self.budget = budgets.CfnBudget(
            self,
            "Budget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=self.name,
                budget_type="COST",
                time_unit="MONTHLY",
                cost_filters={"Region": [region]},
                budget_limit=budgets.CfnBudget.SpendProperty(
                    amount=limit.value_as_number, unit="USD"
                ),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(
                            subscription_type="SNS", address=topic.topic_arn
                        )
                    ],
                )
                for kind, percent in ALERTS
            ],
        )
        # Budgets checks that it may publish when the budget is created
        if allowed.policy_dependable is not None:
            self.budget.node.add_dependency(allowed.policy_dependable)
