"""Results out in the formats other tools read: `report --format junit` validates against
the Jenkins xUnit plugin's junit-10.xsd and junitparser reads it back; `--allure-dir` writes
result files of Allure's model and categories from the failure classes; `--format github`
puts each failing configuration on its catalog file and line. From real runs: a team
catalog's configurations run by `mlcc-ci run` into a SQLite store."""

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
import yaml
from junitparser import Error, Failure, JUnitXml, Skipped

from mlcc_ci.models import StageResult
from mlcc_ci.report.allure import allure_results, categories
from mlcc_ci.report.annotations import command
from mlcc_ci.report.cases import ERROR, FAILED, Case
from mlcc_ci.report.junit import junit
from mlcc_ci.resources import data_path

pytestmark = pytest.mark.functional

XSD = Path(__file__).parent / "fixtures" / "junit" / "junit-10.xsd"
# A value of a secret-named variable in the environment of `report`, and a credential-shaped
# token: the failing stage prints both, and no output may carry either.
SECRET = "s3cr3t-Value-7q9"
HF_TOKEN = "hf_abcdefghijklmnopqrstuvwx"
# What the failing stage prints: markup, a CDATA end, escape sequences, control characters,
# and the characters workflow commands must escape.
HOSTILE_OUT = (
    rf"checking <deps> & \"quotes\" ]]> \033[31mred\033[0m \001\002\013 token={HF_TOKEN}"
    rf" key {SECRET}\n"
)
HOSTILE_ERR = r"ERROR: schema says no <script>alert(1)</script>, 100%% done: really\n"
TRIAL_PROFILE = """
  trial:
    description: The example generator, with each entry's own build command.
    executor: local
    billed: false
    stages:
      generate:
        command: >-
          "$MLCC_PYTHON" "$MLCC_EXAMPLES/local-generator/mlcc-example-generator"
          --config "$MLCC_CONFIG_FILE" --skip-prompts
      teardown:
        command: ./do/clean all --force
"""
TEAM_RULES = {
    "rules": [
        {  # no retries: one attempt blocks the configuration
            "name": "sagemaker-capacity",
            "class": "capacity",
            "stages": ["deploy_test"],
            "pattern": "(Unable to provision requested ML compute capacity)",
            "retry": {"count": 0, "backoffSeconds": 0},
            "hint": "no free instances now",
        },
        {
            "name": "team-schema",
            "class": "product",
            "stages": ["build"],
            "pattern": "ERROR: schema says (no <[a-z]{1,20}>)",
            "retry": {"count": 0, "backoffSeconds": 0},
            "hint": "fix the schema",
        },
    ]
}

# Allure's result model (allure-java's io.qameta.allure.model: TestResult, StepResult,
# StatusDetails, Label, Parameter, Attachment, Link), as the fields Allure reads.
_STATUS = {"enum": ["failed", "broken", "passed", "skipped", "unknown"]}
_STAGE = {"enum": ["scheduled", "running", "finished", "pending", "interrupted"]}
_PAIR = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
}
_DETAILS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "known": {"type": "boolean"},
        "muted": {"type": "boolean"},
        "flaky": {"type": "boolean"},
        "message": {"type": "string"},
        "trace": {"type": "string"},
    },
}
_ATTACHMENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "source", "type"],
    "properties": {
        "name": {"type": "string"},
        "source": {"type": "string", "pattern": r"^[0-9a-f-]{36}-attachment\.[a-z]+$"},
        "type": {"type": "string"},
    },
}
_STEP = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "status", "stage", "start", "stop"],
    "properties": {
        "name": {"type": "string"},
        "status": _STATUS,
        "stage": _STAGE,
        "statusDetails": _DETAILS,
        "start": {"type": "integer"},
        "stop": {"type": "integer"},
        "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
        "attachments": {"type": "array", "items": _ATTACHMENT},
        "parameters": {"type": "array", "items": _PAIR},
    },
}
ALLURE_RESULT = {
    "$defs": {"step": _STEP},
    "type": "object",
    "additionalProperties": False,
    "required": ["uuid", "historyId", "name", "fullName", "status", "stage", "start", "stop"],
    "properties": {
        "uuid": {"type": "string", "format": "uuid"},
        "historyId": {"type": "string", "minLength": 1},
        "testCaseId": {"type": "string"},
        "name": {"type": "string", "minLength": 1},
        "fullName": {"type": "string"},
        "status": _STATUS,
        "statusDetails": _DETAILS,
        "stage": _STAGE,
        "start": {"type": "integer", "minimum": 0},
        "stop": {"type": "integer", "minimum": 0},
        "steps": {"type": "array", "items": _STEP},
        "attachments": {"type": "array", "items": _ATTACHMENT},
        "parameters": {"type": "array", "items": _PAIR},
        "labels": {"type": "array", "items": _PAIR},
        "links": {"type": "array"},
    },
}
ALLURE_CATEGORIES = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "messageRegex": {"type": "string"},
            "traceRegex": {"type": "string"},
            "matchedStatuses": {"type": "array", "items": _STATUS},
            "flaky": {"type": "boolean"},
        },
    },
}


