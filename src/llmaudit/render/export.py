"""Row-per-record output for `llmaudit export`: JSON lines and CSV, streamed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from llmaudit.model.interchange import EXPORT_FIELDS, FIELDS
from llmaudit.pricing.kernel import Cost
from llmaudit.render import csv_safe, json_safe

CSV_COLUMNS = (*FIELDS, *EXPORT_FIELDS)


def cost_fields(cost: Cost) -> dict[str, Any]:
    """The export's cost columns: exact decimal strings, None where the record is unpriced."""

    def money(value: Decimal | None) -> str | None:
        return None if value is None else format(value.normalize(), "f")

    return {
        "cost_usd": money(cost.total),
        "cost_input_usd": money(cost.input),
        "cost_cache_read_usd": money(cost.cache_read),
        "cost_cache_write_usd": money(cost.cache_write),
        "cost_output_usd": money(cost.output),
        "cost_other_usd": money(cost.other),
        "price_id": cost.price_id,
        "priced": cost.priced,
    }


def jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json_safe(json.dumps(row, ensure_ascii=False, separators=(",", ":")))


def csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A header, then one line per row; tags as a JSON object, booleans as true/false."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def take() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text.rstrip("\n")

    writer.writerow(CSV_COLUMNS)
    yield take()
    for row in rows:
        cells = []
        for column in CSV_COLUMNS:
            value = row.get(column)
            if value is None:
                cells.append("")
            elif isinstance(value, bool):
                cells.append("true" if value else "false")
            elif isinstance(value, dict):
                cells.append(csv_safe(json.dumps(value, ensure_ascii=False, sort_keys=True)))
            elif isinstance(value, str):
                cells.append(csv_safe(value))
            else:
                cells.append(value)
        writer.writerow(cells)
        yield take()
