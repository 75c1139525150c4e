"""`failures reclassify` keeps what it cannot prove (issue 31, items 4 and 5): a run whose
log is gone keeps the class its log gave it, and a relabel to `error` (the harness's) keeps
the run's status, so that reclassify gives it back once the rule is gone. Real runs of the
example profile with a team catalog from `catalog init`, on a real SQLite store."""

import json

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.history import analyse
from mlcc_ci.stores.sqlite import SqliteStore

FLASK = load_valid_catalog().get("http-flask").config_id

# The registry's words early in stderr, then more than the 500 characters the error
# summary keeps: once the run folder is pruned, only the log held the evidence.
BUILD = (
    "echo 'pulling base image'; "
    "echo 'error: registry mirror unreachable: connection reset by peer' >&2; "
    'for i in $(seq 1 40); do echo "cleanup step $i of 40 done" >&2; done; exit 1'
)
MIRROR_RULE = (
    "  - name: registry-mirror-down\n"
    "    class: infra\n"
    "    stages: [build]\n"
    "    pattern: 'error: (registry mirror) unreachable'\n"
    "    retry: {count: 0, backoffSeconds: 0}\n"
    "    hint: 'the team registry mirror was down'\n"
)
CATCH_ALL = (
    "  - name: blame-the-harness\n"
    "    class: harness\n"
    "    stages: [any]\n"
    "    pattern: '(.+)'\n"
    "    retry: {count: 0, backoffSeconds: 0}\n"
    "    hint: 'everything is the harness'\n"
)


