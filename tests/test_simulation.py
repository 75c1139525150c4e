"""The 30-day simulation (mlcc_ci/simulation, `mlcc-ci simulate`): the world a seed makes,
what counts as a caught regression and how soon, the replay through the real scheduling
code over a SQLite store, and the command."""

import functools
import itertools
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.cost import Cost
from mlcc_ci.models import Run
from mlcc_ci.registration import catalog_registrations, from_entry
from mlcc_ci.resultparts import Failure
from mlcc_ci.simulation import metrics
from mlcc_ci.simulation.compare import compare, setting_of
from mlcc_ci.simulation.replay import replay
from mlcc_ci.simulation.world import (
    KINDS,
    RATES,
    START,
    Breakage,
    Rates,
    World,
    configs_of,
    regressions,
)

CATALOG = load_valid_catalog()
CONFIGS = configs_of(catalog_registrations(CATALOG))
# no run fails by chance: what fails is the world's doing
STEADY = Rates(infra_per_run=0.0, flake_per_run=0.0)
H = timedelta(hours=1)


def world(seed: int = 1, days: float = 30, rates: Rates = RATES) -> World:
    return World(seed, days, CONFIGS, rates=rates)


def at(hours: float):
    return START + timedelta(hours=hours)


def run(config: str, start_h: float, hours: float, status: str = "pass", failure=None, usd=1.0):
    return Run(
        configId=f"id-{config}",
        startedAt=clock.iso(at(start_h)),
        runId=f"{config}-{start_h}",
        finishedAt=clock.iso(at(start_h + hours)),
        status=status,
        durationSeconds=hours * 3600,
        deploymentConfig=config,
        estimatedCost=Cost(usd, "test"),
        failure=failure,
    )


PRODUCT = Failure("product", "deploy_test", "endpoint-health-check")
CAPACITY = Failure("capacity", "deploy_test", "sagemaker-capacity")


# -- the world ------------------------------------------------------------------------


@pytest.mark.unit
def test_the_same_seed_makes_the_same_world_and_another_seed_another():
    a, b, c = world(7), world(7), world(8)
    assert a.events == b.events and a.breakages == b.breakages and a.gaps == b.gaps
    assert a.events != c.events
    moment = at(100)
    assert a.attempt("triton-onnx", moment) == b.attempt("triton-onnx", moment)


@pytest.mark.unit
def test_each_kind_of_event_and_breakage_appears():
    worlds = [world(seed) for seed in range(1, 6)]
    kinds = {e.kind for w in worlds for e in w.events}
    assert kinds == set(KINDS)
    assert {b.kind for w in worlds for b in w.breakages} == {
        "generator",
        "image",
        "entry",
        "silent",
    }
    for kind in ("generator-release", "image-update", "entry-edit"):  # some break, some not
        found = [e for w in worlds for e in w.events if e.kind == kind]
        assert any(e.breaks for e in found) and any(not e.breaks for e in found)
    recovered = [e for w in worlds for e in w.events if e.kind == "silent-recovery"]
    assert all(any(b.end == e.at for w in worlds for b in w.breakages) for e in recovered)


@pytest.mark.unit
def test_no_breakage_starts_in_the_quiet_last_week():
    for seed in range(1, 6):
        w = world(seed)
        assert w.last_break == w.end - timedelta(days=7)
        assert all(b.start < w.last_break for b in w.breakages)
    short = world(1, days=4)
    assert short.last_break == short.end - timedelta(days=1)  # a quarter of the days


@pytest.mark.unit
def test_a_warm_up_has_the_worlds_events_but_no_breakage_and_counts_no_run():
    w = World(1, 10, CONFIGS, warmup_days=28)
    assert w.origin == START - timedelta(days=28) and w.start == START
    before = [e for e in w.events if e.at < START]
    assert {e.kind for e in before} >= {"entry-edit", "capacity-gap"}
    assert all(not e.breaks for e in before)
    assert w.breakages and all(b.start >= START for b in w.breakages)
    w.regressions = [Breakage("a", "silent", at(0), None, "c", "deploy_test", "m")]
    warm = [run("a", -5, 1, "fail-deploy_test", PRODUCT, usd=100), run("b", -1, 0.5, usd=7)]
    s = metrics.summarize("p", w, [*warm, run("a", 1, 1, usd=2)])
    assert (s.runs, s.usd, s.false_alarms, s.missed) == (1, 2.0, 0, w.regressions)
    assert metrics.world_counts(w) == {
        k: sum(1 for e in w.events if e.kind == k and e.at >= START) for k in KINDS
    }
    assert sum(metrics.world_counts(w).values()) < len(w.events)