@pytest.fixture
def trial(cli, tmp_path, monkeypatch):
    """A team catalog (the shipped one, a `trial` profile, and rules of its own) and its
    runs: http-flask passes (example profile); under `trial`, http-fastapi fails at build
    (its own command, printing HOSTILE_*), triton-fil is blocked by capacity at deploy_test,
    triton-onnx meets a harness error. The rest never ran. Returns the catalog folder."""
    team = tmp_path / "team"
    shutil.copytree(data_path("catalog"), team)
    defaults = team / "_defaults.yaml"
    defaults.write_text(
        defaults.read_text().replace("\n  example:\n", TRIAL_PROFILE + "  example:\n")
    )
    (team / "_failures.yaml").write_text(yaml.safe_dump(TEAM_RULES, sort_keys=False))
    fastapi = team / "http-fastapi.yaml"
    entry = yaml.safe_load(fastapi.read_text())
    entry.setdefault("stages", {})["build"] = {
        "command": f"printf '{HOSTILE_OUT}'; printf '{HOSTILE_ERR}' >&2; exit 1"
    }
    fastapi.write_text(yaml.safe_dump(entry, sort_keys=False))
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    monkeypatch.setenv("MLCC_TEST_API_TOKEN", SECRET)
    work = str(tmp_path / "work")
    ran = cli(
        "--catalog", str(team), "run", "http-flask", "--profile", "example", "--work-dir", work
    )
    assert ran.exit_code == 0, ran.output
    monkeypatch.setenv("MLCC_CI_FAULT", "triton-fil:deploy_test:capacity,triton-onnx:build:crash")
    names = ("http-fastapi", "triton-fil", "triton-onnx")
    ran = cli("--catalog", str(team), "run", *names, "--profile", "trial", "--work-dir", work)
    assert ran.exit_code == 1, ran.output
    monkeypatch.delenv("MLCC_CI_FAULT")
    monkeypatch.chdir(tmp_path)  # as a job runs in the repository's root
    return team


def _no_secret(text: str) -> None:
    assert SECRET not in text and HF_TOKEN not in text


