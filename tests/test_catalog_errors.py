"""Every bad input gets one short line naming the file, exit code 1, and no traceback."""

import shutil
from pathlib import Path

import pytest

from mlcc_ci.resources import catalog_dir

GOOD = (catalog_dir() / "http-flask.yaml").read_text()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(catalog_dir() / "_defaults.yaml", tmp_path / "_defaults.yaml")
    return tmp_path


def check(cli, path: Path, *expected: str):
    result = cli("catalog", "validate", str(path))
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if not x.startswith("note: ")]
    assert lines[:-1] == list(expected)
    assert lines[-1] == f"{len(expected)} problem{'s' if len(expected) != 1 else ''} found"
    assert "Traceback" not in result.output
    assert all(len(line) < 300 for line in lines)
    return result


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def rel(path: Path) -> str:
    import os

    return os.path.relpath(path)


def test_malformed_yaml(cli, folder):
    p = write(folder, "bad.yaml", "name: x\narchitecture: [http\n")
    check(cli, p, f"{rel(p)}:3: invalid YAML: expected ',' or ']', but got '<stream end>'")


def test_empty_file(cli, folder):
    p = write(folder, "empty.yaml", "# only a comment\n")
    check(cli, p, f"{rel(p)}:1: empty file; expected a mapping")


def test_list_where_a_mapping_belongs(cli, folder):
    p = write(folder, "list.yaml", "- name: http-flask\n")
    check(cli, p, f"{rel(p)}:1: expected a mapping at the top level, got a list")


def test_wrong_types(cli, folder):
    text = GOOD.replace("instanceType: ml.m5.large", "instanceType: 42").replace(
        "tags: [", "tags: 7\nx_tags: ["
    )
    p = write(folder, "http-flask.yaml", text)
    check(
        cli,
        p,
        f"{rel(p)}:9: http-flask $.instanceType: expected string, got an integer",
        f"{rel(p)}:16: http-flask $.tags: expected array, got an integer",
        f"{rel(p)}:17: http-flask $.x_tags: unknown key \"x_tags\" (did you mean 'tags'?)",
    )


def test_not_utf8(cli, folder):
    p = write(folder, "latin.yaml", b"name: caf\xe9\n")
    check(cli, p, f"{rel(p)}:1: not UTF-8 text (byte 0xe9 at offset 9)")


def test_huge_file(cli, folder):
    p = write(folder, "huge.yaml", "name: " + "x" * 300_000 + "\n")
    check(cli, p, f"{rel(p)}:1: file too large (300007 bytes; the limit is 262144)")


def test_alias_bomb_is_refused_not_expanded(cli, folder):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    p = write(folder, "bomb.yaml", "\n".join(lines) + "\n")
    check(cli, p, f"{rel(p)}:2: YAML aliases are not allowed (found *a); write the value out")


def test_tabs(cli, folder):
    p = write(folder, "tabs.yaml", "name: http-flask\nsupport:\n\tstate: supported\n")
    check(cli, p, f"{rel(p)}:3: tab character in indentation; indent with spaces")


def test_unknown_key_did_you_mean_and_bad_enum(cli, folder):
    text = GOOD.replace("instanceType:", "instanceTyp:").replace(
        "buildStrategy: docker-in-docker", "buildStrategy: docker"
    )
    p = write(folder, "http-flask.yaml", text)
    check(
        cli,
        p,
        f'{rel(p)}:9: http-flask $.instanceTyp: unknown key "instanceTyp" '
        "(did you mean 'instanceType'?)",
        f'{rel(p)}:10: http-flask $.buildStrategy: "docker" is not one of: '
        "codebuild-submit, docker-in-docker",
    )


def test_patterns_and_missing_after_merge(cli, folder):
    text = GOOD.replace("ml.m5.large", "m5.large").replace("python:3.12-slim", "Not An Image!")
    p = write(folder, "http-flask.yaml", text)
    check(
        cli,
        p,
        f'{rel(p)}:7: http-flask $.baseImage: "Not An Image!" does not match pattern '
        + __import__("mlcc_ci.resources").resources.load_schema("catalog-entry.schema.json")[
            "$defs"
        ]["imageOrNull"]["oneOf"][1]["pattern"],
        f'{rel(p)}:9: http-flask $.instanceType: "m5.large" does not match pattern '
        "^ml\\.[a-z0-9-]+\\.[0-9]*[a-z]+$",
    )
    p2 = write(folder, "http-flask.yaml", GOOD.replace("instanceType: ml.m5.large\n", ""))
    check(cli, p2, f"{rel(p2)}:2: http-flask $: missing required key 'instanceType'")


