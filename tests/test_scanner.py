"""The scanner Lambda handler itself, over moto's DynamoDB and Step Functions."""

import json
import threading
from collections import Counter

import boto3
import pytest
from moto import mock_aws

from mlcc_ci.aws.scanner import handler
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.registration import from_entry
from tests.stores import dynamo_store, pass_state_machine

pytestmark = pytest.mark.functional
SUPPORTED = {e.config_id for e in load_valid_catalog().entries if e.supported}


@pytest.fixture
def atomic_writes(monkeypatch):
    """DynamoDB applies a conditional write atomically: no other write to the item comes
    between its check and its write, whatever other clients do at once
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html,
    "Conditional writes"). moto, in this process, checks and writes without a lock, so
    threads scanning at once could both take one slot on a loaded machine: its writes are
    made one at a time here, as DynamoDB's are per item."""
    from moto.dynamodb.models import DynamoDBBackend

    one_at_a_time = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        write = getattr(DynamoDBBackend, name)

        def atomic(self, *args, _write=write, **kwargs):
            with one_at_a_time:
                return _write(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)


@pytest.fixture
def aws(atomic_writes):
    with mock_aws(), dynamo_store() as store:
        for entry in load_valid_catalog().entries:
            store.register(from_entry(entry), "2026-01-01T00:00:00Z")
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = pass_state_machine(sfn)
        yield store, sfn, arn


def counting_session():
    session = boto3.session.Session(region_name="us-east-1")
    calls = Counter()
    session.events.register("before-call.dynamodb", lambda model, **kw: calls.update([model.name]))
    return session, calls


def test_starts_one_execution_per_claim_up_to_max_concurrency(aws):
    store, sfn, arn = aws
    env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "3"}
    session, calls = counting_session()
    first = handler({}, None, env=env, session=session)
    assert len(first["executionArns"]) == 3
    assert calls["Scan"] == 0 and calls["Query"] >= 1
    running = [r for r in store.records() if r.testStatus == "running"]
    assert len(running) == 3
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    inputs = [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
        for e in executions
    ]
    assert {i["configId"] for i in inputs} == {r.configId for r in running}
    for payload in inputs:
        # only what the state machine uses: no configJson in execution inputs (or their logs)
        assert set(payload) == {"configId", "buildStrategy", "runId", "expiresAt"}
        days = (int(payload["expiresAt"]) - __import__("time").time()) / 86400
        assert 179 < days <= 180  # the failure path's history item expires like the others
        assert payload["runId"] == store.get(payload["configId"]).runId
    # three are running, MaxConcurrency 3: nothing more starts
    assert handler({}, None, env=env, session=session)["executionArns"] == []
    more = handler({}, None, env={**env, "MAX_CONCURRENCY": "50"}, session=session)
    assert len(more["executionArns"]) == len(SUPPORTED) - 3
    started = {r.configId for r in store.records() if r.testStatus == "running"}
    assert started == SUPPORTED  # unsupported entries never start


def test_default_max_concurrency_is_one_and_unsupported_are_reported(aws):
    _store, _sfn, arn = aws
    result = handler({}, None, env={"STATE_MACHINE_ARN": arn})
    assert len(result["executionArns"]) == 1
    reasons = Counter(s["reason"] for s in result["skipped"])
    unsupported = sum(not e.supported for e in load_valid_catalog().entries)
    assert reasons == {"unsupported": unsupported, "max-concurrency": len(SUPPORTED) - 1}


def test_two_scanners_never_start_the_same_run(aws):
    """The second scanner read the same due records, but its claims lose."""
    from mlcc_ci import clock
    from mlcc_ci.scheduling import claim_due, gather
    from mlcc_ci.selection import Policy, select

    store, _, _ = aws
    now = clock.now()
    plan_a = select(gather(store, now, Policy()), now, Policy())
    plan_b = select(gather(store, now, Policy()), now, Policy())
    won_a = claim_due(store, plan_a, now)
    won_b = claim_due(store, plan_b, now)
    assert len(won_a) == len(SUPPORTED) and won_b == []