def test_junit_validates_against_the_jenkins_schema_and_junitparser_reads_it(cli, trial, tmp_path):
    out = tmp_path / "junit.xml"
    result = cli("--catalog", str(trial), "report", "--format", "junit", "--output", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    _no_secret(text)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x1b]", text)
    xmlschema.XMLSchema(str(XSD)).validate(str(out))  # raises at the first problem

    doc = JUnitXml.fromfile(str(out))
    suites = {suite.name: suite for suite in doc}
    assert list(suites) == ["mlcc-ci default", "mlcc-ci trial", "mlcc-ci example"]
    counts = {n: (s.tests, s.failures, s.errors, s.skipped) for n, s in suites.items()}
    assert counts == {
        "mlcc-ci default": (15, 0, 0, 15),
        "mlcc-ci trial": (3, 1, 1, 1),
        "mlcc-ci example": (1, 0, 0, 0),
    }
    root = ET.parse(out).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("19", "1", "1")

    cases = {case.name: case for suite in doc for case in suite}
    assert len(cases) == 19
    assert {case.classname for case in suites["mlcc-ci trial"]} == {"mlcc-ci.trial"}

    failed = cases["http-fastapi"]
    [failure] = failed.result
    assert isinstance(failure, Failure) and failure.type == "product"
    assert failure.message.startswith("build: exit code 1 ERROR: schema says no <script>")
    assert "rule team-schema: no <script>" in failure.text
    out_text = failed.system_out
    assert "build: fail " in out_text and "==> build log (its last lines) <==" in out_text
    assert 'checking <deps> & "quotes" ]]> red ??? token=***' in out_text  # masked, controls out
    assert "ERROR: schema says no <script>alert(1)</script>" in out_text
    assert 0 < float(failed.time) < 60

    [blocked] = cases["triton-fil"].result
    assert isinstance(blocked, Skipped)
    assert blocked.message == (
        "blocked by the infrastructure (capacity) at deploy_test: sagemaker-capacity: "
        "Unable to provision requested ML compute capacity"
    )
    [broken] = cases["triton-onnx"].result
    assert isinstance(broken, Error) and broken.type == "harness"
    assert broken.message.startswith("build: harness-internal-error: RuntimeError")

    assert cases["http-flask"].is_passed and cases["http-flask"].classname == "mlcc-ci.example"
    [unsupported] = cases["marketplace"].result
    assert isinstance(unsupported, Skipped) and unsupported.message.startswith("unsupported: ")
    [never] = cases["triton-python"].result
    assert isinstance(never, Skipped) and never.message == "not run yet"
    assert cases["triton-python"].classname == "mlcc-ci.default"


def test_allure_results_follow_allures_model_and_categories_follow_the_classes(
    cli, trial, tmp_path
):
    folder = tmp_path / "allure-results"
    result = cli("--catalog", str(trial), "report", "--allure-dir", str(folder))
    assert result.exit_code == 0, result.output
    assert "CI Coverage Report" in result.stdout  # the report itself still goes out
    assert f"wrote 19 Allure results to {folder}" in result.stderr
    names = sorted(p.name for p in folder.iterdir())
    results = [folder / n for n in names if n.endswith("-result.json")]
    assert len(results) == 19
    for path in folder.iterdir():
        _no_secret(path.read_text(encoding="utf-8"))
    docs = {}
    for path in results:
        doc = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(doc, ALLURE_RESULT, format_checker=jsonschema.FormatChecker())
        assert path.name == f"{doc['uuid']}-result.json"
        assert doc["stop"] >= doc["start"]
        docs[doc["name"]] = doc
    cats = json.loads((folder / "categories.json").read_text())
    jsonschema.validate(cats, ALLURE_CATEGORIES)

    def category(doc):
        """The first category that takes the result, as Allure picks one."""
        message = doc["statusDetails"].get("message", "")
        for cat in cats:
            if doc["status"] in cat["matchedStatuses"] and re.fullmatch(
                cat["messageRegex"], message, re.DOTALL
            ):
                return cat["name"]
        return None

    failed, blocked, broken = docs["http-fastapi"], docs["triton-fil"], docs["triton-onnx"]
    assert [d["status"] for d in (failed, blocked, broken)] == ["failed", "skipped", "broken"]
    assert category(failed) == "product: the configuration's (a rule says so)"
    assert category(blocked) == "capacity: blocked by the infrastructure, not the configuration's"
    assert category(broken) == "harness: mlcc-ci's own errors, not the configuration's"
    assert category(docs["http-flask"]) is None and docs["http-flask"]["status"] == "passed"
    assert docs["marketplace"]["status"] == "skipped" and category(docs["marketplace"]) is None

    labels = {(label["name"], label["value"]) for label in failed["labels"]}
    assert {("suite", "mlcc-ci trial"), ("parentSuite", "mlcc-ci"), ("feature", "http")} <= labels
    assert ("tag", "cpu") in labels and failed["fullName"] == "mlcc-ci.trial.http-fastapi"
    steps = {s["name"]: s for s in failed["steps"]}
    assert [s["name"] for s in failed["steps"]][:3] == ["generate", "validate", "build"]
    assert steps["build"]["status"] == "failed" and steps["generate"]["status"] == "passed"
    [log] = steps["build"]["attachments"]
    attached = (folder / log["source"]).read_text()
    assert "token=***" in attached and "<script>alert(1)</script>" in attached
    assert {s["status"] for s in blocked["steps"] if s["name"] == "deploy_test"} == {"broken"}

    # the same report again replaces its files
    assert cli("--catalog", str(trial), "report", "--allure-dir", str(folder)).exit_code == 0
    assert sorted(p.name for p in folder.iterdir()) == names


