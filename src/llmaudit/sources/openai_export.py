"""OpenAI's usage dashboard exports: the completions usage CSV, one row per bucket (a day) and
group (project, user, key, model, batch, service tier), read as usage; the cost CSV is not
usage: ``ingest`` names it, and ``reconcile --billed FILE`` reads it as the bill.

The usage export is the Usage API's completions result flattened (a real export's header):
``start_time``, ``end_time`` (Unix seconds), ``start_time_iso``, ``end_time_iso``,
``project_id``, ``num_model_requests``, ``user_id``, ``api_key_id``, ``model``, ``batch``
(``TRUE``/``FALSE``), ``service_tier``, ``input_tokens``, ``output_tokens``,
``input_cached_tokens``, ``input_uncached_tokens``, ``input_text_tokens``,
``output_text_tokens``, ``input_cached_text_tokens``, the audio and image counts. Counts are
written as floats (``59200.0``); a day without usage is a row of empty groups. Tab-separated
copies of it (pasted from a spreadsheet) are read too. Tokens follow the API: input includes
cached input; the same row rules as the API source (``sources/apis/openai.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from llmaudit.errors import DataError, RecordError
from llmaudit.ledger.api import BilledLine
from llmaudit.model.record import UsageRecord
from llmaudit.sources.apis.openai import openai_costs, usage_record
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import Skip, text
from llmaudit.sources.documents import all_or_nothing, csv_columns, csv_rows, items

KIND = "openai-export"
USAGE = ("start_time", "end_time", "num_model_requests", "model", "input_tokens", "output_tokens")
COST = ("start_time", "end_time", "amount_value", "amount_currency", "line_item")
_WHOLE = re.compile(r"-?\d+(\.0*)?")


def _header(head: str) -> tuple[set[str], str]:
    """The header's columns, and the delimiter: a tab for a copy pasted from a spreadsheet."""
    first = head.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    return csv_columns(head, delimiter), delimiter


def _value(value: str | None) -> Any:
    """A cell as the API would have it: empty -> None, ``TRUE`` -> True, ``10.0`` -> 10."""
    raw = text(value)
    if raw is None:
        return None
    if raw.upper() in ("TRUE", "FALSE"):
        return raw.upper() == "TRUE"
    if _WHOLE.fullmatch(raw):
        return int(raw.split(".")[0])
    return raw


def _unix(row: dict[str, Any], field: str) -> datetime:
    value = row.get(field)
    if not isinstance(value, int) or not 0 <= value < 10**10:
        raise RecordError(f"must be Unix seconds, got {row.get(field)!r}", field=field)
    return datetime.fromtimestamp(value, timezone.utc)


def _record(row: dict[str, str], location: str) -> UsageRecord:
    values = {k: _value(v) for k, v in row.items()}
    if values.get("model") is None and not values.get("num_model_requests"):
        raise Skip("buckets without usage")
    start, end = _unix(values, "start_time"), _unix(values, "end_time")
    return usage_record(values, start, end, "usage/completions", kind=KIND, location=location)


class OpenAIExport(Source):
    name = KIND
    summary = "OpenAI usage dashboard export (the completions usage CSV; the cost CSV explained)"
    extensions = (".csv", ".tsv")
    # A later export of the same days replaces their rows (same bucket and group: same key).

    def sniff(self, head: str) -> bool:
        columns, _ = _header(head)
        return all(c in columns for c in USAGE) or all(c in columns for c in COST)

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        columns, delimiter = _header(inp.head(4096))
        if not all(c in columns for c in USAGE):
            reason = (
                "rows of OpenAI's cost export, not usage (it is the bill: 'llmaudit reconcile "
                "--billed FILE' reads it)"
            )
            for _ in csv_rows(inp, delimiter):
                inp.skipped[reason] += 1
            return
        yield from items(inp, csv_rows(inp, delimiter), _record)


def billed_lines(inp: InputFile) -> list[BilledLine]:
    """The lines of OpenAI's cost export (``amount_value`` in ``amount_currency`` per bucket,
    ``line_item`` and ``project_id``), as the API's cost report gives them, for `reconcile
    --billed`. Days without cost (empty rows) are passed over; a bad row is a DataError naming
    the file, line and field: a bill read in part would reconcile wrong."""
    columns, delimiter = _header(inp.head(4096))
    if not all(c in columns for c in COST):
        raise DataError(
            f"{inp.location}: not OpenAI's cost export (it needs the columns {', '.join(COST)})"
        )
    return all_or_nothing(inp, csv_rows(inp, delimiter), _cost_lines)


def _cost_lines(row: dict[str, str]) -> list[BilledLine]:
    values = {k: _value(v) for k, v in row.items()}
    if values.get("amount_value") is None:
        return []  # a bucket without cost
    _unix(values, "start_time"), _unix(values, "end_time")  # checked, with their names
    currency = str(values.get("amount_currency") or "usd").lower()
    if currency != "usd":
        raise RecordError(f"is {currency!r}; llmaudit reconciles in USD", field="amount_currency")
    result = {
        "amount": {"value": row.get("amount_value"), "currency": currency},
        "line_item": values.get("line_item"),
        "project_id": values.get("project_id"),
    }
    bucket = {k: values[k] for k in ("start_time", "end_time")}
    return [
        BilledLine("openai", c.ts, c.model, c.project, c.amount_usd, c.line_item, c.cost_type)
        for c in openai_costs({**bucket, "results": [result]}, "costs")
    ]
