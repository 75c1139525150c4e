"""The schedule confidence drives, within a budget (issue 34 item 3): the cadence curve
(cadence.py), change first (generator, base image digest), the order of stale results, the
daily budget (dailycap.py) and how selection.select uses them; the seed's daily policy."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mlcc_ci import cadence, clock, dailycap
from mlcc_ci.cadence import Inputs
from mlcc_ci.models import Cost, Record, Run
from mlcc_ci.resultparts import Failure
from mlcc_ci.selection import Policy, next_due, select

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
DAY = timedelta(days=1)
IMAGE = "vllm/vllm-openai:v0.10.1"
OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def at(days_ago: float) -> str:
    return clock.iso(NOW - timedelta(days=days_ago), ms=True)


def run(days_ago: float, status: str = "pass", n: int = 1, **fields) -> Run:
    fields.setdefault("generatorVersion", "1.6.0")
    fields.setdefault("provenImage", f"{IMAGE}@{OLD}")
    return Run(
        configId=f"{n:016x}",
        startedAt=at(days_ago),
        runId=f"r{days_ago}",
        finishedAt=at(days_ago - 0.01),
        status=status,
        durationSeconds=600.0,
        deploymentConfig=f"cfg-{n}",
        **fields,
    )


def passes(count: int, newest_days_ago: float = 1.5, n: int = 1, **fields) -> tuple[Run, ...]:
    """`count` passing runs a day apart, the newest `newest_days_ago` ago, newest first."""
    return tuple(run(newest_days_ago + i, n=n, **fields) for i in range(count))


def rec(n: int = 1, runs: tuple[Run, ...] = (), status: str | None = None, **kw) -> Record:
    newest = runs[0] if runs else None
    return Record(
        configId=f"{n:016x}",
        configJson='{"awsRegion": "us-east-1"}',
        deploymentConfig=f"cfg-{n}",
        buildStrategy="codebuild-submit",
        projectName=f"p{n}",
        createdAt="2026-01-01T00:00:00Z",
        source="catalog",
        version=3,
        testStatus=status or (newest.status if newest else "untested"),
        lastTestTimestamp=newest.finishedAt if newest else "1970-01-01T00:00:00Z",
        baseImage=IMAGE,
        recentRuns=runs,
        **kw,
    )


def failed(days_ago: float, n: int = 1, **fields) -> Run:
    return run(days_ago, "fail-deploy_test", n, failure=Failure("product", "deploy_test"), **fields)


# --- the curve --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("streak", "days"),
    [(0, 1.0), (1, 1.0), (3, 1.0), (4, 1.1), (5, 1.6), (6, 1.9), (10, 2.9), (12, 3.1), (16, 3.5)],
)
def test_the_interval_grows_with_the_passes_since_the_last_change(streak, days):
    """The documented curve: 1 day for new and after a change (up to 3 passes: lower bound
    0.44), 3.5 days from 15 passes in a row (0.80)."""
    record = rec(runs=passes(streak))
    assert round(cadence.every(record, DAY, "confidence") / DAY, 1) == days


def test_the_curve_is_flat_below_low_and_above_high():
    assert cadence.multiple(0.0) == 1 == cadence.multiple(cadence.LOW)
    assert cadence.multiple(cadence.HIGH) == cadence.LONGEST == cadence.multiple(1.0)
    assert cadence.multiple(0.65) == pytest.approx(2.25)


def test_one_day_after_a_failure_whatever_came_before():
    record = rec(runs=(failed(1.5), *passes(19, 2.5)))
    interval = cadence.interval(record, DAY)
    assert interval.every == DAY and interval.runs == 20 and interval.passes == 19
    once = rec(runs=(run(0.2), failed(1.5), *passes(18, 2.5)))
    assert cadence.every(once, DAY, "confidence") == DAY  # the first pass after it: a day
    recovered = rec(runs=(*passes(2, 0.2), failed(1.5), *passes(17, 2.5)))
    assert round(cadence.every(recovered, DAY, "confidence") / DAY, 1) == 3.2  # 19 of 20


def failed_as(days_ago: float, stage: str = "deploy_test", rule: str = "ping", **fields) -> Run:
    return run(days_ago, f"fail-{stage}", failure=Failure("product", stage, rule), **fields)


@pytest.mark.parametrize(("repeats", "days"), [(1, 1), (2, 2), (3, 4), (4, 7), (6, 7)])
def test_a_failure_that_repeats_the_same_way_waits_longer_each_time(repeats, days):
    """1, 2, 4, then 7 days (FAILING_LONGEST): the same failure again proves nothing new."""
    record = rec(runs=(*(failed_as(1.5 + i) for i in range(repeats)), *passes(5, 9.5)))
    assert cadence.every(record, DAY, "confidence") == days * DAY
    assert cadence.every(record, DAY, "daily") == DAY


def test_another_failure_a_change_or_a_pass_starts_the_backoff_over():
    """Only the newest failures alike (stage and rule), with one generator and image, and
    no pass between, count."""
    other_rule = rec(runs=(failed_as(1.5), failed_as(2.5, rule="oom"), failed_as(3.5)))
    assert cadence.every(other_rule, DAY, "confidence") == DAY
    other_stage = rec(runs=(failed_as(1.5), failed_as(2.5, stage="build"), failed_as(3.5)))
    assert cadence.every(other_stage, DAY, "confidence") == DAY
    changed = rec(runs=(failed_as(1.5), failed_as(2.5, generatorVersion="1.5.0")))
    assert cadence.every(changed, DAY, "confidence") == DAY
    passed = rec(runs=(failed_as(1.5), failed_as(2.5), run(3.5), failed_as(4.5)))
    assert cadence.every(passed, DAY, "confidence") == 2 * DAY
    unclassified = rec(runs=(failed(1.5), failed(2.5), failed(3.5)))
    assert cadence.every(unclassified, DAY, "confidence") == 4 * DAY
    assert cadence.failing((run(0.5), failed_as(1.5))) == []
    assert len(cadence.failing(passed.recentRuns)) == 2


def test_a_repeating_failure_waits_unless_something_changed():
    """Three alike, the newest 3 days ago: regressed, not due until day 4; a new generator
    makes it due at once all the same."""
    runs = (failed_as(3), failed_as(4), failed_as(5), *passes(5, 6))
    record = rec(runs=runs, lastPassTimestamp=at(6))
    [fresh] = select([record], NOW, Policy()).skipped
    assert fresh.reason == "fresh"
    [due] = select([record], NOW + timedelta(days=1.1), Policy()).due
    assert due.reason == "regressed"
    bumped = Inputs(generator_version="1.7.0")
    [changed] = select([record], NOW, Policy(), inputs=bumped).due
    assert changed.reason == "changed"
    assert [d.reason for d in select([record], NOW, Policy(cadence="daily")).due] == ["regressed"]


def test_one_day_after_a_change_of_generator_or_image_then_the_curve_again():
    """The first run with a new generator or image is retested a day later; the second
    counts with the streak before it."""
    bumped = rec(runs=(run(1.5, generatorVersion="1.7.0"), *passes(15, 2.5)))
    assert cadence.every(bumped, DAY, "confidence") == DAY
    assert cadence.interval(bumped, DAY).runs == 16  # every product run counts
    pulled = rec(runs=(run(1.5, provenImage=f"{IMAGE}@{NEW}"), *passes(15, 2.5)))
    assert cadence.every(pulled, DAY, "confidence") == DAY
    again = rec(runs=(run(0.5, generatorVersion="1.7.0"), *bumped.recentRuns))
    assert cadence.every(again, DAY, "confidence") == 3.5 * DAY  # 17 of 17: lower 0.82
    first = rec(runs=(run(1.5, generatorVersion="1.7.0"),))
    assert cadence.every(first, DAY, "confidence") == DAY  # new, not changed


def test_runs_that_prove_nothing_neither_count_nor_break_the_streak():
    blocked = run(0.5, "fail-deploy_test", failure=Failure("capacity", "deploy_test"))
    error = run(0.7, "error", generatorVersion="", provenImage="")
    record = rec(runs=(blocked, error, *passes(16)), status="pass")
    assert cadence.every(record, DAY, "confidence") == 3.5 * DAY


def test_the_daily_cadence_is_stale_after_whatever_the_confidence():
    record = rec(runs=passes(16))
    assert cadence.every(record, timedelta(hours=24), "daily") == timedelta(hours=24)
    assert cadence.every(record, timedelta(hours=2), "confidence") == timedelta(hours=7)


def test_the_interval_is_assessed_as_of_the_last_test():
    """A streak whose newest pass is long gone still sets the interval it set then: the
    plan, the scanner and next_due agree on when it falls due."""
    old = rec(runs=passes(16, newest_days_ago=80))
    assert cadence.every(old, DAY, "confidence") == 3.5 * DAY


# --- change first -----------------------------------------------------------------------


def test_a_new_generator_makes_a_fresh_result_due_at_once():
    record = rec(runs=passes(16, newest_days_ago=0.1))
    plan = select([record], NOW, Policy(), inputs=Inputs(generator_version="1.7.0"))
    [due] = plan.due
    assert due.reason == "changed"
    assert due.detail.startswith("generator 1.6.0 -> 1.7.0 since its last run (pass, ")


def test_the_same_generator_changes_nothing():
    record = rec(runs=passes(16, newest_days_ago=0.1))
    plan = select([record], NOW, Policy(), inputs=Inputs(generator_version="1.6.0"))
    assert plan.due == [] and plan.skipped[0].reason == "fresh"


def test_a_new_base_image_digest_makes_it_due_at_once():
    record = rec(runs=passes(16, newest_days_ago=0.1))
    plan = select([record], NOW, Policy(), inputs=Inputs(digests={IMAGE: NEW}))
    [due] = plan.due
    assert due.reason == "changed"
    assert due.detail.startswith(
        f"base image {IMAGE} sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb since its last run"
    )
    same = select([record], NOW, Policy(), inputs=Inputs(digests={IMAGE: OLD}))
    assert same.due == []


def test_no_comparison_where_the_run_recorded_nothing():
    """A run that recorded no generator (a failure before register) or a tag without its
    digest (lookups off then) is never compared: it would be due at every scan."""
    unknown = rec(runs=(failed(0.1, generatorVersion="", provenImage=""), *passes(3, 1.1)))
    tag_only = rec(2, runs=passes(16, 0.1, n=2, provenImage=IMAGE))
    pinned = rec(3, runs=passes(16, 0.1, n=3, provenImage=f"vllm/vllm-openai@{OLD}"))
    inputs = Inputs(generator_version="1.7.0", digests={IMAGE: NEW})
    assert cadence.what_changed(unknown, inputs) is None
    assert cadence.what_changed(tag_only, Inputs(digests={IMAGE: NEW})) is None
    assert cadence.what_changed(pinned, Inputs(digests={IMAGE: NEW})) is None
    assert cadence.to_look_up([unknown, tag_only, pinned]) == set()
    assert cadence.to_look_up([rec(runs=passes(1))]) == {IMAGE}


def test_only_the_newest_product_run_is_compared():
    """A blocked run with another generator after the last pass proved nothing."""
    blocked = run(
        0.05,
        "fail-deploy_test",
        failure=Failure("capacity", "deploy_test"),
        generatorVersion="1.7.0",
    )
    record = rec(runs=(blocked, *passes(5, 0.1)), status="pass")
    said = cadence.what_changed(record, Inputs(generator_version="1.8.0"))
    assert said is not None and said.startswith("generator 1.6.0 -> 1.8.0")


def test_a_failed_lookup_never_blocks_and_says_so():
    record = rec(runs=passes(16, newest_days_ago=8))
    inputs = Inputs(lookup_errors={IMAGE: "timed out after 5s"})
    [due] = select([record], NOW, Policy(), inputs=inputs).due
    assert due.reason == "stale"
    assert due.detail.endswith(
        f"; digest of {IMAGE} not looked up (timed out after 5s): scheduled as if unchanged"
    )


def test_the_daily_policy_compares_no_generator_or_digest():
    """The seed's policy is the seed's: only its catalog entry's change is due at once."""
    record = rec(runs=passes(16, newest_days_ago=0.1))
    inputs = Inputs(generator_version="1.7.0", digests={IMAGE: NEW})
    plan = select([record], NOW, Policy(cadence="daily"), inputs=inputs)
    assert plan.due == [] and plan.skipped[0].reason == "fresh"


