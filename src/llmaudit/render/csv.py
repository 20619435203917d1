from __future__ import annotations

import csv
import io

from llmaudit.render import Table


def render_csv(table: Table) -> str:
    """Raw values (no display formatting), one header row, RFC 4180 quoting."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.key for c in table.columns])
    for row in table.rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in table.columns])
    return buf.getvalue().rstrip("\n")
