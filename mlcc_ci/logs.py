"""A stage's log: which run and stage to show, where the log is, and its lines made safe to
print (escape sequences out, credentials masked unless asked not to).

A local stage writes `<work root>/<configuration>-<runId>/logs/<stage>.log` (its stdout) and
`<stage>.stderr.log` beside it; the record's `logPointer` names the first. In AWS the stage
files live in the build's container, so the executor copies each stage's output into the
build log (CloudWatch) between markers when the stage ends (`build_log_copy`), and the
pointer names that stream (`cloudwatch:STREAM`).
"""

import errno
import os
import re
import stat
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mlcc_ci.constants import FAILABLE_STAGES, RUNNING
from mlcc_ci.errors import NotFound, UsageError
from mlcc_ci.files import NotARegularFile
from mlcc_ci.models import Record, Run, StageResult, stage_order
from mlcc_ci.redact import MASK, redact
from mlcc_ci.safetext import printable

LOG_STAGES = FAILABLE_STAGES  # the stages that run a command and may leave a log
COPY_LIMIT = 256 * 1024  # of each file, copied into a build log: its last bytes
CHUNK = 64 * 1024
MARK_BEGIN = "[mlcc-ci log begin]"
MARK_STDERR = "[mlcc-ci log stderr]"
MARK_END = "[mlcc-ci log end]"


@dataclass(frozen=True)
class Target:
    """The log asked for: one stage of one run of one configuration."""

    name: str
    configId: str
    runId: str
    stage: str
    running: bool  # the stage is under way now
    result: StageResult | None = None  # the stage's result once it ended


def default_stage(results: Mapping[str, StageResult]) -> str | None:
    """The first stage that failed, else the last one that ran and left a log (register
    and update, which the harness does itself, leave none)."""
    ordered = sorted(results, key=stage_order)
    failed = [s for s in ordered if results[s].status == "fail"]
    if failed:
        return failed[0]
    ran = [s for s in ordered if results[s].status != "skip"]
    logged = [s for s in ran if results[s].logPointer]
    return (logged or ran)[-1] if ran else None