def test_changed_comes_after_untested_and_before_blocked_and_regressed():
    bumped = rec(1, runs=passes(4, 0.1, n=1))
    untested = rec(2)
    newer = {"generatorVersion": "2.0"}
    regressed = rec(
        3, runs=(failed(2, n=3, **newer), *passes(2, 3, n=3, **newer)), lastPassTimestamp=at(3)
    )
    plan = select(
        [regressed, bumped, untested], NOW, Policy(), inputs=Inputs(generator_version="2.0")
    )
    assert [(d.record.deploymentConfig, d.reason) for d in plan.due] == [
        ("cfg-2", "untested"),
        ("cfg-1", "changed"),
        ("cfg-3", "regressed"),
    ]


def test_a_blocked_record_waits_for_its_retry_even_when_its_generator_changed():
    from mlcc_ci.resultparts import Blocked

    block = Blocked("capacity", "deploy_test", at(0.1), clock.iso(NOW + timedelta(hours=3)))
    record = rec(runs=passes(3, 0.2), blocked=block)
    plan = select([record], NOW, Policy(), inputs=Inputs(generator_version="2.0"))
    assert plan.due == [] and plan.skipped[0].reason == "blocked"


# --- then uncertainty -------------------------------------------------------------------


def test_a_long_streak_waits_three_and_a_half_days_and_says_why():
    record = rec(runs=passes(16, newest_days_ago=3.4))
    [fresh] = select([record], NOW, Policy()).skipped
    assert fresh.reason == "fresh"
    assert "(every 3.5d: confidence 0.81, 16 of 16 passed)" in fresh.detail
    [stale] = select([record], NOW + timedelta(days=0.2), Policy()).due
    assert stale.reason == "stale"
    assert stale.detail.endswith("(every 3.5d: confidence 0.81, 16 of 16 passed)")


