"""Fault injection, for tests and drills: MLCC_CI_FAULT makes a stage fail, hang, crash,
run late or meet SageMaker without capacity, as a real one would."""

from collections.abc import Mapping

from mlcc_ci.lifecycle.context import RUN_STAGES

FAULT_ENV = "MLCC_CI_FAULT"
FAULT_COMMANDS = {
    "fail": "echo 'mlcc-ci: injected failure' >&2; exit 1",
    "hang": "echo 'mlcc-ci: injected hang' >&2; sleep 86400",
    # SageMaker's own words when a region has no free instance of the type asked for
    "capacity": (
        "echo 'An error occurred (CapacityError) when calling the CreateEndpoint operation: "
        "Unable to provision requested ML compute capacity. Please retry using a different "
        "ML instance type.' >&2; exit 1"
    ),
}


FAULT_MODES = ("fail", "hang", "crash", "slow", "capacity")

Injected = Mapping[tuple[str, str], tuple[str, int]]


def faults(env: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, int]]:
    """MLCC_CI_FAULT=NAME:STAGE:MODE[:N][,...]; NAME may be '*'; MODE is fail, hang, crash,
    slow (three seconds, then the stage's own command) or capacity (SageMaker has no
    instance); N: only the first N attempts of the run (a retry then meets the stage as it
    is). A misspelled item is a ValueError: a fault test that silently injects nothing would
    pass for the wrong reason."""
    found = {}
    for item in filter(None, (i.strip() for i in env.get(FAULT_ENV, "").split(","))):
        parts = item.split(":")
        if len(parts) == 4 and parts[3].isdigit() and int(parts[3]) > 0:
            times = int(parts.pop())
        elif len(parts) == 3:
            times = 0  # every attempt
        else:
            raise ValueError(f"{FAULT_ENV} item {item!r} is not NAME:STAGE:MODE[:N]")
        name, stage, mode = parts
        if stage not in (*RUN_STAGES, "teardown"):
            known = ", ".join((*RUN_STAGES, "teardown"))
            raise ValueError(f"{FAULT_ENV} item {item!r}: no stage {stage!r} (stages: {known})")
        if mode not in FAULT_MODES:
            raise ValueError(
                f"{FAULT_ENV} item {item!r}: no mode {mode!r} (modes: {', '.join(FAULT_MODES)})"
            )
        found[(name, stage)] = (mode, times)
    return found


def fault_for(injected: Injected, name: str, stage: str, attempt: int) -> str | None:
    """The fault injected into `stage` of entry `name` at this attempt, if any."""
    mode, times = injected.get((name, stage)) or injected.get(("*", stage)) or ("", 0)
    return mode if mode and (times == 0 or attempt <= times) else None


def command_under(fault: str | None, stage: str, command: str | None) -> tuple[str | None, bool]:
    """The command a stage runs under `fault`, and whether the fault still stands in for the
    stage (then the harness's own checks of it are left out): `slow` runs the stage's own
    command three seconds late, as itself; `crash` is an error inside the harness."""
    if fault == "crash":
        raise RuntimeError(f"injected crash in {stage}")
    if fault == "slow":
        return f"sleep 3; {command or 'true'}", False
    return FAULT_COMMANDS.get(fault or "", command), bool(fault)
