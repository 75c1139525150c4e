"""The pinned real generator (`@aws/ml-container-creator` from npm, installed by `make
generator`): every supported entry generates and validates, a generated project registers
as the same deployment as its catalog entry, refusals are failures quoting the generator,
and the catalog is checked against the generator's own parameter list."""

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from mlcc_ci import clock, generator, generatorcheck
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.errors import CatalogError
from mlcc_ci.lifecycle import Runner
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry, from_project
from mlcc_ci.resources import catalog_dir
from mlcc_ci.stores.base import claim
from mlcc_ci.stores.open import open_store
from mlcc_ci.stores.sqlite import SqliteStore
from tests.conftest import GENERATOR_HOME, REPO

pytestmark = pytest.mark.generator
CATALOG = load_valid_catalog()
SUPPORTED = [e for e in CATALOG.entries if e.supported]
NODE_GUARD = f"--require {REPO / 'tests' / 'guards' / 'loopback-only.cjs'}"
SKIPPED_BY_STATIC = ("build", "deploy_test", "teardown")
NO_CREDENTIALS = (
    "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "or run 'aws configure'"
)
# What `generator check` says of the one entry left unsupported on purpose.
UNSUPPORTED_OFFERED = "unsupported entries the generator offers, not run for the reason given (1):"
MARKETPLACE = (
    "  marketplace (unsupported: deploys a subscribed AWS Marketplace model package "
    "(MODEL_PACKAGE_ARN in do/config): the CI account holds no Marketplace subscription, and "
    "there is no image to build or Dockerfile to validate)"
)


@pytest.fixture(autouse=True)
def _offline_node(monkeypatch):
    """Every node process the generator starts may reach loopback only."""
    monkeypatch.setenv("NODE_OPTIONS", NODE_GUARD)


@pytest.fixture(scope="module")
def static_run(tmp_path_factory):
    """`mlcc-ci run --all --profile static` once, as a user would; its work folder keeps
    every generated project for the tests below."""
    from click.testing import CliRunner

    from mlcc_ci.cli.main import cli

    base = tmp_path_factory.mktemp("static")
    env = {
        generator.HOME_ENV: str(GENERATOR_HOME),
        "XDG_DATA_HOME": str(base / "xdg"),
        "NODE_OPTIONS": NODE_GUARD,
    }
    pin = generator.pin_of(CATALOG.defaults)
    problem = generator.problem_with(pin, {**os.environ, **env})
    if problem:
        pytest.fail(f"{problem} (make generator installs it into {GENERATOR_HOME})")
    args = ["run", "--all", "--profile", "static", "--jobs", "2", "--work-dir", str(base / "work")]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    store = open_store(f"sqlite:///{base}/xdg/mlcc-ci/static-results.db")
    return result, {r.deploymentConfig: r for r in store.records()}, base / "work"


# Generator 1.6.0 asks for 1 accelerator per inference component (do/ic/default.conf,
# IC_GPU_COUNT=1) also for these two, whose instance type (ml.m5.large) has none: SageMaker
# cannot place them, and the static profile says so before anything is paid for.
UNPLACEABLE = ("http-fastapi", "http-flask")


def test_static_profile_flags_what_sagemaker_cannot_place(static_run):
    result, records, _ = static_run
    assert result.exit_code == 1, result.output
    for name in UNPLACEABLE:
        record = records[name]
        assert record.testStatus == "fail-validate"
        assert (record.failure.cls, record.failure.rule) == ("product", "sagemaker-ic-placement")
        assert record.failure.capture == "1 accelerator device(s)"
        validate = record.stageResults["validate"]
        assert validate.errorSummary == (
            "predicted to fail at deploy_test: Unable to place inference component default "
            "(do/ic/default.conf) on ml.m5.large: it requires 1 accelerator device(s) per copy "
            "and instance type ml.m5.large has 0"
        )
        # the log the summary points at says it too (after the project's own do/validate)
        log = Path(validate.logPointer).read_text()
        assert log.endswith(f"[mlcc-ci] {validate.errorSummary}\n")
        assert "Validation passed" in log
    assert result.output.splitlines()[-1].startswith(
        f"{len(SUPPORTED) - len(UNPLACEABLE)} passed, {len(UNPLACEABLE)} failed"
    )


