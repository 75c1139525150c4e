"""The catalog's files, rules and shown paths, called directly (the CLI tests that reach them
run a command each, too slow to run against every mutant). Written for make mutation
(issue 33): no fast test of the selection reached what issues 29 to 31 added."""

import pytest

from mlcc_ci import catalog
from mlcc_ci.catalog import (
    DEFAULTS_FILE,
    Entry,
    _Collector,
    _files,
    _own_file_problem,
    rule_problems,
    shown_path,
)

pytestmark = pytest.mark.unit

SECRET = (
    "API_TOKEN looks like a secret; secrets never go in the catalog (or the results store): "
    "give them to the executor's environment instead"
)
GPU = "ml.g*, ml.p*, ml.inf*, ml.trn*"


def entry(supported: bool = True, **data) -> Entry:
    base = {
        "instanceType": "ml.g5.xlarge",
        "deploymentTarget": "realtime-inference",
        "region": "us-east-1",
        "architecture": "transformers",
        "support": {"state": "supported" if supported else "unsupported"},
    }
    return Entry("e", base | data, catalog.Path("e.yaml"))


RULES = {
    "regions": ["us-east-1", "eu-west-1"],
    "maxStageTimeoutSeconds": 3600,
    "gpuArchitectures": ["transformers", "diffusors"],
}


def problems(e: Entry, rules=RULES) -> list:
    return list(rule_problems(e, rules))


def test_an_entry_within_every_rule_breaks_none():
    fine = entry(
        stages={"build": {"timeoutSeconds": 3600}, "generate": {}},
        parameters={"MODEL_ID": "m", "MAX_LENGTH": "8"},
        quarantine={"until": "2026-12-31"},
    )
    assert problems(fine) == []
    assert problems(entry(quarantine=None)) == []
    assert problems(entry(instanceType="ml.m5.xlarge", architecture="http")) == []


def test_each_rule_an_entry_breaks_is_named_at_its_value_in_order():
    broken = entry(
        instanceType="ml.m5.xlarge",
        region="ap-south-1",
        stages={
            "generate": {},
            "build": {"timeoutSeconds": 3601},
            "deploy_test": {"timeoutSeconds": 7200},
        },
        parameters={"MODEL_ID": "m", "API_TOKEN": "x"},
        quarantine={"until": "2026-13-01"},
    )
    assert problems(broken) == [
        (("region",), "region 'ap-south-1' is not one the defaults allow (us-east-1, eu-west-1)"),
        (
            ("stages", "build", "timeoutSeconds"),
            "3601s exceeds the defaults' maxStageTimeoutSeconds 3600",
        ),
        (
            ("stages", "deploy_test", "timeoutSeconds"),
            "7200s exceeds the defaults' maxStageTimeoutSeconds 3600",
        ),
        (("parameters", "API_TOKEN"), SECRET),
        (("quarantine", "until"), "'2026-13-01' is not a day of the calendar (YYYY-MM-DD)"),
        (
            ("instanceType",),
            f"transformers entries need a GPU instance ({GPU}), not 'ml.m5.xlarge'",
        ),
    ]


def test_without_the_rules_only_what_no_defaults_allow_is_a_problem():
    """No regions, no stage limit, no GPU architectures in the defaults: any region, any
    timeout, any instance; an unknown instance type and a secret are problems whatever."""
    free = entry(
        instanceType="ml.m5.xlarge",
        region="ap-south-1",
        stages={"build": {"timeoutSeconds": 99999}},
    )
    assert problems(free, {}) == []
    assert problems(free, {"regions": [], "maxStageTimeoutSeconds": 0}) == []
    unknown = problems(entry(instanceType="ml.zz.huge", parameters={"API_TOKEN": "x"}), {})
    assert [path for path, _ in unknown] == [("instanceType",), ("parameters", "API_TOKEN")]
    assert unknown[0][1].startswith(
        "SageMaker has no instance type 'ml.zz.huge' for realtime-inference"
    )


def test_only_a_supported_entry_of_a_gpu_architecture_needs_a_gpu():
    for instance in ("ml.g5.xlarge", "ml.p4d.24xlarge", "ml.inf2.xlarge", "ml.trn1.2xlarge"):
        assert problems(entry(instanceType=instance)) == [], instance
    assert problems(entry(supported=False, instanceType="ml.m5.xlarge")) == []
    assert problems(entry(architecture="diffusors", instanceType="ml.c5.xlarge")) == [
        (("instanceType",), f"diffusors entries need a GPU instance ({GPU}), not 'ml.c5.xlarge'")
    ]


def said(out: _Collector) -> list[tuple[str, int, str]]:
    return [(path.rsplit("/", 1)[-1], line, text) for path, line, text in out.problems]


