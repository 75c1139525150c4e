"""One configuration as a report shows it: its row of the report model (model.py builds it),
which every format and the failure classes (classes.py) read. Pure."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mlcc_ci.constants import PASS, UNTESTED
from mlcc_ci.cost import Total, total
from mlcc_ci.history import Regression
from mlcc_ci.models import Blocked, Cost, Failure, Run, StageResult
from mlcc_ci.quarantine import Quarantine
from mlcc_ci.report.identities import EarlierIdentity
from mlcc_ci.suspects import Suspect


@dataclass(frozen=True)
class ConfigReport:
    name: str
    status: str  # a record status, or "unsupported" / "unregistered"
    project: str | None
    configId: str | None
    lastTest: str | None
    duration: float | None
    stageResults: Mapping[str, StageResult]
    errorMessage: str | None
    lastPass: str | None
    regression: Regression | None
    fixed: bool
    flips: int
    flaky: bool
    passRate: float | None
    runs: int
    stale: bool
    supportState: str
    supportReason: str | None
    profile: str | None
    recordCount: int
    history: Sequence[Run] = ()  # newest first, at most HISTORY_SHOWN
    owner: str = "-"
    architecture: str = "-"
    region: str = "-"
    instanceType: str = "-"
    lastCost: Cost | None = None  # of the last run
    runCosts: Sequence[Cost] = ()  # one per run in `history`
    monthlyCost: float | None = None  # at the current schedule; None: unknown or not scheduled
    runStartedAt: str | None = None  # while running
    currentStage: str | None = None
    currentStageStartedAt: str | None = None
    runStages: Mapping[str, StageResult] = field(default_factory=dict)
    failure: Failure | None = None  # of the last product failure, while failing
    blocked: Blocked | None = None  # the infrastructure blocked the last runs
    lastError: Run | None = None  # the last run, when it was a harness error
    # the identities the entry had before its configuration changed (identities.py)
    earlier: Sequence[EarlierIdentity] = ()
    # in force: its failures stay out of the verdict and the regression flags
    quarantine: Quarantine | None = None
    # the catalog registered it and no longer has it: shown, counted nowhere
    removed: bool = False
    # its block has lasted more than suspect-rounds rounds: the rule may hide a failure
    suspect: Suspect | None = None
    # when the schedule in force makes it due again (a finished one; `stale` once it passed)
    nextDue: str | None = None

    @property
    def cost_total(self) -> Total:
        return total(self.runCosts)

    @property
    def tested(self) -> bool:
        return (
            self.lastTest is not None
            and self.status not in (UNTESTED, "unregistered")
            and not self.removed
        )

    @property
    def passing(self) -> bool:
        """It passed and nothing blocks it: a block proves nothing, so it never passes."""
        return self.status == PASS and not self.removed and not self.unproven

    @property
    def unproven(self) -> bool:
        """Its last product result passed, and the infrastructure has blocked it since."""
        return self.status == PASS and self.blocked is not None and not self.removed

    @property
    def failing(self) -> bool:
        return self.status.startswith("fail-") and not self.removed

    @property
    def counts(self) -> bool:
        """Its failure counts in the verdict: failing, neither quarantined nor removed."""
        return self.failing and self.quarantine is None
