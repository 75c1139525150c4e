"""make mutation-changed (scripts/mutation.py --changed): which modules of [tool.mutmut] count
as changed since the last release tag, what mutmut is told to test, and the fallback when
there is no tag. mutmut itself is not run here (make mutation runs it)."""

import fnmatch
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "mutation_script", REPO / "scripts" / "mutation.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


mutation = _load_script()

MUTATED = ["mlcc_ci/configid.py", "mlcc_ci/report/model.py", "mlcc_ci/stores/sqlite.py"]


def test_a_module_counts_as_changed_when_its_own_path_changed():
    changed = [
        "README.md",
        "mlcc_ci/stores/sqlite.py",
        "tests/test_configid.py",  # its tests changed, not the module
        "mlcc_ci/report/model.pyi",
        "mlcc_ci/report/__init__.py",
        "mlcc_ci/lifecycle.py",  # changed but not mutated
        "other/mlcc_ci/configid.py",
    ]
    assert mutation.changed_modules(changed, MUTATED) == ["mlcc_ci/stores/sqlite.py"]


def test_changed_modules_keep_the_order_of_only_mutate_and_accept_dot_slash_paths():
    changed = ["mlcc_ci/stores/sqlite.py", "./mlcc_ci/configid.py", "mlcc_ci/report/model.py"]
    assert mutation.changed_modules(changed, MUTATED) == MUTATED
    assert mutation.changed_modules([], MUTATED) == []


def test_the_patterns_given_to_mutmut_match_that_modules_mutants_only():
    patterns = mutation.mutant_patterns("mlcc_ci/report/model.py")
    assert patterns == ["mlcc_ci.report.model.x_*", "mlcc_ci.report.model.xǁ*"]

    def matched(name: str) -> bool:
        return any(fnmatch.fnmatch(name, p) for p in patterns)

    assert matched("mlcc_ci.report.model.x_build__mutmut_3")
    assert matched("mlcc_ci.report.model.xǁRecordǁmerge__mutmut_12")
    assert not matched("mlcc_ci.report.models.x_build__mutmut_3")
    assert not matched("mlcc_ci.report.model_view.x_build__mutmut_3")
    assert not matched("mlcc_ci.report.x_build__mutmut_3")
    # a package's __init__ is left out of mutmut's names, its submodules are not matched
    assert mutation.mutant_patterns("mlcc_ci/stores/__init__.py") == [
        "mlcc_ci.stores.x_*",
        "mlcc_ci.stores.xǁ*",
    ]


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "t@example.invalid")
    _git(tmp_path, "config", "user.name", "t")
    for module in MUTATED:
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def _args(modules=None, since=None):
    return mutation.argparse.Namespace(modules=modules, since=since)


@pytest.mark.functional
def test_no_release_tag_means_every_module_and_says_so(repo, capsys):
    _git(repo, "tag", "not-a-release")  # only v* tags are releases
    assert mutation.last_release_tag(repo) is None
    assert mutation.select(_args(), MUTATED, repo) == MUTATED
    assert "no release tag (v[0-9]*) in this repository: every module" in capsys.readouterr().out


@pytest.mark.functional
def test_changed_since_the_last_release_tag_counts_commits_edits_and_new_files(repo, capsys):
    _git(repo, "tag", "v1.0.0")
    (repo / "mlcc_ci/configid.py").write_text("x = 2\n")
    _git(repo, "commit", "-q", "-am", "after the release")
    _git(repo, "tag", "v1.1.0")
    _git(repo, "tag", "nightly")  # newer, but not a release
    assert mutation.last_release_tag(repo) == "v1.1.0"
    assert mutation.changed_paths("v1.1.0", repo) == []
    assert mutation.changed_paths("v1.0.0", repo) == ["mlcc_ci/configid.py"]
    assert mutation.select(_args(), MUTATED, repo) == []
    assert "modules changed since v1.1.0: none" in capsys.readouterr().out

    (repo / "mlcc_ci/report/model.py").write_text("x = 3\n")  # not committed
    (repo / "mlcc_ci/new.py").write_text("")  # untracked
    changed = mutation.changed_paths("v1.1.0", repo)
    assert sorted(changed) == ["mlcc_ci/new.py", "mlcc_ci/report/model.py"]
    assert mutation.select(_args(), MUTATED, repo) == ["mlcc_ci/report/model.py"]
    assert "changed since v1.1.0: mlcc_ci/report/model.py\n" in capsys.readouterr().out
    since = mutation.select(_args(since="v1.0.0"), MUTATED, repo)
    assert since == ["mlcc_ci/configid.py", "mlcc_ci/report/model.py"]
    with pytest.raises(SystemExit, match="no such commit"):
        mutation.changed_paths("v9.9.9", repo)


def test_modules_named_must_be_ones_mutmut_mutates():
    assert mutation.select(_args(modules=["mlcc_ci/configid.py"]), MUTATED) == [
        "mlcc_ci/configid.py"
    ]
    with pytest.raises(
        SystemExit, match=r"not in \[tool.mutmut\] only_mutate: mlcc_ci/lifecycle.py"
    ):
        mutation.select(_args(modules=["mlcc_ci/lifecycle.py"]), MUTATED)
