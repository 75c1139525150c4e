"""How a failed stage is classified (mlcc_ci/failures.py), with rules built in the test: the
capture and the line a person reads, cut to their bounds; a log read from its end, its first
partial line left out; a stage's log, its stderr and the harness's summary read together; the
classification that runs out of time naming its rule; where a rule is written; the label of a
problem in a rule file. Written for make mutation (issue 32 item 2): each test fails on a
mutant of failures.py that changes a classification or what a person reads."""

import threading
from pathlib import Path

import pytest

from mlcc_ci import failures
from mlcc_ci.errors import CatalogError
from mlcc_ci.failures import (
    TAIL_BYTES,
    UNCLASSIFIED,
    Classification,
    Retry,
    Rule,
    classify,
    classify_log,
    classify_stage,
    load_rules,
    rule_path,
)
from mlcc_ci.patterns import compile_pattern
from mlcc_ci.resources import use_catalog

pytestmark = pytest.mark.unit

UNMATCHED = Classification(UNCLASSIFIED, hint="no rule matched: read the log")


def rule(name: str, pattern: str, stages=("any",), cls="infra") -> Rule:
    return Rule(
        name=name,
        cls=cls,
        stages=tuple(stages),
        pattern=compile_pattern(pattern),
        retry=Retry(2, 30),
        hint=f"hint of {name}",
        file=Path("/team/_failures.yaml"),
        line=7,
    )


BOOM = rule("boom", r"boom: (\w+)")


# -- the capture and the line ------------------------------------------------------------------


def test_the_match_nearest_the_end_gives_the_capture_and_its_line():
    text = "start\n  boom: first  \nmiddle\n  error boom: second, said twice  \nafter\n"
    assert classify("build", text, (BOOM,)) == Classification(
        "infra",
        "boom",
        "second",
        "hint of boom",
        Retry(2, 30),
        "error boom: second, said twice",
    )


def test_a_match_on_the_first_or_last_line():
    assert classify("build", "boom: a\nnext", (BOOM,)).line == "boom: a"
    assert classify("build", "before\nlast boom: z", (BOOM,)).line == "last boom: z"
    assert classify("build", "boom: only", (BOOM,)).line == "boom: only"


def test_a_capture_is_made_one_line_and_cut_to_200_characters():
    spread = rule("spread", r"(?s)begin(.*)end")
    found = classify("build", "begin  a\n\n b\tc  end", (spread,))
    assert found.capture == "a b c"
    assert found.line == "begin  a"  # the line the capture begins on
    exact = "x" * 200
    assert classify("build", f"boom: {exact}\n", (BOOM,)).capture == exact
    long = "y" * 201
    assert classify("build", f"boom: {long}\n", (BOOM,)).capture == "y" * 197 + "..."


def test_an_empty_or_absent_capture_is_empty():
    optional = rule("optional", r"failed(?: with (\w+))?")
    assert classify("build", "it failed\n", (optional,)).capture == ""
    empty = rule("empty", r"failed(x*)")
    assert classify("build", "it failed\n", (empty,)).capture == ""


def test_the_line_of_a_match_without_its_capture_is_the_matchs():
    optional = rule("optional", r"failed(?: with (\w+))?")
    found = classify("build", "one\ntwo: it failed here\nthree\n", (optional,))
    assert (found.capture, found.line) == ("", "two: it failed here")
    # a capture at the very start of the log
    first = rule("first", r"(\w+) failed")
    assert classify("build", "deploy failed\nx\n", (first,)).line == "deploy failed"


def test_a_line_is_cut_to_500_characters():
    exact = "a" * 492 + " boom: z"  # 500 characters
    assert classify("build", exact + "\n", (BOOM,)).line == exact
    long = "a" * 493 + " boom: z"  # 501
    assert classify("build", long + "\n", (BOOM,)).line == "a" * 493 + " boo..."


def test_a_capture_spanning_lines_names_the_line_it_starts_on():
    spread = rule("spread", r"(?s)(start.*stop)")
    found = classify("build", "zero\nstart here\nand stop\nafter\n", (spread,))
    assert found.line == "start here"


