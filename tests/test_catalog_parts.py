"""The catalog's small parts by example: where a problem sorts, where a generator parameter
lives in an entry, where a merged value was written, and what a broken file is called."""

from pathlib import Path

import pytest

from mlcc_ci.catalog import Entry, entry_path, load_catalog, locate, problem_order
from mlcc_ci.safeyaml import Loaded


def test_problems_sort_by_file_then_line_number():
    assert problem_order("catalog/a.yaml:12: a $.name: bad") == ("catalog/a.yaml", 12)
    assert problem_order("catalog/a.yaml: no such file or folder") == ("catalog/a.yaml", 0)
    assert problem_order("no place named") == ("no place named", 0)
    lines = ["b.yaml:3: x", "a.yaml:10: y", "a.yaml: z", "a.yaml:9: w"]
    assert sorted(lines, key=problem_order) == [
        "a.yaml: z",
        "a.yaml:9: w",
        "a.yaml:10: y",
        "b.yaml:3: x",
    ]


def test_a_generator_parameter_is_found_where_the_entry_wrote_it():
    plain = Entry(
        "http-flask",
        {"name": "http-flask", "generatorOptions": {"modelFormat": "x"}},
        Path("e.yaml"),
    )
    renamed = Entry(
        "triton-onnx",
        {"name": "triton-onnx", "generatorName": "triton-onnxruntime"},
        Path("e.yaml"),
    )
    assert entry_path(plain, ("deploymentConfig",)) == ("name",)
    assert entry_path(renamed, ("deploymentConfig",)) == ("generatorName",)
    assert entry_path(plain, ("awsRegion",)) == ("region",)
    assert entry_path(plain, ("projectName",)) == ("name",)
    assert entry_path(plain, ("modelFormat", 0)) == ("generatorOptions", "modelFormat", 0)
    assert entry_path(plain, ("instanceType",)) == ("instanceType",)
    # a key the entry sets itself is the entry's, even when generatorOptions repeats it
    both = Entry(
        "x", {"name": "x", "backend": "a", "generatorOptions": {"backend": "b"}}, Path("e.yaml")
    )
    assert entry_path(both, ("backend",)) == ("backend",)


def test_a_merged_value_is_placed_in_the_file_that_names_most_of_its_path():
    team = (Path("team.yaml"), Loaded({}, {("a",): 2, ("a", "b"): 3}))
    shipped = (Path("shipped.yaml"), Loaded({}, {("a",): 20, ("a", "b"): 30, ("a", "b", "c"): 40}))
    assert locate([team, shipped], ("a", "b", "c")) == (Path("shipped.yaml"), 40)
    assert locate([team, shipped], ("a", "b")) == (Path("team.yaml"), 3)  # a tie: the first
    assert locate([team, shipped], ("z",)) == (Path("team.yaml"), 1)  # nowhere: the first, line 1


def test_a_file_that_is_no_mapping_says_what_it_is(tmp_path):
    (tmp_path / "text.yaml").write_text("just text\n")
    (tmp_path / "number.yaml").write_text("42\n")
    problems = load_catalog([tmp_path / "text.yaml", tmp_path / "number.yaml"]).problems
    assert [p.split(": ", 1)[1] for p in problems] == [
        "expected a mapping at the top level, got a int",
        "expected a mapping at the top level, got a str",
    ]


def test_a_mistyped_path_is_matched_against_yml_files_and_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # problems name files relative to here
    (tmp_path / "http-flask.yml").write_text("name: http-flask\n")
    (tmp_path / "teams").mkdir()
    (tmp_path / "notes.txt").write_text("")
    catalog = load_catalog([tmp_path / "http-flsk.yml", tmp_path / "team", tmp_path / "note.txt"])
    assert catalog.problems == [
        "http-flsk.yml: no such file or folder (did you mean 'http-flask.yml'?)",
        "note.txt: no such file or folder",  # a .txt is no catalog file
        "team: no such file or folder (did you mean 'teams'?)",
    ]
    # in a folder that is not there either: nothing to suggest
    gone = load_catalog([tmp_path / "gone" / "x.yaml"]).problems
    assert gone == ["gone/x.yaml: no such file or folder"]


