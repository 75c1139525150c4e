"""A badge in the shields.io flat style: a grey label, a message coloured by level. Pure.

Widths as shields measures them: each character's advance in Verdana 11px (their font),
a character it does not know as wide as an average letter (twice that for East Asian wide
ones), plus 5 px of padding on each side. Text is XML-escaped and its control characters
dropped (XML 1.0 has no place for them), and capped at MAX_CHARS.
"""

import unicodedata
from xml.sax.saxutils import escape

# shields' named colours for each level (confidence.LEVELS)
COLOURS = {
    "battle-tested": "#4c1",  # brightgreen
    "passing": "#97ca00",  # green
    "new": "#007ec6",  # blue
    "failing": "#e05d44",  # red
    "unknown": "#9f9f9f",  # lightgrey
}
LABEL_COLOUR = "#555"
PADDING = 5
MAX_CHARS = 64
AVERAGE = 7.0  # an unknown character's advance
WIDE = 11.0  # an East Asian wide or full-width character's

# Verdana at 11 px, the advance of each printable ASCII character (shields' table, rounded)
_ASCII = (
    (" ", 3.87),
    ("!", 4.33),
    ('"', 5.05),
    ("#", 9.0),
    ("$", 6.99),
    ("%", 11.84),
    ("&", 7.99),
    ("'", 2.95),
    ("()-/:;[\\]|", 4.99),
    ("*0123456789_`", 6.99),
    ("+<=>^~", 9.0),
    (",.", 4.0),
    ("?", 6.0),
    ("@", 11.0),
    ("AV", 7.52),
    ("BXZ", 7.54),
    ("C", 7.68),
    ("D", 8.48),
    ("E", 6.96),
    ("F", 6.32),
    ("G", 8.53),
    ("H", 8.27),
    ("I", 4.61),
    ("J", 5.0),
    ("K", 7.62),
    ("L", 6.12),
    ("M", 9.27),
    ("N", 8.23),
    ("OQ", 8.66),
    ("P", 6.63),
    ("R", 7.65),
    ("S", 7.52),
    ("T", 6.78),
    ("U", 8.05),
    ("W", 10.88),
    ("Y", 6.77),
    ("a", 6.61),
    ("bdgpq", 6.85),
    ("cs", 5.73),
    ("e", 6.55),
    ("f", 3.87),
    ("hnu", 6.96),
    ("il", 3.02),
    ("j", 3.79),
    ("kvxy", 6.51),
    ("m", 10.71),
    ("o", 6.68),
    ("r", 4.69),
    ("t", 4.33),
    ("w", 8.99),
    ("z", 5.78),
    ("{}", 6.98),
)
WIDTHS = {char: width for chars, width in _ASCII for char in chars}


def clean(text: str) -> str:
    """`text` without control characters (and other unprintable ones), at most MAX_CHARS."""
    kept = "".join(c for c in text if c.isprintable())
    return kept if len(kept) <= MAX_CHARS else kept[: MAX_CHARS - 1] + "…"


def text_width(text: str) -> float:
    """How wide `text` is in Verdana 11px, as shields measures it."""
    total = 0.0
    for char in text:
        width = WIDTHS.get(char)
        if width is None:
            wide = unicodedata.east_asian_width(char) in ("W", "F")
            width = WIDE if wide else AVERAGE
        total += width
    return total


def badge(label: str, message: str, colour: str) -> str:
    """The SVG of a flat badge `label | message`, the message on `colour`; the message
    alone for an empty label (as shields draws one)."""
    label, message = clean(label), clean(message)
    left = round(text_width(label)) + 2 * PADDING if label else 0
    right = round(text_width(message)) + 2 * PADDING
    width = left + right
    said = escape(f"{label}: {message}" if label else message, {'"': "&quot;"})
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{said}"><title>{said}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{escape(colour)}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f"{_text(label, left / 2, left - 2 * PADDING) if label else ''}"
        f"{_text(message, left + right / 2, right - 2 * PADDING)}</g></svg>"
    )


def _text(text: str, centre: float, length: int) -> str:
    """A text and its shadow, at 10 times the size and scaled down (as shields draws it)."""
    x = round(centre * 10)
    shown = escape(text)
    return (
        f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{length * 10}">{shown}</text>'
        f'<text x="{x}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{length * 10}">{shown}</text>'
    )


def level_badge(label: str, level: str) -> str:
    """The badge of a configuration at `level`."""
    return badge(label, level, COLOURS.get(level, COLOURS["unknown"]))
