"""The scanner Lambda: select due configurations, claim each, start one execution per claim.

Environment: TABLE_NAME, RUNS_TABLE_NAME, STATE_MACHINE_ARN, MAX_CONCURRENCY (default 1),
STALE_HOURS (default 24), BUILD_TIMEOUT_MINUTES (how long a claimed run may take, queued
then built: the stack derives it from the catalog; default 90), ORPHAN_GRACE_MINUTES (15).
The same selection code as `mlcc-ci plan`; status-index queries only, never a Scan. The
catalog the stack was synthesized from is packaged beside it (REGISTRATIONS_FILE): a record
whose entry changed since its last run is registered anew and started at once. A record the
infrastructure blocked (capacity, quota, ...) is skipped until its `blocked.retryAfter` and
started by the first scan after it: the re-queue, with the rule's backoff, of a retry the
executor's build did not wait for.

A scheduled scan runs as of its EventBridge event's `time` (see `scan_time`).

The schedule (cadence.py): SCHEDULE `confidence` (default) or `daily` (the seed's, every
STALE_HOURS); under `confidence` a record whose newest product run ran another generator
than the catalog's pin (packaged with the prices) is due at once, and with IMAGE_DIGESTS=on
one whose base image's digest moved (looked up in its registry, once per scan; a failed
lookup is logged and blocks nothing). DAILY_BUDGET_USD (dollars; "0" or absent: none): the
day's expected spend (dailycap.py): the runs started today, at their estimated cost, and
what the scan starts, each at its expected price (the mean of its recent runs' costs, else
its worst case); what would pass it is skipped (`daily-budget`), said why.

Hard limits (slots.py): with SLOTS_TABLE_NAME, each due record takes a concurrency slot
before it is claimed, and none is claimed without one; the status index's count of running
records only ends a scan early. With DAILY_SPEND_CAP (dollars; "0" or absent: none), a
run's worst-case cost is added to the day's spend before its slot is taken, and a run that
would pass the cap is skipped (`spend-cap`). A lost claim, or an execution that fails to
start, gives back what it took.
"""

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from mlcc_ci import clock
from mlcc_ci.aws.slots import Slots, Spend
from mlcc_ci.budget import QUEUED_MINUTES
from mlcc_ci.cadence import CADENCES, CONFIDENCE, NO_INPUTS, Inputs
from mlcc_ci.constants import (
    BUILD_TIMEOUT_MINUTES,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_STALE_HOURS,
    HISTORY_DAYS,
    RUNNING,
    RUNS_TABLE_NAME,
    TABLE_NAME,
)
from mlcc_ci.cost import Prices, estimate, money, prices_of
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.models import Cost, Record, Registration, StageResult
from mlcc_ci.resources import data_path
from mlcc_ci.scheduling import Claimed, gather, new_run_id, reap, reregister
from mlcc_ci.selection import ORPHAN_GRACE_MINUTES, Decision, Policy, select
from mlcc_ci.stores.base import ResultsStore, claim, release

# The catalog's registrations, packaged in the Lambda's asset (it has no YAML reader).
REGISTRATIONS_FILE = "catalog-registrations.json"
# The catalog defaults' price table (and unbilled profiles), packaged beside them.
PRICES_FILE = "catalog-prices.json"
# The catalog's generator pin, packaged beside them.
GENERATOR_FILE = "catalog-generator.json"