def test_colour_codes_and_lone_surrogates_do_not_hide_a_match():
    text = "\x1b[31mboom: \x1b[1;33mred\x1b[0m\n"
    assert classify("build", text, (BOOM,)).capture == "red"
    found = classify("build", "boom: x\ud800y\n", (BOOM,))
    assert (found.capture, found.line) == ("x", "boom: x?y")


def test_only_the_last_64_kb_are_read():
    assert TAIL_BYTES == 64 * 1024
    text = "boom: early\n" + "." * TAIL_BYTES
    assert classify("build", text, (BOOM,)) == UNMATCHED
    assert classify("build", text[1:] + "\nboom: late", (BOOM,)).capture == "late"


# -- which rules apply ---------------------------------------------------------------------------


def test_the_first_rule_in_order_that_matches_wins():
    later = rule("later", r"(boom)", cls="product")
    assert classify("build", "boom: x", (BOOM, later)).rule == "boom"
    assert classify("build", "boom: x", (later, BOOM)).rule == "later"
    assert classify("build", "nothing here", (BOOM, later)) == UNMATCHED
    assert classify("build", "boom: x", ()) == UNMATCHED


def test_a_rule_reads_only_its_stages():
    build_only = rule("build-only", r"boom: (\w+)", stages=("build",))
    assert classify("build", "boom: x", (build_only,)).rule == "build-only"
    assert classify("deploy_test", "boom: x", (build_only,)) == UNMATCHED
    assert classify(None, "boom: x", (build_only,)).rule == "build-only"  # any stage


def test_an_unknown_stage_is_refused():
    with pytest.raises(ValueError) as raised:
        classify("smoke", "boom: x", (BOOM,))
    assert str(raised.value) == (
        "unknown stage 'smoke' (one of: generate, validate, build, deploy_test, register, teardown)"
    )


# -- out of time ---------------------------------------------------------------------------------


class SteppingClock:
    """time.monotonic for failures.py: `first` for the deadline, then `after` each call."""

    def __init__(self, first: float, after: float):
        self.values = [first]
        self.after = after

    def monotonic(self) -> float:
        return self.values.pop(0) if self.values else self.after


def test_past_the_limit_the_rule_being_tried_is_named(monkeypatch):
    slow = rule("slow", r"never (\w+)")
    monkeypatch.setattr(failures, "time", SteppingClock(0.0, 2.5))
    found = classify("build", "boom: x", (slow, BOOM))
    assert found == Classification(
        UNCLASSIFIED,
        hint="the failure rules ran out of time (2 s for one failed run) at rule slow"
        " (/team/_failures.yaml:7): read the log; a rule that slow needs a simpler pattern",
    )


def test_a_search_that_ends_at_the_limit_still_counts(monkeypatch):
    monkeypatch.setattr(failures, "time", SteppingClock(0.0, 2.0))
    assert classify("build", "boom: x\nboom: y\n", (BOOM,)).capture == "y"


def test_no_time_at_all_names_the_first_rule(monkeypatch):
    monkeypatch.setattr(failures, "CLASSIFY_SECONDS", 0)
    found = classify("build", "boom: x", (BOOM,))
    assert found.cls == UNCLASSIFIED
    assert found.hint.startswith("the failure rules ran out of time (0 s for one failed run) at")


def test_an_error_in_the_search_is_raised_in_the_caller(monkeypatch):
    def broken(*args):
        raise KeyError("inside the search")

    monkeypatch.setattr(failures, "_first_match", broken)
    with pytest.raises(KeyError, match="inside the search"):
        classify("build", "boom: x", (BOOM,))


# -- a log file; a stage's log, stderr and summary ---------------------------------------------


