"""The stage lifecycle with real subprocesses: failure rules, teardown, timeouts, signals."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog, merge
from mlcc_ci.lifecycle import Runner
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.sqlite import SqliteStore

pytestmark = pytest.mark.functional
CATALOG = load_valid_catalog()


def claimed(store, name="http-flask"):
    entry = CATALOG.get(name)
    store.register(from_entry(entry), clock.iso(clock.now()))
    record = claim(
        store, store.get(entry.config_id), f"run-{name}", clock.iso(clock.now(), ms=True)
    )
    return record, entry


def runner(store, tmp_path, env=None, profile="example", **overrides):
    prof = load_profile(CATALOG, profile)
    if overrides:
        prof = replace(prof, stages=merge(prof.stages, overrides))
    return Runner(store, prof, work_root=tmp_path / "work", env={**os.environ, **(env or {})})


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "r.db")
    yield s
    s.close()


def test_example_run_passes_and_records_every_stage(store, tmp_path):
    record, entry = claimed(store, "transformers-vllm")
    report = runner(store, tmp_path).run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    stored = store.get(record.configId)
    assert stored.testStatus == "pass" and stored.profile == "example"
    assert list(stored.stageResults) == [
        "generate",
        "validate",
        "build",
        "deploy_test",
        "register",
        "teardown",
    ]
    assert all(r.status == "pass" for r in stored.stageResults.values())
    assert stored.provenImage == "vllm/vllm-openai:v0.10.1"
    assert stored.generatorVersion == "1.0.0-example"
    assert (
        Path(stored.stageResults["deploy_test"].logPointer)
        .read_text()
        .count("smoke test passed: choices.0.message.content")
        == 1
    )
    history = store.history(record.configId)
    assert [h.status for h in history] == ["pass"] and history[0].runId == record.runId


def test_first_failure_skips_the_rest_but_teardown_runs(store, tmp_path):
    record, entry = claimed(store)
    report = runner(store, tmp_path, {"MLCC_CI_FAULT": "http-flask:build:fail"}).run(record, entry)
    results = store.get(record.configId).stageResults
    assert report.status == "fail-build"
    assert [
        results[s].status
        for s in ("generate", "validate", "build", "deploy_test", "register", "teardown")
    ] == ["pass", "pass", "fail", "skip", "skip", "pass"]
    assert results["build"].errorSummary == "exit code 1\nmlcc-ci: injected failure"
    assert store.get(record.configId).errorMessage == "build failed: exit code 1"


def test_a_stage_and_teardown_both_failing_are_both_recorded(store, tmp_path, cli):
    """deploy_test fails with its endpoint up; teardown stops it and then fails itself: the
    run's status, message and class are deploy_test's, teardown's failure is its own."""
    record, entry = claimed(store)
    run = runner(
        store,
        tmp_path,
        deploy_test={"command": "./do/deploy && echo 'smoke: 503 from /invocations' >&2; exit 1"},
        teardown={
            "command": "./do/clean all --force && echo 'endpoint config still there' >&2; exit 4"
        },
    )
    report = run.run(record, entry)
    assert report.status == "fail-deploy_test"
    stored = store.get(record.configId)
    results = stored.stageResults
    assert [
        results[s].status
        for s in ("generate", "validate", "build", "deploy_test", "register", "teardown")
    ] == ["pass", "pass", "pass", "fail", "skip", "fail"]
    assert results["deploy_test"].errorSummary == "exit code 1\nsmoke: 503 from /invocations"
    assert results["teardown"].errorSummary == "exit code 4\nendpoint config still there"
    assert (stored.testStatus, stored.errorMessage) == (
        "fail-deploy_test",
        "deploy_test failed: exit code 1",
    )
    assert (stored.failure.cls, stored.failure.stage) == ("unclassified", "deploy_test")
    [kept] = store.history(record.configId)
    assert kept.status == "fail-deploy_test"
    assert kept.stageResults["teardown"].errorSummary == "exit code 4\nendpoint config still there"
    # do/clean did stop the server before it failed
    assert not list((tmp_path / "work").glob("**/endpoint/pid"))
    shown = cli("report", entry.name, "--store", f"sqlite:///{tmp_path}/r.db").output
    assert (
        "  stages:     generate ✓  validate ✓  build ✓  deploy_test ✗  register ·  teardown ✗\n"
        in shown
    )


