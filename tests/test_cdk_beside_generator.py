"""Beside the generator's own CI stack: both synthesized for real, offline, and their physical
names compared.

Theirs is `infra/ci-harness` of the pinned `@aws/ml-container-creator` (what its `bootstrap
--ci` deploys), run as its `cdk.json` runs it (`ts-node bin/ci-harness.ts`) from a copy with
node_modules installed from its own package-lock (`make generator-stack`: `npm ci
--ignore-scripts` into .generator-stack/); its three NodejsFunctions bundle with that
install's esbuild, no Docker, and with the account and the region given nothing is looked
up. Ours is `cdk/app.py`'s `build_app`. Under another prefix no name of ours is theirs; under
the default prefix they collide, which is why the prefix exists; and two of ours (us-east-1,
eu-west-1) with theirs (us-east-1) share no name IAM or S3 keeps account-wide or global.
"""

import filecmp
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import GENERATOR_HOME, REPO

pytestmark = pytest.mark.cdk
CDK = REPO / "cdk"
# `make generator-stack`: a copy of the pinned generator's infra/ci-harness, node_modules
# installed from its package-lock.
GENERATOR_STACK = REPO / ".generator-stack" / "ci-harness"
ACCOUNT = "123456789012"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Where CloudFormation takes each kind of resource's physical name from, and who keeps it
# unique: the region ("region"), the account in every region ("account"), or all of AWS.
NAMES: dict[str, tuple[tuple[str, ...], str]] = {
    "AWS::DynamoDB::Table": (("TableName",), "region"),
    "AWS::Lambda::Function": (("FunctionName",), "region"),
    "AWS::Events::Rule": (("Name",), "region"),
    "AWS::CodeBuild::Project": (("Name",), "region"),
    "AWS::StepFunctions::StateMachine": (("StateMachineName",), "region"),
    "AWS::Logs::LogGroup": (("LogGroupName",), "region"),
    "AWS::SNS::Topic": (("TopicName",), "region"),
    "AWS::CloudWatch::Alarm": (("AlarmName",), "region"),
    "AWS::ECR::Repository": (("RepositoryName",), "region"),
    "AWS::ECR::PullThroughCacheRule": (("EcrRepositoryPrefix",), "region"),
    "AWS::Glue::Database": (("DatabaseInput", "Name"), "region"),
    "AWS::IAM::Role": (("RoleName",), "account"),
    "AWS::IAM::ManagedPolicy": (("ManagedPolicyName",), "account"),
    "AWS::Budgets::Budget": (("Budget", "BudgetName"), "account"),
    "AWS::S3::Bucket": (("BucketName",), "global"),
}
# An output's export name is the region's too (Fn::ImportValue finds it by name).
EXPORT = "Outputs.Export"
# What has no physical name of its own, or one only inside another resource's: a role's
# inline policy, a table in its Glue database, a permission or a policy attached to
# something named above.
UNNAMED = {
    "AWS::IAM::Policy",
    "AWS::Lambda::Permission",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::S3::BucketPolicy",
    "AWS::Glue::Table",
    "AWS::CDK::Metadata",
    "Custom::S3AutoDeleteObjects",
}
# The generator stack's names the review of issue 29 found ours had too.
REVIEWED = {
    "AWS::DynamoDB::Table": "mlcc-ci-table",
    "AWS::Logs::LogGroup": "ml-container-creator-ci",
    "AWS::Lambda::Function": "mlcc-ci-scanner",
    "AWS::Events::Rule": "mlcc-ci-scanner-schedule",
    "AWS::StepFunctions::StateMachine": "mlcc-ci-orchestrator",
    "AWS::CodeBuild::Project": "mlcc-ci-executor",
}


def literal(value: Any, region: str) -> str | None:
    """A name as deployed in `region` of ACCOUNT: a literal, a Ref to a pseudo parameter, or
    an Fn::Join / Fn::Sub of those; None for anything else (another resource's attribute, a
    parameter)."""
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    if isinstance(value, str):
        return value
    if not (isinstance(value, dict) and len(value) == 1):
        return None
    ((function, argument),) = value.items()
    if function == "Ref":
        return pseudo.get(argument)
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        separator, parts = argument
        joined = [literal(part, region) for part in parts] if isinstance(parts, list) else [None]
        return None if None in joined else separator.join(p for p in joined if p is not None)
    if function == "Fn::Sub" and isinstance(argument, str):
        text = re.sub(r"\$\{(AWS::\w+)\}", lambda m: pseudo.get(m[1], m[0]), argument)
        return None if "${" in text else text
    return None