def policy_from(env: Mapping[str, str]) -> Policy:
    return Policy(
        stale_after=timedelta(hours=float(env.get("STALE_HOURS", DEFAULT_STALE_HOURS))),
        max_concurrency=int(env.get("MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY)),
        build_timeout=timedelta(
            minutes=float(env.get("BUILD_TIMEOUT_MINUTES", BUILD_TIMEOUT_MINUTES))
        ),
        grace=timedelta(minutes=float(env.get("ORPHAN_GRACE_MINUTES", ORPHAN_GRACE_MINUTES))),
        # CloudFormation allows only these; anything else is the default's
        cadence=env["SCHEDULE"] if env.get("SCHEDULE") in CADENCES else CONFIDENCE,
        daily_budget_usd=float(env.get("DAILY_BUDGET_USD") or 0) or None,
    )


def expected_usd(record: Record, prices: Prices, policy: Policy) -> float | None:
    """What the next run of `record` should cost: the mean of its recent runs' estimated
    costs, or for one that never ran its worst case (None: a price the table lacks)."""
    known = [
        r.estimatedCost.usd
        for r in record.recentRuns
        if r.estimatedCost is not None and r.estimatedCost.usd is not None
    ]
    if known:
        return round(sum(known) / len(known), 4)
    return worst_case(record, prices, policy).usd


def inputs_from(env: Mapping[str, str], policy: Policy) -> Inputs:
    """What the scan compares and prices: the packaged pin, the registries' digests when
    IMAGE_DIGESTS is on, and the packaged price table (the executor's profile, `default`)."""
    from mlcc_ci.registry import Lookups

    prices = deployed_prices()
    version = deployed_generator_version()

    def price(record: Record) -> float | None:
        return expected_usd(record, prices, policy)

    if env.get("IMAGE_DIGESTS") != "on":
        return Inputs(generator_version=version, price=price, profile="default")
    lookups = Lookups()
    return Inputs(
        generator_version=version,
        digests=lookups,
        lookup_errors=lookups.errors,
        price=price,
        profile="default",
    )


def write_catalog(catalog: Any, path: Path) -> None:
    """Package `catalog` for the scanner: each supported entry's registration by configId."""
    from mlcc_ci.registration import catalog_registrations

    items = {k: asdict(v) for k, v in catalog_registrations(catalog).items()}
    path.write_text(json.dumps(items, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    # and what prices a run, for the daily spend cap, beside it
    defaults = catalog.defaults
    priced = {
        "prices": defaults.get("prices") or {},
        "profiles": {
            name: {"billed": spec.get("billed")}
            for name, spec in (defaults.get("profiles") or {}).items()
            if spec.get("billed") is False
        },
    }
    (path.parent / PRICES_FILE).write_text(
        json.dumps(priced, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    # and the generator the executor installs: the confidence schedule's pin
    pin = {"version": str((defaults.get("generator") or {}).get("version") or "")}
    (path.parent / GENERATOR_FILE).write_text(json.dumps(pin) + "\n", encoding="utf-8")


def deployed_prices() -> Prices:
    """The price table packaged with the scanner; without it, the checkout catalog's."""
    path = data_path(PRICES_FILE)
    if not path.is_file():
        from mlcc_ci.catalog import load_valid_catalog

        return prices_of(load_valid_catalog().defaults)
    return prices_of(json.loads(path.read_text(encoding="utf-8")))


def deployed_generator_version() -> str | None:
    """The generator version the catalog packaged with the scanner pins (the executor
    installs it); without the package, the checkout catalog's."""
    path = data_path(GENERATOR_FILE)
    if not path.is_file():
        from mlcc_ci.catalog import load_valid_catalog

        pin = load_valid_catalog().defaults.get("generator") or {}
    else:
        pin = json.loads(path.read_text(encoding="utf-8"))
    return str(pin.get("version") or "") or None


def worst_case(record: Record, prices: Prices, policy: Policy) -> Cost:
    """The most a run of `record` can cost: its build, its endpoint's instances and the
    executor, each for the whole build timeout (the time a claimed run may rightly take,
    less the time queued, which bills nothing)."""
    minutes = policy.build_timeout.total_seconds() / 60
    seconds = (minutes - QUEUED_MINUTES if minutes > QUEUED_MINUTES else minutes) * 60
    try:
        config = json.loads(record.configJson)
    except ValueError:
        config = {}
    stages = {s: StageResult("pass", seconds) for s in ("build", "deploy_test")}
    return estimate(
        prices,
        config if isinstance(config, dict) else {},
        stages,
        profile="default",  # the executor's
        run_seconds=seconds,
        in_executor=True,
    )


def deployed_catalog() -> dict[str, Registration]:
    """The registrations packaged with the scanner; without them (a checkout, an installed
    package) the catalog's own, as `mlcc-ci plan` sees it."""
    path = data_path(REGISTRATIONS_FILE)
    if not path.is_file():
        from mlcc_ci.catalog import load_valid_catalog
        from mlcc_ci.registration import catalog_registrations

        return catalog_registrations(load_valid_catalog())
    items = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): Registration(**v) for k, v in items.items()}


def scan_time(event: Mapping[str, Any], now: datetime) -> datetime:
    """When the scan happens. EventBridge stamps a scheduled event with the `time` it fired
    for; the scan runs as of it, or as of the clock `now` when that is later: a delivery
    retried late never looks into the past (where runs claimed since would seem to start in
    the future). Invoked any other way (`mlcc-ci trigger`, the console): the clock."""
    if event.get("source") != "aws.events" or event.get("detail-type") != "Scheduled Event":
        return now
    try:
        stamped = clock.parse(str(event.get("time", "")))
    except ValueError:
        return now
    return max(stamped, now)


def _log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str))


@dataclass
class Limits:
    """The hard limits a scan keeps: slots (None: none, the index count only) and the
    day's spend (None: no cap), priced by `prices`."""

    slots: Slots | None = None
    spend: Spend | None = None
    prices: Prices | None = None


def limits_from(env: Mapping[str, str], client: Any, policy: Policy, now: datetime) -> Limits:
    table = env.get("SLOTS_TABLE_NAME", "")
    if not table:
        return Limits()
    slots = None
    if policy.max_concurrency is not None:  # None: no limit (mlcc-ci plan's default)
        slots = Slots(
            client,
            table=table,
            records_table=env.get("TABLE_NAME", TABLE_NAME),
            size=policy.max_concurrency,
            hold=policy.build_timeout + policy.grace,
            now=now,
        )
    cap = float(env.get("DAILY_SPEND_CAP") or 0)
    if cap <= 0:
        return Limits(slots)
    return Limits(slots, Spend(client, table=table, cap=cap, now=now), deployed_prices())


def scan(
    store: ResultsStore,
    stepfunctions: Any,
    state_machine_arn: str,
    policy: Policy,
    now: datetime,
    catalog: Mapping[str, Registration] | None = None,
    limits: Limits | None = None,
    inputs: Inputs = NO_INPUTS,
) -> dict[str, Any]:
    store.unreadable.clear()
    limits = limits or Limits()
    catalog = catalog or {}
    plan = select(gather(store, now, policy, catalog), now, policy, catalog, inputs=inputs)
    for image, why in inputs.lookup_errors.items():
        _log("digest-not-looked-up", image=image, error=why)
    if plan.budget is not None:
        _log("daily-budget", **plan.budget.to_json())
    reaped = reap(store, plan, now, policy)
    for record in reaped:
        _log("reaped", configId=record.configId, message=record.errorMessage)
    plan = reregister(store, plan, catalog, now)
    if limits.slots is not None:
        for held in limits.slots.free_finished():
            _log("slot-freed", slot=held.slot, configId=held.configId, runId=held.runId)
    arns = []
    started, skipped = _claim_within(store, plan.due, policy, now, limits)
    for item, taken in started:
        record = item.record
        payload = {
            # what the state machine uses, nothing more: the executor reads the record
            "configId": record.configId,
            "buildStrategy": record.buildStrategy,
            "runId": record.runId,
            # for the history item the state machine writes if the build dies: it expires
            # like every other one
            "expiresAt": str(int((now + timedelta(days=HISTORY_DAYS)).timestamp())),
        }
        try:
            response = stepfunctions.start_execution(
                stateMachineArn=state_machine_arn,
                name=f"{record.configId}-{record.runId}",
                input=json.dumps(payload),
            )
        except Exception as exc:
            _release(store, record)
            taken.give_back()
            _log("start-failed", configId=record.configId, error=str(exc)[:300])
            continue
        arns.append(response["executionArn"])
        _log(
            "started",
            configId=record.configId,
            reason=item.reason,
            slot=taken.slot,
            executionArn=response["executionArn"],
        )
    return {
        "executionArns": arns,
        "reaped": [r.configId for r in reaped],
        "skipped": [
            {
                "configId": d.record.configId,
                "name": d.record.deploymentConfig,
                "reason": d.reason,
                "detail": d.detail,  # e.g. blocked: by what, and after when it is tried again
            }
            for d in [*plan.skipped, *skipped]
            if d.reason != "fresh"
        ],
        # one record no one can read (or claim) never stops the scan: it is named here
        "unreadable": [{"configId": k, "reason": v} for k, v in store.unreadable.items()],
    }


@dataclass
class Taken:
    """What a claim holds: its slot (if slots are kept) and what it added to the day."""

    limits: Limits
    run_id: str
    slot: str | None = None
    dollars: float = 0.0

    def give_back(self) -> None:
        if self.slot is not None and self.limits.slots is not None:
            self.limits.slots.give_back(self.slot, self.run_id)
        if self.dollars and self.limits.spend is not None:
            self.limits.spend.refund(self.dollars)


def _claim_within(
    store: ResultsStore, due: list[Decision], policy: Policy, now: datetime, limits: Limits
) -> tuple[list[tuple[Claimed, Taken]], list[Decision]]:
    """Claim each due record that gets the day's spend and a slot: (claimed, skipped)."""
    ours: list[tuple[Claimed, Taken]] = []
    skipped: list[Decision] = []
    full = ""
    for decision in due:
        record = decision.record
        if full:
            skipped.append(Decision(record, "max-concurrency", f"{decision.reason}; {full}"))
            continue
        taken = Taken(limits, new_run_id())
        if limits.spend is not None:
            refused = _charge(limits, record, policy, taken)
            if refused:
                skipped.append(Decision(record, "spend-cap", f"{decision.reason}; {refused}"))
                continue
        if limits.slots is not None:
            taken.slot = limits.slots.take(record.configId, taken.run_id, record.version)
            if taken.slot is None:
                taken.give_back()
                full = f"all {limits.slots.size} slots held (MaxConcurrency)"
                skipped.append(Decision(record, "max-concurrency", f"{decision.reason}; {full}"))
                continue
        try:
            running = claim(store, record, taken.run_id, clock.iso(now, ms=True))
        except ConflictError:
            taken.give_back()  # another scan claimed it first: not ours to run
            continue
        except StoreError as exc:
            taken.give_back()
            store.unreadable[record.configId] = f"cannot be claimed: {exc}"
            continue
        ours.append((Claimed(running, decision.reason), taken))
    return ours, skipped


def _charge(limits: Limits, record: Record, policy: Policy, taken: Taken) -> str:
    """Add `record`'s worst-case cost to the day's spend: "" if it fits, else why not."""
    assert limits.spend is not None and limits.prices is not None
    cost = worst_case(record, limits.prices, policy)
    cap = f"the day's cap {money(limits.spend.cap)} (UTC {limits.spend.day})"
    if cost.usd is None:
        return f"its cost is unknown ({cost.basis}), and {cap} needs one"
    if not limits.spend.charge(cost.usd):
        spent = money(limits.spend.spent())
        return f"{spent} spent of {cap}; this run may cost up to {money(cost.usd)}"
    taken.dollars = cost.usd
    return ""


def _release(store: ResultsStore, record: Any) -> None:
    """The execution did not start: give the claim back so the next scan retries."""
    if record.testStatus != RUNNING:
        return
    with contextlib.suppress(ConflictError):
        release(store, record)


def retrying_client(session: Any, region: str) -> Any:
    """A DynamoDB client for the slots and the day's spend, which it calls directly: a
    throttled or briefly unavailable table is asked again with botocore's backoff (standard
    mode; a failed condition is an answer, never retried). One throttle must not cost the
    scan, whose next chance is an hour away."""
    from botocore.config import Config

    return session.client(
        "dynamodb",
        region_name=region,
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 5},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def lambda_context(
    env: Mapping[str, str] | None, session: Any
) -> tuple[Mapping[str, str], Any, Any]:
    """What a Lambda of the stack works with: its environment, a boto3 session, and the
    results store (TABLE_NAME, RUNS_TABLE_NAME)."""
    import boto3
    from botocore.config import Config

    from mlcc_ci.stores.dynamodb import DynamoStore

    env = os.environ if env is None else env
    session = session or boto3.session.Session()
    region = session.region_name or env.get("AWS_REGION", "us-east-1")
    # the store retries throttling itself, with backoff (stores/dynamodb.py)
    client = session.client(
        "dynamodb", region_name=region, config=Config(retries={"total_max_attempts": 1})
    )
    store = DynamoStore(
        client,
        table=env.get("TABLE_NAME", TABLE_NAME),
        runs_table=env.get("RUNS_TABLE_NAME", RUNS_TABLE_NAME),
        region=region,
    )
    return env, session, store


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    env: Mapping[str, str] | None = None,
    session: Any = None,
) -> dict[str, Any]:
    """Lambda entry point: `event` is the schedule's (or `{}` when invoked by hand)."""
    env, session, store = lambda_context(env, session)
    stepfunctions = session.client("stepfunctions", region_name=store.region)
    now = scan_time(event or {}, clock.now())
    policy = policy_from(env)
    result = scan(
        store,
        stepfunctions,
        env["STATE_MACHINE_ARN"],
        policy,
        now,
        deployed_catalog(),
        limits_from(env, retrying_client(session, store.region), policy, now),
        inputs_from(env, policy),
    )
    _log(
        "scan-done",
        at=clock.iso(now),
        started=len(result["executionArns"]),
        dynamodbRequests=store.requests,
    )
    return result