def test_hanging_stage_times_out_its_group_is_killed_teardown_runs(store, tmp_path):
    record, entry = claimed(store)
    run = runner(
        store,
        tmp_path,
        {"MLCC_CI_FAULT": "http-flask:deploy_test:hang"},
        deploy_test={"timeoutSeconds": 1},
    )
    run.executor.kill_grace = 0.5
    started = time.monotonic()
    report = run.run(record, entry)
    assert time.monotonic() - started < 20
    results = store.get(record.configId).stageResults
    assert report.status == "fail-deploy_test"
    assert results["deploy_test"].errorSummary.startswith(
        "timed out after 1s; its process group was killed"
    )
    assert results["teardown"].status == "pass"
    hung = subprocess.run(["pgrep", "-f", "injected hang"], capture_output=True)
    assert hung.returncode == 1, hung.stdout  # nothing of the stage is left


def test_exception_inside_the_harness_still_tears_down(store, tmp_path):
    record, entry = claimed(store)
    report = runner(store, tmp_path, {"MLCC_CI_FAULT": "http-flask:validate:crash"}).run(
        record, entry
    )
    # mlcc-ci broke, not the configuration: an error in the history, the status untouched
    assert report.status == "error"
    assert store.get(record.configId).testStatus == "untested"
    [run] = store.history(record.configId)
    assert (run.status, run.failure.cls, run.failure.rule) == (
        "error",
        "harness",
        "harness-internal-error",
    )
    assert run.failure.capture == "RuntimeError"
    assert run.stageResults["validate"].errorSummary == (
        "internal error in the harness: RuntimeError: injected crash in validate"
    )
    assert run.stageResults["teardown"].status == "pass"


def test_a_progress_display_that_fails_does_not_fail_the_run(store, tmp_path):
    record, entry = claimed(store)

    def gone(event):
        raise BrokenPipeError(32, "Broken pipe")

    run = runner(store, tmp_path)
    run.progress = gone
    report = run.run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    assert store.get(record.configId).testStatus == "pass"
    assert report.notes == ["progress could not be shown: BrokenPipeError: [Errno 32] Broken pipe"]


def test_secrets_are_redacted_from_error_summaries(store, tmp_path):
    record, entry = claimed(store)
    secret = "hf_SuperSecretTokenValue12345"
    run = runner(
        store,
        tmp_path,
        {"NGC_API_KEY": secret},  # a stage never gets HF_TOKEN (test_modeltoken.py)
        build={
            "command": {
                "docker-in-docker": 'echo "token=$NGC_API_KEY and AKIAABCDEFGHIJKLMNOP" >&2; exit 3'
            }
        },
    )
    report = run.run(record, entry)
    summary = store.get(record.configId).stageResults["build"].errorSummary
    assert report.status == "fail-build"
    assert secret not in summary and "AKIAABCDEFGHIJKLMNOP" not in summary
    assert summary == "exit code 3\ntoken=*** and ***"


def test_a_secret_known_only_by_its_value_never_reaches_the_store(store, tmp_path):
    """A plain value no pattern recognises, printed bare by a stage: it is masked because
    its variable's name says it is a secret, and only for that reason."""
    record, entry = claimed(store)
    run = runner(
        store,
        tmp_path,
        {"DB_PASSWORD": "plainvalue123"},
        build={"command": {"docker-in-docker": 'echo "connecting with $DB_PASSWORD" >&2; exit 3'}},
    )
    report = run.run(record, entry)
    assert report.status == "fail-build"
    stored = store.get(record.configId)
    assert stored.stageResults["build"].errorSummary == "exit code 3\nconnecting with ***"
    everything = json.dumps(dict(store.raw_items())) + json.dumps(
        [h.to_item() for h in store.history(record.configId)]
    )
    assert "plainvalue123" not in everything


def test_preflight_names_what_is_missing(store, tmp_path):
    record, entry = claimed(store)
    report = runner(store, tmp_path, {"PATH": "/usr/bin:/bin"}, profile="default").run(
        record, entry
    )
    summary = store.get(record.configId).stageResults["generate"].errorSummary
    assert report.status == "fail-generate"
    assert summary == (
        "the generator @aws/ml-container-creator@1.6.0 is not installed: run 'mlcc-ci generator "
        "install' (npm install of @aws/ml-container-creator@1.6.0) (or run with --profile example)"
    )
    assert store.get(record.configId).stageResults["teardown"].status == "skip"