def test_static_profile_passes_every_other_supported_entry(static_run):
    _, records, _ = static_run
    assert {n for n, r in records.items() if r.testStatus != "pass"} == set(UNPLACEABLE)
    for entry in (e for e in SUPPORTED if e.name not in UNPLACEABLE):
        record = records[entry.name]
        stages = record.stageResults
        assert record.testStatus == "pass", (entry.name, record.errorMessage)
        assert record.profile == "static" and record.generatorVersion == "1.6.0"
        assert record.provenImage == entry.data["baseImage"]
        assert stages["generate"].status == stages["validate"].status == "pass"
        # the project's own do/validate ran (a sub-check that cannot run leaves a note)
        assert stages["validate"].note == "", (entry.name, stages["validate"].note)
        assert Path(stages["validate"].logPointer).read_text().count("Validation passed") == 1
        for name in SKIPPED_BY_STATIC:
            assert stages[name].status == "skip"
            assert stages[name].note == "the static profile proves generation and validation only"


def _project(work: Path, entry) -> Path:
    (run,) = work.glob(f"{entry.name}-*")
    return run / entry.config["projectName"]


@pytest.mark.parametrize("entry", SUPPORTED, ids=lambda e: e.name)
def test_generated_project_registers_as_its_catalog_entry(static_run, entry):
    _, _, work = static_run
    project = _project(work, entry)
    ours = from_entry(entry)
    theirs = from_project(project, CATALOG)
    assert theirs.warnings == []
    for field in ("configId", "deploymentConfig", "projectName", "buildStrategy", "baseImage"):
        assert getattr(theirs.registration, field) == getattr(ours, field), field
    answers = json.loads(theirs.registration.configJson)
    for key, value in entry.data.get("generatorOptions", {}).items():
        assert answers[key] == value


def _claimed(store, entry, config_json: str):
    reg = replace(from_entry(entry), configJson=config_json)
    store.register(reg, clock.iso(clock.now()))
    return claim(store, store.get(reg.configId), "run-1", clock.iso(clock.now(), ms=True))


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"buildTarget": "sagemaker"},  # the generator prints this, writes nothing, exits 0
            "the generator wrote no project at {project}: ⚠️  Unsupported build target: "
            "sagemaker. Supported targets: codebuild",
        ),
        (
            {"modelFormat": None},  # it throws and exits 1
            "the generator exited 1: ❌ Required Parameter Validation Failed:\n"
            "• Required parameter 'modelFormat' is missing. This parameter is required for http "
            "architecture.",
        ),
    ],
)
def test_a_refused_configuration_is_fail_generate_in_the_generators_words(
    pinned_generator, tmp_path, change, said
):
    entry = CATALOG.get("http-flask")
    config = {k: v for k, v in {**entry.config, **change}.items() if v is not None}
    store = SqliteStore(tmp_path / "r.db")
    record = _claimed(store, entry, json.dumps(config))
    profile = load_profile(CATALOG, "static")
    report = Runner(store, profile, work_root=tmp_path / "work", env=dict(os.environ)).run(
        record, entry
    )
    project = report.work_dir / entry.config["projectName"]
    stored = store.get(record.configId)
    assert report.status == stored.testStatus == "fail-generate"
    assert stored.stageResults["generate"].errorSummary == said.format(project=project)
    assert stored.errorMessage.startswith("generate failed: the generator ")
    assert stored.stageResults["validate"].status == "skip"


