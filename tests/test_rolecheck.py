"""`mlcc-ci stack check-role ARN` against roles in moto's IAM: the stack's own role is fit,
the generator's bootstrap role and a role anyone else may assume are not."""

import json

import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.core.authorization import enable_iam_authentication

from mlcc_ci.aws import rolecheck

pytestmark = pytest.mark.functional

TRUST_SAGEMAKER = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# What mlcc_ci/stack/roles.py grants, written out as the stack deploys it in us-east-1
STACK_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "PullImage",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            "Resource": [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/mlcc-ci-*"],
        },
        {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "EndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/*/mlcc-ci-*",
        },
        {
            "Sid": "Metrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
        },
    ],
}
# The generator's `bootstrap` role, in the part that matters: SageMaker on everything
BOOTSTRAP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "SageMaker", "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": "*",
        },
    ],
}


@pytest.fixture
def iam():
    with mock_aws():
        import boto3

        yield boto3.client("iam", region_name="us-east-1")


def make_role(iam, name, trust=TRUST_SAGEMAKER, inline=None, path="/"):
    arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    for policy_name, document in (inline or {}).items():
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    return arn


def attach(iam, role, name, document):
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    return arn


def test_the_stacks_own_role_is_fit(cli, iam):
    arn = make_role(iam, "ci-endpoints", inline={"Endpoints": STACK_POLICY})
    result = cli("stack", "check-role", arn)
    assert (result.exit_code, result.output) == (
        0,
        f"{arn} is fit to be the SageMaker execution role: it trusts only "
        "sagemaker.amazonaws.com and allows no more than the loop needs\n",
    )


def test_the_need_is_what_the_stack_grants():
    """One place says what the loop needs: the statements roles.py grants, here for the
    stack in us-east-1 of the test account."""
    needed = rolecheck.needs("aws", "us-east-1", ACCOUNT)
    assert [
        {
            "Sid": n.sid,
            "Effect": "Allow",
            "Action": list(n.actions) if len(n.actions) > 1 else n.actions[0],
            "Resource": list(n.resources) if n.sid == "PullImage" else n.resources[0],
            **({"Condition": n.condition} if n.conditions else {}),
        }
        for n in needed
    ] == STACK_POLICY["Statement"]


def test_the_generator_bootstrap_role_is_not_fit_and_says_why(cli, iam):
    arn = make_role(iam, "mlcc-sagemaker-execution-role", inline={"Bootstrap": BOOTSTRAP_POLICY})
    result = cli("stack", "check-role", arn)
    assert result.exit_code == 1
    repos = f"arn:aws:ecr:*:{ACCOUNT}:repository/mlcc-ci-*"
    assert result.output.splitlines() == [
        f"{arn} is not fit to be the SageMaker execution role (3 findings):",
        '  inline policy Bootstrap, statement "SageMaker": sagemaker:* is a wildcard action',
        f"  inline policy Bootstrap, statement 2: ecr:BatchGetImage on * is beyond what the "
        f"loop needs ({repos})",
        f"  inline policy Bootstrap, statement 2: ecr:GetDownloadUrlForLayer on * is beyond "
        f"what the loop needs ({repos})",
    ]


def test_a_role_ec2_may_assume_too_is_not_fit(cli, iam):
    trust = json.loads(json.dumps(TRUST_SAGEMAKER))
    trust["Statement"][0]["Principal"]["Service"] = [
        "sagemaker.amazonaws.com",
        "ec2.amazonaws.com",
    ]
    trust["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    )
    arn = make_role(iam, "shared", trust=trust, inline={"Endpoints": STACK_POLICY})
    result = cli("stack", "check-role", arn)
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  trust policy, statement 1: trusts Service principal ec2.amazonaws.com (only "
        "sagemaker.amazonaws.com may)",
        '  trust policy, statement 2: trusts every AWS principal ("*")',
    ]


def test_a_role_sagemaker_may_not_assume_is_not_fit(cli, iam):
    trust = json.loads(json.dumps(TRUST_SAGEMAKER))
    trust["Statement"][0]["Principal"] = {"Service": "lambda.amazonaws.com"}
    arn = make_role(iam, "lambda-role", trust=trust)
    result = cli("stack", "check-role", arn)
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "  trust policy, statement 1: trusts Service principal lambda.amazonaws.com (only "
        "sagemaker.amazonaws.com may)",
        "  trust policy: sagemaker.amazonaws.com may not assume the role",
    ]


