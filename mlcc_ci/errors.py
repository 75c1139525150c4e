"""The error tree. Each error carries its exit code; the CLI prints one line for it."""


class MlccError(Exception):
    """A problem the user can act on. Printed as one line, never with a traceback."""

    exit_code = 1


class UsageError(MlccError):
    exit_code = 2


class CatalogError(MlccError):
    """The catalog (or one file of it) is invalid."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        message = problems[0] if problems else "invalid catalog"
        if len(problems) > 1:
            message += f" (and {len(problems) - 1} more: run mlcc-ci catalog validate)"
        super().__init__(message)


class NotFound(MlccError):
    pass


class StoreError(MlccError):
    """The results store cannot be used (corrupt file, missing table, no credentials...)."""


class NotProvisioned(StoreError):
    pass


class ConflictError(MlccError):
    """A conditional write lost: someone else changed the record first."""


class ConfigFileError(MlccError):
    """A generated project's do/config cannot be used."""