@pytest.mark.unit
def test_what_the_policy_looks_at_changes_with_the_world():
    w = world(1)
    release, version = w.releases[0]
    assert w.generator_version(release - H) == "1.6.0"
    assert w.generator_version(release) == version != "1.6.0"
    image, moments = next((i, m) for i, m in w.updates.items() if m)
    assert w.digest(image, moments[0] - H) != w.digest(image, moments[0])
    assert w.digest(image, moments[0]).startswith("sha256:")
    name, edits = next((n, e) for n, e in w.edits.items() if e)
    before, after = w.catalog(edits[0] - H), w.catalog(edits[0])
    config_id = w.configs[name].registration.configId
    assert before[config_id].configJson != after[config_id].configJson
    assert after[config_id].baseImage == w.image_at(name, edits[0]) == f"{w.configs[name].image}-r1"
    attempt = w.attempt(name, edits[0] + H)
    assert (
        attempt.image
        == f"{w.image_at(name, edits[0])}@{w.digest(w.image_at(name, edits[0]), edits[0] + H)}"
    )


@pytest.mark.unit
def test_a_run_fails_inside_its_breakage_and_passes_outside():
    w = world(1, rates=replace(STEADY, gap_every_days=1e6))  # no capacity gap either
    assert not any(w.gaps.values())
    for b in w.regressions:
        inside = w.attempt(b.config, b.start + timedelta(minutes=1))
        assert inside.status == f"fail-{inside.failure.stage}" and inside.cause == "breakage"
        assert inside.failure.product and inside.message == w.broken(b.config, b.start).message
        assert w.attempt(b.config, b.start - timedelta(minutes=1)).status == "pass"
        if b.end is not None:
            assert w.attempt(b.config, b.end).status == "pass" or w.broken(b.config, b.end)
    kinds = {b.kind for b in w.regressions}
    assert len(kinds) >= 3, kinds


@pytest.mark.unit
def test_a_breakage_ends_when_its_fix_comes():
    ends = {"generator": 0, "image": 0, "entry": 0, "silent": 0}
    for seed in range(1, 21):
        w = world(seed)
        releases = [t for t, _ in w.releases]
        recoveries = {(e.subject, e.at) for e in w.events if e.kind == "silent-recovery"}
        for b in w.breakages:
            if b.end is None:
                continue
            ends[b.kind] += 1
            if b.kind == "generator":  # the next release or the one after
                assert b.end in releases[releases.index(b.start) + 1 :][:2]
            elif b.kind == "image":  # the image's next update
                family = w.configs[b.config].image
                moments = w.updates[family]
                assert b.end == moments[moments.index(b.start) + 1]
            elif b.kind == "entry":  # a later edit of the entry
                assert b.end in w.edits[b.config] and b.end > b.start
            else:
                assert (b.config, b.end) in recoveries
        assert all(b.end is None or b.end <= w.end for b in w.breakages)
    assert all(ends.values()), ends


@pytest.mark.unit
def test_a_capacity_gap_blocks_by_the_real_rules():
    w = world(1, rates=STEADY)
    instance_type, gaps = next((t, g) for t, g in w.gaps.items() if g)
    name = next(c.name for c in CONFIGS if c.instance_type == instance_type)
    attempt = w.attempt(name, gaps[0][0] + timedelta(minutes=1))
    assert attempt.cause == "capacity" and attempt.status == "fail-deploy_test"
    assert attempt.failure == Failure(
        "capacity",
        "deploy_test",
        "sagemaker-capacity",
        "Unable to provision requested ML compute capacity",
    )
    assert attempt.backoff == 600  # the rule's
    assert "deploy_test" in attempt.stages and attempt.stages["deploy_test"].status == "fail"