def test_a_log_file_is_read_from_its_end_without_its_partial_first_line(tmp_path):
    z = rule("z", r"(Z)")
    log = tmp_path / "build.log"
    # the partial first line ends in Z: left out, and nothing after it is lost
    log.write_bytes(b"Z" * 10 + b"aZ\n" + b"boom: kept\n" + b"." * (TAIL_BYTES - 13))
    assert classify_log("build", log, (z,)) == UNMATCHED
    assert classify_log("build", log, (BOOM,)).capture == "kept"
    # a whole file is read whole
    log.write_bytes(b"Z first\n")
    assert classify_log("build", log, (z,)).capture == "Z"


def test_a_log_files_stage_and_bytes(tmp_path):
    log = tmp_path / "deploy_test.log"
    log.write_bytes(b"boom: caf\xe9\n")
    build_only = rule("build-only", r"boom: (\w+)", stages=("build",))
    assert classify_log("deploy_test", log, (build_only,)) == UNMATCHED
    found = classify_log("deploy_test", log, (BOOM,))
    assert found.line == "boom: caf\ufffd"


def test_a_stage_reads_its_log_its_stderr_then_the_summary(tmp_path):
    log = tmp_path / "build.log"
    log.write_text("boom: stdout\n")
    (tmp_path / "build.stderr.log").write_text("boom: stderr\n")
    assert classify_stage("build", log, "boom: summary", (BOOM,)).capture == "summary"
    assert classify_stage("build", log, "", (BOOM,)).capture == "stderr"
    (tmp_path / "build.stderr.log").unlink()
    assert classify_stage("build", log, "", (BOOM,)).capture == "stdout"
    assert classify_stage("build", None, "boom: said", (BOOM,)).capture == "said"
    assert classify_stage("build", tmp_path / "none.log", "", (BOOM,)) == UNMATCHED


def test_a_stage_joins_its_parts_on_lines(tmp_path):
    log = tmp_path / "build.log"
    log.write_text("end of stdout")
    (tmp_path / "build.stderr.log").write_text("start of stderr")
    joined = rule("joined", r"(stdout\nstart)")
    assert classify_stage("build", log, "summary", (joined,)).capture == "stdout start"
    whole = rule("whole", r"(stderr\nsummary)$")
    assert classify_stage("build", log, "summary", (whole,)).capture == "stderr summary"


def test_each_part_gives_half_the_tail_without_its_partial_line(tmp_path):
    half = TAIL_BYTES // 2
    z = rule("z", r"(Z)")
    log = tmp_path / "deploy_test.log"
    log.write_bytes(b"Z" * 10 + b"aZ\n" + b"boom: out\n" + b"." * (half - 13))
    err = tmp_path / "deploy_test.stderr.log"
    err.write_bytes(b"Z" * 10 + b"bZ\n" + b"boom: err\n" + b"." * (half - 13) + b"\xff")
    assert classify_stage("deploy_test", log, "", (z,)) == UNMATCHED
    found = classify_stage("deploy_test", log, "", (BOOM,))
    assert found.capture == "err"
    # whole files: their first lines are read
    log.write_bytes(b"Z in the log\n")
    err.write_bytes(b"\xffnothing\n")
    assert classify_stage("deploy_test", log, "", (z,)).line == "Z in the log"
    # a log of exactly half the tail is whole
    log.write_bytes(b"Z" + b"." * (half - 1))
    err.unlink()
    assert classify_stage("deploy_test", log, "", (z,)).capture == "Z"


def test_a_stage_the_rules_do_not_know_reads_every_rule(tmp_path):
    build_only = rule("build-only", r"boom: (\w+)", stages=("build",))
    assert classify_stage("smoke", None, "boom: x", (build_only,)).rule == "build-only"
    assert classify_stage("deploy_test", None, "boom: x", (build_only,)) == UNMATCHED


# -- where a rule is written ---------------------------------------------------------------------


def test_a_shipped_rule_of_an_installed_package_says_so(tmp_path, monkeypatch):
    data = tmp_path / "_data"
    monkeypatch.setattr(failures, "data_path", lambda name: data / name)
    assert rule_path(data / "catalog" / "_failures.yaml") == "(shipped) _failures.yaml"
    assert rule_path(data / "catalog" / "more" / "x.yaml") == "(shipped) more/x.yaml"
    assert rule_path(data / "other" / "_failures.yaml") == str(data / "other" / "_failures.yaml")
    # a catalog folder not under _data is no package's
    monkeypatch.setattr(failures, "data_path", lambda name: tmp_path / "src" / name)
    shipped = tmp_path / "src" / "catalog" / "_failures.yaml"
    assert rule_path(shipped) == str(shipped)


