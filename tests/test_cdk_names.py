"""Where the stack may stand: beside the generator's own CI stack (another prefix), in two
regions of one account (the region in every account-wide name), on the generator's table
(`-c table=...`). Each synthesized for real, offline."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.twin.template import NAME_PROPERTY

pytestmark = pytest.mark.cdk
CDK = REPO / "cdk"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# The physical-name properties CloudFormation gives each kind of resource: the twin's, and
# the kinds only names matter for here.
NAMES = {
    **NAME_PROPERTY,
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}
# IAM's names (and a budget's) are the account's, in every region.
ACCOUNT_WIDE = {"AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::Budgets::Budget"}


def synthesize(outdir: Path, region: str, **context: str) -> dict:
    """The stack as `cdk synth -c ...` makes it, cdk-nag's checks passed and cfn-lint's
    errors none (in that region)."""
    from mlcc_ci.stack.app import build_app

    app = build_app(str(outdir), context=context, region=region)
    app.synth()
    (stack,) = (p for p in outdir.glob("*.template.json"))
    report = json.loads((outdir / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert plugin["conclusion"] == "success" and plugin["violations"] == [], plugin["violations"]
    lint = subprocess.run(
        [
            *(str(Path(sys.executable).parent / "cfn-lint"), str(stack)),
            *("--non-zero-exit-code", "error", "--regions", region),
        ],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    return {"name": stack.name.removesuffix(".template.json"), **json.loads(stack.read_text())}


def physical_names(template: dict) -> dict[str, set[str]]:
    """{resource type: its literal names}; a name that is not a literal fails the test."""
    found: dict[str, set[str]] = {}
    for resource in template["Resources"].values():
        kind = resource["Type"]
        props = resource.get("Properties", {})
        name = (
            props.get("Budget", {}).get("BudgetName")
            if kind == "AWS::Budgets::Budget"
            else props.get(NAMES.get(kind, ""))
        )
        if name is None:
            continue
        assert isinstance(name, str), (kind, name)
        found.setdefault(kind, set()).add(name)
    return found


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    out = tmp_path_factory.mktemp("names")
    return {
        "default": synthesize(out / "default", "us-east-1"),
        "team-east": synthesize(out / "east", "us-east-1", prefix="team-ci"),
        "team-west": synthesize(out / "west", "eu-west-1", prefix="team-ci"),
    }


def test_another_prefix_names_everything_under_it(stacks):
    """Every name under the prefix (beside the generator's own stack, synthesized for real:
    tests/test_cdk_beside_generator.py)."""
    ours = stacks["team-east"]
    names = set().union(*physical_names(ours).values())
    assert len(names) > 30
    assert all("team-ci" in name for name in names), sorted(n for n in names if "team-ci" not in n)
    assert ours["name"] == "team-ci-harness"
    # the default keeps the seed's names, the generator's among them: hence the prefix
    default = set().union(*physical_names(stacks["default"]).values())
    assert {"mlcc-ci-table", "mlcc-ci-executor", "ml-container-creator-ci"} <= default
    assert stacks["default"]["name"] == "mlcc-ci-harness"  # never the generator's stack name


def test_two_regions_of_one_account_share_no_account_wide_name(stacks):
    east, west = (physical_names(stacks[k]) for k in ("team-east", "team-west"))
    east_wide = set().union(*(east.get(k, set()) for k in ACCOUNT_WIDE))
    west_wide = set().union(*(west.get(k, set()) for k in ACCOUNT_WIDE))
    assert east_wide and west_wide
    assert not east_wide & west_wide, sorted(east_wide & west_wide)
    assert all(n.endswith(("-use1-service-role", "-use1")) for n in east["AWS::IAM::Role"])
    assert all(n.endswith(("-euw1-service-role", "-euw1")) for n in west["AWS::IAM::Role"])
    # the roles the stack does not name get CloudFormation's unique names
    for template in (stacks["team-east"], stacks["team-west"]):
        unnamed = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::Role" and "RoleName" not in r["Properties"]
        ]
        assert unnamed


def test_every_role_is_bounded_and_trusts_its_service_for_this_account_only(stacks):
    template = stacks["team-west"]
    (boundary,) = [
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and "the most any role" in r["Properties"].get("Description", "")
    ]
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) > 15
    for role in roles:
        props = role["Properties"]
        assert props["PermissionsBoundary"] == {"Ref": boundary}, props.get("RoleName")
        for statement in props["AssumeRolePolicyDocument"]["Statement"]:
            account = statement["Condition"]["StringEquals"]["aws:SourceAccount"]
            assert account == {"Ref": "AWS::AccountId"}, statement


def test_the_generators_table_is_used_not_created(tmp_path):
    template = synthesize(tmp_path, "us-east-1", prefix="team-ci", table="mlcc-ci-table")
    tables = physical_names(template)["AWS::DynamoDB::Table"]
    assert tables == {"team-ci-runs", "team-ci-slots"}
    text = json.dumps(template)
    assert ":table/mlcc-ci-table" in text
    assert ":table/mlcc-ci-table/index/testStatus-lastTestTimestamp-index" in text
    (store,) = [o["Value"] for k, o in template["Outputs"].items() if k == "Store"]
    assert store.startswith("dynamodb://mlcc-ci-table?region=us-east-1&runs_table=team-ci-runs")


@pytest.mark.parametrize(
    ("context", "said"),
    [
        ({"prefix": "Team_CI"}, "prefix 'Team_CI': lowercase letters"),
        ({"prefix": "a-very-long-prefix"}, "at most 12 characters"),
        ({}, "no region"),
    ],
)
def test_a_context_value_the_stack_cannot_take_is_one_line(tmp_path, context, said):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "AWS_"))},
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=CDK, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("mlcc-ci stack: ") and said in lines[-1], result.stderr
    assert "Traceback" not in result.stderr
