"""Failure classes: the shipped rules against their fixture logs, team rules, the CLI."""

import json
import os
from pathlib import Path

import pytest

from mlcc_ci import failures
from mlcc_ci.errors import CatalogError
from mlcc_ci.files import NotARegularFile
from mlcc_ci.resources import data_path
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "failures"
UNMATCHED = "unmatched-product-error"

# rule (= fixture name): the stage that writes such a log, its class, the expected capture
EXPECTED = {
    "harness-internal-error": ("generate", "harness", "BrokenPipeError"),
    "sagemaker-capacity": (
        "deploy_test",
        "capacity",
        "Unable to provision requested ML compute capacity",
    ),
    "sagemaker-resource-limit": ("deploy_test", "quota", "ml.g5.12xlarge for endpoint usage"),
    "codebuild-account-limit": ("build", "quota", "ACCOUNT_LIMIT_EXCEEDED"),
    "codebuild-queue-timeout": ("build", "infra", "QUEUED"),
    "aws-throttling": ("deploy_test", "infra", "DescribeEndpoint"),
    "aws-expired-credentials": ("build", "credentials", "ExpiredToken"),
    "aws-no-credentials": ("register", "credentials", "Unable to locate credentials"),
    "aws-access-denied": ("deploy_test", "credentials", "sagemaker:CreateModel"),
    "ecr-repository-missing": ("build", "credentials", "name unknown"),
    "dockerhub-rate-limit": (
        "build",
        "infra",
        "You have reached your unauthenticated pull rate limit",
    ),
    "hf-gated-model": ("deploy_test", "credentials", "meta-llama/Llama-3.1-8B-Instruct"),
    "hf-token-withheld": ("validate", "credentials", "meta-llama/Llama-3.2-3B-Instruct"),
    "sagemaker-role-too-broad": (
        "deploy_test",
        "credentials",
        "arn:aws:iam::123456789012:role/mlcc-sagemaker-execution-role",
    ),
    "hf-model-not-found": ("deploy_test", "product", "Qwen/Qwen2.5-0.5B-Instruc"),
    "cuda-out-of-memory": ("deploy_test", "product", "CUDA out of memory"),
    "endpoint-health-check": ("deploy_test", "product", "did not pass the ping health check"),
    "sagemaker-ic-placement": ("deploy_test", "product", "1 accelerator device(s)"),
    "disk-full": ("build", "infra", "No space left on device"),
    "pip-network": ("build", "infra", "NewConnectionError"),
    "pip-no-matching-distribution": ("build", "product", "vllm==0.99.1"),
    "npm-network": ("generate", "infra", "ETIMEDOUT"),
    "npm-package-not-found": ("generate", "infra", "@aws%2fml-container-creator"),
    "generator-unsupported-value": ("generate", "product", "Unsupported build target"),
    "generator-required-parameter": (
        "generate",
        "product",
        "Required parameter 'modelName' is missing",
    ),
    "deploy-provisioning-timeout": ("deploy_test", "capacity", "Waiting for endpoint"),
    "stage-timeout": ("deploy_test", "product", "timed out"),
}


