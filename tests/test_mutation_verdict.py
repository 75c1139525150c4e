"""The one line a pull request's reviewer reads first (mlcc_ci/report/verdict.py), whole, for
hand-built reports: what newly fails, against a baseline or the store's history; what fails
but not newly; what the infrastructure blocked; suspects, harness errors, quarantines; the
passing count; what each profile proves. Written for make mutation (issue 32 item 2): each
test fails on a mutant of verdict.py that changes the line."""

from dataclasses import replace

import pytest

from mlcc_ci.history import Regression
from mlcc_ci.models import Blocked, Run
from mlcc_ci.quarantine import Quarantine
from mlcc_ci.report.model import Changes, ConfigReport, Report, Summary
from mlcc_ci.report.verdict import newly_failing, scope, scopes_of, verdict
from mlcc_ci.suspects import Suspect
from tests.reporting import config_report

pytestmark = pytest.mark.unit

REGRESSION = Regression("2026-02-02T00:00:00Z", "2026-02-01T01:00:00Z", "x-1", 1)
BLOCK = Blocked("capacity", "deploy_test", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z")
ERROR = Run(
    configId="id-e",
    startedAt="2026-02-01T00:00:00Z",
    runId="r-1",
    finishedAt="2026-02-01T00:01:00Z",
    status="error",
    durationSeconds=60.0,
    deploymentConfig="{}",
)


def config(name: str, status: str = "pass", **fields) -> ConfigReport:
    return config_report(name, status, **fields)


def report(*configs: ConfigReport, changes=None, profiles=None, scopes=None) -> Report:
    summary = Summary(total=0, tested=0, passing=0, failing=0, untested=0, running=0, unsupported=0)
    return Report(
        generatedAt="2026-02-03T00:00:00Z",
        summary=summary,
        configurations=configs,
        profiles=profiles or {},
        changes=changes,
        scopes=scopes or {},
    )


def no_changes(**fields) -> Changes:
    return Changes(**{"newly_failing": (), "newly_passing": (), "new": (), **fields})


# -- scope: what a profile proves ---------------------------------------------------------


def test_a_profile_that_skips_nothing_is_named_only():
    assert scope("default", None) == "default profile"
    assert scope("default", {}) == "default profile"
    assert scope("default", {"skipReason": None}) == "default profile"
    assert scope("default", {"skipReason": "  \n "}) == "default profile"


def test_a_profiles_skip_reason_says_what_it_proves():
    reason = "the static profile proves generation and\n   validation only"
    assert scope("static", {"skipReason": reason}) == (
        "static profile: generation and validation only"
    )
    # the lead-in in any case; a reason without it is kept whole
    assert scope("static", {"skipReason": "The Static Profile Proves the build"}) == (
        "static profile: the build"
    )
    assert scope("static", {"skipReason": "no deploy"}) == "static profile: no deploy"
    assert scope("static", {"skipReason": "the local profile proves x"}) == (
        "static profile: the local profile proves x"
    )


def test_every_profile_of_the_catalog_has_its_scope():
    profiles = {"default": {}, "static": {"skipReason": "the static profile proves less"}, 3: 7}
    assert scopes_of(profiles) == {
        "default": "default profile",
        "static": "static profile: less",
        "3": "3 profile",
    }


# -- newly_failing -------------------------------------------------------------------------


def test_without_a_baseline_the_regressions_are_newly_failing():
    found = report(
        config("a", "fail-build", regression=REGRESSION),
        config("b", "fail-build"),
        config("c", "pass"),
        config("d", "fail-build", regression=REGRESSION, quarantine=Quarantine("x", "2099-01-01")),
    )
    assert newly_failing(found) == ["a"]


def test_against_a_baseline_newly_failing_and_new_configurations_count():
    configs = (
        config("a", "fail-build"),
        config("b", "fail-build"),
        config("c", "fail-build", regression=REGRESSION),
        config("d", "pass"),
        config("e", "fail-deploy_test"),
    )
    changes = no_changes(newly_failing=("a", "d"), new=("e",))
    assert newly_failing(report(*configs, changes=changes)) == ["a", "e"]


# -- the verdict's head ---------------------------------------------------------------------


def test_newly_failing_leads_and_names_five_then_counts():
    names = [f"n{i}" for i in range(7)]
    configs = [config(n, "fail-build", regression=REGRESSION) for n in names]
    line = verdict(report(*configs, config("ok")), cell=lambda s: f"`{s}`")
    assert line == (
        "❌ 7 configurations newly failing (`n0`, `n1`, `n2`, `n3`, `n4` and 2 more) · 1/8 passing"
    )
    one = verdict(report(configs[0], config("ok")))
    assert one == "❌ 1 configuration newly failing (n0) · 1/2 passing"
    five = verdict(report(*configs[:5]))
    assert five == "❌ 5 configurations newly failing (n0, n1, n2, n3, n4) · 0/5 passing"
    six = verdict(report(*configs[:6]))
    assert six == "❌ 6 configurations newly failing (n0, n1, n2, n3, n4 and 1 more) · 0/6 passing"


def test_failing_but_not_newly_says_why():
    found = report(config("a", "fail-build"), config("b", "fail-validate"), config("ok"))
    assert verdict(found) == (
        "⚠️ 2 configurations failing, none newly: none has passed before (a, b) · 1/3 passing"
    )
    against = report(config("a", "fail-build"), config("ok"), changes=no_changes())
    assert verdict(against) == (
        "⚠️ 1 configuration failing, none newly: failing in the baseline too (a) · 1/2 passing"
    )


def test_blocked_is_never_passing_nor_green():
    blocked = config("triton-fil", "pass", blocked=BLOCK)
    found = report(blocked, config("ok"))
    assert verdict(found) == (
        "⚠️ 1 blocked by the infrastructure, nothing proven (triton-fil: capacity) · 1/2 passing"
    )
    # a failure leads, and the block is said after the count
    failing = report(config("a", "fail-build", regression=REGRESSION), blocked, config("ok"))
    assert verdict(failing) == (
        "❌ 1 configuration newly failing (a) · 1/3 passing"
        " · 1 blocked by the infrastructure, nothing proven (triton-fil: capacity)"
    )
    old = report(config("a", "fail-build"), blocked)
    assert verdict(old) == (
        "⚠️ 1 configuration failing, none newly: none has passed before (a) · 0/2 passing"
        " · 1 blocked by the infrastructure, nothing proven (triton-fil: capacity)"
    )


def test_green_heads():
    assert verdict(report(config("a"), config("b"))) == "✅ all passing · 2/2 passing"
    untested = config("c", "untested", lastTest=None)
    assert verdict(report(config("a"), untested)) == "✅ no failures · 1/2 passing"
    assert verdict(report()) == "✅ no failures · 0/0 passing"
    # a harness error is mlcc-ci's: not the change's
    errored = config("e", "pass", lastError=ERROR)
    assert verdict(report(config("a"), errored)) == (
        "✅ no failures caused by this change · 2/2 passing · 1 harness error, mlcc-ci's own (e)"
    )
    # a quarantined configuration's failure is not counted
    held = config(
        "q", "fail-build", regression=REGRESSION, quarantine=Quarantine("flaky", "2099-01-01")
    )
    assert verdict(report(config("a"), held)) == (
        "✅ no failures caused by this change · 1/2 passing"
        " · 1 quarantined, not counted (q until 2099-01-01)"
    )
    # a quarantined configuration that passes changes nothing
    passing_held = config("q", "pass", quarantine=Quarantine("flaky", "2099-01-01"))
    assert verdict(report(config("a"), passing_held)) == (
        "✅ all passing · 2/2 passing · 1 quarantined, not counted (q until 2099-01-01)"
    )


def test_only_supported_configurations_present_in_the_catalog_are_counted():
    unsupported = config("u", "untested", supportState="unsupported", lastTest=None)
    removed = config("r", "pass", removed=True)
    removed_failing = config("rf", "fail-build", removed=True, regression=REGRESSION)
    assert verdict(report(config("a"), unsupported, removed, removed_failing)) == (
        "✅ all passing · 1/1 passing"
    )


def test_suspects_and_errors_are_counted_in_the_plural():
    suspect = Suspect("catch-all", "team/_failures.yaml:2", "infra", 4)
    one = config("s1", "pass", blocked=BLOCK, suspect=suspect)
    two = config("s2", "untested", blocked=BLOCK, suspect=replace(suspect, rule=""))
    found = report(one, two, config("e1", "pass", lastError=ERROR))
    assert verdict(found) == (
        "⚠️ 2 blocked by the infrastructure, nothing proven (s1: capacity, s2: capacity)"
        " · 1/3 passing"
        " · 2 suspect rules, blocking for rounds (catch-all on s1, - on s2)"
        " · 1 harness error, mlcc-ci's own (e1)"
    )
    found = report(one, config("e1", "pass", lastError=ERROR), config("e2", lastError=ERROR))
    assert verdict(found) == (
        "⚠️ 1 blocked by the infrastructure, nothing proven (s1: capacity)"
        " · 2/3 passing"
        " · 1 suspect rule, blocking for rounds (catch-all on s1)"
        " · 2 harness errors, mlcc-ci's own (e1, e2)"
    )


def test_the_profiles_are_said_most_used_first_with_their_scope():
    found = report(
        config("a"),
        profiles={"default": 1, "static": 5, "local": 2},
        scopes={"static": "static profile: generation only", "local": ""},
    )
    assert verdict(found, cell=str.upper) == (
        "✅ all passing · 1/1 passing · STATIC PROFILE: GENERATION ONLY · LOCAL PROFILE"
        " · DEFAULT PROFILE"
    )
