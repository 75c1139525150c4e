"""One run of one configuration: generate → validate → build → deploy_test → register →
teardown → update. The Runner (runner.py) is the top; each concern behind it has a module
of its own (see runner.py)."""

from mlcc_ci.lifecycle.context import RUN_STAGES, Progress, RunContext, RunReport
from mlcc_ci.lifecycle.injection import FAULT_COMMANDS, FAULT_ENV, FAULT_MODES, faults
from mlcc_ci.lifecycle.retry import attempt_run_id
from mlcc_ci.lifecycle.runner import Runner
from mlcc_ci.lifecycle.stagelog import OUTPUT_LIMIT, summarize
from mlcc_ci.scheduling import BLOCKED_MAX_WAIT, BLOCKED_MIN_WAIT

__all__ = [
    "BLOCKED_MAX_WAIT",
    "BLOCKED_MIN_WAIT",
    "FAULT_COMMANDS",
    "FAULT_ENV",
    "FAULT_MODES",
    "OUTPUT_LIMIT",
    "RUN_STAGES",
    "Progress",
    "RunContext",
    "RunReport",
    "Runner",
    "attempt_run_id",
    "faults",
    "summarize",
]