def test_a_result_with_no_runs_kept_is_due_after_24_hours_as_before():
    """Records without runs (another tool's, an older harness's) keep the seed's rule: the
    lines say nothing more."""
    record = replace(rec(), testStatus="pass", lastTestTimestamp=at(1.01))
    [stale] = select([record], NOW, Policy()).due
    assert stale.detail == "pass, last tested 24.2h ago"


def test_the_cheapest_that_prove_the_most_first():
    """Stale results by (1 - lower) per expected dollar; unknown prices last."""
    sure_cheap = rec(1, runs=passes(16, 8, n=1))  # lower 0.81, $1
    unsure_cheap = rec(2, runs=passes(4, 2, n=2))  # lower 0.51, $1
    unsure_dear = rec(3, runs=passes(4, 2, n=3))  # lower 0.51, $20
    unpriced = rec(4, runs=passes(1, 2, n=4))  # lower 0.21, unknown
    prices = {"cfg-1": 1.0, "cfg-2": 1.0, "cfg-3": 20.0}
    inputs = Inputs(price=lambda r: prices.get(r.deploymentConfig))
    plan = select([unpriced, unsure_dear, sure_cheap, unsure_cheap], NOW, Policy(), inputs=inputs)
    assert [d.record.deploymentConfig for d in plan.due] == ["cfg-2", "cfg-1", "cfg-3", "cfg-4"]
    daily = select([unpriced, unsure_dear, sure_cheap, unsure_cheap], NOW, Policy(cadence="daily"))
    oldest_first = ["cfg-1", "cfg-2", "cfg-3", "cfg-4"]  # by lastTestTimestamp, then name
    assert [d.record.deploymentConfig for d in daily.due] == oldest_first


