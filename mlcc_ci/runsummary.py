"""How `run` sums up its runs: each run's shown outcome, the counts line, the exit status."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def outcome_kind(outcome: Any) -> str:
    """pass, fail (the product's), blocked (the infrastructure's), error (the harness's) or
    interrupted."""
    if outcome.status in ("pass", "error", "interrupted"):
        return str(outcome.status)
    if outcome.blocked_by is not None:
        return "blocked"
    return "fail"


def shown_outcome(outcome: Any) -> str:
    """A run's status as the summary shows it: `fail-build [product]`, `blocked (capacity)
    at deploy_test`, `error`; with the attempt when it was retried."""
    kind = outcome_kind(outcome)
    failure = outcome.failure
    if kind == "blocked":
        text = f"blocked ({failure.cls}) at {failure.stage}"
    elif kind == "fail" and failure is not None:
        text = f"{outcome.status} [{failure.cls}]"
    else:
        text = str(outcome.status)
    return f"{text}, attempt {outcome.attempt}" if outcome.attempt > 1 else text


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    kinds: dict[str, int] = field(
        default_factory=lambda: {"blocked": 0, "error": 0, "interrupted": 0}
    )

    def counts(self) -> str:
        said = [f"{self.passed} passed", f"{self.failed} failed"]
        return ", ".join(said + [f"{n} {name}" for name, n in self.kinds.items() if n])

    @property
    def exit_status(self) -> int:
        """0 all passed, 1 some configuration failed or is blocked (or a run was stopped),
        3 only harness errors."""
        if self.failed or self.kinds["blocked"] or self.kinds["interrupted"]:
            return 1  # the matrix is not proven
        return 3 if self.kinds["error"] else 0  # only mlcc-ci itself failed


def tally(reports: Sequence[Any]) -> Tally:
    out = Tally(passed=sum(r.status == "pass" and r.stored for r in reports))
    for r in reports:
        # a result the store could not take is the harness's failure, whatever it was
        kind = outcome_kind(r.outcome) if r.stored else "error"
        if kind in out.kinds:
            out.kinds[kind] += 1
    out.failed = len(reports) - out.passed - sum(out.kinds.values())
    return out
