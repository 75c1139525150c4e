"""Guards every test: fake AWS credentials, no network but loopback, no writes to $HOME."""

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis judges its inputs by the same rules everywhere, never by how busy the machine is:
# no deadline and no too-slow health check (the first draw once took 1.4 s under load).
settings.register_profile("mlcc-ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mlcc-ci")

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = ("127.", "::1", "localhost")
# `make generator` installs the pinned generator here (mlcc-ci generator install).
GENERATOR_HOME = REPO / ".generator"
# Its sitecustomize.py guards every Python subprocess as _loopback_only guards this one.
PYTHON_GUARD = REPO / "tests" / "guards" / "python"


def venv_bins() -> set[str]:
    """The bin folders of the virtualenv the tests run from: the activated one, and this
    interpreter's when it is a venv's."""
    bins = set()
    if os.environ.get("VIRTUAL_ENV"):
        bins.add(os.path.realpath(os.path.join(os.environ["VIRTUAL_ENV"], "bin")))
    if sys.prefix != sys.base_prefix:
        bins.add(os.path.realpath(os.path.join(sys.prefix, "bin")))
    return bins


def without_venvs(path: str) -> str:
    bins = venv_bins()
    return os.pathsep.join(p for p in path.split(os.pathsep) if os.path.realpath(p) not in bins)


# The order modules start in: the slower a module's tier, the sooner. Under pytest-xdist's
# loadfile (make test, with --no-loadscope-reorder) a module runs whole on one worker, and one
# that runs for minutes, started last, keeps the other worker idle to the end.
START_ORDER = ("twin", "generator", "cdk", "slow", "browser", "functional", "unit")
TIERS = set(START_ORDER) - {"unit"}  # a test marked with none of these is a unit test


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of another tier are marked so; the rest are unit tests."""
    for item in items:
        if not TIERS & {m.name for m in item.iter_markers()}:
            item.add_marker(pytest.mark.unit)


class _SlowestFirst:
    @pytest.hookimpl(trylast=True)  # after `-m` and `-k` deselected what does not run
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Modules of the slower tiers first (START_ORDER), each whole, in its own order."""
        rank: dict[Path, int] = {}
        for item in items:
            tier = min(
                START_ORDER.index(m.name) for m in item.iter_markers() if m.name in START_ORDER
            )
            rank[item.path] = min(rank.get(item.path, tier), tier)
        items.sort(key=lambda item: rank[item.path])


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_SlowestFirst(), "mlcc-ci-slowest-first")


@pytest.fixture(autouse=True)
def _shipped_catalog() -> Iterator[None]:
    """A team catalog one test named (`--catalog`, kept in mlcc_ci.resources) is no other
    test's: tests run in any order and in any subset (make mutation runs subsets)."""
    yield
    from mlcc_ci.resources import use_catalog

    use_catalog(None)


# A test that moves to another folder moves back (monkeypatch.chdir): paths are shown
# relative to the working folder, so one left behind changes what the next test on its
# worker reads (two failed so, only under pytest-xdist). Checked once every fixture is
# torn down, monkeypatch's own chdir undone included.
_FOLDER_BEFORE = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_FOLDER_BEFORE] = os.getcwd()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    result = yield
    before, after = item.stash.get(_FOLDER_BEFORE, None), os.getcwd()
    if before is not None and after != before:
        os.chdir(before)
        raise AssertionError(
            f"{item.nodeid} left the working folder in {after}: use monkeypatch.chdir"
        )
    return result


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = without_venvs(os.environ.get("PATH", os.defpath))  # before VIRTUAL_ENV goes
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for key in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "MLCC_CI_STORE",
        "MLCC_CI_REGION",
        "MLCC_CI_FAULT",
        "AWS_SESSION_TOKEN",
        "ROLE_ARN",
        "HF_TOKEN",
        "MLCC_CI_GENERATOR_HOME",
        "MLCC_CI_CATALOG",
        "MLCC_CI_PROFILE",
        "MLCC_CI_JOBS",
        "MLCC_CI_KEEP_RUNS",
        # the settings a developer's shell may export (settings.py reads each)
        "MLCC_CI_SCHEDULE",
        "MLCC_CI_DAILY_BUDGET",
        "MLCC_CI_IMAGE_DIGESTS",
        "MLCC_CI_STALE_HOURS",
        "MLCC_CI_MAX_CONCURRENCY",
        "MLCC_CI_SUSPECT_ROUNDS",
        "MLCC_CI_DOCKER_HUB_MIRROR",
        "MLCC_CI_WORK",
        "VIRTUAL_ENV",
        "VIRTUAL_ENV_PROMPT",
        # the terminal's size: a test that wants a width sets it (pytest-xdist's workers
        # get COLUMNS=80, a developer's shell may export its own)
        "COLUMNS",
        "LINES",
    ):
        monkeypatch.delenv(key, raising=False)
    # Code under test never inherits the developer's activated virtualenv: its bin (and
    # this interpreter's, where it is a venv's) leaves PATH. A test that runs `mlcc-ci` or
    # `python` as a subprocess puts Path(sys.executable).parent on PATH itself.
    monkeypatch.setenv("PATH", path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(LOOPBACK):
            raise AssertionError(f"test tried to reach {host}: only 127.0.0.1 is allowed")
        return real_connect(self, address)  # type: ignore[func-returns-value]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    # Python subprocesses (that keep the environment) import the guard at startup.
    inherited = os.environ.get("PYTHONPATH")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(PYTHON_GUARD), *([inherited] if inherited else [])])
    )
    yield


