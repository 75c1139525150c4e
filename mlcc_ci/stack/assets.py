"""Stage the code the stack deploys, offline, from the installed package and the catalog in use.

The Lambdas get the mlcc_ci package, its schemas, the catalog's registrations (the scanner
reads no catalog YAML), the catalog's failure rules (the recorder classifies by them), and
their dependencies installed for the Lambda platform (manylinux x86_64, the runtime's
Python), never copied from the machine running the synth: the wheels are downloaded once
(`make lambda-wheels` in a checkout, else into the user's cache on first synth) and the
synth installs from them without a network. The executor gets the package as installed
(with its data), a pyproject to `pip install` it by, the catalog in use with its own rules,
and the lock of what that install needs (`make lock`), which its buildspec installs first,
by hash. So a team's repository synthesizes a stack that runs the team's catalog, from a
wheel install of mlcc-ci, with no clone of it.
"""

import atexit
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata, util
from pathlib import Path

from mlcc_ci.aws.scanner import REGISTRATIONS_FILE, write_catalog
from mlcc_ci.catalog import Catalog, load_valid_catalog
from mlcc_ci.errors import UsageError
from mlcc_ci.failures import PACKED_TEAM_RULES, RULES_FILE, rule_files
from mlcc_ci.registration import in_region
from mlcc_ci.resources import catalog_dir, data_path
from mlcc_ci.settings import FILE_NAME

STACK_DIR = Path(__file__).resolve().parent
REQUIREMENTS = STACK_DIR / "lambda-requirements.txt"
EXECUTOR_LOCK = STACK_DIR / "executor-requirements.txt"
WHEELS_ENV = "MLCC_CI_LAMBDA_WHEELS"
LAMBDA_PYTHON = "3.12"  # the scanner's runtime: supported by Lambda into 2028
LAMBDA_PLATFORM = "manylinux2014_x86_64"
DATA_PARTS = ("catalog", "schema", "reports", "examples")
# The executor's checkout of the catalog in use, and the settings file that names it
ASSET_CATALOG = "catalog"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "_data", "stack")


