"""Stage the code the stack deploys, offline, from this checkout.

The Lambdas get the mlcc_ci package, its schemas, the catalog's registrations (the scanner
reads no catalog YAML), the catalog's failure rules (the recorder classifies by them), and
their dependencies installed for the Lambda platform (manylinux x86_64, the runtime's
Python), never copied from the machine running the synth: `make
lambda-wheels` downloads the wheels once, and the synth installs from them without a
network. The executor gets the package source to `pip install`, and the lock of what that
install needs (`make lock`), which its buildspec installs first, by hash.
"""

import shutil
import subprocess
import sys
from importlib import util
from pathlib import Path

from mlcc_ci.aws.scanner import REGISTRATIONS_FILE, write_catalog
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.failures import RULES_FILE

CDK_DIR = Path(__file__).resolve().parent.parent
BUILD_DIR = CDK_DIR / "build"
WHEELS_DIR = BUILD_DIR / "wheels"
REQUIREMENTS = CDK_DIR / "lambda-requirements.txt"
EXECUTOR_LOCK = CDK_DIR / "executor-requirements.txt"
LAMBDA_PYTHON = "3.12"  # the scanner's runtime: supported by Lambda into 2028
LAMBDA_PLATFORM = "manylinux2014_x86_64"
SOURCE_PARTS = (
    "pyproject.toml",
    "README.md",
    "mlcc_ci",
    "catalog",
    "schema",
    "reports",
    "examples",
)
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "_data")


def _package_dir() -> Path:
    spec = util.find_spec("mlcc_ci")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mlcc_ci is not importable: pip install -e . first")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _data_dir(package: Path, name: str) -> Path:
    installed = package / "_data" / name
    return installed if installed.is_dir() else package.parent / name


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def install_dependencies(out: Path, python_version: str = LAMBDA_PYTHON) -> None:
    """The Lambda's dependencies, for its platform and Python, from the downloaded wheels."""
    wheels = WHEELS_DIR / f"py{python_version}"
    if not wheels.is_dir():
        raise RuntimeError(f"no Lambda wheels in {wheels}: run `make lambda-wheels` first")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(wheels),
            "--target",
            str(out),
            "--no-compile",
            "--only-binary=:all:",
            "--platform",
            LAMBDA_PLATFORM,
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "-r",
            str(REQUIREMENTS),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"installing the Lambda dependencies failed: {result.stderr[-500:]}")
    for info in out.glob("*.dist-info"):
        shutil.rmtree(info)


def scanner_asset(out: Path | None = None, python_version: str = LAMBDA_PYTHON) -> Path:
    out = _fresh(out or BUILD_DIR / "scanner")
    package = _package_dir()
    shutil.copytree(package, out / "mlcc_ci", ignore=_SKIP)
    shutil.copytree(_data_dir(package, "schema"), out / "mlcc_ci" / "_data" / "schema")
    # the catalog the stack is synthesized from, as the scanner compares records with it
    write_catalog(load_valid_catalog(), out / "mlcc_ci" / "_data" / REGISTRATIONS_FILE)
    # the failure rules, as the recorder classifies a build that died (with PyYAML)
    rules = out / "mlcc_ci" / "_data" / "catalog" / RULES_FILE
    rules.parent.mkdir()
    shutil.copy2(_data_dir(package, "catalog") / RULES_FILE, rules)
    install_dependencies(out, python_version)
    return out


def source_asset() -> Path:
    out = _fresh(BUILD_DIR / "source")
    root = _package_dir().parent
    for part in SOURCE_PARTS:
        path = root / part
        if path.is_dir():
            shutil.copytree(path, out / part, ignore=_SKIP)
        elif path.is_file():
            shutil.copy2(path, out / part)
    shutil.copy2(EXECUTOR_LOCK, out / EXECUTOR_LOCK.name)
    return out
