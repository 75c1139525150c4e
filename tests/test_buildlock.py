"""What the executor's build installs is pinned by hash (issue 29): the Python lock pins
every runtime requirement of pyproject.toml (and the build backend) with sha256 hashes, the
synthesized buildspec installs from it in hash-checking mode and nothing unpinned after
it, the generator is installed from npm's package-lock for the catalog's pin without
install scripts, and the runtime-versions are ones CodeBuild's image lists. Offline: the
locks are read, npm is a stand-in, and the stack is synthesized without a network."""

import json
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlcc_ci import __version__, constants, generator
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.generator_npm import LOCKS_DIR, MANIFEST_NAME, lock_path, manifest
from tests.conftest import REPO
from tests.twin.buildrules import RUNTIMES, runtime_problem

CDK = REPO / "cdk"
LOCK = REPO / "mlcc_ci" / "stack" / "executor-requirements.txt"
PIN = generator.pin_of(load_valid_catalog().defaults)
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _locked(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) for each requirement of a pip-compile lock; anything but
    `name==version` followed by --hash options fails here."""
    lines = re.sub(r"\\\n", " ", text).splitlines()
    found: dict[str, tuple[str, list[str]]] = {}
    for line in lines:
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        name, equals, version = words[0].partition("==")
        assert equals and re.fullmatch(r"[A-Za-z0-9._-]+", name), line
        hashes = words[1:]
        assert hashes and all(HASH.match(h) for h in hashes), line
        found[canonicalize_name(name)] = (version, hashes)
    return found


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


@pytest.mark.unit
def test_the_lock_pins_every_runtime_requirement_at_a_version_it_allows_with_hashes():
    locked = _locked(LOCK.read_text())
    project = _pyproject()
    # the runtime dependencies, and the backend `pip install --no-build-isolation .` uses
    wanted = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for spec in map(Requirement, wanted):
        name = canonicalize_name(spec.name)
        assert name in locked, f"{spec} is not in {LOCK.name}: make lock"
        version, _ = locked[name]
        assert spec.specifier.contains(version, prereleases=True), f"{name}=={version} ∉ {spec}"
    # what the dev extras alone need stays out of the executor
    assert not {"pytest", "moto", "ruff", "aws-cdk-lib", "pip-tools"} & set(locked)


@pytest.mark.unit
def test_every_locked_requirement_carries_hashes_and_nothing_else():
    text = LOCK.read_text()
    locked = _locked(text)
    assert len(locked) >= len(_pyproject()["project"]["dependencies"])
    assert sum(len(h) for _, h in locked.values()) == text.count("--hash=sha256:")
    # no index, find-links or editable line would let pip fetch outside the pins
    assert not re.search(r"^\s*-(?!-hash)", text, re.M)


@pytest.mark.unit
def test_the_locker_refuses_a_line_without_a_hash():
    with pytest.raises(AssertionError):
        _locked("boto3==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\njinja2==3.1.6\n")
    with pytest.raises(AssertionError):
        _locked("click>=8 \\\n    --hash=sha256:" + "0" * 64 + "\n")


# -- the generator's package-lock ------------------------------------------------------------


@pytest.mark.unit
def test_the_generator_lock_is_the_catalogs_pin_with_integrity_and_no_install_scripts():
    assert sorted(LOCKS_DIR.glob("*.json")) == [lock_path(PIN.package, PIN.version)]
    lock = json.loads(lock_path(PIN.package, PIN.version).read_text())
    root = lock["packages"][""]
    assert root["name"] == MANIFEST_NAME == lock["name"]
    assert root["dependencies"] == manifest(PIN.package, PIN.version)["dependencies"]
    assert lock["packages"][f"node_modules/{PIN.package}"]["version"] == PIN.version
    packages = {k: v for k, v in lock["packages"].items() if k and not v.get("link")}
    assert len(packages) > 100
    for path, entry in packages.items():
        assert entry["integrity"].startswith("sha512-"), path
        assert entry["version"], path
        # --ignore-scripts skips nothing the generator needs: nothing has a script to skip
        assert not entry.get("hasInstallScript"), path


FAKE_NPM = """#!{python}
import json, os, pathlib, sys
args = sys.argv[1:]
pathlib.Path(os.environ["FAKE_NPM_LOG"]).write_text(json.dumps({{"args": args, "cwd": os.getcwd()}}))
if args[0] == "ci":
    lib = pathlib.Path(args[args.index("--prefix") + 1])
    wanted = json.loads((lib / "package.json").read_text())["dependencies"]
else:
    lib = pathlib.Path(args[args.index("--prefix") + 1]) / "lib"
    name, _, version = args[-1].rpartition("@")
    wanted = {{name: version}}
for name, version in wanted.items():
    root = lib / "node_modules" / name
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "cli.js").write_text("#!/bin/sh\\necho " + version + "\\n")
    data = {{"name": name, "version": version, "bin": {{"ml-container-creator": "./bin/cli.js"}}}}
    (root / "package.json").write_text(json.dumps(data))
    if args[0] != "ci":
        (lib.parent / "bin").mkdir()
        (lib.parent / "bin" / "ml-container-creator").symlink_to(root / "bin" / "cli.js")
