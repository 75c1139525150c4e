"""A CI table shared with the generator's own tools: a project's unchanged `do/register --ci`
(the real generator's, with the AWS CLI from PyPI) writes into it, the original buildspec's
shape and an unreadable item sit beside mlcc-ci's records, and every reader copes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from mlcc_ci import validate_env
from mlcc_ci.aws.scanner import handler
from mlcc_ci.catalog import load_valid_catalog
from tests.conftest import generate
from tests.stores import pass_state_machine

pytestmark = pytest.mark.generator  # every test here reads what the pinned generator made
CATALOG = load_valid_catalog()
FLASK = CATALOG.get("http-flask")
ONNX = CATALOG.get("triton-onnx")
TABLE = "mlcc-ci-table"
# Secrets that are secrets by the shape of their value, not by their name.
LEAKS = {
    "NOTE": "AKIAABCDEFGHIJKLMNOP",
    "REPO_URL": "https://deploy:hunter2hunter2@git.example.com/team/models.git",
    "GH": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2",
}
FOREIGN_ID = "0123456789abcdef"  # the original buildspec's shape
BROKEN_ID = "fedcba9876543210"  # nobody can read this one


def _aws_env(url: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": "us-east-1"}


def _client(url: str):
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1")


def _project_env(tmp: Path, url: str) -> dict[str, str]:
    """What the project's do-scripts want: an activated virtualenv and `aws` on PATH."""
    venv = validate_env.python_env(tmp / "venvs")
    path = f"{venv / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    return {**os.environ, **_aws_env(url), **LEAKS, "VIRTUAL_ENV": str(venv), "PATH": path}


def _do(project: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(project / "do" / args[0]), *args[1:]], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout


def _json_after_banner(stdout: str):
    """do/ci prints do/config's summary before its JSON."""
    return json.loads(stdout[stdout.index("\n{") + 1 :])


@pytest.fixture
def shared_table(cli, tmp_path, moto_server, pinned_generator, monkeypatch):
    """Catalog records, the generator's own registration of http-flask and of triton-onnx
    (as it names it: triton-onnxruntime), a buildspec-shaped item and an unreadable one."""
    for key, value in _aws_env(moto_server).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PATH", f"{pinned_generator.command.parent}:{os.environ['PATH']}")
    assert cli("store", "create-tables", "--table", TABLE).exit_code == 0
    assert cli("register", "--from-catalog", "--all", "--table", TABLE).exit_code == 0
    env = _project_env(tmp_path, moto_server)
    projects = {}
    for entry in (FLASK, ONNX):
        project = tmp_path / entry.name
        generate("ml-container-creator", entry, project)
        out = _do(project, env, "register", "--ci")
        assert "New CI record created" in out
        projects[entry.name] = project
    client = _client(moto_server)
    client.put_item(
        TableName=TABLE,
        Item={
            "configId": {"S": FOREIGN_ID},
            "schemaVersion": {"N": "1"},
            "configJson": {
                "S": json.dumps({"deploymentConfig": "my-custom", "awsRegion": "us-east-1"})
            },
            "deploymentConfig": {"S": "my-custom"},
            "projectName": {"S": "my-custom-project"},
            "testStatus": {"S": "fail-deploy_test"},
            "lastTestTimestamp": {"S": "2026-01-01T00:00:00Z"},
            "lastTestDuration": {"N": "842"},
            "errorMessage": {"S": "endpoint failed to start"},
            "stageResults": {
                "M": {
                    stage: {
                        "M": {
                            "status": {"S": status},
                            "durationSeconds": {"N": "12"},
                            "logPointer": {"S": f"build/{FOREIGN_ID}/1"},
                            "errorSummary": {"S": "boom" if status == "fail" else ""},
                        }
                    }
                    for stage, status in (
                        ("generate", "pass"),
                        ("build", "pass"),
                        ("deploy_test", "fail"),
                        ("adapter_test", "skip"),
                        ("update", "pass"),
                    )
                }
            },
            "ownerTeam": {"S": "inference-platform"},
        },
    )
    client.put_item(
        TableName=TABLE,
        Item={
            "configId": {"S": BROKEN_ID},
            "configJson": {"S": "{not json"},
            "testStatus": {"S": "untested"},
            "lastTestTimestamp": {"S": "1970-01-01T00:00:00Z"},
        },
    )
    return moto_server, projects, env


