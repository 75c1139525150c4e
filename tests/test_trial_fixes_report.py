"""What a new user's trial of a team catalog found in the report, history and generator
commands: a name cut to look like another, an annotation that says its failure twice, costs
of $0.00 with no reason, a help text naming a subcommand that does not exist, a history
that hides the entry's earlier identity, and a generator check that reads a team catalog's
few entries as missing the rest. Run as that user did: a team catalog, `mlcc-ci run`."""

import json
from pathlib import Path

import pytest

# Each test carries its tier (no module-wide functional): one that needs the generator is of that
# tier only, so `pytest -m "unit or functional"` runs without it.
BIG = "transformers-vllm"
SMALL = "transformers-vllm-small"  # cut to 16, both names read `transformers-vl…`
REASON = "vLLM 0.10 breaks the small models"
HELD = f"quarantine:\n  reason: {REASON}\n  until: 2099-12-31\n"
SMALL_ENTRY = f"""\
name: {SMALL}
generatorName: transformers-vllm
architecture: transformers
backend: vllm
support:
  state: supported
baseImage: vllm/vllm-openai:v0.10.1
modelName: Qwen/Qwen2.5-0.5B-Instruct
instanceType: ml.g5.xlarge
buildStrategy: codebuild-submit
smokeTest:
  payload: {{"messages": [{{"role": "user", "content": "Say hello."}}], "max_tokens": 16}}
  expect: {{"path": "choices.0.message.content"}}
"""


@pytest.fixture
def team(cli, tmp_path, monkeypatch):
    """The trial's catalog: the shipped transformers-vllm and a smaller variant of the
    same generator configuration, and the store their runs go to."""
    folder = tmp_path / "team"
    assert cli("catalog", "init", str(folder), "http-flask", BIG).exit_code == 0
    (folder / f"{SMALL}.yaml").write_text(SMALL_ENTRY)
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    monkeypatch.chdir(tmp_path)
    return folder


def _run(cli, team, tmp_path, monkeypatch, *names, fault=None):
    if fault:
        monkeypatch.setenv("MLCC_CI_FAULT", fault)
    else:
        monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    work = str(tmp_path / "work")
    which = list(names) or ["--all"]
    return cli("--catalog", str(team), "run", *which, "--profile", "example", "--work-dir", work)


# -- 1. the name column is never cut --------------------------------------------------------


@pytest.mark.functional
def test_a_quarantine_never_cuts_the_names_at_100_columns(cli, team, tmp_path, monkeypatch):
    with (team / f"{SMALL}.yaml").open("a") as fh:
        fh.write(HELD)
    ran = _run(cli, team, tmp_path, monkeypatch, fault=f"{SMALL}:validate:fail")
    assert ran.exit_code == 0, ran.output  # the one failure is quarantined
    monkeypatch.setenv("COLUMNS", "100")
    out = cli("--catalog", str(team), "report").output
    lines = out.splitlines()
    table = lines[4 : lines.index("", 2)]  # under the header and its rule
    assert [line for line in lines[2 : lines.index("", 2)] if len(line) > 100] == []
    rows = [line.split()[0] for line in table if not line.startswith(" ")]
    assert sorted(rows) == sorted(["http-flask", BIG, SMALL]), out
    small = next(line for line in lines if line.startswith(f"{SMALL} "))
    assert "fail-validate" in small
    # the status says it is quarantined; the date and the reason are in the note below
    shown = out[out.index(f"{SMALL} ") : out.index("Summary: ")]
    assert "quarantined" in shown
    flat = " ".join(out.split())
    assert f"QUARANTINED {SMALL}: until 2099-12-31 (its failures are not counted): {REASON}" in (
        flat
    )
    # narrower still, columns go (and are named) before a name is cut
    monkeypatch.setenv("COLUMNS", "60")
    narrow = cli("--catalog", str(team), "report").output
    lines = narrow.splitlines()
    table = lines[4 : lines.index("", 2)]
    assert sorted(x.split()[0] for x in table if not x.startswith(" ")) == sorted(rows)
    assert [line for line in lines[2 : lines.index("", 2)] if len(line) > 60] == []
    assert lines[2].split() == ["Config", "Status", "Stages"]
    said = " ".join(narrow.split())
    left = said[said.index("Left out to fit 60 columns: ") :].split(" (")[0]
    assert "Pass rate" in left  # and Last Test, or its one value if every row has the same:
    assert "Last Test" in left or "Last Test of all: " in said
    # where it fits, the status is whole on one line, as before
    monkeypatch.setenv("COLUMNS", "200")
    wide = cli("--catalog", str(team), "report").output
    row = next(line for line in wide.splitlines() if line.startswith(f"{SMALL} "))
    assert "(quarantined until 2099-12-31)" in row


@pytest.mark.functional
@pytest.mark.parametrize("width", [100, 80, 60])
def test_no_width_cuts_a_name_other_columns_make_room(width):
    """The shipped catalog, never run: at 60 columns the names alone nearly fill it."""
    from datetime import UTC, datetime

    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.report.model import build_report
    from mlcc_ci.report.render import text

    entries = load_valid_catalog().entries
    out = text(build_report(entries, [], {}, datetime(2026, 3, 1, tzinfo=UTC)), width)
    lines = out.splitlines()
    table = lines[4 : lines.index("", 2)]
    assert [line.split()[0] for line in table if not line.startswith(" ")] == [
        e.name for e in entries
    ]
    assert [line for line in lines[2 : lines.index("", 2)] if len(line) > width] == []


# -- 2. an annotation says its failure once -------------------------------------------------