def test_a_path_without_a_line_gets_the_line_of_its_nearest_enclosing_key():
    from mlcc_ci.catalog import line_of

    lines = {("a",): 2, ("a", "b"): 5}
    assert line_of(lines, ("a", "b", "c", "d")) == 5
    assert line_of(lines, ("a", "x")) == 2
    assert line_of(lines, ("z",)) == 1  # nowhere: the first line


ENTRY = {
    "name": "x",
    "architecture": "http",
    "backend": "flask",
    "instanceType": "ml.m5.large",
    "region": "us-east-1",
    "deploymentTarget": "realtime-inference",
}


def test_the_generator_config_of_a_bare_entry():
    from mlcc_ci.catalog import generator_config

    assert generator_config(ENTRY) == {
        "projectName": "mlcc-ci-x",
        "deploymentConfig": "x",
        "architecture": "http",
        "backend": "flask",
        "instanceType": "ml.m5.large",
        "awsRegion": "us-east-1",
        "deploymentTarget": "realtime-inference",
    }


def test_the_generator_config_of_a_full_entry():
    from mlcc_ci.catalog import generator_config

    full = {
        **ENTRY,
        "projectName": "mine",
        "generatorName": "y",
        "modelName": "m",
        "buildTarget": "t",
        "baseImage": "b",
        "buildStrategy": "codebuild-submit",
        "endpointConfig": {"a": 1},
        "icConfig": {"b": 2},
        "parameters": {"p": 1},
        # the generator's own parameters; one the entry sets itself stays the entry's
        "generatorOptions": {"modelFormat": "onnx", "backend": "other"},
    }
    assert generator_config(full) == {
        "projectName": "mine",
        "deploymentConfig": "y",
        "architecture": "http",
        "backend": "flask",
        "instanceType": "ml.m5.large",
        "awsRegion": "us-east-1",
        "deploymentTarget": "realtime-inference",
        "buildTarget": "t",
        "baseImage": "b",
        "buildStrategy": "codebuild-submit",
        "modelName": "m",
        "endpointConfig": {"a": 1},
        "icConfig": {"b": 2},
        "parameters": {"p": 1},
        "modelFormat": "onnx",
    }
    # empty ones are left out, as is a model name that is empty
    empty = {**ENTRY, "endpointConfig": {}, "icConfig": {}, "parameters": {}, "modelName": ""}
    assert generator_config(empty) == generator_config(ENTRY)


def test_compact_json_sorts_keys_and_keeps_non_ascii():
    from mlcc_ci.catalog import compact_json

    assert compact_json({"b": 1, "a": "é", "c": [1, {"e": 2, "d": 3}]}) == (
        '{"a":"é","b":1,"c":[1,{"d":3,"e":2}]}'
    )


RULED = {
    **ENTRY,
    "architecture": "transformers",
    "support": {"state": "supported"},
    "region": "eu-west-1",
    "stages": {
        "build": {"timeoutSeconds": 9000},
        "deploy_test": {},
        "validate": {"timeoutSeconds": 7200},
    },
    "parameters": {"API_TOKEN": "x", "size": 1},
}
SECRET = (
    "API_TOKEN looks like a secret; secrets never go in the catalog (or the results store): "
    "give them to the executor's environment instead"
)