def physical_names(synthesized: dict) -> tuple[dict[str, set[str]], list[str]]:
    """({resource type: names}, what names none can be read: 'Type LogicalId: {...}')."""
    template, region = synthesized["template"], synthesized["region"]
    found: dict[str, set[str]] = {}
    unread = []
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind not in NAMES:
            continue
        path, _ = NAMES[kind]
        value: Any = resource.get("Properties", {})
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:  # CloudFormation makes one up: unique
            continue
        name = literal(value, region)
        if name is None:
            unread.append(f"{kind} {logical_id}: {json.dumps(value)}")
        else:
            found.setdefault(kind, set()).add(name)
    for key, output in template.get("Outputs", {}).items():
        if "Export" in output:
            name = literal(output["Export"].get("Name"), region)
            if name is None:
                unread.append(f"{EXPORT} {key}: {json.dumps(output['Export'])}")
            else:
                found.setdefault(EXPORT, set()).add(name)
    return found, unread


def scope_of(kind: str) -> str:
    return "region" if kind == EXPORT else NAMES[kind][1]


def shared(a: dict[str, set[str]], b: dict[str, set[str]], scopes: set[str]) -> dict:
    """The names two stacks both use, of a kind whose names are unique in one of `scopes`."""
    both = {kind: sorted(a[kind] & b.get(kind, set())) for kind in a if scope_of(kind) in scopes}
    return {kind: names for kind, names in both.items() if names}


# -- synthesizing ---------------------------------------------------------------------------


def pinned_ci_harness() -> Path:
    """infra/ci-harness of the generator the catalog pins, as `make generator` installs it."""
    from mlcc_ci import generator
    from mlcc_ci.catalog import load_valid_catalog

    pin = generator.pin_of(load_valid_catalog().defaults)
    env = {generator.HOME_ENV: str(GENERATOR_HOME), "PATH": ""}
    installed = generator.find(pin, env)
    if installed is None or installed.version != pin.version:
        pytest.fail(f"no {pin.spec} in {GENERATOR_HOME}: make generator installs it")
    return installed.root / "infra" / "ci-harness"


def different(a: Path, b: Path) -> list[str]:
    """Files that differ between two folders (node_modules and the stamp aside)."""
    compare = filecmp.dircmp(a, b, ignore=["node_modules", ".installed"])
    out = [*compare.left_only, *compare.right_only, *compare.diff_files, *compare.funny_files]
    for name in compare.subdirs:
        out += [f"{name}/{f}" for f in different(a / name, b / name)]
    return out