def test_validate_really_checks_the_project(tmp_path):
    from mlcc_ci.projectcheck import check_project

    entry = CATALOG.get("http-flask")
    config = entry.config
    gen = CATALOG.defaults["profiles"]["example"]["stages"]["generate"]["command"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "MLCC_PYTHON": sys.executable,
        "MLCC_CONFIG_FILE": str(tmp_path / "config.json"),
        "MLCC_EXAMPLES": str(Path(__file__).parent.parent / "examples"),
    }
    subprocess.run(["bash", "-c", gen], cwd=tmp_path, env=env, check=True, capture_output=True)
    project = tmp_path / config["projectName"]
    assert check_project(project, config) == []
    (project / "do" / "push").chmod(0o644)
    (project / "do" / "deploy").write_text("#!/usr/bin/env bash\nif then fi\n")
    (project / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (project / "code" / "serve.py").write_text("def broken(:\n")
    (project / "do" / "test").unlink()
    problems = check_project(project, {**config, "instanceType": "ml.m5.xlarge"})
    assert problems[0] == "missing do/test"
    assert problems[1] == "do/push is not executable"
    assert problems[2].startswith("do/deploy does not parse: ")
    assert (
        problems[3]
        == "Dockerfile FROM python:3.11-slim is not the catalog's baseImage python:3.12-slim"
    )
    assert problems[4].startswith("code/serve.py does not compile: ")
    assert problems[5] == 'do/config INSTANCE_TYPE="ml.m5.large" but the config says ml.m5.xlarge'


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_sigterm_during_build_tears_down_and_records(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    env = {**os.environ, "MLCC_CI_FAULT": "http-flask:build:hang", "MLCC_CI_STORE": url}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlcc_ci",
            "run",
            "http-flask",
            "--profile",
            "example",
            "--work-dir",
            str(tmp_path / "work"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    work = tmp_path / "work"
    _wait_for(work)
    run_dir = None
    deadline = time.monotonic() + 30
    while (
        run_dir is None
        or not (run_dir / "logs" / "build.stderr.log").exists()
        or "injected hang" not in (run_dir / "logs" / "build.stderr.log").read_text()
    ):
        assert time.monotonic() < deadline
        run_dir = next(work.iterdir(), None)
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    from mlcc_ci.stores.open import open_store

    store = open_store(url)
    record = store.get(CATALOG.get("http-flask").config_id)
    assert record.testStatus == "fail-build"
    assert record.stageResults["build"].errorSummary.startswith(
        "interrupted by SIGTERM; its process group was killed"
    )
    assert record.stageResults["teardown"].status == "pass"
    assert [h.status for h in store.history(record.configId)] == ["fail-build"]
    assert subprocess.run(["pgrep", "-f", "injected hang"], capture_output=True).returncode == 1


def test_dynamodb_throttling_during_update_is_retried(tmp_path):
    from tests.stores import dynamo_store
    from tests.test_register import _throttle

    with dynamo_store(sleep=lambda s: None) as store:
        record, entry = claimed(store)
        run = runner(store, tmp_path)
        left = _throttle(store.client, 4)  # the finishing PutItem is throttled 4 times
        report = run.run(record, entry)
        assert left["n"] == 0 and report.notes == []
        assert store.get(record.configId).testStatus == "pass"
        assert [h.status for h in store.history(record.configId)] == ["pass"]


def test_a_harness_error_before_any_stage_does_not_leave_the_claim_running(store, tmp_path):
    record, entry = claimed(store)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the work folder should go")
    run = Runner(store, load_profile(CATALOG, "example"), work_root=blocked)
    report = run.run(record, entry)
    assert report.status == "error"
    stored = store.get(record.configId)
    # not running, and not failed either: the harness broke, the configuration did not
    assert (stored.testStatus, stored.runId) == ("untested", None)
    [kept] = store.history(record.configId)
    assert (kept.status, kept.profile) == ("error", "example")
    assert kept.errorMessage.startswith("internal error in the harness: NotADirectoryError")
    assert stored.recentRuns[0].status == "error"


def _with_validate(script: str) -> dict:
    """The example generator, then a do/validate of the given body in the project."""
    body = script.replace("'", "'\\''")
    return {
        "generate": {
            "command": '"$MLCC_PYTHON" "$MLCC_EXAMPLES/local-generator/mlcc-example-generator" '
            '--config "$MLCC_CONFIG_FILE" --skip-prompts && '
            f"printf '%s\\n' '#!/bin/bash' '{body}' > \"$MLCC_PROJECT_DIR/do/validate\" && "
            'chmod +x "$MLCC_PROJECT_DIR/do/validate"'
        }
    }


@pytest.mark.parametrize(
    ("script", "status", "summary", "note"),
    [
        (
            # what do/validate needs: an activated virtualenv with boto3, and the registry
            'test -n "$VIRTUAL_ENV" && python3 -c "import sys, boto3; '
            'assert sys.prefix != sys.base_prefix" && '
            'python3 -c "import json,os; json.load(open(os.path.expanduser('
            "'~/.ml-container-creator/schemas/sagemaker/service-2.json')))\" && "
            'echo "✅ Validation passed"',
            "pass",
            "",
            "",
        ),
        (
            'printf "\\033[31m✗\\033[0m InstanceType: ml.x (not valid)\\n"; exit 1',
            "fail",
            "do/validate found errors: ✗ InstanceType: ml.x (not valid)",
            "",
        ),
        (
            'echo "⚠️ Schema registry not found."; echo "Run: sync-schemas"; exit 2',
            "pass",
            "",
            "do/validate could not run: ⚠️ Schema registry not found.",
        ),
        # what it does when `npm root -g` finds no generator: set -e ends it, unexplained;
        # the summary quotes its last three lines
        (
            'echo one; echo; echo "⚠️ stale"; echo "🔍 Running schema validation..."; false',
            "fail",
            "do/validate exited 1; it last printed: one / ⚠️ stale / 🔍 Running schema "
            "validation...",
            "",
        ),
        ("exit 1", "fail", "do/validate exited 1 without any output", ""),
        (
            'echo "❌ Could not load do/config"; exit 1',
            "fail",
            "do/validate exited 1: ❌ Could not load do/config",
            "",
        ),
    ],
    ids=["passes", "finds-errors", "cannot-run", "stops-unexplained", "silent", "says-why"],
)
def test_validate_runs_the_projects_own_do_validate(store, tmp_path, script, status, summary, note):
    record, entry = claimed(store)
    report = runner(store, tmp_path, **_with_validate(script)).run(record, entry)
    result = store.get(record.configId).stageResults["validate"]
    assert (result.status, result.errorSummary, result.note) == (status, summary, note)
    assert report.status == ("pass" if status == "pass" else "fail-validate")


def test_no_stage_inherits_the_developers_activated_virtualenv(store, tmp_path, monkeypatch):
    """Run from an activated virtualenv (simulated: the fixture drops the real one), every
    stage, do/validate among them, gets the harness's own virtualenv, never that one."""
    from mlcc_ci import generator, validate_env

    developer = tmp_path / "developer-venv"
    (developer / "bin").mkdir(parents=True)
    monkeypatch.setenv("VIRTUAL_ENV", str(developer))
    monkeypatch.setenv("PATH", f"{developer / 'bin'}{os.pathsep}{os.environ['PATH']}")
    seen = tmp_path / "seen"
    seen.mkdir()
    script = f'echo "$VIRTUAL_ENV" > {seen}/validate; echo "✅ Validation passed"'
    stages = _with_validate(script)
    stages["generate"]["command"] += f' && echo "$VIRTUAL_ENV" > {seen}/generate'
    run = runner(store, tmp_path, **stages)
    record, entry = claimed(store)
    report = run.run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    harness = validate_env.python_env(generator.home(os.environ) / "validate-env")
    assert harness != developer
    assert (seen / "validate").read_text() == f"{harness}\n"
    assert (seen / "generate").read_text() == f"{harness}\n"


def test_do_validate_env_replaces_an_activated_virtualenv(tmp_path, monkeypatch):
    """validate_env.prepare given the environment of an activated shell: VIRTUAL_ENV and the
    first python3 on PATH are the harness's virtualenv, not the shell's."""
    from mlcc_ci import validate_env

    developer = tmp_path / "developer-venv"
    monkeypatch.setenv("VIRTUAL_ENV", str(developer))
    monkeypatch.setenv("PATH", f"{developer / 'bin'}{os.pathsep}{os.environ['PATH']}")
    root = tmp_path / "validate-env"
    prepared = validate_env.prepare(root, os.environ, tmp_path / "home")
    harness = validate_env.python_env(root)
    assert prepared["VIRTUAL_ENV"] == str(harness)
    assert prepared["PATH"].split(os.pathsep)[:2] == [str(harness / "bin"), str(developer / "bin")]


def test_validate_says_when_the_project_has_no_do_validate(store, tmp_path):
    record, entry = claimed(store)
    runner(store, tmp_path).run(record, entry)
    result = store.get(record.configId).stageResults["validate"]
    assert (result.status, result.note) == (
        "pass",
        "static checks only: the project has no do/validate",
    )


def test_register_fails_without_the_generators_record_of_itself(store, tmp_path):
    record, entry = claimed(store)
    gen = (
        '"$MLCC_PYTHON" "$MLCC_EXAMPLES/local-generator/mlcc-example-generator" '
        '--config "$MLCC_CONFIG_FILE" --skip-prompts && '
        'rm "$MLCC_PROJECT_DIR/.mlcc-generation-params.json"'
    )
    report = runner(store, tmp_path, generate={"command": gen}).run(record, entry)
    assert report.status == "fail-register"
    assert store.get(record.configId).stageResults["register"].errorSummary == (
        "the project has no .mlcc-generation-params.json naming a generatorVersion: cannot tell "
        "which generator wrote it"
    )


def test_a_configuration_for_another_region_than_the_stack_fails_validation(store, tmp_path):
    record, entry = claimed(store)
    prof = load_profile(CATALOG, "default")
    example = load_profile(CATALOG, "example")
    profile = replace(example, checks={**example.checks, "validate": prof.checks["validate"]})
    env = {**os.environ, "MLCC_CI_STACK_REGION": "eu-west-1"}
    report = Runner(store, profile, work_root=tmp_path / "w", env=env).run(record, entry)
    assert report.status == "fail-validate"
    assert store.get(record.configId).stageResults["validate"].errorSummary == (
        "the configuration deploys to us-east-1, but this CI stack (and the IAM it grants) is in "
        "eu-west-1: register the catalog for it (mlcc-ci register --from-catalog --all --region "
        "eu-west-1), or run it with a stack deployed in us-east-1"
    )
    same = Runner(
        store, profile, work_root=tmp_path / "v", env={**env, "MLCC_CI_STACK_REGION": "us-east-1"}
    )
    record, entry = claimed(store, "triton-fil")
    assert same.run(record, entry).status == "pass"


def test_a_run_shows_its_stage_while_it_runs_and_records_its_cost(store, tmp_path):
    from mlcc_ci.lifecycle import Progress

    record, entry = claimed(store, "transformers-vllm")
    seen = {}

    def watch(event: Progress) -> None:  # what a dashboard would read as each stage ends
        if event.state == "end" and event.stage != "update":
            now = store.get(record.configId)
            seen[event.stage] = (now.testStatus, now.currentStage, list(now.runStages))

    prof = load_profile(CATALOG, "example")
    billed = replace(prof, prices=replace(prof.prices, unbilled=frozenset()))
    run = Runner(store, billed, work_root=tmp_path / "work", progress=watch)
    report = run.run(record, entry)
    assert report.status == "pass", report.outcome.stageResults
    assert seen["validate"] == ("running", "validate", ["generate"])
    assert seen["deploy_test"] == ("running", "deploy_test", ["generate", "validate", "build"])
    stored = store.get(record.configId)
    assert stored.currentStage is None and stored.runStages == {}
    assert [r.runId for r in stored.recentRuns] == [record.runId]
    cost = stored.estimatedCost
    # the example's do/submit and do/deploy ran: one started CodeBuild minute at the
    # generator's default compute type, and the endpoint's seconds of ml.g6.12xlarge
    assert "1 min BUILD_GENERAL1_LARGE" in cost.basis and "h ml.g6.12xlarge" in cost.basis
    assert 0.02 < cost.usd < 0.05 and "price table v1 of 2026-11-01" in cost.basis
    assert store.history(record.configId)[0].estimatedCost == cost


def test_the_example_profile_costs_nothing_and_says_why(store, tmp_path):
    record, entry = claimed(store, "http-flask")
    assert runner(store, tmp_path).run(record, entry).status == "pass"
    cost = store.get(record.configId).estimatedCost
    assert cost.usd == 0.0 and cost.basis == "profile example runs nothing in AWS"
