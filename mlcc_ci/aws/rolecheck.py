"""Is an IAM role fit to be the SageMaker execution role of the CI endpoints?

The endpoints a run deploys run as this role, with code the executor built: whatever the
role may do, the containers may do. So the stack's `SageMakerRoleArn` must name a role
that SageMaker alone may assume and that allows no more than the loop needs. What the loop
needs is written here once (`needs`), for the stack's own role (mlcc_ci/stack/roles.py)
and for `mlcc-ci stack check-role`, which reads a role and lists, one line each, what it
allows beyond that.

A role is account-wide and one role may serve the stack in several regions: the check
accepts the stack's resources in any region of the role's own account, never of another.
"""

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from mlcc_ci.constants import RESOURCE_PREFIX
from mlcc_ci.errors import NotFound, UsageError
from mlcc_ci.naming import prefix_problem

SERVICE = "sagemaker.amazonaws.com"

_ARN = re.compile(
    r"arn:(aws[a-z-]{0,20}):iam::([0-9]{12}):role/((?:[\w+=,.@-]{1,64}/){0,32})([\w+=,.@-]{1,64})"
)


class RoleUnreadable(UsageError):
    """The role cannot be read: no credentials, access denied, IAM unreachable."""


@dataclass(frozen=True)
class Need:
    """One statement of what the loop needs: its actions on its resources, under its
    conditions (operator, key, value)."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[tuple[str, str, str], ...] = ()

    @property
    def condition(self) -> dict[str, dict[str, str]]:
        """The conditions as an IAM policy's `Condition` block."""
        block: dict[str, dict[str, str]] = {}
        for operator, key, value in self.conditions:
            block.setdefault(operator, {})[key] = value
        return block


def repositories(prefix: str = RESOURCE_PREFIX) -> tuple[str, ...]:
    """Where a run's image is: the executor names the stack's repository to the generated
    scripts (ECR_REPOSITORY_NAME), never the generator profile's shared one."""
    return (f"{prefix}-*",)


def needs(
    partition: str, region: str, account: str, prefix: str = RESOURCE_PREFIX
) -> tuple[Need, ...]:
    """What a CI endpoint's role needs: pull its image from the stack's repositories, log
    in to ECR, write its logs and its metrics. Strings in, strings out: CDK tokens work."""
    return (
        Need(
            "PullImage",
            ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
            tuple(
                f"arn:{partition}:ecr:{region}:{account}:repository/{repo}"
                for repo in repositories(prefix)
            ),
        ),
        Need("EcrLogin", ("ecr:GetAuthorizationToken",), ("*",)),
        Need(
            "EndpointLogs",
            ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
            # the logs of what runs create (endpoints, inference components, transform
            # jobs: /aws/sagemaker/<kind>/<name>), no other team's
            (f"arn:{partition}:logs:{region}:{account}:log-group:/aws/sagemaker/*/{prefix}-*",),
        ),
        Need(
            "Metrics",
            ("cloudwatch:PutMetricData",),
            ("*",),
            (("StringEquals", "cloudwatch:namespace", "/aws/sagemaker/Endpoints"),),
        ),
    )


@dataclass(frozen=True)
class RoleArn:
    text: str
    partition: str
    account: str
    path: str  # "/" or "/service-role/"
    name: str


def parse_arn(text: str) -> RoleArn:
    match = _ARN.fullmatch(text.strip())
    if match is None:
        raise UsageError(
            f"not an IAM role ARN: {text!r} (arn:aws:iam::123456789012:role/NAME expected)"
        )
    partition, account, path, name = match.groups()
    return RoleArn(text.strip(), partition, account, "/" + path, name)


def check_prefix(prefix: str) -> str:
    problem = prefix_problem(prefix)
    if problem:
        raise UsageError(f"not a stack prefix: {problem}")
    return prefix


@dataclass(frozen=True)
class Policy:
    label: str  # "inline policy NAME" or "managed policy ARN"
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Role:
    arn: str
    trust: Mapping[str, Any]
    policies: tuple[Policy, ...]


# -- reading ----------------------------------------------------------------------------


def client(region: str | None, env: Mapping[str, str]) -> Any:
    """An IAM client (IAM is global: the region only picks the partition's endpoint), at
    AWS_ENDPOINT_URL when that is set, as every other client of mlcc-ci."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session()
        return session.client(
            "iam",
            region_name=region or session.region_name or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            config=Config(retries={"total_max_attempts": 2}, connect_timeout=5, read_timeout=30),
        )
    except (BotoCoreError, ValueError) as exc:  # unknown profile, bad region or endpoint URL
        raise UsageError(f"cannot use IAM: {exc}") from None


def read_role(iam: Any, arn: RoleArn) -> Role:
    """The role's trust policy and every policy it has: inline ones and the default version
    of each attached managed one. IAM's errors become one-line errors here."""
    with _errors(arn):
        found = iam.get_role(RoleName=arn.name)["Role"]
        if str(found.get("Arn", "")).lower() != arn.text.lower():
            raise UsageError(
                f"the credentials in use see {found.get('Arn')} under the name {arn.name}, "
                f"not {arn.text}: check-role reads a role of the account it runs in"
            )
        policies = []
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=arn.name):
            for name in page.get("PolicyNames", []):
                got = iam.get_role_policy(RoleName=arn.name, PolicyName=name)
                policies.append(Policy(f"inline policy {name}", _document(got["PolicyDocument"])))
        attached = iam.get_paginator("list_attached_role_policies").paginate(RoleName=arn.name)
        for page in attached:
            for item in page.get("AttachedPolicies", []):
                policy_arn = item["PolicyArn"]
                version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
                got = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)
                document = _document(got["PolicyVersion"]["Document"])
                policies.append(Policy(f"managed policy {policy_arn}", document))
    return Role(
        str(found["Arn"]), _document(found.get("AssumeRolePolicyDocument")), tuple(policies)
    )