def _check_stage(stage: str) -> None:
    if stage not in LOG_STAGES:
        import difflib

        close = difflib.get_close_matches(stage, LOG_STAGES, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"stages: {', '.join(LOG_STAGES)}"
        raise UsageError(f"no stage '{stage}' ({hint})")


def pick(
    name: str, record: Record | None, runs: Sequence[Run], run_id: str | None, stage: str | None
) -> Target:
    """The run (`run_id`, else the one under way, else the last) and its stage (`stage`,
    else the one under way, else the first that failed, else the last that ran). `runs`:
    the configuration's finished runs, newest first."""
    if stage is not None:
        _check_stage(stage)
    under_way = record is not None and record.testStatus == RUNNING and bool(record.runId)
    if record is None or (not under_way and not runs and not record.stageResults):
        raise NotFound(f"{name} has no runs yet: `mlcc-ci run {name}` starts one")
    if under_way and run_id in (None, record.runId):
        return _under_way(name, record, stage)
    if run_id is None:
        if runs:
            results, found = runs[0].stageResults, runs[0].runId
        else:  # no history (another tool's record): the record's own result
            results, found = record.stageResults, record.runId or "-"
    else:
        run = next((r for r in runs if r.runId == run_id), None)
        if run is None:
            recent = ", ".join(r.runId for r in runs[:5]) or "none"
            raise NotFound(f"{name} has no run {run_id} (recent runs: {recent})")
        results, found = run.stageResults, run.runId
    chosen = stage or default_stage(results)
    if chosen is None or chosen not in results:
        said = f"stage {chosen}" if chosen else "any stage"
        raise NotFound(f"run {found} of {name} has no result for {said}")
    return Target(name, record.configId, found, chosen, False, results[chosen])


def _under_way(name: str, record: Record, stage: str | None) -> Target:
    assert record.runId
    current = record.currentStage or "generate"
    chosen = stage or current
    if chosen == current:
        return Target(name, record.configId, record.runId, chosen, True)
    if chosen in record.runStages:
        return Target(name, record.configId, record.runId, chosen, False, record.runStages[chosen])
    raise NotFound(
        f"stage {chosen} of {name} has not run yet in run {record.runId} (it is in {current})"
    )


def local_log(work_root: Path, name: str, run_id: str, stage: str) -> Path:
    """Where a local run writes a stage's stdout (stderr goes beside it)."""
    return work_root / f"{name}-{run_id}" / "logs" / f"{stage}.log"


def stderr_of(log: Path) -> Path:
    return log.with_suffix(".stderr.log")


def pointer_path(pointer: str, stage: str) -> Path | None:
    """The local log a pointer names, if it names one: an absolute `<stage>.log` path (a
    record written by someone else cannot make us print an arbitrary file)."""
    path = Path(pointer)
    if pointer.startswith("cloudwatch:") or not path.is_absolute():
        return None
    return path if path.name == f"{stage}.log" and path.parent.name == "logs" else None


def place(name: str, stage: str, pointer: str) -> str:
    """Where a person finds a stage's log: its file, else the command that prints it."""
    path = pointer_path(pointer, stage) if pointer else None
    return str(path) if path else f"mlcc-ci logs {name} --stage {stage}"


def failed_place(name: str, results: Mapping[str, StageResult]) -> str | None:
    """Where the log of a run's first failed stage is; None when it left none."""
    stage = default_stage(results)
    result = results.get(stage) if stage else None
    if stage is None or result is None or result.status != "fail" or not result.logPointer:
        return None
    return place(name, stage, result.logPointer)


def failure_lines(
    name: str, message: str, log_place: str | None, width: int, detail: str = ""
) -> list[str]:
    """A configuration's first failure, whole: its message and then each line of `detail`
    (what the stage said), wrapped to `width` at spaces; then where its log is."""
    width = max(width, 40)
    wrap = textwrap.TextWrapper(
        width=width,
        initial_indent=f"  {name}: ",
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    lines = wrap.wrap(" ".join(message.split())) or [f"  {name}: (no error output)"]
    wrap.initial_indent = "    "
    for said in detail.splitlines():
        lines += wrap.wrap(" ".join(said.split()))
    if log_place:  # never cut: on a line of its own when it does not fit
        line = f"    log: {log_place}"
        lines += [line] if len(line) <= width else ["    log:", f"      {log_place}"]
    return lines


def first_failure(results: Mapping[str, StageResult]) -> tuple[str, str]:
    """The first failed stage and what it said after its first line (which the run's
    errorMessage already holds)."""
    stage = default_stage(results) or ""
    result = results.get(stage)
    if result is None or result.status != "fail":
        return "", ""
    return stage, "\n".join(result.errorSummary.strip().splitlines()[1:])


# -- lines safe to print --------------------------------------------------------------------

_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----")
_KEY_END = re.compile(r"-----END [A-Z ]{0,40}PRIVATE KEY-----")


class Cleaner:
    """One line at a time: escape sequences and control characters out and, when
    `redacting`, credentials masked as in error summaries — across lines for a private key."""

    def __init__(self, secrets: Sequence[str] = (), *, redacting: bool = True) -> None:
        self.secrets = list(secrets)
        self.redacting = redacting
        self._in_key = False

    def line(self, text: str) -> str:
        if "\r" in text:  # what a terminal would show of a redrawn progress line
            text = text.rstrip("\r").rsplit("\r", 1)[-1]
        if self.redacting:
            text = self._mask_keys(text)
            text = redact(text, self.secrets)
        return printable(text)

    def _mask_keys(self, text: str) -> str:
        if self._in_key:
            end = _KEY_END.search(text)
            if not end:
                return MASK
            self._in_key = False
            return MASK + text[end.end() :]
        begin = _KEY_BEGIN.search(text)
        if begin and not _KEY_END.search(text, begin.end()):
            self._in_key = True
            return text[: begin.start()] + MASK
        return text


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading if it is a regular file: never through a link, never
    blocking on a FIFO. FileNotFoundError when there is none; NotARegularFile otherwise."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last part is a link
            raise NotARegularFile(f"{path} is a symbolic link") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path} is not a regular file")
    return os.fdopen(fd, "rb")


class _Lines:
    """Whole lines from bytes that arrive in pieces, in time linear in their length: a line
    without a newline is kept as its pieces and joined once, when it ends (re-joining it at
    each piece made an 80 MB line take 42 s). Of a line redrawn with CR (a progress bar), only
    what follows its last CR is kept while it grows: all a terminal shows of it, and all
    `Cleaner.line` shows, so memory stays bounded too."""

    def __init__(self) -> None:
        self.rest: list[bytes] = []

    def feed(self, data: bytes) -> list[str]:
        if b"\n" not in data:
            self._keep(data)
            return []
        parts = data.split(b"\n")
        parts[0] = b"".join([*self.rest, parts[0]])
        self.rest = []
        self._keep(parts.pop())
        return [p.decode("utf-8", errors="replace") for p in parts]

    def _keep(self, piece: bytes) -> None:
        """The start of a line that has not ended: from its last redraw on, if it has one
        (a CR that more than CRs follow; CR is one byte of its own in UTF-8)."""
        redraw = piece.rstrip(b"\r").rfind(b"\r")
        if redraw >= 0:
            self.rest = [piece[redraw:]]
        elif piece:
            self.rest.append(piece)

    def flush(self) -> list[str]:
        rest, self.rest = b"".join(self.rest), []
        return [rest.decode("utf-8", errors="replace")] if rest else []


def file_lines(path: Path, tail: int | None = None) -> Iterator[str]:
    """The lines of a regular file (its last `tail` bytes, from a whole line, if given);
    nothing when there is no file."""
    try:
        fh = open_regular(path)
    except FileNotFoundError:
        return
    with fh:
        size = os.fstat(fh.fileno()).st_size
        skip_partial = False
        if tail is not None and size > tail:
            fh.seek(size - tail)
            skip_partial = True
        lines = _Lines()
        while data := fh.read(CHUNK):
            got = lines.feed(data)
            if skip_partial and got:
                got, skip_partial = got[1:], False
            yield from got
        yield from lines.flush()


def header(path: Path) -> str:
    return f"==> {path.name} <=="


def stage_lines(log: Path, tail: int | None = None) -> Iterator[str]:
    """A stage's stdout, then its stderr under a header (as `tail` heads a second file)."""
    yield from file_lines(log, tail)
    err = stderr_of(log)
    first = True
    for line in file_lines(err, tail):
        if first:
            yield header(err)
            first = False
        yield line


def follow(
    log: Path,
    going: Callable[[], bool],
    *,
    interval: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[str]:
    """A stage's stdout and stderr as they grow, a header at each switch from one to the
    other, until `going()` says the stage is over (then what is left, and the end)."""
    paths = (log, stderr_of(log))
    handles: dict[Path, BinaryIO] = {}
    pending = {p: _Lines() for p in paths}
    shown = log
    try:
        while True:
            still = going()  # asked before reading: nothing written before the end is lost
            for path in paths:
                if path not in handles:
                    try:
                        handles[path] = open_regular(path)
                    except FileNotFoundError:
                        continue
                got: list[str] = []
                while data := handles[path].read(CHUNK):
                    got += pending[path].feed(data)
                if not still:
                    got += pending[path].flush()
                if got and path != shown:
                    yield header(path)
                    shown = path
                yield from got
            if not still:
                return
            sleep(interval)
    finally:
        for fh in handles.values():
            fh.close()


# -- the build log in AWS -------------------------------------------------------------------


def build_log_copy(name: str, stage: str, log: Path, cleaner: Cleaner) -> Iterator[str]:
    """A stage's output for the build log (the last COPY_LIMIT bytes of each file), masked,
    between markers `section` finds again."""
    yield f"{MARK_BEGIN} {name} {stage}"
    yield from (cleaner.line(line) for line in file_lines(log, COPY_LIMIT))
    err = list(file_lines(stderr_of(log), COPY_LIMIT))
    if err:
        yield f"{MARK_STDERR} {name} {stage}"
        yield from (cleaner.line(line) for line in err)
    yield f"{MARK_END} {name} {stage}"


class Section:
    """Picks one stage's copy out of a build log, line by line: `take` gives what to show
    of a line; `done` once the copy ended."""

    def __init__(self, name: str, stage: str) -> None:
        self.marks = {m: f"{m} {name} {stage}" for m in (MARK_BEGIN, MARK_STDERR, MARK_END)}
        self.stage = stage
        self.inside = False
        self.found = False
        self.done = False

    def take(self, line: str) -> list[str]:
        line = line.rstrip("\n")
        if line == self.marks[MARK_BEGIN]:
            self.inside = self.found = True
            return []
        if not self.inside:
            return []
        if line == self.marks[MARK_END]:
            self.inside, self.done = False, True
            return []
        if line == self.marks[MARK_STDERR]:
            return [f"==> {self.stage}.stderr.log <=="]
        return [line]
