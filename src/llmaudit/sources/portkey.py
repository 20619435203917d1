"""Portkey log exports: the JSON lines file a Portkey logs export downloads (one request a line;
also read as a JSON array or a page with ``data``).

Fields (Portkey API reference, "Create a Log Export": ``requested_data`` takes ``id``,
``trace_id``, ``created_at``, ``request``, ``response``, ``is_success``, ``ai_org``,
``ai_model``, ``req_units``, ``res_units``, ``total_units``, ``request_url``, ``cost``,
``cost_currency``, ``response_time``, ``response_status_code``, ``mode``, ``config``,
``prompt_slug``, ``metadata``; the user picks which). Needed here: ``created_at``,
``ai_model``, and ``req_units``/``res_units`` (prompt and completion tokens, as Portkey's
filters name them). ``ai_org`` is the provider (``azure-openai``, ``bedrock``, ``vertex-ai``
are routes, priced at their own prices). The units carry no cache split: all input is priced as
uncached (unconfirmed for providers that cache). ``metadata`` gives attribution, Portkey's
``_user`` the user. ``cost`` is kept as tags with ``cost_currency``, not as the reported
cost: its unit (dollars or cents) is not stated in Portkey's docs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import Any

from llmaudit.model.record import UsageRecord
from llmaudit.model.values import infer_provider
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    attribution,
    count,
    first_objects,
    required,
    text,
    utc_naive,
)
from llmaudit.sources.documents import items, rows

KIND = "portkey"
_UNITS = {"req_units", "res_units", "total_units"}


def _is_log(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and "created_at" in obj
        and ("ai_model" in obj or "ai_org" in obj)
        and bool(_UNITS & set(obj))
    )


def _metadata(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _ms(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 <= value < 10**9 else None


def record(obj: dict[str, Any], location: str, opts: Options) -> UsageRecord:
    model = required(obj, "ai_model")
    meta = _metadata(obj.get("metadata"))
    user = text(meta.pop("_user", None))
    fields, tags = attribution(meta)
    if user:
        fields["user"] = user
    for key in ("trace_id", "prompt_slug", "mode"):
        value = text(obj.get(key))
        if value:
            tags[f"portkey_{key}"] = value
    cost = obj.get("cost")
    if isinstance(cost, (int, Decimal, str)) and not isinstance(cost, bool) and text(cost):
        tags["portkey_cost"] = format(cost, "f") if isinstance(cost, Decimal) else str(cost)
        currency = text(obj.get("cost_currency"))
        if currency:
            tags["portkey_cost_currency"] = currency
    code = obj.get("response_status_code")
    failed = obj.get("is_success") is False or (
        isinstance(code, int) and not isinstance(code, bool) and code >= 400
    )
    log_id = text(obj.get("id"))
    return UsageRecord(
        ts=utc_naive(obj.get("created_at"), "created_at", opts.naive_tz),
        provider=providers.provider_name(obj.get("ai_org")) or infer_provider(model),
        model=model,
        input_uncached=count(obj.get("req_units"), "req_units"),
        output=count(obj.get("res_units"), "res_units"),
        status="error" if failed else "ok",
        latency_ms=_ms(obj.get("response_time")),
        request_id=log_id,
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=log_id,
        **fields,
    )


class Portkey(Source):
    name = KIND
    summary = "Portkey log exports (JSON lines of its logs export; a JSON array too)"
    extensions = (".jsonl", ".json")

    def sniff(self, head: str) -> bool:
        return any(_is_log(obj) for obj in first_objects(head, 2))

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        build = partial(record, opts=opts)
        yield from items(inp, rows(inp), build, _is_log, "items that are not Portkey logs")
