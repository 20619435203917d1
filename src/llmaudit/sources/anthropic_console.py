"""The Claude Console's usage export: the CSV the Usage page downloads, one row per day, model,
API key and workspace (and usage type, context window, inference geo and speed). The Cost
page's export (``usage_date_utc``, ``model``, ``token_type``, ``cost_usd``) is not usage:
``ingest`` names it, and ``reconcile --billed FILE`` reads it as the bill.

Columns (the export's header as several independent tools that import real exports read it):
``usage_date_utc``, ``model_version``, ``api_key`` (the key's name), ``workspace``,
``usage_type``, ``context_window`` (``≤ 200k``, ``> 200k``), ``usage_input_tokens_no_cache``,
``usage_input_tokens_cache_write_5m``, ``usage_input_tokens_cache_write_1h``,
``usage_input_tokens_cache_read``, ``usage_output_tokens``, ``web_search_count``,
``inference_geo``, ``speed``. Older exports have one ``usage_input_tokens_cache_write`` column
(5-minute writes: the only kind then) and may lack the later columns.

Token categories are disjoint, as in the Admin API's usage report it mirrors. A row has no
request count (``requests`` 0). The row's context window decides the long-context price; an
export without that column is standard context (a day's tokens say nothing of one request's).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from llmaudit.errors import DataError, RecordError
from llmaudit.ledger.api import BilledLine
from llmaudit.model.record import UsageRecord
from llmaudit.model.values import parse_ts, to_decimal
from llmaudit.sources.apis.anthropic import ANTHROPIC_TIERS
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import count, required, text
from llmaudit.sources.documents import all_or_nothing, csv_columns, csv_rows, items

KIND = "anthropic-console"
REQUIRED = ("usage_date_utc", "model_version", "usage_input_tokens_no_cache", "usage_output_tokens")
# The Cost page's export: dollars per day, model (display name) and token type. Not usage:
# ingest names it; `reconcile --billed` reads it as the bill (the only columns known here).
COST = ("usage_date_utc", "model", "token_type", "cost_usd")
# Dimensions that make a row one row: its identity in the ledger.
_DIMENSIONS = (
    "usage_date_utc",
    "model_version",
    "api_key",
    "workspace",
    "usage_type",
    "context_window",
    "inference_geo",
    "speed",
)


def _tokens(row: dict[str, str], column: str) -> int:
    # the console writes plain integers; a spreadsheet round trip may add thousands commas
    value = (row.get(column) or "").replace(",", "").strip()
    return count(value, column)


def _window(value: str | None) -> str:
    """``≤ 200k`` -> ``0-200k`` (standard); ``> 200k`` -> ``200k+`` (long); none: standard."""
    if value is None:
        return "0-200k"
    m = re.fullmatch(r"(≤|<=|<|>|≥|>=)\s*(\S+)", value)
    if m:
        return f"0-{m[2]}" if m[1] in ("≤", "<=", "<") else f"{m[2]}+"
    if re.fullmatch(r"0-\S+|\S+-\S+", value):  # the Admin API's own "0-200k", "200k-1M"
        return value
    raise RecordError(
        f"is not a context window like '≤ 200k', got {value[:40]!r}", field="context_window"
    )


def _day(row: dict[str, str]) -> datetime:
    """``usage_date_utc``: a UTC day (``2026-11-20``), or a time within it."""
    day = required(row, "usage_date_utc")
    return parse_ts(day + "T00:00:00Z" if len(day) == 10 else day, "usage_date_utc")


def record(row: dict[str, str], location: str) -> UsageRecord:
    model = required(row, "model_version")
    start = _day(row)
    usage_type = text(row.get("usage_type"))
    tags = {"context_window": _window(text(row.get("context_window")))}
    for column in ("usage_type", "inference_geo", "speed"):
        value = text(row.get(column))
        if value:
            tags[column] = value
    searches = _tokens(row, "web_search_count")
    if searches:
        tags["web_search_requests"] = str(searches)
    write_5m = _tokens(row, "usage_input_tokens_cache_write_5m") + _tokens(
        row, "usage_input_tokens_cache_write"
    )
    identity = repr([text(row.get(c)) for c in _DIMENSIONS])
    return UsageRecord(
        ts=start,
        ts_end=start + timedelta(days=1),
        provider="anthropic",
        model=model,
        requests=0,  # the export has no request count
        input_uncached=_tokens(row, "usage_input_tokens_no_cache"),
        cache_read=_tokens(row, "usage_input_tokens_cache_read"),
        cache_write_5m=write_5m,
        cache_write_1h=_tokens(row, "usage_input_tokens_cache_write_1h"),
        output=_tokens(row, "usage_output_tokens"),
        service_tier=ANTHROPIC_TIERS.get(usage_type or "", "standard"),
        project=text(row.get("workspace")),
        api_key=text(row.get("api_key")),
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=hashlib.sha256(identity.encode()).hexdigest()[:32],
    )


class AnthropicConsole(Source):
    name = KIND
    summary = "Claude Console usage export (the Usage page's CSV, a row per day, model and key)"
    extensions = (".csv",)
    # A later export of the same days replaces their rows (the day's totals grow until it ends).

    def sniff(self, head: str) -> bool:
        columns = csv_columns(head)
        return all(c in columns for c in REQUIRED) or all(c in columns for c in COST)

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        if not all(c in csv_columns(inp.head(4096)) for c in REQUIRED):
            reason = (
                "rows of the Claude Console's cost export, not usage (it is the bill: "
                "'llmaudit reconcile --billed FILE' reads it)"
            )
            for _ in csv_rows(inp):
                inp.skipped[reason] += 1
            return
        yield from items(inp, csv_rows(inp), record)


# The cost export's token types (as code reading real exports maps them): billed for tokens.
TOKEN_TYPES = {
    "input_no_cache",
    "input_cache_read",
    "input_cache_write_5m",
    "input_cache_write_1h",
    "output",
}


def billed_lines(inp: InputFile) -> list[BilledLine]:
    """The lines of the Claude Console's cost export (``usage_date_utc``, ``model`` as a
    display name, ``token_type``, ``cost_usd``; its other columns are not known here), for
    `reconcile --billed`. A bad row is a DataError naming the file, line and field."""
    if not all(c in csv_columns(inp.head(4096)) for c in COST):
        raise DataError(
            f"{inp.location}: not the Claude Console's cost export (it needs the columns "
            f"{', '.join(COST)})"
        )
    return all_or_nothing(inp, csv_rows(inp), _cost_line)


def _cost_line(row: dict[str, str]) -> list[BilledLine]:
    kind = text(row.get("token_type"))
    model = text(row.get("model"))
    return [
        BilledLine(
            "anthropic",
            _day(row),
            model,
            text(row.get("workspace")),
            to_decimal(required(row, "cost_usd").replace(",", ""), "cost_usd"),
            ", ".join(x for x in (model, kind) if x) or None,
            "tokens" if kind in TOKEN_TYPES else (kind or "other"),
        )
    ]