def _no_leaks(text: str) -> None:
    for value in LEAKS.values():
        assert value not in text
    assert "hunter2" not in text


def test_every_reader_copes_with_a_shared_table(cli, shared_table):
    url, _, _ = shared_table
    text = cli("report", "--table", TABLE)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert sum(line.startswith("http-flask ") for line in lines) == 1
    assert sum(line.startswith("triton-onnx ") for line in lines) == 1
    assert not any(line.startswith("triton-onnxruntime ") for line in lines)
    assert f"UNREADABLE record {BROKEN_ID}: configJson is not JSON" in lines
    assert any(line.startswith("my-custom ") and "fail-deploy_test" in line for line in lines)

    doc = json.loads(cli("report", "--table", TABLE, "--format", "json").output)
    assert doc["configurations"]["http-flask"]["recordCount"] == 2
    assert doc["configurations"]["triton-onnx"]["recordCount"] == 2
    assert doc["unreadable"] == [{"configId": BROKEN_ID, "reason": "configJson is not JSON"}]
    foreign = doc["configurations"]["my-custom"]
    assert foreign["stageResults"]["adapter_test"] == {
        "status": "skip",
        "durationSeconds": 12,
        "logPointer": f"build/{FOREIGN_ID}/1",
    }

    status = json.loads(cli("status", "--table", TABLE, "--json").output)
    # two deployments recorded twice; every catalog configuration and my-custom, as report
    assert status["records"] == len(CATALOG.entries) + 3  # and two projects, my-custom
    assert status["total"] == len(CATALOG.entries) + 1
    assert status["total"] == doc["summary"]["total"]
    assert status["unreadable"] == [{"configId": BROKEN_ID, "reason": "configJson is not JSON"}]

    plan = json.loads(cli("plan", "--table", TABLE, "--json").output)
    due = [d["name"] for d in plan["due"]]
    assert due.count("http-flask") == 1 and "triton-onnxruntime" not in due
    duplicates = [d for d in plan["skipped"] if d["reason"] == "duplicate"]
    assert {d["name"] for d in duplicates} == {"http-flask", "triton-onnxruntime"}
    assert plan["unreadable"] == [{"configId": BROKEN_ID, "reason": "configJson is not JSON"}]

    sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1")
    arn = pass_state_machine(sfn)
    started = handler({}, None, env={"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "50"})
    supported = sum(e.supported for e in CATALOG.entries)
    assert len(started["executionArns"]) == supported + 1  # and my-custom

    for output in (text.output, json.dumps(doc), json.dumps(status)):
        _no_leaks(output)


def test_the_dashboard_api_shows_no_secret(shared_table):
    from mlcc_ci.dashboard import serve
    from mlcc_ci.stores.open import open_store

    store = open_store(None, table=TABLE)
    server = serve(store, CATALOG, "127.0.0.1", 0)
    import threading
    import urllib.request

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        records = urllib.request.urlopen(base + "/api/records", timeout=10).read().decode()
        page = urllib.request.urlopen(base + "/", timeout=10).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert len(json.loads(records)) == len(CATALOG.entries) + 3  # two projects, my-custom
    assert BROKEN_ID in page and "configJson is not JSON" in page
    _no_leaks(records + page)
    raw = _client(shared_table[0]).scan(TableName=TABLE)["Items"]
    stored = json.dumps(raw)
    assert LEAKS["NOTE"] in stored  # the generator's do/register did store it


def test_doctor_leaves_one_record_per_deployment_with_its_history(cli, shared_table):
    url, projects, env = shared_table
    flask_theirs = next(
        r["configId"]["S"]
        for r in _client(url).scan(TableName=TABLE)["Items"]
        if r.get("deploymentConfig", {}).get("S") == "http-flask"
        and r["configId"]["S"] != FLASK.config_id
    )
    found = cli("store", "doctor", "--table", TABLE)
    assert found.exit_code == 1
    lines = found.output.splitlines()
    assert f"duplicate   {flask_theirs}  same deployment as {FLASK.config_id} (http-flask)" in lines
    assert f"unreadable  {BROKEN_ID}  configJson is not JSON" in lines
    assert f"foreign     {FOREIGN_ID}  no version" in lines
    assert f"foreign     {flask_theirs}  no version" in lines
    secrets = next(line for line in lines if line.startswith(f"secrets     {flask_theirs}"))
    for key in LEAKS:
        assert f"configJson.parameters.{key}" in secrets
    _no_leaks(found.output)
    # their record of http-flask is run once (by mlcc-ci, before anyone merges the twins)
    ran = cli("run", "--config-id", flask_theirs, "--profile", "example", "--table", TABLE)
    assert ran.exit_code == 0, ran.output

    fixed = cli("store", "doctor", "--table", TABLE, "--fix", "--yes")
    assert f"merged {flask_theirs} into {FLASK.config_id} (1 run of history moved), deleted it" in (
        fixed.output
    )
    again = cli("store", "doctor", "--table", TABLE, "--fix", "--yes")
    assert again.output.splitlines() == [
        f"unreadable  {BROKEN_ID}  configJson is not JSON",
        "1 finding(s); 0 record(s) to adopt or merge",
    ]
    doc = json.loads(cli("report", "--table", TABLE, "--format", "json").output)
    flask = doc["configurations"]["http-flask"]
    assert flask["recordCount"] == 1 and flask["status"] == "pass"
    assert [h["status"] for h in flask["history"]] == ["pass"]
    item = _client(url).get_item(TableName=TABLE, Key={"configId": {"S": FOREIGN_ID}})["Item"]
    assert item["ownerTeam"] == {"S": "inference-platform"}  # what another tool wrote stays
    assert item["version"] == {"N": "1"}
    # adopted, its duration is still whole seconds: the generator's do/ci int()s it
    assert item["lastTestDuration"] == {"N": "842"}
    their_report = _json_after_banner(_do(projects["http-flask"], env, "ci", "report", "--json"))
    assert their_report["configurations"]["my-custom"]["duration"] == 842
    _no_leaks(json.dumps(_client(url).scan(TableName=TABLE)["Items"]))


def test_the_generators_own_do_ci_shows_what_mlcc_ci_recorded(cli, shared_table, monkeypatch):
    _, projects, env = shared_table
    monkeypatch.setenv("MLCC_CI_FAULT", "triton-fil:build:fail")
    run = cli("run", "http-flask", "triton-fil", "--profile", "example", "--table", TABLE)
    assert run.exit_code == 1
    report = _json_after_banner(_do(projects["http-flask"], env, "ci", "report", "--json"))
    configurations = report["configurations"]
    assert configurations["triton-fil"]["status"] == "fail-build"
    # do/ci keeps one row per deploymentConfig: the record it shows is one of http-flask's two
    assert configurations["http-flask"]["status"] in ("pass", "untested")
    assert configurations["http-flask"]["recordCount"] == 2
    status = _do(projects["http-flask"], env, "ci", "status")
    assert "Passing:           1" in status and "Failing:           2" in status


def test_the_pinned_generators_do_test_still_knows_no_http_or_triton(
    twin, tmp_path, pinned_generator
):
    """Why the http and triton entries' deploy_test runs do/deploy and the harness's smoke
    test, not do/test: generator 1.6.0's do/test exits 3 for their frameworks. The day a
    generator bump fixes it, this fails: drop those entries' deploy_test overrides then."""
    from mlcc_ci import projectsetup

    boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="mlcc-ci-images")
    env = {
        **_project_env(tmp_path, twin.url),
        "ECR_REPOSITORY_NAME": "mlcc-ci-images",
        "ROLE_ARN": "arn:aws:iam::123456789012:role/mlcc-sagemaker-execution-role",
    }
    for entry in (FLASK, CATALOG.get("triton-fil")):
        project = generate(pinned_generator.command, entry, tmp_path / entry.name)
        name = entry.config["projectName"]
        # on a GPU type: generator 1.6.0 asks ml.m5.large for an accelerator it lacks, and
        # SageMaker would not place the http project's component at all
        settings = {"ENDPOINT_NAME": "{projectName}-endpoint", "INSTANCE_TYPE": "ml.g5.xlarge"}
        projectsetup.apply(project, settings, name)
        config = (project / "do" / "config").read_text()
        twin.push_image("us-east-1", "mlcc-ci-images", name, config, [f"{name}-latest"])
        for script in ("deploy", "test"):
            result = subprocess.run(
                [f"./do/{script}"],
                cwd=project,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if script == "deploy":
                assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]
        assert result.returncode == 3, result.stdout[-1500:]
        assert f"❌ Unknown framework: {entry.data['architecture']}" in result.stdout
        assert "✅ Endpoint is InService" in result.stdout  # it got as far as the framework
        assert entry.data["stages"]["deploy_test"]["command"] == "./do/deploy"