def test_the_defaults_rules_each_say_what_they_refuse():
    from mlcc_ci.catalog import rule_problems

    entry = Entry("x", RULED, Path("x.yaml"))
    rules = {
        "regions": ["us-east-1", "us-west-2"],
        "maxStageTimeoutSeconds": 7200,
        "gpuArchitectures": ["transformers"],
    }
    assert list(rule_problems(entry, rules)) == [
        (("region",), "region 'eu-west-1' is not one the defaults allow (us-east-1, us-west-2)"),
        (
            ("stages", "build", "timeoutSeconds"),
            "9000s exceeds the defaults' maxStageTimeoutSeconds 7200",
        ),
        (("parameters", "API_TOKEN"), SECRET),
        (
            ("instanceType",),
            "transformers entries need a GPU instance (ml.g*, ml.p*, ml.inf*, ml.trn*), not 'ml.m5.large'",
        ),
    ]
    # no rules: only the secret, which no rule allows
    assert list(rule_problems(entry, {})) == [(("parameters", "API_TOKEN"), SECRET)]
    # an allowed region, a GPU instance, an unsupported entry: nothing to say
    fine = {
        **RULED,
        "region": "us-east-1",
        "instanceType": "ml.g5.xlarge",
        "parameters": {},
    }
    del fine["stages"]  # none of its own: nothing to time out
    assert list(rule_problems(Entry("x", fine, Path("x.yaml")), rules)) == []
    cpu = {
        **fine,
        "instanceType": "ml.m5.large",
        "support": {"state": "unsupported", "reason": "r"},
    }
    assert list(rule_problems(Entry("x", cpu, Path("x.yaml")), rules)) == []


def test_an_instance_type_sagemaker_lacks_gets_the_closest():
    from mlcc_ci.catalog import rule_problems

    entry = Entry("x", {**RULED, "instanceType": "ml.m5.lrge", "parameters": {}}, Path("x.yaml"))
    ((path, message),) = list(rule_problems(entry, {}))
    assert path == ("instanceType",)
    assert message.startswith("SageMaker has no instance type 'ml.m5.lrge' for realtime-inference")
    assert message.endswith("did you mean 'ml.m5.large'?")


def test_merge_maps_key_by_key_and_replaces_the_rest():
    from mlcc_ci.catalog import inherited, merge

    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"d": {"e": 1}}}
    assert merge(base, {"a": {"y": [3]}, "b": {"new": 1}, "c": {"d": {"f": 2}}}) == {
        "a": {"x": 1, "y": [3]},
        "b": {"new": 1},
        "c": {"d": {"e": 1, "f": 2}},
    }
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"d": {"e": 1}}}  # untouched
    defaults = {"region": "us-east-1", "owner": "o", "generator": {"version": "1"}, "rules": {}}
    assert inherited(defaults) == {"region": "us-east-1", "owner": "o"}


def test_get_finds_an_entry_by_either_name_or_suggests_one():
    from mlcc_ci.catalog import Catalog
    from mlcc_ci.errors import NotFound

    renamed = Entry(
        "triton-onnx",
        {**RULED, "name": "triton-onnx", "generatorName": "triton-onnxruntime"},
        Path("y"),
    )
    catalog = Catalog(defaults={}, entries=[Entry("x", RULED, Path("x")), renamed])
    assert catalog.get("triton-onnxruntime") is renamed
    assert catalog.get("triton-onnx") is renamed
    for name, message in {
        "triton-onnxrt": "no catalog entry named 'triton-onnxrt' (did you mean 'triton-onnx'?)",
        "triton-onnxruntim": "no catalog entry named 'triton-onnxruntim' (did you mean 'triton-onnxruntime'?)",
        "zzzzzz": "no catalog entry named 'zzzzzz' (known: x, triton-onnx)",
    }.items():
        with pytest.raises(NotFound) as caught:
            catalog.get(name)
        assert str(caught.value) == message


def test_an_entrys_names_support_and_identity():
    renamed = Entry(
        "triton-onnx",
        {**RULED, "name": "triton-onnx", "generatorName": "triton-onnxruntime", "modelName": ""},
        Path("y"),
    )
    assert renamed.generator_name == "triton-onnxruntime" and renamed.model_name is None
    assert renamed.supported and renamed.support_reason == ""
    assert renamed.config_id != renamed.generator_identity
    plain = Entry(
        "x",
        {**RULED, "support": {"state": "unsupported", "reason": "why"}, "modelName": "m"},
        Path("x"),
    )
    assert plain.generator_name == "x" and plain.model_name == "m"
    assert not plain.supported and plain.support_reason == "why"
    assert plain.config_id == plain.generator_identity


