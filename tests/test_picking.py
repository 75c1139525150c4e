"""Picking what to run: `--tag`, `-k EXPR` and `--last-failed` on `run` and `plan`, as a user
types them; and a team catalog's two entries of one generator configuration, each run,
shown, logged and reported as itself."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Record, Run
from mlcc_ci.picking import MAX_DEPTH, KeywordError, failed_last, keyword
from mlcc_ci.stores.open import open_store

CATALOG = load_valid_catalog()
SUPPORTED = [e for e in CATALOG.entries if e.supported]
NAMES = ["transformers-vllm", "triton-vllm", "http-flask", "http-fastapi", "Triton-ONNX"]


# -- -k reads as pytest's ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "kept"),
    [
        ("vllm", ["transformers-vllm", "triton-vllm"]),
        ("VLLM", ["transformers-vllm", "triton-vllm"]),  # case does not matter, as in pytest
        ("onnx", ["Triton-ONNX"]),
        ("http and not flask", ["http-fastapi"]),
        ("not http", ["transformers-vllm", "triton-vllm", "Triton-ONNX"]),
        ("triton and vllm or flask", ["triton-vllm", "http-flask"]),  # and binds tighter
        ("triton and (vllm or flask)", ["triton-vllm"]),
        ("not not http-flask", ["http-flask"]),
        ("(((fastapi)))", ["http-fastapi"]),
        ("", NAMES),  # as pytest: an empty expression keeps everything
        ("  ", NAMES),
        ("orx or andy", []),  # words that begin with a keyword are names
    ],
)
def test_keyword_reads_as_pytest(expr, kept):
    test = keyword(expr)
    assert [n for n in NAMES if test(n)] == kept


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("vllm and", "column 9: expected a name, 'not' or '(', got the end"),
        ("and vllm", "column 1: expected a name, 'not' or '(', got 'and'"),
        ("(vllm", "column 6: expected ')', got the end"),
        ("vllm)", "column 5: expected 'and', 'or' or the end, got ')'"),
        ("vllm flask", "column 6: expected 'and', 'or' or the end, got 'flask'"),
        ("vllm or ()", "column 10: expected a name, 'not' or '(', got ')'"),
        ("__import__('os')", "column 12: \"'os'\" is not a name"),  # read, never run
        ("a;b", "column 1: 'a;b' is not a name"),
    ],
)
def test_keyword_says_where_it_cannot_read(expr, message):
    with pytest.raises(KeywordError) as caught:
        keyword(expr)
    assert str(caught.value) == message


def test_keyword_nesting_is_bounded_not_a_crash():
    deep = "(" * 5000 + "vllm" + ")" * 5000
    with pytest.raises(KeywordError) as caught:
        keyword(deep)
    assert str(caught.value) == f"column {MAX_DEPTH + 2}: more than {MAX_DEPTH} levels of nesting"
    assert keyword("not " * MAX_DEPTH + "vllm")("http-flask") is (MAX_DEPTH % 2 == 1)


WORDS = ["vllm", "http", "flask", "triton", "onnx"]


@st.composite
def expressions(draw, depth=0):
    """A -k expression and its meaning over a name, built side by side."""
    kind = draw(
        st.sampled_from(["word", "word", "not", "and", "or", "paren"] if depth < 4 else ["word"])
    )
    if kind == "word":
        word = draw(st.sampled_from(WORDS))
        return word, lambda name: word in name.lower()
    if kind == "not":
        text, inner = draw(expressions(depth + 1))
        return f"not ({text})", lambda name: not inner(name)
    if kind == "paren":
        text, inner = draw(expressions(depth + 1))
        return f"({text})", inner
    (lt, left), (rt, right) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    if kind == "and":
        return f"({lt}) and ({rt})", lambda name: left(name) and right(name)
    return f"({lt}) or ({rt})", lambda name: left(name) or right(name)


@given(expressions(), st.sampled_from(NAMES))
def test_keyword_means_what_it_says(built, name):
    text, meaning = built
    assert keyword(text)(name) == meaning(name)


# -- what "failed last" means ----------------------------------------------------------------


def _record(status="pass", profile=None):
    return Record(
        configId="c" * 16,
        configJson="{}",
        deploymentConfig="http-flask",
        buildStrategy="docker-in-docker",
        projectName="p",
        createdAt="2026-01-01T00:00:00Z",
        source="catalog",
        version=2,
        testStatus=status,
        profile=profile,
    )


def _run(status, profile, day):
    return Run(
        configId="c" * 16,
        startedAt=f"2026-01-0{day}T00:00:00Z",
        runId=f"r{day}",
        finishedAt=f"2026-01-0{day}T00:01:00Z",
        status=status,
        durationSeconds=60,
        deploymentConfig="http-flask",
        profile=profile,
    )


@pytest.mark.parametrize(
    ("runs", "failed"),
    [
        ([_run("fail-build", "example", 2), _run("pass", "example", 1)], True),
        ([_run("pass", "example", 2), _run("fail-build", "example", 1)], False),
        ([_run("error", "example", 1)], True),  # mlcc-ci itself broke: rerun, as pytest's errors
        ([_run("interrupted", "example", 1)], False),  # stopped, not failed: it stays due
        # the last run of *this* profile decides, whatever other profiles did since
        ([_run("fail-deploy_test", "default", 3), _run("pass", "example", 2)], False),
        ([_run("pass", "default", 3), _run("fail-validate", "example", 2)], True),
        ([_run("fail-build", "default", 1)], False),  # never ran under this profile
    ],
)
def test_failed_last_is_the_last_run_under_the_profile(runs, failed):
    assert failed_last(_record(), runs, "example") is failed


def test_a_record_with_no_history_answers_by_its_status_unless_another_profile_wrote_it():
    assert failed_last(_record("fail-build"), [], "example") is True
    assert failed_last(_record("fail-build", profile="example"), [], "example") is True
    assert failed_last(_record("fail-build", profile="default"), [], "example") is False
    assert failed_last(_record("pass"), [], "example") is False


# -- run and plan, as a user types them --------------------------------------------------------

functional = pytest.mark.functional
DRY_ENTRY = re.compile(r"^(\S+) \([0-9a-f]{16}\) — configJson: ")


def dry_names(output: str) -> list[str]:
    return [m.group(1) for line in output.splitlines() if (m := DRY_ENTRY.match(line))]


def summary_rows(output: str) -> dict[str, str]:
    """Config -> Status of the summary table `run` ends with."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["Config", "Status"])
    rows = {}
    for line in lines[start + 2 :]:
        if not line.strip() or re.match(r"\d+ passed, ", line):  # its end, or the counts
            break
        rows[line.split()[0]] = line.split()[1]
    return rows