def test_orphans_are_reaped_by_the_scanner(aws):
    from mlcc_ci.stores.base import claim

    store, _, arn = aws
    record = next(r for r in store.records() if r.configId in SUPPORTED)
    claim(store, record, "lost", "2026-01-01T00:00:00.000Z")
    result = handler({}, None, env={"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "1"})
    assert result["reaped"] == [record.configId]
    reaped = store.get(record.configId)
    assert reaped.testStatus == "fail-build" and reaped.errorMessage.startswith("reaped: run lost")
    assert len(result["executionArns"]) == 1  # the orphan no longer holds the only slot


def test_failed_start_gives_the_claim_back(aws):
    store, _, _ = aws
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nope"
    result = handler({}, None, env={"STATE_MACHINE_ARN": missing})
    assert result["executionArns"] == []
    assert not [r for r in store.records() if r.testStatus == "running"]


def _lambda_zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buf.getvalue()


def test_trigger_with_dynamodb_invokes_the_scanner_and_prints_its_answer(cli):
    from moto.awslambda_simple.models import lambda_simple_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    with mock_aws(config={"lambda": {"use_docker": False}}):
        assert cli("store", "create-tables", "--table", "mlcc-ci-table").exit_code == 0
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="scanner", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("lambda", region_name="us-east-1").create_function(
            FunctionName="mlcc-ci-scanner",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _lambda_zip()},
        )
        answer = {"executionArns": ["arn:aws:states:us-east-1:123456789012:execution:x:y"]}
        lambda_simple_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].lambda_simple_results_queue.append(
            json.dumps(answer)
        )
        result = cli("trigger", "--table", "mlcc-ci-table")
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Triggering CI scanner Lambda mlcc-ci-scanner\n")
        assert json.loads(result.output.split("Response:\n", 1)[1]) == answer
        gone = cli("trigger", "--table", "not-there")
        assert gone.output.startswith("Error: CI infrastructure not provisioned: table not-there")


def test_trigger_reaches_the_scanner_of_the_stack_whose_store_it_is(cli):
    """A stack under another prefix: `--table team-ci-table` is that stack's store (its run
    history team-ci-runs) and its scanner team-ci-scanner; a stack on the generator's table
    is named by the runs table of its `Store` output, never the generator's own scanner."""
    from moto.awslambda_simple.models import lambda_simple_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    with mock_aws(config={"lambda": {"use_docker": False}}):
        assert cli("store", "create-tables", "--table", "team-ci-table").exit_code == 0
        names = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
        assert sorted(names) == ["team-ci-runs", "team-ci-table"]
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="scanner", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        for function in ("team-ci-scanner", "mlcc-ci-scanner"):
            boto3.client("lambda", region_name="us-east-1").create_function(
                FunctionName=function,
                Runtime="python3.12",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": _lambda_zip()},
            )
        queue = lambda_simple_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].lambda_simple_results_queue
        queue.extend([json.dumps({"executionArns": []})] * 2)
        result = cli("trigger", "--table", "team-ci-table")
        assert result.output.startswith("Triggering CI scanner Lambda team-ci-scanner\n")
        # on the generator's table, as `-c table=mlcc-ci-table` deploys it
        assert cli("store", "create-tables", "--table", "mlcc-ci-table").exit_code == 0
        store = "dynamodb://mlcc-ci-table?region=us-east-1&runs_table=team-ci-runs"
        result = cli("trigger", "--store", store)
        assert result.output.startswith("Triggering CI scanner Lambda team-ci-scanner\n")


def _passed_just_now(store, entry, config_json):
    """`entry`'s record as an older catalog registered it, passed a minute ago."""
    from dataclasses import replace

    from mlcc_ci import clock
    from mlcc_ci.models import Outcome
    from mlcc_ci.stores.base import claim, finish

    store.register(replace(from_entry(entry), configJson=config_json), "2026-01-01T00:00:00Z")
    record = store.get(entry.config_id)
    running = claim(store, record, "earlier", clock.iso(clock.now(), ms=True))
    outcome = Outcome("pass", clock.iso(clock.now()), 60.0, {}, profile="default")
    return finish(store, running, outcome)


