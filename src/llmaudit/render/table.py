"""Rich tables for the terminal. Narrow terminals drop the least important columns first."""

from __future__ import annotations

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
    for col in columns:
        rich_table.add_column(
            col.header,
            justify="right" if col.align == "right" else "left",
            overflow="fold",
            no_wrap=col.align == "right",
        )
    for row in table.rows:
        rich_table.add_row(*(col.show(row.get(col.key)) for col in columns))
    return rich_table


def _natural_width(table: Table, columns: list) -> int:
    total = 1
    for col in columns:
        cells = [len(col.show(r.get(col.key))) for r in table.rows]
        total += max([len(col.header), *cells]) + 3
    return total