def synthesize_theirs(outdir: Path, region: str) -> dict:
    """Their app as `cdk synth -c region=... -c account=...` runs it (cdk.json's context
    with those two), from the copy `make generator-stack` installed."""
    source = pinned_ci_harness()
    ts_node = GENERATOR_STACK / "node_modules" / ".bin" / "ts-node"
    if not ts_node.exists() or not (GENERATOR_STACK.parent / ".installed").exists():
        pytest.fail(
            f"no install of the generator's CI stack in {GENERATOR_STACK}: make generator-stack"
        )
    stale = different(source, GENERATOR_STACK)
    assert not stale, f"{GENERATOR_STACK} is not {source}: {stale}; make generator-stack"
    context = json.loads((GENERATOR_STACK / "cdk.json").read_text()).get("context", {})
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(outdir.parent),
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps({**context, "region": region, "account": ACCOUNT}),
        "CDK_DISABLE_VERSION_CHECK": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        # the same template as with type checking, in a third of the time
        "TS_NODE_TRANSPILE_ONLY": "1",
    }
    result = subprocess.run(
        [str(ts_node), "bin/ci-harness.ts"],
        cwd=GENERATOR_STACK,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((outdir / "manifest.json").read_text())
    assert not manifest.get("missing"), manifest["missing"]  # no lookup was needed
    template = json.loads((outdir / "MlccCiHarnessStack.template.json").read_text())
    return {"name": "MlccCiHarnessStack", "region": region, "template": template}


def synthesize_ours(outdir: Path, region: str, **context: str) -> dict:
    """Ours as `cdk synth` makes it (cdk-nag and cfn-lint are test_cdk_names.py's)."""
    from mlcc_ci.stack.app import build_app

    build_app(str(outdir), nag=False, context=context, region=region).synth()
    (stack,) = outdir.glob("*.template.json")
    name = stack.name.removesuffix(".template.json")
    return {"name": name, "region": region, "template": json.loads(stack.read_text())}


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    out = tmp_path_factory.mktemp("beside")
    return {
        "theirs": synthesize_theirs(out / "theirs", "us-east-1"),
        "default": synthesize_ours(out / "default", "us-east-1"),
        "team-east": synthesize_ours(out / "east", "us-east-1", prefix="team-ci"),
        "team-west": synthesize_ours(out / "west", "eu-west-1", prefix="team-ci"),
    }


@pytest.fixture(scope="module")
def names(stacks):
    return {key: physical_names(synthesized)[0] for key, synthesized in stacks.items()}


# -- the tests ------------------------------------------------------------------------------


def test_every_resource_is_classified_and_every_name_read(stacks):
    """A resource type neither table knows (a generator bump, a new resource of ours) or a
    name that is another resource's attribute or a parameter is reported, not passed over."""
    for key, synthesized in stacks.items():
        kinds = {r["Type"] for r in synthesized["template"]["Resources"].values()}
        assert kinds <= NAMES.keys() | UNNAMED, (key, sorted(kinds - NAMES.keys() - UNNAMED))
        _, unread = physical_names(synthesized)
        assert unread == [], (key, unread)


def test_their_stack_is_the_generators_ci_stack_with_its_fixed_names(stacks, names):
    """All its resources count, those its parameters leave out by default too (benchmark
    infrastructure, path prover): a team may have turned them on."""
    theirs = names["theirs"]
    assert stacks["theirs"]["template"]["Description"].startswith("ML Container Creator CI")
    for kind, name in REVIEWED.items():
        assert name in theirs[kind], (kind, sorted(theirs.get(kind, ())))
    # its roles carry the region, its path prover's do not; its bucket carries both
    assert "mlcc-ci-codebuild-role-us-east-1" in theirs["AWS::IAM::Role"]
    assert "mlcc-path-prover-brain-role" in theirs["AWS::IAM::Role"]
    assert theirs["AWS::S3::Bucket"] == {f"mlcc-benchmark-results-{ACCOUNT}-us-east-1"}
    assert sum(map(len, theirs.values())) >= 20


def test_under_another_prefix_no_name_of_ours_is_one_of_theirs(stacks, names):
    ours, theirs = names["team-east"], names["theirs"]
    assert stacks["team-east"]["name"] == "team-ci-harness"
    assert stacks["team-east"]["name"] != stacks["theirs"]["name"]
    assert not shared(ours, theirs, {"region", "account", "global"})
    # not even across kinds: no string that names anything of ours names anything of theirs
    all_ours, all_theirs = set().union(*ours.values()), set().union(*theirs.values())
    assert len(all_ours) > 30
    assert not all_ours & all_theirs, sorted(all_ours & all_theirs)


def test_with_the_default_prefix_they_collide_hence_the_prefix(stacks, names):
    """Our default names are the seed's, which are the generator stack's: in an account
    that ran `bootstrap --ci`, `cdk deploy` without a prefix fails on each of these."""
    collisions = shared(names["default"], names["theirs"], {"region", "account", "global"})
    assert collisions == {kind: [name] for kind, name in REVIEWED.items()}
    # but never their CloudFormation stack's name: deploying under it would update theirs
    assert stacks["theirs"]["name"] == "MlccCiHarnessStack"
    assert stacks["default"]["name"] == "mlcc-ci-harness"


def test_two_of_ours_and_theirs_in_one_account_share_no_role_name(names):
    """Ours under team-ci in us-east-1 and eu-west-1, theirs in us-east-1: no IAM role name
    (nor managed policy, budget or bucket name: the account's, or all of AWS's) twice."""
    three = {key: names[key] for key in ("team-east", "team-west", "theirs")}
    for key, found in three.items():
        assert found.get("AWS::IAM::Role"), key
    for a, b in (("team-east", "team-west"), ("team-east", "theirs"), ("team-west", "theirs")):
        assert not shared(three[a], three[b], {"account", "global"}), (a, b)
    roles = [name for found in three.values() for name in found["AWS::IAM::Role"]]
    assert len(roles) == len(set(roles)) > 30
