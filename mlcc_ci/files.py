"""Write files without following symlinks: a temporary file beside the target, then a rename
that replaces whatever the target name is (a link included) rather than writing through it."""

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class NotARegularFile(OSError):
    """A path that is a FIFO, a device, a folder or a link, or too large to be read."""


def write_output(path: Path, data: bytes) -> None:
    """An output the user named (`report --output`, Allure results): written as
    write_atomic writes, but only over a regular file or where nothing is. A link (such as
    /dev/stdout), a FIFO, a device or a folder is NotARegularFile and stays as it was:
    replacing /dev/null as root would break the machine's device."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None and not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "special file")
        raise NotARegularFile(
            errno.EEXIST, f"not a regular file (a {kind}); nothing written", str(path)
        )
    write_atomic(path, data)


_KINDS = {
    stat.S_IFLNK: "symbolic link",
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFDIR: "folder",
    stat.S_IFSOCK: "socket",
}


def _open_regular(path: Path) -> tuple[int, os.stat_result]:
    """A descriptor of `path` and its status if it is a regular file: opened without
    following a link and without blocking (a FIFO never hangs the reader)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotARegularFile(f"{path} is a symbolic link") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotARegularFile(f"{path} is not a regular file")
    return fd, info


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of `path` if it is a regular file of at most `limit` bytes: opened without
    following a link and without blocking (a FIFO never hangs the reader), checked before a
    byte is read."""
    fd, info = _open_regular(path)
    try:
        if info.st_size > limit:
            raise NotARegularFile(f"{path} is {info.st_size} bytes, more than {limit}")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise NotARegularFile(f"{path} is more than {limit} bytes")
    return data


def load_json(path: Path, limit: int, depth: int = 64) -> Any:
    """JSON from a regular file of at most `limit` bytes, nested at most `depth` deep;
    ValueError (naming why) for anything else."""
    try:
        data = read_regular(path, limit)
    except OSError as exc:
        raise ValueError(str(exc)) from None
    return parse_json(data, depth)


def parse_json(data: bytes | str, depth: int = 64) -> Any:
    """JSON nested at most `depth` deep (counted before parsing: a deep document never
    reaches the parser's recursion); ValueError otherwise."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    level = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            level += 1
            if level > depth:
                raise ValueError(f"nested more than {depth} deep")
        elif ch in "]}":
            level -= 1
    return json.loads(text)


def read_tail(path: Path, limit: int) -> tuple[bytes, bool]:
    """The last `limit` bytes of the regular file `path` and whether anything came before
    them: opened without following a link and without blocking, whatever the file's size."""
    fd, info = _open_regular(path)
    try:
        start = max(0, info.st_size - limit)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            fh.seek(start)
            data = fh.read(limit)
    finally:
        os.close(fd)
    return data, start > 0
