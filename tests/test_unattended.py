"""What a run needs to go unattended in AWS: names under the CI prefix, settings written into
the generated do/config, stages in a virtualenv, time limits that add up, a token for gated
models. (The whole loop runs in tests/test_twin.py.)"""

import os
import stat
from dataclasses import replace

import pytest

from mlcc_ci import budget, doconfig, naming, projectsetup
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.preflight import preflight
from mlcc_ci.profiles import load_profile
from tests.test_lifecycle import claimed, runner, store  # noqa: F401  (fixture)

CATALOG = load_valid_catalog()


def test_a_run_deploys_under_the_ci_prefix():
    assert naming.run_project_name({"projectName": "mlcc-ci-http-flask"}, "mlcc-ci") == (
        "mlcc-ci-http-flask"
    )
    # a project registered by its own do/register --ci keeps its name; the run adds the prefix
    assert naming.run_project_name({"projectName": "fraud-model"}, "mlcc-ci") == (
        "mlcc-ci-fraud-model"
    )
    assert naming.run_project_name({"projectName": "fraud-model"}, None) == "fraud-model"
    with pytest.raises(ValueError) as bad:
        naming.run_project_name({"projectName": "fraud_model"}, "mlcc-ci")
    assert str(bad.value) == (
        "project name 'mlcc-ci-fraud_model' is not a valid SageMaker resource name (letters, "
        "digits and single hyphens)"
    )
    with pytest.raises(ValueError) as long:
        naming.run_project_name({"projectName": "x" * 40}, "mlcc-ci")
    assert "is 48 characters; the names the generated scripts derive from it allow at most 43" in (
        str(long.value)
    )


def test_settings_go_into_do_config_in_one_block_that_wins(tmp_path):
    config = tmp_path / "do" / "config"
    config.parent.mkdir()
    config.write_text('export PROJECT_NAME="p"\nexport ENDPOINT_NAME=""\n')
    config.chmod(0o755)
    settings = {
        "ENDPOINT_NAME": "{projectName}-endpoint",
        "CODEBUILD_PROJECT_NAME": "{projectName}-build-{regionCode}",
    }
    projectsetup.apply(tmp_path, settings, "mlcc-ci-p", "eu-west-1")
    projectsetup.apply(tmp_path, settings, "mlcc-ci-p", "eu-west-1")  # twice: one block
    text = config.read_text()
    assert text.count(projectsetup.BEGIN) == 1
    values = {k: v.value for k, v in doconfig.parse(text, {}).items()}
    assert values["ENDPOINT_NAME"] == "mlcc-ci-p-endpoint"
    assert values["CODEBUILD_PROJECT_NAME"] == "mlcc-ci-p-build-euw1"
    with pytest.raises(ValueError, match="the run has no AWS region"):
        projectsetup.render(settings, "p")
    assert stat.S_IMODE(config.stat().st_mode) == 0o755
    with pytest.raises(ValueError, match="holds a character do/config would expand"):
        projectsetup.render({"X": "$(id)"}, "p")


def test_the_default_profile_sets_what_the_generated_scripts_would_prompt_for():
    profile = load_profile(CATALOG, "default")
    assert profile.project_config == {
        "ENDPOINT_NAME": "{projectName}-endpoint",
        "CODEBUILD_PROJECT_NAME": "{projectName}-build-{regionCode}",
    }
    assert profile.endpoint_checks is True
    assert load_profile(CATALOG, "example").project_config == {}


def test_a_foreign_name_runs_renamed_and_settings_reach_do_config(store, tmp_path):  # noqa: F811
    record, entry = claimed(store, "http-flask")
    foreign = record.configJson.replace(
        '"projectName":"mlcc-ci-http-flask"', '"projectName":"team-flask"'
    )
    store.replace(
        replace(record, configJson=foreign),
        expect_version=record.version,
        expect_run_id=record.runId,
    )
    record = store.get(record.configId)
    run = runner(store, tmp_path, {naming.PREFIX_ENV: "mlcc-ci"})
    run.profile = replace(run.profile, project_config={"ENDPOINT_NAME": "{projectName}-endpoint"})
    report = run.run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    assert report.notes == ["runs as mlcc-ci-team-flask: AWS runs keep every name under mlcc-ci-"]
    project = report.work_dir / "mlcc-ci-team-flask"
    values = doconfig.parse((project / "do" / "config").read_text(), {})
    assert values["ENDPOINT_NAME"].value == "mlcc-ci-team-flask-endpoint"