@pytest.fixture
def cli():
    from click.testing import CliRunner

    from mlcc_ci.cli.main import cli as command

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        return runner.invoke(command, list(args), input=input, env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def pinned_generator(monkeypatch: pytest.MonkeyPatch):
    """The pinned real generator from npm, as `make generator` installs it. Missing, the
    test fails (never skips): CI installs it."""
    from mlcc_ci import generator
    from mlcc_ci.catalog import load_valid_catalog

    monkeypatch.setenv(generator.HOME_ENV, str(GENERATOR_HOME))
    pin = generator.pin_of(load_valid_catalog().defaults)
    problem = generator.problem_with(pin, os.environ)
    if problem:
        pytest.fail(f"{problem} (make generator installs it into {GENERATOR_HOME})")
    return generator.find(pin, os.environ)


@pytest.fixture(scope="session")
def _twin_server():
    from tests.twin.server import Twin

    twin = Twin(settle_seconds=0.2).start()
    yield twin
    twin.stop()


@pytest.fixture(scope="module")
def account(_twin_server, tmp_path_factory):
    """The stack deployed into an empty simulated account, one per test module, with room
    for every supported configuration at once (tests/twin/fixture.py)."""
    from mlcc_ci.catalog import load_valid_catalog
    from tests.twin import fixture

    supported = [e for e in load_valid_catalog().entries if e.supported]
    home = tmp_path_factory.mktemp("twin-home")
    with fixture.stack(_twin_server.reset(), home, max_concurrency=len(supported)) as found:
        yield found


@pytest.fixture
def twin(_twin_server, monkeypatch):
    """The simulated account (tests/twin), empty, with AWS_ENDPOINT_URL pointing at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", _twin_server.url)
    return _twin_server.reset()


@pytest.fixture
def new_account_twin(twin):
    """The simulated account as a new AWS account has it: no instance of an accelerated
    type allowed for endpoints (every GPU quota 0), CPU types unlimited."""
    from tests.twin.instances import new_account_quotas

    return twin.set_quotas(new_account_quotas())


@pytest.fixture
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import urllib.request

    # moto's backends live in this process: start every test from an empty account
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    yield url
    server.stop()


NODE_GUARD = f"--require {REPO / 'tests' / 'guards' / 'loopback-only.cjs'}"


def generate(command: Path | str, entry, project: Path, env: dict | None = None) -> Path:
    """Generate `entry`'s project with the real generator, offline, reaching loopback only."""
    import subprocess

    config = project.parent / f"{entry.name}.json"
    config.write_text(entry.config_json)
    subprocess.run(
        [
            str(command),
            "--config",
            str(config),
            "--skip-prompts",
            "--project-dir",
            str(project),
            "--force",
            "--offline",
        ],
        env={**(env or os.environ), "NODE_OPTIONS": NODE_GUARD},
        check=True,
        capture_output=True,
    )
    return project
