"""The drop-in do/register, run as a user would, against a DynamoDB endpoint on 127.0.0.1."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from tests.test_doconfig import CONFIG, project

pytestmark = pytest.mark.functional


def test_install_then_register_ci(cli, tmp_path, moto_server):
    proj = project(tmp_path / "proj", CONFIG)
    (proj / "do" / "register").write_text('#!/bin/sh\necho project-register "$@"\n')
    (proj / "do" / "register").chmod(0o755)
    result = cli("project", "install-scripts", str(proj))
    assert result.output.splitlines() == [
        "kept the project's do/register as do/register.project",
        "installed do/register",
        "installed do/ci",
    ]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_server,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    cli("store", "create-tables", "--table", "mlcc-ci-table", env={"AWS_ENDPOINT_URL": moto_server})
    run = subprocess.run(
        [str(proj / "do" / "register"), "--ci"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    expected = load_valid_catalog().get("transformers-vllm").config_id
    assert run.stdout.split() == ["created", "transformers-vllm", expected]
    assert "hf_" not in run.stdout + run.stderr

    import boto3

    client = boto3.client("dynamodb", endpoint_url=moto_server, region_name="us-east-1")
    item = client.get_item(TableName="mlcc-ci-table", Key={"configId": {"S": expected}})["Item"]
    assert item["testStatus"]["S"] == "untested" and item["source"]["S"] == "project"
    # without --ci the project's own script still answers
    own = subprocess.run(
        [str(proj / "do" / "register"), "--model-package"], capture_output=True, text=True, env=env
    )
    assert own.stdout == "project-register --model-package\n"
    missing = subprocess.run(
        [str(proj / "do" / "register"), "--ci", "--ci-table", "other"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode == 3
    assert "CI infrastructure not provisioned: table other not found in us-east-1" in missing.stderr


def test_do_ci_maps_onto_mlcc_ci_against_the_ci_table(cli, tmp_path, moto_server):
    proj = project(tmp_path / "proj", CONFIG)
    cli("project", "install-scripts", str(proj))
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_server,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    do_ci = str(proj / "do" / "ci")
    missing = subprocess.run([do_ci, "report", "--json"], capture_output=True, text=True, env=env)
    assert missing.returncode == 3
    assert missing.stderr.startswith(
        "Error: CI infrastructure not provisioned: table mlcc-ci-table not found in us-east-1"
    )
    cli("store", "create-tables", "--table", "mlcc-ci-table", env={"AWS_ENDPOINT_URL": moto_server})
    subprocess.run(
        [str(proj / "do" / "register"), "--ci"], check=True, env=env, capture_output=True
    )
    report = subprocess.run([do_ci, "report", "--json"], capture_output=True, text=True, env=env)
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert set(doc["summary"]) >= {
        "total",
        "tested",
        "passing",
        "failing",
        "untested",
        "coveragePercent",
    }
    assert doc["configurations"]["transformers-vllm"]["status"] == "untested"
    assert doc["configurations"]["transformers-vllm"]["recordCount"] == 1
    status = subprocess.run([do_ci, "status"], capture_output=True, text=True, env=env)
    # the report's own counts: every catalog configuration, one of them registered
    assert f"Configurations:  {doc['summary']['total']}\n" in status.stdout
    assert f"Untested:        {doc['summary']['untested']}\n" in status.stdout
    assert "Records:         1\n" in status.stdout
    bad = subprocess.run([do_ci, "frobnicate"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "do/ci: unknown command 'frobnicate'" in bad.stderr


def test_register_ci_with_mlcc_ci_store_set_passes_no_table(cli, tmp_path):
    """$MLCC_CI_STORE names the store: do/register --ci adds no --ci-table, so it passes
    mlcc-ci no extra arguments at all (an empty array, which bash before 4.4 under set -u
    calls unbound unless it is expanded as ${extra[@]+"${extra[@]}"})."""
    proj = project(tmp_path / "proj", CONFIG)
    cli("project", "install-scripts", str(proj))
    url = f"sqlite:///{tmp_path}/ci.db"
    assert cli("store", "create-tables", "--store", url).exit_code == 0
    env = {
        **os.environ,
        "MLCC_CI_STORE": url,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    run = subprocess.run(
        [str(proj / "do" / "register"), "--ci"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    expected = load_valid_catalog().get("transformers-vllm").config_id
    assert run.stdout.split() == ["created", "transformers-vllm", expected]
    from mlcc_ci.stores.open import open_store

    record = open_store(url).get(expected)
    assert record is not None and record.source == "project"


def test_drop_in_scripts_expand_every_array_safely_under_set_u():
    """bash before 4.4 (macOS's /bin/bash is 3.2) calls "${a[@]}" of an empty array unbound
    under set -u; every array the drop-ins expand uses ${a[@]+"${a[@]}"}. This bash is newer,
    so the shipped text is checked."""
    import re

    from mlcc_ci.project import SCRIPTS

    checked = 0
    for script in (SCRIPTS / "register", SCRIPTS / "ci"):
        text = script.read_text()
        assert "set -euo pipefail" in text
        for line in text.splitlines():
            for name in re.findall(r"\$\{(\w+)\[@\]\}", line):
                checked += 1
                assert f'${{{name}[@]+"${{{name}[@]}}"}}' in line, (script.name, line)
    assert checked >= 3
