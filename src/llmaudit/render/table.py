"""Rich tables for the terminal. Narrow terminals drop the least important columns first, then
fold the widest text columns at word boundaries (after - / _ and spaces), never mid-word
where a boundary will do."""

from __future__ import annotations

import re
from typing import Any

from llmaudit.render import Table


def to_rich(table: Table, width: int) -> Any:
    from rich.table import Table as RichTable

    columns = [c for c in table.columns if c.screen]
    # Drop optional columns (priority > 0), highest number first, until the table fits.
    while _natural_width(table, columns) > width and any(c.priority > 0 for c in columns):
        worst = max(columns, key=lambda c: c.priority)
        columns.remove(worst)
    rich_table = RichTable(
        title=table.title, title_justify="left", expand=False, show_header=table.show_header
    )
    limits = _fold_limits(table, columns, width)
    for col in columns:
        rich_table.add_column(
            col.header,
            justify="right" if col.align == "right" else "left",
            overflow="fold",
            no_wrap=col.align == "right" or col.key in limits,
        )
    for row in table.rows:
        cells = []
        for col in columns:
            text = col.show(row.get(col.key))
            cells.append(fold(text, limits[col.key]) if col.key in limits else text)
        rich_table.add_row(*cells)
    return rich_table


_PIECES = re.compile(r"[^-/_ ]*[-/_ ]*")
MIN_FOLD = 12  # no text column is folded narrower than this


def fold(text: str, width: int) -> str:
    """``text`` in lines of at most ``width``, broken after - / _ or a space; a piece longer
    than a line is cut (the only case that breaks inside a word)."""
    lines: list[str] = []
    line = ""
    for piece in (p for p in _PIECES.findall(text) if p):
        while len(piece) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(piece[:width])
            piece = piece[width:]
        if len(line) + len(piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
    if line or not lines:
        lines.append(line.rstrip())
    return "\n".join(lines)


def _fold_limits(table: Table, columns: list, width: int) -> dict[str, int]:
    """Widths to fold text columns to, widest first, so that the table fits ``width``."""
    limits: dict[str, int] = {}
    excess = _natural_width(table, columns) - width
    text_cols = [c for c in columns if c.align != "right"]
    while excess > 0:
        widths = {
            c.key: limits.get(c.key)
            or max((len(c.show(r.get(c.key))) for r in table.rows), default=0)
            for c in text_cols
        }
        key, widest = max(widths.items(), key=lambda kv: kv[1], default=("", 0))
        if widest <= MIN_FOLD:
            break
        header = next(len(c.header) for c in text_cols if c.key == key)
        target = max(widest - excess, MIN_FOLD, header)
        if target >= widest:
            break
        limits[key] = target
        excess -= widest - target
    return limits


def _natural_width(table: Table, columns: list) -> int:
    total = 1
    for col in columns:
        cells = [len(col.show(r.get(col.key))) for r in table.rows]
        total += max([len(col.header), *cells]) + 3
    return total
