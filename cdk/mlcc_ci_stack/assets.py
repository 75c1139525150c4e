"""Stage the code the stack deploys, offline, from this checkout and its environment.

The scanner Lambda gets the mlcc_ci package, its schemas, and the pure-Python (plus
manylinux) dependencies it needs beyond the Lambda runtime's boto3, copied from the
environment running the synth — so synthesize on Linux x86_64 with Python 3.11, as CI does.
The executor gets the package source to `pip install`.
"""

import shutil
from importlib import metadata, util
from pathlib import Path

CDK_DIR = Path(__file__).resolve().parent.parent
BUILD_DIR = CDK_DIR / "build"
LAMBDA_DEPENDENCIES = (
    "jsonschema",
    "jsonschema-specifications",
    "referencing",
    "rpds-py",
    "attrs",
)
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


def scanner_asset() -> Path:
    out = _fresh(BUILD_DIR / "scanner")
    package = _package_dir()
    shutil.copytree(package, out / "mlcc_ci", ignore=_SKIP)
    shutil.copytree(_data_dir(package, "schema"), out / "mlcc_ci" / "_data" / "schema")
    for name in LAMBDA_DEPENDENCIES:
        dist = metadata.distribution(name)
        for file in dist.files or ():
            source = Path(str(dist.locate_file(file)))
            if ".dist-info" in file.parts[0] or "__pycache__" in file.parts:
                continue
            if source.is_file() and not str(file).startswith(".."):
                target = out / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
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
    return out
