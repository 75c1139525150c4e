"""Failure rules in linear time (issue 31, item 3): patterns are matched by RE2, a pattern RE2
cannot match in linear time is refused where it is written, and the classification of one
failed run has a time limit that no rule, however slow, can hold up."""

import json
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from mlcc_ci import failures

SIZE = 64 * 1024
CHECK = [sys.executable, "-m", "mlcc_ci"]
# The issue's three rules: nested repetition, a plausible word run, and ten bounded
# repetitions as the rule file advised (a literal first, {0,200} each).
TEN = "error:" + "[a-z ]{0,200}" * 10 + "(failed)"
TEAM_RULES = f"""\
rules:
  - name: nested-x
    class: infra
    stages: [any]
    pattern: '(x+x+)+y'
    retry: {{count: 0, backoffSeconds: 0}}
    hint: 'nested repetition'
  - name: ten-bounded
    class: capacity
    stages: [any]
    pattern: '{TEN}'
    retry: {{count: 0, backoffSeconds: 0}}
    hint: 'ten bounded repetitions'
  - name: words-failed
    class: product
    stages: [any]
    pattern: '((?:[a-z]+ ?)+)failed'
    retry: {{count: 0, backoffSeconds: 0}}
    hint: 'a run of words'
"""


def _filled(line: str, last: str) -> str:
    """64 KB of `line` (each a near miss of a rule), then `last`, which matches it."""
    return (line * (SIZE // len(line) + 1))[: SIZE - len(last) - 1] + "\n" + last + "\n"


# log: each rule's worst case, with one matching line at its end; the rule and capture found
LOGS = {
    "x": (_filled("x" * 55 + "\n", "xxxxy"), "nested-x", "xxxx"),
    "words": (
        _filled("the quick brown fox jumps over the lazy\n", "the build failed"),
        "words-failed",
        "the build",
    ),
    "ten": (
        _filled("error: " + "a b c d e " * 12 + "\n", "error: the deploy failed"),
        "ten-bounded",
        "failed",
    ),
}


def _team(tmp_path: Path, rules: str) -> Path:
    team = tmp_path / "team"
    team.mkdir(exist_ok=True)
    (team / "_failures.yaml").write_text(rules)
    return team


@pytest.mark.functional
@pytest.mark.parametrize("name", sorted(LOGS))
def test_the_issues_rules_classify_a_64_kb_log_and_the_command_ends(tmp_path, name):
    """With a backtracking engine `(x+x+)+y` never ended on 55 `x`, and the other two took
    seconds a line: here `failures check` ends (a generous 60 s bound, no timing asserted)
    with the rule and capture of the one line that matches, at the end of 64 KB."""
    text, rule, capture = LOGS[name]
    team = _team(tmp_path, TEAM_RULES)
    log = tmp_path / f"{name}.log"
    log.write_text(text)
    assert log.stat().st_size >= SIZE
    result = subprocess.run(
        [*CHECK, "--catalog", str(team), "failures", "check", "--json", str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert (doc["rule"], doc["capture"]) == (rule, capture)


def test_the_rules_are_matched_by_re2_and_the_issues_rules_are_accepted(tmp_path):
    rules = failures.load_rules(_team(tmp_path, TEAM_RULES))
    assert [r.name for r in rules[:3]] == ["nested-x", "ten-bounded", "words-failed"]
    assert {type(r.pattern).__module__ for r in rules} == {"re2"}


def _refused(cli, tmp_path: Path, pattern: str) -> list[str]:
    team = _team(
        tmp_path,
        "rules:\n  - name: slow\n    class: infra\n    stages: [any]\n"
        f"    hint: h\n    pattern: {pattern}\n    retry: {{count: 0, backoffSeconds: 0}}\n",
    )
    result = cli("catalog", "validate", str(team))
    assert result.exit_code == 2, result.output
    return [line.split("team/_failures.yaml:", 1)[-1] for line in result.output.splitlines()]


NOT_LINEAR = "RE2 matches in linear time, without lookaround or backreferences"


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("'(timed out)(?! after 0s)'", f"lookahead (?!...) is not supported: {NOT_LINEAR}"),
        ("'(timed out)(?= after)'", f"lookahead (?=...) is not supported: {NOT_LINEAR}"),
        ("'(?<!not )(timed out)'", f"lookbehind (?<!...) is not supported: {NOT_LINEAR}"),
        ("'(?<=a )(timed out)'", f"lookbehind (?<=...) is not supported: {NOT_LINEAR}"),
        ("'(a)b\\1'", f"backreferences (\\1) are not supported: {NOT_LINEAR}"),
        ("'(?P<x>a)b(?P=x)'", f"backreferences ((?P=...)) are not supported: {NOT_LINEAR}"),
        (
            "'(a)[^\\n]{0,2000}b'",
            "{0,2000}: a counted repetition goes up to 1000 (write * for one RE2 needs no "
            "bound for)",
        ),
        ("'(a)x{,3}'", "x{,3} means 0 to 3 in Python but is literal text in RE2: write {0,3}"),
        (
            "'(?:([a-z ]{0,200})\\s){10}'",
            "nested counted repetitions multiply ({0,200} inside {10} is 2000 repetitions; "
            "RE2 allows at most 1000 in all): use fewer or smaller ones, or * where no bound "
            "is needed",
        ),
        (
            "'((a{0,200}){0,200})'",
            "nested counted repetitions multiply ({0,200} inside {0,200} is 40000 "
            "repetitions; RE2 allows at most 1000 in all): use fewer or smaller ones, or * "
            "where no bound is needed",
        ),
        (
            "'(x(?:a{0,10}(?:b{20,}){0,10})+){0,11}'",
            "nested counted repetitions multiply ({20,} inside {0,10} inside {0,11} is 2200 "
            "repetitions; RE2 allows at most 1000 in all): use fewer or smaller ones, or * "
            "where no bound is needed",
        ),
        ("'(unclosed'", "missing ): (unclosed"),
    ],
)
def test_a_pattern_re2_refuses_is_one_line_at_catalog_validate(cli, tmp_path, pattern, why):
    lines = _refused(cli, tmp_path, pattern)
    assert lines == [f"6: slow $.rules[0].pattern: not an RE2 pattern: {why}", "1 problem found"]


@pytest.mark.functional
def test_refusing_a_pattern_prints_nothing_of_re2s_own(tmp_path):
    """RE2 logs a pattern it cannot parse to stderr itself (absl: `E0000 ... re2.cc`): the
    user sees the one line that names the file, line, rule and field, and nothing else."""
    _team(tmp_path, TEAM_RULES.replace("'(x+x+)+y'", "'(x+)(?!y)'"))
    result = subprocess.run(
        [sys.executable, "-m", "mlcc_ci", "catalog", "validate", "team"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert [ln for ln in result.stderr.splitlines() if not ln.startswith("note:")] == [
        "team/_failures.yaml:5: nested-x $.rules[0].pattern: not an RE2 pattern: lookahead "
        f"(?!...) is not supported: {NOT_LINEAR}",
        "1 problem found",
    ]


def _rule(name: str) -> failures.Rule:
    return next(r for r in failures.load_rules() if r.name == name)


def test_past_its_time_limit_a_classification_is_unclassified_and_says_why(monkeypatch):
    monkeypatch.setattr(failures, "CLASSIFY_SECONDS", 0)
    text = "FailureReason: Unable to provision requested ML compute capacity.\n"
    found = failures.classify("deploy_test", text)
    first = failures.load_rules()[0]
    assert found.cls == "unclassified" and found.rule == ""
    assert found.hint == (
        f"the failure rules ran out of time (0 s for one failed run) at rule {first.name} "
        f"({first.source}): read the log; a rule that slow needs a simpler pattern"
    )


class _Stuck:
    """A pattern whose search does not come back until it is released (as a search in C that
    takes minutes would not)."""

    groups = 1

    def __init__(self) -> None:
        self.release = threading.Event()

    def finditer(self, data: bytes):
        self.release.wait(60)
        return iter(())


def test_a_search_that_does_not_come_back_does_not_hold_the_classification(monkeypatch):
    monkeypatch.setattr(failures, "CLASSIFY_SECONDS", 0.2)
    stuck = _Stuck()
    rule = replace(_rule("disk-full"), pattern=stuck)
    try:
        found = failures.classify("build", "no space left on device\n", (rule,))
    finally:
        stuck.release.set()
    assert found.cls == "unclassified"
    assert found.hint.startswith(
        "the failure rules ran out of time (0.2 s for one failed run) at rule disk-full ("
    )


def test_within_its_time_limit_the_classification_is_what_the_rules_say():
    found = failures.classify(
        "deploy_test", "FailureReason: Unable to provision requested ML compute capacity.\n"
    )
    assert (found.cls, found.rule) == ("capacity", "sagemaker-capacity")
    assert failures.CLASSIFY_SECONDS == 2


# deploy-provisioning-timeout, rewritten without its lookahead: after the endpoint wait, no line
# says anything done (✅, "Endpoint is InService" among them) or waited for (⏳)
def _deploy_timeout(stdout: str) -> failures.Classification:
    from tests.test_deploy_timeout import KILLED

    return failures.classify("deploy_test", f"{stdout}{KILLED}\n")


def test_an_endpoint_in_service_then_the_timeout_is_the_products():
    """A single-model endpoint: InService, then its test outran the stage (no ⏳ after)."""
    from tests.test_deploy_timeout import DEPLOY

    done = "✅ Endpoint is InService: mlcc-ci-transformers-vllm-endpoint-1726670002\n"
    found = _deploy_timeout(DEPLOY + done + "🧪 Testing endpoint...\n")
    assert (found.cls, found.rule) == ("product", "stage-timeout")


def test_a_wait_of_any_length_within_the_64_kb_read_is_still_provisioning():
    """The lookahead's version stopped at 400 lines (a bound against backtracking); RE2 needs
    none: two hours of status lines, one each 10 s, are still the endpoint's wait."""
    from tests.test_deploy_timeout import DEPLOY

    status = "".join(f"   Status: Creating ({s}s elapsed)\n" for s in range(0, 3600 * 2, 10))
    assert status.count("\n") == 720 and len(DEPLOY + status) < SIZE
    found = _deploy_timeout(DEPLOY + status)
    assert (found.cls, found.rule, found.capture) == (
        "capacity",
        "deploy-provisioning-timeout",
        "Waiting for endpoint",
    )


CHILD = """
import sys
from dataclasses import replace
from mlcc_ci import failures
from mlcc_ci.patterns import compile_pattern

failures.CLASSIFY_SECONDS = 600
# thirty {0,1000}: a program too large for RE2's DFA, so each search of 64 KB is its NFA's,
# linear but seconds long, in C
rule = replace(failures.load_rules()[0], pattern=compile_pattern("[a-z ]{0,1000}" * 30 + "(x)"))
text = ("ab " * 30000)[: 64 * 1024]
print("ready", flush=True)
while True:
    failures.classify(None, text, (rule,))
"""


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.functional
def test_ctrl_c_interrupts_a_classification_in_the_middle_of_a_long_search():
    """Python runs a signal's handler between bytecodes, never inside a search in C: the
    search runs in a thread of its own, the caller waits for it, and Ctrl-C reaches the
    caller at once (without the thread it waited for the search, seconds here)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal delivers it: a suite started in the background by a
        # non-interactive shell (`make test &`) ignores SIGINT, and a child inherits that
        preexec_fn=_sigint_as_in_a_terminal,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        threading.Event().wait(0.5)  # into the first search
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=10)
    finally:
        child.kill()
        child.wait()
    assert child.returncode != 0 and "KeyboardInterrupt" in stderr, stderr[-500:]
