"""What a new user's cold trial of a team catalog found (issue 30, the closing trial): entry
names `catalog validate` and `catalog add` took and the stack then refused, a misspelt
`_failures.yaml` silently ignored, a twin reported on the file the user did not touch,
help that named the wrong catalog, and a skipped stage's log error that did not say why."""

import os
from pathlib import Path

import pytest

from mlcc_ci import naming, nestedbuilds
from mlcc_ci.catalog import load_catalog, load_valid_catalog

# 30 characters: the longest an entry's name may be with the shipped defaults; one more
NAME_30 = "transformers-vllm-qwen-smallst"
NAME_31 = "transformers-vllm-qwen-smallest"
TRIAL_NAME = "transformers-vllm-qwen-small-tests"  # the trial's, 34 characters


def _team(cli, tmp_path: Path, *names: str) -> Path:
    team = tmp_path / "ci" / "catalog"
    made = cli("catalog", "init", str(team), *names, "--owner", "team-a")
    assert made.exit_code == 0, made.output
    return team


def _copy(team: Path, name: str, instance_type: str) -> Path:
    """A supported copy of transformers-vllm named `name`, on an instance of its own."""
    text = (team / "transformers-vllm.yaml").read_text()
    assert "name: transformers-vllm\n" in text and "instanceType: ml.g6.12xlarge" in text
    text = text.replace(
        "name: transformers-vllm\n", f"name: {name}\ngeneratorName: transformers-vllm\n"
    )
    path = team / f"{name}.yaml"
    path.write_text(text.replace("instanceType: ml.g6.12xlarge", f"instanceType: {instance_type}"))
    return path


def _problems(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if not ln.startswith("note: ")]


# -- 1. names the stack would refuse ------------------------------------------------------


def test_the_longest_entry_name_is_the_one_whose_nested_build_role_just_fits():
    """The limit `catalog add` advertises is what the shipped defaults allow, and a name of
    that length makes a role of exactly IAM's 64 characters in the region with the longest
    code, through the very function the stack names its nested builds with."""
    shipped = load_valid_catalog()
    assert (
        naming.longest_catalog_name(shipped.defaults) == naming.MAX_ENTRY_NAME == len(NAME_30) == 30
    )
    assert naming.region_code("us-isob-east-1") == "usibe1"  # LONGEST_REGION_CODE long
    entry = shipped.get("transformers-vllm")
    data = {**entry.data, "name": NAME_30, "generatorName": "transformers-vllm"}
    longest = type(shipped)(shipped.defaults, [type(entry)(NAME_30, data, entry.path)])
    ((_, role),) = nestedbuilds.nested_builds(
        longest, "mlcc-ci", "us-isob-east-1", every_strategy=True
    )
    assert role == f"mlcc-ci-{NAME_30}-build-usibe1-service-role" and len(role) == 64


def test_validate_refuses_a_supported_entry_whose_aws_names_would_not_fit(
    cli, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "transformers-vllm")
    _copy(team, NAME_30, "ml.g5.2xlarge")
    _copy(team, TRIAL_NAME, "ml.g5.12xlarge")
    result = cli("catalog", "validate", "ci/catalog")
    assert result.exit_code == 2, result.output
    role = f"mlcc-ci-{TRIAL_NAME}-build-{{regionCode}}-service-role"
    assert _problems(result.output) == [
        f"ci/catalog/{TRIAL_NAME}.yaml:2: {TRIAL_NAME} $.name: '{TRIAL_NAME}' is 34 "
        f"characters, at most 30 fit: in AWS its nested build role {role} would be 68 "
        "characters with the longest region code (IAM allows 64)",
        "1 problem found",
    ]
    # the file alone, as the pre-commit hook checks it: the same
    alone = cli("catalog", "validate", f"ci/catalog/{TRIAL_NAME}.yaml")
    assert alone.exit_code == 2 and f"{TRIAL_NAME} $.name: '{TRIAL_NAME}' is 34" in alone.output
    # renamed to fit, the catalog is valid
    (team / f"{TRIAL_NAME}.yaml").unlink()
    fits = cli("catalog", "validate", "ci/catalog")
    assert fits.exit_code == 0 and fits.output.endswith("catalog valid: 2 entries\n")