def test_an_edited_entry_is_registered_anew_and_started_at_once(aws, capsys):
    store, _, arn = aws
    entries = [e for e in load_valid_catalog().entries if e.supported]
    edited, untouched = entries[0], entries[1]
    _passed_just_now(store, edited, '{"an":"older entry"}')
    _passed_just_now(store, untouched, untouched.config_json)
    session, calls = counting_session()
    env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "50"}
    result = handler({}, None, env=env, session=session)
    assert calls["Scan"] == 0
    assert len(result["executionArns"]) == len(SUPPORTED) - 1  # the untouched one is fresh
    now = store.get(edited.config_id)
    assert now.testStatus == "running" and now.configJson == edited.config_json
    assert now.previousStatus == "untested" and now.lastPassTimestamp  # its result is kept
    assert store.get(untouched.config_id).testStatus == "pass"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    started = {e["configId"]: e["reason"] for e in logged if e["event"] == "started"}
    assert started[edited.config_id] == "changed"
    assert set(started.values()) == {"changed", "untested"}
    # once registered anew and run, nothing is changed any more
    assert handler({}, None, env=env)["executionArns"] == []


def test_the_scanner_reads_the_catalog_packaged_with_it(tmp_path, monkeypatch):
    from mlcc_ci.aws import scanner
    from mlcc_ci.registration import catalog_registrations

    catalog = load_valid_catalog()
    scanner.write_catalog(catalog, tmp_path / scanner.REGISTRATIONS_FILE)
    monkeypatch.setattr(scanner, "data_path", lambda name: tmp_path / name)
    packaged = scanner.deployed_catalog()
    assert packaged == catalog_registrations(catalog)
    assert set(packaged) == SUPPORTED
    (tmp_path / scanner.REGISTRATIONS_FILE).write_text("{}")
    assert scanner.deployed_catalog() == {}  # what was packaged, not the checkout's catalog
    # the price table for the spend cap is packaged beside it, as JSON
    from mlcc_ci.cost import prices_of

    assert scanner.deployed_prices() == prices_of(catalog.defaults)
    (tmp_path / scanner.PRICES_FILE).write_text('{"prices": {}}')
    assert scanner.deployed_prices().version == 0  # what was packaged


def test_the_scanner_claims_a_stale_record_of_every_finished_status(tmp_path, monkeypatch):
    """Records the catalog does not name (so only the status index can find them), one per
    finished status, last tested three days ago: the scanner starts every one."""
    from mlcc_ci.aws import scanner
    from tests.stores import FINISHED_STATUSES, finished_long_ago

    (tmp_path / scanner.REGISTRATIONS_FILE).write_text("{}")
    monkeypatch.setattr(scanner, "data_path", lambda name: tmp_path / name)
    statuses = list(FINISHED_STATUSES)
    with mock_aws(), dynamo_store() as store:
        ids = {finished_long_ago(store, s, n).configId for n, s in enumerate(statuses, 1)}
        arn = pass_state_machine(boto3.client("stepfunctions", region_name="us-east-1"))
        env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "50"}
        result = handler({}, None, env=env)
        assert len(result["executionArns"]) == len(statuses)
        assert {r.configId for r in store.records() if r.testStatus == "running"} == ids
        assert result["skipped"] == [] and result["unreadable"] == []


def _scheduled(at) -> dict:
    """The event EventBridge sends the scanner when its schedule fires for `at`."""
    from mlcc_ci import clock

    return {
        "version": "0",
        "id": "5f2c0b8e-0000-4000-8000-000000000000",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": clock.iso(at),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/mlcc-ci-scanner-schedule"],
        "detail": {},
    }


def _blocked_until(store, record, until, ran_at):
    """`record` after a run the infrastructure blocked (SageMaker had no capacity at
    deploy_test): back to its status, tried again after `until`."""
    from mlcc_ci import clock
    from mlcc_ci.models import Blocked, Failure, Outcome, StageResult, set_aside
    from mlcc_ci.stores.base import claim

    running = claim(store, record, f"blocked-{record.configId[:6]}", clock.iso(ran_at, ms=True))
    failure = Failure("capacity", "deploy_test", "sagemaker-capacity", "Unable to provision")
    outcome = Outcome(
        "fail-deploy_test",
        clock.iso(ran_at),
        60.0,
        {"deploy_test": StageResult("fail", errorSummary="Unable to provision")},
        failure=failure,
    )
    blocked = Blocked(
        "capacity", "deploy_test", clock.iso(ran_at), clock.iso(until), "sagemaker-capacity"
    )
    store.replace(
        set_aside(running, outcome, blocked),
        expect_version=running.version,
        expect_run_id=running.runId,
    )
    return store.get(record.configId)