def test_load_valid_catalog_loads_the_paths_it_is_given(tmp_path):
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.errors import CatalogError

    (tmp_path / "bad.yaml").write_text("- a list\n")
    with pytest.raises(CatalogError):
        load_valid_catalog([tmp_path / "bad.yaml"])


def test_merge_copies_so_that_no_change_to_the_result_reaches_its_sources():
    from mlcc_ci.catalog import merge

    base = {"a": {"y": [1, 2]}}
    override = {"b": {"l": [1]}}
    merged = merge(base, override)
    merged["a"]["y"].append(3)
    merged["b"]["l"].append(2)
    assert base == {"a": {"y": [1, 2]}} and override == {"b": {"l": [1]}}


def test_problems_sort_by_file_and_line_keeping_the_order_found_on_one_line():
    from mlcc_ci.catalog import _Collector

    out = _Collector()
    out.add(Path("b.yaml"), 1, "first")
    out.add(Path("a.yaml"), 2, "z: found first")
    out.add(Path("a.yaml"), 2, "b: found second")
    out.add(Path("a.yaml"), 0, "no line")
    assert out.sorted() == [
        "a.yaml: no line",
        "a.yaml:2: z: found first",
        "a.yaml:2: b: found second",
        "b.yaml:1: first",
    ]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A team catalog folder: the shipped defaults, failure rules and http-flask; problems
    name its files relative to it."""
    import shutil

    from mlcc_ci.resources import catalog_dir

    for name in ("_defaults.yaml", "_failures.yaml", "http-flask.yaml"):
        shutil.copy(catalog_dir() / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_files_named_one_by_one_defaults_and_rules_included(folder):
    catalog = load_catalog(
        [folder / "_failures.yaml", folder / "_defaults.yaml", folder / "http-flask.yaml"]
    )
    assert [e.name for e in catalog.entries] == ["http-flask"] and catalog.problems == []


def test_broken_defaults_are_reported_and_nothing_inherits_from_them(folder):
    (folder / "_defaults.yaml").write_text("a: [\n")
    catalog = load_catalog([folder])
    assert catalog.problems == [
        "_defaults.yaml:2: invalid YAML: expected the node content, but found '<stream end>'"
    ]
    assert catalog.entries == []
    (folder / "_defaults.yaml").write_text("extends: mlcc-ci\nzzz: 1\n")
    catalog = load_catalog([folder])
    assert catalog.problems == ['_defaults.yaml:2: defaults $.zzz: unknown key "zzz"']
    assert catalog.entries == [] and catalog.defaults == {}


def test_extends_is_how_defaults_are_merged_not_a_default(folder):
    (folder / "_defaults.yaml").write_text("extends: mlcc-ci\n")
    catalog = load_catalog([folder])
    assert catalog.problems == [] and "extends" not in catalog.defaults
    assert [e.name for e in catalog.entries] == ["http-flask"]


def test_broken_shipped_defaults_under_a_team_file_are_reported(folder, monkeypatch):
    import mlcc_ci.catalog as catalog_module

    shipped = folder / "shipped"
    (shipped / "catalog").mkdir(parents=True)
    (shipped / "catalog" / "_defaults.yaml").write_text("- a list\n")
    monkeypatch.setattr(catalog_module, "data_path", lambda name: shipped / name)
    (folder / "_defaults.yaml").write_text("extends: mlcc-ci\n")
    assert load_catalog([folder]).problems == [
        "shipped/catalog/_defaults.yaml:1: expected a mapping at the top level, got a list"
    ]


def test_without_any_defaults_file_an_entry_must_say_everything(tmp_path, monkeypatch):
    import mlcc_ci.catalog as catalog_module

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(catalog_module, "catalog_dir", lambda: tmp_path)  # no _defaults.yaml
    (tmp_path / "full.yaml").write_text(
        "name: full\narchitecture: http\nbackend: flask\nsupport: {state: supported}\n"
        "baseImage: python:3.12-slim\ninstanceType: ml.m5.large\nregion: us-east-1\n"
        "deploymentTarget: realtime-inference\nbuildStrategy: codebuild-submit\n"
        "smokeTest: {payload: {}, expect: {path: x}}\nstages: {}\nowner: me\n"
        "parameters: {API_TOKEN: x}\n"
    )
    catalog = load_catalog([tmp_path / "full.yaml"])
    assert [e.name for e in catalog.entries] == ["full"]
    assert catalog.problems == [f"full.yaml:13: full $.parameters.API_TOKEN: {SECRET}"]


def test_an_entry_whose_name_is_no_text_is_labelled_by_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd.yaml").write_text("name: 7\n")
    assert load_catalog([tmp_path / "odd.yaml"]).problems == [
        "odd.yaml:1: odd $: missing required key 'architecture', 'backend', 'support'",
        "odd.yaml:1: odd $.name: expected string, got an integer",
    ]


def test_with_broken_defaults_every_file_is_still_checked(folder):
    (folder / "_defaults.yaml").write_text("extends: mlcc-ci\nzzz: 1\n")
    (folder / "zz.yaml").write_text("name: zz\n")
    assert load_catalog([folder]).problems == [
        '_defaults.yaml:2: defaults $.zzz: unknown key "zzz"',
        "zz.yaml:1: zz $: missing required key 'architecture', 'backend', 'support'",
    ]


def test_a_duplicate_name_is_reported_and_the_files_after_it_still_load(folder):
    import shutil

    from mlcc_ci.resources import catalog_dir

    shutil.copy(folder / "http-flask.yaml", folder / "a1.yaml")
    shutil.copy(folder / "http-flask.yaml", folder / "a2.yaml")
    (folder / "http-flask.yaml").unlink()
    shutil.copy(catalog_dir() / "http-fastapi.yaml", folder / "b.yaml")
    catalog = load_catalog([folder])
    assert catalog.problems == [
        "a2.yaml:2: http-flask $.name: duplicate name 'http-flask' (also in a1.yaml:2)"
    ]
    assert [e.name for e in catalog.entries] == ["http-flask", "http-fastapi"]


def test_entries_come_in_architecture_order_and_keep_their_lines(folder):
    import shutil

    from mlcc_ci.resources import catalog_dir

    shutil.copy(catalog_dir() / "transformers-vllm.yaml", folder / "transformers-vllm.yaml")
    entries = load_catalog([folder]).entries
    assert [e.name for e in entries] == ["transformers-vllm", "http-flask"]  # not file order
    assert entries[1].lines[("name",)] == 2 and entries[1].lines[("instanceType",)] == 9


def test_the_defaults_file_named_last_or_alone(folder):
    assert load_catalog([folder / "_defaults.yaml"]).problems == []
    catalog = load_catalog([folder / "http-flask.yaml", folder / "_defaults.yaml"])
    assert [e.name for e in catalog.entries] == ["http-flask"] and catalog.problems == []


def test_an_entry_deploying_the_same_as_another_is_reported_and_the_files_after_it_still_load(
    folder,
):
    import shutil

    from mlcc_ci.resources import catalog_dir

    text = (folder / "http-flask.yaml").read_text()
    (folder / "http-flask.yaml").unlink()
    (folder / "a1.yaml").write_text(text)
    (folder / "a2.yaml").write_text(
        text.replace("name: http-flask", "name: flask-two\ngeneratorName: http-flask")
    )
    shutil.copy(catalog_dir() / "http-fastapi.yaml", folder / "b.yaml")
    catalog = load_catalog([folder])
    assert catalog.problems == [  # on both files, each naming the other
        "a1.yaml:2: http-flask $: deploys the same thing as 'flask-two' (a2.yaml): "
        "generator name, model, instance type, region and target are all equal",
        "a2.yaml:2: flask-two $: deploys the same thing as 'http-flask' (a1.yaml): "
        "generator name, model, instance type, region and target are all equal",
    ]
    assert [e.name for e in catalog.entries] == ["http-flask", "http-fastapi"]
