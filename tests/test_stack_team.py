"""A team's repository takes its own catalog to AWS without a clone of mlcc-ci (issue 30):
mlcc-ci installed from its wheel with the `stack` extra into the team's virtualenv (offline,
from the wheelhouses `make twin-cache` fills), `mlcc-ci stack synth` in the repository, and
the stack it writes runs the team's catalog: the executor's source asset holds it and a
settings file naming it, the scanner registers its entries, the recorder packs its failure
rules. `mlcc-ci stack deploy` hands that assembly to the real CDK CLI, which (against a
moto server on 127.0.0.1) stops where a fresh account would: not bootstrapped."""

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from tests.conftest import NODE_GUARD, PYTHON_GUARD, REPO

STACK = "mlcc-ci-harness"
TEAM_ENTRIES = {"transformers-vllm", "qwen-vllm-small", "http-flask"}


def _env(home: Path, bin_dir: Path, **extra: str) -> dict[str, str]:
    """What a team's shell has: its virtualenv's commands on PATH (not activated: no
    VIRTUAL_ENV), a HOME of its own, no AWS credentials; Node for jsii."""
    env = {
        "HOME": str(home),
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(PYTHON_GUARD),  # the loopback guard, nothing of this checkout
        "LANG": "C.UTF-8",
        "MLCC_CI_LAMBDA_WHEELS": str(REPO / "cdk" / "build" / "wheels"),  # offline
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return {**env, **extra}


@pytest.fixture(scope="module")
def team_venv(tmp_path_factory) -> Path:
    """A virtualenv with mlcc-ci[stack] installed from the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("team-venv")
    for wheelhouse in (REPO / ".twin" / "wheels", REPO / ".twin" / "stack-wheels"):
        if not (wheelhouse / ".downloaded").is_file():
            pytest.fail(f"no wheelhouse at {wheelhouse} (make twin-cache fills it)")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(work / "dist"),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (work / "dist").glob("mlcc_ci-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip_env = {
        **os.environ,
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_FIND_LINKS": f"{REPO / '.twin' / 'wheels'} {REPO / '.twin' / 'stack-wheels'}",
    }
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[stack]"],
        check=True,
        env=pip_env,
        capture_output=True,
    )
    return env_dir / "bin"


def _team_repository(root: Path, bin_dir: Path, home: Path) -> Path:
    """A repository with a settings file and a catalog of three entries, two of them one
    generator configuration, and a failure rule of its own."""
    repo = root / "team"
    repo.mkdir()
    env = _env(home, bin_dir)
    subprocess.run(
        [str(bin_dir / "mlcc-ci"), "catalog", "init", "ci"],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )
    catalog = repo / "ci"
    for path in catalog.glob("*.yaml"):
        if not path.name.startswith("_") and path.stem not in TEAM_ENTRIES:
            path.unlink()
    entry = yaml.safe_load((catalog / "transformers-vllm.yaml").read_text())
    entry.update(
        name="qwen-vllm-small",
        generatorName="transformers-vllm",
        modelName="Qwen/Qwen2.5-0.5B-Instruct",
        instanceType="ml.g5.xlarge",
    )
    (catalog / "qwen-vllm-small.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
    (catalog / "_failures.yaml").write_text(
        "rules:\n"
        "  - name: team-registry-down\n"
        "    class: infra\n"
        "    stages: [build]\n"
        "    pattern: '(registry\\.team\\.example) is unreachable'\n"
        "    retry: {count: 1, backoffSeconds: 60}\n"
        "    hint: 'the team registry is down: ask the platform team'\n"
    )
    (repo / "mlcc-ci.toml").write_text('catalog = "ci"\nprofile = "static"\n')
    return repo


def _asset(out: Path, location: object) -> Path:
    assets = json.loads((out / f"{STACK}.assets.json").read_text())
    text = json.dumps(location)
    (path,) = (out / f["source"]["path"] for key, f in assets["files"].items() if key in text)
    return path


def _resources(template: dict, kind: str) -> list[dict]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


@pytest.mark.slow
@pytest.mark.cdk
def test_a_team_repository_synthesizes_a_stack_that_runs_its_catalog(team_venv, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    repo = _team_repository(tmp_path, team_venv, home)
    synth = subprocess.run(
        [str(team_venv / "mlcc-ci"), "stack", "synth", "--region", "eu-west-1"],
        cwd=repo,
        env=_env(home, team_venv),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert synth.returncode == 0, synth.stderr[-3000:]
    out = repo / ".mlcc-ci" / "cdk.out"
    assert synth.stdout.startswith(f"{STACK}: 3 configurations from {repo / 'ci'}")
    assert (repo / ".mlcc-ci" / ".gitignore").read_text().splitlines()[-1] == "*"
    template = json.loads((out / f"{STACK}.template.json").read_text())

    # the executor's source: the team's catalog, byte for byte, and a settings file naming it
    (executor,) = (
        p
        for p in _resources(template, "AWS::CodeBuild::Project")
        if p["Name"] == "mlcc-ci-executor"
    )
    source = _asset(out, executor["Source"]["Location"])
    shipped = sorted(p.name for p in (repo / "ci").iterdir() if not p.name.startswith("."))
    assert sorted(p.name for p in (source / "catalog").iterdir()) == shipped
    for name in shipped:
        assert (source / "catalog" / name).read_bytes() == (repo / "ci" / name).read_bytes()
    assert (source / "mlcc-ci.toml").read_text().splitlines()[-1] == 'catalog = "catalog"'
    # ... which the executor's mlcc-ci, run in that folder, reads (the team's profile is
    # not the executor's: only the catalog is carried)
    listed = subprocess.run(
        [str(team_venv / "mlcc-ci"), "catalog", "list", "--json"],
        cwd=source,
        env=_env(home, team_venv),
        capture_output=True,
        text=True,
        check=True,
    )
    assert {e["name"] for e in json.loads(listed.stdout)} == TEAM_ENTRIES
    assert "profile" not in (source / "mlcc-ci.toml").read_text()

    # the scanner registers the team's entries; the recorder classifies by the team's rules
    (scanner,) = (
        p
        for p in _resources(template, "AWS::Lambda::Function")
        if p.get("FunctionName") == "mlcc-ci-scanner"
    )
    code = _asset(out, scanner["Code"])
    registrations = json.loads(
        (code / "mlcc_ci" / "_data" / "catalog-registrations.json").read_text()
    )
    assert {r["deploymentConfig"] for r in registrations.values()} == TEAM_ENTRIES
    # ... each deploying to the stack's region, as `register --region eu-west-1` registers it
    assert {json.loads(r["configJson"])["awsRegion"] for r in registrations.values()} == {
        "eu-west-1"
    }
    packed = code / "mlcc_ci" / "_data" / "catalog" / "_team_failures.yaml"
    assert "team-registry-down" in packed.read_text()
    # one nested build project per team entry, none for the shipped catalog's others
    nested = [p["Name"] for p in _resources(template, "AWS::CodeBuild::Project")]
    assert not [n for n in nested if "triton" in n], nested


@pytest.mark.slow
@pytest.mark.cdk
def test_deploy_hands_the_assembly_to_the_cdk_cli(team_venv, tmp_path, moto_server):
    """The real CDK CLI reads the assembly `stack synth` wrote and asks the account (a moto
    server on 127.0.0.1) whether it is bootstrapped: a fresh one is not, and the command
    fails with the CLI's own words and its exit code."""
    home = tmp_path / "home"
    home.mkdir()
    repo = _team_repository(tmp_path, team_venv, home)
    cdk = REPO / "cdk" / "node_modules" / ".bin" / "cdk"
    assert cdk.exists(), "run `make cdk-cli` (part of `make test`) to install the CDK CLI"
    env = _env(
        home,
        team_venv,
        MLCC_CI_CDK=str(cdk),
        AWS_ENDPOINT_URL=moto_server,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        NODE_OPTIONS=NODE_GUARD,
    )
    deploy = subprocess.run(
        [
            str(team_venv / "mlcc-ci"),
            "stack",
            "deploy",
            "--region",
            "eu-west-1",
            "--",
            "--require-approval",
            "never",
        ],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert deploy.returncode != 0
    said = deploy.stdout + deploy.stderr
    assert f"running: {cdk} deploy --app {repo / '.mlcc-ci' / 'cdk.out'} {STACK}" in said
    assert "/cdk-bootstrap/hnb659fds/version not found in aws://123456789012/eu-west-1" in said


@pytest.mark.cdk
def test_a_stack_in_a_region_the_catalog_does_not_allow_is_refused(tmp_path):
    """The catalog's rules.regions say where its configurations may deploy: a stack
    elsewhere is refused in one line, before anything is written."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlcc_ci",
            "stack",
            "synth",
            "--region",
            "sa-east-1",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PYTHON_GUARD)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == (  # one line, nothing said of a synth that never starts
        "Error: the stack's region sa-east-1: not one of the catalog's rules.regions "
        "(us-east-1, us-east-2, us-west-2, eu-west-1, eu-central-1, ap-northeast-1): add it "
        "there to deploy in it\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.cdk
def test_without_the_stack_extra_synth_says_what_to_install(tmp_path):
    """A plain install (no aws_cdk importable) is told the extra, in one line."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "aws_cdk.py").write_text("raise ImportError('no', name='aws_cdk')\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlcc_ci",
            "stack",
            "synth",
            "--region",
            "us-east-1",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{PYTHON_GUARD}"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: the stack needs the CDK libraries, which a plain install leaves out: "
        "pip install 'mlcc-ci[stack]' (or pipx inject mlcc-ci 'mlcc-ci[stack]')"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.cdk
def test_deploy_installs_the_pinned_cdk_cli_from_the_shipped_lock(tmp_path):
    """On first use `stack deploy` installs the CDK CLI by `npm ci` from the lock mlcc-ci
    ships, into the user's data folder (offline here, from the npm cache `make cdk-cli`
    filled with the same version: the checkout's own CDK CLI is the pinned one)."""
    from mlcc_ci import stackbuild

    pinned = json.loads((stackbuild.CLI_LOCK_DIR / "package.json").read_text())
    version = pinned["dependencies"]["aws-cdk"]
    checkout = json.loads((REPO / "cdk" / "node_modules" / "aws-cdk" / "package.json").read_text())
    assert checkout["version"] == version
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "npm_config_cache": str(REPO / ".twin" / "npm-cache"),
        "npm_config_offline": "true",
        "NODE_OPTIONS": NODE_GUARD,
    }
    (cdk,) = stackbuild.cdk_command(env)
    assert cdk == str(
        tmp_path / "xdg" / "mlcc-ci" / "cdk-cli" / version / "node_modules" / ".bin" / "cdk"
    )
    shown = subprocess.run([cdk, "--version"], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.startswith(version)
    assert stackbuild.cdk_command(env) == [cdk]  # installed once