def test_a_team_rule_is_named_relative_to_its_catalog(tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    use_catalog(team)
    assert rule_path(team / "_failures.yaml") == "_failures.yaml"
    assert rule_path(tmp_path / "elsewhere.yaml") == str(tmp_path / "elsewhere.yaml")
    use_catalog(tmp_path / "gone")
    assert rule_path(team / "_failures.yaml") == str(team / "_failures.yaml")


# -- a problem in a rule file is labelled by its rule --------------------------------------------


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "rules:\n  - name: a\n    class: infra\n",
            ["2: a $.rules[0]: missing required key 'stages', 'pattern', 'retry', 'hint'"],
        ),
        ("rules:\n  - 7\n", ["2: failure rules $.rules[0]: expected object, got an integer"]),
        ("rules: 3\n", ["1: failure rules $.rules: expected array, got an integer"]),
        ("[]\n", ["1: failure rules $: expected object, got a list"]),
        # a problem of the file's own, with rules that are a list
        ("rules: []\nextra: 1\n", ['2: failure rules $.extra: unknown key "extra"']),
        (
            "rules:\n  - name: 5\n",
            [
                "2: failure rules $.rules[0]: missing required key 'class', 'stages', 'pattern',"
                " 'retry', 'hint'",
                "2: failure rules $.rules[0].name: expected string, got an integer",
            ],
        ),
    ],
)
def test_a_problem_is_labelled_by_its_rules_name(tmp_path, text, problems):
    (tmp_path / "_failures.yaml").write_text(text)
    with pytest.raises(CatalogError) as raised:
        load_rules(tmp_path)
    assert [p.split("_failures.yaml:", 1)[1] for p in raised.value.problems] == problems


# -- the search runs in a thread of its own -------------------------------------------------------


def test_a_search_past_the_limit_is_left_to_a_daemon_thread(monkeypatch):
    """The caller gets its answer at the limit; the search goes on in a daemon thread, which
    never keeps the process from exiting (Ctrl-C, SIGTERM)."""
    release = threading.Event()

    def stuck(rules, data, deadline, at):
        release.wait(30)
        return None

    monkeypatch.setattr(failures, "_first_match", stuck)
    monkeypatch.setattr(failures, "CLASSIFY_SECONDS", 0.05)
    try:
        found = classify("build", "boom: x", (BOOM,))
        searching = [t for t in threading.enumerate() if t.name == "mlcc-ci-classify"]
        assert [t.daemon for t in searching] == [True]
    finally:
        release.set()
    assert found.hint.startswith("the failure rules ran out of time (0.05 s for one failed run)")


# -- which rule files apply ------------------------------------------------------------------------


def test_the_rule_files_that_apply(tmp_path, monkeypatch):
    data = tmp_path / "_data"
    (data / "catalog").mkdir(parents=True)
    shipped = data / "catalog" / "_failures.yaml"
    shipped.write_text("rules: []\n")
    monkeypatch.setattr(failures, "data_path", lambda name: data / name)
    use_catalog(data / "catalog")
    assert failures.rule_files() == [shipped]
    team = tmp_path / "team"
    team.mkdir()
    assert failures.rule_files(team) == [shipped]  # a team catalog without rules of its own
    (team / "_failures.yaml").write_text("rules: []\n")
    assert failures.rule_files(team) == [team / "_failures.yaml", shipped]
    use_catalog(team)
    assert failures.rule_files() == [team / "_failures.yaml", shipped]
    # a Lambda's copy of the stack's team rules, packed beside the shipped ones
    packed = data / "catalog" / "_team_failures.yaml"
    packed.write_text("rules: []\n")
    assert failures.rule_files() == [team / "_failures.yaml", shipped]
    use_catalog(data / "catalog")
    assert failures.rule_files() == [packed, shipped]
    assert failures.rule_files(tmp_path / "other") == [shipped]


