"""The AWS loop in a shared account (tests/twin/shared.py): another team's endpoints,
configs, models, components, CodeBuild projects and log groups, names that only contain
the CI prefix, an `mlcc-ci-*` endpoint a person deployed by hand, and what the generator's
own bootstrap leaves. Every principal of the stack acts under its synthesized role (the
scanner's, the orchestrator's, the executor's, each nested build's and the sweeper's),
and the scanner, one configuration through the whole loop and the sweeper (dry run and
real) run there: nothing foreign is touched, nothing crashes, the hand-made endpoint is
left alone and said so, and the only refusals are those the product expects.
"""

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.constants import STATUS_INDEX
from tests.twin import fixture, iam, shared
from tests.twin.codebuild import EXECUTOR_KEY
from tests.twin.hosting import ACCOUNT
from tests.twin.loop import KEYS
from tests.twin.server import Call

pytestmark = [pytest.mark.twin]
CONFIG = load_valid_catalog().get("triton-fil")
PROJECT = CONFIG.config["projectName"]
DENIED = ("AccessDenied", "AccessDeniedException")


@pytest.fixture(scope="module")
def account(_twin_server, tmp_path_factory):
    """The shared account, then the stack deployed into it with every role enforced, then
    the scanner, one run of triton-fil and the sweeper."""
    twin = _twin_server.reset()
    home = tmp_path_factory.mktemp("twin-home")
    with fixture.account_env(twin, home), fixture.workspace() as work:
        owner = fixture.clients()
        shared.fill(twin, owner)
        out: dict = {"before": shared.describe(owner), "twin": twin}
        template, owner = fixture.deploy(twin, fixture.synthesized(), MaxConcurrency="1")
        the_loop = fixture.loop(twin, template, work)
        out["principals"] = the_loop.enforce_roles()
        twin.mark_baseline()
        out["first_sweep"] = the_loop.sweep(dry_run=True)  # before any run
        fixture.cli("register", "--from-catalog", CONFIG.name, "--table", fixture.TABLE)
        out["scan"] = the_loop.scan()
        out["runs"] = the_loop.execute_all(out["scan"]["executionArns"])
        from mlcc_ci.stores.open import open_store

        out["record"] = open_store(None, table=fixture.TABLE).get(CONFIG.config_id)
        out["dry_sweep"] = the_loop.sweep(dry_run=True, POLL_SECONDS="0.2")
        out["sweep"] = the_loop.sweep(POLL_SECONDS="0.2", PATIENCE_SECONDS="30")
        out["after"] = shared.describe(owner)
        out["alive"] = twin.alive()
        out["calls"] = list(twin.calls)
        out["borrowed"] = _borrow(twin, owner)
        out["template"] = template
        yield out


def test_nothing_foreign_is_touched(account):
    before, after = account["before"], account["after"]
    assert [k for k, v in before.items() if v is None] == []  # all were there
    assert after == before
    # and nobody but their owner ever asked to change one
    foreign = {*shared.MODELS, *shared.CONFIGS, *shared.ENDPOINTS, *shared.COMPONENTS}
    foreign |= {*shared.PROJECTS, *shared.ROLES, *shared.REPOSITORIES, *shared.BUCKETS}
    writes = [
        c
        for c in account["calls"]
        if c.key != "testing"
        and c.action.startswith(("Delete", "Update", "Put", "Stop", "Create"))
        and {str(v) for v in c.params.values()} & foreign
    ]
    assert writes == []


def test_the_configuration_passes_the_whole_loop_beside_them(account):
    assert len(account["scan"]["executionArns"]) == 1  # the one registered configuration
    run = account["runs"][CONFIG.config_id]
    assert run.execution.status == "SUCCEEDED" and run.execution.visited[-1] == "RunPassed"
    (build,) = run.builds
    assert build.status == "SUCCEEDED"
    record = account["record"]
    assert record.testStatus == "pass", record.errorMessage
    assert {s: r.status for s, r in record.stageResults.items()} == {
        s: "pass" for s in ("generate", "validate", "build", "deploy_test", "register", "teardown")
    }
    # its nested build ran as its own role, read the source and pushed the image
    nested_role = f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-build-use1-service-role"
    steps = [(c.action, c.status) for c in account["calls"] if c.key == nested_role]
    assert ("GetObject", 200) in steps and ("PutImage", 200) in steps
    leaks = {k: v for k, v in account["alive"].items() if k in ("endpoint", "model")}
    assert leaks == {}


def test_the_sweeper_leaves_the_hand_made_endpoint_and_says_why(account):
    reasons = {
        "first_sweep": "no registered project's runs name it",  # nothing registered yet
        "dry_sweep": f"made outside every recorded run of {PROJECT} (by hand?)",
        "sweep": f"made outside every recorded run of {PROJECT} (by hand?)",
    }
    for sweep, reason in reasons.items():
        result = account[sweep]
        assert result["errors"] == [] and result["leaked"] == [], sweep
        assert result["left"] == [{"resource": shared.BY_HAND, "reason": reason}], sweep
        assert result["deleted"] == [], sweep
    # the retention the nested build's log group gets; no other team's
    assert account["sweep"]["logRetention"] == []  # the stack gave the nested build's its own


