"""Publishing the confidence site to S3 after each run (the PublishBucket and PublishPrefix
parameters, off by default): the synthesized template as CloudFormation would deploy it with
the parameters empty and given, and the executor's post_build run as CodeBuild runs it
(one bash for the phase, stdin closed, the template's variables only) against S3 and
DynamoDB on 127.0.0.1 (moto), every call it makes judged against the executor's statements.
"""

import base64
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mlcc_ci import constants
from tests.conftest import PYTHON_GUARD

pytestmark = pytest.mark.cdk
REGION = "us-east-1"
BUCKET, PREFIX = "team-site", "mlcc-ci/confidence/"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
PUBLISH_SIDS = [
    "ListThePublishedSite",
    "WriteThePublishedSite",
    "ReadWhatThePublishedSiteShows",
    "ReadTheHistoryThePublishedSiteShows",
]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> Path:
    """One synth, the AwsSolutions checks on: the parameters are CloudFormation's, so the
    same template is read below with them empty and given."""
    from mlcc_ci.stack.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(str(outdir), region=REGION).synth()
    return outdir


def _template(outdir: Path, **parameters: str):
    from tests.twin.template import Template

    return Template.load(outdir, **parameters)


def _executor_policies(t) -> dict[str, list[dict]]:
    """The policies CloudFormation would create on the executor's role: logical id ->
    resolved statements."""
    found = {}
    for logical in t.of_type("AWS::IAM::Policy"):
        props = t.properties(logical)
        if any(role.startswith("mlcc-ci-harness-executorrole") for role in props["Roles"]):
            found[logical] = props["PolicyDocument"]["Statement"]
    return found


def _environment(t) -> dict[str, str]:
    _, props = t.project(constants.EXECUTOR_PROJECT)
    return {v["Name"]: str(v["Value"]) for v in props["Environment"]["EnvironmentVariables"]}


def _arn(t, kind: str, name: str) -> str:
    (logical,) = (k for k in t.of_type(kind) if t.name(k) == name)
    return t.arn(logical)