TAIL = "; entries never begin with _"


def test_an_own_file_is_read_and_a_misspelt_one_is_a_problem(tmp_path):
    out = _Collector()
    for name in ("_defaults.yaml", "_failures.yaml", "_team_failures.yaml"):
        _own_file_problem(tmp_path / name, out)
    assert out.problems == []
    _own_file_problem(tmp_path / "_defualts.yaml", out)
    _own_file_problem(tmp_path / "_failure.yml", out)
    _own_file_problem(tmp_path / "_notes.yml", out)
    assert said(out) == [
        ("_defualts.yaml", 0, f"not a file mlcc-ci reads (did you mean '_defaults.yaml'?){TAIL}"),
        ("_failure.yml", 0, f"not a file mlcc-ci reads (did you mean '_failures.yaml'?){TAIL}"),
        (
            "_notes.yml",
            0,
            f"not a file mlcc-ci reads (its own are _defaults.yaml, _failures.yaml){TAIL}",
        ),
    ]


def test_a_folders_entry_files_and_its_defaults(tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    for name in ("b.yml", "a.yaml", DEFAULTS_FILE, "_failures.yaml", "_defualts.yaml"):
        (team / name).write_text("x: 1\n")
    (team / "notes.txt").write_text("not yaml\n")
    out = _Collector()
    files, defaults = _files([team], out)
    assert (files, defaults) == ([team / "a.yaml", team / "b.yml"], team / DEFAULTS_FILE)
    assert said(out) == [
        ("_defualts.yaml", 0, f"not a file mlcc-ci reads (did you mean '_defaults.yaml'?){TAIL}")
    ]


def test_files_named_one_by_one_take_the_defaults_beside_them(tmp_path):
    team, loose = tmp_path / "team", tmp_path / "loose"
    team.mkdir()
    loose.mkdir()
    for path in (team / DEFAULTS_FILE, team / "a.yaml", team / "_failures.yaml"):
        path.write_text("x: 1\n")
    (loose / "c.yaml").write_text("x: 1\n")
    (loose / "_x.yaml").write_text("x: 1\n")
    shipped = catalog.catalog_dir() / DEFAULTS_FILE

    out = _Collector()
    assert _files([team / "a.yaml"], out) == ([team / "a.yaml"], team / DEFAULTS_FILE)
    assert _files([team / DEFAULTS_FILE], out) == ([], team / DEFAULTS_FILE)
    assert _files([team / "_failures.yaml"], out) == ([], shipped)
    # an entry with no defaults beside it keeps what came before: the shipped ones, or a
    # defaults file named before it
    assert _files([loose / "c.yaml"], out) == ([loose / "c.yaml"], shipped)
    assert _files([team / DEFAULTS_FILE, loose / "c.yaml"], out) == (
        [loose / "c.yaml"],
        team / DEFAULTS_FILE,
    )
    assert out.problems == []
    assert _files([loose / "_x.yaml"], out) == ([], shipped)
    assert said(out) == [
        (
            "_x.yaml",
            0,
            f"not a file mlcc-ci reads (its own are _defaults.yaml, _failures.yaml){TAIL}",
        )
    ]


def test_a_folder_holding_no_catalog_and_a_path_that_is_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "_failures.yaml").write_text("rules: []\n")
    start = "not a catalog: it holds no _defaults.yaml and no entry files (NAME.yaml): start one"
    out = _Collector()
    assert _files([tmp_path / "empty"], out) == ([], catalog.catalog_dir() / DEFAULTS_FILE)
    assert out.problems == [
        ("empty", 0, f"{start} with `mlcc-ci catalog init empty`"),
    ]
    # rules alone: checked when named, but no catalog to use
    named = _Collector()
    assert _files([rules], named)[0] == [] and named.problems == []
    used = _Collector()
    assert _files([rules], used, in_use=True)[0] == []
    assert used.problems == [("rules", 0, f"{start} with `mlcc-ci catalog init rules`")]
    missing = _Collector()
    assert _files([tmp_path / "rule"], missing)[0] == []
    assert missing.problems == [("rule", 0, "no such file or folder (did you mean 'rules'?)")]


def test_a_path_is_shown_relative_to_the_working_folder_else_absolute(tmp_path, monkeypatch):
    inside = tmp_path / "work"
    (inside / "ci").mkdir(parents=True)
    monkeypatch.chdir(inside)
    assert shown_path(inside / "ci" / "a.yaml") == "ci/a.yaml"
    assert shown_path(catalog.Path("ci/../ci/a.yaml")) == "ci/a.yaml"
    assert shown_path(tmp_path / "elsewhere" / "a.yaml") == str(tmp_path / "elsewhere" / "a.yaml")
    # the working folder gone: every path is shown whole
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert shown_path(inside / "ci" / "a.yaml") == str(inside / "ci" / "a.yaml")