def _package_dir() -> Path:
    spec = util.find_spec("mlcc_ci")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("mlcc_ci is not importable: pip install -e . first")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _staging() -> Path:
    """A folder for this synth's assets; CDK copies each into the cloud assembly."""
    path = Path(tempfile.mkdtemp(prefix="mlcc-ci-stack-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def wheels_dir() -> Path:
    """Where the Lambda's wheels are (a folder per Python, `py3.12`): MLCC_CI_LAMBDA_WHEELS,
    else a checkout's `cdk/build/wheels` (`make lambda-wheels`), else the user's cache."""
    if given := os.environ.get(WHEELS_ENV):
        return Path(given).expanduser().resolve()
    checkout = _package_dir().parent / "cdk" / "build" / "wheels"
    if checkout.is_dir():
        return checkout
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mlcc-ci" / "lambda-wheels"


def _platform_args(python_version: str) -> list[str]:
    return [
        "--only-binary=:all:",
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "-r",
        str(REQUIREMENTS),
    ]


def download_wheels(python_version: str = LAMBDA_PYTHON) -> Path:
    """The Lambda's wheels for `python_version`, downloaded once per requirements file (from
    the package index): a cache filled for an older mlcc-ci, whose requirements differ, is
    filled again. A folder of wheels without the marker is someone's own: taken as it is."""
    wheels = wheels_dir() / f"py{python_version}"
    marker = wheels / ".downloaded"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if marker.is_file():
        if marker.read_text(errors="replace").strip() == wanted:
            return wheels
    elif wheels.is_dir() and any(wheels.glob("*.whl")):
        return wheels
    print(f"downloading the Lambda's dependencies into {wheels}", file=sys.stderr)
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "-d", str(wheels)]
    result = subprocess.run(
        [*pip, *_platform_args(python_version)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"downloading the Lambda's dependencies failed (set {WHEELS_ENV} to a folder "
            f"holding py{python_version}/ wheels to synthesize offline): "
            f"{result.stderr.strip()[-300:]}"
        )
    marker.write_text(wanted + "\n")
    return wheels


def install_dependencies(out: Path, python_version: str = LAMBDA_PYTHON) -> None:
    """The Lambda's dependencies, for its platform and Python, from the downloaded wheels."""
    wheels = download_wheels(python_version)
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
            *_platform_args(python_version),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"installing the Lambda dependencies failed: {result.stderr[-500:]}")
    for info in out.glob("*.dist-info"):
        shutil.rmtree(info)


def stack_catalog(region: str | None) -> Catalog:
    """The catalog in use, as a stack in `region` runs it: each entry deploying there (the
    catalog's region is where a laptop deploys; a stack deploys to its own)."""
    catalog = load_valid_catalog()
    if region is None or all(e.data["region"] == region for e in catalog.entries):
        return catalog
    try:
        return in_region(catalog, region)
    except UsageError as exc:
        raise RuntimeError(f"the stack's region {exc}: add it there to deploy in it") from None


def scanner_asset(
    out: Path | None = None, python_version: str = LAMBDA_PYTHON, region: str | None = None
) -> Path:
    out = _fresh(out or _staging() / "scanner")
    shutil.copytree(_package_dir(), out / "mlcc_ci", ignore=_SKIP)
    shutil.copytree(data_path("schema"), out / "mlcc_ci" / "_data" / "schema")
    # the catalog the stack is synthesized from, in the stack's region, as the scanner
    # compares records with it
    write_catalog(stack_catalog(region), out / "mlcc_ci" / "_data" / REGISTRATIONS_FILE)
    # the failure rules, as the recorder classifies a build that died (with PyYAML): the
    # team catalog's own, then the shipped ones
    rules = out / "mlcc_ci" / "_data" / "catalog" / RULES_FILE
    rules.parent.mkdir()
    files = rule_files()
    shutil.copy2(files[-1], rules)
    if len(files) > 1:
        shutil.copy2(files[0], rules.parent / PACKED_TEAM_RULES)
    install_dependencies(out, python_version)
    return out


def _pyproject() -> str:
    """What `pip install .` builds the executor's mlcc-ci from: this install's own metadata
    (a checkout's pyproject.toml adds the data from beside the package; here it is inside)."""
    meta = metadata.metadata("mlcc-ci")
    requires = [
        r for r in metadata.requires("mlcc-ci") or [] if "extra ==" not in r.replace("'", '"')
    ]
    listed = "".join(f"    {r!r},\n".replace("'", '"') for r in requires)
    return (
        '[build-system]\nrequires = ["hatchling>=1.18"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "mlcc-ci"\nversion = "{meta["Version"]}"\n'
        f'requires-python = "{meta["Requires-Python"] or ">=3.11"}"\n'
        f"dependencies = [\n{listed}]\n\n"
        '[project.scripts]\nmlcc-ci = "mlcc_ci.cli.main:main"\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["mlcc_ci"]\n'
    )


def source_asset(out: Path | None = None) -> Path:
    """The executor's source: mlcc_ci with its data, the catalog in use as `catalog/` and a
    settings file naming it, the lock. The executor runs in this folder."""
    out = _fresh(out or _staging() / "source")
    shutil.copytree(_package_dir(), out / "mlcc_ci", ignore=_SKIP)
    for part in DATA_PARTS:
        shutil.copytree(data_path(part), out / "mlcc_ci" / "_data" / part, ignore=_SKIP)
    (out / "pyproject.toml").write_text(_pyproject())
    shutil.copytree(
        catalog_dir(), out / ASSET_CATALOG, ignore=shutil.ignore_patterns(".*", "__pycache__")
    )
    (out / FILE_NAME).write_text(
        "# The catalog this stack was synthesized with (mlcc-ci stack synth)\n"
        f'catalog = "{ASSET_CATALOG}"\n'
    )
    shutil.copy2(EXECUTOR_LOCK, out / EXECUTOR_LOCK.name)
    return out
