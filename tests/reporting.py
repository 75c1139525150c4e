"""A store with history, built through the store's own API, for the report tests."""

import json
from dataclasses import replace

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Outcome, StageResult, run_of
from mlcc_ci.registration import from_entry
from mlcc_ci.report.configreport import ConfigReport
from mlcc_ci.stores.base import claim, finish

# Run, either would set window.__xss: the browser test checks that nothing did.
EVIL = (
    "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
    " | pipe ``` fence ```` breakout <b>x</b> & done"
)


def play(store, entry, statuses, day0=1, summary=EVIL, profile="default"):
    """Register `entry` and record one finished run per status, oldest first, under
    `profile`."""
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    record = store.get(entry.config_id)
    for i, status in enumerate(statuses):
        day = day0 + i
        running = claim(store, record, f"{entry.name}-{day}", f"2026-02-{day:02d}T00:00:00.000Z")
        stages = {"generate": StageResult("pass", 1.0)}
        if status != "pass":
            stage = status.removeprefix("fail-")
            stages[stage] = StageResult("fail", 2.0, "/logs/x.log", summary)
        outcome = Outcome(
            status=status,
            finishedAt=f"2026-02-{day:02d}T01:00:00Z",
            durationSeconds=3.0,
            stageResults=stages,
            errorMessage="" if status == "pass" else f"{status}: {summary}",
            profile=profile,
        )
        store.append_run(run_of(running, outcome))
        record = finish(store, running, outcome)
    return record


def scenario(store):
    """One configuration passed then failed, another failed then passed, the rest passed."""
    entries = [e for e in load_valid_catalog().entries if e.supported]
    play(store, entries[0], ["pass", "pass", "fail-build"])
    play(store, entries[1], ["fail-deploy_test", "pass"])
    for entry in entries[2:]:
        play(store, entry, ["pass"])
    return entries[0].name, entries[1].name


# Stage timings of a realistic run (seconds), so costs are what the price table makes them.
TIMINGS = {
    "generate": 20.0,
    "validate": 5.0,
    "build": 600.0,
    "deploy_test": 900.0,
    "register": 1.0,
    "teardown": 120.0,
}
SHARED_CAUSE = (
    "ERROR: failed to push 123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:{n}: "
    "denied: not authorized to perform ecr:InitiateLayerUpload at /tmp/work/{name}-{n}/do/push"
)


def run_through(store, entry, runs, day0=1):
    """Register `entry` and record finished runs, oldest first: each (status, error text).
    A failing run stops at its stage; teardown runs; every stage has a realistic time."""
    from mlcc_ci.cost import estimate, prices_of
    from mlcc_ci.models import Outcome

    catalog = load_valid_catalog()
    prices = prices_of(catalog.defaults)
    store.register(from_entry(entry), "2026-01-01T00:00:00Z")
    record = store.get(entry.config_id)
    for i, (status, error) in enumerate(runs):
        day = day0 + i
        running = claim(store, record, f"{entry.name}-{day}", f"2026-02-{day:02d}T00:00:00.000Z")
        failed = status.removeprefix("fail-") if status != "pass" else None
        stages, skipping = {}, False
        for stage, seconds in TIMINGS.items():
            if skipping and stage != "teardown":
                stages[stage] = StageResult("skip")
            elif stage == failed:
                text = error.format(name=entry.name, n=day)
                stages[stage] = StageResult(
                    "fail", seconds / 2, f"/work/{entry.name}/{stage}.log", text
                )
                skipping = True
            else:
                stages[stage] = StageResult("pass", seconds, f"/work/{entry.name}/{stage}.log")
        config = json.loads(entry.config_json)
        outcome = Outcome(
            status=status,
            finishedAt=f"2026-02-{day:02d}T01:00:00Z",
            durationSeconds=sum(s.durationSeconds for s in stages.values()),
            stageResults=stages,
            errorMessage="" if status == "pass" else f"{failed} failed: {error}",
            profile="default",
            estimatedCost=estimate(prices, config, stages, profile="default"),
        )
        store.append_run(run_of(running, outcome))
        record = finish(store, running, outcome)
    return record


def rich_scenario(store):
    """Every fact a report must carry: a regression, pass → fail → pass (fixed), a flaky
    configuration, one running (in deploy_test), two failing with one cause, the rest
    passing. Returns the names by role."""
    from mlcc_ci.models import progressed

    entries = [e for e in load_valid_catalog().entries if e.supported]
    roles = {
        "regressed": entries[0].name,
        "fixed": entries[1].name,
        "flaky": entries[2].name,
        "running": entries[3].name,
        "shared": (entries[4].name, entries[5].name),
    }
    ok = ("pass", "")
    run_through(store, entries[0], [ok, ok, ("fail-build", EVIL)])
    run_through(store, entries[1], [ok, ("fail-deploy_test", "endpoint never InService"), ok])
    flip = ("fail-deploy_test", "timed out after 1800 s")
    run_through(store, entries[2], [ok, flip, ok, flip, ok])
    done = run_through(store, entries[3], [ok])
    running = claim(store, done, "now-1", "2026-03-01T00:00:00.000Z")
    stages = {k: StageResult("pass", TIMINGS[k]) for k in ("generate", "validate", "build")}
    moved = progressed(running, "deploy_test", "2026-03-01T00:10:25.000Z", stages)
    store.replace(moved, expect_version=running.version, expect_run_id=running.runId)
    for entry in entries[4:6]:
        run_through(store, entry, [ok, ("fail-build", SHARED_CAUSE)])
    for entry in entries[6:]:
        run_through(store, entry, [ok])
    return roles


