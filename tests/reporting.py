"""A store with history, built through the store's own API, for the report tests."""

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Outcome, StageResult, run_of
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.base import claim, finish

EVIL = "<script>alert(1)</script> | pipe ``` fence ```` breakout <b>x</b> & done"


def play(store, entry, statuses, day0=1, summary=EVIL):
    """Register `entry` and record one finished run per status, oldest first."""
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
            profile="default",
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