def test_stages_run_in_a_virtualenv_that_is_not_the_callers(store, tmp_path):  # noqa: F811
    record, entry = claimed(store, "http-flask")
    seen = tmp_path / "seen"
    command = f'./do/build && ./do/push && echo "$VIRTUAL_ENV|$(command -v python3)" > {seen}'
    env = {"VIRTUAL_ENV": "/somewhere/else", "PATH": os.environ["PATH"]}
    report = runner(store, tmp_path, env, build={"command": {"docker-in-docker": command}}).run(
        record, entry
    )
    assert report.status == "pass", report.outcome.stageResults
    venv, python = seen.read_text().strip().split("|")
    assert venv != "/somewhere/else" and venv.endswith("python-env-py3.11")
    assert python == f"{venv}/bin/python3"


def test_time_limits_add_up_from_the_stage_timeouts():
    short = {"generate": 60, "validate": 60, "build": 60, "deploy_test": 60, "register": 60}
    long = {**short, "build": 7200, "deploy_test": 7200, "teardown": 1200}
    found = budget.budget_of([{**short, "teardown": 60}, long])
    assert (found.stages_seconds, found.teardown_seconds) == (14580, 1200)
    assert found.run_seconds == 14580 + 1200 + 120
    # install 600 + run 15900 + teardown again 1200 + record 120 + post_build 120 = 17940 s
    assert found.build_minutes == 299
    assert found.problems() == []
    too_long = budget.budget_of([{**long, "build": 20000}])
    assert too_long.problems() == [
        f"the stage timeouts add up to a {too_long.build_minutes}-minute build, more than "
        "CodeBuild's 480: shorten the longest entry's stages"
    ]


def test_preflight_looks_for_aws_credentials_in_the_stage_environment(tmp_path, monkeypatch):
    """A stage's credentials are those of the environment it is given, not the harness's."""
    entry = CATALOG.get("http-flask")
    profile = load_profile(CATALOG, "default")
    specs = profile.stage_specs(entry)
    missing = (
        "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or run 'aws configure'"
    )
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    keys = {"AWS_ACCESS_KEY_ID": "stage-key", "AWS_SECRET_ACCESS_KEY": "stage-secret"}
    assert preflight("teardown", entry, profile, specs, keys) is None
    files = tmp_path / "credentials"
    files.write_text("[ci]\naws_access_key_id = k\naws_secret_access_key = s\n")
    by_profile = {"AWS_PROFILE": "ci", "AWS_SHARED_CREDENTIALS_FILE": str(files)}
    assert preflight("teardown", entry, profile, specs, by_profile) is None
    # only the harness's own environment has them: the stage has none
    for key, value in {**keys, **by_profile}.items():
        monkeypatch.setenv(key, value)
    no_metadata = {"AWS_EC2_METADATA_DISABLED": "true"}  # no instance role to ask either
    assert preflight("teardown", entry, profile, specs, no_metadata) == missing


def test_a_gated_model_is_refused_before_it_deploys_token_or_not():
    """The harness passes no Hugging Face token (test_modeltoken.py): a gated model's
    deploy is refused whether one is given or not."""
    entry = CATALOG.get("transformers-tensorrt-llm")
    profile = load_profile(CATALOG, "default")
    specs = profile.stage_specs(entry)
    env = {
        "ROLE_ARN": "arn:aws:iam::123456789012:role/r",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
    }
    refused = (
        "no Hugging Face token for the gated model meta-llama/Llama-3.2-3B-Instruct: the "
        "harness passes none to a generated project, as do/deploy would put it in plain text "
        "into the inference component's container environment, readable by anyone allowed to "
        "describe the component"
    )
    assert preflight("deploy_test", entry, profile, specs, env) == refused
    given = {**env, "HF_TOKEN_ARN": "mlcc-ci-hf"}
    assert preflight("deploy_test", entry, profile, specs, given) == refused
    public = CATALOG.get("transformers-vllm")
    assert preflight("deploy_test", public, profile, profile.stage_specs(public), env) is None
