"""Text that is safe to put on a terminal: no escape sequences, no control characters.

A stage's stderr, an item another tool wrote, a file name in an error: any of them could
carry `ESC ] 0 ; title BEL` or a CSI sequence that rewrites the user's terminal. Everything
mlcc-ci prints passes through `printable` at the points where outside text comes in.
"""

import re

_SEQUENCES = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST (or not at all)
    r"|[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC
    r"|[@-Z\\-_])"  # any other two-byte sequence
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without escape sequences; other control characters (all but tab and
    newline) shown as '?'."""
    if text.isprintable():  # no control character at all: nothing to take out (fast, in C)
        return text
    return _CONTROLS.sub("?", _SEQUENCES.sub("", text))


def capped(text: str, limit: int) -> str:
    """At most `limit` characters, with a visible '…' when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
