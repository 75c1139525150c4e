"""A team adopts mlcc-ci from an empty repository, following the README: install, `catalog
init`, add an entry, commit, and the reusable workflow gives a green check with the one
sticky comment; then pull requests that break a configuration and the catalog.

The repository is a local bare git repository; the workflow's own steps run as the hosted
runner runs them (tests/actions.py), mlcc-ci is installed by pip from a wheel built here
(standing in for PyPI: offline, the pinned version the workflow names), the generator by
`mlcc-ci generator install` from npm's offline cache, and the comment goes to a GitHub
comments API served on 127.0.0.1.
"""

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlcc_ci import __version__
from mlcc_ci.github import Api, sticky
from tests.actions import Runner, clean_env
from tests.conftest import REPO

pytestmark = pytest.mark.generator
MARKER = "<!-- mlcc-ci-report -->"
REUSABLE = REPO / ".github/workflows/mlcc-ci-matrix.yml"


class GitHub:
    """Issue comments of one repository, as GitHub's REST API keeps them."""

    def __init__(self, token: str) -> None:
        self.comments: dict[int, list[dict]] = {}
        self.calls: list[tuple[str, str]] = []
        self.token = token
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                outer.calls.append((method, self.path))
                if self.headers.get("Authorization") != f"Bearer {outer.token}":
                    return self._answer(401, {"message": "Bad credentials"})
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                path, _, query = self.path.partition("?")
                listing = re.fullmatch(r"/repos/team/service/issues/(\d+)/comments", path)
                one = re.fullmatch(r"/repos/team/service/issues/comments/(\d+)", path)
                if listing and method == "GET":
                    page = int(dict(p.split("=") for p in query.split("&"))["page"])
                    per = int(dict(p.split("=") for p in query.split("&"))["per_page"])
                    found = outer.comments.get(int(listing[1]), [])
                    return self._answer(200, found[(page - 1) * per : page * per])
                if listing and method == "POST":
                    comments = outer.comments.setdefault(int(listing[1]), [])
                    comment = {"id": 1000 + sum(map(len, outer.comments.values())), **body}
                    comments.append(comment)
                    return self._answer(201, comment)
                if one and method == "PATCH":
                    for comments in outer.comments.values():
                        for comment in comments:
                            if comment["id"] == int(one[1]):
                                comment.update(body)
                                return self._answer(200, comment)
                return self._answer(404, {"message": "Not Found"})

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def do_PATCH(self):
                self._route("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github():
    api = GitHub(token="ghs_test_token_for_the_fake_api_only")
    yield api
    api.stop()


def test_the_sticky_comment_is_found_across_pages_and_updated_in_place(github):
    """Someone else's comments first, ours on the second page: updated, never a second."""
    github.comments[7] = [{"id": i, "body": f"review {i}"} for i in range(150)]
    api = Api(github.url, "team/service", github.token)
    assert sticky(api, 7, f"{MARKER}\nfirst", MARKER).startswith("created comment")
    assert sticky(api, 7, f"{MARKER}\nsecond", MARKER) == "updated comment 1150 on #7"
    ours = [c for c in github.comments[7] if c["body"].startswith(MARKER)]
    assert len(ours) == 1 and ours[0]["body"].endswith("second")
    assert ("GET", "/repos/team/service/issues/7/comments?per_page=100&page=2") in github.calls
    wrong = Api(github.url, "team/service", "not-the-token")
    from mlcc_ci.errors import HarnessError

    with pytest.raises(HarnessError, match="GitHub answered 401"):
        sticky(wrong, 7, "x", MARKER)


def _git(cwd: Path, *args: str) -> str:
    env = {
        **clean_env(),
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "Team",
        "GIT_AUTHOR_EMAIL": "team@example.com",
        "GIT_COMMITTER_NAME": "Team",
        "GIT_COMMITTER_EMAIL": "team@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


TAG = f"git+https://github.com/OWNER/mlcc-ci@v{__version__}"


def _readme_caller() -> str:
    """The caller workflow as the README shows it; pip cannot reach GitHub here, so the git
    tag it installs is this version's wheel (built below), as `uses:` is the local file."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```yaml\n(# \.github/workflows/mlcc-ci\.yml\n.*?)```", text, re.S)
    assert block, "the README shows the caller workflow"
    assert f'mlcc-ci: "{TAG}"' in block.group(1)
    return block.group(1).replace(f'"{TAG}"', f"mlcc-ci=={__version__}")


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory):
    """mlcc-ci's wheel, built here from this checkout: PyPI for the runs below."""
    out = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return out


def _gpu(entry: Path) -> None:
    text = entry.read_text()
    assert "instanceType: ml.m5.large" in text
    entry.write_text(text.replace("instanceType: ml.m5.large", "instanceType: ml.g5.xlarge"))


def test_a_team_adopts_it_from_an_empty_repository(tmp_path, wheelhouse, pinned_generator, github):
    twin_wheels, npm_cache = REPO / ".twin" / "wheels", REPO / ".twin" / "npm-cache"
    assert twin_wheels.is_dir() and npm_cache.is_dir(), "make twin-cache fills them"
    node_dir = Path(subprocess.run(["which", "node"], capture_output=True, text=True).stdout).parent

    def fresh_python(where: Path) -> str:
        """setup-python: a fresh interpreter environment, its bin first on PATH."""
        subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
        return f"{where}/bin:{node_dir}:/usr/bin:/bin"

    offline = {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{wheelhouse} {twin_wheels}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "npm_config_cache": str(npm_cache),
        "npm_config_offline": "true",
        "npm_config_update_notifier": "false",
        "NODE_OPTIONS": f"--require {REPO / 'tests' / 'guards' / 'loopback-only.cjs'}",
    }

    # The team, on a laptop: install, start a catalog, add an entry, commit, push.
    origin = tmp_path / "origin.git"
    _git(tmp_path, "init", "--bare", "--initial-branch=main", str(origin))
    laptop = tmp_path / "laptop"
    _git(tmp_path, "clone", str(origin), str(laptop))
    path = fresh_python(tmp_path / "laptop-venv")
    home = tmp_path / "laptop-home"
    home.mkdir()
    shell = {**clean_env(), **offline, "PATH": path, "HOME": str(home)}

    def mlcc(*args: str, cwd: Path = laptop) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["mlcc-ci", *args], cwd=cwd, env=shell, capture_output=True, text=True
        )

    subprocess.run(
        ["python", "-m", "pip", "install", "--quiet", f"mlcc-ci=={__version__}"],
        env=shell,
        check=True,
    )
    assert mlcc("--version").stdout.strip().endswith(__version__)
    made = mlcc("catalog", "init", "ci/catalog", "http-flask", "--owner", "team-a")
    assert made.returncode == 0, made.stderr
    # generator 1.6.0 asks every inference component for an accelerator, which ml.m5.large
    # lacks (the static profile fails it, and says why): the team serves it from a GPU type
    _gpu(laptop / "ci" / "catalog" / "http-flask.yaml")
    (laptop / "mlcc-ci.toml").write_text('catalog = "ci/catalog"\nprofile = "static"\n')
    assert mlcc("catalog", "validate").returncode in (0, 2)  # no generator on the laptop yet
    (laptop / ".github" / "workflows").mkdir(parents=True)
    (laptop / ".github" / "workflows" / "mlcc-ci.yml").write_text(_readme_caller())
    _git(laptop, "add", "-A")
    _git(laptop, "commit", "-m", "Test our serving containers with mlcc-ci")
    _git(laptop, "push", "origin", "main")

    def checkout(workspace: Path, ctx) -> None:
        _git(
            tmp_path,
            "clone",
            "--quiet",
            "--branch",
            ctx.github["ref_name"],
            str(origin),
            str(workspace),
        )

    runs = iter(range(1, 100))

    def run(event: str, branch: str, pr: int | None = None):
        number = next(runs)
        home = tmp_path / f"runner-home-{number}"
        home.mkdir()
        runner = Runner(
            root=tmp_path / f"runner-{number}",
            path=fresh_python(tmp_path / f"runner-python-{number}"),
            base_env={**clean_env(), **offline, "HOME": str(home)},
            checkout=checkout,
            workflows={
                "OWNER/mlcc-ci/.github/workflows/mlcc-ci-matrix.yml@v" + __version__: REUSABLE
            },
        )
        runner.cache = tmp_path / "actions-cache"  # one repository's cache across runs
        runner.cache.mkdir(exist_ok=True)
        github_ctx = {
            "event_name": event,
            "ref_name": branch,
            "repository": "team/service",
            "run_id": 4000 + number,
            "api_url": github.url,
            "token": github.token,
            "event": {
                "repository": {"default_branch": "main"},
                **(
                    {
                        "pull_request": {
                            "number": pr,
                            "head": {"repo": {"full_name": "team/service"}},
                        }
                    }
                    if pr
                    else {}
                ),
            },
        }
        caller = tmp_path / f"caller-{number}.yml"
        caller.write_text(_readme_caller())
        return runner, runner.run_caller(caller, github_ctx, tmp_path / f"workspace-{number}")

    # The default branch: green, and its results kept for pull requests.
    runner, main = run("push", "main")
    assert not main.failed, main.logs
    assert main.outcomes["Verdict"] == "success"
    assert main.outcomes["Post or update the one sticky comment"] == "skipped"  # not a PR
    baseline = list((tmp_path / "actions-cache").glob("mlcc-ci-results-main-*"))
    assert len(baseline) == 1 and (baseline[0] / "baseline.json").is_file()
    assert "http-flask" in json.loads((baseline[0] / "baseline.json").read_text())["configurations"]

    # A pull request that adds an entry: green, one sticky comment that says so.
    _git(laptop, "checkout", "-b", "add-fastapi")
    assert mlcc("catalog", "init", str(tmp_path / "scratch"), "http-fastapi").returncode == 0
    (laptop / "ci" / "catalog" / "http-fastapi.yaml").write_text(
        (tmp_path / "scratch" / "http-fastapi.yaml").read_text()
    )
    _gpu(laptop / "ci" / "catalog" / "http-fastapi.yaml")
    _git(laptop, "add", "-A")
    _git(laptop, "commit", "-m", "Add http-fastapi")
    _git(laptop, "push", "origin", "add-fastapi")
    runner, green = run("pull_request", "add-fastapi", pr=1)
    assert not green.failed, green.logs
    (comment,) = github.comments[1]
    first = comment["body"].splitlines()[:2]
    assert first[0] == MARKER
    assert first[1].strip("*").startswith("✅"), comment["body"][:400]
    assert "http-fastapi" in comment["body"]
    artifacts = runner.artifacts / "mlcc-ci-report"
    assert (artifacts / "report.html").is_file()
    assert list(artifacts.glob(".mlcc-ci-work/*/logs/generate.log"))

    # A pull request that breaks a configuration: red, and the comment leads with it.
    _git(laptop, "checkout", "main")
    _git(laptop, "checkout", "-b", "batch-flags")
    defaults = laptop / "ci" / "catalog" / "_defaults.yaml"
    defaults.write_text(
        defaults.read_text()
        + "profiles:\n  static:\n    stages:\n      generate:\n        command: >-\n"
        + '          ml-container-creator --config "$MLCC_CONFIG_FILE" --skip-prompts\n'
        + '          --project-dir "$MLCC_PROJECT_DIR" --force --offline\n'
        + "          --deployment-target batch-transform\n"
    )
    _git(laptop, "commit", "-am", "Generate for batch transform")
    _git(laptop, "push", "origin", "batch-flags")
    runner, red = run("pull_request", "batch-flags", pr=2)
    assert red.failed and red.outcomes["Verdict"] == "failure"
    (comment,) = github.comments[2]
    verdict = comment["body"].splitlines()[1].strip("*")
    assert verdict.startswith("❌ 1 configuration newly failing (http-flask)"), verdict

    # The same pull request, pushed again with an invalid catalog: the comment is updated,
    # says the catalog is invalid, and the problem is an annotation on its line.
    entry = laptop / "ci" / "catalog" / "http-flask.yaml"
    text = entry.read_text()
    entry.write_text(text.replace("modelFormat: pkl", "modelFormat: onnx"))
    line = next(n for n, t in enumerate(entry.read_text().splitlines(), 1) if "onnx" in t)
    _git(laptop, "commit", "-am", "Serve ONNX")
    _git(laptop, "push", "origin", "batch-flags")
    runner, invalid = run("pull_request", "batch-flags", pr=2)
    assert invalid.failed
    assert invalid.outcomes["Run the matrix"] == "skipped"
    (comment,) = github.comments[2]  # the same comment, updated
    assert comment["body"].splitlines()[1].startswith("❌ **The catalog is invalid**")
    assert "modelFormat" in comment["body"]
    assert (
        f"::error file=ci/catalog/http-flask.yaml,line={line},"
        in invalid.logs["Validate the catalog"]
    )
    assert github.token not in "".join(invalid.logs.values())
