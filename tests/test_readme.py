"""What the README counts of the shipped catalog is what the catalog holds, and what it
tells a new user to type works."""

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mlcc_ci.catalog import load_valid_catalog
from tests.conftest import GENERATOR_HOME, PYTHON_GUARD, REPO


def test_the_quota_list_counts_every_supported_configuration_by_instance_type():
    text = (REPO / "README.md").read_text()
    quotas = re.search(
        r"^- SageMaker: \"<instance type> for endpoint usage\".*?;\n", text, re.M | re.S
    )
    assert quotas, "README, Deploy to AWS: the SageMaker quotas to check"
    said = quotas.group(0)
    listed = {kind: int(n) for kind, n in re.findall(r"`(ml\.[\w.]+)` \((\d+)", said)}
    supported = [e for e in load_valid_catalog().entries if e.supported]
    assert listed == Counter(e.config["instanceType"] for e in supported)
    total = re.search(r"the catalog's (\d+)\s+supported configurations", said)
    assert total and int(total.group(1)) == len(supported) == sum(listed.values())


def _block_after(heading: str) -> str:
    text = (REPO / "README.md").read_text()
    section = text.split(f"\n{heading}\n", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, f"README, {heading}: no sh block"
    return found.group(1)


@pytest.mark.generator
def test_in_your_repository_ends_in_a_green_check(tmp_path):
    """The README's "In your repository" lines, as a new user pastes them into an empty
    repository (mlcc-ci installed; the pinned generator already where `generator install`
    puts it, so nothing is downloaded): every line succeeds and the run passes."""
    lines = [
        line
        for line in _block_after("### In your repository").splitlines()
        if line.strip() and not line.startswith("pipx ")
    ]
    repo = tmp_path / "team"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    env = {
        "HOME": str(tmp_path / "home"),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": str(PYTHON_GUARD),
        "MLCC_CI_GENERATOR_HOME": str(GENERATOR_HOME),
        "LANG": "C.UTF-8",
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"^1 passed, 0 failed \(profile static", result.stdout, re.M), result.stdout