def test_github_annotations_put_each_failure_on_its_catalog_file_and_line(cli, trial):
    result = cli("--catalog", str(trial), "report", "--format", "github")
    assert result.exit_code == 0, result.output
    _no_secret(result.stdout)
    lines = result.stdout.splitlines()
    assert len(lines) == 3

    def line_of(file: str, key: str) -> int:
        text = (trial / file).read_text().splitlines()
        return next(i for i, line in enumerate(text, 1) if line.startswith(f"{key}:"))

    fastapi, onnx, fil = (
        next(a for a in lines if f"file=team/{n}.yaml," in a)
        for n in ("http-fastapi", "triton-onnx", "triton-fil")
    )
    head = f"::error file=team/http-fastapi.yaml,line={line_of('http-fastapi.yaml', 'name')},"
    assert fastapi.startswith(
        head + "title=mlcc-ci trial%3A http-fastapi fail-build [product]::build: exit code 1 "
        "ERROR: schema says no <script>alert(1)</script>, 100%25 done: really%0Aclass: product"
    )
    assert "\r" not in fastapi and fastapi.endswith(
        "%0Alog: mlcc-ci logs http-fastapi --stage build"
    )
    # capacity is the instance type's: the annotation goes on that line
    at = line_of("triton-fil.yaml", "instanceType")
    assert fil.startswith(f"::warning file=team/triton-fil.yaml,line={at},title=")
    assert onnx.startswith("::warning file=team/triton-onnx.yaml,")
    assert (
        "title=mlcc-ci trial%3A triton-onnx error [harness]::build: harness-internal-error" in onnx
    )


def test_workflow_commands_escape_as_githubs_toolkit_does():
    assert command("error", "a%b\r\nc: d, e", file="x:y,z.yaml", line=3, title="t: 1, 2%") == (
        "::error file=x%3Ay%2Cz.yaml,line=3,title=t%3A 1%2C 2%25::a%25b%0D%0Ac: d, e"
    )
    assert command("warning", "plain") == "::warning::plain"


