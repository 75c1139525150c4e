"""One run of one configuration: generate → validate → build → deploy_test → register →
teardown → update (runner.py)."""

from mlcc_ci.lifecycle.runner import (
    BLOCKED_MAX_WAIT,
    BLOCKED_MIN_WAIT,
    FAULT_COMMANDS,
    FAULT_ENV,
    FAULT_MODES,
    OUTPUT_LIMIT,
    RUN_STAGES,
    Progress,
    Runner,
    RunReport,
    attempt_run_id,
    faults,
    summarize,
)

__all__ = [
    "BLOCKED_MAX_WAIT",
    "BLOCKED_MIN_WAIT",
    "FAULT_COMMANDS",
    "FAULT_ENV",
    "FAULT_MODES",
    "OUTPUT_LIMIT",
    "RUN_STAGES",
    "Progress",
    "RunReport",
    "Runner",
    "attempt_run_id",
    "faults",
    "summarize",
]
