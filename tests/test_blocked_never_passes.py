"""Classification can block a configuration, never pass it (issue 31, item 7), and `history
forget` recomputes a block from the runs that remain (item 14): a team catalog from `catalog
init` with a catch-all `infra` rule (ten retries, no backoff) and a real product failure,
through the command line on a SQLite store."""

import json

import pytest

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.stores.sqlite import SqliteStore
from tests.teamcat import FLASK, make_team, rule, run, stored

pytestmark = pytest.mark.functional

CATCH_ALL = rule("catch-all", "infra", 10, "everything is the infrastructure")


@pytest.fixture
def team(cli, tmp_path, monkeypatch):
    return make_team(cli, tmp_path, monkeypatch, CATCH_ALL)


def report(cli, fmt, *extra):
    return cli("report", "--profile", "example", "--format", fmt, *extra)


def test_a_catch_all_rule_blocks_a_product_failure_and_nothing_says_passing(
    cli, team, tmp_path, monkeypatch
):
    assert run(cli, monkeypatch).exit_code == 0
    blocked = run(cli, monkeypatch, "http-flask:build:fail")
    assert blocked.exit_code == 1
    runs, record = stored(tmp_path)
    assert [r.attempt for r in runs] == [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1]
    assert (record.testStatus, record.blocked.cls, record.blocked.rule) == (
        "pass",
        "infra",
        "catch-all",
    )

    status = cli("status").output.splitlines()
    assert "  Passing:         0" in status
    assert "  Passing:         1" not in status
    counts = json.loads(cli("status", "--json").output)
    assert (counts["passing"], counts["blocked"], counts["tested"]) == (0, 1, 1)

    data = json.loads(report(cli, "json").output)
    assert (data["summary"]["passing"], data["summary"]["blocked"]) == (0, 1)

    markdown = report(cli, "markdown").output.splitlines()
    verdict = markdown[1]
    assert "✅" not in verdict
    assert "passing" in verdict and "1/1 passing" not in verdict
    assert verdict.startswith("**⚠️ 1 blocked by the infrastructure, nothing proven")
    assert "0/1 passing" in verdict
    assert "no failures caused by this change" not in verdict

    text = report(cli, "text").output
    assert "0 passing" in text and "1 passing" not in text

    # blocked alone (not yet suspect) does not fail a pull request: it never says passing
    gate = report(cli, "json", "--fail-on-regression")
    assert gate.exit_code == 0


def test_a_rule_that_keeps_blocking_is_suspect_everywhere_and_fails_the_gate(
    cli, team, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLCC_CI_SUSPECT_ROUNDS", "1")
    assert run(cli, monkeypatch).exit_code == 0
    assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    # one round: not yet suspect
    assert "suspect" not in cli("status").output
    assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    _, record = stored(tmp_path)
    assert record.blocked.rounds == 2

    source = "_failures.yaml:2"  # the rule's file, relative to the catalog in use
    status = cli("status").output
    assert "Suspect:" in status
    suspect_line = next(line for line in status.splitlines() if "rule catch-all" in line)
    assert "http-flask" in suspect_line and source in suspect_line
    assert "2 rounds in a row" in suspect_line

    one = " ".join(cli("status", "http-flask").output.split())
    assert "SUSPECT: rule catch-all (" in one and "2 rounds in a row (infra)" in one

    verdict = report(cli, "markdown").output.splitlines()[1]
    assert "✅" not in verdict
    assert "1 suspect rule, blocking for rounds (catch-all on http-flask)" in verdict

    text = report(cli, "text").output
    assert "SUSPECT http-flask: rule catch-all" in text and source in text

    data = json.loads(report(cli, "json").output)
    assert data["suspects"] == [
        {
            "name": "http-flask",
            "rule": "catch-all",
            "source": data["suspects"][0]["source"],
            "class": "infra",
            "rounds": 2,
        }
    ]
    assert data["suspects"][0]["source"] == source

    gate = report(cli, "json", "--fail-on-regression")
    assert gate.exit_code == 1
    assert "suspect block: http-flask (rule catch-all" in gate.stderr

    # with the default (3 rounds) the same two rounds are not suspect
    monkeypatch.delenv("MLCC_CI_SUSPECT_ROUNDS")
    assert report(cli, "json", "--fail-on-regression").exit_code == 0


def test_the_platform_team_hears_of_a_suspect_rule_with_its_source(team, tmp_path):
    """The notice the runner sends the platform team names the suspect rule and where it is
    written, once, as soon as the block outlasts suspect-rounds (not only after a day)."""
    import os

    from mlcc_ci import clock
    from mlcc_ci.failures import load_rules
    from mlcc_ci.lifecycle import Runner
    from mlcc_ci.profiles import load_profile
    from mlcc_ci.registration import from_entry
    from mlcc_ci.stores.base import claim

    catalog = load_valid_catalog([team])
    entry = catalog.get("http-flask")
    rules = load_rules(team)
    sent: list[tuple[str, str]] = []
    store = SqliteStore(tmp_path / "notice.db")
    store.register(from_entry(entry), clock.iso(clock.now()))
    env = {**os.environ, "MLCC_CI_FAULT": "http-flask:build:fail", "MLCC_CI_SUSPECT_ROUNDS": "2"}
    try:
        for n in range(4):
            record = claim(store, store.get(FLASK), f"r{n}", clock.iso(clock.now(), ms=True))
            Runner(
                store,
                load_profile(catalog, "example"),
                work_root=tmp_path / "work",
                env=env,
                rules=rules,
                notify_platform=lambda subject, message: sent.append((subject, message)),
            ).run(record, entry)
            assert len(sent) == (1 if n >= 2 else 0), (n, sent)
        assert store.get(FLASK).blocked.rounds == 4
    finally:
        store.close()
    subject, message = sent[0]
    assert subject == "mlcc-ci: http-flask blocked (infra)"
    assert "(3 runs in a row)" in message
    assert "Suspect: rule catch-all (" in message
    assert "_failures.yaml:2) has blocked http-flask 3 rounds in a row" in message


def test_forgetting_the_newest_attempt_keeps_the_block_the_older_ones_justify(
    cli, team, tmp_path, monkeypatch
):
    assert run(cli, monkeypatch).exit_code == 0
    assert run(cli, monkeypatch, "http-flask:build:fail").exit_code == 1
    runs, record = stored(tmp_path)
    before = record.blocked
    assert before is not None and runs[0].attempt == 11

    forgot = cli("history", "forget", runs[0].runId, "--yes")
    assert forgot.exit_code == 0
    assert forgot.output.splitlines()[-1] == f"forgot run {runs[0].runId}"
    left, record = stored(tmp_path)
    assert len(left) == 11
    assert record.blocked is not None, "ten older attempts still block it"
    assert (record.blocked.cls, record.blocked.rule, record.blocked.rounds) == (
        "infra",
        "catch-all",
        1,
    )
    assert record.blocked.since == before.since
    assert record.blocked.retryAfter == before.retryAfter
    assert record.testStatus == "pass"
    assert json.loads(cli("status", "--json").output)["passing"] == 0

    # forget every blocked attempt: then, and only then, the block is lifted
    for r in left[:-2]:
        assert cli("history", "forget", r.runId, "--yes").exit_code == 0
    last = cli("history", "forget", left[-2].runId, "--yes")
    assert last.output.splitlines()[-1] == (
        f"forgot run {left[-2].runId}; the block (infra) it caused is lifted"
    )
    _, record = stored(tmp_path)
    assert record.blocked is None
    assert json.loads(cli("status", "--json").output)["passing"] == 1
