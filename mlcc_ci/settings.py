"""One settings file: `mlcc-ci.toml`, or `[tool.mlcc-ci]` in `pyproject.toml`.

Found upward from the working directory, as pytest and ruff find theirs: the nearest folder
holding either wins, and in one folder `mlcc-ci.toml` wins over `pyproject.toml` (which
counts only when it has a `[tool.mlcc-ci]` table). Every value may also come from a flag or
an environment variable; the order is flags, then environment, then the file, then the
defaults. Relative paths in the file are relative to the file's folder.

One repository, one state: where a settings file is found, the results store and the run
folders default to `.mlcc-ci/` beside it (`state_dir`), so two repositories on one machine
never share results or prune each other's runs unless they name one store on purpose. With
no settings file the user-wide data folder (`$XDG_DATA_HOME/mlcc-ci`) stays the default. A
`.mlcc-ci` folder mlcc-ci makes holds a `.gitignore` of `*`: it is never committed by accident.
"""

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcc_ci.errors import UsageError

FILE_NAME = "mlcc-ci.toml"
STATE_FOLDER = ".mlcc-ci"  # beside the settings file: its store and run folders
PYPROJECT = "pyproject.toml"
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Setting:
    key: str  # as written in the file
    env: str  # the environment variable that overrides the file
    kind: type
    default: Any
    help: str
    least: int = 1  # for whole numbers
    choices: tuple[str, ...] = ()  # for words: the values it may take


SETTINGS = (
    Setting("catalog", "MLCC_CI_CATALOG", str, None, "the catalog folder (else the shipped one)"),
    Setting("profile", "MLCC_CI_PROFILE", str, "default", "the run profile"),
    Setting("store", "MLCC_CI_STORE", str, None, "the results store URL (else the profile's)"),
    Setting("jobs", "MLCC_CI_JOBS", int, 1, "configurations run at once"),
    Setting(
        "keep-runs", "MLCC_CI_KEEP_RUNS", int, 3, "run folders kept per configuration and store", 0
    ),
    Setting("work", "MLCC_CI_WORK", str, None, "the run folders' folder (else .mlcc-ci/work)"),
    Setting(
        "suspect-rounds",
        "MLCC_CI_SUSPECT_ROUNDS",
        int,
        3,
        "rounds a rule may block one configuration before it is reported as suspect",
    ),
    Setting(
        "schedule",
        "MLCC_CI_SCHEDULE",
        str,
        "confidence",
        "when a finished configuration is due again: confidence (changes at once, then 1 to "
        "7 days as confidence grows) or daily (the seed's: every stale-hours)",
        choices=("confidence", "daily"),
    ),
    Setting(
        "daily-budget",
        "MLCC_CI_DAILY_BUDGET",
        float,
        0.0,
        "dollars the runs started in one UTC day are expected to cost (0: no budget)",
        0,
    ),
    Setting(
        "image-digests",
        "MLCC_CI_IMAGE_DIGESTS",
        str,
        "off",
        "on: look up base image digests in their registries, and run a configuration whose "
        "image changed",
        choices=("on", "off"),
    ),
)
MOST_DOLLARS = 1_000_000
BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class SettingsFile:
    path: Path | None  # None: no settings file found
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.path is None:
            return "no settings file"
        return f"{self.path}" + (" [tool.mlcc-ci]" if self.path.name == PYPROJECT else "")


def find(start: Path | None = None) -> Path | None:
    """The nearest settings file at or above `start` (the working directory)."""
    try:
        here = (start or Path.cwd()).resolve()
    except OSError:  # the working directory was removed
        return None
    for folder in (here, *here.parents):
        own = folder / FILE_NAME
        if own.is_file():
            return own
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _has_table(pyproject):
            return pyproject
    return None


def _has_table(path: Path) -> bool:
    try:
        data = _parse(path)
    except UsageError:
        if _names_our_table(path):
            raise  # broken, and ours: say so, naming it
        return False  # someone else's broken pyproject is not ours to judge
    return isinstance(data.get("tool"), dict) and "mlcc-ci" in data["tool"]


# `[tool.mlcc-ci]`, `[tool."mlcc-ci".x]` or `tool.mlcc-ci.key = ...` at the start of a line
_OUR_TABLE = re.compile(
    r"""^[ \t]{0,80}\[?[ \t]{0,80}tool[ \t]{0,80}\.[ \t]{0,80}["']?mlcc-ci\b""", re.M
)