@pytest.mark.unit
def test_breakages_of_one_configuration_that_overlap_are_one_regression():
    a = Breakage("x", "silent", at(0), at(10), "c", "deploy_test", "m")
    b = Breakage("x", "image", at(5), at(20), "c", "deploy_test", "m")
    c = Breakage("x", "entry", at(30), None, "c", "deploy_test", "m")
    d = Breakage("y", "entry", at(6), at(7), "c", "deploy_test", "m")
    assert regressions([b, a, c, d]) == [replace(a, end=at(20)), d, c]
    assert regressions([a, replace(b, end=None)]) == [replace(a, end=None)]


# -- what counts ----------------------------------------------------------------------


@pytest.mark.unit
def test_a_regression_is_caught_only_by_a_failing_product_run_started_inside_it():
    window = Breakage("x", "silent", at(10), at(20), "c", "deploy_test", "m")
    not_caught = [
        run("x", 9, 2, "fail-deploy_test", PRODUCT),  # started before, ended inside
        run("x", 12, 1),  # a pass inside
        run("x", 13, 1, "fail-deploy_test", CAPACITY),  # blocked: proves nothing
        run("y", 14, 1, "fail-deploy_test", PRODUCT),  # another configuration
        run("x", 20, 1, "fail-deploy_test", PRODUCT),  # at its end: fixed then
    ]
    assert metrics.detect(window, not_caught).run is None
    first = run("x", 15, 1.5, "fail-deploy_test", PRODUCT)
    later = run("x", 19, 3, "fail-build", Failure("unclassified", "build"))  # ends past it
    found = metrics.detect(window, [later, *not_caught, first])
    assert found.run == first and found.hours == 6.5
    assert metrics.detect(window, [later]).hours == 12.0
    open_ended = replace(window, end=None)
    assert metrics.detect(open_ended, not_caught).run == not_caught[-1]


@pytest.mark.unit
def test_median_and_worst_detection_cost_and_false_alarms():
    w = world(1, rates=STEADY)
    w.regressions = [
        Breakage("a", "silent", at(0), None, "c", "deploy_test", "m"),
        Breakage("b", "silent", at(0), None, "c", "deploy_test", "m"),
        Breakage("c", "silent", at(0), None, "c", "deploy_test", "m"),
        Breakage("d", "silent", at(0), None, "c", "deploy_test", "m"),
    ]
    runs = [
        run("a", 0.5, 0.5, "fail-deploy_test", PRODUCT, usd=2.5),  # 1 h
        run("b", 2, 1, "fail-deploy_test", PRODUCT, usd=1.25),  # 3 h
        run("c", 9, 1, "fail-deploy_test", PRODUCT),  # 10 h
        run("d", 1, 1, usd=0.25),  # d is never caught
        run("e", 1, 1, "fail-deploy_test", PRODUCT),  # a false alarm: e is not broken
        run("d", 2, 1, "fail-deploy_test", CAPACITY, usd=0.5),  # blocked, paid for
    ]
    s = metrics.summarize("p", w, runs)
    assert (s.median_hours, s.worst_hours) == (3.0, 10.0)
    assert [d.regression.config for d in s.caught] == ["a", "b", "c"]
    assert [b.config for b in s.missed] == ["d"]
    assert s.usd == 6.5 and s.per_day == round(6.5 / 30, 2)
    assert (s.runs, s.product_runs, s.blocked_runs, s.false_alarms) == (6, 5, 1, 1)
    even = metrics.summarize("p", w, runs[:2])
    assert even.median_hours == 2.0 and even.worst_hours == 3.0
    assert metrics.summarize("p", w, []).median_hours is None


@pytest.mark.unit
def test_the_target_is_every_regression_caught_no_later_at_half_the_cost():
    w = world(1, rates=STEADY)
    w.regressions = [Breakage("a", "silent", at(0), None, "c", "deploy_test", "m")]
    seed = metrics.summarize("seed", w, [run("a", 2, 2, "fail-deploy_test", PRODUCT, usd=10)])
    good = metrics.summarize("default", w, [run("a", 1, 3, "fail-deploy_test", PRODUCT, usd=5)])
    assert metrics.target(good, seed).met
    dear = metrics.summarize("default", w, [run("a", 1, 3, "fail-deploy_test", PRODUCT, usd=5.01)])
    assert not metrics.target(dear, seed).met and metrics.target(dear, seed).cost_share == 0.501
    slow = metrics.summarize("default", w, [run("a", 2, 2.5, "fail-deploy_test", PRODUCT, usd=1)])
    assert not metrics.target(slow, seed).median_no_later
    blind = metrics.summarize("default", w, [run("a", 2, 1, usd=1)])
    assert not metrics.target(blind, seed).all_caught


