"""Registrations as the catalog and a generated project's do/config make them: every field
written, every refusal named. Written for make mutation (issue 32); fast, in-process."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.configid import config_id
from mlcc_ci.errors import ConfigFileError, UsageError
from mlcc_ci.models import Record
from mlcc_ci.registration import (
    catalog_registrations,
    from_entry,
    from_project,
    in_region,
    prunable,
)

CATALOG = load_valid_catalog()

# do/config of a project generated for the catalog's transformers-vllm entry.
VLLM = """#!/usr/bin/env bash
export PROJECT_NAME="mlcc-ci-transformers-vllm"
export DEPLOYMENT_CONFIG="transformers-vllm"
export AWS_REGION=${AWS_REGION:-us-east-1}
export INSTANCE_TYPE='ml.g6.12xlarge'
export MODEL_NAME="openai/gpt-oss-20b"
export AWS_ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)
export ROLE_ARN="arn:aws:iam::123456789012:role/sagemaker"
export AWS_PROFILE=ci
export HF_TOKEN="hf_abcdefghijklmnopqrstuvwxyz0123"
export DOWNLOAD_URL="https://user:hunter22@example.com/model"
export ECR_REPO="ml-${PROJECT_NAME}"
export MAX_MODEL_LEN=4096
"""

# A configuration the catalog does not know, with every optional key set.
CUSTOM = """export PROJECT_NAME=my-proj
export DEPLOYMENT_CONFIG=my-custom
export AWS_REGION=eu-west-1
export INSTANCE_TYPE=ml.m5.large
export DEPLOYMENT_TARGET=async-inference
export BUILD_TARGET=local
export BASE_IMAGE=python:3.11
export FRAMEWORK=sklearn
export MODEL_SERVER=flask
export BUILD_STRATEGY=docker-in-docker
"""


def project(tmp_path: Path, text: str, params: object = None) -> Path:
    (tmp_path / "do").mkdir(parents=True, exist_ok=True)
    (tmp_path / "do" / "config").write_text(text, encoding="utf-8")
    if params is not None:
        (tmp_path / ".mlcc-generation-params.json").write_text(json.dumps(params))
    return tmp_path


def test_a_project_of_a_catalog_entry_registers_as_that_entry(tmp_path):
    entry = CATALOG.get("transformers-vllm")
    found = from_project(project(tmp_path, VLLM), CATALOG)
    reg = found.registration
    assert found.warnings == []
    assert found.dropped_secrets == ["DOWNLOAD_URL", "HF_TOKEN"]
    assert reg.configId == entry.config_id
    assert reg.deploymentConfig == "transformers-vllm"
    assert reg.source == "project" and reg.projectName == "mlcc-ci-transformers-vllm"
    assert reg.buildStrategy == "codebuild-submit"  # the entry's, do/config names none
    assert reg.supportState == "supported" and reg.supportReason == ""
    assert reg.baseImage == ""  # do/config names none
    assert json.loads(reg.configJson) == {
        "projectName": "mlcc-ci-transformers-vllm",
        "deploymentConfig": "transformers-vllm",
        "architecture": "transformers",  # the entry's
        "backend": "vllm",
        "instanceType": "ml.g6.12xlarge",
        "awsRegion": "us-east-1",
        "deploymentTarget": "realtime-inference",
        "buildTarget": "codebuild",
        "buildStrategy": "codebuild-submit",
        "modelName": "openai/gpt-oss-20b",
        # not the mapped keys, the account's, the secrets, nor what needs a command
        "parameters": {"ECR_REPO": "ml-mlcc-ci-transformers-vllm", "MAX_MODEL_LEN": "4096"},
    }


def test_a_configuration_the_catalog_does_not_know_registers_as_itself(tmp_path):
    found = from_project(project(tmp_path, CUSTOM), CATALOG)
    reg = found.registration
    assert found.warnings == [
        "DEPLOYMENT_CONFIG 'my-custom' is not in the catalog: registering it as a custom "
        "configuration"
    ]
    assert found.dropped_secrets == []
    assert reg.deploymentConfig == "my-custom" and reg.source == "project"
    assert reg.configId == config_id(
        "my-custom", None, "ml.m5.large", "eu-west-1", "async-inference"
    )
    assert reg.buildStrategy == "docker-in-docker" and reg.baseImage == "python:3.11"
    assert reg.supportState == "supported" and reg.supportReason == ""
    assert json.loads(reg.configJson) == {
        "projectName": "my-proj",
        "deploymentConfig": "my-custom",
        "architecture": "sklearn",
        "backend": "flask",
        "instanceType": "ml.m5.large",
        "awsRegion": "eu-west-1",
        "deploymentTarget": "async-inference",
        "buildTarget": "local",
        "baseImage": "python:3.11",
        "buildStrategy": "docker-in-docker",
    }


def test_a_bare_custom_project_takes_the_defaults_and_leaves_out_what_it_does_not_say(tmp_path):
    text = "\n".join(CUSTOM.splitlines()[:4]) + "\n"
    reg = from_project(project(tmp_path, text), CATALOG).registration
    assert reg.buildStrategy == "codebuild-submit" and reg.baseImage == ""
    assert json.loads(reg.configJson) == {
        "projectName": "my-proj",
        "deploymentConfig": "my-custom",
        "instanceType": "ml.m5.large",
        "awsRegion": "eu-west-1",
        "deploymentTarget": "realtime-inference",
        "buildStrategy": "codebuild-submit",
    }


def test_do_config_wins_over_the_entry_where_it_speaks(tmp_path):
    text = VLLM + (
        "export DEPLOYMENT_TARGET=async-inference\nexport BUILD_TARGET=local\n"
        "export FRAMEWORK=other\nexport MODEL_SERVER=other\nexport BUILD_STRATEGY=docker-in-docker\n"
    )
    reg = from_project(project(tmp_path, text), CATALOG).registration
    config = json.loads(reg.configJson)
    assert config["deploymentTarget"] == "async-inference" and config["buildTarget"] == "local"
    assert config["architecture"] == "transformers" and config["backend"] == "vllm"  # entry's
    assert reg.buildStrategy == config["buildStrategy"] == "docker-in-docker"
    assert reg.configId == config_id(
        "transformers-vllm", "openai/gpt-oss-20b", "ml.g6.12xlarge", "us-east-1", "async-inference"
    )


def test_an_unsupported_entry_s_project_says_so_and_why(tmp_path):
    entry = CATALOG.get("http-nginx")
    text = (
        "export PROJECT_NAME=p\nexport DEPLOYMENT_CONFIG=http-nginx\n"
        "export AWS_REGION=us-east-1\nexport INSTANCE_TYPE=ml.m5.large\n"
    )
    reg = from_project(project(tmp_path, text), CATALOG).registration
    assert reg.supportState == "unsupported"
    assert reg.supportReason == entry.support_reason != ""


def test_the_generator_s_recorded_answers_to_the_entry_s_options_are_kept(tmp_path):
    text = (
        "export PROJECT_NAME=p\nexport DEPLOYMENT_CONFIG=http-flask\n"
        "export AWS_REGION=us-east-1\nexport INSTANCE_TYPE=ml.m5.large\n"
    )
    answers = {
        "answers": {"modelFormat": "joblib", "somethingElse": "x", "includeSampleModel": None}
    }
    config = json.loads(
        from_project(project(tmp_path, text, answers), CATALOG).registration.configJson
    )
    assert config["modelFormat"] == "joblib"
    assert "somethingElse" not in config and "includeSampleModel" not in config
    for odd in ({"answers": ["modelFormat"]}, {"answers": None}, ["not", "a", "map"]):
        config = json.loads(
            from_project(project(tmp_path, text, odd), CATALOG).registration.configJson
        )
        assert "modelFormat" not in config


def test_of_two_entries_of_one_generator_configuration_the_project_s_model_picks_one(tmp_path):
    vllm = CATALOG.get("transformers-vllm")
    qwen = replace(vllm, name="qwen-vllm-small", data={**vllm.data, "modelName": "Qwen/Qwen3-0.6B"})
    qwen = replace(qwen, data={**qwen.data, "generatorName": "transformers-vllm"})
    catalog = replace(CATALOG, entries=[*CATALOG.entries, qwen])
    found = from_project(
        project(tmp_path, VLLM.replace("openai/gpt-oss-20b", "Qwen/Qwen3-0.6B")), catalog
    )
    assert found.registration.deploymentConfig == "qwen-vllm-small"
    assert found.registration.configId == qwen.config_id
    assert from_project(project(tmp_path, VLLM), catalog).registration.deploymentConfig == (
        "transformers-vllm"
    )
    # another instance type or region: no entry has it; the generator's name decides
    other = VLLM.replace("ml.g6.12xlarge", "ml.g5.2xlarge")
    reg = from_project(project(tmp_path, other), catalog).registration
    assert reg.deploymentConfig == "transformers-vllm"
    other = VLLM.replace("${AWS_REGION:-us-east-1}", "eu-west-1")
    assert from_project(project(tmp_path, other), catalog).registration.deploymentConfig == (
        "transformers-vllm"
    )


def test_a_generator_name_the_catalog_renamed_registers_as_the_entry(tmp_path):
    text = (
        "export PROJECT_NAME=p\nexport DEPLOYMENT_CONFIG=triton-onnxruntime\n"
        "export AWS_REGION=us-east-1\nexport INSTANCE_TYPE=ml.g5.xlarge\n"
    )
    reg = from_project(project(tmp_path, text), CATALOG).registration
    assert reg.deploymentConfig == "triton-onnx"
    assert json.loads(reg.configJson)["deploymentConfig"] == "triton-onnxruntime"
    assert reg.configId == CATALOG.get("triton-onnx").config_id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("export INSTANCE_TYPE='ml.g6.12xlarge'\n", ""),
            ": required key INSTANCE_TYPE is missing",
        ),
        (
            ('export PROJECT_NAME="mlcc-ci-transformers-vllm"', "export PROJECT_NAME="),
            ":2: PROJECT_NAME is empty",
        ),
        (
            ("${AWS_REGION:-us-east-1}", "$(aws configure get region)"),
            ":4: AWS_REGION needs a command substitution, which mlcc-ci never runs; set it "
            "literally or through the environment",
        ),
        (
            ("'ml.g6.12xlarge'", "'big one'"),
            ":5: INSTANCE_TYPE: instanceType 'big one' is not valid (expected ",
        ),
        (
            ('MODEL_NAME="openai/gpt-oss-20b"', 'MODEL_NAME="a b"'),
            ":6: MODEL_NAME: modelName 'a b' is not valid (expected ",
        ),
        (
            ('PROJECT_NAME="mlcc-ci-transformers-vllm"', 'PROJECT_NAME="a b"'),
            ":2: PROJECT_NAME: projectName 'a b' is not valid (expected ",
        ),
        (
            ('DEPLOYMENT_CONFIG="transformers-vllm"', 'DEPLOYMENT_CONFIG="a b"'),
            ":3: DEPLOYMENT_CONFIG: deploymentConfig 'a b' is not valid (expected ",
        ),
        (
            ("${AWS_REGION:-us-east-1}", "'us east'"),
            ":4: AWS_REGION: region 'us east' is not valid (expected ",
        ),
        (
            ("export MAX_MODEL_LEN=4096\n", "export DEPLOYMENT_TARGET='a b'\n"),
            ":13: DEPLOYMENT_TARGET: deploymentTarget 'a b' is not valid (expected ",
        ),
        (
            ("export MAX_MODEL_LEN=4096\n", "export BUILD_STRATEGY=by-hand\n"),
            ":13: BUILD_STRATEGY 'by-hand' is not one of codebuild-submit, docker-in-docker",
        ),
    ],
)
def test_a_do_config_that_cannot_register_is_refused_at_its_line(tmp_path, change, message):
    with pytest.raises(ConfigFileError) as raised:
        from_project(project(tmp_path, VLLM.replace(*change)), CATALOG)
    assert str(raised.value).startswith(f"{tmp_path}/do/config{message}")


def test_a_missing_or_unreadable_do_config_is_refused(tmp_path):
    with pytest.raises(ConfigFileError) as raised:
        from_project(tmp_path, CATALOG)
    assert str(raised.value) == (
        f"{tmp_path}/do/config: no do/config here; is {tmp_path} a generated project?"
    )
    (tmp_path / "do").mkdir()
    (tmp_path / "do" / "config").write_bytes(b"export PROJECT_NAME=\xff\xfe\n")
    with pytest.raises(ConfigFileError) as raised:
        from_project(tmp_path, CATALOG)
    assert str(raised.value).startswith(f"{tmp_path}/do/config: cannot read: 'utf-8' codec")


def test_from_entry_copies_the_entry_as_the_catalog_registers_it():
    flask = CATALOG.get("http-flask")
    reg = from_entry(flask)
    assert reg.configId == flask.config_id and reg.configJson == flask.config_json
    assert reg.deploymentConfig == "http-flask" and reg.projectName == "mlcc-ci-http-flask"
    assert reg.buildStrategy == "docker-in-docker" and reg.baseImage == "python:3.12-slim"
    assert reg.source == "catalog"
    assert reg.supportState == "supported" and reg.supportReason == ""
    nginx = from_entry(CATALOG.get("http-nginx"))
    assert nginx.supportState == "unsupported"
    assert nginx.supportReason == "generator 1.6.0 has no such deployment configuration"
    # an entry of a catalog whose defaults name neither (the schema requires neither)
    bare = replace(
        flask, data={k: v for k, v in flask.data.items() if k not in ("baseImage", "buildStrategy")}
    )
    assert from_entry(bare).baseImage == "" and from_entry(bare).buildStrategy == ""


def test_catalog_registrations_are_the_supported_entries_by_config_id():
    found = catalog_registrations(CATALOG)
    supported = [e for e in CATALOG.entries if e.supported]
    assert list(found) == [e.config_id for e in supported]
    assert all(found[e.config_id] == from_entry(e) for e in supported)
    assert CATALOG.get("http-nginx").config_id not in found


def test_prune_deletes_only_catalog_records_whose_entry_is_gone():
    def record(name: str, source: str = "catalog") -> Record:
        reg = replace(from_entry(CATALOG.get("http-flask")), deploymentConfig=name, source=source)
        return Record.registered(reg, "2026-01-01T00:00:00Z")

    records = [
        record("http-flask"),
        record("triton-onnxruntime"),  # an entry's generator name
        record("retired"),
        record("retired", source="project"),
        record("http-nginx"),  # unsupported, but still an entry
    ]
    assert [(r.deploymentConfig, r.source) for r in prunable(records, CATALOG)] == [
        ("retired", "catalog")
    ]


def test_in_region_moves_every_entry_to_an_allowed_region():
    moved = in_region(CATALOG, "eu-west-1")
    assert [e.name for e in moved.entries] == [e.name for e in CATALOG.entries]
    assert {e.data["region"] for e in moved.entries} == {"eu-west-1"}
    flask = moved.get("http-flask")
    assert flask.config_id != CATALOG.get("http-flask").config_id
    assert json.loads(flask.config_json)["awsRegion"] == "eu-west-1"
    assert CATALOG.get("http-flask").data["region"] == "us-east-1"  # the catalog is unchanged
    with pytest.raises(UsageError) as raised:
        in_region(CATALOG, "mars-north-1")
    assert str(raised.value) == (
        "mars-north-1: not one of the catalog's rules.regions (us-east-1, us-east-2, "
        "us-west-2, eu-west-1, eu-central-1, ap-northeast-1)"
    )
    bare = replace(CATALOG, defaults={})
    with pytest.raises(
        UsageError, match=r"^us-east-1: not one of the catalog's rules.regions \(\)$"
    ):
        in_region(bare, "us-east-1")


def test_empty_optional_keys_and_ones_that_need_a_command_are_left_out(tmp_path):
    text = CUSTOM.replace("BASE_IMAGE=python:3.11", "BASE_IMAGE=").replace(
        "MODEL_SERVER=flask", "MODEL_SERVER=$(cat server.txt)"
    )
    reg = from_project(project(tmp_path, text), CATALOG).registration
    config = json.loads(reg.configJson)
    assert "baseImage" not in config and "backend" not in config and reg.baseImage == ""
    assert "parameters" not in config


def test_the_entry_s_target_and_build_strategy_hold_where_do_config_says_none(tmp_path):
    flask = CATALOG.get("http-flask")
    batch = replace(flask, data={**flask.data, "deploymentTarget": "batch-transform"})
    catalog = replace(
        CATALOG, entries=[batch if e.name == "http-flask" else e for e in CATALOG.entries]
    )
    text = (
        "export PROJECT_NAME=p\nexport DEPLOYMENT_CONFIG=http-flask\n"
        "export AWS_REGION=us-east-1\nexport INSTANCE_TYPE=ml.m5.large\n"
    )
    reg = from_project(project(tmp_path, text), catalog).registration
    config = json.loads(reg.configJson)
    assert config["deploymentTarget"] == "batch-transform"
    assert reg.buildStrategy == config["buildStrategy"] == "docker-in-docker"
    assert reg.configId == batch.config_id


def test_a_project_of_an_entry_on_another_instance_type_is_still_that_entry(tmp_path):
    found = from_project(
        project(tmp_path, VLLM.replace("ml.g6.12xlarge", "ml.g5.2xlarge")), CATALOG
    )
    assert found.warnings == []
    assert found.registration.deploymentConfig == "transformers-vllm"
    assert json.loads(found.registration.configJson)["architecture"] == "transformers"


def test_of_two_model_less_entries_of_one_generator_configuration_the_instance_picks(tmp_path):
    onnx = CATALOG.get("triton-onnx")
    big = replace(onnx, name="triton-onnx-big", data={**onnx.data, "instanceType": "ml.g5.2xlarge"})
    catalog = replace(CATALOG, entries=[*CATALOG.entries, big])
    text = (
        "export PROJECT_NAME=p\nexport DEPLOYMENT_CONFIG=triton-onnxruntime\n"
        "export AWS_REGION=us-east-1\nexport INSTANCE_TYPE=ml.g5.2xlarge\n"
    )
    found = from_project(project(tmp_path, text), catalog)
    assert found.warnings == []
    assert found.registration.deploymentConfig == "triton-onnx-big"
    assert found.registration.configId == big.config_id


def test_do_config_is_read_as_utf_8_whatever_the_locale(tmp_path):
    """A CI image's shell often runs with LANG=C: do/config is still the generator's UTF-8."""
    import locale

    text = VLLM + "export MODEL_NOTE='modèle ✓'\n"
    made = project(tmp_path, text)
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")
    try:
        reg = from_project(made, CATALOG).registration
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    assert json.loads(reg.configJson)["parameters"]["MODEL_NOTE"] == "modèle ✓"