def test_attached_managed_policies_are_read_and_judged(cli, iam):
    arn = make_role(iam, "managed", path="/service-role/")
    attach(iam, "managed", "Endpoints", STACK_POLICY)
    assert cli("stack", "check-role", arn).exit_code == 0  # read, and within the need
    extra = attach(
        iam,
        "managed",
        "Extra",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "logs:PutLogEvents",
                    "NotResource": "arn:aws:logs:*:*:*",
                },
                {"Effect": "Deny", "Action": "*", "Resource": "*"},
                {"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
            ],
        },
    )
    result = cli("stack", "check-role", arn)
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        f"  managed policy {extra}, statement 1: iam:PassRole is not an action the loop needs",
        f"  managed policy {extra}, statement 2: NotAction allows every action but those it lists",
        f"  managed policy {extra}, statement 3: NotResource allows every resource but those "
        "it lists",
        f"  managed policy {extra}, statement 5: cloudwatch:PutMetricData without the "
        "condition StringEquals cloudwatch:namespace = /aws/sagemaker/Endpoints",
    ]


def test_resources_of_another_account_or_beyond_the_prefix_are_too_much(cli, iam):
    wide = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ecr:BatchGetImage",
                "Resource": [
                    f"arn:aws:ecr:*:{ACCOUNT}:repository/mlcc-ci-images",  # any region: fine
                    f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*",
                    "arn:aws:ecr:us-east-1:*:repository/mlcc-ci-*",
                ],
            },
            {
                "Effect": "Allow",
                "Action": "logs:PutLogEvents",
                "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/"
                "Endpoints/mlcc-ci-x:log-stream:*",
            },
        ],
    }
    arn = make_role(iam, "wide", inline={"Wide": wide})
    result = cli("stack", "check-role", arn)
    assert result.exit_code == 1
    findings = result.output.splitlines()[1:]
    assert len(findings) == 1
    assert findings[0].startswith(
        f"  inline policy Wide, statement 1: ecr:BatchGetImage on arn:aws:ecr:us-east-1:"
        f"{ACCOUNT}:repository/*, arn:aws:ecr:us-east-1:*:repository/mlcc-ci-* is beyond"
    )
    # another prefix: the stack's repositories are PREFIX-*
    other = cli("stack", "check-role", arn, "--prefix", "team-ci")
    assert "mlcc-ci-images" in other.output


@pytest.mark.parametrize(
    "arn",
    ["nope", "arn:aws:iam::12345:role/x", "arn:aws:iam::123456789012:user/x", ""],
)
def test_a_malformed_arn_is_one_line(cli, arn):
    result = cli("stack", "check-role", arn)
    assert (result.exit_code, result.output) == (
        2,
        f"Error: not an IAM role ARN: {arn!r} (arn:aws:iam::123456789012:role/NAME expected)\n",
    )


def test_a_bad_prefix_is_one_line(cli):
    result = cli("stack", "check-role", f"arn:aws:iam::{ACCOUNT}:role/x", "--prefix", "A B")
    assert (result.exit_code, result.output) == (
        2,
        "Error: not a stack prefix: prefix 'A B': lowercase letters, digits and single "
        "hyphens, starting with a letter, at most 12 characters\n",
    )