# -- the replay -----------------------------------------------------------------------


REGISTRATIONS = {e.config_id: from_entry(e) for e in CATALOG.entries}
TWELVE_DAYS = world(1, days=12, rates=STEADY)


@functools.cache
def twelve_days(policy: str, image_digests: bool = True):
    """The replay of TWELVE_DAYS under `policy`, once for the tests that read it."""
    setting = setting_of(CATALOG, image_digests=image_digests)
    return replay(TWELVE_DAYS, policy, REGISTRATIONS, setting)


@pytest.mark.functional
def test_the_replay_writes_what_the_store_accepts_and_its_shortcut_changes_nothing():
    w, setting = world(2, days=2), setting_of(CATALOG)
    checked = replay(w, "default", REGISTRATIONS, setting, checked=True)
    fast = replay(w, "default", REGISTRATIONS, setting)
    seen = [(r.deploymentConfig, r.startedAt, r.status, r.estimatedCost) for r in checked.runs]
    assert seen == [(r.deploymentConfig, r.startedAt, r.status, r.estimatedCost) for r in fast.runs]
    assert len(checked.runs) > 20


@pytest.mark.functional
def test_a_replay_begins_with_the_warm_up_and_measures_the_days_after():
    w = World(2, 1, CONFIGS, rates=STEADY, warmup_days=2)
    result = replay(w, "seed", REGISTRATIONS, setting_of(CATALOG))
    assert result.runs[0].startedAt == clock.iso(w.origin)
    measured = [r for r in result.runs if r.startedAt >= clock.iso(START)]
    assert 0 < len(measured) < len(result.runs)
    assert "untested" not in {result.reasons[r.runId] for r in measured}  # tested in the warm-up
    assert metrics.summarize("seed", w, result.runs).runs == len(measured)


@pytest.mark.functional
def test_the_seed_policy_runs_each_configuration_daily_one_at_a_time():
    w = world(3, days=3, rates=STEADY)
    result = replay(w, "seed", REGISTRATIONS, setting_of(CATALOG))
    runs = result.runs
    names = {c.name for c in CONFIGS}
    assert {r.deploymentConfig for r in runs} == names  # unsupported entries never run
    first = runs[: len(names)]  # untested first, one a scan, by name
    assert [r.deploymentConfig for r in first] == sorted(names)
    assert [r.startedAt for r in first] == [clock.iso(START + k * H) for k in range(len(names))]
    assert {result.reasons[r.runId] for r in first} == {"untested"}
    for a, b in itertools.pairwise(runs):  # MaxConcurrency 1: never two at once
        assert b.startedAt >= a.finishedAt
    for name in names:
        mine = [r for r in runs if r.deploymentConfig == name]
        for a, b in itertools.pairwise(mine):
            waited = clock.parse(b.startedAt) - clock.parse(a.finishedAt)
            reason = result.reasons[b.runId]
            assert waited >= timedelta(hours=24) or reason in ("changed", "blocked"), (a, b)
    assert all(r.estimatedCost and r.estimatedCost.usd for r in runs)  # priced by the table


@pytest.mark.functional
def test_a_run_the_infrastructure_blocked_is_retried_with_the_rules_backoff_doubling():
    w = world(1, days=6, rates=STEADY)
    result = replay(w, "seed", REGISTRATIONS, setting_of(CATALOG))
    runs, streak, checked, longest = result.runs, {}, 0, 0
    for i, r in enumerate(runs):
        if not (r.failure and r.failure.blocking):
            streak.pop(r.deploymentConfig, None)
            continue
        assert r.failure.cls == "capacity" and not r.product
        rounds = streak[r.deploymentConfig] = streak.get(r.deploymentConfig, 0) + 1
        longest = max(longest, rounds)
        after = next((x for x in runs[i + 1 :] if x.deploymentConfig == r.deploymentConfig), None)
        if after is None:  # blocked at the end
            continue
        assert result.reasons[after.runId] == "blocked"  # due again as a blocked one...
        waited = clock.parse(after.startedAt) - clock.parse(r.finishedAt)
        assert waited >= timedelta(seconds=600 * 2 ** (rounds - 1))  # ...after its backoff
        checked += 1
    assert checked >= 5 and longest >= 3  # a streak of blocked runs


