"""The interchange format's field names (llmaudit JSONL, docs/format.md) and a record -> object.

Token fields follow the OpenTelemetry GenAI convention: ``input_tokens`` counts all input
(cache reads and writes included) and the cache fields say how much of it was cache traffic;
``output_tokens`` counts all output and ``reasoning_tokens`` how much of it was reasoning.
"""

from __future__ import annotations

import json
from typing import Any

from llmaudit.model.record import ATTRIBUTION_FIELDS, UsageRecord
from llmaudit.model.values import decimal_str, format_ts

TOKEN_KEYS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)
ATTRIBUTION_KEYS = ATTRIBUTION_FIELDS
# Written by `llmaudit export` beside the record; derived, so ignored when read back.
EXPORT_FIELDS = (
    "cost_usd",
    "cost_input_usd",
    "cost_cache_read_usd",
    "cost_cache_write_usd",
    "cost_output_usd",
    "cost_other_usd",
    "price_id",
    "priced",
)
FIELDS = (
    "ts",
    "ts_end",
    "provider",
    "model",
    "requests",
    *TOKEN_KEYS,
    "service_tier",
    *ATTRIBUTION_KEYS,
    "tags",
    "latency_ms",
    "ttft_ms",
    "status",
    "request_id",
    "reported_cost_usd",
    # Written by `llmaudit export`: the record's key in the ledger it came from, so that
    # ingesting an export (into that ledger or another) recognises records it already has.
    "record_key",
)


def record_to_object(rec: UsageRecord) -> dict[str, Any]:
    """A record -> one interchange object (absent values left out; cost as a decimal string)."""
    obj: dict[str, Any] = {"ts": format_ts(rec.ts)}
    if rec.ts_end is not None:
        obj["ts_end"] = format_ts(rec.ts_end)
    obj.update(
        provider=rec.provider,
        model=rec.model,
        requests=rec.requests,
        input_tokens=rec.input_total,
        cache_read_tokens=rec.cache_read,
        cache_write_tokens=rec.cache_write,
        cache_write_1h_tokens=rec.cache_write_1h,
        output_tokens=rec.output,
        reasoning_tokens=rec.reasoning,
        service_tier=rec.service_tier,
    )
    for key in ATTRIBUTION_KEYS:
        value = getattr(rec, key)
        if value is not None:
            obj[key] = value
    if rec.tags:
        obj["tags"] = dict(rec.tags)
    for key in ("latency_ms", "ttft_ms"):
        value = getattr(rec, key)
        if value is not None:
            obj[key] = value
    obj["status"] = rec.status
    if rec.request_id is not None:
        obj["request_id"] = rec.request_id
    if rec.reported_cost_usd is not None:
        obj["reported_cost_usd"] = decimal_str(rec.reported_cost_usd)
    if rec.key is not None:
        obj["record_key"] = rec.key
    return obj


def dumps(rec: UsageRecord) -> str:
    return json.dumps(record_to_object(rec), ensure_ascii=False, separators=(",", ":"))
