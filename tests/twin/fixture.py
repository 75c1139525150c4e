"""What a twin test module needs to stand the loop up: the stack synthesized once per
process, an environment that points the CLI and boto3 at the simulated account, the
stack provisioned from its template, and the loop (scanner, orchestrator, executor builds,
sweeper) built over it.

    with fixture.account_env(twin, home):
        template, clients = fixture.deploy(twin, fixture.synthesized(), MaxConcurrency="1")
        with fixture.workspace() as work:
            the_loop = fixture.loop(twin, template, work)
            the_loop.enforce_roles()
            fixture.cli("register", "--from-catalog", "triton-fil", "--table", fixture.TABLE)
            runs = the_loop.execute_all(the_loop.scan()["executionArns"])
"""

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.twin.codebuild import CodeBuild, Image
from tests.twin.loop import Loop
from tests.twin.server import Twin
from tests.twin.template import REGION, Template

REPO = Path(__file__).resolve().parents[2]
TWIN_CACHE = REPO / ".twin"
TABLE = "mlcc-ci-table"
# a Hugging Face token an operator stored in the account, under the prefix: the harness never
# reads it (mlcc_ci/modeltoken.py), and the executor's role may not
HF_SECRET, HF_TOKEN = "mlcc-ci-hf-token", "hf_" + "TwinTokenNeverShown0123456789"
# the clients a test reads the account with (as the account's owner: no role enforced)
SERVICES = ("dynamodb", "s3", "ecr", "sns", "logs", "iam", "stepfunctions", "secretsmanager")
SERVICES_READ = (*SERVICES, "sagemaker", "codebuild")


def synth(outdir: Path) -> Path:
    """The stack's cloud assembly, as `cdk synth` writes it (without the cdk-nag checks)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from mlcc_ci.stack.app import build_app

    build_app(str(outdir), nag=False, region=REGION).synth()
    return outdir


@functools.cache
def synthesized() -> Path:
    """One synthesis per process (it takes a minute or two): every twin module shares it.
    The folder is left for the process's temporary files to be cleaned with."""
    return synth(Path(tempfile.mkdtemp(prefix="mlcc-ci-cdk-out-")))


@contextmanager
def account_env(twin: Twin, home: Path) -> Iterator[None]:
    """The CLI, boto3 and the builds it starts talk to the simulated account only, as its
    owner (a key no role is enforced on), with a home of their own."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in {
            "AWS_ENDPOINT_URL": twin.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "share"),
        }.items():
            env.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MLCC_CI_STORE", "VIRTUAL_ENV"):
            env.delenv(key, raising=False)
        yield


def clients(services: tuple[str, ...] = SERVICES_READ) -> dict[str, Any]:
    """boto3 clients as the account's owner (inside account_env)."""
    return {s: boto3.client(s, region_name=REGION) for s in services}


def deploy(twin: Twin, assembly: Path, **parameters: str) -> tuple[Template, dict[str, Any]]:
    """The stack's template with `parameters`, provisioned into the account (inside
    account_env); the owner's clients."""
    template = Template.load(assembly, **parameters)
    owner = clients()
    template.provision(owner)
    return template, owner


# The builds' disk: memory (tmpfs) when this much of it is free, in /dev/shm and in the
# machine (MemAvailable), else /var/tmp. The matrix's builds write about 11 GB, mostly npm's
# and pip's small files, and delete it as each ends (about 2 GB at once): on a disk, that
# costs a fifth of the tier's time.
BUILD_DISK_FREE = 8 << 30