@pytest.mark.functional
def test_an_edited_entry_is_tested_at_once_as_it_is_now_under_either_policy():
    w = TWELVE_DAYS
    edit = next(e for e in w.events if e.kind == "entry-edit")
    for policy in ("seed", "default"):
        result = twelve_days(policy)
        first = next(
            r
            for r in result.runs
            if r.deploymentConfig == edit.subject and r.startedAt >= clock.iso(edit.at)
        )
        assert result.reasons[first.runId] == "changed"
        between = [r for r in result.runs if clock.iso(edit.at) <= r.startedAt < first.startedAt]
        assert {result.reasons[r.runId] for r in between} <= {"changed", "blocked"}  # not stale
        assert first.provenImage.startswith(f"{w.configs[edit.subject].image}-r1@sha256:")


@pytest.mark.functional
def test_the_default_policy_tests_what_a_new_base_image_digest_changed_at_once():
    w = TWELVE_DAYS
    update = next(e for e in w.events if e.kind == "image-update")
    users = sorted(c.name for c in CONFIGS if c.image == update.subject)
    assert len(users) > 1
    result = twelve_days("default")
    for name in users:
        first = next(
            r
            for r in result.runs
            if r.deploymentConfig == name and r.startedAt >= clock.iso(update.at)
        )
        assert result.reasons[first.runId] == "changed", name
        assert clock.parse(first.startedAt) - update.at < timedelta(hours=len(users) + 1)
        image = w.image_at(name, update.at)
        assert first.provenImage == f"{image}@{w.digest(image, update.at)}"


@pytest.mark.functional
def test_without_image_digests_a_moved_tag_makes_nothing_due():
    w = TWELVE_DAYS
    update = next(e for e in w.events if e.kind == "image-update")
    users = {c.name for c in CONFIGS if c.image == update.subject}
    result = twelve_days("default", image_digests=False)
    assert all("@" not in r.provenImage for r in result.runs)  # no digest recorded
    first = {}
    for r in result.runs:
        if r.startedAt >= clock.iso(update.at) and r.deploymentConfig in users:
            first.setdefault(r.deploymentConfig, r)
    assert set(first) == users
    assert {result.reasons[r.runId] for r in first.values()} == {"stale"}  # not "changed"
    last = max(clock.parse(r.startedAt) for r in first.values())
    assert not [e for e in w.events if update.at < e.at <= last and e.kind != "capacity-gap"]


@pytest.mark.functional
def test_the_default_policy_tests_what_a_release_changed_at_once():
    w = TWELVE_DAYS
    release, version = w.releases[0]
    result = twelve_days("default")
    after = [r for r in result.runs if r.startedAt >= clock.iso(release)]
    changed = [r for r in after if result.reasons[r.runId] == "changed"]
    assert changed and all(r.generatorVersion == version for r in changed)
    # every configuration is tested with the new version within a day (one at a time)
    first = {}
    for r in after:
        first.setdefault(r.deploymentConfig, r)
    assert len(first) == len(CONFIGS)
    assert all(clock.parse(r.startedAt) - release < timedelta(hours=24) for r in first.values())


@pytest.mark.functional
def test_a_comparison_replays_one_world_per_policy():
    found = compare(2, 5, ("seed", "weekly"), warmup_days=0)
    assert [s.policy for s in found.summaries] == ["seed", "weekly"]
    assert found.entries == len(CATALOG.entries) and len(found.world.configs) == len(CONFIGS)
    seed, weekly = found.summaries
    assert seed.runs > weekly.runs >= len(CONFIGS)
    assert seed.product_runs > len(CONFIGS)  # the second day retests


# -- the command ----------------------------------------------------------------------


@pytest.mark.functional
def test_simulate_prints_the_comparison_table(cli):
    result = cli("simulate", "--days", "3", "--seed", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "Simulated 3 days after 28 days of warm-up, seed 1: the 15 supported configurations"
    )
    assert lines[1].startswith("World: ")
    header = next(i for i, line in enumerate(lines) if line.startswith("policy "))
    assert lines[header].split() == [
        "policy", "runs", "blocked", "caught", "median", "worst", "false", "alarms", "cost",
        "per", "day",
    ]  # fmt: skip
    assert lines[header + 1].startswith("default ") and lines[header + 2].startswith("seed ")
    assert lines[-2].startswith("Target (default against seed): every regression caught")
    assert lines[-1].startswith("Silent (no visible change): ")  # seed 1's first days have one
    cold = ("simulate", "--days", "1", "--seed", "1", "--warmup-days", "0")
    once = cli(*cold).output
    assert once == cli(*cold).output  # the same seed, the same world and answers
    assert once.startswith("Simulated 1 day after 0 days of warm-up, seed 1")