def test_worth_without_prices_is_what_is_left_to_prove():
    record = rec(runs=passes(10))
    assert cadence.worth(record, Inputs()) == pytest.approx(1 - 0.722, abs=1e-3)
    assert cadence.worth(record, Inputs(price=lambda r: None)) == -1.0
    assert cadence.worth(record, Inputs(price=lambda r: 0.0)) == pytest.approx(27.8, abs=0.1)


def test_next_due_follows_the_interval():
    long_streak = rec(1, runs=passes(16, 1, n=1))  # due in 6 days
    new = rec(2, runs=passes(1, 0.5, n=2))  # due in half a day
    upcoming = next_due([long_streak, new], Policy())
    assert upcoming is not None and upcoming.record.deploymentConfig == "cfg-2"
    assert upcoming.at == clock.parse(new.lastTestTimestamp) + DAY
    seed = next_due([long_streak, new], Policy(cadence="daily"))
    assert seed is not None and seed.record.deploymentConfig == "cfg-1"


# --- within a budget --------------------------------------------------------------------


def cost(usd: float | None) -> Cost:
    return Cost(usd, "test")


def test_spent_today_counts_the_runs_started_since_midnight_utc():
    today = run(0.4, estimatedCost=cost(2.5))  # 02:24 today
    also = run(0.45, "error", estimatedCost=cost(0.5))  # what proves nothing costs too
    yesterday = run(0.6, estimatedCost=cost(9.0))  # 21:36 yesterday
    unknown = run(0.3, estimatedCost=cost(None))
    record = rec(runs=(unknown, today, also, yesterday))
    copy = rec(2, runs=(today,))  # the same run, seen twice, counted once
    running = replace(rec(3), testStatus="running", runStartedAt=at(0.1))
    ran_yesterday = replace(rec(4), testStatus="running", runStartedAt=at(0.9))
    spent, unpriced = dailycap.spent_today(
        [record, copy, running, ran_yesterday], NOW, lambda r: 4.0
    )
    assert (spent, unpriced) == (7.0, 1)
    assert dailycap.spent_today([running], NOW, None) == (0.0, 1)
    assert dailycap.day_start(NOW) == "2026-06-10T00:00:00.000Z"