def tagged(*tags: str) -> list[str]:
    return [e.name for e in SUPPORTED if set(tags) & set(e.data.get("tags", ()))]


@pytest.fixture
def store_env(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/results.db"
    monkeypatch.setenv("MLCC_CI_STORE", url)
    return url


@functional
def test_an_unknown_tag_is_one_line_naming_the_known_tags(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/fresh.db"
    known = sorted({t for e in CATALOG.entries for t in e.data.get("tags", ())})
    for command in ("run", "plan"):
        bad = cli(command, "--tag", "gpus", "--store", url)
        assert bad.exit_code == 2
        assert bad.output == (
            f"Error: no catalog entry is tagged 'gpus' (known tags: {', '.join(known)})\n"
        )
    assert not (tmp_path / "fresh.db").exists()  # a typo makes no store


@functional
def test_tag_and_k_narrow_names_all_and_each_other(cli, store_env):
    def picked(*args: str) -> list[str]:
        result = cli("run", *args, "--dry-run", "--profile", "example")
        assert result.exit_code == 0, result.output
        return dry_names(result.output)

    assert tagged("triton") and picked("--tag", "triton") == tagged("triton")
    assert picked("--tag", "cpu", "--tag", "llm") == tagged("cpu", "llm")  # any of them
    assert picked("--all", "--tag", "gpu", "-k", "vllm or sglang") == [
        n for n in tagged("gpu") if "vllm" in n or "sglang" in n
    ]
    assert picked("http-flask", "triton-fil", "--tag", "gpu") == ["triton-fil"]
    assert picked("-k", "http and not flask") == ["http-fastapi"]  # http-nginx: unsupported
    assert picked("-k", "TRITON and (fil or python)") == ["triton-fil", "triton-python"]
    assert list(open_store(store_env).records()) == []  # a dry run registers nothing

    none = cli("run", "http-flask", "--tag", "gpu", "-k", "fil")
    assert (none.exit_code, none.output) == (
        2,
        "Error: none of http-flask matches --tag gpu, -k 'fil'\n",
    )
    nothing = cli("run", "-k", "nginx and triton")
    assert (nothing.exit_code, nothing.output) == (
        2,
        "Error: no catalog entry matches -k 'nginx and triton'\n",
    )
    bad = cli("plan", "-k", "vllm and")
    assert (bad.exit_code, bad.output) == (
        2,
        "Error: -k 'vllm and': column 9: expected a name, 'not' or '(', got the end\n",
    )


@functional
def test_what_run_and_the_filters_accept(cli, store_env):
    alone = cli("run")
    assert alone.exit_code == 2 and alone.output == (
        "Error: choose what to run: NAME ..., --due, --all or --config-id ID "
        "(or every entry narrowed by --tag, -k or --last-failed)\n"
    )
    claimed = cli("run", "--config-id", "0123456789abcdef", "--tag", "cpu")
    assert claimed.exit_code == 2 and claimed.output == (
        "Error: --config-id runs the record it names: no --tag, -k or --last-failed\n"
    )
    help_text = " ".join(cli("run", "--help").output.split())
    assert "--last-failed, --lf Only entries whose last run under this profile did not pass: " in (
        help_text
    )
    assert "failed (fail-*), blocked by the infrastructure, or an error of mlcc-ci" in help_text
    for option in ("--tag TAG", "-k EXPR", "--last-failed, --lf"):
        assert option in cli("plan", "--help").output


@functional
def test_last_failed_reruns_what_failed_was_blocked_or_broke(cli, store_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_CI_PROFILE", "example")  # for each command below
    work = ("--work-dir", str(tmp_path / "work"))
    nothing = cli("run", "--last-failed", *work)
    assert (nothing.exit_code, nothing.output) == (
        0,
        "no previously failed configurations (profile example); nothing to run\n",
    )
    monkeypatch.setenv(
        "MLCC_CI_FAULT",
        "triton-fil:deploy_test:fail,http-fastapi:deploy_test:capacity,triton-python:generate:crash",
    )
    four = ("http-flask", "http-fastapi", "triton-fil", "triton-python")
    first = cli("run", *four, "--no-retry", "-q", "-j", "4", *work)
    assert first.exit_code == 1
    assert first.output.splitlines()[-1].startswith("1 passed, 1 failed, 1 blocked, 1 error")
    monkeypatch.delenv("MLCC_CI_FAULT")

    failed = ["http-fastapi", "triton-fil", "triton-python"]  # in catalog order
    dry = cli("run", "--lf", "--dry-run")
    assert dry_names(dry.output) == failed
    assert dry_names(cli("run", "--lf", "--tag", "cpu", "--dry-run").output) == ["http-fastapi"]
    assert dry_names(cli("run", "--lf", "-k", "triton", "--dry-run").output) == failed[1:]
    # plan shows what is due of them (the error's record went back to untested: due), and why
    # the others are not (blocked until its retry time; fresh)
    plan = json.loads(cli("plan", "--lf", "--json").output)
    assert [d["name"] for d in plan["due"]] == ["triton-python"]
    assert sorted((d["name"], d["reason"]) for d in plan["skipped"]) == [
        ("http-fastapi", "blocked"),
        ("triton-fil", "fresh"),
    ]
    assert plan["unregistered"] == []  # the catalog's other entries are not what failed
    due = cli("run", "--due", "--lf", "--dry-run")
    assert dry_names(due.output) == ["triton-python"]

    again = cli("run", "--last-failed", "-q", *work)
    assert again.exit_code == 0, again.output
    assert summary_rows(again.output) == {name: "pass" for name in failed}
    assert again.output.splitlines()[-1].startswith("3 passed, 0 failed")
    done = cli("run", "--lf", "--tag", "cpu")
    assert (done.exit_code, done.output) == (
        0,
        "no previously failed configurations among --tag cpu (profile example); nothing to run\n",
    )


@functional
def test_last_failed_is_of_the_profile_in_use(cli, tmp_path, monkeypatch):
    """One store, two profiles: what failed under one is not what failed under the other."""
    url = f"sqlite:///{tmp_path}/shared.db"
    monkeypatch.setenv("MLCC_CI_FAULT", "triton-fil:deploy_test:fail")
    ran = cli("run", "triton-fil", "--profile", "example", "--store", url, "-q")
    assert ran.exit_code == 1
    monkeypatch.delenv("MLCC_CI_FAULT")
    mine = cli("run", "--lf", "--profile", "example", "--store", url, "--dry-run")
    assert dry_names(mine.output) == ["triton-fil"]
    other = cli("run", "--lf", "--profile", "static", "--store", url, "--dry-run")
    assert (other.exit_code, other.output) == (
        0,
        "no previously failed configurations (profile static); nothing to run\n",
    )


@functional
def test_dry_run_names_the_projects_own_do_validate(cli, store_env):
    for profile in ("static", "default"):
        out = cli("run", "triton-fil", "--dry-run", "--profile", profile).output
        (validate,) = [line for line in out.splitlines() if line.startswith("  validate ")]
        assert "then ./do/validate (the project's own, offline" in validate, validate
        (register,) = [line for line in out.splitlines() if line.startswith("  register ")]
        assert "record the generator version and the image" in register


# -- two entries of one generator configuration, end to end -----------------------------------

QWEN_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"


def _team(cli, root: Path, second: str) -> Path:
    """A team repository: a settings file naming its catalog, with the shipped
    transformers-vllm and `second`, the same generator configuration on another model and a
    cheaper instance."""
    made = cli("catalog", "init", str(root / "ci" / "catalog"), "transformers-vllm")
    assert made.exit_code == 0, made.output
    shipped = (root / "ci" / "catalog" / "transformers-vllm.yaml").read_text()
    text = re.sub(r"(?m)^name: .*$", f"name: {second}\ngeneratorName: transformers-vllm", shipped)
    text = re.sub(r"(?m)^modelName: .*$", f"modelName: {QWEN_MODEL}", text)
    text = re.sub(r"(?m)^instanceType: .*$", "instanceType: ml.g5.xlarge", text)
    (root / "ci" / "catalog" / f"{second}.yaml").write_text(text)
    (root / "mlcc-ci.toml").write_text(
        f'catalog = "ci/catalog"\nprofile = "static"\nstore = "sqlite:///{root}/results.db"\n'
    )
    return root / "ci" / "catalog"


@pytest.mark.generator
# one sorts before transformers-vllm and one after: neither may win by file order
@pytest.mark.parametrize("second", ["qwen-vllm-small", "vllm-qwen-small"])
def test_two_entries_of_one_generator_configuration_each_as_itself(
    cli, tmp_path, monkeypatch, pinned_generator, second
):
    from tests.test_generator import NODE_GUARD

    monkeypatch.setenv("NODE_OPTIONS", NODE_GUARD)
    root = tmp_path / "team-repo"
    root.mkdir()
    _team(cli, root, second)
    monkeypatch.chdir(root)
    work = root / "work"
    ran = cli("run", "--all", "--work-dir", str(work), "-q")
    assert ran.exit_code == 0, ran.output
    both = sorted(["transformers-vllm", second])
    assert summary_rows(ran.output) == {name: "pass" for name in both}

    ids = {}
    for name in both:
        shown = cli("catalog", "show", name).output
        assert re.search(rf"(?m)^name: {name}$", shown), shown
        ids[name] = re.search(r"configId: ([0-9a-f]{16})", shown).group(1)
    assert ids[second] != ids["transformers-vllm"]

    records = {r.configId: r for r in open_store(f"sqlite:///{root}/results.db").records()}
    assert {r.deploymentConfig for r in records.values()} == set(both)
    model = {"transformers-vllm": "openai/gpt-oss-20b", second: QWEN_MODEL}
    for name in both:
        record = records[ids[name]]  # each recorded under its own identity and name
        assert (record.deploymentConfig, record.testStatus) == (name, "pass")
        assert json.loads(record.configJson)["modelName"] == model[name]
        (folder,) = work.glob(f"{name}-{record.runId}")  # its run folder says its name
        project = folder / f"mlcc-ci-{name}"
        assert f'MODEL_NAME="{model[name]}"' in (project / "do" / "config").read_text()

        logs = cli("logs", name)
        assert logs.exit_code == 0, logs.output
        assert f"Project: mlcc-ci-{name}" in logs.output  # its own project's do/validate
        history = json.loads(cli("history", "show", name, "--json").output)
        assert [(h["deploymentConfig"], h["runId"]) for h in history] == [(name, record.runId)]
        one = cli("report", name).output
        assert one.startswith(f"{name}: pass\n") and f"configId:   {ids[name]}" in one
        # its generated project registers as itself, not as the other entry
        again = cli("register", "--from-project", str(project), "--dry-run")
        assert f"would register {name} {ids[name]} into" in again.output, again.output

    report = json.loads(cli("report", "--format", "json").output)
    rows = report["configurations"]  # name -> its row
    assert sorted(rows) == both
    for name in both:
        assert (rows[name]["status"], rows[name]["configId"]) == ("pass", ids[name])
    text = cli("report").output
    for name in both:
        assert re.search(rf"(?m)^{re.escape(name)}\s+pass\s", text), text