"""


@pytest.fixture
def fake_npm(tmp_path):
    bin_dir = tmp_path / "npm-bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable))
    npm.chmod(0o755)
    log = tmp_path / "npm-call.json"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "FAKE_NPM_LOG": str(log),
        generator.HOME_ENV: str(tmp_path / "home"),
    }
    return env, lambda: json.loads(log.read_text())


@pytest.mark.functional
def test_generator_install_runs_npm_ci_from_the_pins_lock_without_scripts(fake_npm):
    env, call = fake_npm
    installed = generator.install(PIN, env)
    base = generator.prefix(PIN, env)
    lib = base / "lib"
    said = call()
    assert said["args"] == [
        "ci",
        "--prefix",
        str(lib),
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]
    assert Path(said["cwd"]) == lib
    assert json.loads((lib / "package.json").read_text()) == manifest(PIN.package, PIN.version)
    shipped = lock_path(PIN.package, PIN.version).read_bytes()
    assert (lib / "package-lock.json").read_bytes() == shipped
    # where a global install puts it: do/deploy finds it under `npm root -g`
    assert installed.root == lib / "node_modules" / PIN.package
    assert installed.command == base / "bin" / PIN.command and installed.version == PIN.version
    assert installed.command.resolve() == installed.root / "bin" / "cli.js"
    assert os.access(installed.command, os.X_OK)
    assert installed.stage_env(env)["NPM_CONFIG_PREFIX"] == str(base)
    assert generator.problem_with(PIN, {**env, "PATH": ""}) is None


@pytest.mark.functional
def test_a_pin_without_a_shipped_lock_is_installed_alone_without_scripts(fake_npm):
    env, call = fake_npm
    other = generator.Pin(PIN.package, "9.9.9", PIN.command)
    assert not lock_path(other.package, other.version).exists()
    installed = generator.install(other, env)
    base = generator.prefix(other, env)
    assert call()["args"] == [
        "install",
        "-g",
        "--prefix",
        str(base),
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        other.spec,
    ]
    assert installed.version == "9.9.9" and installed.prefix == base


# -- the synthesized executor ------------------------------------------------------------------


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    """The executor project of a synthesized stack (no cdk-nag: only what is installed is
    read here), and the folder of its source asset."""
    from mlcc_ci.stack.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    build_app(str(outdir), nag=False, region="us-east-1").synth()
    template = json.loads((outdir / f"{constants.STACK_NAME}.template.json").read_text())
    (props,) = (
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CodeBuild::Project"
        and r["Properties"]["Name"] == constants.EXECUTOR_PROJECT
    )
    assets = json.loads((outdir / f"{constants.STACK_NAME}.assets.json").read_text())
    location = json.dumps(props["Source"]["Location"])
    (source,) = (
        outdir / f["source"]["path"] for key, f in assets["files"].items() if key in location
    )
    return props, source


@pytest.mark.cdk
def test_the_executor_installs_python_packages_only_by_hash(executor):
    props, source = executor
    install = json.loads(props["Source"]["BuildSpec"])["phases"]["install"]
    commands = install["commands"]
    pips = [c for c in commands if "pip install" in c]
    assert len(pips) == 2, commands
    locked, own = pips
    assert commands.index(locked) < commands.index(own)
    for flag in ("--require-hashes", "--only-binary=:all:", "--no-deps", f"-r {LOCK.name}"):
        assert flag in locked, (flag, locked)
    # mlcc-ci itself, alone, built by the backend the lock installed
    assert own.split()[-3:] == ["--no-deps", "--no-build-isolation", "."]
    # the lock the buildspec names is in the source asset, as it is here
    assert (source / LOCK.name).read_bytes() == LOCK.read_bytes()
    # what it builds mlcc-ci by says what this checkout's says: backend, requirements, command
    shipped = tomllib.loads((source / "pyproject.toml").read_text())
    ours = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert shipped["build-system"] == ours["build-system"]
    assert sorted(shipped["project"]["dependencies"]) == sorted(ours["project"]["dependencies"])
    assert shipped["project"]["scripts"] == ours["project"]["scripts"]
    assert shipped["project"]["version"] == __version__
    assert "mlcc-ci generator install" in commands  # npm ci from the pin's lock
    assert not [c for c in commands if re.search(r"\bnpm (install|i|ci)\b", c)]


@pytest.mark.cdk
def test_the_executors_runtime_versions_are_in_its_images_documented_list(executor):
    from mlcc_ci.stack.buildspec import EXECUTOR_PYTHON, GENERATOR_NODE_MAJOR

    props, _ = executor
    image = props["Environment"]["Image"]
    spec = json.loads(props["Source"]["BuildSpec"])
    asked = spec["phases"]["install"]["runtime-versions"]
    assert asked == {"python": EXECUTOR_PYTHON, "nodejs": GENERATOR_NODE_MAJOR}
    assert image in RUNTIMES and runtime_problem(image, spec) is None
    # and the Python the lock was checked complete for (make lock) is the one asked for
    assert LOCK.read_text().splitlines()[0].startswith(f"# executor python: {EXECUTOR_PYTHON} ")
