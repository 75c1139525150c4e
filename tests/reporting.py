"""A store with history, built through the store's own API, for the report tests."""

import json

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Outcome, StageResult, run_of
from mlcc_ci.registration import from_entry
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
