"""npm at work for `mlcc-ci generator install`: the pinned generator from the package-lock
this package ships for the pin (`npm ci`: every package at the version and sha512
integrity the lock records), or, for a pin no lock is shipped for (a catalog of one's own),
by `npm install -g` of the pin alone. Never with install scripts (--ignore-scripts): the
generator and its dependencies have none (the lock says so, a test reads it), and a
dependency that gained one would not run it in a build.

Either way the generator lands where a global install puts it: PREFIX/lib/node_modules/
<package>, its commands in PREFIX/bin, which is where a generated project's do-scripts look
for it (`npm root -g` under NPM_CONFIG_PREFIX). The version stays the catalog's: the lock
is chosen by it, and `npm ci` refuses a lock that does not match the manifest made from it.
"""

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

LOCKS_DIR = Path(__file__).resolve().parent / "generator_locks"
MANIFEST_NAME = "mlcc-ci-generator"
FLAGS = ("--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error")


def slug(package: str, version: str) -> str:
    return f"{package.lstrip('@').replace('/', '-')}-{version}"


def lock_path(package: str, version: str) -> Path:
    """Where the package-lock for this pin is shipped (`make lock` writes it)."""
    return LOCKS_DIR / f"{slug(package, version)}.json"


def manifest(package: str, version: str) -> dict[str, object]:
    """The package.json the lock belongs to: the pin as its only dependency."""
    return {"name": MANIFEST_NAME, "private": True, "dependencies": {package: version}}


def _link_commands(prefix: Path, root: Path) -> None:
    """PREFIX/bin/<command> for each command the package declares, as a global install
    links them (relative links into lib/node_modules)."""
    if not (root / "package.json").is_file():
        return  # not installed after all: the caller finds nothing and says so
    data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    bins = data.get("bin") or {}
    if isinstance(bins, str):
        bins = {str(data["name"]).rsplit("/", 1)[-1]: bins}
    bin_dir = prefix / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, target in bins.items():
        script = (root / target).resolve()
        script.chmod(script.stat().st_mode | 0o111)
        link = bin_dir / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(script, bin_dir))


def npm_install(
    npm: str, prefix: Path, package: str, version: str, env: Mapping[str, str]
) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Install package@version under `prefix`; (what was run, for messages; its result)."""
    run_env = {**env, "npm_config_update_notifier": "false"}
    lock = lock_path(package, version)
    if not lock.is_file():
        command = [npm, "install", "-g", "--prefix", str(prefix), *FLAGS, f"{package}@{version}"]
        result = subprocess.run(command, env=run_env, capture_output=True, text=True, check=False)
        return f"npm install {package}@{version}", result
    lib = prefix / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "package.json").write_text(json.dumps(manifest(package, version), indent=2) + "\n")
    shutil.copyfile(lock, lib / "package-lock.json")
    command = [npm, "ci", "--prefix", str(lib), *FLAGS]
    result = subprocess.run(
        command, cwd=lib, env=run_env, capture_output=True, text=True, check=False
    )
    if result.returncode == 0:
        _link_commands(prefix, lib / "node_modules" / package)
    return f"npm ci of {package}@{version} from {lock.name}", result


def linked_prefix(root: Path, package: str, under: Path) -> Path:
    """An npm global prefix under `under` whose `npm root -g` holds a link to the package
    at `root`: for a generator installed where no global prefix holds it (a project's
    node_modules, found on PATH through node_modules/.bin), which a generated project's
    do/validate would otherwise not find (it looks under `npm root -g`, then stops)."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    prefix = under / f"{slug(package, 'linked')}-{digest}"
    link = prefix / "lib" / "node_modules" / package
    if link.resolve() != root.resolve():
        link.parent.mkdir(parents=True, exist_ok=True)
        # beside it, then renamed over it: a concurrent run never sees it missing
        temporary = link.with_name(f".{link.name}-{os.getpid()}-{digest}")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(root.resolve(), target_is_directory=True)
        os.replace(temporary, link)
    return prefix
