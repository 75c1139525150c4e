"""The Hugging Face token: no stage gets one, and a gated model is refused at validate (and
blocked, class credentials), before the build; the token reaches no log and no record."""

import json
import os
from dataclasses import replace

import pytest

from mlcc_ci import clock, modeltoken
from mlcc_ci.catalog import load_valid_catalog, merge
from mlcc_ci.lifecycle import Runner
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.sqlite import SqliteStore

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()
TOKEN = "hf_" + "NeverInAnyEnvironment0123"
GATED = "transformers-tensorrt-llm"
REFUSED = (
    "no Hugging Face token for the gated model meta-llama/Llama-3.2-3B-Instruct: the harness "
    "passes none to a generated project, as do/deploy would put it in plain text into the "
    "inference component's container environment, readable by anyone allowed to describe the "
    "component"
)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "r.db")
    yield s
    s.close()


def claimed(store, name):
    entry = CATALOG.get(name)
    store.register(from_entry(entry), clock.iso(clock.now()))
    record = claim(
        store, store.get(entry.config_id), f"run-{name}", clock.iso(clock.now(), ms=True)
    )
    return record, entry


def runner(store, tmp_path, env, checks, **stages):
    """The example profile (no AWS), checking what the default profile checks."""
    profile = replace(
        load_profile(CATALOG, "example"),
        checks=checks,
        stages=merge(load_profile(CATALOG, "example").stages, stages),
    )
    return Runner(store, profile, work_root=tmp_path / "work", env={**os.environ, **env})


def bootstrap_profile(home, secrets):
    folder = home / ".ml-container-creator"
    folder.mkdir(parents=True, exist_ok=True)
    config = {"activeProfile": "dev", "profiles": {"dev": {"awsRegion": "us-east-1", **secrets}}}
    (folder / "config.json").write_text(json.dumps(config))


def test_the_default_profile_checks_the_model_token():
    checks = load_profile(CATALOG, "default").checks
    assert any(modeltoken.CHECK in names for names in checks.values())


def test_no_stage_environment_carries_a_token():
    env = {
        "HF_TOKEN": TOKEN,
        "HF_TOKEN_ARN": "mlcc-ci-hf-token",
        "_PROFILE_secrets_hfToken": "arn:aws:secretsmanager:us-east-1:1:secret:x",
        "IC_ENV_HF_TOKEN": TOKEN,
        "PATH": "/usr/bin",
    }
    assert modeltoken.withheld(env) == {"PATH": "/usr/bin", "MLCC_SKIP_SECRET_DISCOVERY": "1"}


def test_a_gated_model_is_refused_and_an_ungated_one_is_not(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert modeltoken.refusal(CATALOG.get(GATED).data, env) == REFUSED
    assert modeltoken.refusal(CATALOG.get("transformers-vllm").data, env) is None


def test_a_bootstrap_profile_naming_a_token_secret_is_refused(tmp_path):
    """do/deploy resolves the generator's own profile secret itself: the harness cannot
    withhold it, so it refuses to deploy while the profile names one."""
    entry = CATALOG.get("transformers-vllm").data
    bootstrap_profile(tmp_path, {"secrets": {"hfToken": "arn:aws:secretsmanager:x"}})
    assert modeltoken.refusal(entry, {"HOME": str(tmp_path)}) == (
        "no Hugging Face token from ~/.ml-container-creator/config.json (its active profile's "
        "secrets.hfToken): do/deploy would put it in plain text into the inference component's "
        "container environment, readable by anyone allowed to describe the component; the "
        "harness deploys nothing while that profile names one"
    )
    bootstrap_profile(tmp_path, {"secrets": {"ngcApiKey": "arn:aws:secretsmanager:y"}})
    assert modeltoken.refusal(entry, {"HOME": str(tmp_path)}) is None
    (tmp_path / ".ml-container-creator" / "config.json").write_text("{not json")
    assert modeltoken.refusal(entry, {"HOME": str(tmp_path)}) is None  # as profile.sh reads it


def test_only_a_profile_that_deploys_and_checks_the_token_refuses_before_the_build(tmp_path):
    gated, env = CATALOG.get(GATED).data, {"HOME": str(tmp_path)}
    checks = {"deploy_test": ["role-arn", "model-token"]}
    assert modeltoken.refused_before_build(checks, True, gated, env) == REFUSED
    assert modeltoken.refused_before_build(checks, False, gated, env) is None  # static
    assert modeltoken.refused_before_build({}, True, gated, env) is None  # example


def test_a_gated_model_is_blocked_at_validate_without_building(store, tmp_path):
    record, entry = claimed(store, GATED)
    report = runner(store, tmp_path, {"HF_TOKEN": TOKEN}, {"deploy_test": ["model-token"]}).run(
        record, entry
    )
    [run] = store.history(record.configId)
    assert run.status == "fail-validate"
    assert run.stageResults["validate"].errorSummary == REFUSED
    assert [run.stageResults[s].status for s in ("build", "deploy_test")] == ["skip", "skip"]
    assert (run.failure.cls, run.failure.rule, run.failure.capture) == (
        "credentials",
        "hf-token-withheld",
        "meta-llama/Llama-3.2-3B-Instruct",
    )
    # blocked, not failed: nothing proved the container wrong
    stored = store.get(record.configId)
    assert stored.testStatus == "untested"
    assert stored.blocked is not None and stored.blocked.rule == "hf-token-withheld"
    assert report.outcome.blocked_by is not None
    everything = json.dumps(dict(store.raw_items())) + json.dumps(run.to_item())
    assert TOKEN not in everything


def test_the_stages_get_no_token_and_it_is_masked_wherever_it_shows(store, tmp_path):
    """An ungated model runs; its stages see none of the token variables and the scripts'
    secret search is off; the harness's own token value is still masked."""
    record, entry = claimed(store, "http-flask")
    shown = (
        'echo "hf ${HF_TOKEN:-unset}, arn ${HF_TOKEN_ARN:-unset}, '
        'discovery off: ${MLCC_SKIP_SECRET_DISCOVERY:-no}" >&2; '
        f'echo "pasted {TOKEN}" >&2; exit 3'
    )
    report = runner(
        store,
        tmp_path,
        {"HF_TOKEN": TOKEN, "HF_TOKEN_ARN": "mlcc-ci-hf-token"},
        {"deploy_test": ["model-token"]},
        build={"command": {"docker-in-docker": shown}},
    ).run(record, entry)
    assert report.status == "fail-build"
    summary = store.get(record.configId).stageResults["build"].errorSummary
    assert summary == "exit code 3\nhf unset, arn unset, discovery off: 1\npasted ***"