def test_a_stage_whose_log_is_missing_still_reads_its_stderr(tmp_path):
    (tmp_path / "build.stderr.log").write_text("boom: stderr\n")
    assert classify_stage("build", tmp_path / "build.log", "", (BOOM,)).capture == "stderr"


# -- problems of a rule file, each said ---------------------------------------------------------


RULE = (
    "  - name: {name}\n"
    "    class: infra\n"
    "    stages: [any]\n"
    "    pattern: '{pattern}'\n"
    "    retry: {{count: 0, backoffSeconds: 0}}\n"
    "    hint: said\n"
)


def _problems(folder, *rules):
    (folder / "_failures.yaml").write_text("rules:\n" + "".join(RULE.format(**r) for r in rules))
    with pytest.raises(CatalogError) as raised:
        load_rules(folder)
    return [p.split("_failures.yaml:", 1)[1] for p in raised.value.problems]


def test_a_file_that_is_not_yaml_is_one_line(tmp_path):
    (tmp_path / "_failures.yaml").write_text("rules:\n  - name: [\n")
    with pytest.raises(CatalogError) as raised:
        load_rules(tmp_path)
    assert [p.split("_failures.yaml:", 1)[1] for p in raised.value.problems] == [
        "3: invalid YAML: expected the node content, but found '<stream end>'"
    ]


def test_every_bad_pattern_and_duplicate_is_said(tmp_path):
    found = _problems(
        tmp_path,
        {"name": "one", "pattern": "(a"},
        {"name": "two", "pattern": "(b"},
        {"name": "three", "pattern": "no group"},
        {"name": "four", "pattern": "(x)(y)"},
        {"name": "five", "pattern": "(ok)"},
        {"name": "five", "pattern": "(again)"},
        {"name": "five", "pattern": "(thrice)"},
    )
    assert found == [
        "5: one $.rules[0].pattern: not an RE2 pattern: missing ): (a",
        "11: two $.rules[1].pattern: not an RE2 pattern: missing ): (b",
        "17: three $.rules[2].pattern: has 0 capture groups; exactly one is needed, the"
        " groupable part (write (?:...) for the others)",
        "23: four $.rules[3].pattern: has 2 capture groups; exactly one is needed, the"
        " groupable part (write (?:...) for the others)",
        "32: five $.rules[5].name: duplicate name (first on line 26)",
        "38: five $.rules[6].name: duplicate name (first on line 26)",
    ]


def test_a_loaded_rule_keeps_what_its_file_says(tmp_path):
    (tmp_path / "_failures.yaml").write_text("rules:\n" + RULE.format(name="mine", pattern="(m)"))
    (mine, *shipped) = load_rules(tmp_path)
    assert (mine.name, mine.cls, mine.stages, mine.hint, mine.retry, mine.line) == (
        "mine",
        "infra",
        ("any",),
        "said",
        Retry(0, 0),
        2,
    )
    assert mine.file == tmp_path / "_failures.yaml" and shipped


def test_a_rule_is_placed_at_its_name_wherever_the_name_is_written(tmp_path):
    text = (
        "rules:\n"
        "  - class: infra\n"
        "    stages: [any]\n"
        "    name: late\n"
        "    pattern: '(x)'\n"
        "    retry: {count: 0, backoffSeconds: 0}\n"
        "    hint: said\n"
        "  - class: infra\n"
        "    stages: [any]\n"
        "    pattern: '(y)'\n"
        "    name: late\n"
        "    retry: {count: 0, backoffSeconds: 0}\n"
        "    hint: said\n"
    )
    (tmp_path / "_failures.yaml").write_text(text)
    with pytest.raises(CatalogError) as raised:
        load_rules(tmp_path)
    assert [p.split("_failures.yaml:", 1)[1] for p in raised.value.problems] == [
        "11: late $.rules[1].name: duplicate name (first on line 4)"
    ]
