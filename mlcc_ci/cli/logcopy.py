"""In AWS, each stage's output copied into the build log as the stage ends."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def build_log_copier(lock: Any) -> Callable[[Any], None]:
    """In AWS: at each stage's end, its output (masked) into the build log, where
    `mlcc-ci logs` finds it again; a stage's files die with the build's container."""
    from mlcc_ci import logs as core
    from mlcc_ci.redact import secret_values

    secrets = secret_values(os.environ)

    def copy(event: Any) -> None:
        if event.state != "end" or not event.log:
            return
        cleaner = core.Cleaner(secrets)
        with lock:
            for line in core.build_log_copy(event.name, event.stage, Path(event.log), cleaner):
                click.echo(line)

    return copy
