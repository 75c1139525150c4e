"""A text table that fits a width: the columns that must be there, laid out over lines one
at a time while it is too wide, then cut where they may be, then the others in order of
worth while they fit. A column with no `least` (a configuration's name) is never cut: two
names that begin alike would read the same. What is left out is said below it."""

from collections.abc import Sequence
from dataclasses import dataclass

from mlcc_ci.safetext import capped

GAP = 2  # between columns, as tabulate's "simple" format puts them
HEADER_PADDING = 2  # tabulate's MIN_PADDING: a column is at least its header and two more


@dataclass(frozen=True)
class Column:
    header: str
    cells: Sequence[str]
    required: bool = True
    narrow: Sequence[str] | None = None  # the same cells laid out narrower (over lines)
    least: int | None = None  # to fit, cells may be cut down to this
    droppable: bool = False  # a required column that may go when nothing else makes room


def _width(column: Column) -> int:
    lines = [line for cell in column.cells for line in cell.split("\n")]
    return max([len(column.header) + HEADER_PADDING, *(len(x) for x in lines)])


def _total(columns: Sequence[Column]) -> int:
    return sum(_width(c) for c in columns) + GAP * max(len(columns) - 1, 0)


def _cut(column: Column, limit: int) -> Column:
    return Column(column.header, [capped(cell, limit) for cell in column.cells], column.required)


def fit(columns: Sequence[Column], width: int) -> tuple[str, list[str]]:
    """The table, as wide as `width` allows, and the lines that name what it left out: a
    column whose every value is one and the same is that one line, else it is named."""
    from tabulate import tabulate

    chosen = {c.header: c for c in columns if c.required}

    def over() -> int:
        return _total(list(chosen.values())) - width

    for c in columns:  # too wide: over lines, one column at a time, in order
        if over() > 0 and c.header in chosen and c.narrow is not None:
            chosen[c.header] = Column(c.header, c.narrow, least=c.least, droppable=c.droppable)
    for c in columns:  # still too wide: cut what may be cut, as far as needed
        if over() > 0 and c.header in chosen and c.least:
            kept = chosen[c.header]
            chosen[c.header] = _cut(kept, max(_width(kept) - over(), c.least))
    dropped = set()
    for c in reversed(columns):  # still: leave out what may go, the last first
        if over() > 0 and c.header in chosen and c.droppable:
            del chosen[c.header]
            dropped.add(c.header)
    left_out = []
    for c in columns:
        if c.header in dropped:
            left_out.append(c)
        if c.required:
            continue
        room = width - _total(list(chosen.values())) - GAP
        if dropped:  # no room was left for what must be there
            left_out.append(c)
        elif _width(c) <= room:
            chosen[c.header] = c
        elif c.least and room >= c.least:
            chosen[c.header] = _cut(c, room)
        else:
            left_out.append(c)
    shown = [chosen[c.header] for c in columns if c.header in chosen]
    rows = [list(row) for row in zip(*(c.cells for c in shown), strict=True)]
    table = tabulate(
        rows, headers=[c.header for c in shown], tablefmt="simple", disable_numparse=True
    )
    notes = []
    named = []
    for c in left_out:
        values = {v for v in c.cells if v != "-"}
        if len(values) == 1:
            notes.append(capped(f"{c.header} of all: {values.pop()}", width))
        elif values:
            named.append(c.header)
    if named:
        notes.append(
            f"Left out to fit {width} columns: {', '.join(named)} "
            "(`mlcc-ci report NAME` shows them)"
        )
    return table, notes
