"""Helicone exports (``npx @helicone/export``): JSON lines / JSON rows of ``HeliconeRequest``,
and the 12-column CSV.

``prompt_tokens`` follows the provider's own convention: it includes cached tokens for OpenAI
and excludes them for Anthropic (whose cache tokens come in ``prompt_cache_read_tokens`` and
``prompt_cache_write_tokens``). Rows served from Helicone's cache (``cache_reference_id``) are
recorded as ``cache_hit``. The CSV has no cache columns, and its object columns are quote-escaped
twice by the export tool.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import parse_ts, to_decimal
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    attribution,
    count,
    first_objects,
    line_reject,
    text,
)
from llmaudit.sources.documents import csv_rows, rows

KIND = "helicone"
CSV_HEADER = (
    "response_id",
    "response_created_at",
    "response_status",
    "request_created_at",
    "request_body",
    "request_properties",
    "request_user_id",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "latency",
)
PROPERTY_FIELDS = {
    "helicone-session-id": "session",
    "helicone-user-id": "user",
}


def _properties(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        text_value = value
        for _ in range(3):  # the export tool escapes quotes twice
            try:
                parsed = json.loads(text_value)
            except ValueError:
                text_value = text_value.replace('""', '"')
                continue
            if isinstance(parsed, str):
                text_value = parsed
                continue
            return parsed if isinstance(parsed, dict) else {}
    return {}


def _record(row: dict[str, Any], location: str) -> UsageRecord:
    model = (
        text(row.get("model")) or text(row.get("response_model")) or text(row.get("request_model"))
    )
    if not model:
        raise RecordError("is missing", field="model")
    provider = providers.provider_name(row.get("provider")) or None
    prompt = count(row.get("prompt_tokens"), "prompt_tokens")
    read = count(row.get("prompt_cache_read_tokens"), "prompt_cache_read_tokens")
    write = count(row.get("prompt_cache_write_tokens"), "prompt_cache_write_tokens")
    anthropic = provider == "anthropic" or model.lower().startswith("claude")
    if anthropic or read + write > prompt:
        prompt += read + write  # Anthropic: prompt_tokens excludes cache
    tokens = providers.inclusive(
        prompt,
        read,
        write,
        count(row.get("completion_tokens"), "completion_tokens"),
        field="prompt_tokens",
    )
    when = row.get("request_created_at") or row.get("response_created_at")
    if not when:
        raise RecordError("is missing", field="request_created_at")
    ts = parse_ts(when, "request_created_at")
    props = _properties(row.get("request_properties") or row.get("properties"))
    flat: dict[str, Any] = {"user": row.get("request_user_id")}
    for key, value in props.items():
        low = str(key).lower()
        name = PROPERTY_FIELDS.get(low)
        if name:
            flat.setdefault(name, value)
        elif low.startswith("helicone-session-"):
            flat[low.removeprefix("helicone-")] = value
        else:
            flat.setdefault(low.removeprefix("helicone-property-"), value)
    fields, tags = attribution(flat)
    latency = row.get("delay_ms") if row.get("delay_ms") not in (None, "") else row.get("latency")
    ttft = row.get("time_to_first_token")
    cost = next(
        (row[k] for k in ("costUSD", "cost_usd", "cost") if row.get(k) not in (None, "")), None
    )
    cached = bool(text(row.get("cache_reference_id")))
    status = str(row.get("response_status") or "200")
    rid = text(row.get("request_id")) or text(row.get("response_id"))
    return UsageRecord(
        ts=ts,
        provider=provider or ("anthropic" if anthropic else "unknown"),
        model=model,
        latency_ms=_ms(latency),
        ttft_ms=_ms(ttft),
        status="cache_hit" if cached else ("error" if status[:1] in ("4", "5") else "ok"),
        request_id=rid,
        reported_cost_usd=to_decimal(cost, "cost") if cost is not None else None,
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=text(row.get("response_id")) or rid,
        **fields,
        **tokens.fields(),
    )


def _ms(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result >= 0 else None


class Helicone(Source):
    name = KIND
    summary = "Helicone exports (@helicone/export): JSON lines, JSON or the 12-column CSV"
    extensions = (".jsonl", ".json", ".csv")
    keep = "first"  # the CSV repeats JSON rows without cache columns

    def sniff(self, head: str) -> bool:
        first = head.splitlines()[0] if head else ""
        if first.replace('"', "").startswith(",".join(CSV_HEADER[:4])):
            return True
        objs = first_objects(head, 1)
        return (
            bool(objs)
            and isinstance(objs[0], dict)
            and {"response_id", "request_created_at", "prompt_tokens"} <= set(objs[0])
        )

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        if inp.head(512).lstrip()[:1] in ("[", "{"):
            for pos, raw, obj in rows(inp):
                if isinstance(obj, Reject):
                    yield obj
                elif not isinstance(obj, dict):
                    yield Reject(inp.location, pos, "not a JSON object", None, raw)
                else:
                    yield self._one(obj, inp.location, pos, raw)
            return
        for pos, raw, row in csv_rows(inp):
            yield row if isinstance(row, Reject) else self._one(row, inp.location, pos, raw)

    def _one(self, row: dict, location: str, pos: int, raw: str) -> Item:
        try:
            return _record(row, f"{location}:{pos}")
        except LINE_ERRORS as err:
            return line_reject(err, location, pos, raw)
