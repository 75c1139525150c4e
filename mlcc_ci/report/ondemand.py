"""Tables at scale: rows beyond the first screen, and histories, as compact data a page
renders on demand (reports/ondemand.js) instead of as HTML.

A table of at most SMALL rows is HTML, whole, as it always was. A larger one has its first
FIRST_SCREEN rows as HTML and every row as data: one JSON document, deflated and base64'd
into a `<script type="application/octet-stream">` block (`block`), which the page inflates
with the browser's DecompressionStream. Its search, filters and sorting run over every row;
rows are built as they are shown (a page at a time, more as the table is scrolled), and a
row's history only when asked for (embedded, or fetched from `historyUrl` + the row's id).

Nothing in the data is markup: the page builds elements from it and puts every value in
with textContent or setAttribute (a fixed few attributes), so nothing needs escaping here;
the block is base64, which cannot close its script element.

Any table can use it (`table_data`, `block`, and `script` inlined after the block): a row is
`{"k": {key: text}` (what filters, search and sorting read, also set as the row's data-
attributes), `"c": [cell, ...]` (each cell a list of parts, see `text` and `element`),
`"h"`: its history's index in "histories", `"id"`: its id for `historyUrl`}.
"""

import base64
import json
import zlib
from collections.abc import Sequence
from functools import cache
from typing import Any

from markupsafe import Markup

SMALL = 200  # a table of at most this many rows is rendered whole, as HTML
FIRST_SCREEN = 50  # of a larger table, the rows rendered as HTML; the rest come from data
DATA_ID = "report-data"  # the block's id, which the script looks for

Part = list[Any]


def text(value: str) -> Part:
    """A text node."""
    return ["t", value]


def element(tag: str, value: str, cls: str = "", **attrs: str) -> Part:
    """An element (span, div, b, time, pre, code) holding `value` as text; `attrs`: title,
    datetime or since (data-since)."""
    return ["e", tag, cls, value, attrs] if attrs else ["e", tag, cls, value]


def details(summary: str, parts: Sequence[Part], cls: str = "") -> Part:
    """A <details> whose <summary> is `summary`, holding `parts`."""
    return ["d", cls, summary, list(parts)]


def items(values: Sequence[str]) -> Part:
    """A <ul> of one <li> per text."""
    return ["ul", list(values)]


@cache
def script() -> str:
    """The script that renders such a table (reports/ondemand.js), to inline in the page
    after the block; a page with a Content-Security-Policy allows its hash."""
    from mlcc_ci.resources import data_path

    return (data_path("reports") / "ondemand.js").read_text(encoding="utf-8")


def pack(value: Any) -> str:
    """`value` as JSON, deflated (zlib, which DecompressionStream("deflate") reads) and
    base64'd."""
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def unpack(packed: str) -> Any:
    """What `pack` packed."""
    return json.loads(zlib.decompress(base64.b64decode(packed)))


def block(data: dict[str, Any], table: str = "configs") -> Markup:
    """The data of the table whose id is `table`, as the page's script finds it."""
    return Markup(
        f'<script type="application/octet-stream" id="{DATA_ID}" data-table="{table}">'
        f"{pack(data)}</script>"
    )


def table_data(
    rows: Sequence[dict[str, Any]],
    *,
    first: int,
    histories: Sequence[Any] | None = None,
    history_url: str | None = None,
    charts: dict[str, Any] | None = None,
    cell_classes: Sequence[str] = (),
) -> dict[str, Any]:
    """What `block` embeds: every row (`first`: how many of them the page has as HTML
    already, in this order), their histories (or `history_url`, where the page fetches
    one: the URL plus the row's id, answering {"view": history}), what the charts draw
    with (`charts`: "status" and "stage" colours, the pass rate's "window"), and the class
    of each cell of a row built from data."""
    return {
        "v": 1,
        "first": first,
        "rows": list(rows),
        "histories": list(histories) if histories is not None else None,
        "historyUrl": history_url,
        "charts": charts or {},
        "cellClasses": list(cell_classes),
    }
