"""Adding entries to a team catalog (issue 30, point 5) and the smaller points of point 7
around it: `catalog add`, `catalog show --yaml`, `catalog init` in a folder that is not
empty, the generatorName hint, paths shown for people, the pre-commit hook, `make help`."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import mlcc_ci.catalog as catalog_module
import mlcc_ci.failures as failures_module
import mlcc_ci.resources as resources_module
from tests.conftest import REPO

QWEN_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
NODE_GUARD = f"--require {REPO / 'tests' / 'guards' / 'loopback-only.cjs'}"


def _team(cli, tmp_path: Path, *names: str) -> Path:
    team = tmp_path / "ci" / "catalog"
    made = cli("catalog", "init", str(team), *names, "--owner", "team-a")
    assert made.exit_code == 0, made.output
    return team


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _variant(path: Path) -> None:
    """What makes a copy of transformers-vllm a deployment of its own: a smaller model on a
    smaller instance."""
    text = path.read_text()
    text = text.replace("modelName: openai/gpt-oss-20b", f"modelName: {QWEN_MODEL}")
    path.write_text(text.replace("instanceType: ml.g6.12xlarge", "instanceType: ml.g5.xlarge"))


@pytest.fixture
def _offline_node(monkeypatch):
    monkeypatch.setenv("NODE_OPTIONS", NODE_GUARD)


# -- catalog add ----------------------------------------------------------------------------


@pytest.mark.generator
def test_add_from_copies_an_entry_that_validates_and_shows_as_itself(
    cli, pinned_generator, _offline_node, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "transformers-vllm")
    added = cli(
        "--catalog", str(team), "catalog", "add", "qwen-vllm-small", "--from", "transformers-vllm"
    )
    assert added.exit_code == 0, added.output
    assert added.output.splitlines() == [
        "wrote ci/catalog/qwen-vllm-small.yaml (a copy of transformers-vllm, "
        "generatorName: transformers-vllm)",
        "note: it deploys the same thing as transformers-vllm until you change its model, "
        "instance type, region or target: catalog validate fails until then",
        "next: edit it, then mlcc-ci catalog validate ci/catalog/qwen-vllm-small.yaml",
    ]
    written = team / "qwen-vllm-small.yaml"
    source = (team / "transformers-vllm.yaml").read_text().splitlines()
    assert (
        written.read_text().splitlines()
        == [
            source[0],  # the schema comment, as init wrote it for this folder
            "name: qwen-vllm-small",
            "generatorName: transformers-vllm  # the generator's configuration it varies",
            *source[2:],
        ]
    )
    # the file passes the command the output names, the real generator's checks included
    checked = cli("catalog", "validate", "ci/catalog/qwen-vllm-small.yaml")
    assert (checked.exit_code, checked.output) == (0, "catalog valid: 1 entry\n")
    # the whole catalog says what the note said, until the copy differs
    twin = cli("catalog", "validate", "ci/catalog")
    assert twin.exit_code == 2
    assert (
        "transformers-vllm $: deploys the same thing as 'qwen-vllm-small' "
        "(ci/catalog/qwen-vllm-small.yaml)"
    ) in twin.output
    _variant(written)
    whole = cli("catalog", "validate", "ci/catalog")
    assert whole.exit_code == 0, whole.output
    assert whole.output.endswith("catalog valid: 2 entries\n")
    # two entries sharing one generator configuration: each shows as itself
    for name, model in (
        ("transformers-vllm", "openai/gpt-oss-20b"),
        ("qwen-vllm-small", QWEN_MODEL),
    ):
        shown = json.loads(cli("--catalog", str(team), "catalog", "show", name, "--json").output)
        assert shown["entry"]["name"] == name
        config = json.loads(shown["configJson"])
        assert (config["deploymentConfig"], config["modelName"]) == ("transformers-vllm", model)
        pasted = cli("--catalog", str(team), "catalog", "show", name, "--yaml").output
        assert yaml.safe_load(pasted)["name"] == name


@pytest.mark.generator
def test_add_without_from_writes_a_skeleton_that_validates(
    cli, pinned_generator, _offline_node, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "http-flask")
    added = cli("--catalog", str(team), "catalog", "add", "our-api")
    assert added.exit_code == 0, added.output
    assert added.output.splitlines() == [
        "wrote ci/catalog/our-api.yaml (a skeleton to fill in)",
        "next: edit it, then mlcc-ci catalog validate ci/catalog/our-api.yaml",
    ]
    text = (team / "our-api.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=.schema/catalog-entry.schema.json\n")
    assert "then set support.state to\n# supported" in text
    assert "# generatorName: transformers-vllm" in text
    entry = yaml.safe_load(text)
    assert entry["name"] == "our-api"
    assert entry["support"] == {"state": "unsupported", "reason": "a new entry, not filled in yet"}
    checked = cli("catalog", "validate", "ci/catalog/our-api.yaml")
    assert (checked.exit_code, checked.output) == (0, "catalog valid: 1 entry\n")
    assert cli("catalog", "validate", "ci/catalog").exit_code == 0
    listed = json.loads(cli("--catalog", str(team), "catalog", "list", "--json").output)
    assert {r["name"]: r["support"] for r in listed} == {
        "http-flask": "supported",
        "our-api": "unsupported",
    }


def test_add_refuses_what_it_cannot_write_and_writes_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "http-flask", "triton-onnx")
    before = _listing(team)

    def add(*args: str):
        return cli("--catalog", str(team), "catalog", "add", *args)

    exists = add("http-flask", "--from", "http-flask")
    assert (exists.exit_code, exists.output) == (
        2,
        "Error: ci/catalog/http-flask.yaml exists; catalog add overwrites nothing\n",
    )
    # an entry of that name in a file of another name
    (team / "flask-renamed.yaml").write_text(
        (team / "http-flask.yaml").read_text().replace("name: http-flask", "name: flask-two")
    )
    before = _listing(team)
    taken = add("flask-two")
    assert (taken.exit_code, taken.output) == (
        2,
        "Error: ci/catalog/flask-renamed.yaml:2: the catalog has an entry named flask-two "
        "already\n",
    )
    bad = add("Qwen_Small")
    assert (bad.exit_code, bad.output) == (
        2,
        "Error: NAME 'Qwen_Small': lowercase letters and digits in words joined by '-', at "
        "most 30 characters (e.g. qwen-vllm-small)\n",
    )
    unknown = add("x", "--from", "transformers-vlm")
    assert (unknown.exit_code, unknown.output) == (
        2,
        "Error: no catalog entry named 'transformers-vlm' (did you mean 'transformers-vllm'?)\n",
    )
    # defaults that do not load: the new file would not validate, so it is not written
    defaults = team / "_defaults.yaml"
    defaults.write_text(defaults.read_text().replace("extends: mlcc-ci", "extends: ours"))
    broken = add("our-api")
    assert (broken.exit_code, broken.output) == (
        2,
        "Error: ci/catalog/_defaults.yaml:6: defaults $.extends: can only be 'mlcc-ci', not "
        "'ours'\n",
    )
    assert _listing(team) == before  # nothing written, no temporary file left


def test_add_copies_a_shipped_entry_and_keeps_its_generator_name(cli, tmp_path, monkeypatch):
    """--from finds a shipped entry the team catalog does not have; one that already names
    its generator configuration keeps it; a team entry wins over a shipped one."""
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "http-flask")
    added = cli("--catalog", str(team), "catalog", "add", "onnx-small", "--from", "triton-onnx")
    assert added.exit_code == 0, added.output
    assert added.output.splitlines()[0] == (
        "wrote ci/catalog/onnx-small.yaml (a copy of triton-onnx, generatorName: "
        "triton-onnxruntime)"
    )
    copied = yaml.safe_load((team / "onnx-small.yaml").read_text())
    assert (copied["name"], copied["generatorName"]) == ("onnx-small", "triton-onnxruntime")
    assert (team / "onnx-small.yaml").read_text().count("generatorName:") == 1
    assert not (team / "triton-onnx.yaml").exists()
    # the team's http-flask, changed, is the one copied
    flask = team / "http-flask.yaml"
    flask.write_text(flask.read_text().replace("ml.m5.large", "ml.g5.xlarge"))
    assert (
        cli("--catalog", str(team), "catalog", "add", "flask-b", "--from", "http-flask").exit_code
        == 0
    )
    assert yaml.safe_load((team / "flask-b.yaml").read_text())["instanceType"] == "ml.g5.xlarge"
    assert cli("catalog", "validate", "ci/catalog/onnx-small.yaml").exit_code == 0


def _packaged(tmp_path: Path, monkeypatch) -> Path:
    """The shipped catalog and schemas as an installed wheel has them, in its _data folder."""
    data = tmp_path / "site-packages" / "mlcc_ci" / "_data"
    for name in ("catalog", "schema"):
        shutil.copytree(REPO / name, data / name)

    def data_path(name: str) -> Path:
        return data / name

    for module in (resources_module, catalog_module, failures_module):
        monkeypatch.setattr(module, "data_path", data_path)
    return data


def test_add_needs_a_team_catalog_when_mlcc_ci_is_installed(cli, tmp_path, monkeypatch):
    data = _packaged(tmp_path, monkeypatch)
    before = _listing(data)
    result = cli("catalog", "add", "our-api")
    assert (result.exit_code, result.output) == (
        2,
        "Error: no team catalog to add to: name one with --catalog DIR, MLCC_CI_CATALOG or "
        '`catalog = "DIR"` in mlcc-ci.toml (`mlcc-ci catalog init DIR` starts one)\n',
    )
    assert _listing(data) == before


# -- catalog show ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["transformers-vllm", "triton-onnx", "http-flask"])
def test_show_yaml_is_the_entry_as_written_and_validates_pasted(cli, tmp_path, name):
    shown = cli("catalog", "show", name, "--yaml")
    assert shown.exit_code == 0
    file = REPO / "catalog" / f"{name}.yaml"
    assert shown.output == file.read_text().split("\n", 1)[1]  # all but the schema comment
    assert "configId" not in shown.output and "configJson" not in shown.output
    pasted = tmp_path / f"{name}.yaml"
    pasted.write_text(shown.output)
    checked = cli("catalog", "validate", str(pasted))
    assert checked.exit_code == 0, checked.output
    assert checked.output.endswith("catalog valid: 1 entry\n")


def test_plain_show_says_where_to_copy_from_and_keeps_derived_values_as_comments(cli, tmp_path):
    shown = cli("catalog", "show", "http-flask")
    lines = shown.output.splitlines()
    assert lines[:2] == [
        "# catalog/http-flask.yaml, merged with the defaults it inherits",
        "# as written, to copy: mlcc-ci catalog show http-flask --yaml",
    ]
    assert re.fullmatch(r"# configId: [0-9a-f]{16}", lines[-2])
    assert lines[-1].startswith('# configJson: {"architecture":"http"')
    # even the merged text, pasted, is an entry (every inherited value written out)
    pasted = tmp_path / "http-flask.yaml"
    pasted.write_text(shown.output)
    assert cli("catalog", "validate", str(pasted)).exit_code == 0
    both = cli("catalog", "show", "http-flask", "--yaml", "--json")
    assert (both.exit_code, both.output) == (2, "Error: give --json or --yaml, not both\n")
    readme = (REPO / "README.md").read_text()
    assert "mlcc-ci catalog show NAME --yaml" in readme
    assert "`mlcc-ci catalog show\n  NAME` prints it merged" not in readme


# -- catalog init in a folder that is not empty ----------------------------------------------


def test_init_adds_to_a_folder_that_is_not_empty_and_overwrites_nothing(cli, tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "README.md").write_text("# our serving containers\n")
    made = cli("catalog", "init", str(repo), "http-flask")
    assert made.exit_code == 0, made.output
    assert (repo / "README.md").read_text() == "# our serving containers\n"
    assert {"_defaults.yaml", "http-flask.yaml", ".schema", ".git"} <= set(os.listdir(repo))
    # again with one more entry: what is there and the same stays, the new entry is added
    again = cli("catalog", "init", str(repo), "http-flask", "http-fastapi")
    assert again.exit_code == 0, again.output
    assert "2 entries, schemas in .schema/; 5 file(s) already there kept as they were" in (
        again.output
    )
    assert (repo / "http-fastapi.yaml").is_file()
    # a file of the team's where init would write: refused, naming it, and nothing written
    defaults = repo / "_defaults.yaml"
    defaults.write_text(defaults.read_text() + "tags: [ours]\n")
    before = _listing(repo)
    refused = cli("catalog", "init", str(repo), "http-flask", "triton-onnx", "--owner", "other")
    assert (refused.exit_code, refused.output) == (
        2,
        f"Error: {defaults} is in the way: catalog init overwrites nothing and wrote nothing; "
        "move it away, or choose another folder\n",
    )
    assert _listing(repo) == before and defaults.read_text().endswith("tags: [ours]\n")
    # a file where init needs a folder
    other = tmp_path / "other"
    other.mkdir()
    (other / ".schema").write_text("not a folder\n")
    blocked = cli("catalog", "init", str(other))
    assert blocked.exit_code == 2
    assert blocked.output.startswith(f"Error: {other / '.schema'} is in the way")
    assert sorted(os.listdir(other)) == [".schema"]


# -- the generatorName hint -----------------------------------------------------------------


@pytest.mark.generator
def test_a_renamed_copy_is_told_to_name_its_generator_configuration(
    cli, pinned_generator, _offline_node, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "transformers-vllm", "triton-onnx")
    for source, new in (("transformers-vllm", "qwen-vllm-small"), ("triton-onnx", "triton-onnx2")):
        text = (team / f"{source}.yaml").read_text().replace(f"name: {source}", f"name: {new}")
        (team / f"{new}.yaml").write_text(re.sub(r"generatorName: .*\n", "", text))
    _variant(team / "qwen-vllm-small.yaml")
    onnx = team / "triton-onnx2.yaml"
    onnx.write_text(onnx.read_text().replace("ml.g5.xlarge", "ml.g5.2xlarge"))
    result = cli("catalog", "validate", "ci/catalog")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "ci/catalog/qwen-vllm-small.yaml:2: qwen-vllm-small $.name: generator 1.6.0 offers no "
        'configuration "qwen-vllm-small" (it offers http-flask, '
    )
    assert lines[0].endswith(
        "; if this entry is a variant of 'transformers-vllm', add "
        "`generatorName: transformers-vllm`"
    )
    assert lines[1] == (
        "ci/catalog/triton-onnx2.yaml:2: triton-onnx2 $.name: generator 1.6.0 offers no "
        "configuration \"triton-onnx2\" (did you mean 'triton-onnxruntime'?); if this entry is "
        "a variant of 'triton-onnxruntime', add `generatorName: triton-onnxruntime`"
    )
    # the fix the hint names is the fix
    for file, name in (
        (team / "qwen-vllm-small.yaml", "transformers-vllm"),
        (onnx, "triton-onnxruntime"),
    ):
        text = file.read_text()
        file.write_text(re.sub(r"(name: .*\n)", rf"\1generatorName: {name}\n", text, count=1))
    fixed = cli("catalog", "validate", "ci/catalog")
    assert fixed.exit_code == 0, fixed.output


# -- paths shown for people -----------------------------------------------------------------


def test_source_paths_never_climb_out_of_the_working_directory(cli, tmp_path, monkeypatch):
    """Inside the working directory, relative; outside it, absolute; packaged with mlcc-ci,
    `(shipped)`: the same in `failures rules` and `catalog show-defaults`. A failure rule's
    file is the same from any folder: relative to the catalog in use, else absolute."""
    team = _team(cli, tmp_path, "http-flask")
    (team / "_failures.yaml").write_text(
        "rules:\n  - name: our-proxy\n    class: infra\n    stages: [build]\n"
        "    pattern: 'proxy (refused)'\n    retry: {count: 1, backoffSeconds: 30}\n"
        "    hint: Our proxy; try again.\n"
    )

    def sources() -> list[str]:
        rules = json.loads(cli("--catalog", str(team), "failures", "rules", "--json").output)
        defaults = cli("--catalog", str(team), "catalog", "show-defaults").output.splitlines()
        owner = defaults[defaults.index("owner: team-a") - 1]
        return [rules[0]["source"], rules[1]["source"], defaults[0], owner]

    # the shipped catalog of this checkout: inside the repository, then outside
    monkeypatch.chdir(tmp_path)
    shipped = REPO / "catalog"
    assert sources() == [
        "_failures.yaml:2",
        f"{shipped}/_failures.yaml:12",
        f"# {shipped}/_defaults.yaml:5",
        "# ci/catalog/_defaults.yaml:7",
    ]
    monkeypatch.chdir(team)
    assert sources()[:2] == ["_failures.yaml:2", f"{shipped}/_failures.yaml:12"]
    monkeypatch.chdir(REPO)
    assert sources()[1:3] == [f"{shipped}/_failures.yaml:12", "# catalog/_defaults.yaml:5"]
    # as installed from a wheel, under the working directory (a virtualenv in the repository)
    monkeypatch.chdir(tmp_path)
    _packaged(tmp_path, monkeypatch)
    assert sources() == [
        "_failures.yaml:2",
        "(shipped) _failures.yaml:12",
        "# (shipped) _defaults.yaml:5",
        "# ci/catalog/_defaults.yaml:7",
    ]
    assert all(".." not in s for s in sources())


# -- the pre-commit hook --------------------------------------------------------------------


@pytest.mark.functional
def test_the_pre_commit_hook_validates_the_files_it_is_given(cli, tmp_path):
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "mlcc-ci-catalog"
    assert (hook["language"], hook["pass_filenames"]) == ("python", True)
    files = re.compile(hook["files"])
    for path in ("catalog/http-flask.yaml", "ci/catalog/qwen.yml", "ci/catalog/_defaults.yaml"):
        assert files.search(path), path
    for path in ("ci/catalog/.schema/catalog-entry.schema.json", "catalogs/x.yaml", "x.yaml"):
        assert not files.search(path), path

    repo = tmp_path / "repo"
    team = _team(cli, repo, "http-flask", "http-fastapi")
    elsewhere = tmp_path / "elsewhere" / "triton-onnx.yaml"  # outside the repository
    elsewhere.parent.mkdir()
    elsewhere.write_text((REPO / "catalog" / "triton-onnx.yaml").read_text())
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def pre_commit(*changed: str) -> subprocess.CompletedProcess:
        """As pre-commit runs a hook: its entry, then the changed files, from the root."""
        return subprocess.run(
            [*shlex.split(hook["entry"]), *changed],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    changed = ["ci/catalog/http-flask.yaml", "ci/catalog/http-fastapi.yaml"]
    ok = pre_commit(*changed, "ci/catalog/_defaults.yaml", str(elsewhere))
    assert (ok.returncode, ok.stdout) == (0, "catalog valid: 3 entries\n"), ok.stderr
    flask = team / "http-flask.yaml"
    flask.write_text(flask.read_text().replace("instanceType: ml.m5.large", "instanceType: m5"))
    broken = pre_commit(*changed)
    assert broken.returncode == 2
    assert broken.stderr.splitlines()[-2:] == [
        'ci/catalog/http-flask.yaml:9: http-flask $.instanceType: "m5" does not match pattern '
        "^ml\\.[a-z0-9-]+\\.[0-9]*[a-z]+$",
        "1 problem found",
    ]
    readme = (REPO / "README.md").read_text()
    assert "id: mlcc-ci-catalog" in readme


# -- make help ------------------------------------------------------------------------------


@pytest.mark.functional
def test_make_help_lists_every_target_and_is_not_the_default_goal():
    makefile = (REPO / "Makefile").read_text()
    phony = {
        t for line in makefile.splitlines() if line.startswith(".PHONY:") for t in line.split()[1:]
    }
    shown = subprocess.run(
        ["make", "-s", "-C", str(REPO), "help"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    described = {line.split()[0]: line.split(maxsplit=1)[1] for line in shown}
    assert set(described) == phony
    assert all(len(text) > 5 for text in described.values())
    database = subprocess.run(
        ["make", "-p", "-n", "-C", str(REPO), "help"], capture_output=True, text=True, check=True
    ).stdout
    (default,) = re.findall(r"^\.DEFAULT_GOAL := (.*)$", database, re.M)
    assert default == ".venv/bin/.core"  # a bare `make` sets up the virtualenv, as before