def decisions(*names_prices):
    records = [
        replace(rec(i), testStatus="pass", lastTestTimestamp=at(3))
        for i, _ in enumerate(names_prices, 1)
    ]
    return records, dict(zip((r.deploymentConfig for r in records), names_prices, strict=True))


def test_the_budget_takes_what_fits_in_order_and_leaves_out_the_rest():
    records, prices = decisions(30.0, 25.0, 10.0, None, 5.0)
    inputs = Inputs(price=lambda r: prices[r.deploymentConfig], spent_today=12.0)
    plan = select(records, NOW, Policy(cadence="daily", daily_budget_usd=50.0), inputs=inputs)
    assert [d.record.deploymentConfig for d in plan.due] == ["cfg-1", "cfg-5"]
    left = {d.record.deploymentConfig: d.detail for d in plan.skipped}
    assert left == {
        "cfg-2": "stale; over today's $50.00 budget: $25.00 expected, $12.00 spent, "
        "$30.00 taken by this plan",
        "cfg-3": "stale; over today's $50.00 budget: $10.00 expected, $12.00 spent, "
        "$30.00 taken by this plan",
        "cfg-4": "stale; its expected cost is unknown (a price the table lacks), and today's "
        "$50.00 budget needs one",
    }
    assert {d.reason for d in plan.skipped} == {"daily-budget"}
    assert plan.budget == dailycap.Budget(50.0, 12.0, 35.0, 3, 0)
    assert plan.budget.text == (
        "Daily budget $50.00: $12.00 spent today, ~$35.00 due now, $3.00 left; 3 left out"
    )