def test_a_blocked_record_is_started_only_by_a_scan_after_its_retry_time(tmp_path, monkeypatch):
    """Blocked until T: the scheduled scan at T-1min skips it (saying why) and the one at
    T+1min starts it, as its status says: an untested catalog record, and a record whose
    stale pass only the status index finds. A scan invoked by hand, on the clock, skips it."""
    from datetime import timedelta

    from mlcc_ci import clock
    from mlcc_ci.aws import scanner
    from tests.stores import finished_long_ago

    (tmp_path / scanner.REGISTRATIONS_FILE).write_text("{}")
    monkeypatch.setattr(scanner, "data_path", lambda name: tmp_path / name)
    now = clock.now()
    until = now + timedelta(minutes=10)  # the rule's 600 s from a run that just ended
    with mock_aws(), dynamo_store() as store:
        entry = next(e for e in load_valid_catalog().entries if e.supported)
        store.register(from_entry(entry), clock.iso(now - timedelta(hours=1)))
        fresh = _blocked_until(store, store.get(entry.config_id), until, now)
        stale = _blocked_until(store, finished_long_ago(store, "pass", 7), until, now)
        assert (fresh.testStatus, fresh.blocked.retryAfter) == ("untested", clock.iso(until))
        assert (stale.testStatus, stale.blocked.cls) == ("pass", "capacity")
        blocked = {fresh.configId, stale.configId}
        arn = pass_state_machine(boto3.client("stepfunctions", region_name="us-east-1"))
        env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "50"}

        for event in ({}, _scheduled(until - timedelta(minutes=1))):
            before = handler(event, None, env=env)
            assert before["executionArns"] == []
            skipped = {s["configId"]: s for s in before["skipped"]}
            assert {skipped[c]["reason"] for c in blocked} == {"blocked"}
            detail = skipped[fresh.configId]["detail"]
            assert f"tried again after {clock.display(clock.iso(until))}" in detail
            assert {store.get(c).testStatus for c in blocked} == {"untested", "pass"}

        after = handler(_scheduled(until + timedelta(minutes=1)), None, env=env)
        assert len(after["executionArns"]) == 2
        for config_id in blocked:
            record = store.get(config_id)
            assert record.testStatus == "running"
            # claimed as of the scan: after the retry time
            assert record.runStartedAt.startswith(clock.iso(until + timedelta(minutes=1))[:19])
        started = [r.previousStatus for r in map(store.get, sorted(blocked))]
        assert sorted(started) == ["pass", "untested"]


def test_a_scan_runs_as_of_its_scheduled_time_never_before_its_clock():
    from datetime import timedelta

    from mlcc_ci import clock
    from mlcc_ci.aws.scanner import scan_time

    now = clock.parse("2026-11-30T10:00:00Z")
    later, earlier = now + timedelta(minutes=11), now - timedelta(hours=2)
    assert scan_time(_scheduled(later), now) == later
    # delivered late (Lambda retried it): the clock, never the past
    assert scan_time(_scheduled(earlier), now) == now
    # invoked by hand, or anything that is not EventBridge's scheduled event: the clock
    assert scan_time({}, now) == now
    assert scan_time({"time": clock.iso(later)}, now) == now
    assert scan_time({**_scheduled(later), "time": "soon"}, now) == now


# -- hard limits: concurrency slots and the daily spend cap (issue 29, item 5) ---------------

SLOTS = "mlcc-ci-slots"