@contextlib.contextmanager
def _errors(arn: RoleArn) -> Iterator[None]:
    """What boto3 raises while reading `arn`, as NotFound or RoleUnreadable."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    where = f"cannot read the IAM role {arn.text}"
    try:
        yield
    except NoCredentialsError:
        raise RoleUnreadable(
            f"{where}: no AWS credentials (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY)"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), " ".join(str(error.get("Message", "")).split())
        if code == "NoSuchEntity":
            raise NotFound(f"no IAM role {arn.name} in account {arn.account}") from None
        raise RoleUnreadable(f"{where}: {code}: {message}"[:500]) from None
    except BotoCoreError as exc:
        raise RoleUnreadable(f"{where}: {exc}"[:500]) from None


def _document(raw: Any) -> Mapping[str, Any]:
    """A policy document as a mapping (boto3 decodes them; another client may not)."""
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        try:
            loaded = json.loads(unquote(raw))
        except ValueError:
            loaded = None
        if isinstance(loaded, Mapping):
            return loaded
    return {}


# -- judging ----------------------------------------------------------------------------


def judge(role: Role, arn: RoleArn, prefix: str = RESOURCE_PREFIX) -> list[str]:
    """Everything that makes `role` unfit, one line each (none: it is fit)."""
    wanted = needs(arn.partition, "*", arn.account, prefix)
    found = trust_findings(role.trust)
    for policy in role.policies:
        found += permission_findings(policy, wanted)
    return list(dict.fromkeys(found))


def trust_findings(trust: Mapping[str, Any]) -> list[str]:
    """Who else than SageMaker the trust policy lets assume the role (and whether SageMaker
    may at all)."""
    found = []
    sagemaker = False
    for label, statement in _statements(trust):
        if statement.get("Effect") != "Allow":
            continue
        where = f"trust policy, {label}"
        if "NotPrincipal" in statement:
            found.append(f"{where}: NotPrincipal trusts every principal but those it names")
            continue
        principal = statement.get("Principal")
        if principal == "*":
            found.append(f'{where}: trusts every principal ("*")')
            continue
        if not isinstance(principal, Mapping):
            continue
        for kind, values in principal.items():
            for value in _strings(values):
                if kind == "Service" and value == SERVICE:
                    sagemaker = True
                elif value == "*":
                    found.append(f'{where}: trusts every {kind} principal ("*")')
                else:
                    found.append(f"{where}: trusts {kind} principal {value} (only {SERVICE} may)")
    if not sagemaker:
        found.append(f"trust policy: {SERVICE} may not assume the role")
    return found


def permission_findings(policy: Policy, wanted: tuple[Need, ...]) -> list[str]:
    """What one policy allows beyond `wanted`: one line per statement and action."""
    by_action = {a.lower(): need for need in wanted for a in need.actions}
    found = []
    for label, statement in _statements(policy.document):
        if statement.get("Effect") != "Allow":
            continue  # a Deny only takes away
        where = f"{policy.label}, {label}"
        if "NotAction" in statement:
            found.append(f"{where}: NotAction allows every action but those it lists")
            continue
        if "NotResource" in statement:
            found.append(f"{where}: NotResource allows every resource but those it lists")
            continue
        resources = _strings(statement.get("Resource"))
        for action in _strings(statement.get("Action")):
            if "*" in action or "?" in action:
                found.append(f"{where}: {action} is a wildcard action")
                continue
            need = by_action.get(action.lower())
            if need is None:
                found.append(f"{where}: {action} is not an action the loop needs")
                continue
            beyond = [r for r in resources if not any(_covers(n, r) for n in need.resources)]
            if beyond:
                found.append(
                    f"{where}: {action} on {', '.join(beyond)} is beyond what the loop needs "
                    f"({', '.join(need.resources)})"
                )
            elif not _conditioned(statement.get("Condition"), need):
                shown = "; ".join(f"{o} {k} = {v}" for o, k, v in need.conditions)
                found.append(f"{where}: {action} without the condition {shown}")
    return found


def _statements(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    raw = document.get("Statement", [])
    statements = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    for number, statement in enumerate(statements, 1):
        if isinstance(statement, Mapping):
            sid = statement.get("Sid")
            yield (f'statement "{sid}"' if sid else f"statement {number}"), statement


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _covers(needed: str, granted: str) -> bool:
    """Whether every resource `granted` names is one `needed` names: `granted` read as a
    plain string (its wildcards as characters) must match `needed`, whose `*` matches any
    text, and so any text `granted`'s own wildcards could stand for."""
    pattern = ".*".join(re.escape(part) for part in needed.split("*"))
    return re.fullmatch(pattern, granted, flags=re.DOTALL) is not None


def _conditioned(block: Any, need: Need) -> bool:
    """Whether a statement's Condition keeps it at least as narrow as `need`'s."""
    if not need.conditions:
        return True
    if not isinstance(block, Mapping):
        return False
    for operator, key, value in need.conditions:
        tests = block.get(operator)
        if not isinstance(tests, Mapping):
            return False
        given = next((v for k, v in tests.items() if str(k).lower() == key.lower()), None)
        values = _strings(given)
        if not values or any(v != value for v in values):
            return False
    return True