def test_every_shipped_rule_has_a_fixture_and_an_expectation():
    names = [r.name for r in failures.load_rules()]
    assert len(names) >= 15
    assert set(names) == set(EXPECTED)
    logs = {p.stem for p in FIXTURES.glob("*.log")}
    assert logs == {*EXPECTED, UNMATCHED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_classifies_to_its_rule(name):
    stage, cls, capture = EXPECTED[name]
    found = failures.classify_log(stage, FIXTURES / f"{name}.log")
    assert (found.cls, found.rule, found.capture) == (cls, name, capture)
    rule = next(r for r in failures.load_rules() if r.name == name)
    assert found.hint == rule.hint and "\n" not in found.hint
    assert found.retry == rule.retry
    assert found.capture in found.line  # the line shown holds what matched


def test_a_plain_product_error_no_rule_knows_is_unclassified():
    found = failures.classify_log("deploy_test", FIXTURES / f"{UNMATCHED}.log")
    assert found == failures.Classification("unclassified", hint="no rule matched: read the log")


def test_only_the_rules_of_the_stage_apply():
    text = (FIXTURES / "sagemaker-capacity.log").read_text()
    assert failures.classify("deploy_test", text).cls == "capacity"
    assert failures.classify("generate", text).cls == "unclassified"
    assert failures.classify(None, text).cls == "capacity"  # no stage: every rule
    with pytest.raises(ValueError, match="unknown stage 'deploy'"):
        failures.classify("deploy", text)


def test_the_first_rule_wins_not_the_first_line():
    """pip says "No matching distribution" when the index was unreachable: the network rule
    comes first in the file, so that log is infra, not product."""
    text = (FIXTURES / "pip-network.log").read_text()
    assert "No matching distribution found for flask==3.0.3" in text
    assert failures.classify("build", text).rule == "pip-network"


def test_colour_codes_do_not_hide_a_match():
    text = "\x1b[33m⚠️  Unsupported build target\x1b[0m: local. Supported targets: codebuild\n"
    assert failures.classify("generate", text).capture == "Unsupported build target"


def test_only_the_last_64_kb_of_a_log_is_read(tmp_path):
    line = (FIXTURES / "sagemaker-capacity.log").read_text()
    early = tmp_path / "early.log"
    early.write_text(line + "x" * 80 + "\n" + ("filler line\n" * 6000))  # 72 KB after it
    assert failures.classify_log("deploy_test", early).cls == "unclassified"
    late = tmp_path / "late.log"
    late.write_bytes(b"\xff" + b"y" * 4_000_000 + b"\n" + line.encode())  # a 4 MB log
    assert failures.classify_log("deploy_test", late).cls == "capacity"


def test_a_log_behind_a_link_or_not_a_file_is_refused(tmp_path):
    (tmp_path / "link.log").symlink_to(FIXTURES / "disk-full.log")
    with pytest.raises(NotARegularFile, match="is a symbolic link"):
        failures.classify_log("build", tmp_path / "link.log")
    os.mkfifo(tmp_path / "fifo.log")
    with pytest.raises(NotARegularFile, match="is not a regular file"):
        failures.classify_log("build", tmp_path / "fifo.log")


def _adversarial(rule: failures.Rule) -> list[str]:
    """64 KB texts shaped to make a backtracking pattern try again at every position: its
    fixture's match cut short and repeated, with and without line breaks, and long runs."""
    text = (FIXTURES / f"{rule.name}.log").read_text()
    match = rule.pattern.search(text)
    assert match, rule.name
    whole = match.group(0)
    near = whole[:-1]
    size = 64 * 1024
    return [
        (near * (size // len(near) + 1))[:size],
        ((near + "\n") * (size // len(near) + 1))[:size],
        (whole[: len(whole) // 2] * size)[:size],
        whole[:-1] + match.group(1)[:1] * size,
        whole[0] * size,
        " " * size,
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shipped_pattern_scans_64_kb_of_adversarial_text_quickly(name):
    """Each text is classified within the classification's own time limit (CLASSIFY_SECONDS,
    2 s; RE2 takes about a millisecond here, benchmarks/bench_failures.py): a pattern that
    ran out of time would be `unclassified`, saying so, instead of what it is."""
    rule = next(r for r in failures.load_rules() if r.name == name)
    for text in _adversarial(rule):
        found = failures.classify(None, text, (rule,))
        assert "ran out of time" not in found.hint, found.hint


def _team(tmp_path: Path, text: str) -> Path:
    team = tmp_path / "team"
    team.mkdir(exist_ok=True)
    (team / "_failures.yaml").write_text(text)
    return team


TEAM_RULES = """\
rules:
  - name: our-license-server
    class: infra
    stages: [deploy_test]
    pattern: 'license server (unreachable)'
    retry: {count: 2, backoffSeconds: 30}
    hint: 'the licence server is down: page the platform team'
  - name: cuda-out-of-memory
    class: capacity
    stages: [deploy_test]
    pattern: '(CUDA out of memory)'
    retry: {count: 1, backoffSeconds: 10}
    hint: 'our GPUs are shared: retry'
"""


def test_a_team_catalogs_rules_come_first_and_replace_shipped_ones_by_name(tmp_path):
    team = _team(tmp_path, TEAM_RULES)
    rules = failures.load_rules(team)
    shipped = failures.load_rules(data_path("catalog"))
    names = [r.name for r in rules]
    assert names[:2] == ["our-license-server", "cuda-out-of-memory"]
    assert names[2:] == [r.name for r in shipped if r.name != "cuda-out-of-memory"]
    oom = failures.classify_log("deploy_test", FIXTURES / "cuda-out-of-memory.log", rules)
    assert (oom.cls, oom.retry) == ("capacity", failures.Retry(1, 10))
    assert rules[0].source.endswith("team/_failures.yaml:2")


@pytest.mark.parametrize(
    ("pattern", "line", "message"),
    [
        (
            "'no group here'",
            6,
            "bad $.rules[0].pattern: has 0 capture groups; exactly one is needed, the groupable "
            "part (write (?:...) for the others)",
        ),
        (
            "'(two) (groups)'",
            6,
            "bad $.rules[0].pattern: has 2 capture groups; exactly one is needed, the groupable "
            "part (write (?:...) for the others)",
        ),
        (
            "'(unclosed'",
            6,
            "bad $.rules[0].pattern: not an RE2 pattern: missing ): (unclosed",
        ),
    ],
)
def test_a_broken_pattern_is_named_with_its_file_and_line(tmp_path, pattern, line, message):
    team = _team(
        tmp_path,
        "rules:\n  - name: bad\n    class: infra\n    stages: [any]\n"
        f"    hint: h\n    pattern: {pattern}\n    retry: {{count: 0, backoffSeconds: 0}}\n",
    )
    with pytest.raises(CatalogError) as caught:
        failures.load_rules(team)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].endswith(f"team/_failures.yaml:{line}: {message}")


def test_every_schema_problem_of_a_rule_file_is_named_at_once(tmp_path):
    team = _team(
        tmp_path,
        "rules:\n  - name: worse\n    class: network\n    stages: [deploy]\n"
        "    pattern: '(x)'\n    retry: {count: 0, backoffSeconds: 0}\n    hint: h\n"
        "    hints: typo\n",
    )
    with pytest.raises(CatalogError) as caught:
        failures.load_rules(team)
    found = [p.split("team/_failures.yaml:", 1)[1] for p in caught.value.problems]
    assert sorted(found) == [
        '3: worse $.rules[0].class: "network" is not one of: product, infra, capacity, quota, '
        "credentials, harness",
        '4: worse $.rules[0].stages[0]: "deploy" is not one of: generate, validate, build, '
        "deploy_test, register, teardown, any",
        "8: worse $.rules[0].hints: unknown key \"hints\" (did you mean 'hint'?)",
    ]


def test_the_catalog_loader_reads_no_underscore_file_as_an_entry(cli, tmp_path):
    team = _team(tmp_path, TEAM_RULES)
    (team / "http-flask.yaml").write_text((data_path("catalog") / "http-flask.yaml").read_text())
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 0, result.output
    assert result.output.endswith("catalog valid: 1 entry\n")
    # a `_`-file that is not mlcc-ci's own is no entry either: it is said to be read by no one
    (team / "_notes.yaml").write_text("- a list, no entry\n")
    notes = cli("catalog", "validate", str(team))
    assert notes.exit_code == 2 and "_notes.yaml: not a file mlcc-ci reads" in notes.output
    assert "expected a mapping" not in notes.output
    shipped = cli("catalog", "validate")
    assert shipped.exit_code == 0 and "_failures" not in shipped.output


def test_cli_check_prints_class_rule_capture_hint_and_line(cli):
    result = cli("failures", "check", "--stage", "deploy_test", str(FIXTURES / "stage-timeout.log"))
    assert result.exit_code == 0
    hint = next(r.hint for r in failures.load_rules() if r.name == "stage-timeout")
    assert result.output.splitlines() == [
        "class:   product",
        "rule:    stage-timeout",
        "capture: timed out",
        "line:    timed out after 1800s; its process group was killed",
        f"hint:    {hint}",
    ]


def test_cli_check_shows_the_retry_policy_and_json(cli):
    log = str(FIXTURES / "sagemaker-capacity.log")
    text = cli("failures", "check", log)
    assert "retry:   3x, 600s apart" in text.output.splitlines()
    doc = json.loads(cli("failures", "check", "--json", log).output)
    assert doc["class"] == "capacity" and doc["retry"] == {"count": 3, "backoffSeconds": 600}
    assert doc["line"].startswith("FailureReason: Unable to provision")


def test_cli_check_an_unmatched_log(cli):
    result = cli("failures", "check", str(FIXTURES / f"{UNMATCHED}.log"))
    assert result.exit_code == 0
    assert result.output == "class:   unclassified\nhint:    no rule matched: read the log\n"


def test_cli_check_a_missing_or_unreadable_file_is_one_line(cli, tmp_path):
    missing = cli("failures", "check", str(tmp_path / "nope.log"))
    assert (missing.exit_code, missing.output) == (
        2,
        f"Error: cannot read {tmp_path / 'nope.log'}: no such file\n",
    )
    folder = cli("failures", "check", str(tmp_path))
    assert (folder.exit_code, folder.output) == (
        2,
        f"Error: cannot read {tmp_path}: is not a regular file\n",
    )
    (tmp_path / "link.log").symlink_to(FIXTURES / "disk-full.log")
    link = cli("failures", "check", str(tmp_path / "link.log"))
    assert (link.exit_code, link.output) == (
        2,
        f"Error: cannot read {tmp_path / 'link.log'}: is a symbolic link\n",
    )


def test_cli_check_masks_credentials_in_the_line_it_shows(cli, tmp_path):
    log = tmp_path / "leak.log"
    log.write_text("internal error in the harness: ValueError: token=hunter2hunter2 refused\n")
    result = cli("failures", "check", str(log))
    assert "line:    internal error in the harness: ValueError: token=*** refused" in result.output
    assert "hunter2" not in result.output


def test_cli_rules_lists_the_team_rules_first(cli, tmp_path):
    team = _team(tmp_path, TEAM_RULES)
    shipped = cli("failures", "rules", "--json")
    rows = json.loads(shipped.output)
    assert [r["name"] for r in rows] == [r.name for r in failures.load_rules(data_path("catalog"))]
    assert rows[0]["source"] == "_failures.yaml:12"  # relative to the catalog in use
    listed = cli("--catalog", str(team), "failures", "rules")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["name", "class", "stages", "retry", "source"]
    assert lines[2].split()[:4] == ["our-license-server", "infra", "deploy_test", "2x/30s"]
    assert lines[3].split()[:2] == ["cuda-out-of-memory", "capacity"]
    assert sum("cuda-out-of-memory" in ln for ln in lines) == 1


def test_cli_a_broken_team_rule_file_is_a_usage_error(cli, tmp_path):
    team = _team(tmp_path, "rules:\n  - name: x\n")
    result = cli("--catalog", str(team), "failures", "rules")
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert "team/_failures.yaml:2: x $.rules[0]: missing required key" in result.output
