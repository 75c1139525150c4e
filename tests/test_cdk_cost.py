"""The synthesized stack's cost limits (issue 29, item 5): the sweeper every 15 minutes,
allowed to stop only the nested builds the stack's runs make, to publish its metrics only
in the stack's namespace, and to remember what it told of; alarms on the endpoints in
service and the oldest one's age; an AWS Budgets budget that alerts the owners' topic."""

import json
import os

import pytest

from mlcc_ci import constants
from mlcc_ci.budget import for_catalog
from mlcc_ci.catalog import load_valid_catalog
from tests.conftest import REPO

pytestmark = pytest.mark.cdk
CDK = REPO / "cdk"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Synthesized in us-east-1 with the AwsSolutions checks on: a finding fails the synth."""
    from mlcc_ci.stack.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(str(outdir), region="us-east-1").synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    (nag,) = report["pluginReports"]
    assert nag["conclusion"] == "success" and nag["violations"] == [], nag["violations"]
    return json.loads((outdir / f"{constants.STACK_NAME}.template.json").read_text())


def of_type(template, kind):
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def sweeper_statements(template):
    (function,) = (
        f
        for f in of_type(template, "AWS::Lambda::Function")
        if f["Properties"].get("FunctionName") == "mlcc-ci-sweeper"
    )
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = (
        p
        for p in of_type(template, "AWS::IAM::Policy")
        if {"Ref": role} in p["Properties"]["Roles"]
    )
    return function, {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_the_sweeper_runs_every_15_minutes_and_deletes(template):
    (rule,) = (
        r
        for r in of_type(template, "AWS::Events::Rule")
        if r["Properties"].get("Name") == "mlcc-ci-sweeper-schedule"
    )
    assert rule["Properties"]["ScheduleExpression"] == "rate(15 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert json.loads(target["Input"]) == {"dryRun": False}


def test_the_sweeper_may_stop_only_the_nested_builds_and_meter_only_its_namespace(template):
    function, statements = sweeper_statements(template)
    stop = statements["StopNestedBuilds"]
    assert sorted(stop["Action"]) == [
        "codebuild:BatchGetBuilds",
        "codebuild:ListBuildsForProject",
        "codebuild:StopBuild",
    ]
    assert stop["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":codebuild:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":project/mlcc-ci-*-build-*",
            ],
        ]
    }
    stopping = [s for s in statements.values() if "codebuild:StopBuild" in str(s["Action"])]
    assert stopping == [stop]  # nowhere else, on nothing else
    metrics = statements["EndpointMetrics"]
    assert metrics["Action"] == "cloudwatch:PutMetricData"
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "mlcc-ci"}}
    told = statements["ToldOnce"]
    assert sorted(told["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem"]
    (slots,) = (
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::DynamoDB::Table"
        and r["Properties"].get("TableName") == "mlcc-ci-slots"
    )
    assert told["Resource"] == {"Fn::GetAtt": [slots, "Arn"]}
    env = function["Properties"]["Environment"]["Variables"]
    assert env["SLOTS_TABLE_NAME"] == {"Ref": slots}
    assert env["MLCC_CI_RESOURCE_PREFIX"] == "mlcc-ci"


def alarm(template, name):
    (found,) = (
        a["Properties"]
        for a in of_type(template, "AWS::CloudWatch::Alarm")
        if a["Properties"].get("AlarmName") == name
    )
    return found


def test_alarms_on_the_endpoints_in_service_and_the_oldest(template):
    parameter = template["Parameters"]["MaxEndpoints"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 4
    topic = next(
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::SNS::Topic"
        and r["Properties"].get("TopicName") == "mlcc-ci-notifications"
    )
    budget = for_catalog(load_valid_catalog())
    for name, metric, threshold in (
        ("mlcc-ci-endpoints-in-service", "EndpointsInService", {"Ref": "MaxEndpoints"}),
        ("mlcc-ci-oldest-endpoint", "OldestEndpointMinutes", budget.running_minutes + 30),
    ):
        found = alarm(template, name)
        assert found["Namespace"] == "mlcc-ci" and found["MetricName"] == metric
        assert found["Dimensions"] == [{"Name": "Prefix", "Value": "mlcc-ci"}]
        assert found["Threshold"] == threshold
        assert found["ComparisonOperator"] == "GreaterThanThreshold"
        assert found["Statistic"] == "Maximum" and found["Period"] == 900
        assert found["AlarmActions"] == [{"Ref": topic}]
    assert budget.running_minutes + 30 > 60  # not an alarm on every run's endpoint


def test_a_monthly_budget_alerts_the_owners_topic(template):
    parameter = template["Parameters"]["MonthlyBudget"]
    assert parameter["Type"] == "Number" and parameter["Default"] == 500
    (resource,) = (r for r in template["Resources"].values() if r["Type"] == "AWS::Budgets::Budget")
    budget = resource["Properties"]["Budget"]
    assert budget == {
        "BudgetName": "mlcc-ci-cost-use1",
        "BudgetType": "COST",
        "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": {"Ref": "MonthlyBudget"}, "Unit": "USD"},
        "CostFilters": {"Region": ["us-east-1"]},  # the stack's region, not the account
    }
    topic = next(
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::SNS::Topic"
        and r["Properties"].get("TopicName") == "mlcc-ci-notifications"
    )
    alerts = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in resource["Properties"]["NotificationsWithSubscribers"]
    }
    assert alerts == {("ACTUAL", 80), ("FORECASTED", 100)}
    for n in resource["Properties"]["NotificationsWithSubscribers"]:
        assert n["Notification"]["ThresholdType"] == "PERCENTAGE"
        assert n["Subscribers"] == [{"SubscriptionType": "SNS", "Address": {"Ref": topic}}]
    # Budgets may publish to that topic, for this account only, before the budget exists
    (policy_key,) = (
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::SNS::TopicPolicy" and {"Ref": topic} in r["Properties"]["Topics"]
    )
    statements = template["Resources"][policy_key]["Properties"]["PolicyDocument"]["Statement"]
    (budgets,) = [s for s in statements if s.get("Sid") == "BudgetsPublish"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert budgets["Action"] == "sns:Publish" and budgets["Effect"] == "Allow"
    assert budgets["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert policy_key in resource.get("DependsOn", [])


def test_two_regions_never_share_a_budget_name(tmp_path):
    from mlcc_ci.stack.app import build_app

    names = []
    for region in ("us-east-1", "us-west-2"):
        out = tmp_path / region
        build_app(str(out), nag=False, region=region).synth()
        template = json.loads((out / f"{constants.STACK_NAME}.template.json").read_text())
        (budget,) = of_type(template, "AWS::Budgets::Budget")
        names.append(budget["Properties"]["Budget"]["BudgetName"])
    assert names == ["mlcc-ci-cost-use1", "mlcc-ci-cost-usw2"]