def test_default_profile_generates_and_validates_then_stops_at_build_preflight(
    cli, pinned_generator, tmp_path, monkeypatch
):
    """No Docker, no AWS credentials: generate and validate pass for every supported entry;
    build's preflight says what is missing."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no docker CLI wherever the machine has one
    url = f"sqlite:///{tmp_path}/r.db"
    result = cli("run", "--all", "--jobs", "2", "--store", url, "--work-dir", str(tmp_path / "w"))
    assert result.exit_code == 1
    gated = [e for e in SUPPORTED if e.data.get("modelAccess") == "gated"]
    assert len(gated) == 1
    assert result.output.splitlines()[-1].startswith(
        f"0 passed, {len(SUPPORTED) - 1} failed, 1 blocked"
    )
    records = {r.deploymentConfig: r for r in open_store(url).records()}
    # a gated model is refused at validate: the harness hands no token on (modeltoken.py)
    (refused,) = (records[e.name] for e in gated)
    assert refused.testStatus == "untested" and refused.blocked.rule == "hf-token-withheld"
    assert (refused.blocked.cls, refused.blocked.stage) == ("credentials", "validate")
    for entry in (e for e in SUPPORTED if e not in gated):
        record = records[entry.name]
        stages = record.stageResults
        assert record.testStatus == "fail-build", (entry.name, record.errorMessage)
        assert stages["generate"].status == stages["validate"].status == "pass"
        # the project's own do/validate really ran (one that could not run leaves a note);
        # what SageMaker could not place is noted, and deploy_test would prove it
        predicted = (
            "predicted to fail at deploy_test: Unable to place inference component default "
            "(do/ic/default.conf) on ml.m5.large: it requires 1 accelerator device(s) per copy "
            "and instance type ml.m5.large has 0"
        )
        note = predicted if entry.name in UNPLACEABLE else ""
        assert stages["validate"].note == note, (entry.name, stages["validate"].note)
        log = Path(stages["validate"].logPointer).read_text()
        assert log.count("🔍 Running schema validation...") == 1, (entry.name, log)
        assert log.count("✅ Validation passed") == 1, (entry.name, log)
        assert stages["build"].errorSummary == NO_CREDENTIALS
        assert stages["deploy_test"].status == stages["register"].status == "skip"
        # teardown is still tried, and its own preflight says why it could not run
        assert (stages["teardown"].status, stages["teardown"].errorSummary) == (
            "fail",
            NO_CREDENTIALS,
        )


def test_catalog_validate_checks_the_generators_parameters(cli, pinned_generator, tmp_path):
    warned = [
        f"catalog/{name}.yaml:9: {name} $.instanceType: warning: generator 1.6.0 asks each "
        "inference component for at least 1 accelerator (templates/do/lib/inference-component"
        ".sh: IC_GPU_COUNT, default 1) and ml.m5.large has none: SageMaker will not place it, "
        "deploy_test will fail"
        for name in UNPLACEABLE
    ]
    shipped = cli("catalog", "validate")
    assert (shipped.exit_code, shipped.output) == (
        0,
        "\n".join([*warned, "catalog valid: 19 entries\n"]),
    )

    team = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), team)
    flask = team / "http-flask.yaml"
    text = flask.read_text().replace("modelFormat: pkl", "modelFromat: pkl")
    flask.write_text(text + "buildTarget: sagemaker\n")
    vllm = team / "transformers-vllm.yaml"
    vllm.write_text(vllm.read_text() + "endpointConfig:\n  volumeSize: 20000\n")
    result = cli("catalog", "validate", str(team))
    rel = os.path.relpath
    assert result.exit_code == CatalogError.exit_code
    assert result.output.splitlines() == [
        f"{rel(flask)}:11: http-flask $.generatorOptions.modelFormat: generator 1.6.0 says: "
        "Required parameter 'modelFormat' is missing. This parameter is required for http "
        "architecture.",
        f"{rel(flask)}:12: http-flask $.generatorOptions.modelFromat: generator 1.6.0 does not "
        "read 'modelFromat' from a config file; it would be ignored (did you mean 'modelFormat'?)",
        f"{rel(flask)}:{text.count(chr(10)) + 1}: http-flask $.buildTarget: "
        '"sagemaker" is not one of codebuild',
        f"{rel(vllm)}:16: transformers-vllm $.endpointConfig.volumeSize: 20000 is above the "
        "maximum 16384",
        "4 problems found",
    ]


def test_catalog_validate_says_every_problem_at_once(cli, pinned_generator, tmp_path):
    """Required parameters as the installed generator decides them (modelFormat for http,
    a model for diffusors), a generator name it does not offer, an instance type SageMaker
    does not have and a schema problem in another file: all in one list, by file and line."""
    import botocore

    team = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), team)

    def edit(name: str, old: str, new: str) -> str:
        path = team / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))
        return os.path.relpath(path)

    flask = edit("http-flask.yaml", "generatorOptions:\n  modelFormat: pkl", "generatorOptions: {}")
    diffusors = edit("diffusors-vllm.yaml", "modelName: stabilityai/", "# ")
    onnx = edit(
        "triton-onnx.yaml", "generatorName: triton-onnxruntime", "generatorName: triton-onnxrt"
    )
    fastapi = edit("http-fastapi.yaml", "buildStrategy: docker", "buildStrategy: xdocker")
    vllm = edit(
        "transformers-vllm.yaml", "instanceType: ml.g6.12xlarge", "instanceType: ml.g6.99xlarge"
    )
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == CatalogError.exit_code
    assert result.output.splitlines() == [
        f"{diffusors}:2: diffusors-vllm $.modelName: generator 1.6.0 says: Model name is required "
        "for diffusors architecture. Use --model-name to specify a HuggingFace diffusion model.",
        f'{fastapi}:10: http-fastapi $.buildStrategy: "xdocker-in-docker" is not one of: '
        "codebuild-submit, docker-in-docker",
        f"{flask}:11: http-flask $.generatorOptions.modelFormat: generator 1.6.0 says: Required "
        "parameter 'modelFormat' is missing. This parameter is required for http architecture.",
        f"{vllm}:9: transformers-vllm $.instanceType: SageMaker has no instance type "
        f"'ml.g6.99xlarge' for realtime-inference (botocore {botocore.__version__}); "
        "did you mean 'ml.g6.xlarge'?",
        f"{onnx}:5: triton-onnx $.generatorName: generator 1.6.0 offers no configuration "
        "\"triton-onnxrt\" (did you mean 'triton-onnxruntime'?)",
        "5 problems found",
    ]


def test_the_catalog_covers_every_configuration_the_generator_offers(cli, pinned_generator):
    """The day a generator bump offers a configuration no entry names, this fails: add an
    entry for it (supported, or unsupported with the reason)."""
    params = generator.load_parameters(pinned_generator)
    assert generatorcheck.drift(CATALOG.entries, params).missing == []
    assert {e.generator_name for e in CATALOG.entries} >= set(params.deployment_configs)
    result = cli("generator", "check")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "configurations the catalog lacks (0):",
        "supported entries whose configuration the generator dropped (0):",
        UNSUPPORTED_OFFERED,
        MARKETPLACE,
        "parameters the generator would refuse or ignore (0):",
        # the verdict names what the listing shows: offered, but unsupported on purpose
        "generator 1.6.0 fits the catalog; offered but not run: marketplace (unsupported)",
    ]


def test_generator_check_fails_when_the_catalog_names_what_the_generator_dropped(
    cli, pinned_generator, tmp_path, monkeypatch
):
    import mlcc_ci.catalog as catalog_module

    team = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), team)
    onnx = team / "triton-onnx.yaml"
    onnx.write_text(onnx.read_text().replace("generatorName: triton-onnxruntime", ""))
    (team / "triton-vllm.yaml").unlink()
    monkeypatch.setattr(catalog_module, "catalog_dir", lambda: team)
    result = cli("generator", "check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[
        : lines.index("supported entries whose configuration the generator dropped (1):")
    ] == [
        "configurations the catalog lacks (2):",
        "  triton-onnxruntime",
        "  triton-vllm",
    ]
    assert lines[
        lines.index("supported entries whose configuration the generator dropped (1):") + 1
    ] == ("  triton-onnx")
    assert lines[lines.index(UNSUPPORTED_OFFERED) + 1] == MARKETPLACE
    assert any(
        'triton-onnx $.name: generator 1.6.0 offers no configuration "triton-onnx" '
        "(did you mean 'triton-onnxruntime'?)" in x
        for x in lines
    )
    assert lines[-1] == "generator 1.6.0 breaks the catalog"


def test_install_is_a_no_op_when_the_pin_is_there(cli, pinned_generator):
    result = cli("generator", "install")
    assert result.exit_code == 0
    assert "installing" not in result.output
    assert result.output.splitlines()[-1] == (
        f"@aws/ml-container-creator 1.6.0: {pinned_generator.command}"
    )
    assert cli("generator", "where").exit_code == 0


def test_install_without_npm_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.setenv(generator.HOME_ENV, str(tmp_path / "gen"))
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli("generator", "install")
    assert result.exit_code == 3
    assert result.output.splitlines()[-1] == (
        "Error: npm is not on PATH: install Node.js (20 or newer) and npm first"
    )
    assert not (tmp_path / "gen").exists()


def test_do_validate_runs_when_the_generator_is_found_on_path(
    cli, pinned_generator, tmp_path, monkeypatch
):
    """Not at the pinned install but on PATH (a link to an npm global install): the
    project's do/validate, which looks for the generator under `npm root -g`, finds it
    through the npm prefix the harness derives from where the command really lives."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ml-container-creator").symlink_to(pinned_generator.command)
    monkeypatch.setenv(generator.HOME_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    pin = generator.pin_of(CATALOG.defaults)
    found = generator.find(pin, os.environ)
    assert found is not None and found.command == bin_dir / "ml-container-creator"
    assert found.prefix == pinned_generator.prefix == GENERATOR_HOME / pinned_generator.prefix.name
    assert found.stage_env(os.environ)["NPM_CONFIG_PREFIX"] == str(pinned_generator.prefix)
    local = Path("/srv/app/node_modules/@aws/ml-container-creator")  # not under any npm prefix
    assert generator._global_prefix(local, pin.package) is None

    work = tmp_path / "work"
    result = cli("run", "triton-fil", "--profile", "static", "--work-dir", str(work))
    assert result.exit_code == 0, result.output
    store = open_store(f"sqlite:///{tmp_path}/xdg/mlcc-ci/static-results.db")
    validate = store.get(CATALOG.get("triton-fil").config_id).stageResults["validate"]
    assert (validate.status, validate.note, validate.errorSummary) == ("pass", "", "")
    assert Path(validate.logPointer).read_text().count("✅ Validation passed") == 1


def test_do_validate_runs_with_the_generator_from_a_folders_node_modules(
    cli, pinned_generator, tmp_path, monkeypatch
):
    """`npm install @aws/ml-container-creator@1.6.0` in a folder and its node_modules/.bin
    on PATH, no `generator install`: no npm global prefix holds the generator, so the
    project's do/validate, which looks under `npm root -g` and stops silently (set -e) when
    it finds nothing there, gets a prefix the harness links to this one."""
    pin = generator.pin_of(CATALOG.defaults)
    app = tmp_path / "app"  # that folder: the pinned install's files (hard links, no copy)
    modules = app / "node_modules"
    installed = pinned_generator.root.parents[len(Path(pin.package).parts) - 1]
    shutil.copytree(
        installed,
        modules,
        symlinks=True,
        copy_function=os.link,
        # the links `npm ci` made beside the pinned install, if it made them: made anew below
        ignore=lambda folder, names: [".bin"] if Path(folder) == installed else [],
    )
    (modules / ".bin").mkdir()
    (modules / ".bin" / pin.command).symlink_to(f"../{pin.package}/bin/cli.js")  # as npm does
    home = tmp_path / "generator-home"
    monkeypatch.setenv(generator.HOME_ENV, str(home))
    monkeypatch.setenv("PATH", f"{modules / '.bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    found = generator.find(pin, os.environ)
    assert found is not None and found.version == pin.version
    assert (found.root, found.prefix) == (modules / pin.package, None)

    work = str(tmp_path / "work")
    result = cli("run", "transformers-vllm", "--profile", "static", "--work-dir", work)
    assert result.exit_code == 0, result.output
    store = open_store(f"sqlite:///{tmp_path}/xdg/mlcc-ci/static-results.db")
    record = store.get(CATALOG.get("transformers-vllm").config_id)
    validate = record.stageResults["validate"]
    assert (validate.status, validate.note, validate.errorSummary) == ("pass", "", "")
    log = Path(validate.logPointer).read_text()
    assert "Running schema validation..." in log and "✅ Validation passed" in log
    # the prefix made for it: `npm root -g` there holds a link to the folder's generator,
    # the same one for every run
    (linked,) = (home / "linked").iterdir()
    assert found.stage_env(os.environ)["NPM_CONFIG_PREFIX"] == str(linked)
    assert (linked / "lib" / "node_modules" / pin.package).resolve() == found.root


def test_where_says_a_wrong_version_is_not_the_pin(cli, pinned_generator, tmp_path, monkeypatch):
    """A generator of another version on PATH is not the one the catalog pins."""
    fake = tmp_path / "other" / "node_modules" / "@aws" / "ml-container-creator"
    (fake / "bin").mkdir(parents=True)
    (fake / "package.json").write_text(
        json.dumps({"name": "@aws/ml-container-creator", "version": "1.7.0"})
    )
    (fake / "bin" / "cli.js").write_text("#!/usr/bin/env node\n")
    (fake / "bin" / "cli.js").chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ml-container-creator").symlink_to(fake / "bin" / "cli.js")
    monkeypatch.setenv(generator.HOME_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    result = cli("generator", "where")
    assert result.exit_code == 3
    assert result.output.splitlines() == [
        f"@aws/ml-container-creator 1.7.0: {bin_dir / 'ml-container-creator'}",
        f"Error: the generator at {bin_dir / 'ml-container-creator'} is version 1.7.0, but the "
        "catalog pins 1.6.0: run 'mlcc-ci generator install' (npm install of "
        "@aws/ml-container-creator@1.6.0), or bump the pin in _defaults.yaml",
    ]
