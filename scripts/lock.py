"""make lock: the locks the executor's build installs from, each regenerated from its one
source, then proven usable.

    python scripts/lock.py [--upgrade]   # --upgrade: newest versions, else keep the pins

- mlcc_ci/stack/executor-requirements.txt (`pip install --require-hashes` in the buildspec): the
  runtime dependencies of pyproject.toml and its build backend (the executor installs the
  package with --no-build-isolation), each pinned with the sha256 of every file PyPI has of
  that version (pip-compile --generate-hashes, from PyPI alone, whatever this machine's pip
  configuration says). pip-compile resolves for this machine's Python, so pip's resolver
  then checks, in hash-checking mode, that the lock is complete for the executor's Python
  (the buildspec's runtime-versions) on CodeBuild's Ubuntu x86_64 image, wheels only.
- mlcc_ci/generator_locks/<package>-<version>.json (`npm ci --ignore-scripts` by
  `mlcc-ci generator install`): npm's package-lock for the generator the catalog pins (the
  versions it locked kept unless --upgrade), then installed from it into a temporary prefix
  and asked its version.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPI = "https://pypi.org/simple"
LOCK = "mlcc_ci/stack/executor-requirements.txt"
# CodeBuild's standard:7.0 is Ubuntu 22.04 (glibc 2.35) on x86_64
PLATFORMS = ("manylinux_2_35_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64")
EXECUTOR_PYTHON_LINE = "# executor python: "


def _pip_env() -> dict[str, str]:
    """pip on PyPI alone: no configuration file, no PIP_* variable of this machine's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _executor_python() -> str:
    from mlcc_ci.stack.buildspec import EXECUTOR_PYTHON

    return EXECUTOR_PYTHON


def python_lock(upgrade: bool) -> None:
    bin_dir = Path(sys.executable).parent
    compile_args = [
        str(bin_dir / "pip-compile"),
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--strip-extras",
        "--build-deps-for=wheel",
        "--no-emit-index-url",
        "--no-emit-find-links",
        f"--index-url={PYPI}",
        f"--output-file={LOCK}",
        *(["--upgrade"] if upgrade else []),
        "pyproject.toml",
    ]
    env = {**_pip_env(), "CUSTOM_COMPILE_COMMAND": "make lock"}  # the header says so
    subprocess.run(compile_args, cwd=ROOT, env=env, check=True)
    python = _executor_python()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                *("-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed"),
                *("--target", tmp, f"--index-url={PYPI}", "--only-binary=:all:"),
                *(f"--platform={p}" for p in PLATFORMS),
                *(f"--python-version={python}", "--implementation=cp"),
                f"--abi=cp{python.replace('.', '')}",
                *("--require-hashes", "-r", LOCK),
            ],
            cwd=ROOT,
            env=_pip_env(),
            check=True,
        )
    path = ROOT / LOCK
    text = path.read_text()
    path.write_text(f"{EXECUTOR_PYTHON_LINE}{python} (checked complete by make lock)\n{text}")
    print(f"{LOCK}: complete for CPython {python} on {PLATFORMS[0]}")


def npm_lock(upgrade: bool) -> None:
    from mlcc_ci import generator
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.generator_npm import LOCKS_DIR, lock_path, manifest

    pin = generator.pin_of(load_valid_catalog().defaults)
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "lock"
        work.mkdir()
        (work / "package.json").write_text(
            json.dumps(manifest(pin.package, pin.version), indent=2) + "\n"
        )
        lock = lock_path(pin.package, pin.version)
        if lock.is_file() and not upgrade:  # npm keeps the versions it locks
            shutil.copyfile(lock, work / "package-lock.json")
        subprocess.run(
            [
                *(npm, "install", "--package-lock-only", "--ignore-scripts"),
                *("--no-audit", "--no-fund", "--loglevel=error"),
                # no registry URLs: `npm ci` takes each package from the registry npm is
                # configured with (a mirror too), and checks it against its sha512 integrity
                "--omit-lockfile-registry-resolved",
            ],
            cwd=work,
            check=True,
        )
        LOCKS_DIR.mkdir(exist_ok=True)
        shutil.copyfile(work / "package-lock.json", lock)
        # installed from the lock as a build installs it, then run
        env = {**os.environ, generator.HOME_ENV: str(Path(tmp) / "home")}
        installed = generator.install(pin, env, force=True)
        said = subprocess.run(
            [str(installed.command), "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if said != pin.version:
            sys.exit(f"{pin.spec} from its lock says it is version {said!r}")
    for old in LOCKS_DIR.glob("*.json"):
        if old != lock:
            old.unlink()  # one lock: the pin's
    print(f"{lock_path(pin.package, pin.version).relative_to(ROOT)}: {pin.spec} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="newest versions allowed")
    args = parser.parse_args()
    python_lock(args.upgrade)
    npm_lock(args.upgrade)


if __name__ == "__main__":
    main()