def test_a_role_that_does_not_exist_is_one_line(cli, iam):
    result = cli("stack", "check-role", f"arn:aws:iam::{ACCOUNT}:role/missing")
    assert (result.exit_code, result.output) == (
        2,
        f"Error: no IAM role missing in account {ACCOUNT}\n",
    )


def test_a_role_of_another_account_is_not_read_for_it(cli, iam):
    make_role(iam, "same-name")
    result = cli("stack", "check-role", "arn:aws:iam::111122223333:role/same-name")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: the credentials in use see arn:aws:iam::{ACCOUNT}:role/same-name under the "
        "name same-name, not arn:aws:iam::111122223333:role/same-name: check-role reads a "
        "role of the account it runs in\n"
    )


def test_access_denied_is_one_line(cli, iam, monkeypatch):
    arn = make_role(iam, "guarded", inline={"Endpoints": STACK_POLICY})
    iam.create_user(UserName="reader")
    iam.put_user_policy(
        UserName="reader",
        PolicyName="GetOnly",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with enable_iam_authentication():
        result = cli("stack", "check-role", arn)
    assert result.exit_code == 2
    assert result.output.startswith(
        f"Error: cannot read the IAM role {arn}: AccessDenied: User: "
        f"arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: "
        "iam:ListRolePolicies"
    )
    assert result.output.count("\n") == 1


def test_no_credentials_is_one_line(cli, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    arn = f"arn:aws:iam::{ACCOUNT}:role/any"
    result = cli("stack", "check-role", arn)
    assert (result.exit_code, result.output) == (
        2,
        f"Error: cannot read the IAM role {arn}: no AWS credentials (set AWS_PROFILE, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n",
    )


def test_the_client_honours_aws_endpoint_url():
    iam = rolecheck.client("eu-west-1", {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    assert iam.meta.endpoint_url == "http://127.0.0.1:4566"
    assert rolecheck.client(None, {}).meta.endpoint_url == "https://iam.amazonaws.com"


def test_an_aws_run_refuses_a_given_role_that_is_too_broad_before_it_deploys(iam):
    """The executor's deploy preflight judges the role SageMakerRoleArn named (the stack says
    so with MLCC_CI_ROLE_GIVEN) as check-role does, and the refusal blocks the configuration
    (class credentials) rather than failing it; its own role, and no given role, pass."""
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.failures import classify
    from mlcc_ci.preflight import CHECKS, ROLE_GIVEN_ENV
    from mlcc_ci.profiles import load_profile

    catalog = load_valid_catalog()
    entry, profile = catalog.get("http-flask"), load_profile(catalog, "default")
    check = CHECKS["role-arn"]
    broad = make_role(iam, "mlcc-sagemaker-execution-role", inline={"Bootstrap": BOOTSTRAP_POLICY})
    narrow = make_role(iam, "endpoints", inline={"Stack": STACK_POLICY})
    env = {"AWS_REGION": "us-east-1", "MLCC_CI_RESOURCE_PREFIX": "mlcc-ci", ROLE_GIVEN_ENV: "1"}
    said = check(entry, profile, {**env, "ROLE_ARN": broad})
    assert said is not None and said.startswith(
        f"the SageMaker role {broad} (SageMakerRoleArn) is more than the endpoints need: "
        'inline policy Bootstrap, statement "SageMaker": sagemaker:* is a wildcard action'
    )
    found = classify("deploy_test", said)
    assert (found.cls, found.rule, found.capture) == (
        "credentials",
        "sagemaker-role-too-broad",
        broad,
    )
    assert check(entry, profile, {**env, "ROLE_ARN": narrow}) is None
    # the stack's own role: not read at all (it is what the stack grants)
    own = {k: v for k, v in env.items() if k != ROLE_GIVEN_ENV}
    assert check(entry, profile, {**own, "ROLE_ARN": broad}) is None
    missing = check(entry, profile, {**env, "ROLE_ARN": broad.replace("execution-role", "x")})
    assert missing is not None and missing.startswith("cannot check the SageMaker role")
