"""The parts of a result: what a run cost, how a failure is classified, what blocks a
configuration, and one stage's result. Plain values; models.py builds records of them."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Cost:
    """What a run cost, estimated from the catalog's price table: `usd` None is unknown
    (a price the table does not have), never 0; `basis` says how it was reached."""

    usd: float | None
    basis: str = ""

    def to_item(self) -> dict[str, Any]:
        return {"usd": self.usd, "basis": self.basis}


# Failure classes (failures.py owns the rules that give them). Not the configuration's: AWS,
# the network or the account failed us; they block a configuration rather than fail it ...
BLOCKING = ("infra", "capacity", "quota", "credentials")
# ... and, with mlcc-ci's own failures, say nothing about the product.
NOT_PRODUCT = (*BLOCKING, "harness")


@dataclass(frozen=True, slots=True)
class Failure:
    """How a failed run is classified: the class, the failed stage, and the rule (with its
    capture, the part failures are grouped by) that said so. `unclassified`: no rule
    matched; it counts against the product, since no one could show it was not."""

    cls: str
    stage: str
    rule: str = ""
    capture: str = ""
    # a failure `failures reclassify` put on the harness (an `error` now): the status it had
    # before, which it takes again once the rules no longer say so
    statusBefore: str = ""

    @property
    def product(self) -> bool:
        return self.cls not in NOT_PRODUCT

    @property
    def blocking(self) -> bool:
        return self.cls in BLOCKING

    def to_item(self) -> dict[str, Any]:
        item = {"class": self.cls, "stage": self.stage}
        if self.rule:
            item["rule"] = self.rule
        if self.capture:
            item["capture"] = self.capture
        if self.statusBefore:
            item["statusBefore"] = self.statusBefore
        return item


@dataclass(frozen=True, slots=True)
class Blocked:
    """A configuration the infrastructure keeps from being tested: since when, by what, and
    when the scanner may try again (`rounds`: how many runs in a row were blocked)."""

    cls: str
    stage: str
    since: str
    retryAfter: str
    rule: str = ""
    capture: str = ""
    rounds: int = 1
    notified: bool = False  # the platform team was told it has lasted a day

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "class": self.cls,
            "stage": self.stage,
            "since": self.since,
            "retryAfter": self.retryAfter,
            "rounds": self.rounds,
        }
        if self.rule:
            item["rule"] = self.rule
        if self.capture:
            item["capture"] = self.capture
        if self.notified:
            item["notified"] = True
        return item


@dataclass(frozen=True, slots=True)
class StageResult:
    status: str  # pass | fail | skip
    durationSeconds: float = 0.0
    logPointer: str = ""
    errorSummary: str = ""
    note: str = ""  # what a stage did not check, or why it was skipped

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"status": self.status, "durationSeconds": self.durationSeconds}
        if self.logPointer:
            item["logPointer"] = self.logPointer
        if self.errorSummary:
            item["errorSummary"] = self.errorSummary
        if self.note:
            item["note"] = self.note
        return item
