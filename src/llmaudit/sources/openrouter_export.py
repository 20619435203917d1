"""OpenRouter's activity export: the CSV the Activity page downloads, one generation a row.

Columns (the export's header as read by several independent tools that import it, 23 or 24
columns by version): ``generation_id``, ``created_at`` (``2026-02-06 18:54:30.040``, no zone),
``cost_total``, ``cost_web_search``, ``cost_cache``, ``cost_file_processing``,
``byok_usage_inference``, ``tokens_prompt``, ``tokens_completion``, ``tokens_reasoning``,
``tokens_cached``, ``model_permaslug``, ``provider_name``, ``variant``, ``cancelled``,
``streamed``, ``user``, ``finish_reason_raw``, ``finish_reason_normalized``,
``generation_time_ms``, ``time_to_first_token_ms``, ``api_key_disabled`` (newer),
``api_key_name``, ``app_name``; some exports add ``num_search_results``.

Token convention (OpenRouter's usage accounting, OpenAI-shaped): ``tokens_prompt`` includes the
cached prompt tokens, ``tokens_completion`` includes the reasoning tokens. Times without a zone
are read as UTC (OpenRouter's activity days are UTC days; the export's zone is unconfirmed), or
in the zone ``ingest --tz`` names. Records are OpenRouter's route: priced at OpenRouter's
price for the model, or unpriced.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.values import to_decimal
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import count, required, text, utc_naive
from llmaudit.sources.documents import csv_columns, csv_rows, items

KIND = "openrouter-export"
REQUIRED = ("generation_id", "created_at", "model_permaslug", "tokens_prompt", "cost_total")


def _ms(value: Any, field: str) -> float | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        out = float(raw)
    except ValueError:
        raise RecordError(f"must be milliseconds, got {raw[:40]!r}", field=field) from None
    if not 0 <= out < 10**10:
        raise RecordError(f"must be milliseconds, got {raw[:40]!r}", field=field)
    return out


def _money(value: Any, field: str) -> Decimal | None:
    raw = text(value)
    return None if raw is None else to_decimal(raw, field)


def _part_of(row: dict[str, str], part: str, whole: str) -> tuple[int, int]:
    """(whole, part) counts of a column that OpenRouter includes in another."""
    total, some = count(row.get(whole), whole), count(row.get(part), part)
    if some > total:
        raise RecordError(f"{some} is more than {whole} {total} (which includes it)", field=part)
    return total, some


def record(row: dict[str, str], location: str, opts: Options) -> UsageRecord:
    model = required(row, "model_permaslug")
    gen_id = required(row, "generation_id")
    prompt, cached = _part_of(row, "tokens_cached", "tokens_prompt")
    output, reasoning = _part_of(row, "tokens_reasoning", "tokens_completion")
    tags: dict[str, str] = {}
    for column, tag in (
        ("provider_name", "upstream"),
        ("variant", "variant"),
        ("finish_reason_normalized", "finish_reason"),
    ):
        value = text(row.get(column))
        if value:
            tags[tag] = value
    byok = _money(row.get("byok_usage_inference"), "byok_usage_inference")
    if byok:
        tags["byok_usage_inference_usd"] = format(byok, "f")
    cancelled = (text(row.get("cancelled")) or "").lower() == "true"
    status = "abandoned" if cancelled else "ok"
    if (text(row.get("finish_reason_normalized")) or "").lower() == "error":
        status = "error"
    return UsageRecord(
        ts=utc_naive(text(row.get("created_at")), "created_at", opts.naive_tz),
        provider="openrouter",
        model=model,
        input_uncached=prompt - cached,
        cache_read=cached,
        output=output,
        reasoning=reasoning,
        status=status,
        latency_ms=_ms(row.get("generation_time_ms"), "generation_time_ms"),
        ttft_ms=_ms(row.get("time_to_first_token_ms"), "time_to_first_token_ms"),
        user=text(row.get("user")),
        api_key=text(row.get("api_key_name")),
        project=text(row.get("app_name")),
        reported_cost_usd=_money(row.get("cost_total"), "cost_total"),
        request_id=gen_id,
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=gen_id,
    )


class OpenRouterExport(Source):
    name = KIND
    summary = "OpenRouter activity export (the Activity page's CSV, one generation a row)"
    extensions = (".csv",)
    # An export is downloaded whole, never appended to: a grown file is read again, and the
    # generation ids it shares with the ledger are duplicates.

    def sniff(self, head: str) -> bool:
        return csv_columns(head) >= set(REQUIRED)

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        yield from items(inp, csv_rows(inp), partial(record, opts=opts))