def test_catalog_add_refuses_a_name_too_long_and_its_help_says_the_real_limit(
    cli, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "transformers-vllm")
    before = sorted(p.name for p in team.iterdir())
    for args in ((NAME_31,), (TRIAL_NAME, "--from", "transformers-vllm")):
        refused = cli("--catalog", str(team), "catalog", "add", *args)
        assert refused.exit_code == 2, refused.output
        name = args[0]
        assert refused.output.startswith(
            f"Error: NAME '{name}' is {len(name)} characters, at most 30 fit: in AWS its "
            f"nested build role mlcc-ci-{name}-build-{{regionCode}}-service-role would be "
        ), refused.output
    assert sorted(p.name for p in team.iterdir()) == before  # nothing written
    # the help says the limit the shipped defaults set, not the schema's 64
    help_text = " ".join(cli("catalog", "add", "--help").output.split())
    assert f"at most {naming.MAX_ENTRY_NAME} characters" in help_text
    assert "64 characters" not in help_text
    added = cli("--catalog", str(team), "catalog", "add", NAME_30)
    assert added.exit_code == 0, added.output


@pytest.mark.cdk
def test_the_stack_under_a_longer_prefix_says_to_rename_the_entry(cli, tmp_path, monkeypatch):
    """The default prefix fits every valid entry; a longer --prefix can still push a role
    over 64: the stack names the entry's file and line, and says to rename the entry or
    shorten the prefix (the entry is no registered project)."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from mlcc_ci.resources import use_catalog
    from mlcc_ci.stack.app import build_app

    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "transformers-vllm")
    (team / "transformers-vllm.yaml").unlink()
    _team(cli, tmp_path / "src", "transformers-vllm")
    _copy(tmp_path / "src" / "ci" / "catalog", NAME_30, "ml.g5.2xlarge").rename(
        team / f"{NAME_30}.yaml"
    )
    assert cli("catalog", "validate", "ci/catalog").exit_code == 0
    use_catalog(team.resolve())
    with pytest.raises(ValueError) as refused:
        build_app(
            str(tmp_path / "out"), context={"prefix": "team-abcdefg"}, region="eu-west-1", nag=False
        )
    role = f"team-abcdefg-{NAME_30}-build-euw1-service-role"
    assert str(refused.value) == (
        f"ci/catalog/{NAME_30}.yaml:2: {NAME_30} $.name: the nested build role '{role}' would "
        "be 67 characters (IAM allows 64): rename the catalog entry (or choose a shorter "
        "--prefix)"
    )
    assert "register the project" not in str(refused.value)
    # a registered project's own name: the registration's hint still fits it
    with pytest.raises(ValueError, match="register the project under a shorter name"):
        naming.nested_build_role(
            f"team-abcdefg-{NAME_30}",
            {"CODEBUILD_PROJECT_NAME": naming.SHIPPED_BUILD_PROJECT},
            "eu-west-1",
        )


# -- 2. a misspelt special file -----------------------------------------------------------


def test_a_misspelt_special_file_is_a_problem_with_a_did_you_mean(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "http-flask")
    (team / "_failures.yaml").write_text("rules: []\n")  # the real one: read, no problem
    (team / "_failure.yaml").write_text("rules: []\n")
    (team / "_defaults2.yaml").write_text((team / "_defaults.yaml").read_text())
    (team / "_notes.yml").write_text("- no entry\n")
    (team / ".schema" / "stray.yaml").write_text("- hidden folders stay ignored\n")
    tail = "; entries never begin with _"
    result = cli("catalog", "validate", "ci/catalog")
    assert result.exit_code == 2, result.output
    assert _problems(result.output) == [
        f"ci/catalog/_defaults2.yaml: not a file mlcc-ci reads (did you mean "
        f"'_defaults.yaml'?){tail}",
        f"ci/catalog/_failure.yaml: not a file mlcc-ci reads (did you mean '_failures.yaml'?){tail}",
        "ci/catalog/_notes.yml: not a file mlcc-ci reads (its own are _defaults.yaml, "
        f"_failures.yaml){tail}",
        "3 problems found",
    ]
    # named explicitly, as the pre-commit hook names a changed file
    alone = cli("catalog", "validate", "ci/catalog/_failure.yaml")
    assert (alone.exit_code, _problems(alone.output)) == (
        2,
        [
            "ci/catalog/_failure.yaml: not a file mlcc-ci reads (did you mean "
            f"'_failures.yaml'?){tail}",
            "1 problem found",
        ],
    )
    for own in ("_failures.yaml", "_defaults.yaml", "http-flask.yaml"):
        fine = cli("catalog", "validate", f"ci/catalog/{own}")
        assert fine.exit_code == 0, (own, fine.output)


# -- 3. a twin, on both files ---------------------------------------------------------------


def test_a_copy_that_deploys_the_same_thing_is_reported_on_both_files(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    team = _team(cli, tmp_path, "transformers-vllm")
    added = cli(
        "--catalog", str(team), "catalog", "add", "transformers-vllm-small", "--from",
        "transformers-vllm",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output.splitlines()[1] == (
        "note: it deploys the same thing as transformers-vllm until you change its model, "
        "instance type, region or target: catalog validate fails until then"
    )
    result = cli("catalog", "validate", "ci/catalog")
    assert result.exit_code == 2
    same = "generator name, model, instance type, region and target are all equal"
    assert _problems(result.output) == [
        "ci/catalog/transformers-vllm-small.yaml:2: transformers-vllm-small $: deploys the "
        f"same thing as 'transformers-vllm' (ci/catalog/transformers-vllm.yaml): {same}",
        "ci/catalog/transformers-vllm.yaml:2: transformers-vllm $: deploys the same thing as "
        f"'transformers-vllm-small' (ci/catalog/transformers-vllm-small.yaml): {same}",
        "2 problems found",
    ]
    # the help no longer promises that nothing invalid is written
    help_text = " ".join(cli("catalog", "add", "--help").output.split())
    assert "a file that would not validate is not written" not in help_text
    assert "would not validate on its own is not written" in help_text


# -- 4. the catalog the help names ----------------------------------------------------------


def test_catalog_help_names_the_catalog_in_use(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _team(cli, tmp_path, "http-flask")
    (tmp_path / "mlcc-ci.toml").write_text('catalog = "ci/catalog"\n')
    in_use = "the catalog in use: --catalog, MLCC_CI_CATALOG or the settings file's, else the "
    for command in (("catalog",), ("catalog", "validate")):
        help_text = " ".join(cli(*command, "--help").output.split())
        assert in_use in help_text and "default: the shipped catalog" not in help_text
    # what it says: with the settings file, the team's catalog of one entry
    result = cli("catalog", "validate")
    assert result.exit_code == 0 and result.output.endswith("catalog valid: 1 entry\n")
    assert [e.name for e in load_catalog([tmp_path / "ci" / "catalog"]).entries] == ["http-flask"]


# -- 5. why a stage was skipped ---------------------------------------------------------------


@pytest.mark.generator
def test_logs_of_a_skipped_stage_say_why(cli, tmp_path, pinned_generator, monkeypatch):
    url = f"sqlite:///{tmp_path}/r.db"
    work = ["--store", url, "--work-dir", str(tmp_path / "work")]
    monkeypatch.setenv("MLCC_CI_FAULT", "triton-fil:validate:fail")
    ran = cli("run", "triton-fil", "--profile", "static", *work)
    assert ran.exit_code == 1, ran.output
    monkeypatch.delenv("MLCC_CI_FAULT")

    def said(stage: str) -> str:
        shown = cli("logs", "triton-fil", "--stage", stage, "--store", url)
        assert shown.exit_code == 2, shown.output
        (line,) = shown.output.splitlines()
        assert line.startswith("Error: stage ") and " was skipped: " in line, line
        return line.split(" was skipped: ", 1)[1]

    # the profile never runs it, failed or not
    assert said("build") == "the static profile runs generate, validate and register only"
    assert said("deploy_test") == "the static profile runs generate, validate and register only"
    # the profile runs it, but validate failed first
    assert said("register") == "stage validate failed before it"


def test_preflight_tells_a_catalog_entry_to_rename_and_a_project_to_register_again():
    """The executor's preflight (under a stack's long prefix) gives the same two hints: a
    catalog entry is renamed in its file, a registered project is registered again."""
    from dataclasses import replace

    from mlcc_ci.catalog import REGISTERED_PROJECT
    from mlcc_ci.preflight import CHECKS
    from mlcc_ci.profiles import load_profile

    catalog = load_valid_catalog()
    entry = catalog.get("transformers-vllm")
    assert entry.data["buildStrategy"] == "codebuild-submit"
    entry = replace(entry, name=NAME_30, data={**entry.data, "name": NAME_30})
    profile = load_profile(catalog, "default")
    env = {naming.PREFIX_ENV: "team-abcdefg", "AWS_REGION": "eu-west-1"}
    said = CHECKS["nested-build-role"](entry, profile, env)
    assert said is not None and said.endswith(
        "would be 67 characters (IAM allows 64): rename the catalog entry (or choose a "
        "shorter --prefix)"
    )
    project = replace(entry, path=REGISTERED_PROJECT)
    said = CHECKS["nested-build-role"](project, profile, env)
    assert said is not None and said.endswith("register the project under a shorter name")
