"""The CLI starts light, and a plain wheel install carries everything it needs."""

import json
import os
import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PYTHON_GUARD, REPO

PROBE = (
    "import sys, runpy\n"
    "sys.argv = ['mlcc-ci', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('mlcc_ci', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "heavy = sorted(m for m in ('boto3', 'botocore', 'jinja2') if m in sys.modules)\n"
    "print('HEAVY=' + ','.join(heavy))\n"
)


@pytest.mark.functional
@pytest.mark.parametrize("args", [["--help"], ["catalog", "validate"]])
def test_fast_commands_import_neither_boto3_nor_jinja2(args):
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.splitlines()[-1] == "HEAVY="


def _changelog_version() -> str:
    """The newest released version the changelog names (`## [X.Y.Z] - date`)."""
    found = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (REPO / "CHANGELOG.md").read_text(), re.M)
    assert found, "CHANGELOG.md names no released version"
    return found.group(1)


@pytest.mark.slow
def test_dist_installs_and_validates_from_anywhere(tmp_path: Path):
    """`make dist` as a release runs it (offline here: this virtualenv's hatchling instead of
    an isolated one from PyPI), the wheel built from the sdist; the wheel carries the data and
    says the changelog's version."""
    bin_dir = Path(sys.executable).parent
    dist = tmp_path / "dist"
    as_it_is = ["-o", f"{bin_dir}/.installed", "-o", f"{bin_dir}/.core"]  # never reinstall
    subprocess.run(
        [
            "make",
            *as_it_is,
            "dist",
            f"VENV={bin_dir.parent}",
            f"DIST={dist}",
            "BUILD_FLAGS=--no-isolation",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    version = _changelog_version()
    assert sorted(p.name for p in dist.iterdir()) == [
        f"mlcc_ci-{version}-py3-none-any.whl",
        f"mlcc_ci-{version}.tar.gz",
    ]
    wheel = dist / f"mlcc_ci-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        packed = set(archive.namelist())
    for folder in ("catalog", "schema", "reports", "examples"):
        shipped = {
            f"mlcc_ci/_data/{f.relative_to(REPO).as_posix()}"
            for f in (REPO / folder).rglob("*")
            if f.is_file() and "__pycache__" not in f.parts
        }
        assert shipped and shipped <= packed, sorted(shipped - packed)
    with tarfile.open(dist / f"mlcc_ci-{version}.tar.gz") as sdist:
        assert f"mlcc_ci-{version}/CHANGELOG.md" in sdist.getnames()

    # Installed offline with its dependencies, from the local wheelhouse `make twin-cache`
    # fills (never the package index); the loopback guard stays the only PYTHONPATH entry.
    wheelhouse = REPO / ".twin" / "wheels"
    if not (wheelhouse / ".downloaded").is_file():
        pytest.fail(f"no wheelhouse at {wheelhouse} (make twin-cache fills it)")
    env = {**os.environ, "PYTHONPATH": str(PYTHON_GUARD), "PIP_NO_INDEX": "1"}
    env["PIP_CONFIG_FILE"] = os.devnull  # this machine's pip.conf (its indexes) is not read
    env["PIP_FIND_LINKS"] = str(wheelhouse)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "--quiet", str(wheel)], check=True, env=env)
    subprocess.run([*pip, "check"], check=True, capture_output=True, env=env)
    installed = subprocess.run(
        [*pip, "list", "--format=freeze"], capture_output=True, text=True, check=True, env=env
    ).stdout
    for dependency in ("boto3", "pyyaml", "jsonschema", "click", "tabulate", "jinja2"):
        assert re.search(rf"^{dependency}==", installed, re.M | re.I), installed
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(env_dir / "bin" / "mlcc-ci"), "catalog", "validate"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("catalog valid: 19 entries\n")
    # pip byte-compiled the example template too; the whole example matrix still passes
    assert list((env_dir / "lib").glob("python*/site-packages/mlcc_ci/_data/examples/**/*.pyc"))
    matrix = subprocess.run(
        [
            str(env_dir / "bin" / "mlcc-ci"),
            "run",
            "--all",
            "--profile",
            "example",
            "--jobs",
            "4",
            "--work-dir",
            str(tmp_path / "work"),
            "--store",
            f"sqlite:///{tmp_path}/r.db",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert matrix.returncode == 0, matrix.stdout[-2000:] + matrix.stderr[-2000:]
    assert matrix.stdout.splitlines()[-1].startswith("15 passed, 0 failed")
    # its confidence published with the packaged templates, assets and schema
    published = subprocess.run(
        [
            str(env_dir / "bin" / "mlcc-ci"),
            "publish",
            "--output",
            str(tmp_path / "site"),
            "--store",
            f"sqlite:///{tmp_path}/r.db",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith(f"published 19 configurations to {tmp_path / 'site'}")
    levels = json.loads((tmp_path / "site" / "confidence.json").read_text())["levels"]
    assert levels == {"battle-tested": 0, "passing": 0, "new": 15, "failing": 0, "unknown": 4}
    assert (tmp_path / "site" / "confidence.schema.json").read_bytes() == (
        REPO / "schema" / "confidence.schema.json"
    ).read_bytes()
    # the data came from the installed package, not from this checkout
    where = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-c",
            "from mlcc_ci.resources import catalog_dir; print(catalog_dir())",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(env_dir)) and where.endswith("mlcc_ci/_data/catalog")
    shown = subprocess.run(
        [str(env_dir / "bin" / "mlcc-ci"), "--version"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        check=True,
    ).stdout
    assert shown == f"mlcc-ci, version {version}\n"
