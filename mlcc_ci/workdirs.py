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
"""

import os
import re
import shutil
import stat
from collections import defaultdict
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcc_ci.files import read_regular
from mlcc_ci.settings import make_folder

_RUN_FOLDER = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)-(?P<run>[0-9a-f]{12}(?:-r[0-9]{1,3})?)$")
MARKER = ".mlcc-ci-store"
_MARKER_BYTES = 4096


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
    """Make a run's folder (and a `.mlcc-ci` work folder, self-ignoring) and mark its store."""
    make_folder(folder)
    (folder / MARKER).write_text(owner_of(store) + "\n")


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


def surplus(root: Path, keep: int, owner: str, running: Set[str] = frozenset()) -> list[RunFolder]:
    """The folders of store `owner` beyond its newest `keep` of each configuration, never a
    running run's; another store's folder, or one of no known store, is never surplus."""
    by_name: dict[str, list[RunFolder]] = defaultdict(list)
    for folder in run_folders(root):
        if folder.owner == owner:
            by_name[folder.name].append(folder)
    out: list[RunFolder] = []
    for folders in by_name.values():
        out.extend(f for f in folders[keep:] if f.run_id not in running)
    return sorted(out, key=lambda f: (f.name, -f.mtime))


def remove(folders: list[RunFolder]) -> int:
    """Delete `folders`; the bytes freed."""
    freed = 0
    for folder in folders:
        shutil.rmtree(folder.path, ignore_errors=True)
        if not folder.path.exists():
            freed += folder.size
    return freed