def _memory_available() -> int:
    """The machine's MemAvailable in bytes (0 when /proc does not say)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _memory_disk_usable() -> bool:
    """/dev/shm holds BUILD_DISK_FREE, the machine has it to spare, and builds may write
    there and run what they install there (Docker mounts /dev/shm noexec)."""
    try:
        shm = os.statvfs("/dev/shm")
    except OSError:
        return False
    return (
        shm.f_bavail * shm.f_frsize >= BUILD_DISK_FREE
        and _memory_available() >= BUILD_DISK_FREE
        and not shm.f_flag & os.ST_NOEXEC
        and os.access("/dev/shm", os.W_OK)
    )


def build_disk() -> str:
    """Where builds work: MLCC_TWIN_WORK if set, else /dev/shm when _memory_disk_usable, else
    /var/tmp; on disk when MLCC_TWIN_KEEP keeps what builds leave (gigabytes, for as long as
    one wants them). Never under /tmp, which each build mounts a private one over."""
    if chosen := os.environ.get("MLCC_TWIN_WORK"):
        if Path(chosen).resolve().is_relative_to(Path("/tmp").resolve()):
            pytest.fail(f"MLCC_TWIN_WORK={chosen} is under /tmp, which each build mounts its own")
        return chosen
    if os.environ.get("MLCC_TWIN_KEEP"):
        return "/var/tmp"
    return "/dev/shm" if _memory_disk_usable() else "/var/tmp"


@contextmanager
def workspace() -> Iterator[Path]:
    """Where the simulated builds work (build_disk); removed afterwards (builds leave a few
    hundred MB each) unless MLCC_TWIN_KEEP."""
    work = Path(tempfile.mkdtemp(prefix="mlcc-ci-twin-", dir=build_disk()))
    try:
        yield work
    finally:
        if not os.environ.get("MLCC_TWIN_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


def loop(twin: Twin, template: Template, work: Path) -> Loop:
    """The loop over the provisioned stack, its executor builds in `work`."""
    for cache in (TWIN_CACHE / "wheels", TWIN_CACHE / "npm-cache"):
        if not cache.is_dir():
            pytest.fail(f"{cache} is missing: `make twin-cache` prepares the simulated image")
    # the builds' time runs at the account's pace: a script's `sleep 30` between two polls
    # is the same share of an endpoint's creation as in AWS
    speed = twin.hosting.clock.speed
    image = Image(work / "image", TWIN_CACHE / "wheels", TWIN_CACHE / "npm-cache", speed=speed)
    return Loop(twin, template, CodeBuild(template, image, twin.url, work / "builds"))


def cli(*args: str) -> str:
    """`mlcc-ci <args>` in a subprocess, as an operator runs it; it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "mlcc_ci", *args], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# What a run may leave behind that costs or clutters (images expire by the repository's rule)
LEAKS = (
    "endpoint",
    "endpoint-config",
    "model",
    "inference-component",
    "codebuild-project",
    "iam-role",
)


def leaks(alive: dict[str, list[str]], project: str | None = None) -> dict[str, list[str]]:
    """What `Twin.alive()` found of the kinds in LEAKS, of `project` (a name prefix) or all."""
    found = {
        kind: [n for n in names if project is None or n.startswith(project)]
        for kind, names in alive.items()
        if kind in LEAKS
    }
    return {kind: names for kind, names in found.items() if names}


@contextmanager
def stack(twin: Twin, home: Path, *, max_concurrency: int) -> Iterator[dict[str, Any]]:
    """The stack deployed into the (reset) account, every principal under its synthesized
    role, the account's Hugging Face token stored as an operator stores it; the loop over
    it, and the results store."""
    from mlcc_ci.stores.open import open_store

    with account_env(twin, home), workspace() as work:
        template, owner = deploy(
            twin,
            synthesized(),
            MaxConcurrency=str(max_concurrency),
        )
        the_loop = loop(twin, template, work)
        principals = the_loop.enforce_roles()
        owner["secretsmanager"].create_secret(Name=HF_SECRET, SecretString=HF_TOKEN)
        twin.mark_baseline()
        yield {
            "twin": twin,
            "template": template,
            "clients": owner,
            "loop": the_loop,
            "principals": principals,
            "store": open_store(None, table=TABLE),
        }