# -- failure classes: runs written as the runner writes them (record.update, retry._hand_on)

# A capture from a log that tries to run in every format (a team rule could capture this).
XSS_CAPTURE = "<script>window.__xss=3</script>"


def attempts(store, record, day, tries, *, blocked=None, run_id=None, summary=None):
    """One run of the claimed-or-not `record` on `day`, its attempts `tries` oldest first:
    each (status, Failure | None). Failed attempts but the last are handed on as the runner's
    retries are; the last one finishes the record (a product result), or sets it aside (a
    harness error, or `blocked`: a Blocked). A failed stage's error summary is `summary`, or
    its failure's capture. Returns the record as stored."""
    from mlcc_ci.models import reclaimed, set_aside

    run_id = run_id or f"{record.deploymentConfig}-{day}"
    running = claim(store, record, f"{run_id}a1", f"2026-02-{day:02d}T00:00:00.000Z")
    for n, (status, failure) in enumerate(tries, start=1):
        failed = failure.stage if failure is not None else None
        said = summary or (failure.capture if failure is not None else "")
        stages = {"generate": StageResult("pass", 10.0)}
        if failed and failed != "generate":
            stages[failed] = StageResult("fail", 20.0, f"/work/{failed}.log", said)
        elif failed:
            stages["generate"] = StageResult("fail", 1.0, errorSummary=said)
        stages["teardown"] = StageResult("pass", 5.0)
        outcome = Outcome(
            status=status,
            finishedAt=f"2026-02-{day:02d}T00:{10 * n:02d}:00Z",
            durationSeconds=35.0,
            stageResults=stages,
            errorMessage="" if status == "pass" else f"{failed} failed: {said}",
            failure=failure,
            attempt=n,
        )
        run = run_of(running, outcome)
        if n < len(tries):
            moved = reclaimed(
                running, f"{run_id}a{n + 1}", f"2026-02-{day:02d}T00:{10 * n:02d}:01.000Z", run
            )
            store.replace(moved, expect_version=running.version, expect_run_id=running.runId)
            store.append_run(run)
            running = moved
            continue
        if status == "error" or blocked is not None:
            new = set_aside(running, outcome, blocked)
            store.replace(new, expect_version=running.version, expect_run_id=running.runId)
        else:
            new = finish(store, running, outcome)
        store.append_run(run)
        return new
    raise AssertionError("no attempts")


def classes_scenario(store, names):
    """Five configurations, one of each kind the reports tell apart (`names` in this order):
    a product failure a rule named (regressed; its capture is XSS_CAPTURE), an unclassified
    one (its summary is EVIL), one blocked by capacity after its retries (it had passed), one
    that passed on a retry after AWS throttled it, and one whose last run was a harness
    error (it had passed). Plus a quota failure retried into a pass."""
    from mlcc_ci.models import Blocked, Failure

    catalog = load_valid_catalog()
    product, unclassified, blocked, throttled, errored = (catalog.get(n) for n in names)
    for entry in (product, unclassified, blocked, throttled, errored):
        store.register(from_entry(entry), "2026-01-01T00:00:00Z")

    def record(entry):
        return store.get(entry.config_id)

    ok = ("pass", None)
    attempts(store, record(product), 1, [ok])
    pip = Failure("product", "build", "pip-no-matching-distribution", XSS_CAPTURE)
    attempts(store, record(product), 2, [("fail-build", pip)])

    nothing = Failure("unclassified", "build")
    attempts(store, record(unclassified), 1, [("fail-build", nothing)], summary=EVIL)

    capacity = Failure(
        "capacity",
        "deploy_test",
        "sagemaker-capacity",
        "Unable to provision requested ML compute capacity",
    )
    attempts(store, record(blocked), 1, [ok])
    attempts(
        store,
        record(blocked),
        3,
        [("fail-deploy_test", capacity)] * 3,
        blocked=Blocked(
            "capacity",
            "deploy_test",
            since="2026-02-03T00:00:00.000Z",
            retryAfter="2026-02-03T01:30:00Z",
            rule="sagemaker-capacity",
            capture="Unable to provision requested ML compute capacity",
        ),
    )
    throttling = Failure("infra", "deploy_test", "aws-throttling", "CreateEndpoint")
    attempts(store, record(throttled), 2, [("fail-deploy_test", throttling), ok])
    quota = Failure("quota", "build", "codebuild-account-limit", "AccountLimitExceededException")
    attempts(store, record(throttled), 4, [("fail-build", quota), ok])
    attempts(store, record(errored), 1, [ok])
    internal = Failure("harness", "generate", "harness-internal-error", "KeyError")
    attempts(store, record(errored), 5, [("error", internal)])


def config_report(name: str = "a", status: str = "pass", **fields) -> ConfigReport:
    """One configuration's row of a report, tested once and passing unless `fields` say
    otherwise (its project is its name unless given)."""
    base = ConfigReport(
        name=name,
        status=status,
        project=name,
        configId=f"id-{name}",
        lastTest="2026-02-01T01:00:00Z",
        duration=3.0,
        stageResults={},
        errorMessage=None,
        lastPass=None,
        regression=None,
        fixed=False,
        flips=0,
        flaky=False,
        passRate=None,
        runs=1,
        stale=False,
        supportState="supported",
        supportReason=None,
        profile="default",
        recordCount=1,
    )
    return replace(base, **fields)
