"""Cloudflare AI Gateway logs: the gateway's logs API (``GET /accounts/{account}/ai-gateway/
gateways/{gateway}/logs``: a page with ``result`` holding the logs), saved as it answered, or
its logs one JSON object a line.

Fields (Cloudflare API reference, "List Gateway Logs"; workers-types ``AiGatewayLog``): ``id``,
``created_at``, ``provider``, ``model``, ``tokens_in``, ``tokens_out``, ``cost`` (the gateway's
own estimate), ``cached`` (served from the gateway's cache: no provider call), ``success``,
``status_code``, ``duration`` (ms), ``metadata`` (the ``cf-aig-metadata`` header's object, or
its JSON text). ``tokens_in`` is the prompt count the provider reported, cached tokens
included where the provider counts them so (OpenAI); the gateway keeps no cache split, so all
of it is priced as uncached input (unconfirmed for every provider: see docs/formats.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.values import infer_provider, parse_ts, to_decimal
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    attribution,
    count,
    first_objects,
    text,
)
from llmaudit.sources.documents import items, rows

KIND = "cloudflare-ai-gateway"
_KEYS = {"tokens_in", "tokens_out", "created_at", "provider", "model"}


def _is_log(obj: Any) -> bool:
    return isinstance(obj, dict) and set(obj) >= _KEYS and "id" in obj


def _metadata(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def record(obj: dict[str, Any], location: str) -> UsageRecord:
    model = text(obj.get("model"))
    if not model:
        raise RecordError("is missing", field="model")
    provider = providers.provider_name(obj.get("provider")) or infer_provider(model)
    fields, tags = attribution(_metadata(obj.get("metadata")))
    cached = obj.get("cached") is True
    failed = obj.get("success") is False
    duration = obj.get("duration")
    cost = obj.get("cost")
    for key in ("path", "request_type", "model_type"):
        value = text(obj.get(key))
        if value:
            tags[f"gateway_{key}"] = value
    log_id = text(obj.get("id"))
    return UsageRecord(
        ts=parse_ts(obj.get("created_at"), "created_at"),
        provider=provider,
        model=model,
        input_uncached=count(obj.get("tokens_in"), "tokens_in"),
        output=count(obj.get("tokens_out"), "tokens_out"),
        status="cache_hit" if cached else ("error" if failed else "ok"),
        latency_ms=float(duration)
        if isinstance(duration, (int, float)) and not isinstance(duration, bool)
        else None,
        reported_cost_usd=to_decimal(cost, "cost") if cost is not None else None,
        request_id=log_id,
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=log_id,
        **fields,
    )


class CloudflareGateway(Source):
    name = KIND
    summary = "Cloudflare AI Gateway logs (its logs API pages, or one log a line)"
    extensions = (".json", ".jsonl")
    appendable = True

    def sniff(self, head: str) -> bool:
        for obj in first_objects(head, 2):
            page = obj.get("result") if isinstance(obj, dict) else None
            if _is_log(obj) or (isinstance(page, list) and page and _is_log(page[0])):
                return True
        return False

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        yield from items(inp, rows(inp), record, _is_log, "items that are not AI Gateway logs")