def test_a_budget_spent_leaves_everything_out_and_none_keeps_everything():
    records, prices = decisions(1.0, 2.0)
    inputs = Inputs(price=lambda r: prices[r.deploymentConfig], spent_today=50.0)
    spent = select(records, NOW, Policy(daily_budget_usd=50.0), inputs=inputs)
    assert spent.due == [] and len(spent.skipped) == 2
    assert spent.skipped[0].detail == (
        "stale; over today's $50.00 budget: $1.00 expected, $50.00 spent"
    )
    free = select(records, NOW, Policy(), inputs=inputs)
    assert len(free.due) == 2 and free.budget is None


def test_a_run_dearer_than_the_whole_budget_is_said_so():
    records, prices = decisions(60.0, 5.0)
    inputs = Inputs(price=lambda r: prices[r.deploymentConfig], spent_today=0.0)
    plan = select(records, NOW, Policy(cadence="daily", daily_budget_usd=50.0), inputs=inputs)
    assert [d.record.deploymentConfig for d in plan.due] == ["cfg-2"]
    assert plan.skipped[0].detail == (
        "stale; $60.00 expected, more than the whole daily budget ($50.00): it never runs within it"
    )


def test_exactly_the_budget_fits():
    records, prices = decisions(20.0, 30.0)
    inputs = Inputs(price=lambda r: prices[r.deploymentConfig], spent_today=0.0)
    plan = select(records, NOW, Policy(cadence="daily", daily_budget_usd=50.0), inputs=inputs)
    assert len(plan.due) == 2 and plan.budget is not None and plan.budget.left == 0.0


def test_the_budget_counts_the_records_runs_when_not_told():
    records, prices = decisions(10.0, 10.0)
    spender = rec(9, runs=(run(0.2, n=9, estimatedCost=cost(45.0)),))  # fresh, spent $45 today
    inputs = Inputs(price=lambda r: prices.get(r.deploymentConfig))
    plan = select([*records, spender], NOW, Policy(daily_budget_usd=50.0), inputs=inputs)
    assert plan.due == []
    assert plan.budget == dailycap.Budget(50.0, 45.0, 0.0, 2, 0)


def test_past_the_free_slots_nothing_is_priced():
    """What MaxConcurrency holds back waits for a slot, not for the budget: the budget
    takes the first that fit the slots, the next that fits included."""
    records, prices = decisions(40.0, 30.0, 5.0, 1.0)
    inputs = Inputs(price=lambda r: prices[r.deploymentConfig], spent_today=0.0)
    policy = Policy(cadence="daily", daily_budget_usd=50.0, max_concurrency=2)
    plan = select(records, NOW, policy, inputs=inputs)
    assert [d.record.deploymentConfig for d in plan.due] == ["cfg-1", "cfg-3"]
    reasons = {d.record.deploymentConfig: d.reason for d in plan.skipped}
    assert reasons == {"cfg-2": "daily-budget", "cfg-4": "max-concurrency"}
    assert plan.budget is not None and plan.budget.planned == 45.0


def test_a_budget_without_prices_leaves_out_everything_it_cannot_price():
    records, _ = decisions(1.0)
    plan = select(records, NOW, Policy(daily_budget_usd=5.0))
    assert plan.due == [] and plan.skipped[0].reason == "daily-budget"
    assert "its expected cost is unknown" in plan.skipped[0].detail


