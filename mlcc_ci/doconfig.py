"""Read a generated project's `do/config` without running it.

The file is bash: `export KEY="value"`, `KEY=${KEY:-default}`, sometimes `$(aws ...)`.
It is parsed, never sourced. `${VAR:-default}` and `$VAR` resolve from what the file set
earlier, then the environment, then the default — as bash would; a value that needs a
command substitution is unknown (None), because mlcc-ci never runs one.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlcc_ci.files import read_regular

_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")


class Unknown(Exception):
    """The value needs a command substitution."""


@dataclass(frozen=True)
class ConfigValue:
    value: str | None  # None: unknown (needs a command we will not run)
    line: int


# Whole words of a name (between underscores) that make it a secret's: MYSQL_PWD, DB_PASS,
# SLACK_WEBHOOK_URL, SENTRY_DSN, BASIC_AUTH. As words only: AUTHOR, PASSPORT and BYPASS are
# not secrets, nor is the shell's own PWD, the current folder.
_SECRET_PARTS = frozenset({"PASS", "PWD", "AUTH", "OAUTH", "WEBHOOK", "DSN", "COOKIE"})
_NOT_SECRET = frozenset({"PWD", "OLDPWD"})


def is_secret(name: str) -> bool:
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    return any(word in upper for word in _SECRET_WORDS) or not _SECRET_PARTS.isdisjoint(
        re.split(r"[^A-Z0-9]+", upper)
    )


# A generated file larger than this is not read: nothing the generator writes comes close.
READ_LIMIT = 2 * 1024 * 1024


def values(path: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The values a project file (do/config, do/ic/*.conf) sets that are known and not empty;
    nothing when it is missing or not a regular file of sane size (a FIFO never blocks)."""
    try:
        text = read_regular(path, READ_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return {}
    return {k: v.value for k, v in parse(text, env).items() if v.value}


def parse(text: str, env: Mapping[str, str]) -> dict[str, ConfigValue]:
    values: dict[str, ConfigValue] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        match = _ASSIGN.match(raw)
        if not match:
            continue
        name, rhs = match.groups()
        scope = {**env, **{k: v.value for k, v in values.items() if v.value is not None}}
        unknown = {k for k, v in values.items() if v.value is None}
        try:
            value: str | None = _word(_strip_comment(rhs.strip()), scope, unknown)
        except Unknown:
            value = None
        values[name] = ConfigValue(value, number)
    return values


def _strip_comment(text: str) -> str:
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1].isspace()):
            return text[:i].rstrip()
    return text


def _word(text: str, scope: Mapping[str, str], unknown: set[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            end = text.find("'", i + 1)
            end = len(text) if end < 0 else end
            out.append(text[i + 1 : end])
            i = end + 1
        elif ch == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(_expand(text[i + 1 : end], scope, unknown))
            i = end + 1
        else:
            end = i
            while end < len(text) and text[end] not in "'\"":
                end += 1
            out.append(_expand(text[i:end], scope, unknown))
            i = end
    return "".join(out)


_PARAM = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def _expand(text: str, scope: Mapping[str, str], unknown: set[str]) -> str:
    if "$(" in text or "`" in text:
        raise Unknown
    text = re.sub(r"\\([\"\\$`])", r"\1", text)

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        if name in unknown:
            raise Unknown
        current = scope.get(name)
        op, default = match.group(2), match.group(3)
        if op and (current is None or (op.startswith(":") and current == "")):
            return _expand(default or "", scope, unknown)
        return current or ""

    return _PARAM.sub(sub, text)
