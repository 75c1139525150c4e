"""The failure rules' patterns, matched by RE2 (`google-re2`): linear in the length of the log
whatever the pattern, so no rule can backtrack for ever as Python's `re` does on `(x+x+)+y`.

RE2 has no lookaround and no backreferences; a pattern it cannot take is refused where it is
written (`catalog validate`) with why, in one line.
"""

import re
from typing import Any

import re2

# A compiled RE2 pattern (re2 ships no type information)
Pattern = Any

_LINEAR = "RE2 matches in linear time, without lookaround or backreferences"
# What RE2 says, and what it means for someone who wrote a Python regular expression
_UNSUPPORTED = (
    ("invalid perl operator: (?=", f"lookahead (?=...) is not supported: {_LINEAR}"),
    ("invalid perl operator: (?!", f"lookahead (?!...) is not supported: {_LINEAR}"),
    ("invalid perl operator: (?<=", f"lookbehind (?<=...) is not supported: {_LINEAR}"),
    ("invalid perl operator: (?<!", f"lookbehind (?<!...) is not supported: {_LINEAR}"),
    ("invalid perl operator: (?P", f"backreferences ((?P=...)) are not supported: {_LINEAR}"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported (nor needed)"),
    ("invalid perl operator: (?#", "comments (?#...) are not supported"),
    ("pattern too large", "too large once compiled: RE2 unrolls {n,m}; use fewer or smaller ones"),
)
_BACKREFERENCE = re.compile(r"invalid escape sequence: (\\[1-9])")
_REPEAT = re.compile(r"invalid repetition size: (\{[0-9,]*\})")
# `x{,3}`: 0 to 3 for Python's re, the literal text "{,3}" for RE2
_PYTHON_REPEAT = re.compile(r"(?:^|([^\\]))\{,([0-9]+)\}")


class PatternError(ValueError):
    """A pattern RE2 refuses: the message says why, for someone who wrote a Python regex."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # else RE2 logs each refused pattern to stderr itself
    return options


def compile_pattern(text: str) -> Pattern:
    """`text` compiled by RE2, or PatternError("not an RE2 pattern: why")."""
    if found := _PYTHON_REPEAT.search(text):
        atom, most = found.group(1) or "", found.group(2)
        raise PatternError(
            f"not an RE2 pattern: {atom}{{,{most}}} means 0 to {most} in Python but is "
            f"literal text in RE2: write {{0,{most}}}"
        )
    try:
        return re2.compile(text, _options())
    except re2.error as exc:
        raise PatternError(f"not an RE2 pattern: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    said = exc.args[0] if exc.args else ""
    said = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    for start, meaning in _UNSUPPORTED:
        if said.startswith(start):
            return meaning
    if found := _BACKREFERENCE.match(said):
        return f"backreferences ({found.group(1)}) are not supported: {_LINEAR}"
    if found := _REPEAT.match(said):
        return (
            f"{found.group(1)}: a counted repetition goes up to 1000 (write * for one RE2 "
            "needs no bound for)"
        )
    return said
