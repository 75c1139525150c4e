"""Each run's folder under the work root (`<configuration>-<runId>`): the generated project,
its stage logs and, when the store refused it, the result. The last few per configuration
are kept for their logs; the rest go."""

import os
import re
import shutil
import stat
from collections import defaultdict
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path

_RUN_FOLDER = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)-(?P<run>[0-9a-f]{12}(?:-r[0-9]{1,3})?)$")


@dataclass(frozen=True)
class RunFolder:
    path: Path
    name: str  # the configuration
    run_id: str
    mtime: float
    size: int


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
        found.append(
            RunFolder(
                Path(child.path),
                match["name"],
                match["run"],
                info.st_mtime,
                _size(Path(child.path)),
            )
        )
    return sorted(found, key=lambda f: f.mtime, reverse=True)


def surplus(root: Path, keep: int, running: Set[str] = frozenset()) -> list[RunFolder]:
    """The folders beyond the newest `keep` of each configuration, never a running run's."""
    by_name: dict[str, list[RunFolder]] = defaultdict(list)
    for folder in run_folders(root):
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