def test_a_file_shipped_with_mlcc_ci_is_shown_by_its_name_in_the_package(tmp_path, monkeypatch):
    """Installed, the shipped catalog is in the package's _data folder: shown as
    `(shipped) NAME` (never ../../.venv/...); a checkout's catalog is a folder like any."""
    data = tmp_path / "site" / "mlcc_ci" / "_data"
    (data / "catalog" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(catalog, "data_path", lambda name: data / name)
    assert shown_path(data / "catalog" / "sub" / "x.yaml") == "(shipped) sub/x.yaml"
    assert shown_path(data / "catalog") == "(shipped) ."
    assert shown_path(data / "other.yaml") == "site/mlcc_ci/_data/other.yaml"
    checkout = tmp_path / "repo" / "catalog"
    checkout.mkdir(parents=True)
    monkeypatch.setattr(catalog, "data_path", lambda name: tmp_path / "repo" / name)
    assert shown_path(checkout / "x.yaml") == "repo/catalog/x.yaml"


def test_a_catalog_file_is_named_relative_to_the_working_folder(tmp_path, monkeypatch):
    from mlcc_ci.catalogpaths import display

    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert display(tmp_path / "work" / "ci" / "a.yaml") == "ci/a.yaml"
    assert display(tmp_path / "other" / "a.yaml") == "../other/a.yaml"


def test_a_mistyped_path_is_told_the_catalog_file_or_folder_it_is_near(tmp_path, monkeypatch):
    from mlcc_ci.catalogpaths import near

    monkeypatch.chdir(tmp_path)
    (tmp_path / "entries").mkdir()
    for name in ("qwen.yaml", "llama.yml"):
        (tmp_path / name).write_text("x: 1\n")
    (tmp_path / "readme.txt").write_text("not a catalog file\n")
    assert near(tmp_path / "entrie") == " (did you mean 'entries'?)"
    assert near(tmp_path / "qwen.yml") == " (did you mean 'qwen.yaml'?)"
    assert near(tmp_path / "llama.yaml") == " (did you mean 'llama.yml'?)"
    assert near(tmp_path / "readme.tx") == ""  # only folders and YAML files are suggested
    assert near(tmp_path / "zzzz") == ""
    assert near(tmp_path / "no-such-folder" / "qwen.yaml") == ""  # its folder is gone too


def test_what_makes_a_folder_no_catalog(tmp_path):
    from mlcc_ci.catalogpaths import not_a_catalog

    said = (
        "not a catalog: it holds no _defaults.yaml and no entry files (NAME.yaml): start one "
        "with `mlcc-ci catalog init shown`"
    )
    rules, entry = tmp_path / "_failures.yaml", tmp_path / "a.yaml"
    for in_use in (False, True):
        assert not_a_catalog(tmp_path, DEFAULTS_FILE, [], in_use, "shown") == said
        assert not_a_catalog(tmp_path, DEFAULTS_FILE, [rules, entry], in_use, "shown") is None
    # failure rules alone: a catalog to check, not one to use
    assert not_a_catalog(tmp_path, DEFAULTS_FILE, [rules], False, "shown") is None
    assert not_a_catalog(tmp_path, DEFAULTS_FILE, [rules], True, "shown") == said
    (tmp_path / DEFAULTS_FILE).write_text("x: 1\n")  # defaults alone are a catalog
    assert not_a_catalog(tmp_path, DEFAULTS_FILE, [], True, "shown") is None


def test_a_name_too_long_is_said_first_of_the_problems_on_its_line(tmp_path, monkeypatch):
    """An entry written on one line (a YAML flow mapping): every problem is at line 1, in the
    order found, the name's first."""
    from mlcc_ci.catalog import load_catalog

    monkeypatch.chdir(tmp_path)
    name = "http-flask-with-a-name-far-too-long-to-fit"
    (tmp_path / "long.yaml").write_text(
        f"{{name: {name}, architecture: http, backend: flask, support: {{state: supported}},"
        ' baseImage: "python:3.12-slim", modelName: null, instanceType: ml.zz.huge,'
        " buildStrategy: docker-in-docker, generatorOptions: {modelFormat: pkl}}\n"
    )
    found = load_catalog([tmp_path]).problems
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["long.yaml:1", f"{name} $.name"],
        ["long.yaml:1", f"{name} $.instanceType"],
    ]
    assert f"'{name}' is 42 characters, at most 30 fit" in found[0]