def test_every_principal_acted_under_its_role_and_was_refused_only_where_expected(account):
    principals = account["principals"]
    names = {KEYS[w]: w for w in ("scanner", "sweeper", "orchestrator")}
    names[EXECUTOR_KEY] = "executor"
    assert set(names) <= set(principals)
    nested = {k for k in principals if k.startswith("arn:aws:iam::")}
    assert f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-build-use1-service-role" in nested
    by = {names.get(c.key, "nested" if c.key in nested else c.key) for c in account["calls"]}
    assert {"scanner", "sweeper", "orchestrator", "executor", "nested"} <= by
    denied = set()
    for call in (c for c in account["calls"] if c.error in DENIED):
        who = names.get(call.key, "nested" if call.key in nested else call.key)
        statements = account["template"].policies_of(principals[call.key])
        (need,) = [n for n in iam.needs(call) if not iam.allowed(statements, n)]
        denied |= {(who, need.action, r) for r in need.resources}
    # do/submit probes the generator's bootstrap bucket (it exists here, theirs: the
    # script takes it as absent and uploads to the stack's), do/clean tries to delete the
    # nested build's role and its policy (the stack's: it reports that and goes on)
    nested_role = f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-build-use1-service-role"
    assert denied == {
        ("executor", "s3:ListBucket", f"arn:aws:s3:::{shared.BOOTSTRAP_BUCKET}"),
        ("executor", "iam:DeleteRole", nested_role),
        ("executor", "iam:DeleteRolePolicy", nested_role),
    }


def _borrow(twin, owner) -> dict[str, str]:
    """What the executor's role gets when it reaches for what the stack did not make:
    another team's build project (to start it with its own buildspec, or change it), the
    executor's own projects, a project under the prefix the stack did not name, a secret
    under the prefix that is not the token's. Asked of the account itself, as the executor's
    build would ask it. {what: error code, or "allowed"}."""
    import boto3
    from botocore.exceptions import ClientError

    owner["secretsmanager"].create_secret(Name="mlcc-ci-other-token", SecretString="x")
    session = boto3.session.Session(
        aws_access_key_id=EXECUTOR_KEY, aws_secret_access_key="twin", region_name="us-east-1"
    )
    codebuild = session.client("codebuild", endpoint_url=twin.url)
    secrets = session.client("secretsmanager", endpoint_url=twin.url)
    override = "version: 0.2\nphases:\n  build:\n    commands:\n      - env"
    attempts = {
        f"start {shared.TEAM}-train": lambda: codebuild.start_build(
            projectName=f"{shared.TEAM}-train", buildspecOverride=override
        ),
        f"update {shared.TEAM}-train": lambda: codebuild.update_project(
            name=f"{shared.TEAM}-train", description="mine now"
        ),
        "start mlcc-ci-executor": lambda: codebuild.start_build(
            projectName="mlcc-ci-executor", buildspecOverride=override
        ),
        "create mlcc-ci-anything-build-use1": lambda: codebuild.create_project(
            name="mlcc-ci-anything-build-use1",
            source={"type": "NO_SOURCE", "buildspec": override},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-build-use1-service-role",
        ),
        "read mlcc-ci-other-token": lambda: secrets.get_secret_value(
            SecretId="mlcc-ci-other-token"
        ),
        f"start {PROJECT}-build-use1": lambda: codebuild.start_build(
            projectName=f"{PROJECT}-build-use1"
        ),
    }
    said = {}
    for what, attempt in attempts.items():
        try:
            attempt()
            said[what] = "allowed"
        except ClientError as exc:
            said[what] = exc.response["Error"]["Code"]
    return said


def test_the_executor_cannot_borrow_a_build_or_a_secret_the_stack_did_not_make(account):
    said = account["borrowed"]
    mine = said.pop(f"start {PROJECT}-build-use1")
    assert mine not in DENIED  # its own nested project: IAM lets it (do/clean deleted it)
    assert set(said.values()) <= set(DENIED), said


# -- the IAM rules the shared account rests on, one by one ---------------------------------


def _call(service: str, action: str, **params: object) -> Call:
    return Call(service, action, "key", "us-east-1", dict(params), 0)


