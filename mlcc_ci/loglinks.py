"""Where a page finds a local stage log: the dashboard's own `/logs/<run folder>/<stage>.log`
pages, confined to its work folder, and links relative to a report file. Never `file://`,
which a page served over HTTP cannot open."""

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from mlcc_ci.logs import LOG_STAGES, Cleaner, stage_lines, stderr_of

_RUN_FOLDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


def log_url(pointer: str, work_root: Path) -> str | None:
    """The dashboard's address of a local stage log inside `work_root`; None otherwise."""
    path = Path(pointer)
    if not path.is_absolute() or path.suffix != ".log":
        return None
    for root in dict.fromkeys([work_root.absolute(), work_root.resolve()]):
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            continue
        if len(parts) == 3 and parts[1] == "logs" and _RUN_FOLDER.fullmatch(parts[0]):
            stage = parts[2].removesuffix(".log")
            if stage in LOG_STAGES:
                return f"/logs/{quote(parts[0], safe='')}/{stage}.log"
    return None


def relative_href(base: Path) -> Callable[[str], str | None]:
    """Links from a report file in `base` to local stage logs: relative paths, which a
    browser opens from a report on disk, and which still work when the report and the
    work folder are copied together."""
    base = base.absolute()

    def href(pointer: str) -> str | None:
        path = Path(pointer)
        if not path.is_absolute() or path.suffix != ".log":
            return None
        return quote(os.path.relpath(path, base))  # ':' encoded: never read as a scheme

    return href


def page(log: Path, cleaner: Cleaner, tail: int) -> str:
    """A stage's log as the dashboard serves it: the last `tail` bytes of each file."""
    shown = [cleaner.line(line) for line in stage_lines(log, tail)]
    for path in (log, stderr_of(log)):
        try:
            size = os.lstat(path).st_size
        except OSError:
            continue
        if size > tail:
            shown.insert(0, f"(only the last {tail} bytes of {path.name}, of {size})")
    return "\n".join(shown) + "\n"


def confined_log(work_root: Path, run_folder: str, stage: str) -> Path | None:
    """`<work root>/<run folder>/logs/<stage>.log` if every part of it is a real folder
    inside the work root (no link anywhere, no way out); None otherwise."""
    if not _RUN_FOLDER.fullmatch(run_folder) or stage not in LOG_STAGES:
        return None
    try:
        root = work_root.resolve(strict=True)
        folder = root / run_folder
        for part in (folder, folder / "logs"):
            if not stat.S_ISDIR(os.lstat(part).st_mode):  # lstat: a link is not a folder
                return None
    except OSError:
        return None
    log = folder / "logs" / f"{stage}.log"
    try:
        inside = log.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link to itself: Python 3.11 and 3.12 raise RuntimeError
        return None
    return log if inside else None
