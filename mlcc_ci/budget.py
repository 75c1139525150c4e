"""How long one run may take in AWS, derived from the catalog's stage timeouts. Pure.

Every limit around a run comes from here, so that they add up: the runner gets SIGTERM at
`run_seconds` (after every stage and teardown could have used its whole timeout), and
CodeBuild's timeout leaves room, after that signal, for teardown to use its whole timeout
again and for the result to be written. Step Functions waits for the build, queued or
running, and a record still `running` after that is an orphan.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# What the executor spends outside the stages, at most.
INSTALL_SECONDS = 600  # install phase: the package, Node.js, the pinned generator
UPDATE_SECONDS = 120  # writing the result and the history item
FINAL_SECONDS = 120  # post_build: recording a failure the run itself could not
QUEUED_MINUTES = 60  # a claimed build may wait this long for CodeBuild capacity
GRACE_MINUTES = 15  # after the last moment a run could still write, it is an orphan
CODEBUILD_MAX_MINUTES = 480  # CodeBuild refuses a longer build timeout

RUN_STAGES = ("generate", "validate", "build", "deploy_test", "register")


@dataclass(frozen=True)
class Budget:
    stages_seconds: int  # the longest entry's generate..register timeouts, summed
    teardown_seconds: int  # the longest teardown timeout

    @property
    def run_seconds(self) -> int:
        """When the runner is told to stop (SIGTERM): it then tears down and records."""
        return self.stages_seconds + self.teardown_seconds + UPDATE_SECONDS

    @property
    def build_minutes(self) -> int:
        """CodeBuild's timeout: install, the run, then a whole teardown after SIGTERM."""
        seconds = (
            INSTALL_SECONDS + self.run_seconds + self.teardown_seconds + UPDATE_SECONDS
        ) + FINAL_SECONDS
        return math.ceil(seconds / 60)

    @property
    def queued_minutes(self) -> int:
        return QUEUED_MINUTES

    @property
    def task_seconds(self) -> int:
        """The Step Functions task that starts the build and waits for it."""
        return (self.queued_minutes + self.build_minutes + 5) * 60

    @property
    def state_machine_minutes(self) -> int:
        """The whole execution: the task, then recording a failure."""
        return self.queued_minutes + self.build_minutes + 15

    @property
    def running_minutes(self) -> int:
        """The longest a claimed record can rightly stay `running` (queued, then built)."""
        return self.queued_minutes + self.build_minutes

    def problems(self) -> list[str]:
        if self.build_minutes > CODEBUILD_MAX_MINUTES:
            return [
                f"the stage timeouts add up to a {self.build_minutes}-minute build, more "
                f"than CodeBuild's {CODEBUILD_MAX_MINUTES}: shorten the longest entry's stages"
            ]
        return []


def budget_of(timeouts: Iterable[Mapping[str, float]]) -> Budget:
    """The budget that fits every entry, given each entry's timeout per stage."""
    stages, teardown = 0, 0
    for entry in timeouts:
        stages = max(stages, math.ceil(sum(entry.get(s, 0) for s in RUN_STAGES)))
        teardown = max(teardown, math.ceil(entry.get("teardown", 0)))
    return Budget(stages, teardown)


def for_catalog(catalog: "Any", profile_name: str = "default") -> Budget:
    """The budget of the runs the executor makes: `profile_name`'s stages, every supported
    entry of `catalog`."""
    from mlcc_ci.profiles import load_profile

    profile = load_profile(catalog, profile_name)
    return budget_of(
        {name: spec.timeout for name, spec in profile.stage_specs(entry).items()}
        for entry in catalog.entries
        if entry.supported
    )