@pytest.mark.functional
def test_a_github_annotation_says_the_failure_once(cli, team, tmp_path, monkeypatch):
    ran = _run(cli, team, tmp_path, monkeypatch, "http-flask", fault="http-flask:validate:fail")
    assert ran.exit_code == 1, ran.output
    result = cli("--catalog", str(team), "report", "--format", "github")
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()
    assert line.startswith("::error file=team/http-flask.yaml,")
    message = line.split("::", 2)[2].replace("%0A", "\n").replace("%25", "%")
    assert message.count("injected failure") == 1, message
    assert message.count("exit code 1") == 1, message
    said = message.splitlines()
    assert said[0] == "validate: exit code 1 mlcc-ci: injected failure"
    assert "class: unclassified" in said and "stage: validate" in said
    assert said[-1] == "log: mlcc-ci logs http-flask --stage validate"


@pytest.mark.functional
def test_what_the_message_does_not_say_stays_in_the_annotation():
    from mlcc_ci.report.annotations import annotation
    from mlcc_ci.report.cases import FAILED, Case

    case = Case(
        "x",
        "p",
        FAILED,
        "fail-build",
        cls="product",
        stage="build",
        message="build: exit code 2",
        detail="class: product\nstage: build\nexit code 2\npip: no matching distribution",
    )
    text = annotation(case, Path.cwd())
    assert text is not None
    said = text.split("::", 2)[2].split("%0A")
    assert said == [
        "build: exit code 2",
        "class: product",
        "stage: build",
        "pip: no matching distribution",
        "log: mlcc-ci logs x --stage build",
    ]


# -- 3. an unbilled profile's costs say why they are $0 -------------------------------------


@pytest.mark.functional
def test_costs_of_an_unbilled_profile_say_why_in_every_format(cli, team, tmp_path, monkeypatch):
    at = ("--catalog", str(team))
    said = "Profile example is not billed: it makes nothing in AWS, so its runs cost $0"
    assert said not in " ".join(cli(*at, "report").output.split())  # nothing ran yet
    assert _run(cli, team, tmp_path, monkeypatch, "http-flask").exit_code == 0
    text = " ".join(cli(*at, "report").output.split())
    assert "Month at the current schedule" in text and said in text
    # beside the costs, not somewhere else
    assert text.index("Cost of the runs shown") < text.index(said) < text.index("Infrastructure")
    md = cli(*at, "report", "--format", "markdown").output
    assert f"- {said}" in md.splitlines()
    page = cli(*at, "report", "--format", "html").output
    assert said in page


# -- 4. history: its help, a mistyped subcommand, earlier identities ------------------------


@pytest.mark.functional
def test_history_help_names_its_subcommands_and_list_suggests_show(cli):
    helped = " ".join(cli("history", "--help").output.split())
    assert "list them" not in helped
    assert "show NAME" in helped and "forget RUN_ID" in helped
    listed = cli("history", "list")
    assert listed.exit_code == 2
    assert "No such command 'list'. Did you mean 'show'?" in listed.output
    shw = cli("history", "shw")
    assert shw.exit_code == 2 and "Did you mean 'show'?" in shw.output


@pytest.mark.functional
def test_history_show_names_the_earlier_identities_report_lists(cli, team, tmp_path, monkeypatch):
    at = ("--catalog", str(team))
    failed = _run(cli, team, tmp_path, monkeypatch, SMALL, fault=f"{SMALL}:validate:fail")
    assert failed.exit_code == 1, failed.output
    old = json.loads(cli(*at, "report", "--json").output)["configurations"][SMALL]["configId"]
    path = team / f"{SMALL}.yaml"
    path.write_text(path.read_text().replace("Qwen2.5-0.5B", "Qwen2.5-1.5B"))
    assert _run(cli, team, tmp_path, monkeypatch, SMALL).exit_code == 0

    one = cli(*at, "report", SMALL).output
    block = one[one.index("Earlier identities (1)") :].split("\n", 1)[1]
    earlier = " ".join(block.split())
    assert earlier.startswith(f"earlier identity {old} (model Qwen/Qwen2.5-0.5B-Instruct): 1 run")
    shown = cli(*at, "history", "show", SMALL)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert sum(" pass " in line for line in lines) == 1  # its own run, in the table
    assert not any(" fail-validate " in line for line in lines[:3])
    head = f"Earlier identities (1), not listed above (`mlcc-ci report {SMALL}` shows them):"
    assert head in lines
    said = "\n".join(lines[lines.index(head) + 1 :])
    assert " ".join(said.split()) == earlier  # in the words report NAME has
    # its JSON stays the list of the current identity's runs
    runs = json.loads(cli(*at, "history", "show", SMALL, "--json").output)
    assert [r["status"] for r in runs] == ["pass"]


# -- 5. generator check: a team catalog's few entries are not a problem ---------------------


@pytest.mark.generator
def test_generator_check_on_a_team_catalog_offers_the_rest_as_information(
    cli, team, pinned_generator
):
    from mlcc_ci import generator

    offered = generator.load_parameters(pinned_generator).deployment_configs
    more = len(set(offered) - {"http-flask", "transformers-vllm"})
    result = cli("--catalog", str(team), "generator", "check")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "lacks" not in out
    assert "generator 1.6.0 fits the catalog" in out.splitlines()
    assert "no entry names" not in out
    (note,) = [line for line in out.splitlines() if line.startswith("note: ")]
    assert note.startswith(f"note: the generator offers {more} more configurations")
    assert "mlcc-ci catalog add NAME --from CONFIGURATION" in note
    # the shipped catalog's check stays strict: it must name every configuration
    shipped = cli("generator", "check").output.splitlines()
    assert shipped[0] == "configurations the catalog lacks (0):"
