"""The scanner (mlcc_ci/aws/scanner.py) keeps the schedule confidence drives (issue 34 item
3): the daily budget counted from the runs started today, a record whose generator or base
image changed started at once, and what it reads from its environment and its package."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from mlcc_ci import clock
from mlcc_ci.aws import scanner
from mlcc_ci.cadence import Inputs
from mlcc_ci.cost import Prices
from mlcc_ci.models import Cost, Outcome, StageResult
from mlcc_ci.registry import Lookups
from mlcc_ci.selection import Policy
from mlcc_ci.stores.base import claim, finish
from tests.stores import registration, sqlite_store

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mlcc-ci"
CONFIG = {"awsRegion": "us-east-1", "instanceType": "ml.g5.xlarge"}
PRICES = Prices(
    3,
    "2026-11-01",
    "USD",
    {"BUILD_GENERAL1_LARGE": {"us-east-1": 0.02}, "BUILD_GENERAL1_MEDIUM": {"us-east-1": 0.01}},
    {"ml.g5.xlarge": {"us-east-1": 1.5}},
)


class StepFunctions:
    def __init__(self) -> None:
        self.started: list[str] = []

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, str]:
        self.started.append(json.loads(input)["configId"])
        return {"executionArn": f"{stateMachineArn}:{name}"}


CATALOG: dict = {}  # configId -> registration: the scanner reads each catalog record


@pytest.fixture
def store(tmp_path):
    CATALOG.clear()
    with sqlite_store(tmp_path) as opened:
        yield opened


def register(store, *ns: int) -> list[str]:
    for n in ns:
        text = json.dumps(CONFIG | {"projectName": f"p{n}"}, separators=(",", ":"))
        reg = registration(n, config_json=text)
        CATALOG[reg.configId] = reg
        store.register(reg, clock.iso(NOW - timedelta(days=2)))
    return [f"{n:016x}" for n in ns]


def ran(store, config_id: str, hours_ago: float, usd: float, generator: str = "1.6.0") -> None:
    """A passing run of `config_id` that started `hours_ago` and cost `usd`."""
    started = NOW - timedelta(hours=hours_ago)
    run_id = f"run-{config_id}-{int(hours_ago * 10)}"
    running = claim(store, store.get(config_id), run_id, clock.iso(started, ms=True))
    outcome = Outcome(
        status="pass",
        finishedAt=clock.iso(started + timedelta(minutes=30), ms=True),
        durationSeconds=1800.0,
        stageResults={"build": StageResult("pass", 600.0)},
        generatorVersion=generator,
        estimatedCost=Cost(usd, "test"),
    )
    finish(store, running, outcome)


def logged(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_scan_starts_within_the_daily_budget_counting_what_ran_today(store, capsys):
    """$40 spent today (a run started at 02:00 UTC); a $50 budget takes one $6 run of the
    four due and skips the others, saying why; yesterday's $500 run counts nothing."""
    spender, older = register(store, 8, 9)
    ran(store, spender, hours_ago=10, usd=40.0)
    ran(store, older, hours_ago=30, usd=500.0)
    due = register(store, 1, 2, 3)
    sfn = StepFunctions()
    policy = Policy(daily_budget_usd=50.0)
    inputs = Inputs(price=lambda r: 6.0)
    result = scanner.scan(store, sfn, ARN, policy, NOW, CATALOG, inputs=inputs)
    assert sfn.started == [due[0]]
    skipped = [s for s in result["skipped"] if s["reason"] == "daily-budget"]
    assert [s["configId"] for s in skipped] == [*due[1:], older]  # the stale one too
    assert skipped[0]["detail"] == (
        "untested; over today's $50.00 budget: $6.00 expected, $40.00 spent, "
        "$6.00 taken by this plan"
    )
    [budget] = [e for e in logged(capsys) if e["event"] == "daily-budget"]
    assert budget == {
        "event": "daily-budget",
        "usd": 50.0,
        "spentToday": 40.0,
        "unpricedToday": 0,
        "planned": 6.0,
        "left": 4.0,
        "leftOut": 3,
    }


def test_without_a_budget_everything_due_starts(store):
    ids = register(store, 1, 2)
    sfn = StepFunctions()
    scanner.scan(store, sfn, ARN, Policy(), NOW, inputs=Inputs(price=lambda r: 600.0))
    assert sfn.started == ids


def test_a_new_generator_starts_a_fresh_result_at_once(store, capsys):
    [config_id] = register(store, 1)
    ran(store, config_id, hours_ago=1, usd=1.0, generator="1.5.0")
    sfn = StepFunctions()
    inputs = Inputs(generator_version="1.6.0")
    scanner.scan(store, sfn, ARN, Policy(), NOW, CATALOG, inputs=inputs)
    assert sfn.started == [config_id]
    [started] = [e for e in logged(capsys) if e["event"] == "started"]
    assert started["reason"] == "changed"
    daily = StepFunctions()
    scanner.scan(store, daily, ARN, Policy(cadence="daily"), NOW, CATALOG)
    assert daily.started == []  # the seed's policy: it ran an hour ago