def test_junit_of_text_xml_cannot_carry_still_validates():
    """Characters XML 1.0 has no way to say, in a name another writer stored and in a
    message, come out as '?' and the document validates."""
    case = Case(
        name="odd\x00name\ufffe",
        profile="p\x0b",
        outcome=FAILED,
        status="fail-build [product]",
        cls="product",
        stage="build",
        message="build: bad \x1b[31m\x07 \udc80 ]]> <x/> &amp;",
        detail="line\x0c\nnext",
        seconds=1234.5678,
        stages=(("build", StageResult("fail", 1.0)),),
    )
    broken = Case(name="b", profile="p", outcome=ERROR, status="error", cls="harness", stage="-")
    text = junit([case, broken], generated_at="2026-01-01T00:00:00Z")
    schema = xmlschema.XMLSchema(str(XSD))
    schema.validate(text)
    root = ET.fromstring(text)
    testcase = root.find("testsuite/testcase")
    assert testcase.get("name") == "odd?name?" and testcase.get("time") == "1234.568"
    assert testcase.find("failure").get("message") == "build: bad ?[31m? ? ]]> <x/> &amp;"
    assert root.find("testsuite/testcase[@name='b']/error").get("type") == "harness"


def test_allure_of_text_utf8_cannot_carry_is_still_json():
    case = Case(
        name="n\udc80", profile="p", outcome=FAILED, status="fail", cls="product", message="m\ud800"
    )
    files = allure_results([case], generated_at="2026-01-01T00:00:00Z")
    [doc] = [json.loads(v) for k, v in files.items() if k.endswith("-result.json")]
    assert doc["status"] == "failed" and doc["statusDetails"]["message"].startswith("[product] m")
    assert json.loads(files["categories.json"]) == categories()


def test_bad_input_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/r.db")
    from mlcc_ci.stores.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "r.db")
    store.create_tables()
    store.close()
    result = cli("report", "http-flask", "--format", "junit")
    assert result.exit_code == 2
    assert result.output == "Error: report NAME is shown as text or json, not junit\n"
    taken = tmp_path / "a-file"
    taken.write_text("")
    result = cli("report", "--allure-dir", str(taken / "results"))
    assert result.exit_code == 2
    assert result.output == f"Error: cannot write {taken / 'results'}: Not a directory\n"


def test_catalog_problems_use_the_same_escaping(cli, tmp_path, monkeypatch):
    folder = tmp_path / "cat,a:log"
    folder.mkdir()
    entry = (data_path("catalog") / "http-flask.yaml").read_text()
    (folder / "http-flask.yaml").write_text(entry + "colour: red\n")
    monkeypatch.chdir(tmp_path)
    result = cli("catalog", "validate", "--format", "github", "cat,a:log")
    assert result.exit_code == 2
    line = len(entry.splitlines()) + 1
    assert result.stdout.splitlines() == [
        f"::error file=cat%2Ca%3Alog/http-flask.yaml,line={line},title=mlcc-ci catalog::"
        'http-flask $.colour: unknown key "colour"'
    ]


def test_every_kind_of_configuration_of_the_rich_report(cli, tmp_path, monkeypatch):
    """A store the report tests use: a regression, a fix, a flaky one, one running, two
    failing with one cause; the same facts in JUnit XML, which still validates."""
    from mlcc_ci.stores.sqlite import SqliteStore
    from tests.reporting import EVIL, rich_scenario

    store = SqliteStore(tmp_path / "rich.db")
    roles = rich_scenario(store)
    store.close()
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/rich.db")
    text = cli("report", "--format", "junit").stdout
    xmlschema.XMLSchema(str(XSD)).validate(text)
    cases = {case.name: case for suite in JUnitXml.fromstring(text) for case in suite}
    [running] = cases[roles["running"]].result
    assert isinstance(running, Skipped)
    assert running.message == "running: in deploy_test since 2026-03-01T00:10:25.000Z"
    [regressed] = cases[roles["regressed"]].result
    assert isinstance(regressed, Failure) and regressed.type == "unclassified"
    assert regressed.message == "build: " + " ".join(EVIL.split())
    for name in roles["shared"]:
        [failure] = cases[name].result
        assert failure.type == "unclassified" and failure.message.startswith(
            "build: ERROR: failed to push"
        )
    assert cases[roles["fixed"]].is_passed and cases[roles["flaky"]].is_passed
    assert float(cases[roles["fixed"]].time) == pytest.approx(1646.0)