def _slots_table(store) -> None:
    store.client.create_table(
        TableName=SLOTS,
        KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _slot_items(store) -> dict[str, dict]:
    items = store.client.scan(TableName=SLOTS, ConsistentRead=True)["Items"]
    return {i["slot"]["S"]: i for i in items}


def _held(store) -> dict[str, str]:
    """configId -> runId of every slot held."""
    return {
        i["configId"]["S"]: i["runId"]["S"]
        for k, i in _slot_items(store).items()
        if k.startswith("slot-")
    }


def _running(store) -> dict[str, str]:
    return {r.configId: r.runId for r in store.records() if r.testStatus == "running"}


@pytest.fixture
def lagging(monkeypatch):
    """The status index has not seen any claim yet: every scan counts no running record, so
    only the slots can keep MaxConcurrency."""
    from mlcc_ci.aws import scanner

    real = scanner.gather

    def gather(*args, **kwargs):
        return [r for r in real(*args, **kwargs) if r.testStatus != "running"]

    monkeypatch.setattr(scanner, "gather", gather)


def test_concurrent_scans_never_hold_more_slots_than_max_concurrency(aws, lagging):
    from concurrent.futures import ThreadPoolExecutor

    store, sfn, arn = aws
    _slots_table(store)
    env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "2", "SLOTS_TABLE_NAME": SLOTS}
    sessions = [boto3.session.Session(region_name="us-east-1") for _ in range(6)]
    together = threading.Barrier(len(sessions))

    def invoke(session):
        together.wait()
        return handler({}, None, env=env, session=session)

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        results = list(pool.map(invoke, sessions))
    results.append(handler({}, None, env=env))  # and one after, the index still lagging
    started = [a for r in results for a in r["executionArns"]]
    assert 1 <= len(started) <= 2
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == len(started)
    assert _held(store) == _running(store)  # each running claim holds one slot, no more
    assert set(_slot_items(store)) <= {"slot-0", "slot-1"}
    full = [s for s in results[-1]["skipped"] if s["reason"] == "max-concurrency"]
    assert any("all 2 slots held" in s["detail"] for s in full)


def test_a_slot_whose_run_finished_is_freed_at_the_next_scan(aws, lagging):
    from mlcc_ci import clock
    from mlcc_ci.models import Outcome
    from mlcc_ci.stores.base import finish

    store, _, arn = aws
    _slots_table(store)
    env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "1", "SLOTS_TABLE_NAME": SLOTS}
    assert len(handler({}, None, env=env)["executionArns"]) == 1
    (first,) = _running(store)
    assert handler({}, None, env=env)["executionArns"] == []  # its run holds the slot
    outcome = Outcome("pass", clock.iso(clock.now()), 60.0, {}, profile="default")
    finish(store, store.get(first), outcome)
    assert len(handler({}, None, env=env)["executionArns"]) == 1
    (second,) = _running(store)
    assert second != first
    assert _held(store) == {second: store.get(second).runId}


def test_an_expired_slot_is_taken(aws, lagging):
    import time

    from mlcc_ci import clock
    from mlcc_ci.stores.base import claim

    store, _, arn = aws
    _slots_table(store)
    # a run that died without a trace: its record still says running, its slot expired
    dead = claim(store, next(store.records()), "died", clock.iso(clock.now(), ms=True))
    store.client.put_item(
        TableName=SLOTS,
        Item={
            "slot": {"S": "slot-0"},
            "configId": {"S": dead.configId},
            "runId": {"S": "died"},
            "expiresAt": {"N": str(int(time.time()) - 60)},
        },
    )
    env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "1", "SLOTS_TABLE_NAME": SLOTS}
    result = handler({}, None, env=env)
    assert len(result["executionArns"]) == 1
    (held,) = _slot_items(store).values()
    assert held["runId"]["S"] != "died" and int(held["expiresAt"]["N"]) > time.time()


