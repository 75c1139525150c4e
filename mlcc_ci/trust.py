"""Whose settings to follow: a settings file, and a catalog it names, only from the user's own
folders, as git does with `safe.directory` (CVE-2022-24765).

A settings file chooses the catalog, whose stage commands then run as the user. So one found
upward in a folder someone else owns, or can write, is refused, as is a catalog such a file
names: another user (or anyone, in a world-writable folder) could otherwise choose what runs.

Trusted: a file or folder owned by the user or by root (root can do anything anyway; under
sudo, the user who ran it too, as git does), that no one else can write. Writable by the
group is fine when the group is the user's own private group (named as the user, no other
members: the usual `umask 002` setup). A folder writable by all with the sticky bit (as
/tmp) is fine for a settings file the user owns: no one else may rename or replace it there.
Anything else is refused, unless the user names its folder in MLCC_CI_SAFE_DIRECTORIES
(folders separated by `os.pathsep`; `DIR/*` for every folder below DIR; `*` for all). That
setting is read from the environment only, never from a settings file: an untrusted file
cannot vouch for itself.
"""

import os
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path

from mlcc_ci.errors import UsageError

SAFE_ENV = "MLCC_CI_SAFE_DIRECTORIES"


def check_settings_file(path: Path, env: Mapping[str, str] = os.environ) -> None:
    """Refuse the settings file `path` (one line naming it and how to trust it) unless it
    and its folder are the user's own."""
    folder = path.parent
    problem = _problem(path, sticky_ok=False)
    if problem:
        problem = f"the file is {problem}"
    elif folder_problem := _problem(folder, sticky_ok=True):
        problem = f"its folder is {folder_problem}"
    if problem and not _declared_safe(folder, env):
        raise UsageError(
            f"{path}: refusing the settings file: {problem}; if this folder is safe, "
            f"set {SAFE_ENV}={shlex.quote(str(folder))}"
        )


def check_catalog(folder: Path, settings_file: Path, env: Mapping[str, str] = os.environ) -> None:
    """Refuse the catalog `folder` a settings file names unless it is the user's own."""
    if not folder.is_dir():
        return  # the catalog's own loading says that it is missing
    problem = _problem(folder, sticky_ok=False)
    if problem and not _declared_safe(folder, env):
        raise UsageError(
            f"{settings_file}: refusing the catalog {folder} it names: that folder is "
            f"{problem}; if that catalog is safe, set {SAFE_ENV}={shlex.quote(str(folder))}"
        )


def _problem(path: Path, *, sticky_ok: bool) -> str | None:
    """Why `path` (a file or folder) is not trusted ("owned by ...", "writable by ..."),
    or None."""
    uid = _euid()
    if uid is None:  # no owners to compare on this platform
        return None
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None  # reading it says what is wrong
    if stat.S_ISLNK(info.st_mode):
        return None  # a link is never read as settings (files.read_regular says so)
    if info.st_uid not in _trusted_owners(uid):
        return f"owned by {_user(info.st_uid)} and you are {_user(uid)}"
    sticky = sticky_ok and bool(info.st_mode & stat.S_ISVTX)
    if info.st_mode & stat.S_IWOTH and not sticky:
        return "writable by all users"
    if info.st_mode & stat.S_IWGRP and not sticky and not _private_group(info.st_gid):
        return f"writable by the group {_group(info.st_gid)}"
    return None


def _declared_safe(folder: Path, env: Mapping[str, str]) -> bool:
    listed = [p for p in env.get(SAFE_ENV, "").split(os.pathsep) if p.strip()]
    if not listed:
        return False
    here = _real(folder)
    for entry in listed:
        # `DIR/`, `DIR/*/` are `DIR`, `DIR/*`: a trailing slash changes nothing, as in git
        entry = entry.strip()
        entry = entry.rstrip("/" + os.sep) or entry[:1]
        if entry == "*":
            return True
        if entry.endswith("/*"):
            root = _real(Path(entry[:-2] or "/"))
            if here == root or root in here.parents:
                return True
        elif _real(Path(entry)) == here:
            return True
    return False


def _real(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):
        return path.expanduser().absolute()


def _trusted_owners(uid: int) -> set[int]:
    """The user, root, and under sudo the user who ran it (as git does)."""
    owners = {uid, 0}
    sudo = os.environ.get("SUDO_UID", "")
    if uid == 0 and sudo.isdigit():
        owners.add(int(sudo))
    return owners


def _euid() -> int | None:
    geteuid = getattr(os, "geteuid", None)
    return geteuid() if geteuid else None


def _user(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _group(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


def _private_group(gid: int) -> bool:
    """The user's own group: named as the user, with no other member."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == user and set(group.gr_mem) <= {user}
