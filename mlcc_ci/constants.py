"""Names shared by the runtime and the CDK app. Names only: importing this is free."""

from typing import Final

TABLE_NAME: Final = "mlcc-ci-table"
RUNS_TABLE_NAME: Final = "mlcc-ci-runs"
STATUS_INDEX: Final = "testStatus-lastTestTimestamp-index"
SCANNER_FUNCTION: Final = "mlcc-ci-scanner"
STATE_MACHINE: Final = "mlcc-ci-orchestrator"
EXECUTOR_PROJECT: Final = "mlcc-ci-executor"
SCHEDULE_RULE: Final = "mlcc-ci-scanner-schedule"
SWEEPER_FUNCTION: Final = "mlcc-ci-sweeper"
SWEEPER_RULE: Final = "mlcc-ci-sweeper-schedule"
NOTIFICATION_TOPIC: Final = "mlcc-ci-notifications"
# The platform team's topic: infrastructure (capacity, quota, credentials) that has blocked a
# configuration for a day. The owners' topic keeps regressions, fixes and sweeps.
PLATFORM_TOPIC: Final = "mlcc-ci-platform"
LOG_GROUP: Final = "ml-container-creator-ci"
# The default CloudFormation stack (`<prefix>-harness`): never the generator's own CI stack's
# MlccCiHarnessStack, which deploying under that name would update.
STACK_NAME: Final = "mlcc-ci-harness"
# The role the generator's own `bootstrap` creates: the stack never takes this name.
GENERATOR_BOOTSTRAP_ROLE: Final = "mlcc-sagemaker-execution-role"
RESOURCE_PREFIX: Final = "mlcc-ci"

# Attribute names of the record (the spec's names are kept).
ATTR_CONFIG_ID: Final = "configId"
ATTR_STATUS: Final = "testStatus"
ATTR_LAST_TEST: Final = "lastTestTimestamp"
ATTR_STARTED_AT: Final = "startedAt"
ATTR_EXPIRES_AT: Final = "expiresAt"

NEVER_TESTED: Final = "1970-01-01T00:00:00Z"
SCHEMA_VERSION: Final = 1

STAGES: Final = ("generate", "validate", "build", "deploy_test", "register", "teardown", "update")
# Stages whose failure names the final status; `update` writes the result and cannot.
FAILABLE_STAGES: Final = ("generate", "validate", "build", "deploy_test", "register", "teardown")

UNTESTED: Final = "untested"
RUNNING: Final = "running"
PASS: Final = "pass"
FAIL_STATUSES: Final = tuple(f"fail-{stage}" for stage in FAILABLE_STAGES)
TERMINAL_STATUSES: Final = (PASS, *FAIL_STATUSES)
STATUSES: Final = (UNTESTED, RUNNING, *TERMINAL_STATUSES)
# A run the user stopped (Ctrl-C): kept in the history as such; the record goes back to
# the status it had, so the configuration is due again as it was.
INTERRUPTED: Final = "interrupted"
# A run mlcc-ci itself broke (an internal exception, a failure the rules call `harness`):
# kept in the history with its reason; the record goes back to the status it had.
ERROR: Final = "error"

# How the executor builds the image (the catalog's buildStrategy).
BUILD_STRATEGIES: Final = ("codebuild-submit", "docker-in-docker")

# Only a fallback: the stack and the CLI derive how long a run may take from the catalog's
# stage timeouts (budget.py).
BUILD_TIMEOUT_MINUTES: Final = 90
# The executor's run budget in seconds, as the buildspec's `timeout` enforces it: retries
# within a run must fit in it (the runner reads it).
RUN_SECONDS_ENV: Final = "MLCC_CI_RUN_SECONDS"
HISTORY_DAYS: Final = 180  # run history items expire (DynamoDB TTL) this long after a run
DEFAULT_STALE_HOURS: Final = 24
DEFAULT_MAX_CONCURRENCY: Final = 1