def test_list_actions_need_every_resource_and_describes_their_own(account):
    statements = account["template"].policies_of(account["principals"][KEYS["sweeper"]])

    def may(call: Call) -> bool:
        return all(iam.allowed(statements, n) for n in iam.needs(call))

    assert may(_call("sagemaker", "ListEndpointConfigs", NameContains="mlcc-ci"))
    assert may(_call("sagemaker", "DescribeEndpointConfig", EndpointConfigName="mlcc-ci-x-epc"))
    assert not may(_call("sagemaker", "DescribeEndpointConfig", EndpointConfigName="recsys-epc"))
    assert not may(
        _call("sagemaker", "DescribeEndpointConfig", EndpointConfigName="team-mlcc-ci-epc")
    )
    assert may(_call("codebuild", "BatchGetProjects", names=["mlcc-ci-x-build-use1"]))
    assert not may(_call("codebuild", "BatchGetProjects", names=["mlcc-ci-x-build"]))
    assert not may(_call("codebuild", "DeleteProject", name="team-mlcc-ci-shadow-build"))
    assert may(_call("logs", "DescribeLogGroups", logGroupNamePrefix="/aws/codebuild/mlcc-ci-"))
    assert may(_call("logs", "PutRetentionPolicy", logGroupName="/aws/codebuild/mlcc-ci-x-build"))
    assert not may(
        _call("logs", "PutRetentionPolicy", logGroupName="/aws/codebuild/recsys-images-build")
    )
    # the status index is a resource of its own: the sweeper may query it, not the table
    assert may(_call("dynamodb", "Query", TableName=fixture.TABLE, IndexName=STATUS_INDEX))
    assert not may(_call("dynamodb", "Query", TableName=fixture.TABLE))


def test_conditions_are_honoured_and_unknown_ones_refuse_to_guess():
    passing = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::123456789012:role/r",
        "Condition": {"StringEquals": {"iam:PassedToService": "codebuild.amazonaws.com"}},
    }
    role = ("arn:aws:iam::123456789012:role/r",)
    assert iam.allowed([passing], iam.Need("iam:PassRole", role, "codebuild.amazonaws.com"))
    assert not iam.allowed([passing], iam.Need("iam:PassRole", role, "sagemaker.amazonaws.com"))
    for condition in (
        {"StringLike": {"iam:PassedToService": "code*"}},
        {"StringNotEquals": {"iam:PassedToService": "x"}},
        {"StringEquals": {"aws:ResourceTag/team": "x"}},
    ):
        with pytest.raises(NotImplementedError):
            iam.allowed([{**passing, "Condition": condition}], iam.Need("iam:PassRole", role))


def test_the_orchestrator_may_build_only_the_executor_projects(account):
    template = account["template"]
    check = iam.authorizer(
        template.policies_of(account["principals"][KEYS["orchestrator"]]), "orchestrator"
    )
    executors = [
        template.name(logical)
        for logical, p in template.of_type("AWS::CodeBuild::Project").items()
        if not template.name(logical).endswith("-build")
    ]
    assert executors
    for project in executors:
        assert [check(c) for c in iam.sync_build_calls(project, "k")] == [None] * 5
    (refused, *_) = [check(c) for c in iam.sync_build_calls(f"{shared.TEAM}-train", "k")]
    assert refused == (
        "User: orchestrator is not authorized to perform: codebuild:StartBuild on resource: "
        f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/{shared.TEAM}-train"
    )


def test_a_nested_build_whose_role_may_not_read_its_source_fails_as_codebuild_fails_it(twin):
    """CodeBuild downloads the source as the project's service role: refused, the build
    ends FAILED in DOWNLOAD_SOURCE with the refusal in its log, and nothing is pushed."""
    import boto3

    role = f"arn:aws:iam::{ACCOUNT}:role/nested"
    may_push_only = [
        {"Effect": "Allow", "Action": ["logs:*", "ecr:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"},
    ]
    twin.enforced[role] = iam.authorizer(may_push_only, "assumed-role/nested/twin")
    s3, ecr = boto3.client("s3"), boto3.client("ecr")
    codebuild, logs = boto3.client("codebuild"), boto3.client("logs")
    s3.create_bucket(Bucket="sources")
    s3.put_object(Bucket="sources", Key="p/source.zip", Body=b"zip")
    ecr.create_repository(repositoryName="images")
    spec = (
        "version: 0.2\nenv:\n  variables:\n    ECR_REPOSITORY_NAME: images\n    PROJECT_NAME: p\n"
    )
    codebuild.create_project(
        name="p-build",
        source={"type": "NO_SOURCE", "buildspec": spec},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "x",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=role,
    )
    build = codebuild.start_build(
        projectName="p-build",
        sourceTypeOverride="S3",
        sourceLocationOverride="sources/p/source.zip",
    )["build"]
    (described,) = codebuild.batch_get_builds(ids=[build["id"]])["builds"]
    assert described["buildStatus"] == "FAILED"
    events = logs.get_log_events(
        logGroupName="/aws/codebuild/p-build", logStreamName=build["id"].split(":", 1)[1]
    )["events"]
    assert [e["message"] for e in events] == [
        "[Container] Phase DOWNLOAD_SOURCE: CLIENT_ERROR: User: assumed-role/nested/twin is not "
        "authorized to perform: s3:GetObject on resource: arn:aws:s3:::sources/p/source.zip"
    ]
    assert ecr.describe_images(repositoryName="images")["imageDetails"] == []
    steps = [(c.action, c.error) for c in twin.calls if c.key == role]
    assert steps[-1] == ("GetObject", "AccessDenied")
