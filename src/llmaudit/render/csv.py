from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from llmaudit.model.money import decimal_text
from llmaudit.render import Table, csv_safe


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return csv_safe(", ".join(map(str, value)))
    if isinstance(value, str):
        return csv_safe(value)
    return value


def render_csv(table: Table) -> str:
    """Raw values (no display formatting), one header row, RFC 4180 quoting."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    columns = [c for c in table.columns if c.csv]
    writer.writerow([c.key for c in columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(c.key)) for c in columns])
    return buf.getvalue().rstrip("\n")
