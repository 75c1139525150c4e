"""The release workflow: a tag that is not the package's version, or a version the changelog
does not describe, stops the release before anything is built; the notes are the changelog's
section. Its own shell script runs here, as the runner would run it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlcc_ci import __version__
from tests.conftest import REPO

RELEASE = REPO / ".github/workflows/release.yml"
CHECK = "Check the tag is the package version"


def _release() -> dict:
    return yaml.safe_load(RELEASE.read_text())


def _check(tmp_path: Path, tag: str, changelog: str | None = None) -> subprocess.CompletedProcess:
    """Run the check step in a folder holding what it reads: the package and the changelog."""
    (tmp_path / "mlcc_ci").mkdir()
    shutil.copy(REPO / "mlcc_ci" / "__init__.py", tmp_path / "mlcc_ci" / "__init__.py")
    if changelog is None:
        shutil.copy(REPO / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    else:
        (tmp_path / "CHANGELOG.md").write_text(changelog)
    step = next(s for s in _release()["jobs"]["build"]["steps"] if s.get("name") == CHECK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    path = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `python` as setup-python
    return subprocess.run(
        # GitHub's own `shell: bash`
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env={**env, "PATH": path, "GITHUB_REF_NAME": tag},
        capture_output=True,
        text=True,
    )


@pytest.mark.functional
def test_a_tag_that_is_the_version_passes_with_the_changelog_section_as_notes(tmp_path):
    result = _check(tmp_path, f"v{__version__}")
    assert result.returncode == 0, result.stdout + result.stderr
    notes = (tmp_path / "release-notes.md").read_text()
    changelog = (REPO / "CHANGELOG.md").read_text()
    section = changelog.split(f"\n## [{__version__}]")[1].split("\n## [")[0]
    assert notes.strip() == section.split("\n", 1)[1].strip()
    assert "### Added" in notes and "## [" not in notes


@pytest.mark.functional
@pytest.mark.parametrize("tag", ["v9.9.9", __version__, f"v{__version__}.1", f"v{__version__}rc1"])
def test_a_tag_that_is_not_the_version_fails(tmp_path, tag):
    result = _check(tmp_path, tag)
    assert result.returncode == 1
    assert result.stdout == (
        f"::error::tag {tag} is not the package version v{__version__} (mlcc_ci/__init__.py)\n"
    )
    assert not (tmp_path / "release-notes.md").exists()


@pytest.mark.functional
@pytest.mark.parametrize(
    "section", ["", f"## [{__version__}] - 2026-11-30\n\n"], ids=["no section", "empty section"]
)
def test_a_version_the_changelog_does_not_describe_fails(tmp_path, section):
    changelog = (
        f"# Changelog\n\n## [Unreleased]\n\n- new\n\n{section}## [0.0.1] - 2026-01-01\n\n- old\n"
    )
    result = _check(tmp_path, f"v{__version__}", changelog)
    assert result.returncode == 1
    assert result.stdout == (
        f"::error file=CHANGELOG.md::CHANGELOG.md has no entries under '## [{__version__}]'\n"
    )


def test_release_builds_on_tags_and_publishes_only_when_asked():
    release = _release()
    assert release[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads `on` as True
    assert release["permissions"] == {"contents": "read"}
    jobs = release["jobs"]
    build = {s.get("name", s.get("uses")): s for s in jobs["build"]["steps"]}
    assert list(build).index(CHECK) < list(build).index("Build the sdist and the wheel")
    assert "python -m build --outdir dist ." in build["Build the sdist and the wheel"]["run"]
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    assert "gh release create" in jobs["github-release"]["steps"][-1]["run"]
    pypi = jobs["pypi"]
    assert pypi["needs"] == ["build", "github-release"]
    assert pypi["if"] == "${{ vars.PUBLISH_TO_PYPI == 'true' }}"
    assert pypi["environment"]["name"] == "pypi"
    assert pypi["permissions"] == {"id-token": "write"}  # trusted publishing, no token
    assert pypi["steps"][-1] == {"uses": "pypa/gh-action-pypi-publish@release/v1"}


def test_version_is_set_once_and_the_changelog_describes_it(cli):
    assert cli("--version").output == f"mlcc-ci, version {__version__}\n"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert '[tool.hatch.version]\npath = "mlcc_ci/__init__.py"' in pyproject
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d\d-\d\d$", _changelog(), re.M)
    assert released[0] == __version__  # the newest section is this version


def _changelog() -> str:
    return (REPO / "CHANGELOG.md").read_text()
