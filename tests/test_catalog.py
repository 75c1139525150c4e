import json
import os

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.configid import config_id

ALL = [
    "transformers-vllm",
    "transformers-sglang",
    "transformers-lmi",
    "transformers-djl",
    "transformers-tensorrt-llm",
    "http-flask",
    "http-fastapi",
    "http-nginx",
    "triton-fil",
    "triton-python",
    "triton-onnx",
    "triton-tensorrt",
    "triton-tensorflow",
    "triton-pytorch",
    "triton-vllm",
    "diffusors-vllm",
    "diffusors-sglang",
    "diffusors-comfyui",
    "marketplace",
]
UNSUPPORTED = {"http-nginx", "diffusors-sglang", "diffusors-comfyui", "marketplace"}


def test_shipped_catalog_validates_and_says_what_it_could_not_check(cli):
    result = cli("catalog", "validate")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "note: not checked against the generator's parameters: "
        "@aws/ml-container-creator@1.6.0 is not installed (mlcc-ci generator install)\n"
        "catalog valid: 19 entries\n"
    )


def test_list_json_has_all_nineteen_with_config_ids(cli):
    result = cli("catalog", "list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert sorted(r["name"] for r in rows) == sorted(ALL)
    for row in rows:
        entry = load_valid_catalog().get(row["name"])
        d = entry.data
        assert row["configId"] == config_id(
            row["name"], d["modelName"], d["instanceType"], d["region"], d["deploymentTarget"]
        )
    assert {r["name"] for r in rows if r["support"] == "unsupported"} == UNSUPPORTED


def test_list_table(cli):
    result = cli("catalog", "list")
    assert result.exit_code == 0
    assert "transformers-vllm" in result.output and "configId" in result.output


def test_every_file_points_editors_at_the_schema():
    catalog = load_valid_catalog()
    for entry in catalog.entries:
        first = entry.path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/catalog-entry.schema.json"


def test_design_facts_are_in_the_catalog():
    catalog = load_valid_catalog()
    vllm = catalog.get("transformers-vllm").data
    assert vllm["baseImage"] == "vllm/vllm-openai:v0.10.1"
    assert vllm["instanceType"] == "ml.g6.12xlarge"
    onnx = catalog.get("triton-onnx")
    assert onnx.generator_name == "triton-onnxruntime"
    assert json.loads(onnx.config_json)["deploymentConfig"] == "triton-onnxruntime"
    flask = catalog.get("http-flask").data
    assert flask["buildStrategy"] == "docker-in-docker"
    assert flask["smokeTest"]["payload"] == {"instances": [[1.0, 2.0, 3.0, 4.0]]}
    # inherited from the defaults
    assert flask["smokeTest"]["healthPath"] == "/ping"
    assert flask["stages"]["teardown"]["command"] == (
        'bash ./do/clean.d/"$MLCC_DEPLOYMENT_TARGET" all --force'
    )
    # generator 1.6.0's do/test rejects the http framework: the smoke test stands in
    assert flask["stages"]["deploy_test"] == {"command": "./do/deploy", "timeoutSeconds": 3600}
    assert catalog.get("diffusors-comfyui").support_reason


def test_show_json_gives_merged_entry_and_compact_config_json(cli):
    result = cli("catalog", "show", "triton-onnx", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["entry"]["region"] == "us-east-1"
    assert " " not in doc["configJson"]
    config = json.loads(doc["configJson"])
    assert config["projectName"] == "mlcc-ci-triton-onnx"
    assert config["awsRegion"] == "us-east-1"
    assert "modelName" not in config  # triton-onnx has no model


def test_show_text_and_unknown_name(cli):
    assert "configId:" in cli("catalog", "show", "http-flask").output
    result = cli("catalog", "show", "nope")
    assert result.exit_code == 2
    known = ", ".join(e.name for e in load_valid_catalog().entries)
    assert result.output == f"Error: no catalog entry named 'nope' (known: {known})\n"
    typo = cli("catalog", "show", "http-flsk")
    assert typo.output == "Error: no catalog entry named 'http-flsk' (did you mean 'http-flask'?)\n"
    # names are lower case: another case is the name, suggested (never taken for it)
    upper = cli("catalog", "show", "Triton-ONNX")
    assert upper.exit_code == 2
    assert upper.output == (
        "Error: no catalog entry named 'Triton-ONNX' (did you mean 'triton-onnx'?)\n"
    )


def test_every_command_has_help(cli):
    from mlcc_ci.cli.main import cli as group

    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path, command in walk(group, []):
        assert command.help, f"mlcc-ci {' '.join(path)} has no help text"
        assert cli(*path, "--help").exit_code == 0


def test_a_team_keeps_its_own_catalog(cli, tmp_path, monkeypatch):
    team = tmp_path / "my-catalog"
    made = cli("catalog", "init", str(team))
    assert made.exit_code == 0, made.output
    shipped = len(load_valid_catalog().entries)
    assert made.output.startswith(
        f"created {team}: _defaults.yaml (extends the shipped defaults), {shipped} entries"
    )
    flask = (team / "http-flask.yaml").read_text()
    # the schema comment names the copy beside it: it works for everyone who clones
    assert flask.splitlines()[0] == (
        "# yaml-language-server: $schema=.schema/catalog-entry.schema.json"
    )
    assert sorted(p.name for p in (team / ".schema").iterdir()) == [
        "catalog-defaults.schema.json",
        "catalog-entry.schema.json",
        "failure-rules.schema.json",
    ]
    assert "file://" not in (team / "_defaults.yaml").read_text()
    (team / "http-flask.yaml").write_text(
        flask.replace("name: http-flask", "name: http-flask-team")
    )
    (team / "http-nginx.yaml").unlink()
    listed = cli("--catalog", str(team), "list", "--json")
    names = {row["name"] for row in json.loads(listed.output)}
    assert "http-flask-team" in names and "http-flask" not in names and "http-nginx" not in names
    monkeypatch.setenv("MLCC_CI_CATALOG", str(team))
    assert "http-flask-team" in cli("catalog", "list").output
    assert cli("catalog", "validate").output.endswith(f"catalog valid: {shipped - 1} entries\n")
    again = cli("catalog", "init", str(team))  # the renamed http-flask.yaml is in its way
    assert (again.exit_code, again.output) == (
        2,
        f"Error: {team / 'http-flask.yaml'} is in the way: catalog init overwrites nothing "
        "and wrote nothing; move it away, or choose another folder\n",
    )
    assert not (team / "http-nginx.yaml").exists()
    monkeypatch.delenv("MLCC_CI_CATALOG")
    assert "http-flask-team" not in cli("catalog", "list").output  # the shipped one again


def test_a_team_catalog_extends_the_shipped_defaults(cli, tmp_path):
    """A minimal team _defaults.yaml inherits stage commands, prices, profiles and rules,
    and overrides only what it names."""
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask", "--owner", "team-x").exit_code == 0
    assert sorted(p.name for p in team.iterdir()) == [
        ".schema",
        "_defaults.yaml",
        "http-flask.yaml",
    ]
    defaults = team / "_defaults.yaml"
    defaults.write_text(
        defaults.read_text()
        + "prices:\n  instancePerHour:\n    ml.m5.large: {us-east-1: 0.2}\n"
        + "rules:\n  regions: [us-east-1]\n"
    )
    shown = json.loads(
        cli("--catalog", str(team), "catalog", "show", "http-flask", "--json").output
    )
    shipped = load_valid_catalog().get("http-flask").data
    entry = shown["entry"]
    assert entry["owner"] == "team-x"
    assert entry["stages"] == shipped["stages"]  # inherited, not copied
    from mlcc_ci.catalog import load_valid_catalog as load

    merged = load([team]).defaults
    # maps merge key by key: the region named is the team's, the others still the shipped
    assert merged["prices"]["instancePerHour"]["ml.m5.large"] == {
        "us-east-1": 0.2,
        "us-east-2": 0.115,
        "us-west-2": 0.115,
    }
    # a sibling the team did not name is still the shipped one
    assert merged["prices"]["instancePerHour"]["ml.g5.xlarge"]["us-east-1"] == 1.408
    assert merged["profiles"].keys() == load_valid_catalog().defaults["profiles"].keys()
    assert merged["rules"]["regions"] == ["us-east-1"]  # a list replaces
    assert merged["rules"]["maxStageTimeoutSeconds"] == 7200
    listing = cli("--catalog", str(team), "catalog", "show-defaults").output
    listing = listing.splitlines()
    assert listing[listing.index("owner: team-x") - 1].endswith("_defaults.yaml:7")
    assert listing[listing.index("region: us-east-1") - 1].endswith("catalog/_defaults.yaml:9")
    ran = cli("--catalog", str(team), "run", "http-flask", "--profile", "static", "--dry-run")
    assert ran.exit_code == 0, ran.output


def test_catalog_validate_checks_a_team_s_failure_rules(cli, tmp_path):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask").exit_code == 0
    (team / "_failures.yaml").write_text(
        "# yaml-language-server: $schema=.schema/failure-rules.schema.json\n"
        "rules:\n"
        "  - name: our-proxy\n"
        "    class: infra\n"
        "    stages: [build]\n"
        "    pattern: 'proxy (refused|timeout'\n"
        "    retry: {count: 1, backoffSeconds: 30}\n"
        "    hint: Our proxy; try again.\n"
    )
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 2
    assert result.output.splitlines()[-2:] == [
        f"{os.path.relpath(team / '_failures.yaml')}:6: our-proxy $.rules[0].pattern: "
        "not an RE2 pattern: missing ): proxy (refused|timeout",
        "1 problem found",
    ]


def test_a_team_defaults_problem_points_at_the_file_that_wrote_it(cli, tmp_path):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask").exit_code == 0
    defaults = team / "_defaults.yaml"
    defaults.write_text(defaults.read_text() + "stages:\n  build:\n    timeoutSeconds: -5\n")
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 2
    line = next(n for n, text in enumerate(defaults.read_text().splitlines(), 1) if "-5" in text)
    shown = os.path.relpath(defaults)
    assert result.output.splitlines()[-2:] == [
        f"{shown}:{line}: defaults $.stages.build.timeoutSeconds: -5 breaks minimum 1",
        "1 problem found",
    ]
    # a value inherited by every entry that breaks a rule: at the line that wrote it
    defaults.write_text(defaults.read_text().replace("timeoutSeconds: -5", "timeoutSeconds: 9000"))
    ruled = cli("catalog", "validate", str(team)).output
    assert ruled.splitlines()[-2:] == [
        f"{shown}:{line}: http-flask $.stages.build.timeoutSeconds: 9000s exceeds the "
        "defaults' maxStageTimeoutSeconds 7200",
        "1 problem found",
    ]
    assert "http-flask.yaml" not in ruled
    defaults.write_text(defaults.read_text().replace("extends: mlcc-ci", "extends: ours"))
    wrong = cli("catalog", "validate", str(team))
    assert wrong.output.splitlines()[-2:] == [
        f"{shown}:6: defaults $.extends: can only be 'mlcc-ci', not 'ours'",
        "1 problem found",
    ]


def test_an_entrys_own_name_wins_over_another_entrys_generator_name(tmp_path):
    """A team's smaller copy of a generator configuration (issue 30): `transformers-vllm`
    is the entry of that name, not the copy whose generatorName it is; a generatorName
    answers only when one entry has it, and one two entries share names neither."""
    import shutil

    import pytest

    from mlcc_ci.errors import NotFound
    from mlcc_ci.resources import catalog_dir

    folder = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), folder)
    source = (folder / "transformers-vllm.yaml").read_text()
    small = source.replace(
        "name: transformers-vllm", "name: qwen-vllm-small\ngeneratorName: transformers-vllm"
    ).replace("instanceType: ml.g6.12xlarge", "instanceType: ml.g5.xlarge")
    (folder / "a-qwen-vllm-small.yaml").write_text(small)  # first in file order
    catalog = load_valid_catalog([folder])
    assert catalog.get("transformers-vllm").name == "transformers-vllm"
    assert catalog.get("qwen-vllm-small").name == "qwen-vllm-small"
    (folder / "transformers-vllm.yaml").unlink()
    assert load_valid_catalog([folder]).get("transformers-vllm").name == "qwen-vllm-small"
    other = small.replace("name: qwen-vllm-small", "name: qwen-vllm-tiny").replace(
        "instanceType: ml.g5.xlarge", "instanceType: ml.g5.2xlarge"
    )
    (folder / "b-qwen-vllm-tiny.yaml").write_text(other)
    with pytest.raises(NotFound) as shared:
        load_valid_catalog([folder]).get("transformers-vllm")
    assert str(shared.value) == (
        "no catalog entry named 'transformers-vllm'; it is the generatorName of "
        "qwen-vllm-small, qwen-vllm-tiny: name one of them"
    )
