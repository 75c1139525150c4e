import json

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
    assert result.output.startswith("Error: no catalog entry named 'nope' (known: ")
    typo = cli("catalog", "show", "http-flsk")
    assert typo.output == "Error: no catalog entry named 'http-flsk' (did you mean 'http-flask'?)\n"


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
    assert made.output.startswith(f"created {team} with 19 entries and _defaults.yaml")
    flask = (team / "http-flask.yaml").read_text()
    from mlcc_ci.resources import data_path

    assert flask.splitlines()[0] == (
        f"# yaml-language-server: $schema={data_path('schema').resolve().as_uri()}"
        "/catalog-entry.schema.json"
    )
    (team / "http-flask.yaml").write_text(
        flask.replace("name: http-flask", "name: http-flask-team")
    )
    (team / "http-nginx.yaml").unlink()
    listed = cli("--catalog", str(team), "list", "--json")
    names = {row["name"] for row in json.loads(listed.output)}
    assert "http-flask-team" in names and "http-flask" not in names and "http-nginx" not in names
    monkeypatch.setenv("MLCC_CI_CATALOG", str(team))
    assert "http-flask-team" in cli("catalog", "list").output
    assert cli("catalog", "validate").output.endswith("catalog valid: 18 entries\n")
    again = cli("catalog", "init", str(team))
    assert (
        again.exit_code == 2
        and again.output == f"Error: {team} is not an empty folder; choose a new one\n"
    )
    monkeypatch.delenv("MLCC_CI_CATALOG")
    assert "http-flask-team" not in cli("catalog", "list").output  # the shipped one again