def test_budget_json_and_text_with_unpriced_runs():
    budget = dailycap.Budget(50.0, 60.0, 0.0, 1, 2)
    assert budget.text == (
        "Daily budget $50.00: $60.00 spent today (+2 of unknown cost), ~$0.00 due now, "
        "$0.00 left; 1 left out"
    )
    assert budget.to_json() == {
        "usd": 50.0,
        "spentToday": 60.0,
        "unpricedToday": 2,
        "planned": 0.0,
        "left": -10.0,
        "leftOut": 1,
    }


def test_a_run_of_another_profile_is_never_compared():
    """The example profile's generator is its own: a plan under the default profile never
    takes its version for the pin's."""
    record = rec(runs=passes(3, 0.1, generatorVersion="1.0.0-example", profile="example"))
    inputs = Inputs(generator_version="1.6.0", profile="default")
    assert cadence.what_changed(record, inputs) is None
    said = cadence.what_changed(record, replace(inputs, profile="example"))
    assert said is not None and said.startswith("generator 1.0.0-example -> 1.6.0")
    assert cadence.what_changed(record, replace(inputs, profile=None)) == said


def test_the_budget_prices_a_run_under_way_and_counts_the_runs_it_cannot():
    """Today's spending a plan reads from its records: a run under way at its expected
    price, a finished run of unknown cost counted as unpriced (Budget.unpriced)."""
    records, prices = decisions(10.0)
    under_way = replace(rec(8), testStatus="running", runStartedAt=at(0.01))
    unknown = rec(9, runs=(run(0.2, n=9, estimatedCost=cost(None)),))  # fresh
    prices["cfg-8"] = 4.0
    inputs = Inputs(price=lambda r: prices.get(r.deploymentConfig))
    plan = select([*records, under_way, unknown], NOW, Policy(daily_budget_usd=50.0), inputs=inputs)
    assert [d.record.deploymentConfig for d in plan.due] == ["cfg-1"]
    assert plan.budget == dailycap.Budget(50.0, 4.0, 10.0, 0, 1)


@pytest.mark.parametrize(("limit", "planned"), [(2, 5.0), (1, 0.0)])
def test_the_budget_prices_only_the_slots_the_runs_under_way_leave(limit, planned):
    """MaxConcurrency less the runs under way is what the budget prices: 2 - 1 leaves one
    slot (one run priced), 1 - 1 none (nothing priced, nothing left out)."""
    records, prices = decisions(5.0, 5.0, 5.0)
    under_way = replace(rec(8), testStatus="running", runStartedAt=at(0.01))
    inputs = Inputs(price=lambda r: prices.get(r.deploymentConfig), spent_today=0.0)
    policy = Policy(cadence="daily", daily_budget_usd=50.0, max_concurrency=limit)
    plan = select([*records, under_way], NOW, policy, inputs=inputs)
    assert [d.record.deploymentConfig for d in plan.due] == ["cfg-1"][: limit - 1]
    assert plan.budget == dailycap.Budget(50.0, 0.0, planned, 0, 0)
    held = [d.record.deploymentConfig for d in plan.skipped if d.reason == "max-concurrency"]
    assert held == ["cfg-1", "cfg-2", "cfg-3"][limit - 1 :]


def test_the_daily_cadence_adds_nothing_to_a_finished_records_line():
    """Only the confidence cadence says an interval or a failed lookup; under the daily one
    a stale and a fresh line end where their status and time end."""
    stale = rec(1, runs=passes(1, 3.0))
    fresh = rec(2, runs=passes(1, 0.5, n=2))
    plan = select([stale, fresh], NOW, Policy(cadence="daily"))
    assert [d.detail for d in plan.due] == ["pass, last tested 3.0d ago"]
    again = clock.display(clock.iso(clock.parse(fresh.lastTestTimestamp) + DAY))
    assert [d.detail for d in plan.skipped] == [f"pass; due after {again}"]