@pytest.fixture
def team(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCC_CI_STORE", f"sqlite:///{tmp_path}/results.db")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MLCC_CI_FAULT", raising=False)
    folder = tmp_path / "team"
    assert cli("catalog", "init", str(folder), "http-flask").exit_code == 0
    return folder


def rules(folder, *texts):
    (folder / "_failures.yaml").write_text("rules:\n" + "".join(texts))


def failing_build(folder):
    """The example profile's build, made to fail as a broken registry mirror would."""
    with (folder / "_defaults.yaml").open("a") as out:
        out.write(
            "profiles:\n  example:\n    stages:\n      build:\n"
            f"        command: {json.dumps(BUILD)}\n"
        )


def history(path):
    store = SqliteStore(path)
    try:
        return store.history(FLASK), store.get(FLASK)
    finally:
        store.close()


@pytest.mark.functional
def test_reclassify_keeps_the_class_of_a_run_whose_log_is_pruned(cli, team, tmp_path):
    rules(team, MIRROR_RULE)
    base = ("--catalog", str(team))
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 0
    failing_build(team)
    failed = cli(*base, "run", "http-flask", "--profile", "example", "-q")
    assert "blocked (infra)" in failed.output, failed.output
    runs, record = history(tmp_path / "results.db")
    assert [r.status for r in runs] == ["fail-build", "pass"]
    assert (runs[0].failure.cls, runs[0].failure.rule) == ("infra", "registry-mirror-down")
    summary = runs[0].stageResults["build"].errorSummary
    assert "registry mirror" not in summary  # only the log held it
    assert analyse(runs).passRate == 1.0
    assert record.blocked.cls == "infra"

    # the logs are there: the rules, unchanged, change nothing
    kept = cli(*base, "failures", "reclassify")
    assert kept.output.splitlines()[-1] == "re-labelled 0 of 1 failed run(s)"

    pruned = cli(*base, "clean", "--keep", "0", "--profile", "example")
    assert pruned.exit_code == 0, pruned.output
    assert "http-flask" in pruned.output

    dry = cli(*base, "failures", "reclassify", "--dry-run")
    assert dry.exit_code == 0
    assert dry.output.splitlines() == [
        "would re-label 0 of 1 failed run(s); 1 left as stored for lack of evidence (the log "
        "is gone, and what the history kept does not hold what the rule matched)"
    ]
    done = cli(*base, "failures", "reclassify")
    assert done.exit_code == 0
    assert done.output.splitlines() == [
        "re-labelled 0 of 1 failed run(s); 1 left as stored for lack of evidence (the log "
        "is gone, and what the history kept does not hold what the rule matched)"
    ]
    runs, record = history(tmp_path / "results.db")
    assert (runs[0].failure.cls, runs[0].failure.rule) == ("infra", "registry-mirror-down")
    assert runs[0].failure.capture == "registry mirror"
    assert record.recentRuns[0].failure.cls == "infra"
    assert analyse(runs).passRate == 1.0
    assert (record.testStatus, record.blocked.cls) == ("pass", "infra")

    # `explain` no longer says the rules have changed when it is the log that is gone
    said = cli(*base, "failures", "explain", runs[0].runId)
    assert said.exit_code == 0
    assert "the rules have changed" not in said.output
    assert said.output.splitlines()[-1] == (
        "stored:  infra (registry-mirror-down), from the log when it was there: "
        "`failures reclassify` leaves it as it is"
    )


@pytest.mark.functional
def test_reclassify_relabels_from_the_summary_when_it_holds_the_evidence(
    cli, team, tmp_path, monkeypatch
):
    """A run whose error summary holds what the new rule matches is re-labelled though its
    log is gone: what the history kept is evidence enough."""
    base = ("--catalog", str(team))
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 1
    runs, _ = history(tmp_path / "results.db")
    assert runs[0].failure.cls == "unclassified"
    assert "injected failure" in runs[0].stageResults["build"].errorSummary
    assert cli(*base, "clean", "--keep", "0", "--profile", "example").exit_code == 0
    rules(
        team,
        "  - name: injected\n    class: infra\n    stages: [build]\n"
        "    pattern: '(injected failure)'\n"
        "    retry: {count: 0, backoffSeconds: 0}\n    hint: 'x'\n",
    )
    done = cli(*base, "failures", "reclassify").output.splitlines()
    assert done[0].split()[-4:] == ["unclassified", "->", "infra", "(injected)"]
    assert done[1] == "re-labelled 1 of 1 failed run(s): unclassified -> infra: 1"
    runs, _ = history(tmp_path / "results.db")
    assert (runs[0].failure.cls, runs[0].failure.rule) == ("infra", "injected")


@pytest.mark.functional
def test_a_relabel_to_the_harness_is_undone_once_the_rule_is_gone(cli, team, tmp_path, monkeypatch):
    rules(team, MIRROR_RULE)
    base = ("--catalog", str(team))
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 0
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 1
    runs, record = history(tmp_path / "results.db")
    failed, passed = runs
    assert (failed.status, failed.failure.cls) == ("fail-build", "unclassified")
    assert record.testStatus == "fail-build"
    assert analyse(runs).passRate == 0.5

    rules(team, CATCH_ALL, MIRROR_RULE)
    blamed = cli(*base, "failures", "reclassify").output.splitlines()
    assert blamed[0].split()[-6:] == [
        "unclassified",
        "->",
        "harness",
        "(blame-the-harness)",
        "(now",
        "error)",
    ]
    runs, record = history(tmp_path / "results.db")
    assert [r.status for r in runs] == ["error", "pass"]
    assert runs[0].failure.statusBefore == "fail-build"
    assert [r.status for r in record.recentRuns] == ["error", "pass"]
    assert record.recentRuns[0].failure.statusBefore == "fail-build"
    assert (record.testStatus, record.runId) == ("pass", passed.runId)
    assert analyse(runs).passRate == 1.0
    again = cli(*base, "failures", "reclassify").output.splitlines()
    assert again == ["re-labelled 0 of 1 failed run(s)"]  # the relabel is read, not redone

    rules(team, MIRROR_RULE)  # the catch-all is gone
    explained = cli(*base, "failures", "explain", failed.runId).output.splitlines()
    assert explained[1] == "class:   unclassified"
    assert explained[-1] == (
        "stored:  harness (the rules have changed since: `mlcc-ci failures reclassify` "
        "re-labels the history, and gives the run back its status fail-build)"
    )
    undone = cli(*base, "failures", "reclassify")
    assert undone.exit_code == 0
    lines = undone.output.splitlines()
    assert lines[0].split()[-6:] == [
        "error",
        "harness",
        "->",
        "unclassified",
        "(now",
        "fail-build)",
    ]
    assert lines[1] == "re-labelled 1 of 1 failed run(s): harness -> unclassified: 1"
    runs, record = history(tmp_path / "results.db")
    assert [r.status for r in runs] == ["fail-build", "pass"]
    assert (runs[0].failure.cls, runs[0].failure.statusBefore) == ("unclassified", "")
    assert [r.status for r in record.recentRuns] == ["fail-build", "pass"]
    assert (record.testStatus, record.runId) == ("fail-build", failed.runId)
    assert analyse(runs).passRate == 0.5
    assert cli(*base, "failures", "reclassify").output.splitlines() == [
        "re-labelled 0 of 1 failed run(s)"
    ]


@pytest.mark.functional
def test_a_pruned_run_is_relabelled_from_the_capture_it_kept(cli, team, tmp_path):
    """The stored capture is a piece of the log: a rule that matches it still can, so a
    team that calls the same words `quota` now re-labels the run though its log is gone."""
    rule = MIRROR_RULE.replace("'error: (registry mirror) unreachable'", "'(registry mirror \\w+)'")
    rules(team, rule)
    base = ("--catalog", str(team))
    failing_build(team)
    assert "blocked (infra)" in cli(*base, "run", "http-flask", "--profile", "example").output
    assert cli(*base, "clean", "--keep", "0", "--profile", "example").exit_code == 0
    same = cli(*base, "failures", "reclassify").output.splitlines()
    assert same == ["re-labelled 0 of 1 failed run(s)"]  # unchanged rules change nothing

    rules(team, rule.replace("class: infra", "class: quota"))
    done = cli(*base, "failures", "reclassify").output.splitlines()
    assert done[0].split()[-4:] == ["infra", "->", "quota", "(registry-mirror-down)"]
    assert done[1] == "re-labelled 1 of 1 failed run(s): infra -> quota: 1"
    runs, record = history(tmp_path / "results.db")
    assert (runs[0].failure.cls, runs[0].failure.capture) == (
        "quota",
        "registry mirror unreachable",
    )
    assert record.blocked.cls == "quota"


def test_the_status_before_a_relabel_is_kept_and_read_back_only_when_it_is_one():
    from mlcc_ci import decode
    from mlcc_ci.models import Failure

    relabel = Failure("harness", "build", "blame-the-harness", "x", statusBefore="fail-build")
    item = relabel.to_item()
    assert item["statusBefore"] == "fail-build"
    assert decode.failure(item) == relabel
    assert "statusBefore" not in Failure("infra", "build").to_item()  # older readers see none
    for odd in ("pass", "error", 7, None, "fail-nowhere"):
        assert decode.failure({**item, "statusBefore": odd}).statusBefore == ""


@pytest.mark.functional
def test_reclassify_stores_a_capture_redacted_as_the_runner_does(cli, team, tmp_path):
    """A rule added later that captures a credential from the log: reclassify stores the
    capture masked, as the runner would have, never the token itself."""
    token = "ghp_" + "a1B2c3D4e5" * 3
    with (team / "_defaults.yaml").open("a") as out:
        build = f"echo 'error: registry mirror unreachable with {token}' >&2; exit 1"
        out.write(
            "profiles:\n  example:\n    stages:\n      build:\n"
            f"        command: {json.dumps(build)}\n"
        )
    base = ("--catalog", str(team))
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 1
    rules(
        team,
        MIRROR_RULE.replace(
            "(registry mirror) unreachable", "registry mirror unreachable with (.+)"
        ),
    )
    done = cli(*base, "failures", "reclassify")
    assert done.exit_code == 0, done.output
    assert token not in done.output
    runs, record = history(tmp_path / "results.db")
    assert (runs[0].failure.rule, runs[0].failure.capture) == ("registry-mirror-down", "***")
    assert record.recentRuns[0].failure.capture == "***"


@pytest.mark.functional
def test_a_relabel_to_the_harness_is_undone_once_the_rule_is_gone_though_the_log_is_pruned(
    cli, team, tmp_path, monkeypatch
):
    """The harness label's only evidence is the rule that gave it: once the rules in force
    no longer have that rule (or no longer call it harness), the run takes its status back
    though its log is gone, with the class read from what the history kept."""
    catch_one = CATCH_ALL.replace("blame-the-harness", "catch-all-harness").replace(
        "'(.+)'", "'(.)'"
    )
    base = ("--catalog", str(team))
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 0
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 1
    monkeypatch.delenv("MLCC_CI_FAULT")
    failed, passed = history(tmp_path / "results.db")[0]
    rules(team, catch_one)
    assert "(now error)" in cli(*base, "failures", "reclassify").output
    runs, record = history(tmp_path / "results.db")
    assert (runs[0].status, runs[0].failure.statusBefore) == ("error", "fail-build")
    assert (record.testStatus, record.runId) == ("pass", passed.runId)

    assert cli(*base, "clean", "--keep", "0", "--profile", "example").exit_code == 0
    # the rule is still in force and still says harness: nothing to undo
    assert cli(*base, "failures", "reclassify").output.splitlines() == [
        "re-labelled 0 of 1 failed run(s)"
    ]

    rules(team, MIRROR_RULE)  # the catch-all is gone, and so is the log
    said = cli(*base, "failures", "explain", failed.runId)
    assert said.exit_code == 0, said.output
    lines = said.output.splitlines()
    assert lines[1] == "class:   unclassified"
    assert "leaves it as it is" not in said.output
    assert lines[-1] == (
        "stored:  harness (the rules have changed since: `mlcc-ci failures reclassify` "
        "re-labels the history, and gives the run back its status fail-build)"
    )
    as_json = json.loads(cli(*base, "failures", "explain", failed.runId, "--json").output)
    assert (as_json["storedClass"], as_json["class"], as_json["statusBefore"]) == (
        "harness",
        "unclassified",
        "fail-build",
    )
    undone = cli(*base, "failures", "reclassify")
    assert undone.exit_code == 0
    lines = undone.output.splitlines()
    assert lines[0].split()[-6:] == [
        "error",
        "harness",
        "->",
        "unclassified",
        "(now",
        "fail-build)",
    ]
    assert lines[1] == "re-labelled 1 of 1 failed run(s): harness -> unclassified: 1"
    runs, record = history(tmp_path / "results.db")
    assert [r.status for r in runs] == ["fail-build", "pass"]
    assert (runs[0].failure.cls, runs[0].failure.rule, runs[0].failure.statusBefore) == (
        "unclassified",
        "",
        "",
    )
    assert [r.status for r in record.recentRuns] == ["fail-build", "pass"]
    assert (record.testStatus, record.runId, record.blocked) == ("fail-build", failed.runId, None)
    assert analyse(runs).passRate == 0.5
    assert cli(*base, "failures", "reclassify").output.splitlines() == [
        "re-labelled 0 of 1 failed run(s)"
    ]


@pytest.mark.functional
def test_a_harness_rule_that_now_says_infra_gives_a_pruned_run_its_status_back_blocked(
    cli, team, tmp_path, monkeypatch
):
    """The rule that put a run on the harness now calls the same words `infra`: the run,
    its log gone, takes back its status, its class is infra from what the history kept,
    and the record is blocked as the runner would have blocked it."""
    blame = CATCH_ALL.replace("'(.+)'", "'(injected failure)'")
    base = ("--catalog", str(team))
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 0
    monkeypatch.setenv("MLCC_CI_FAULT", "http-flask:build:fail")
    assert cli(*base, "run", "http-flask", "--profile", "example", "-q").exit_code == 1
    monkeypatch.delenv("MLCC_CI_FAULT")
    failed, passed = history(tmp_path / "results.db")[0]
    rules(team, blame)
    assert "(now error)" in cli(*base, "failures", "reclassify").output
    assert cli(*base, "clean", "--keep", "0", "--profile", "example").exit_code == 0

    rules(team, blame.replace("class: harness", "class: infra"))
    lines = cli(*base, "failures", "reclassify").output.splitlines()
    assert lines[0].split()[-6:] == [
        "harness",
        "->",
        "infra",
        "(blame-the-harness)",
        "(now",
        "fail-build)",
    ]
    runs, record = history(tmp_path / "results.db")
    assert [(r.runId, r.status) for r in runs] == [
        (failed.runId, "fail-build"),
        (passed.runId, "pass"),
    ]
    assert (runs[0].failure.cls, runs[0].failure.capture, runs[0].failure.statusBefore) == (
        "infra",
        "injected failure",
        "",
    )
    assert (record.testStatus, record.runId) == ("pass", passed.runId)
    assert (record.blocked.cls, record.blocked.rule, record.blocked.rounds) == (
        "infra",
        "blame-the-harness",
        1,
    )
    assert analyse(runs).passRate == 1.0