def test_a_failed_lookup_is_logged_and_blocks_nothing(store, capsys):
    [config_id] = register(store, 1)
    inputs = Inputs(lookup_errors={"python:3.12-slim": "registry-1.docker.io: no answer"})
    sfn = StepFunctions()
    scanner.scan(store, sfn, ARN, Policy(), NOW, inputs=inputs)
    assert sfn.started == [config_id]
    events = logged(capsys)
    assert {
        "event": "digest-not-looked-up",
        "image": "python:3.12-slim",
        "error": "registry-1.docker.io: no answer",
    } in events


@pytest.mark.parametrize(
    ("env", "cadence", "budget"),
    [
        ({}, "confidence", None),
        ({"SCHEDULE": "daily", "DAILY_BUDGET_USD": "50"}, "daily", 50.0),
        ({"SCHEDULE": "", "DAILY_BUDGET_USD": "0"}, "confidence", None),
        ({"DAILY_BUDGET_USD": "12.5"}, "confidence", 12.5),
        ({"SCHEDULE": "weekly"}, "confidence", None),
    ],
)
def test_the_schedule_and_budget_come_from_the_environment(env, cadence, budget):
    policy = scanner.policy_from(env)
    assert (policy.cadence, policy.daily_budget_usd) == (cadence, budget)


def test_the_price_is_the_mean_of_the_recent_runs_else_the_worst_case(store):
    [config_id] = register(store, 1)
    policy = Policy()
    never = store.get(config_id)
    assert (
        scanner.expected_usd(never, PRICES, policy) == scanner.worst_case(never, PRICES, policy).usd
    )
    ran(store, config_id, hours_ago=30, usd=2.0)
    ran(store, config_id, hours_ago=5, usd=4.0)
    assert scanner.expected_usd(store.get(config_id), PRICES, policy) == 3.0
    no_price = store.get(config_id).__class__(**{**never.__dict__, "configJson": "{}"})
    assert scanner.expected_usd(no_price, PRICES, policy) is None


def test_the_packaged_pin_and_lookups_make_the_scans_inputs(tmp_path, monkeypatch):
    from mlcc_ci.catalog import load_valid_catalog

    path = tmp_path / scanner.REGISTRATIONS_FILE
    scanner.write_catalog(load_valid_catalog(), path)
    pinned = load_valid_catalog().defaults["generator"]["version"]
    assert json.loads((tmp_path / scanner.GENERATOR_FILE).read_text()) == {"version": pinned}
    monkeypatch.setattr(scanner, "data_path", lambda name: tmp_path / name)
    assert scanner.deployed_generator_version() == pinned
    off = scanner.inputs_from({}, Policy())
    assert (off.generator_version, off.profile, dict(off.digests)) == (pinned, "default", {})
    on = scanner.inputs_from({"IMAGE_DIGESTS": "on"}, Policy())
    assert isinstance(on.digests, Lookups) and on.lookup_errors is on.digests.errors
    assert on.price is not None
    monkeypatch.setattr(scanner, "data_path", lambda name: tmp_path / "none" / name)
    assert scanner.deployed_generator_version() == pinned  # the checkout catalog's


def test_the_next_due_is_the_earliest_of_all_under_the_confidence_schedule(store):
    """`plan`'s idle line (scheduling.upcoming): a long streak tested 3 days ago is due in 4
    days, a new result tested 12 hours ago in 12 hours; the daily schedule's oldest first."""
    from mlcc_ci.scheduling import upcoming

    streak, new = register(store, 1, 2)
    for day in range(16, 0, -1):
        ran(store, streak, hours_ago=24 * (day + 2), usd=1.0)
    ran(store, new, hours_ago=12.5, usd=1.0)
    following = upcoming(store, Policy(), CATALOG)
    assert following is not None and following.record.configId == new
    assert following.at == clock.parse(store.get(new).lastTestTimestamp) + timedelta(days=1)
    seed = upcoming(store, Policy(cadence="daily"), CATALOG)
    assert seed is not None and seed.record.configId == streak


def test_a_projects_record_whose_generator_changed_starts_as_it_is(store, capsys):
    """A record a project registered (not the catalog's) is run as registered: a new
    generator makes it due, and nothing registers it anew from a catalog entry it lacks."""
    [config_id] = register(store, 1)
    ran(store, config_id, hours_ago=30, usd=1.0, generator="1.5.0")
    sfn = StepFunctions()
    scanner.scan(store, sfn, ARN, Policy(), NOW, {}, inputs=Inputs(generator_version="1.6.0"))
    assert sfn.started == [config_id]
    [started] = [e for e in logged(capsys) if e["event"] == "started"]
    assert started["reason"] == "changed"
