"""How often a finished configuration is tested again, and what makes it due at once. Pure.

Two cadences (`Policy.cadence`, the `schedule` setting):

  daily       the seed's: every finished result is due again `stale_after` (24 h) after its
              last test, whatever changed or did not.
  confidence  the default. Change first, then uncertainty:

  - **Change first.** Due at once ("changed") when what the configuration is generated from
    is not what its newest product run (confidence.py: a pass, or a failure of the product)
    ran with: the pinned generator's version (`Inputs.generator_version` against the run's
    `generatorVersion`), or the base image's digest (`Inputs.digests[record.baseImage]`
    against the digest the run recorded, its `provenImage` being `NAME:TAG@sha256:...` when
    image lookups were on as it ran). A run that did not record one is never compared (a
    failure before register records no generator, and it is retested daily anyway), nor a
    run of another profile than the one selecting (`Inputs.profile`). Its own catalog
    entry's change is selection.changed, in both cadences.
  - **Then uncertainty.** Otherwise a result is due again `every()` after its last test:
    `stale_after` times a multiple from 1 to LONGEST (3.5) that grows with the confidence,
    the Wilson lower bound (confidence.wilson_lower) of the product runs in confidence's
    window (the newest 20, none older than 90 days):

        multiple = 1 + (LONGEST - 1) * clamp((lower - LOW) / (HIGH - LOW), 0, 1)

    with LOW 0.5 and HIGH 0.8; and 1 when there is none, and when the newest is the first
    pass after a failure or the first run with its generator and image (`since_change`): the
    next test is a day later, then the curve again. With the default 24 h: 1 day for a new or
    unknown configuration (up to 3 passes: lower 0.21 to 0.44), 1.1 days after 4 passes in a
    row (0.51), 1.6 after 5, 1.9 after 6, 2.9 after 10 (0.72), 3.1 after 12, and 3.5 from 15
    (0.80) on; a failure among 20 keeps it at 3.2. The cap is what a breakage with no visible
    change (a model gone from the hub) waits at most; the money is saved on what follows.
  - **A failure that repeats proves nothing new.** When the newest product run failed, the
    interval is 1 day, doubling with each product run before it that failed the same way
    (stage and rule: `failing`) with the same generator and image: 1, 2, 4, then
    FAILING_LONGEST (7) days. A change (generator, image digest, catalog entry) makes it due
    at once, as any; it is the usual way a failure gets fixed.
  - **The cheapest that prove the most first.** Among stale results (after untested, new,
    changed, blocked and regressed, as before), the highest `worth` first: what a run may
    still prove (1 - lower) per expected dollar (`Inputs.price`, at least MIN_PRICE); one
    whose price is unknown comes last.

The interval is fixed when the record was last tested: the confidence is assessed as of its
`lastTestTimestamp`, so `plan`, the scanner and `next_due` agree on when it falls due.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlcc_ci import clock
from mlcc_ci.confidence import in_window, wilson_lower
from mlcc_ci.models import Record, Run

CONFIDENCE, DAILY = "confidence", "daily"
CADENCES = (CONFIDENCE, DAILY)
LONGEST = 3.5  # the longest interval of a passing result, in multiples of stale_after
FAILING_LONGEST = 7  # the longest of one that keeps failing the same way
LOW, HIGH = 0.5, 0.8  # the Wilson lower bounds where the interval starts and stops growing
MIN_PRICE = 0.01  # dollars: a free run (an unbilled profile) is worth its proof, not infinity
DIGEST_MARK = "@sha256:"


@dataclass(frozen=True)
class Inputs:
    """What a selection knows of the world beyond the store: all optional, none needed.

    generator_version: the version of the generator the harness runs now (the catalog's pin,
      for a profile that runs it); None: no comparison.
    digests: base image (`NAME:TAG`, as a record's baseImage) -> its digest now
      (`sha256:...`), looked up (registry.py) or, in a simulation, given.
    lookup_errors: base image -> why its lookup failed: said in the plan, never blocks.
    price: the expected dollars of a record's next run (None: unknown); None: not priced
      (no budget can be kept, every run is worth the same dollar).
    spent_today: dollars the runs started today (UTC) cost; None: counted from the records'
      runs (dailycap.spent_today).
    profile: the run profile the comparisons are for: a run of another profile (another
      generator: the example profile's is its own) is never compared; None: any.
    """

    generator_version: str | None = None
    digests: Mapping[str, str] = field(default_factory=dict)
    lookup_errors: Mapping[str, str] = field(default_factory=dict)
    price: Callable[[Record], float | None] | None = None
    spent_today: float | None = None
    profile: str | None = None


NO_INPUTS = Inputs()


def since_change(runs: Sequence[Run]) -> list[Run]:
    """The product runs of `runs` (newest first) that ran with what the newest product run
    ran with (generator version and base image), up to the first that did not."""
    product = [r for r in runs if r.product]
    if not product:
        return []
    ran = (product[0].generatorVersion, product[0].provenImage)
    kept = []
    for run in product:
        if (run.generatorVersion, run.provenImage) != ran:
            break
        kept.append(run)
    return kept


def _how(run: Run) -> tuple[str, ...]:
    """How a product run failed: its stage and rule (its status when unclassified)."""
    return (run.failure.stage, run.failure.rule) if run.failure else (run.status,)


def failing(runs: Sequence[Run]) -> list[Run]:
    """The newest product runs of `runs` (newest first) that failed the way the newest did,
    with what it ran with (since_change), up to the first that did not (a pass, another
    failure); none when the newest passed."""
    kept: list[Run] = []
    for run in since_change(runs):
        if run.passed or (kept and _how(run) != _how(kept[0])):
            break
        kept.append(run)
    return kept


@dataclass(frozen=True)
class Interval:
    every: timedelta
    lower: float  # the Wilson lower bound of the product runs in the window
    runs: int  # product runs in confidence's window
    passes: int

    @property
    def text(self) -> str:
        """`every 2.9d: confidence 0.72, 10 of 10 passed`."""
        days = self.every.total_seconds() / 86400
        every = f"{days:.1f}d" if days >= 1 else f"{self.every.total_seconds() / 3600:.1f}h"
        if not self.runs:
            return f"every {every}: no product run"
        return f"every {every}: confidence {self.lower:.2f}, {self.passes} of {self.runs} passed"


def multiple(lower: float) -> float:
    """The interval in multiples of stale_after for a Wilson lower bound (the curve above)."""
    share = min(max((lower - LOW) / (HIGH - LOW), 0.0), 1.0)
    return 1 + (LONGEST - 1) * share


def interval(record: Record, base: timedelta) -> Interval:
    """When `record` is due again after its last test, under the confidence cadence."""
    counted = in_window(record.recentRuns, _tested(record))
    passes = sum(r.passed for r in counted)
    lower = round(wilson_lower(passes, len(counted)), 3)  # as confidence.assess rounds it
    # the first pass after a change or after a failure: tested again a day later
    settling = len(counted) > 1 and (len(since_change(counted)) == 1 or not counted[1].passed)
    if counted and not counted[0].passed:
        # failing the same way again proves nothing new: 1, 2, 4, then 7 days
        again = 2 ** (len(failing(counted)) - 1)
        return Interval(base * min(again, FAILING_LONGEST), lower, len(counted), passes)
    if not counted or settling:
        return Interval(base, lower, len(counted), passes)
    return Interval(base * multiple(lower), lower, len(counted), passes)


class Intervals:
    """Each record's interval, worked out once for one selection: kept by the record
    object, which is held here as long as its answer is."""

    def __init__(self, base: timedelta) -> None:
        self.base = base
        self._known: dict[int, tuple[Record, Interval]] = {}

    def of(self, record: Record) -> Interval:
        known = self._known.get(id(record))
        if known is None or known[0] is not record:
            known = (record, interval(record, self.base))
            self._known[id(record)] = known
        return known[1]


def every(
    record: Record, base: timedelta, cadence: str, known: Intervals | None = None
) -> timedelta:
    """How long after its last test `record` is due again (`known`: the selection's)."""
    if cadence == DAILY:
        return base
    return (known or Intervals(base)).of(record).every


def _tested(record: Record) -> datetime:
    try:
        return clock.parse(record.lastTestTimestamp)
    except ValueError:
        return clock.parse("1970-01-01T00:00:00Z")


def digest_ran(record: Record, run: Run) -> str | None:
    """The digest of the record's base image that `run` recorded (`sha256:...`), or None:
    no lookup then, another image, or one the Dockerfile pinned by digest alone."""
    image = record.baseImage or ""
    if not image or "@" in image or not run.provenImage.startswith(image + DIGEST_MARK):
        return None
    return run.provenImage[len(image) + 1 :]


def newest_product(record: Record) -> Run | None:
    return next((r for r in record.recentRuns if r.product), None)


def to_look_up(records: Iterable[Record]) -> set[str]:
    """The base images whose digest now a change check needs: those a record's newest
    product run recorded a digest of."""
    found = set()
    for record in records:
        run = newest_product(record)
        if run is not None and record.baseImage and digest_ran(record, run) is not None:
            found.add(record.baseImage)
    return found


def short(digest: str) -> str:
    """`sha256:0123456789ab`: enough of a digest to tell two apart."""
    return digest[: len("sha256:") + 12]


def what_changed(record: Record, inputs: Inputs) -> str | None:
    """What `record` is generated from now that its newest product run did not run with,
    said for the plan; None when nothing did (or nothing can be told)."""
    run = newest_product(record)
    if run is None or (inputs.profile is not None and run.profile != inputs.profile):
        return None
    since = f"since its last run ({run.status}, {clock.display(run.startedAt)})"
    now = inputs.generator_version
    if now and run.generatorVersion and run.generatorVersion != now:
        return f"generator {run.generatorVersion} -> {now} {since}"
    ran = digest_ran(record, run)
    current = inputs.digests.get(record.baseImage or "")
    if ran is not None and current and current != ran:
        return f"base image {record.baseImage} {short(ran)} -> {short(current)} {since}"
    return None


def unlooked(record: Record, inputs: Inputs) -> str:
    """`; base image digest not looked up (why): scheduled as if unchanged`, or ""."""
    image = record.baseImage or ""
    why = inputs.lookup_errors.get(image)
    run = newest_product(record)
    if why is None or run is None or digest_ran(record, run) is None:
        return ""
    return f"; digest of {image} not looked up ({why}): scheduled as if unchanged"


def worth(record: Record, inputs: Inputs, known: Intervals | None = None) -> float:
    """What a run of `record` may still prove per expected dollar: (1 - lower) / price; -1
    when its price is unknown (last); 1 - lower when nothing is priced."""
    lower = (known or Intervals(timedelta(hours=24))).of(record).lower
    if inputs.price is None:
        return 1 - lower
    price = inputs.price(record)
    if price is None:
        return -1.0
    return (1 - lower) / max(price, MIN_PRICE)
