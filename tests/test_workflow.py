"""The example GitHub workflow calls commands that exist, with options they accept."""

import shlex

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