def test_a_live_slot_of_a_running_record_is_not_taken(aws, lagging):
    import time

    from mlcc_ci import clock
    from mlcc_ci.stores.base import claim

    store, _, arn = aws
    _slots_table(store)
    alive = claim(store, next(store.records()), "alive", clock.iso(clock.now(), ms=True))
    store.client.put_item(
        TableName=SLOTS,
        Item={
            "slot": {"S": "slot-0"},
            "configId": {"S": alive.configId},
            "runId": {"S": "alive"},
            "expiresAt": {"N": str(int(time.time()) + 3600)},
        },
    )
    env = {"STATE_MACHINE_ARN": arn, "MAX_CONCURRENCY": "1", "SLOTS_TABLE_NAME": SLOTS}
    assert handler({}, None, env=env)["executionArns"] == []
    assert _held(store) == {alive.configId: "alive"}


def _spent(store) -> tuple[float, int]:
    (item,) = [i for k, i in _slot_items(store).items() if k.startswith("spend-")]
    return float(item["dollars"]["N"]), int(item["expiresAt"]["N"])


def test_the_spend_cap_stops_claims_once_reached(aws):
    from datetime import UTC, datetime, timedelta

    from mlcc_ci.aws.scanner import deployed_prices, policy_from, worst_case
    from mlcc_ci.cost import money

    store, _, arn = aws
    _slots_table(store)
    env = {
        "STATE_MACHINE_ARN": arn,
        "MAX_CONCURRENCY": "2",
        "SLOTS_TABLE_NAME": SLOTS,
        "DAILY_SPEND_CAP": "100000",
    }
    assert len(handler({}, None, env=env)["executionArns"]) == 2
    prices, policy = deployed_prices(), policy_from(env)
    costs = [worst_case(store.get(c), prices, policy).usd for c in _running(store)]
    spent, expires = _spent(store)
    assert costs and None not in costs and spent == pytest.approx(sum(costs), abs=1e-4)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert expires == int((day + timedelta(days=3)).timestamp())  # two days after its day

    capped = {**env, "MAX_CONCURRENCY": "50", "DAILY_SPEND_CAP": f"{spent:.4f}"}
    result = handler({}, None, env=capped)
    assert result["executionArns"] == []
    refused = [s for s in result["skipped"] if s["reason"] == "spend-cap"]
    assert len(refused) == len(SUPPORTED) - 2
    assert f"{money(spent)} spent of the day's cap {money(spent)}" in refused[0]["detail"]
    assert _spent(store)[0] == pytest.approx(spent, abs=1e-4)  # the refusals added nothing
    assert len(_running(store)) == 2


def test_an_execution_that_fails_to_start_gives_back_slot_and_spend(aws):
    store, _, _ = aws
    _slots_table(store)
    env = {
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:nope",
        "MAX_CONCURRENCY": "3",
        "SLOTS_TABLE_NAME": SLOTS,
        "DAILY_SPEND_CAP": "100000",
    }
    result = handler({}, None, env=env)
    assert result["executionArns"] == []
    assert _running(store) == {} and _held(store) == {}
    assert _spent(store)[0] == pytest.approx(0.0, abs=1e-4)


def test_a_throttled_table_costs_the_scan_nothing(twin, monkeypatch):
    """DynamoDB throttles the status index twice and the slots table twice (the simulated
    account's faults): the store retries its own calls, the scanner's client for the slots
    asks again with backoff, and the scan starts its run all the same."""
    from mlcc_ci.stores.dynamodb import DynamoStore

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=twin.url)
    store = DynamoStore(client, table="t", runs_table="r", region="us-east-1")
    store.create_tables()
    client.create_table(
        TableName="slots",
        KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    entry = next(e for e in load_valid_catalog().entries if e.supported)
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    arn = pass_state_machine(boto3.client("stepfunctions", region_name="us-east-1"))
    twin.faults.add("throttle:Query", times=2)
    twin.faults.add("throttle:PutItem", times=2)  # the slot: the scan puts nothing else
    env = {
        "STATE_MACHINE_ARN": arn,
        "TABLE_NAME": "t",
        "RUNS_TABLE_NAME": "r",
        "SLOTS_TABLE_NAME": "slots",
    }
    result = handler({}, None, env=env)
    assert len(result["executionArns"]) == 1, result
    assert [r.times for r in twin.faults.rules] == [0, 0]
    throttled = [(c.action, c.status) for c in twin.calls if c.status == 400]
    assert throttled == [("Query", 400)] * 2 + [("PutItem", 400)] * 2
