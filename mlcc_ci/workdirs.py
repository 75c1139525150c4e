"""Each run's folder under the work root (`<configuration>-<runId>`): the generated project,
its stage logs and, when the store refused it, the result. The last few per configuration
are kept for their logs; the rest go.

A run folder belongs to the store its run was recorded in, and only that store's runs are
ever pruned together: two repositories (two stores) sharing one work folder never prune each
other's runs, and a store several repositories share on purpose prunes their runs as one.
Each run folder says its store in a marker file (`.mlcc-ci-store`, the store's canonical
URL), written when the folder is made. A marker rather than a folder per store, because the
layout stays as it was (`<work>/<configuration>-<runId>/logs/`: the log paths in records,
the dashboard's `/logs/<run folder>/`, workflows that upload `*/logs/` all keep working),
the owner reads plainly (`cat`), and a folder whose marker is missing or unreadable (made
before markers, or tampered with) belongs to no store: it is never pruned, only counted.

A run folder whose run is still going is never removed, by any process: the run holds an
exclusive `flock` on the folder's `.mlcc-ci-lock` for its whole life (taken before the marker
is written, released when the run ends, by the kernel if the process dies), and `clean` and
the prune leave alone a folder whose lock is held. Whoever removes a folder holds its lock
while deleting, so no run can start in it meanwhile.
"""

import errno
import fcntl
import os
import re
import shutil
import stat
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcc_ci.files import read_regular
from mlcc_ci.settings import make_folder

_RUN_FOLDER = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)-(?P<run>[0-9a-f]{12}(?:-r[0-9]{1,3})?)$")
MARKER = ".mlcc-ci-store"
_MARKER_BYTES = 4096
LOCK = ".mlcc-ci-lock"
# How long a run waits for a folder's lock another process holds (one removing it).
LOCK_WAIT_SECONDS = 60.0
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS}
_held = threading.local()  # the locks of the run going in this thread (see `holding`)


@dataclass(frozen=True)
class RunFolder:
    path: Path
    name: str  # the configuration
    run_id: str
    mtime: float
    size: int
    owner: str | None = None  # the store it was recorded in; None: unknown


def owner_of(store: Any) -> str:
    """The store's canonical URL, as run folders name it: a SQLite store by its real path
    (however it was spelled), any other by its description (`dynamodb://T?region=R`)."""
    from mlcc_ci.stores.open import sqlite_url

    path = getattr(store, "path", None)
    if isinstance(path, Path):
        return sqlite_url(path)
    return str(store.description)


def make(folder: Path, store: Any) -> None:
    """Make a run's folder (and a `.mlcc-ci` work folder, self-ignoring), lock it and mark
    its store. Within `holding()` the lock is kept until the run ends; outside, nothing owns
    the folder and it is released at once."""
    fd = _take(folder)
    try:
        (folder / MARKER).write_text(owner_of(store) + "\n")  # after the lock: see `_busy`
    except BaseException:
        os.close(fd)
        raise
    locks = getattr(_held, "fds", None)
    if locks is None:
        os.close(fd)
    else:
        locks.append(fd)


@contextmanager
def holding() -> Iterator[None]:
    """The run folders `make` makes in this thread, inside this block, stay locked (theirs
    to the run) until the block ends, whichever way it ends."""
    outer = getattr(_held, "fds", None)
    _held.fds = []
    try:
        yield
    finally:
        for fd in _held.fds:
            os.close(fd)  # closing the last descriptor releases the flock
        _held.fds = outer


