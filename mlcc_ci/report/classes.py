"""Failures by class for the report: the groups (class, then rule and capture; unclassified
ones by error signature), the infrastructure noise over the runs shown, and the way a
status is shown with its class. Pure: over the report model's configurations."""

from collections.abc import Sequence
from dataclasses import dataclass

from mlcc_ci.constants import ERROR, RUNNING
from mlcc_ci.failures import HARNESS, UNCLASSIFIED
from mlcc_ci.history import signature
from mlcc_ci.models import Blocked, Failure, Run
from mlcc_ci.report.configreport import ConfigReport
from mlcc_ci.resultparts import BLOCKING

# The order classes are listed in: what the product did first, mlcc-ci's own errors last.
CLASS_ORDER = ("product", UNCLASSIFIED, "capacity", "quota", "infra", "credentials", HARNESS)
THROTTLING_RULE = "aws-throttling"
# The noise summary's buckets: throttling is the infra rule `aws-throttling`, other infra
# the rest of its class.
NOISE_BUCKETS = ("capacity", "quota", "throttling", "infra", "credentials")
NOISE_LABELS = {"infra": "other infra"}
CLASS_TITLES = {
    "product": "the configuration's (a rule says so)",
    UNCLASSIFIED: "no rule matched: counted against the configuration",
    "capacity": "blocked by the infrastructure, not the configuration's",
    "quota": "blocked by the infrastructure, not the configuration's",
    "infra": "blocked by the infrastructure, not the configuration's",
    "credentials": "blocked by the infrastructure, not the configuration's",
    HARNESS: "mlcc-ci's own errors, not the configuration's",
}


@dataclass(frozen=True)
class FailureGroup:
    """Failures of one cause: one class, stage, rule and capture (unclassified ones: one
    error signature). `kind`: failure (the product's), blocked (the infrastructure's) or
    error (the harness's)."""

    stage: str
    signature: str
    sample: str  # one of the error summaries as it was (of a blocked or errored run: its capture)
    configurations: tuple[str, ...]
    cls: str = UNCLASSIFIED
    rule: str = ""
    capture: str = ""

    @property
    def kind(self) -> str:
        if self.cls in BLOCKING:
            return "blocked"
        return "error" if self.cls == HARNESS else "failure"

    @property
    def cause(self) -> str:
        """`rule: capture`, or '' for a group no rule made."""
        return f"{self.rule}: {self.capture}" if self.rule and self.capture else self.rule


def failure_class(c: ConfigReport) -> str | None:
    """The class of a failing configuration's last product failure (`unclassified` when its
    record has none: no rule matched, or it was recorded before failures were classified)."""
    if not c.failing:
        return None
    return c.failure.cls if c.failure is not None else UNCLASSIFIED


def shown_status(c: ConfigReport) -> str:
    """How people see a configuration's status: `blocked (capacity)`, `fail-build [product]`,
    or the status itself."""
    if c.blocked is not None and c.status != RUNNING:
        return f"blocked ({c.blocked.cls})"
    cls = failure_class(c)
    return f"{c.status} [{cls}]" if cls else c.status


def run_status(run: Run) -> str:
    """A run of the history as people see it: `fail-deploy_test [capacity]`, `error
    [harness]`, `pass`; `, attempt 2` for a retry."""
    text = run.status
    if run.failure is not None and run.status != "pass":
        text += f" [{run.failure.cls}]"
    elif run.status == ERROR:
        text += f" [{HARNESS}]"
    return f"{text}, attempt {run.attempt}" if run.attempt > 1 else text


def last_error(history: Sequence[Run]) -> Run | None:
    """The newest run when it is a harness error: mlcc-ci broke on the configuration's last
    try, which says nothing about the configuration."""
    return history[0] if history and history[0].status == ERROR else None


def _key(group: FailureGroup) -> tuple[int, int, str, str, str]:
    rank = CLASS_ORDER.index(group.cls) if group.cls in CLASS_ORDER else len(CLASS_ORDER)
    return (rank, -len(group.configurations), group.stage, group.rule, group.signature)


