"""The simulated aws/codebuild/standard image a build runs in: its tools under `bin/` (the
PyPI AWS CLI, the stand-in `docker`, and, at the account's pace, `sleep`), the AWS CLI's
waiters at that pace, its Python (one virtual environment copied into each build), and what
is discarded when a build's container goes."""

import atexit
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import venv
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PYTHON_GUARD

IMAGE_DIR = Path(__file__).resolve().parent / "image"


# `sleep N` (N plain seconds) sleeps N/speed; anything else is passed to sleep as it is.
_SLEEP = """#!/bin/sh
case "$#:$1" in
  1:*[!0-9.]*|1:) exec {sleep} "$@" ;;
  1:*) exec {sleep} "$(awk -v n="$1" 'BEGIN {{ printf "%.3f", n / {speed} }}')" ;;
esac
exec {sleep} "$@"
"""


def _scaled_waiters(root: Path, speed: float) -> None:
    """botocore's waiters, each `delay` divided by `speed` and `maxAttempts` multiplied by
    it (the same patience), where botocore's loader looks first (AWS_DATA_PATH)."""
    import botocore

    data = Path(botocore.__file__).parent / "data"
    for source in data.glob("*/*/waiters-2.json"):
        doc = json.loads(source.read_text())
        for waiter in doc.get("waiters", {}).values():
            waiter["delay"] = max(waiter.get("delay", 15) / speed, 0.05)
            waiter["maxAttempts"] = int(waiter.get("maxAttempts", 40) * speed)
        target = root / source.relative_to(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc))


_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: list[Path] = []  # the image's Python, made once per test process


def _template() -> Path:
    """The virtual environment every build's Python is copied from: the same for every
    image (it holds only this machine's Python and pip), removed when the process ends."""
    with _TEMPLATE_LOCK:
        if not _TEMPLATE:
            root = Path(tempfile.mkdtemp(prefix="mlcc-ci-twin-python-"))
            atexit.register(shutil.rmtree, root, True)
            venv.create(root / "python", with_pip=True, symlinks=True)
            _TEMPLATE.append(root / "python")
        return _TEMPLATE[0]


# What a finished build's container held that nobody reads afterwards (CodeBuild discards
# the container): removed as each build ends, unless MLCC_TWIN_KEEP asks to keep it all.
_DISCARDED = ("image-python", "home", "src", "tmp", "docker")


def discard(work: Path) -> None:
    """Free a finished build's disk as its container would be, keeping its log and each
    run's stage logs (mlcc-ci-work/*/logs)."""
    if os.environ.get("MLCC_TWIN_KEEP"):
        return
    for name in _DISCARDED:
        shutil.rmtree(work / name, ignore_errors=True)
    with contextlib.suppress(OSError):  # the mount point of this machine's /tmp: empty here
        (work / "host-tmp").rmdir()
    runs = work / "mlcc-ci-work"
    for run in runs.iterdir() if runs.is_dir() else ():
        for part in run.iterdir() if run.is_dir() else ():
            if part.name != "logs":
                shutil.rmtree(part, ignore_errors=True) if part.is_dir() else part.unlink()


@dataclass
class Image:
    """The simulated aws/codebuild/standard image: tools under `bin/`."""

    root: Path
    wheels: Path
    npm_cache: Path
    # The simulated account's time runs this many times faster than this machine's (see
    # tests/twin/clock.py), and so does the build's: its `sleep` and the AWS CLI's waiter
    # delays are divided by it, so that a script's `sleep 30` between two polls is the same
    # share of an endpoint's creation as in AWS.
    speed: float = 1.0

    def __post_init__(self) -> None:
        bin_dir = self.root / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        python = sys.executable
        scripts = {
            # AWS CLI v2 carries its own Python; here the PyPI CLI runs with its own
            # (through the build's CLI server, awsd.py: the same CLI, imported once a build)
            "aws": f'#!/bin/sh\nexec "{python}" -I -S "{IMAGE_DIR / "aws.py"}" "$@"\n',
            "docker": f'#!/bin/sh\nexec "{python}" -I "{IMAGE_DIR / "docker.py"}" "$@"\n',
        }
        if self.speed != 1.0:
            scripts["sleep"] = _SLEEP.format(speed=self.speed, sleep=shutil.which("sleep"))
            _scaled_waiters(self.root / "aws-data", self.speed)
        for name, text in scripts.items():
            path = bin_dir / name
            path.write_text(text)
            path.chmod(0o755)

    def python_for(self, target: Path) -> None:
        """The image's Python at `target`: a copy of one virtual environment made once per
        test process (making one with pip takes seconds a build need not spend), its
        scripts pointing at the copy."""
        template = _template()
        shutil.copytree(template, target, symlinks=True)
        for script in (target / "bin").iterdir():
            if script.is_symlink() or not script.is_file():
                continue
            text = script.read_bytes()
            if str(template).encode() in text:
                script.write_bytes(text.replace(str(template).encode(), str(target).encode()))

    def cli_server(self) -> str:
        """The shell command that starts a build's AWS CLI server in the background (in
        the build's mount namespace), its socket beside the build's source folder."""
        server = IMAGE_DIR / "awsd.py"
        return f'{{ "{sys.executable}" -I "{server}" "$2/../aws.sock" $$ & }} && '

    def data_path(self) -> str | None:
        """AWS_DATA_PATH for the build: the waiters at the image's speed, if it has one."""
        return str(self.root / "aws-data") if self.speed != 1.0 else None

    def under_tmp(self) -> list[Path]:
        """The top folders under /tmp that hold the image's tools (its Python, the local
        mirrors, the loopback guard), if any do: a build's private /tmp must keep them."""
        tmp = Path("/tmp").resolve()
        parts = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve()]
        parts += [self.wheels, self.npm_cache, PYTHON_GUARD, IMAGE_DIR]
        found = set()
        for part in parts:
            resolved = part.resolve()
            if resolved.is_relative_to(tmp) and resolved != tmp:
                found.add(tmp / resolved.relative_to(tmp).parts[0])
        return sorted(found)

    def path(self, python_bin: Path) -> str:
        node_dir = Path(shutil.which("node") or "/usr/bin/node").parent
        parts = [
            str(python_bin),
            str(self.root / "bin"),
            str(node_dir),
            "/usr/local/bin",
            "/usr/bin",
            "/bin",
        ]
        return os.pathsep.join(dict.fromkeys(parts))


def stop_cli_server(work: Path) -> None:
    """The build is over: its AWS CLI server goes with its container."""
    with contextlib.suppress(OSError, ValueError):
        os.kill(int((work / "aws.sock.pid").read_text()), signal.SIGKILL)
