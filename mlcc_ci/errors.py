"""The error tree. Each error carries its exit code; the CLI prints one line for it.

Exit codes (README, "Exit codes"): 0 all well; 1 a configuration failed or regressed (or a
check found problems); 2 a usage or configuration error (unknown name, bad flag, invalid
catalog or settings); 3 the harness could not do its job (no store, AWS unreachable, the
generator missing).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_HARNESS = 3


class MlccError(Exception):
    """A problem the user can act on. Printed as one line, never with a traceback."""

    exit_code = EXIT_FAILED


class UsageError(MlccError):
    exit_code = EXIT_USAGE


class CatalogError(MlccError):
    """The catalog (or one file of it) is invalid."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        message = problems[0] if problems else "invalid catalog"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more: run mlcc-ci catalog validate)"
        super().__init__(message)


class NotFound(MlccError):
    """A name or id the user gave that nothing has."""

    exit_code = EXIT_USAGE


class HarnessError(MlccError):
    """The harness could not do its job: its store, AWS or a tool it needs is not there."""

    exit_code = EXIT_HARNESS


class StoreError(HarnessError):
    """The results store cannot be used (corrupt file, missing table, no credentials...)."""


class NoStore(StoreError):
    """A store that was never made: the path names nothing."""


class NotProvisioned(StoreError):
    pass


class ConflictError(HarnessError):
    """A conditional write lost: someone else changed the record first."""


class ConfigFileError(MlccError):
    """A generated project's do/config cannot be used."""

    exit_code = EXIT_USAGE