def test_cross_file_problems(cli, folder):
    write(folder, "http-flask.yaml", GOOD)
    write(folder, "copy.yaml", GOOD)
    twin = GOOD.replace("name: http-flask", "name: http-flask-two\ngeneratorName: http-flask")
    write(folder, "twin.yaml", twin)
    gpu = (catalog_dir() / "transformers-vllm.yaml").read_text()
    gpu = gpu.replace("ml.g6.12xlarge", "ml.m5.large").replace(
        "codebuild-submit", "docker-in-docker"
    )
    gpu += "region: sa-east-1\nstages:\n  build:\n    timeoutSeconds: 9000\n"
    write(folder, "transformers-vllm.yaml", gpu)
    result = cli("catalog", "validate", str(folder))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    f = rel(folder)
    assert lines == [  # by file, then by line number (9 before 15), whatever found them
        "note: not checked against the generator's parameters: @aws/ml-container-creator@1.6.0 "
        "is not installed (mlcc-ci generator install)",
        f"{f}/copy.yaml:2: http-flask $: deploys the same thing as 'http-flask-two' "
        f"({f}/twin.yaml): generator name, model, instance type, region and target are all equal",
        f"{f}/http-flask.yaml:2: http-flask $.name: duplicate name 'http-flask' "
        f"(also in {f}/copy.yaml:2)",
        f"{f}/transformers-vllm.yaml:9: transformers-vllm $.instanceType: transformers entries "
        "need a GPU instance (ml.g*, ml.p*, ml.inf*, ml.trn*), not 'ml.m5.large'",
        f"{f}/transformers-vllm.yaml:15: transformers-vllm $.region: region 'sa-east-1' is not "
        "one the defaults allow (us-east-1, us-east-2, us-west-2, eu-west-1, eu-central-1, "
        "ap-northeast-1)",
        f"{f}/transformers-vllm.yaml:18: transformers-vllm $.stages.build.timeoutSeconds: "
        "9000s exceeds the defaults' maxStageTimeoutSeconds 7200",
        f"{f}/twin.yaml:2: http-flask-two $: deploys the same thing as 'http-flask' "
        f"({f}/copy.yaml): generator name, model, instance type, region and target are all equal",
        "6 problems found",
    ]


def test_missing_path(cli, tmp_path):
    result = cli("catalog", "validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == f"{rel(tmp_path / 'nope.yaml')}: no such file or folder"


def test_a_mistyped_path_gets_the_close_file(cli, folder):
    write(folder, "http-flask.yaml", GOOD)
    check(
        cli,
        folder / "http-flsk.yaml",
        f"{rel(folder / 'http-flsk.yaml')}: no such file or folder "
        f"(did you mean '{rel(folder / 'http-flask.yaml')}'?)",
    )


def test_an_instance_type_sagemaker_does_not_offer(cli, folder, tmp_path, monkeypatch):
    """From botocore's own service model, offline; the static profile refuses it too."""
    import botocore

    import mlcc_ci.catalog as catalog_module

    p = write(folder, "http-flask.yaml", GOOD.replace("ml.m5.large", "ml.g5.99xlarge"))
    expected = (
        f"{rel(p)}:9: http-flask $.instanceType: SageMaker has no instance type "
        f"'ml.g5.99xlarge' for realtime-inference (botocore {botocore.__version__}); "
        "did you mean 'ml.g5.xlarge'?"
    )
    check(cli, p, expected)
    monkeypatch.setattr(catalog_module, "catalog_dir", lambda: folder)
    store = f"sqlite:///{tmp_path}/r.db"
    result = cli("run", "http-flask", "--dry-run", "--profile", "static", "--store", store)
    assert result.exit_code != 0
    assert result.output == f"Error: {expected}\n"


@pytest.mark.parametrize(
    "command",
    [
        ("catalog", "show", "http-flsk"),
        ("run", "http-flsk", "--dry-run", "--store", "sqlite:///{tmp}/r.db"),
        ("register", "--from-catalog", "http-flsk", "--store", "sqlite:///{tmp}/r.db"),
    ],
)
def test_a_mistyped_configuration_name_gets_a_did_you_mean(cli, tmp_path, command):
    from mlcc_ci.errors import NotFound

    result = cli(*(arg.format(tmp=tmp_path) for arg in command))
    assert (result.exit_code, result.output) == (
        NotFound.exit_code,
        "Error: no catalog entry named 'http-flsk' (did you mean 'http-flask'?)\n",
    )


def test_the_generators_own_name_is_suggested_too(cli, tmp_path):
    result = cli("catalog", "show", "triton-onnxruntim")
    assert result.output == (
        "Error: no catalog entry named 'triton-onnxruntim' (did you mean 'triton-onnxruntime'?)\n"
    )
    assert cli("catalog", "show", "triton-onnxruntime").output.startswith("# ")


def test_validate_finds_shipped_catalog_from_any_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("catalog", "validate").output.endswith("catalog valid: 19 entries\n")


def test_duplicate_keys(cli, folder):
    p = write(folder, "dup.yaml", "name: http-flask\nowner: a\nowner: b\n")
    check(cli, p, f"{rel(p)}:3: duplicate key 'owner' (first on line 2)")


def test_commands_that_load_the_catalog_say_it_is_broken(cli, tmp_path, monkeypatch):
    import mlcc_ci.catalog as catalog_module

    broken = tmp_path / "catalog"
    shutil.copytree(catalog_dir(), broken)
    (broken / "http-flask.yaml").write_text(GOOD.replace("ml.m5.large", "m5"))
    (broken / "triton-fil.yaml").write_text("- not a mapping\n")
    monkeypatch.setattr(catalog_module, "catalog_dir", lambda: broken)
    result = cli("catalog", "list")
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert result.output.rstrip().endswith("(and 1 more: run mlcc-ci catalog validate)")


def test_secrets_do_not_belong_in_the_catalog(cli, folder):
    p = write(
        folder, "http-flask.yaml", GOOD + "parameters:\n  HF_TOKEN: hf_abc\n  LOG_LEVEL: info\n"
    )
    result = check(
        cli,
        p,
        f"{rel(p)}:{GOOD.count(chr(10)) + 2}: http-flask $.parameters.HF_TOKEN: HF_TOKEN looks like a secret; secrets "
        "never go in the catalog (or the results store): give them to the executor's environment "
        "instead",
    )
    assert "hf_abc" not in result.output
