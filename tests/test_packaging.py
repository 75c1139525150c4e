"""The CLI starts light, and a plain wheel install carries everything it needs."""

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO

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


@pytest.mark.slow
def test_wheel_installs_and_validates_from_anywhere(tmp_path: Path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
    )
    wheel = next(dist.glob("mlcc_ci-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
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
