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
from llmaudit.render import FORMULA_START, csv_safe, json_safe

CSV_COLUMNS = (*FIELDS, *EXPORT_FIELDS)
# the first characters csv_safe may act on; any other text is left as it is when printable
_FORMULA_FIRST = frozenset(c for c in FORMULA_START if c.isprintable())


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


# json.dumps with options builds an encoder on every call: this one is built once
_ROW_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    encode = _ROW_JSON.encode
    for row in rows:
        yield json_safe(encode(row))


def _cell(value: Any) -> str:
    """The text of a CSV cell of anything but None and the text csv_safe leaves as it is."""
    if type(value) is bool:
        return "true" if value else "false"
    if isinstance(value, dict):
        return csv_safe(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if isinstance(value, str):
        return csv_safe(value)
    return str(value)  # what the csv writer writes of a number


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
    columns, first, commas = CSV_COLUMNS, _FORMULA_FIRST, len(CSV_COLUMNS) - 1
    for row in rows:
        # csv_safe's two tests inline: most text passes both, and is its own cell
        cells = [
            ""
            if value is None
            else value
            if type(value) is str and value[:1] not in first and value.isprintable()
            else _cell(value)
            for value in map(row.get, columns)
        ]
        line = ",".join(cells)
        # as the writer would write it, unless a cell needs quoting (a comma, a quote or a
        # line break in it)
        if line.count(",") == commas and '"' not in line and "\n" not in line and "\r" not in line:
            yield line
            continue
        writer.writerow(cells)
        yield take()