def _names_our_table(path: Path) -> bool:
    """Whether a pyproject.toml that does not parse still names our table."""
    from mlcc_ci.files import read_regular

    try:
        text = read_regular(path, MAX_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return False
    return bool(_OUR_TABLE.search(text))


def _parse(path: Path) -> dict[str, Any]:
    from mlcc_ci.files import read_regular

    try:
        text = read_regular(path, MAX_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the settings file ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nesting
        raise UsageError(f"{path}: not valid TOML: nested too deeply") from None


def load(start: Path | None = None, env: Mapping[str, str] = os.environ) -> SettingsFile:
    """The settings file found upward from `start`, its values checked; and the
    environment's values checked as the file's are. A file (or a catalog it names) from a
    folder someone else owns or can write is refused (trust.py)."""
    from mlcc_ci import trust

    for known in SETTINGS:
        if env.get(known.env):
            _from_env(known, env[known.env])
    path = find(start)
    if path is None:
        return SettingsFile(None)
    trust.check_settings_file(path, env)
    data = _parse(path)
    if path.name == PYPROJECT:
        table = data.get("tool", {}).get("mlcc-ci", {})
        where = f"{path}: [tool.mlcc-ci]"
    else:
        table, where = data, str(path)
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table of settings")
    values: dict[str, Any] = {}
    for key, value in table.items():
        setting = BY_KEY.get(key.replace("_", "-"))
        if setting is None:
            import difflib

            close = difflib.get_close_matches(key, list(BY_KEY), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(BY_KEY)}"
            raise UsageError(f"{where}: unknown setting '{key}' ({hint})")
        if setting.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, setting.kind) or isinstance(value, bool):
            raise UsageError(f"{where}: '{key}' must be {_kind_name(setting)}, not {value!r}")
        if isinstance(value, float):
            value = _dollars(value, f"{where}: '{key}'")
        if setting.choices and value not in setting.choices:
            raise UsageError(f"{where}: '{key}' must be {_one_of(setting)}, not {value!r}")
        if isinstance(value, int) and not setting.least <= value <= 1000:
            raise UsageError(
                f"{where}: '{key}' must be between {setting.least} and 1000, not {value}"
            )
        if setting.key in ("catalog", "work") and isinstance(value, str):
            value = str((path.parent / expand_home(value, f"{where}: '{key}'")).resolve())
        if setting.key == "catalog":
            trust.check_catalog(Path(value), path, env)
        if setting.key == "store" and isinstance(value, str):
            _store_home(value, f"{where}: '{key}'")
            value = _store_beside(value, path.parent)
        values[setting.key] = value
    return SettingsFile(path, values)


def expand_home(path: str | Path, what: str, shown: str | None = None) -> Path:
    """`path` with a leading `~` (or `~user`) as that home folder. One line of error naming
    `what` (the setting and where it came from) when there is none: no such user, or HOME
    unset for a user without one in the password database (as in some containers); the
    value shows as `shown` (a store URL, its password masked), else as `path`."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # pathlib: "Could not determine home directory."
        pass
    text = str(path)
    head = text.split("/", 1)[0]
    why = (
        f"no user named {head[1:]!r}"
        if head != "~"
        else "HOME is not set and this user has no home folder"
    )
    raise UsageError(f"{what} {shown or repr(text)}: cannot expand {head!r}: {why}")


def _store_beside(url: str, folder: Path) -> str:
    """A SQLite store the file names relatively (`sqlite://rel/results.db`: two slashes, or
    `sqlite:rel/results.db`: none) lies beside the file; `sqlite:///abs.db` is absolute, as
    on the command line."""
    from urllib.parse import urlparse

    prefix = "sqlite://" if url.startswith("sqlite://") else "sqlite:"
    if not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    if urlparse(url).password is not None:
        return url  # refused as it is (stores.open), its password never shown
    rest = url[len(prefix) :]
    path, query = rest.split("?", 1) if "?" in rest else (rest, "")
    if not path or path.startswith("~"):
        return url
    absolute = (folder / path).resolve()
    return f"sqlite:///{absolute}" + (f"?{query}" if query else "")


def _store_home(url: str, what: str) -> None:
    """A SQLite store's file below a home folder that cannot be found: one line naming
    `what`, before anything else reads the URL."""
    from mlcc_ci.sqliteurl import sqlite_file
    from mlcc_ci.urltext import hide_passwords

    file = sqlite_file(url)
    if file is not None:
        expand_home(file, what, repr(hide_passwords(url)))


def resolve(
    settings: SettingsFile, env: Mapping[str, str] = os.environ
) -> list[tuple[Setting, Any, str]]:
    """Each setting's effective value (flags aside) and where it came from."""
    out = []
    for s in SETTINGS:
        if env.get(s.env):
            out.append((s, _from_env(s, env[s.env]), f"environment ({s.env})"))
        elif s.key in settings.values:
            out.append((s, settings.values[s.key], f"settings file {settings.label}"))
        else:
            out.append((s, s.default, "default"))
    return out


def _from_env(setting: Setting, raw: str) -> Any:
    """A setting's value from its environment variable, checked as the file's is."""
    if setting.kind is float:
        try:
            number = float(raw)
        except ValueError:
            raise UsageError(f"{setting.env} must be a number, not {raw!r}") from None
        return _dollars(number, setting.env)
    if setting.choices and raw not in setting.choices:
        raise UsageError(f"{setting.env} must be {_one_of(setting)}, not {raw!r}")
    if setting.kind is not int:
        if setting.key in ("catalog", "work"):
            return str(expand_home(raw, setting.env))
        if setting.key == "store":
            _store_home(raw, setting.env)
        return raw
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{setting.env} must be a whole number, not {raw!r}") from None
    if not setting.least <= value <= 1000:
        raise UsageError(f"{setting.env} must be between {setting.least} and 1000, not {value}")
    return value


def _kind_name(setting: Setting) -> str:
    return {int: "an integer", float: "a number"}.get(setting.kind, "a string")


def _one_of(setting: Setting) -> str:
    return " or ".join(repr(c) for c in setting.choices)


def _dollars(value: float, what: str) -> float:
    """A number of dollars, 0 to MOST_DOLLARS (NaN passes no check)."""
    if not 0 <= value <= MOST_DOLLARS:
        raise UsageError(f"{what} must be between 0 and {MOST_DOLLARS:,}, not {value:g}")
    return value


def value_of(key: str, env: Mapping[str, str] = os.environ) -> Any:
    """One setting's effective value, flags aside: the environment, the file, the default."""
    for setting, value, _source in resolve(load(env=env), env):
        if setting.key == key:
            return value
    raise KeyError(key)


def data_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The user-wide data folder: $XDG_DATA_HOME/mlcc-ci, else ~/.local/share/mlcc-ci. The
    store's default without a settings file (else settings.state_dir); the generator's."""
    base = env.get("XDG_DATA_HOME")
    if not base:
        try:
            base = str(expand_home(env.get("HOME") or "~", "HOME") / ".local/share")
        except UsageError as exc:  # no HOME, and no home folder for this user
            raise UsageError(
                f"no user-wide data folder: {exc}; set XDG_DATA_HOME (or HOME), or name a "
                "store (--store, MLCC_CI_STORE)"
            ) from None
    return Path(base) / "mlcc-ci"


def state_dir(env: Mapping[str, str] = os.environ, start: Path | None = None) -> Path:
    """Where this repository's results and run folders go by default: `.mlcc-ci/` beside
    the settings file; with none, the user-wide data folder, as before there were settings."""
    found = find(start)
    if found is not None:
        return found.parent / STATE_FOLDER
    return data_dir(env)


def work_root(env: Mapping[str, str] = os.environ) -> Path:
    """The work folder (each run's folder goes in it): MLCC_CI_WORK, else `work` in the
    settings file (relative to it), else `work/` in the state folder. `--work-dir` wins."""
    chosen = value_of("work", env)
    if chosen:
        return Path(chosen).expanduser().absolute()
    return state_dir(env) / "work"


def make_folder(path: Path) -> None:
    """Make the folder `path` (a store's, a work folder). A `.mlcc-ci` folder made on the way
    ignores itself, as pytest's cache does: a `.gitignore` of `*` inside it."""
    path = path.absolute()
    for folder in (*reversed(path.parents), path):
        if folder.name != STATE_FOLDER:
            continue
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue  # someone else's to keep as they like
        (folder / ".gitignore").write_text(
            "# Made by mlcc-ci: its results and run folders, never committed.\n*\n"
        )
    path.mkdir(parents=True, exist_ok=True)