@pytest.mark.functional
def test_simulate_json(cli):
    result = cli(
        "simulate", "--days", "3", "--seed", "4", "--policy", "seed", "--warmup-days", "1", "--json"
    )
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert (doc["days"], doc["seed"], doc["maxConcurrency"], doc["warmupDays"]) == (3, 4, 1, 1)
    assert [p["policy"] for p in doc["policies"]] == ["seed"]
    assert set(doc["world"]["events"]) == set(KINDS)
    assert "target" not in doc  # it needs both the default and the seed's
    (policy,) = doc["policies"]
    regressions = doc["world"]["regressions"]
    assert [{k: v for k, v in d.items() if k != "hours"} for d in policy["detections"]] == (
        regressions
    )
    caught = [d for d in policy["detections"] if d["hours"] is not None]
    assert len(regressions) == 1 and caught and caught[0]["hours"] > 0
    assert policy["caught"] == len(caught) and len(policy["missed"]) == len(regressions) - len(
        caught
    )


@pytest.mark.functional
def test_simulate_a_team_catalog_unpriced_or_with_nothing_supported(cli, tmp_path):
    team = tmp_path / "team"
    assert cli("catalog", "init", str(team), "http-flask").exit_code == 0
    entry = team / "http-flask.yaml"  # an instance type the price table lacks
    entry.write_text(entry.read_text().replace("ml.m5.large", "ml.c5.xlarge"))
    args = ("simulate", "--days", "1", "--warmup-days", "0", "--policy", "seed")
    result = cli("--catalog", str(team), *args)
    assert result.exit_code == 0, result.output
    assert "the 1 supported configuration of the catalog's 1," in result.output
    row = next(line for line in result.output.splitlines() if line.startswith("seed "))
    assert row.split()[1:] == ["1", "0", "0", "of", "0", "-", "-", "0", "$0.00", "(+1", "unknown)", "$0.00"]  # fmt: skip
    none = tmp_path / "none"
    assert cli("catalog", "init", str(none), "marketplace").exit_code == 0
    refused = cli("--catalog", str(none), *args)
    assert refused.exit_code == 2
    assert refused.output == "Error: the catalog has no supported configuration to simulate\n"


@pytest.mark.functional
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--days", "0"], "Error: --days: 0 is out of range (more than 0, at most 366)"),
        (["--days", "abc"], "Error: --days: 'abc' is not a number"),
        (["--days", "nan"], "Error: --days: 'nan' is not a finite number"),
        (["--days", "400"], "Error: --days: 400 is out of range (more than 0, at most 366)"),
        (["--seed", "1.5"], "Error: --seed: '1.5' is not a whole number"),
        (
            ["--warmup-days", "-1"],
            "Error: --warmup-days: -1 is out of range (at least 0, at most 366)",
        ),
        (
            ["--daily-budget", "-1"],
            "Error: --daily-budget: -1 is out of range (at least 0, at most 1000000000)",
        ),
        (
            ["--policy", "daily"],
            "Error: --policy: no policy 'daily' (known: default, seed, weekly)",
        ),
    ],
)
def test_simulate_refuses_bad_input_in_one_line(cli, args, error):
    result = cli("simulate", *args)
    assert result.exit_code == 2
    assert result.output == error + "\n"


def test_a_daily_budget_of_zero_is_none_as_for_plan(cli):
    result = cli("simulate", "--days", "1", "--warmup-days", "0", "--daily-budget", "0", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["dailyBudget"] is None


@pytest.mark.functional
def test_a_daily_budget_is_said_to_be_the_default_policys(cli):
    """The seed's policy keeps no budget: the header says whose it is."""
    args = ("simulate", "--days", "1", "--warmup-days", "0", "--daily-budget", "5")
    first = cli(*args).output.splitlines()[0]
    assert ", daily budget $5 (the default policy's); price table" in first