def test_publishing_is_off_by_default_and_scoped_to_the_prefix_when_on(synthesized):
    params = json.loads((synthesized / f"{constants.STACK_NAME}.template.json").read_text())[
        "Parameters"
    ]
    assert (params["PublishBucket"]["Default"], params["PublishPrefix"]["Default"]) == ("", "")
    bucket_ok, prefix_ok = (
        params["PublishBucket"]["AllowedPattern"],
        params["PublishPrefix"]["AllowedPattern"],
    )
    java = lambda p, s: re.fullmatch(p, s) is not None  # noqa: E731 (the patterns are plain)
    assert java(bucket_ok, "") and java(bucket_ok, BUCKET) and not java(bucket_ok, "Team_Site")
    for good in ("", PREFIX, "site/"):
        assert java(prefix_ok, good), good
    # no wildcard or policy variable into the IAM resource, and whole folders only: a
    # prefix "site" would also grant "site-of-someone-else/"
    for bad in ("site", "*/", "a/*", "${aws:username}/", "/", "a//"):
        assert not java(prefix_ok, bad), bad

    off, on = (
        _template(synthesized),
        _template(synthesized, PublishBucket=BUCKET, PublishPrefix=PREFIX),
    )
    off_policies, on_policies = _executor_policies(off), _executor_policies(on)
    (added,) = set(on_policies) - set(off_policies)
    assert {k: v for k, v in on_policies.items() if k != added} == off_policies
    # off: CloudFormation creates no statement of it, and nothing names the bucket
    every_off = [s for p in off_policies.values() for s in p]
    assert not [s for s in every_off if s.get("Sid") in PUBLISH_SIDS]
    assert _environment(off)["MLCC_CI_PUBLISH_BUCKET"] == ""
    # on: exactly these four, on the executor's role alone
    records = _arn(on, "AWS::DynamoDB::Table", constants.TABLE_NAME)
    runs = _arn(on, "AWS::DynamoDB::Table", constants.RUNS_TABLE_NAME)
    assert on_policies[added] == [
        {
            "Sid": "ListThePublishedSite",
            "Action": "s3:ListBucket",
            "Effect": "Allow",
            "Resource": f"arn:aws:s3:::{BUCKET}",
            "Condition": {"StringLike": {"s3:prefix": [f"{PREFIX}*"]}},
        },
        {
            "Sid": "WriteThePublishedSite",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Effect": "Allow",
            "Resource": f"arn:aws:s3:::{BUCKET}/{PREFIX}*",
        },
        {
            "Sid": "ReadWhatThePublishedSiteShows",
            "Action": "dynamodb:Scan",
            "Effect": "Allow",
            "Resource": records,
        },
        {
            "Sid": "ReadTheHistoryThePublishedSiteShows",
            "Action": "dynamodb:Query",
            "Effect": "Allow",
            "Resource": runs,
        },
    ]
    (role,) = (k for k in on.of_type("AWS::IAM::Role") if k.startswith("ExecutorRole"))
    assert on.properties(added)["Roles"] == [on.name(role)]
    env = _environment(on)
    assert (env["MLCC_CI_PUBLISH_BUCKET"], env["MLCC_CI_PUBLISH_PREFIX"]) == (BUCKET, PREFIX)
    # what the statements do not allow: another prefix, another bucket, reading objects
    statements = [s for p in on_policies.values() for s in p]
    for action, resource, prefix in (
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/other/index.html", None),
        ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/mlcc-ci/confidence-old/x", None),
        ("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/index.html", None),
        ("s3:PutObject", f"arn:aws:s3:::another-bucket/{PREFIX}index.html", None),
        ("s3:GetObject", f"arn:aws:s3:::{BUCKET}/{PREFIX}index.html", None),
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", "other/"),
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", ""),
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", None),
        ("dynamodb:Scan", runs, None),
        ("dynamodb:PutItem", records, None),
    ):
        assert not _allowed(statements, action, resource, prefix), (action, resource, prefix)
    assert _allowed(statements, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", PREFIX)
    # the bucket's root: every key, and a listing from the top (the sync asks prefix="")
    root = _template(synthesized, PublishBucket=BUCKET)
    (root_policy,) = set(_executor_policies(root)) - set(off_policies)
    rooted = _executor_policies(root)[root_policy]
    assert _allowed(rooted, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", "")
    assert _allowed(rooted, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/index.html", None)
    assert not _allowed(rooted, "s3:PutObject", "arn:aws:s3:::other-bucket/index.html", None)

    # cdk-nag: the one wildcard (the objects under the prefix) accepted with a reason
    report = json.loads((synthesized / "validation-report.json").read_text())
    (plugin,) = report["pluginReports"]
    assert plugin["conclusion"] == "success" and plugin["violations"] == []
    (accepted,) = [s for s in plugin["suppressedViolations"] if "PublishBucket" in s["ruleName"]]
    assert accepted["ruleName"] == (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<PublishBucket>/<PublishPrefix>*]"
    )
    assert "PublishPrefix" in accepted["reason"]


def _allowed(statements: list[dict], action: str, resource: str, prefix: str | None) -> bool:
    """IAM's answer for one request from these Allow statements (none of the executor's
    denies: its only Deny is the permissions boundary's, which allows s3 and dynamodb):
    an action and resource matched as IAM's wildcards, StringLike/StringEquals on s3:prefix
    (a request without the key matches neither, "IAM JSON policy elements: Condition
    operators")."""
    for s in statements:
        assert s["Effect"] == "Allow"
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        if not any(fnmatch.fnmatchcase(action, a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in resources):
            continue
        ok = True
        for operator, keys in s.get("Condition", {}).items():
            for key, wanted in keys.items():
                wanted = wanted if isinstance(wanted, list) else [wanted]
                actual = {"s3:prefix": prefix}.get(key)
                if key not in ("s3:prefix", "iam:PassedToService"):
                    raise NotImplementedError(key)
                if operator == "StringLike":
                    ok &= actual is not None and any(fnmatch.fnmatchcase(actual, w) for w in wanted)
                elif operator == "StringEquals":
                    ok &= actual is not None and actual in wanted
                else:
                    raise NotImplementedError(operator)
        if ok:
            return True
    return False


# -- the executor's post_build, as CodeBuild runs it ------------------------------------------


def _calls(recording: str, tables: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """(IAM action, resource ARN, s3:prefix) of each request moto recorded: S3 in path
    style (the endpoint is an IP address), DynamoDB by its X-Amz-Target."""
    found = []
    for line in recording.splitlines():
        entry = json.loads(line)
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        url = urllib.parse.urlsplit(entry["url"])
        if "x-amz-target" in headers:
            body = entry["body"]
            body = base64.b64decode(body) if entry["body_encoded"] else body
            operation = headers["x-amz-target"].split(".")[1]
            found.append((f"dynamodb:{operation}", tables[json.loads(body)["TableName"]], None))
            continue
        bucket, _, key = urllib.parse.unquote(url.path).lstrip("/").partition("/")
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        method = entry["method"]
        if method == "GET" and not key:
            found.append(
                ("s3:ListBucket", f"arn:aws:s3:::{bucket}", query.get("prefix", [None])[0])
            )
        elif method == "PUT" and key:
            found.append(("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", None))
        elif method == "DELETE" and key:
            found.append(("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{key}", None))
        elif method == "POST" and "delete" in query:
            body = base64.b64decode(entry["body"]) if entry["body_encoded"] else entry["body"]
            text = body.decode() if isinstance(body, bytes) else body
            for deleted in re.findall(r"<Key>(.*?)</Key>", text):
                found.append(("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{deleted}", None))
        else:
            raise AssertionError(f"an S3 request the test does not map: {method} {entry['url']}")
    return found


@pytest.fixture
def account(moto_server, monkeypatch, cli, tmp_path):
    """S3 and DynamoDB on 127.0.0.1 (moto): the stack's tables with every catalog entry
    registered, one passed, one whose record carries no runs (the publish reads its history);
    the team's bucket with an object of an old site under the prefix and one outside it."""
    import boto3
    from moto.moto_api import recorder

    for name, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    store = (
        f"dynamodb://{constants.TABLE_NAME}?region={REGION}&runs_table={constants.RUNS_TABLE_NAME}"
    )
    assert cli("store", "create-tables", "--store", store).exit_code == 0
    assert cli("register", "--from-catalog", "--all", "--store", store).exit_code == 0
    from mlcc_ci import clock
    from mlcc_ci.models import Outcome, run_of
    from mlcc_ci.stores.base import claim, finish
    from mlcc_ci.stores.open import open_store

    supported = [r for r in open_store(store).records() if r.supported]
    for record, passed in zip(supported[:2], (True, False), strict=True):
        now = clock.iso(clock.now(), ms=True)
        running = claim(open_store(store), record, f"run-{record.configId}", now)
        status = "pass" if passed else "fail-build"
        outcome = Outcome(status, clock.iso(clock.now()), 1.0, {})
        finish(open_store(store), running, outcome)
        open_store(store).append_run(run_of(running, outcome))  # as the runner does
    # an older writer's record: tested, no runs carried (its history is in the runs table)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.update_item(
        TableName=constants.TABLE_NAME,
        Key={"configId": {"S": supported[1].configId}},
        UpdateExpression="REMOVE recentRuns",
    )
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}configs/gone.html", Body=b"old")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/keep.txt", Body=b"not the site's")
    recording = tmp_path / "moto-recording"
    monkeypatch.setattr(recorder, "_location", str(recording))
    # `aws s3 sync` sends requests in parallel; moto's recorder writes each entry and its
    # newline apart, so two threads can interleave them: one at a time, whole lines
    import threading

    one_at_a_time, record = threading.Lock(), recorder._record_request

    def record_whole(*args, **kwargs):
        with one_at_a_time:
            return record(*args, **kwargs)

    monkeypatch.setattr(recorder, "_record_request", record_whole)
    recorder.reset_recording()
    recorder.start_recording()
    yield {"s3": s3, "ids": [r.configId for r in supported[:2]], "recording": recording}
    recorder.stop_recording()


def _post_build(synthesized: Path, tmp_path: Path, *, started_ms: int, **parameters: str):
    """The executor's post_build phase as CodeBuild runs it after a build phase that
    succeeded: its commands in one bash (tests/twin/codebuild.script), stdin closed, in a
    copy of the source asset, with the template's variables and CodeBuild's own only."""
    from tests.twin.codebuild import script

    t = _template(synthesized, **parameters)
    _, props = t.project(constants.EXECUTOR_PROJECT)
    spec = json.loads(props["Source"]["BuildSpec"])
    src = tmp_path / "build" / "src"
    shutil.copytree(t.asset_dir(props["Source"]["Location"]), src)
    (tmp_path / "home").mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_EC2_METADATA_DISABLED": "true",
        "CODEBUILD_BUILD_ID": f"{constants.EXECUTOR_PROJECT}:0b5e-uuid",
        "CODEBUILD_SRC_DIR": str(src),
        "CODEBUILD_START_TIME": str(started_ms),
        "PYTHONPATH": str(PYTHON_GUARD),  # loopback only
        **_environment(t),
        "CONFIG_ID": "0123456789abcdef",  # the orchestrator's overrides
        "RUN_ID": "run-1",
    }
    return subprocess.run(
        ["bash", "-c", script({"phases": {"post_build": spec["phases"]["post_build"]}})],
        cwd=src,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _keys(s3) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.mark.functional
def test_post_build_publishes_the_site_under_the_prefix_with_only_what_the_role_allows(
    synthesized, account, tmp_path
):
    now_ms = int(time.time() * 1000)
    done = _post_build(
        synthesized, tmp_path, started_ms=now_ms, PublishBucket=BUCKET, PublishPrefix=PREFIX
    )
    recorded = account["recording"].read_text()  # the post_build's calls, not the test's
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"mlcc-ci: published the confidence site to s3://{BUCKET}/{PREFIX}\n" in done.stdout
    keys = _keys(account["s3"])
    # the old site's page is gone, what is outside the prefix is left alone
    assert "elsewhere/keep.txt" in keys and f"{PREFIX}configs/gone.html" not in keys
    site = {k.removeprefix(PREFIX) for k in keys if k.startswith(PREFIX)}
    assert {"index.html", "confidence.json", "confidence.schema.json", ".mlcc-ci-site"} <= site
    body = account["s3"].get_object(Bucket=BUCKET, Key=f"{PREFIX}confidence.json")["Body"]
    published = {c["configId"]: c for c in json.loads(body.read())["configurations"]}
    passed, failed = (published[i] for i in account["ids"])
    assert (passed["runs"], passed["passes"], passed["level"]) == (1, 1, "new")
    # the failed one's record carries no runs: they come from its history (a Query)
    assert (failed["runs"], failed["passes"], failed["level"]) == (1, 0, "failing")
    for item in (passed, failed):
        assert {item["page"], item["badge"]} <= site
    # every call the publish made, judged against what the executor's role may do; the S3
    # calls and the reads are the publishing policy's alone
    t = _template(synthesized, PublishBucket=BUCKET, PublishPrefix=PREFIX)
    tables = {t.name(k): t.arn(k) for k in t.of_type("AWS::DynamoDB::Table")}
    calls = _calls(recorded, tables)
    actions = {a for a, _, _ in calls}
    assert {"s3:ListBucket", "s3:PutObject", "s3:DeleteObject", "dynamodb:Scan"} <= actions
    assert "dynamodb:Query" in actions
    policies = _executor_policies(t)
    every = [s for p in policies.values() for s in p]
    without = [s for s in every if s.get("Sid") not in PUBLISH_SIDS]
    for call in calls:
        assert _allowed(every, *call), call
        if call[0] != "dynamodb:DescribeTable":
            assert not _allowed(without, *call), call


@pytest.mark.functional
def test_a_failed_or_late_publish_says_so_and_leaves_the_run_alone(synthesized, account, tmp_path):
    """A bucket that is not there: the phase still succeeds (the build's status is the
    run's), and the log says the site was not updated. With too little of the build's time
    left, nothing is tried. With no bucket, nothing is said or called."""
    now_ms = int(time.time() * 1000)
    failed = _post_build(
        synthesized, tmp_path / "a", started_ms=now_ms, PublishBucket="no-such-bucket"
    )
    assert failed.returncode == 0, failed.stdout + failed.stderr
    assert (
        "mlcc-ci: PUBLISH FAILED (exit 1): the site at s3://no-such-bucket/ was not updated; "
        "this run's result stands (the next run publishes again)\n"
    ) in failed.stdout
    assert "NoSuchBucket" in failed.stderr
    assert "Command did not exit successfully" not in failed.stdout

    from mlcc_ci.budget import for_catalog
    from mlcc_ci.catalog import load_valid_catalog

    build_seconds = for_catalog(load_valid_catalog()).build_minutes * 60
    long_ago = now_ms - (build_seconds - 70) * 1000  # 10 s left before the 60 s margin
    late = _post_build(
        synthesized, tmp_path / "b", started_ms=long_ago, PublishBucket=BUCKET, PublishPrefix=PREFIX
    )
    assert late.returncode == 0, late.stdout + late.stderr
    said = re.search(
        r"mlcc-ci: NOT PUBLISHED: (\d+)s left of the build, too little.*\n", late.stdout
    )
    assert said and int(said.group(1)) <= 10, late.stdout
    assert "the next run publishes it" in said.group(0)

    off = _post_build(synthesized, tmp_path / "c", started_ms=now_ms)
    assert off.returncode == 0, off.stdout + off.stderr
    recorded = account["recording"].read_text()  # the three post_builds' calls
    said = [ln for ln in off.stdout.splitlines() if not ln.startswith("[Container]")]
    assert (said, off.stderr) == ([], "")
    assert _keys(account["s3"]) == {f"{PREFIX}configs/gone.html", "elsewhere/keep.txt"}
    # nothing reached S3 but the failed attempt on the missing bucket
    buckets = {
        urllib.parse.urlsplit(json.loads(line)["url"]).path.split("/")[1]
        for line in recorded.splitlines()
        if "x-amz-target" not in {k.lower() for k in json.loads(line)["headers"]}
    }
    assert buckets == {"no-such-bucket"}
