"""What one scan (mlcc_ci/aws/scanner.py) starts, skips, reaps, gives back and says, in-process
over a SQLite results store, a recording Step Functions client and in-memory slots and daily
spend (the DynamoDB ones are tests/test_scanner.py's, under moto); the limits it reads from
its environment, the worst case it charges, the catalog and prices packaged beside it, and
the clients its Lambda makes. Written for make mutation (issue 32 item 2): every mutant of
the module runs these in milliseconds."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlcc_ci import clock
from mlcc_ci.aws import scanner
from mlcc_ci.aws.slots import Held, Slots, Spend
from mlcc_ci.cost import Prices
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.models import Outcome, Registration, finished
from mlcc_ci.selection import Policy
from mlcc_ci.stores.base import claim
from tests.stores import registration, sqlite_store

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = Policy()
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mlcc-ci"
CONFIG = {"awsRegion": "us-east-1", "instanceType": "ml.g5.xlarge", "projectName": "p"}
PRICES = Prices(
    3,
    "2026-11-01",
    "USD",
    {"BUILD_GENERAL1_LARGE": {"us-east-1": 0.02}, "BUILD_GENERAL1_MEDIUM": {"us-east-1": 0.01}},
    {"ml.g5.xlarge": {"us-east-1": 1.5}},
)


class StepFunctions:
    def __init__(self, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.started: list[dict[str, Any]] = []
        self.refuse = refuse

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, str]:
        if any(name.startswith(c) for c in self.refuse):
            raise RuntimeError("ExecutionLimitExceeded: " + "x" * 400)
        self.started.append({"arn": stateMachineArn, "name": name, "input": json.loads(input)})
        return {"executionArn": f"{stateMachineArn}:{name}"}


@dataclass
class FakeSlots:
    size: int
    held: dict[str, str] = field(default_factory=dict)  # slot -> run id
    given_back: list[tuple[str, str]] = field(default_factory=list)
    finished: list[Held] = field(default_factory=list)
    taken: list[tuple[str, str, int]] = field(default_factory=list)

    def free_finished(self) -> list[Held]:
        return self.finished

    def take(self, config_id: str, run_id: str, version: int) -> str | None:
        self.taken.append((config_id, run_id, version))
        free = [f"slot-{i}" for i in range(self.size) if f"slot-{i}" not in self.held]
        if not free:
            return None
        self.held[free[0]] = run_id
        return free[0]

    def give_back(self, slot: str, run_id: str) -> bool:
        self.given_back.append((slot, run_id))
        return self.held.pop(slot) == run_id


@dataclass
class FakeSpend:
    cap: float
    day: str = "2026-12-01"
    dollars: float = 0.0
    refunds: list[float] = field(default_factory=list)

    def spent(self) -> float:
        return self.dollars

    def charge(self, cost: float) -> bool:
        if self.dollars + cost > self.cap:
            return False
        self.dollars += cost
        return True

    def refund(self, cost: float) -> None:
        self.refunds.append(cost)
        self.dollars -= cost


@pytest.fixture
def store(tmp_path):
    with sqlite_store(tmp_path) as opened:
        yield opened


def register(store, *ns: int, config: dict | None = None) -> list[str]:
    for n in ns:
        text = json.dumps((config or CONFIG) | {"projectName": f"p{n}"})
        store.register(registration(n, config_json=text), clock.iso(NOW - timedelta(days=2)))
    return [f"{n:016x}" for n in ns]


def logged(capsys) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def scan(store, sfn=None, policy=POLICY, limits=None, catalog=None):
    return scanner.scan(store, sfn or StepFunctions(), ARN, policy, NOW, catalog, limits)


def test_each_due_record_is_claimed_and_started_with_what_the_state_machine_needs(store, capsys):
    ids = register(store, 1, 2)
    store.unreadable["old"] = "from an earlier scan"
    sfn = StepFunctions()
    result = scan(store, sfn)
    runs = {c: store.get(c).runId for c in ids}
    assert all(len(r) == 12 and int(r, 16) >= 0 for r in runs.values())  # a new run id each
    assert runs[ids[0]] != runs[ids[1]]
    assert [store.get(c).testStatus for c in ids] == ["running", "running"]
    assert [store.get(c).runStartedAt for c in ids] == [clock.iso(NOW, ms=True)] * 2
    expires = str(int((NOW + timedelta(days=180)).timestamp()))
    assert sfn.started == [
        {
            "arn": ARN,
            "name": f"{c}-{runs[c]}",
            "input": {
                "configId": c,
                "buildStrategy": "codebuild-submit",
                "runId": runs[c],
                "expiresAt": expires,
            },
        }
        for c in ids
    ]
    assert result == {
        "executionArns": [f"{ARN}:{c}-{runs[c]}" for c in ids],
        "reaped": [],
        "skipped": [],
        "unreadable": [],
    }
    assert logged(capsys) == [
        {
            "event": "started",
            "configId": c,
            "reason": "untested",
            "slot": None,
            "executionArn": f"{ARN}:{c}-{runs[c]}",
        }
        for c in ids
    ]


def test_an_execution_that_fails_to_start_gives_back_its_claim_slot_and_spend(store, capsys):
    first, second = register(store, 1, 2)
    slots, spend = FakeSlots(2), FakeSpend(100.0)
    limits = scanner.Limits(slots, spend, PRICES)
    result = scan(store, StepFunctions(refuse={first}), limits=limits)
    assert store.get(first).testStatus == "untested" and store.get(first).runId is None
    assert store.get(second).testStatus == "running"
    assert result["executionArns"] == [f"{ARN}:{second}-{store.get(second).runId}"]
    worst = scanner.worst_case(store.get(first), PRICES, Policy()).usd
    assert spend.refunds == [worst] and spend.dollars == pytest.approx(worst)
    assert [s for s, _ in slots.given_back] == ["slot-0"]
    assert slots.held == {"slot-1": store.get(second).runId}
    failed = [e for e in logged(capsys) if e["event"] == "start-failed"]
    assert failed == [
        {
            "event": "start-failed",
            "configId": first,
            "error": "ExecutionLimitExceeded: " + "x" * 276,
        }
    ]


def test_once_every_slot_is_held_the_rest_are_skipped_saying_so(store, capsys):
    first, second, third, fourth = register(store, 1, 2, 3, 4)
    slots = FakeSlots(1)
    result = scan(store, limits=scanner.Limits(slots))
    assert [store.get(c).testStatus for c in (first, second, third, fourth)] == [
        "running",
        "untested",
        "untested",
        "untested",
    ]
    full = "untested; all 1 slots held (MaxConcurrency)"
    assert result["skipped"] == [
        {"configId": c, "name": f"cfg-{n}", "reason": "max-concurrency", "detail": full}
        for n, c in ((2, second), (3, third), (4, fourth))
    ]
    # each slot asked for by configId, the claim's run id and the version it claims
    run_id = store.get(first).runId
    assert slots.taken[0] == (first, run_id, 1)
    assert [t[0] for t in slots.taken] == [first, second]
    assert slots.held == {"slot-0": store.get(first).runId}
    started = [e for e in logged(capsys) if e["event"] == "started"]
    assert [e["slot"] for e in started] == ["slot-0"]


def test_a_slot_refused_gives_back_what_the_claim_charged(store):
    first, second = register(store, 1, 2)
    spend = FakeSpend(100.0)
    scan(store, limits=scanner.Limits(FakeSlots(1), spend, PRICES))
    assert store.get(second).testStatus == "untested"
    worst = scanner.worst_case(store.get(first), PRICES, Policy()).usd
    assert spend.refunds == [worst]
    assert spend.dollars == pytest.approx(worst)


def test_a_run_that_would_pass_the_days_cap_is_skipped_and_the_next_that_fits_is_not(store):
    cheap = register(store, 1, 3, config=CONFIG | {"instanceType": "ml.t3.medium"})
    dear = register(store, 2)
    prices = Prices(
        PRICES.version,
        PRICES.date,
        "USD",
        PRICES.codebuild,
        {"ml.g5.xlarge": {"us-east-1": 1.5}, "ml.t3.medium": {"us-east-1": 0.05}},
    )
    worst_dear = scanner.worst_case(store.get(dear[0]), prices, Policy()).usd
    worst_cheap = scanner.worst_case(store.get(cheap[0]), prices, Policy()).usd
    cap = 0.4 + 2 * worst_cheap + 0.05
    assert worst_dear > worst_cheap + 0.05
    spend = FakeSpend(cap=cap, dollars=0.4)
    result = scan(store, limits=scanner.Limits(None, spend, prices))
    assert [store.get(c).testStatus for c in cheap] == ["running", "running"]
    assert store.get(dear[0]).testStatus == "untested"
    spent = f"${0.4 + worst_cheap:,.2f}"
    assert result["skipped"] == [
        {
            "configId": dear[0],
            "name": "cfg-2",
            "reason": "spend-cap",
            "detail": f"untested; {spent} spent of the day's cap ${cap:,.2f} (UTC"
            f" 2026-12-01); this run may cost up to ${worst_dear:,.2f}",
        }
    ]


def test_a_run_whose_cost_is_unknown_is_skipped_under_a_cap(store):
    (config_id,) = register(store, 1, config=CONFIG | {"instanceType": "ml.unpriced"})
    result = scan(store, limits=scanner.Limits(None, FakeSpend(50.0), PRICES))
    assert result["skipped"] == [
        {
            "configId": config_id,
            "name": "cfg-1",
            "reason": "spend-cap",
            "detail": "untested; its cost is unknown (no ml.unpriced price for us-east-1 in the"
            " price table v3 of 2026-11-01), and the day's cap $50.00 (UTC 2026-12-01) needs one",
        }
    ]
    assert store.get(config_id).testStatus == "untested"


def test_a_claim_lost_to_another_scan_or_refused_gives_back_and_goes_on(store, capsys):
    lost, broken, fine = register(store, 1, 2, 3)
    replace = store.replace

    def racing(record, *, expect_version, expect_run_id):
        if record.configId == lost:
            raise ConflictError("changed meanwhile")
        if record.configId == broken:
            raise StoreError("throttled")
        return replace(record, expect_version=expect_version, expect_run_id=expect_run_id)

    store.replace = racing
    slots, spend = FakeSlots(3), FakeSpend(100.0)
    result = scan(store, limits=scanner.Limits(slots, spend, PRICES))
    assert result["executionArns"] == [f"{ARN}:{fine}-{store.get(fine).runId}"]
    assert result["skipped"] == []  # a lost claim is another scan's to run
    assert result["unreadable"] == [{"configId": broken, "reason": "cannot be claimed: throttled"}]
    assert [s for s, _ in slots.given_back] == ["slot-0", "slot-0"]  # taken again by the next
    assert len(spend.refunds) == 2


def test_what_a_scan_reaps_frees_and_skips_is_said(store, capsys):
    orphan, fresh = register(store, 1, 2)
    from mlcc_ci.stores.base import claim

    started = NOW - timedelta(hours=3)
    claim(store, store.get(orphan), "r-orphan", clock.iso(started))
    done = claim(store, store.get(fresh), "r-done", clock.iso(NOW - timedelta(hours=1)))
    store.replace(
        finished(done, Outcome("pass", clock.iso(NOW - timedelta(minutes=30)), 60.0, {})),
        expect_version=done.version,
        expect_run_id=done.runId,
    )
    held = Held("slot-4", orphan, "r-orphan", 1, 0, 0)
    slots = FakeSlots(1, finished=[held])
    stored = store.get(fresh)
    same = registration(2, config_json=stored.configJson)  # the catalog names it, unchanged
    result = scan(store, limits=scanner.Limits(slots), catalog={fresh: same})
    assert store.get(fresh).version == stored.version  # not registered anew
    assert result["reaped"] == [orphan]
    assert result["skipped"] == []  # fresh is not said
    events = logged(capsys)
    reaped = store.get(orphan)
    assert events[0] == {"event": "reaped", "configId": orphan, "message": reaped.errorMessage}
    assert events[1] == {
        "event": "slot-freed",
        "slot": "slot-4",
        "configId": orphan,
        "runId": "r-orphan",
    }


def test_an_edited_entry_is_registered_anew_and_started_however_recently_it_ran(store):
    (config_id,) = register(store, 1)
    done = claim(store, store.get(config_id), "r1", clock.iso(NOW - timedelta(hours=1)))
    store.replace(
        finished(done, Outcome("pass", clock.iso(NOW - timedelta(minutes=30)), 60.0, {})),
        expect_version=done.version,
        expect_run_id=done.runId,
    )
    edited = registration(
        1, config_json=json.dumps(CONFIG | {"projectName": "p1"}), baseImage="python:3.13-slim"
    )
    result = scan(store, catalog={config_id: edited})
    assert store.get(config_id).baseImage == "python:3.13-slim"
    assert store.get(config_id).testStatus == "running"
    assert len(result["executionArns"]) == 1


def test_the_worst_case_bills_build_endpoint_and_executor_for_the_build_timeout_less_queueing(
    store,
):
    (config_id,) = register(store, 1)
    record = store.get(config_id)
    # 90 minutes, 60 of them queued: 30 billed minutes of each
    cost = scanner.worst_case(record, PRICES, Policy())
    assert cost.usd == pytest.approx(30 * 0.02 + 0.5 * 1.5 + 30 * 0.01)
    assert cost.basis == (
        "30 min BUILD_GENERAL1_LARGE, 0.50 h ml.g5.xlarge, 30 min executor"
        " (price table v3 of 2026-11-01)"
    )
    # a timeout of 60 minutes or less: all of it (the queue may take none)
    short = scanner.worst_case(record, PRICES, Policy(build_timeout=timedelta(minutes=60)))
    assert short.usd == pytest.approx(60 * 0.02 + 1.0 * 1.5 + 60 * 0.01)
    longer = scanner.worst_case(record, PRICES, Policy(build_timeout=timedelta(minutes=61)))
    assert longer.usd == pytest.approx(1 * 0.02 + 1 / 60 * 1.5 + 1 * 0.01)


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_a_worst_case_of_an_unreadable_config_prices_what_it_can(store, text):
    (config_id,) = register(store, 1)
    from dataclasses import replace

    record = replace(store.get(config_id), configJson=text)
    cost = scanner.worst_case(record, PRICES, Policy())
    assert (cost.usd, cost.basis) == (
        None,
        "no BUILD_GENERAL1_LARGE price for no region in the price table v3 of 2026-11-01",
    )


def test_the_policy_reads_its_environment_and_defaults():
    assert scanner.policy_from({}) == Policy(
        stale_after=timedelta(hours=24),
        max_concurrency=1,
        build_timeout=timedelta(minutes=90),
        grace=timedelta(minutes=15),
    )
    env = {
        "STALE_HOURS": "1.5",
        "MAX_CONCURRENCY": "4",
        "BUILD_TIMEOUT_MINUTES": "120.5",
        "ORPHAN_GRACE_MINUTES": "7",
    }
    assert scanner.policy_from(env) == Policy(
        stale_after=timedelta(hours=1.5),
        max_concurrency=4,
        build_timeout=timedelta(minutes=120.5),
        grace=timedelta(minutes=7),
    )


def test_no_slots_table_no_hard_limits():
    assert (
        scanner.limits_from({"DAILY_SPEND_CAP": "5"}, "<client>", Policy(), NOW) == scanner.Limits()
    )


def test_slots_are_sized_by_max_concurrency_and_held_for_the_build_timeout_and_grace():
    policy = Policy(max_concurrency=3, build_timeout=timedelta(minutes=50))
    env = {"SLOTS_TABLE_NAME": "slots", "TABLE_NAME": "records"}
    limits = scanner.limits_from(env, "<client>", policy, NOW)
    slots = limits.slots
    assert isinstance(slots, Slots)
    assert (slots.client, slots.table, slots.records_table, slots.size) == (
        "<client>",
        "slots",
        "records",
        3,
    )
    assert (slots.hold, slots.now) == (timedelta(minutes=65), NOW)
    assert (limits.spend, limits.prices) == (None, None)
    default = scanner.limits_from({"SLOTS_TABLE_NAME": "slots"}, "<c>", policy, NOW).slots
    assert default.records_table == "mlcc-ci-table"
    assert scanner.limits_from({"SLOTS_TABLE_NAME": "slots"}, "<c>", Policy(), NOW).slots is None


@pytest.mark.parametrize("cap", ["", "0", "-1"])
def test_no_spend_cap_unless_a_positive_one(cap):
    env = {"SLOTS_TABLE_NAME": "slots", "DAILY_SPEND_CAP": cap}
    limits = scanner.limits_from(env, "<client>", Policy(max_concurrency=1), NOW)
    assert limits.slots is not None
    assert (limits.spend, limits.prices) == (None, None)


def test_a_spend_cap_is_kept_in_the_slots_table_with_the_packaged_prices(monkeypatch):
    monkeypatch.setattr(scanner, "deployed_prices", lambda: PRICES)
    env = {"SLOTS_TABLE_NAME": "slots", "DAILY_SPEND_CAP": "12.5"}
    limits = scanner.limits_from(env, "<client>", Policy(max_concurrency=1), NOW)
    assert isinstance(limits.spend, Spend)
    assert (limits.spend.client, limits.spend.table, limits.spend.cap) == (
        "<client>",
        "slots",
        12.5,
    )
    assert limits.spend.day == "2026-12-01"
    assert limits.prices is PRICES
    assert isinstance(limits.slots, Slots)  # both limits at once
    low = scanner.limits_from(env | {"DAILY_SPEND_CAP": "1"}, "<c>", Policy(max_concurrency=1), NOW)
    assert low.spend.cap == 1.0  # a dollar is a cap
    assert (
        scanner.limits_from(env | {"DAILY_SPEND_CAP": "0.5"}, "<c>", Policy(), NOW).spend.cap == 0.5
    )


def test_the_worst_case_is_the_executors_the_default_profile(store):
    (config_id,) = register(store, 1)
    unbilled = Prices(
        3, "2026-11-01", "USD", PRICES.codebuild, PRICES.instances, frozenset({"default"})
    )
    cost = scanner.worst_case(store.get(config_id), unbilled, Policy())
    assert (cost.usd, cost.basis) == (0.0, "profile default runs nothing in AWS")


def test_give_back_returns_only_what_was_taken():
    slots, spend = FakeSlots(2, held={"slot-1": "r"}), FakeSpend(10.0)
    scanner.Taken(scanner.Limits(slots, spend), "r").give_back()
    assert (slots.given_back, spend.refunds) == ([], [])
    scanner.Taken(scanner.Limits(slots, spend), "r", "slot-1", 2.5).give_back()
    assert (slots.given_back, spend.refunds) == ([("slot-1", "r")], [2.5])
    scanner.Taken(scanner.Limits(), "r", "slot-1", 2.5).give_back()  # nothing to give back to


def test_release_gives_back_only_a_running_claim_and_a_lost_one_is_no_error(store):
    (config_id,) = register(store, 1)
    record = store.get(config_id)
    scanner._release(store, record)  # not running: nothing to give back
    assert store.get(config_id).version == record.version
    from mlcc_ci.stores.base import claim

    running = claim(store, record, "r1", clock.iso(NOW))
    stale = store.get(config_id)
    scanner._release(store, running)
    assert store.get(config_id).testStatus == "untested"
    scanner._release(store, stale)  # changed meanwhile: a ConflictError, suppressed


class Sessionish:
    region_name: str | None = "eu-west-1"

    def __init__(self) -> None:
        self.made: list[tuple[str, dict[str, Any]]] = []

    def client(self, name: str, **kwargs: Any) -> str:
        self.made.append((name, kwargs))
        return f"<{name}>"


def test_the_slots_client_retries_with_backoff():
    session = Sessionish()
    assert scanner.retrying_client(session, "eu-west-1") == "<dynamodb>"
    [(name, kwargs)] = session.made
    config = kwargs.pop("config")
    assert (name, kwargs) == ("dynamodb", {"region_name": "eu-west-1"})
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert (config.connect_timeout, config.read_timeout) == (5, 30)


def test_a_lambdas_context_is_its_environment_session_and_store():
    session = Sessionish()
    env = {"TABLE_NAME": "t", "RUNS_TABLE_NAME": "r"}
    got_env, got_session, store = scanner.lambda_context(env, session)
    assert (got_env, got_session) == (env, session)
    assert (store.client, store.table, store.runs_table, store.region) == (
        "<dynamodb>",
        "t",
        "r",
        "eu-west-1",
    )
    [(name, kwargs)] = session.made
    assert (name, kwargs["region_name"]) == ("dynamodb", "eu-west-1")
    assert kwargs["config"].retries == {"total_max_attempts": 1}


def test_a_lambdas_context_defaults(monkeypatch):
    session = Sessionish()
    session.region_name = None
    _, _, store = scanner.lambda_context({"AWS_REGION": "ap-southeast-2"}, session)
    assert (store.table, store.runs_table, store.region) == (
        "mlcc-ci-table",
        "mlcc-ci-runs",
        "ap-southeast-2",
    )
    _, _, store = scanner.lambda_context({}, session)
    assert store.region == "us-east-1"
    monkeypatch.setenv("TABLE_NAME", "from-environ")
    env, _, store = scanner.lambda_context(None, session)
    assert store.table == "from-environ" and env["TABLE_NAME"] == "from-environ"
    import boto3

    monkeypatch.setattr(boto3.session, "Session", Sessionish)
    _, made, store = scanner.lambda_context({}, None)
    assert isinstance(made, Sessionish) and store.region == "eu-west-1"


def test_the_handler_scans_as_of_its_event_with_its_environment(monkeypatch, capsys):
    session = Sessionish()

    @dataclass
    class Store:
        region: str = "eu-west-1"
        requests: int = 7

    store = Store()
    calls = []
    monkeypatch.setattr(scanner, "lambda_context", lambda env, s: (env, s, store))
    monkeypatch.setattr(scanner.clock, "now", lambda: NOW)
    monkeypatch.setattr(scanner, "deployed_catalog", lambda: {"c": "reg"})
    monkeypatch.setattr(scanner, "limits_from", lambda *a: ("limits", a))

    def scanned(*args):
        calls.append(args)
        return {"executionArns": ["a", "b"]}

    monkeypatch.setattr(scanner, "scan", scanned)
    env = {"STATE_MACHINE_ARN": ARN, "MAX_CONCURRENCY": "2"}
    later = NOW + timedelta(minutes=3)
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": clock.iso(later)}
    assert scanner.handler(event, None, env=env, session=session) == {"executionArns": ["a", "b"]}
    policy = scanner.policy_from(env)
    [args] = calls
    assert args[:6] == (store, "<stepfunctions>", ARN, policy, later, {"c": "reg"})
    assert args[6] == ("limits", (env, "<dynamodb>", policy, later))
    assert session.made[0] == ("stepfunctions", {"region_name": "eu-west-1"})
    assert session.made[1][0] == "dynamodb" and session.made[1][1]["region_name"] == "eu-west-1"
    assert logged(capsys) == [
        {"event": "scan-done", "at": clock.iso(later), "started": 2, "dynamodbRequests": 7}
    ]
    scanner.handler(None, None, env=env, session=session)  # invoked by hand: the clock
    assert calls[-1][4] == NOW


def test_a_scan_is_as_of_a_scheduled_events_time_never_before_the_clock():
    later, earlier = NOW + timedelta(minutes=11), NOW - timedelta(hours=2)
    event = {"source": "aws.events", "detail-type": "Scheduled Event"}
    assert scanner.scan_time(event | {"time": clock.iso(later)}, NOW) == later
    assert scanner.scan_time(event | {"time": clock.iso(earlier)}, NOW) == NOW
    assert scanner.scan_time(event | {"time": "soon"}, NOW) == NOW
    assert scanner.scan_time(event, NOW) == NOW
    assert scanner.scan_time({"source": "aws.events", "time": clock.iso(later)}, NOW) == NOW
    other = {"detail-type": "Scheduled Event", "time": clock.iso(later)}
    assert scanner.scan_time(other, NOW) == NOW


class Catalog:
    def __init__(self, defaults: dict) -> None:
        self.entries: list = []
        self.defaults = defaults


def test_the_packaged_catalog_and_prices_are_sorted_json_read_back_as_written(
    tmp_path, monkeypatch
):
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.cost import prices_of
    from mlcc_ci.registration import catalog_registrations

    catalog = load_valid_catalog()
    path = tmp_path / scanner.REGISTRATIONS_FILE
    scanner.write_catalog(catalog, path)
    registrations = catalog_registrations(catalog)
    from dataclasses import asdict

    items = {k: asdict(v) for k, v in registrations.items()}
    assert path.read_text(encoding="utf-8") == json.dumps(items, indent=1, sort_keys=True) + "\n"
    unbilled = {
        n: {"billed": False}
        for n, s in catalog.defaults["profiles"].items()
        if s.get("billed") is False
    }
    assert unbilled  # the shipped catalog has an unbilled profile
    priced = {"prices": catalog.defaults["prices"], "profiles": unbilled}
    prices_text = (tmp_path / scanner.PRICES_FILE).read_text(encoding="utf-8")
    assert prices_text == json.dumps(priced, indent=1, sort_keys=True) + "\n"
    monkeypatch.setattr(scanner, "data_path", lambda name: tmp_path / name)
    assert scanner.deployed_catalog() == registrations
    assert all(isinstance(k, str) and isinstance(v, Registration) for k, v in registrations.items())
    assert scanner.deployed_prices() == prices_of(catalog.defaults)


def test_a_catalog_without_prices_or_profiles_packages_empty_ones(tmp_path):
    scanner.write_catalog(Catalog({}), tmp_path / scanner.REGISTRATIONS_FILE)
    assert json.loads((tmp_path / scanner.PRICES_FILE).read_text()) == {
        "prices": {},
        "profiles": {},
    }
    scanner.write_catalog(
        Catalog({"profiles": {"a": {"billed": True}, "b": {}, "c": {"billed": False}}}),
        tmp_path / scanner.REGISTRATIONS_FILE,
    )
    assert json.loads((tmp_path / scanner.PRICES_FILE).read_text())["profiles"] == {
        "c": {"billed": False}
    }


def test_without_a_packaged_catalog_the_checkouts_is_read(tmp_path, monkeypatch):
    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.cost import prices_of
    from mlcc_ci.registration import catalog_registrations

    monkeypatch.setattr(scanner, "data_path", lambda name: tmp_path / name)
    assert scanner.deployed_catalog() == catalog_registrations(load_valid_catalog())
    assert scanner.deployed_prices() == prices_of(load_valid_catalog().defaults)
