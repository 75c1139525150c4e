"""The failure rules' patterns, matched by RE2 (`google-re2`): linear in the length of the log
whatever the pattern, so no rule can backtrack for ever as Python's `re` does on `(x+x+)+y`.

RE2 has no lookaround and no backreferences; a pattern it cannot take is refused where it is
written (`catalog validate`) with why, in one line.
"""

import re
from typing import Any

# A compiled RE2 pattern (re2 ships no type information)
Pattern = Any

_LINEAR = "RE2 matches in linear time, without lookaround or backreferences"
# The part of a pattern RE2 stops at (what it says after its ": "), and what that means for
# someone who wrote a Python regular expression (RE2's wording varies between its versions)
_UNSUPPORTED = (
    ("(?=", f"lookahead (?=...) is not supported: {_LINEAR}"),
    ("(?!", f"lookahead (?!...) is not supported: {_LINEAR}"),
    ("(?<=", f"lookbehind (?<=...) is not supported: {_LINEAR}"),
    ("(?<!", f"lookbehind (?<!...) is not supported: {_LINEAR}"),
    ("(?P=", f"backreferences ((?P=...)) are not supported: {_LINEAR}"),
    ("(?>", "atomic groups (?>...) are not supported (nor needed)"),
    ("(?#", "comments (?#...) are not supported"),
)
_TOO_LARGE = "too large once compiled: RE2 unrolls {n,m}; use fewer or smaller ones"
_BACKREFERENCE = re.compile(r"invalid escape sequence: (\\[1-9])")
_REPEAT = re.compile(r"invalid repetition size: (\{[0-9,]*\})")
# `x{,3}`: 0 to 3 for Python's re, the literal text "{,3}" for RE2
_PYTHON_REPEAT = re.compile(r"(?:^|([^\\]))\{,([0-9]+)\}")


MAX_MEM = 64 << 20
# RE2's bound on a counted repetition, and on the product of nested ones
REPEAT_MAX = 1000


class PatternError(ValueError):
    """A pattern RE2 refuses: the message says why, for someone who wrote a Python regex."""


def _options() -> Any:
    import re2  # here: 3 ms that commands reading no rules do not pay

    options = re2.Options()
    options.log_errors = False  # else RE2 logs each refused pattern to stderr itself
    # RE2's default 8 MB leaves its DFA out of memory on a pattern of ten {0,200}, and its
    # fallback takes 1.2 s on 64 KB; with 64 MB the DFA takes ~50 ms (benchmarks/bench_rules).
    # A cap, not an allocation: the DFA's states are built as the text needs them.
    options.max_mem = MAX_MEM
    return options


def compile_pattern(text: str) -> Pattern:
    """`text` compiled by RE2, or PatternError("not an RE2 pattern: why")."""
    if found := _PYTHON_REPEAT.search(text):
        atom, most = found.group(1) or "", found.group(2)
        raise PatternError(
            f"not an RE2 pattern: {atom}{{,{most}}} means 0 to {most} in Python but is "
            f"literal text in RE2: write {{0,{most}}}"
        )
    import re2

    try:
        return re2.compile(text, _options())
    except re2.error as exc:
        raise PatternError(f"not an RE2 pattern: {_why(text, exc)}") from None


def _why(pattern: str, exc: Exception) -> str:
    said = exc.args[0] if exc.args else ""
    said = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    if said.startswith("pattern too large"):
        return _TOO_LARGE
    part = said.split(": ", 1)[1] if ": " in said else ""
    if part == "(?P" and "(?P=" in pattern:  # RE2 shows no more of a (?P=name)
        part = "(?P="
    for start, meaning in _UNSUPPORTED:
        if part.startswith(start):
            return meaning
    if found := _BACKREFERENCE.match(said):
        return f"backreferences ({found.group(1)}) are not supported: {_LINEAR}"
    if found := _REPEAT.match(said):
        return _repeat_too_large(pattern, found.group(1))
    return said


def _repeat_too_large(pattern: str, said: str) -> str:
    """Why RE2 refused the repetition `said` ("{10}"): itself over 1000, or nested in others
    (RE2 multiplies nested counts: {0,200} inside {10} is 2000)."""
    own = [int(n) for n in said.strip("{}").split(",") if n]
    if not own or max(own) > REPEAT_MAX:
        return (
            f"{said}: a counted repetition goes up to {REPEAT_MAX} (write * for one RE2 "
            "needs no bound for)"
        )
    chain = _largest_nesting(pattern)
    if len(chain) > 1 and _product(chain) > REPEAT_MAX:
        nested = " inside ".join(_counted(low, high) for low, high in reversed(chain))
        told = f"{nested} is {_product(chain)} repetitions"
    else:  # a pattern Python's parser reads otherwise than RE2: RE2's own word
        told = f"{said} inside others"
    return (
        f"nested counted repetitions multiply ({told}; RE2 allows at most {REPEAT_MAX} in "
        "all): use fewer or smaller ones, or * where no bound is needed"
    )


def _times(low: int, high: int | None) -> int:
    """How many times RE2 counts a repetition {low,high} (high is None for {low,})."""
    return low if high is None else high


def _product(chain: list[tuple[int, int | None]]) -> int:
    result = 1
    for low, high in chain:
        result *= _times(low, high)
    return result


def _counted(low: int, high: int | None) -> str:
    if high is None:
        return f"{{{low},}}"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _largest_nesting(pattern: str) -> list[tuple[int, int | None]]:
    """The nested counted repetitions, outermost first, whose counts multiply the most, as
    Python's parser reads `pattern` (near enough to RE2's for counted repetitions); [] when
    it cannot read it. `*`, `+` and `?` count once, as in RE2."""
    from re import _parser  # type: ignore[attr-defined]  # stdlib, private since 3.11

    try:
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return []

    def walk(items: Any) -> list[tuple[int, int | None]]:
        best: list[tuple[int, int | None]] = []
        for op, value in items:
            inner: list[tuple[int, int | None]] = []
            here: list[tuple[int, int | None]] = []
            if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
                low, high, body = value
                bounded = None if high == _parser.MAXREPEAT else high
                if _times(low, bounded) > 1:
                    here = [(low, bounded)]
                inner = walk(body)
            elif op == _parser.SUBPATTERN:
                inner = walk(value[-1])
            elif op == _parser.BRANCH:
                inner = max((walk(branch) for branch in value[1]), key=_product, default=[])
            elif op in (_parser.ASSERT, _parser.ASSERT_NOT):
                inner = walk(value[1])
            candidate = here + inner
            if _product(candidate) > _product(best):
                best = candidate
        return best

    return walk(parsed)
