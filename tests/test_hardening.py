"""Hostile inputs, one class at a time: each was reproduced against an earlier main."""

import json

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Registration
from mlcc_ci.stores.open import open_store
from tests.test_doconfig import CONFIG, project

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()


# -- 1. a registered project stays inside its work folder ------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'export PROJECT_NAME="/some/absolute/dir"',
            "PROJECT_NAME: projectName '/some/absolute/dir' is not valid",
        ),
        (
            'export DEPLOYMENT_CONFIG="../../../x"',
            "DEPLOYMENT_CONFIG: deploymentConfig '../../../x' is not valid",
        ),
        ('export MODEL_NAME="org/model:tag"', "MODEL_NAME: modelName 'org/model:tag' is not valid"),
        ('export AWS_REGION="us-east-1:x"', "AWS_REGION: region 'us-east-1:x' is not valid"),
        (
            'export BUILD_STRATEGY="make-it-so"',
            "BUILD_STRATEGY 'make-it-so' is not one of codebuild-submit, docker-in-docker",
        ),
    ],
)
def test_registration_refuses_names_that_are_not_names(cli, tmp_path, line, message):
    text = CONFIG + line + "\n"  # the last assignment wins, as in bash
    proj = project(tmp_path / "p", text)
    result = cli("register", "--from-project", str(proj), "--store", f"sqlite:///{tmp_path}/r.db")
    assert result.exit_code == 1
    (error,) = [x for x in result.output.splitlines() if x.startswith("Error: ")]
    number = len(text.splitlines())
    assert error.startswith(f"Error: {proj / 'do' / 'config'}:{number}: {message}")
    assert (
        not (tmp_path / "r.db").exists()
        or list(open_store(f"sqlite:///{tmp_path}/r.db").records()) == []
    )


def _raw_record(store, config_id: str, **fields) -> None:
    """Write an item as another tool might, straight into the SQLite file."""
    item = {
        "configId": config_id,
        "configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "ok"}),
        "deploymentConfig": "http-flask",
        "projectName": "ok",
        "testStatus": "untested",
        "lastTestTimestamp": "1970-01-01T00:00:00Z",
        "version": 1,
        **fields,
    }
    with store._write() as conn:
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            (config_id, "untested", "1970-01-01T00:00:00Z", 1, None, json.dumps(item)),
        )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"projectName": "/etc"}, "projectName '/etc' is not valid"),
        (
            {"configJson": json.dumps({"deploymentConfig": "http-flask", "projectName": "../.."})},
            "projectName '../..' is not valid",
        ),
        ({"deploymentConfig": "../../x"}, "deploymentConfig '../../x' is not valid"),
        ({"runId": "../../escape"}, "runId '../../escape' is not valid"),
    ],
)
def test_a_stored_record_naming_a_path_is_never_run(cli, tmp_path, fields, reason):
    url = f"sqlite:///{tmp_path}/r.db"
    store = open_store(url)
    store.create_tables()
    _raw_record(store, "00000000000000aa", **fields)
    result = cli(
        "run", "--due", "--profile", "example", "--store", url, "--work-dir", str(tmp_path / "w")
    )
    assert result.output.splitlines()[-1] == "nothing to run"
    plan = json.loads(cli("plan", "--json", "--store", url).output)
    (unreadable,) = plan["unreadable"]
    assert unreadable["configId"] == "00000000000000aa"
    assert unreadable["reason"].startswith(reason)


# -- 2. secrets are never stored, whatever their key ----------------------------------------


def test_project_registration_drops_secrets_by_their_value_and_reads_no_environment(
    cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    text = CONFIG + (
        'export NOTE="$AWS_SECRET_ACCESS_KEY"\n'
        "export ACCESS=AKIAABCDEFGHIJKLMNOP\n"
        'export REPO="https://user:pa55word@git.example.com/team/repo.git"\n'
        'export DB="postgres://app:s3cret-pw@db.internal:5432/app"\n'
    )
    url = f"sqlite:///{tmp_path}/r.db"
    result = cli("register", "--from-project", str(project(tmp_path / "p", text)), "--store", url)
    assert result.exit_code == 0, result.output
    assert "not stored (secrets): ACCESS, DB, DB_PASSWORD, HF_TOKEN, NGC_API_KEY, REPO" in (
        result.output
    )
    dump = (tmp_path / "r.db").read_bytes()
    for leak in (b"wJalrXUtnFEMI", b"AKIAABCDEFGHIJKLMNOP", b"pa55word", b"s3cret-pw"):
        assert leak not in dump
    (record,) = open_store(url).records()
    assert json.loads(record.configJson)["parameters"]["NOTE"] == ""


# -- 9. an unknown build strategy fails the build --------------------------------------------


def test_an_unknown_build_strategy_fails_the_build(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    entry = CATALOG.get("http-flask")
    store = open_store(url)
    store.create_tables()
    config = {**entry.config, "buildStrategy": "make-it-so"}
    reg = Registration(
        configId=entry.config_id,
        configJson=json.dumps(config),
        deploymentConfig=entry.name,
        buildStrategy="make-it-so",
        projectName=config["projectName"],
        source="catalog",
        baseImage=config["baseImage"],
    )
    store.register(reg, clock.iso(clock.now()))
    result = cli(
        "run", "--due", "--profile", "example", "--store", url, "--work-dir", str(tmp_path / "w")
    )
    assert result.exit_code == 1
    (record,) = open_store(url).records()
    assert record.testStatus == "fail-build"
    assert record.stageResults["build"].errorSummary == (
        "buildStrategy 'make-it-so' has no build command (known: codebuild-submit, "
        "docker-in-docker)"
    )