def _open_lock(folder: Path, create: bool = True) -> int:
    """The folder's lock file, opened (made if missing and `create`); OSError if it is not
    a regular file (a link in its place is never followed)."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_CREAT * create)
    fd = os.open(folder / LOCK, flags, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{folder / LOCK} is not a regular file")
    return fd


def _still_there(fd: int, folder: Path) -> bool:
    """Whether the locked file is still the folder's lock (not one a remover deleted)."""
    try:
        now = os.lstat(folder / LOCK)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _take(folder: Path) -> int:
    """Make `folder` and hold its lock; waits while another process removes it (then makes
    it again), at most LOCK_WAIT_SECONDS."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        if time.monotonic() > deadline:
            raise OSError(f"the run folder {folder} is in use by another process")
        make_folder(folder)
        try:
            fd = _open_lock(folder)
        except FileNotFoundError:  # removed as it was made: make it again
            continue
        try:
            _flock(fd)
        except BlockingIOError:
            os.close(fd)
            time.sleep(0.1)
            continue
        if _still_there(fd, folder):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # for whoever looks: the run's process
            return fd
        os.close(fd)  # removed while we waited: make it again


def _lock_if_free(folder: Path, create: bool = True) -> int | None:
    """The folder's lock, taken, if no run holds it; None while one does (or if the lock
    cannot be had: a link or a FIFO in its place, a folder gone). A folder with no lock file
    (made before run folders had one) gets one if `create`, else is free: -1."""
    try:
        fd = _open_lock(folder, create)
    except FileNotFoundError:
        return None if create else -1
    except OSError:
        return None
    try:
        _flock(fd)
    except OSError:
        os.close(fd)
        return None
    return fd


def _flock(fd: int) -> None:
    """Lock `fd` exclusively, or BlockingIOError while another holds it. A filesystem that
    cannot lock at all (ENOLCK, EOPNOTSUPP: some network and FUSE mounts) leaves its run
    folders unguarded, as they were before locks: a run never fails for it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LOCKS:
            raise


def _busy(folder: Path) -> bool:
    """Whether a run still going holds the folder. A folder bearing a marker was locked
    before the marker was written, so a free lock is a run that has ended."""
    fd = _lock_if_free(folder, create=False)  # looking makes nothing (`clean --dry-run`)
    if fd is None:
        return True
    if fd >= 0:
        os.close(fd)
    return False


def _owner(folder: Path) -> str | None:
    try:  # a link, a FIFO or a huge file in its place is no marker
        text = read_regular(folder / MARKER, _MARKER_BYTES).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def _size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):  # never follows links
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def run_folders(root: Path) -> list[RunFolder]:
    """The run folders directly under `root`, newest first; anything else is not ours."""
    try:
        children = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for child in children:
        match = _RUN_FOLDER.match(child.name)
        if not match:
            continue
        info = child.stat(follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode):  # a link or a file of that name is left alone
            continue
        path = Path(child.path)
        found.append(
            RunFolder(path, match["name"], match["run"], info.st_mtime, _size(path), _owner(path))
        )
    return sorted(found, key=lambda f: f.mtime, reverse=True)


def sort_out(
    root: Path, keep: int, owner: str, running: Set[str] = frozenset()
) -> tuple[list[RunFolder], list[RunFolder]]:
    """The folders of store `owner` beyond its newest `keep` of each configuration, never a
    running run's (named in `running`, or holding its lock): (those to go, those left alone
    because their run is still going). Another store's folder, or one of no known store, is
    never surplus."""
    by_name: dict[str, list[RunFolder]] = defaultdict(list)
    for folder in run_folders(root):
        if folder.owner == owner:
            by_name[folder.name].append(folder)
    going: list[RunFolder] = []
    busy: list[RunFolder] = []
    for folders in by_name.values():
        for folder in folders[keep:]:
            if folder.run_id in running:
                continue
            (busy if _busy(folder.path) else going).append(folder)
    return sorted(going, key=_order), sorted(busy, key=_order)


def _order(folder: RunFolder) -> tuple[str, float]:
    return folder.name, -folder.mtime


def surplus(root: Path, keep: int, owner: str, running: Set[str] = frozenset()) -> list[RunFolder]:
    """The folders `sort_out` says may go."""
    return sort_out(root, keep, owner, running)[0]


def remove(folders: list[RunFolder]) -> tuple[int, list[RunFolder]]:
    """Delete `folders`, each while holding its lock: (the bytes freed, the folders left
    because a run holds them now)."""
    freed = 0
    left: list[RunFolder] = []
    for folder in folders:
        fd = _lock_if_free(folder.path)
        if fd is None:
            if folder.path.exists():
                left.append(folder)
            continue
        try:
            shutil.rmtree(folder.path, ignore_errors=True)
        finally:
            os.close(fd)
        if not folder.path.exists():
            freed += folder.size
    return freed, left