def failure_groups(configs: Sequence[ConfigReport]) -> list[FailureGroup]:
    """Every failing configuration's failed stage, every blocked configuration and every
    configuration whose last run was a harness error, grouped by class and then by rule and
    capture (unclassified failures by error signature); classes in CLASS_ORDER, the most
    widespread cause of a class first."""
    found: dict[tuple[str, str, str, str], list[tuple[str, str, Failure | None]]] = {}
    for c in configs:
        if c.failing:
            cls = failure_class(c)
            assert cls is not None
            failure = c.failure
            for stage, result in c.stageResults.items():
                if result.status != "fail":
                    continue
                if failure is not None and failure.rule and failure.stage == stage:
                    key = (cls, stage, failure.rule, failure.capture)
                else:  # no rule said what it was: grouped by what it said
                    names = (c.name, c.project or "")
                    key = (cls, stage, "", signature(result.errorSummary, names))
                found.setdefault(key, []).append((c.name, result.errorSummary, failure))
        if c.blocked is not None and c.status != RUNNING:  # running: it is being tried again
            b = c.blocked
            key = (b.cls, b.stage, b.rule, b.capture)
            found.setdefault(key, []).append((c.name, b.capture, _as_failure(b)))
        if c.lastError is not None:
            f = c.lastError.failure or Failure(HARNESS, _failed_stage(c.lastError))
            key = (HARNESS, f.stage, f.rule, f.capture)
            found.setdefault(key, []).append((c.name, f.capture, f))
    groups = []
    for (cls, stage, rule, text), hits in found.items():
        capture = text if rule else ""
        groups.append(
            FailureGroup(
                stage=stage,
                signature=text if not rule else f"{rule}: {capture}",
                sample=hits[0][1],
                configurations=tuple(name for name, _, _ in hits),
                cls=cls,
                rule=rule,
                capture=capture,
            )
        )
    return sorted(groups, key=_key)


def _as_failure(b: Blocked) -> Failure:
    return Failure(b.cls, b.stage, b.rule, b.capture)


def _failed_stage(run: Run) -> str:
    return next((s for s, r in run.stageResults.items() if r.status == "fail"), "-")


@dataclass(frozen=True)
class Noise:
    """Failures the infrastructure caused in the runs shown (every attempt, retries
    included), which count against no configuration; and mlcc-ci's own errors."""

    runs: int  # runs shown, of every configuration
    first: str | None  # when the oldest of them started
    last: str | None  # when the newest of them finished
    counts: dict[str, int]  # NOISE_BUCKETS -> failed runs
    retried: int  # of the failures counted, those that were a retry (attempt 2 and on)
    errors: int  # harness errors
    configurations: int  # that had any noise

    @property
    def failures(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        """`Infrastructure noise in the 12 runs shown (2026-02-01 to 2026-02-05): capacity 3,
        quota 1, throttling 2, other infra 0, credentials 1; 3 of the 7 on retried attempts;
        harness errors 1`."""
        if not self.runs:
            return "Infrastructure noise: no runs shown"
        span = f"{(self.first or '-')[:10]} to {(self.last or '-')[:10]}"
        counts = ", ".join(f"{NOISE_LABELS.get(b, b)} {self.counts[b]}" for b in NOISE_BUCKETS)
        return (
            f"Infrastructure noise in the {self.runs} run{'' if self.runs == 1 else 's'} "
            f"shown ({span}): {counts}; "
            f"{self.retried} of the {self.failures} on retried attempts; "
            f"harness errors {self.errors}"
        )

    def to_item(self) -> dict[str, object]:
        return {
            "runs": self.runs,
            "from": self.first,
            "to": self.last,
            **self.counts,
            "total": self.failures,
            "retried": self.retried,
            "harnessErrors": self.errors,
            "configurations": self.configurations,
        }


def noise(configs: Sequence[ConfigReport]) -> Noise:
    """The infrastructure's failures among every configuration's runs shown."""
    counts = dict.fromkeys(NOISE_BUCKETS, 0)
    runs = retried = errors = touched = 0
    first: str | None = None
    last: str | None = None
    for c in configs:
        history = c.history
        if not history:
            continue
        runs += len(history)
        oldest, newest = history[-1].startedAt, history[0].finishedAt
        first = oldest if first is None or oldest < first else first
        last = newest if last is None or newest > last else last
        hit = False
        for run in history:
            failure = run.failure
            if failure is None:
                if run.status == ERROR:
                    errors += 1
                    hit = True
                continue
            cls = failure.cls
            if cls in BLOCKING:
                bucket = "throttling" if failure.rule == THROTTLING_RULE else cls
                counts[bucket] += 1
                retried += run.attempt > 1
                hit = True
            elif cls == HARNESS or run.status == ERROR:
                errors += 1
                hit = True
        touched += hit
    return Noise(runs, first, last, counts, retried, errors, touched)
