"""A stage's log and what it said: where the log is, what it printed, and the error summary
the record keeps (what happened, then the last of stderr, secrets masked)."""

from collections.abc import Mapping
from pathlib import Path

from mlcc_ci.executors.local import StageRun
from mlcc_ci.lifecycle.context import Stop
from mlcc_ci.models import ERROR_SUMMARY_CHARS
from mlcc_ci.profiles import StageSpec
from mlcc_ci.redact import redact
from mlcc_ci.safetext import printable

OUTPUT_LIMIT = 256 * 1024


def stage_log(work: Path, stage: str) -> Path:
    return work / "logs" / f"{stage}.log"


def pointer(env: Mapping[str, str], log: Path) -> str:
    """In AWS the buildspec names the CloudWatch stream; locally it is the log file."""
    stream = env.get("MLCC_CI_LOG_STREAM")
    return f"cloudwatch:{stream}" if stream else str(log)


def output(log: Path) -> str:
    """What a stage printed (stdout, then stderr), at most OUTPUT_LIMIT bytes of each."""
    text = []
    for path in (log, log.with_suffix(".stderr.log")):
        try:
            with path.open("rb") as fh:
                text.append(fh.read(OUTPUT_LIMIT).decode("utf-8", errors="replace"))
        except OSError:
            continue
    return "\n".join(text)


def summarize(note: str, tail: str, secrets: list[str]) -> str:
    """A stage's error summary: what happened, then the last of stderr, secrets masked."""
    tail = printable(redact(tail, secrets)).strip()
    note = printable(redact(note, secrets)).strip()
    if not note:
        return tail[-ERROR_SUMMARY_CHARS:]
    room = ERROR_SUMMARY_CHARS - len(note) - 1
    if room <= 0 or not tail:
        return note[:ERROR_SUMMARY_CHARS]
    return f"{note}\n{tail[-room:]}"


def failure_summary(outcome: StageRun, spec: StageSpec, secrets: list[str], stop: Stop) -> str:
    """Why a stage's command failed (timed out, interrupted, its exit code), then its stderr."""
    if outcome.timed_out:
        note = f"timed out after {spec.timeout:g}s; its process group was killed"
    elif outcome.cancelled and spec.name == "teardown" and stop.abandoned.is_set():
        note = (
            "abandoned after a third interrupt: what it would have removed may still be "
            "running (run the project's do/clean by hand)"
        )
    elif outcome.cancelled:
        note = f"interrupted by {stop.reason}; its process group was killed"
    else:
        note = f"exit code {outcome.returncode}"
    return summarize(note, outcome.stderr_tail, secrets)
