"""OpenAI's organization usage (completions, embeddings, moderations) and costs endpoints."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.values import format_ts
from llmaudit.sources.apis.spec import BilledCost, Endpoint, Provider, decimal, window_params
from llmaudit.sources.common import count, text

PROVIDER = Provider(
    "openai",
    "https://api.openai.com/v1",
    "LLMAUDIT_OPENAI_BASE_URL",
    "OPENAI_ADMIN_KEY",
    "providers.openai.admin_key",
    lambda key: {"Authorization": f"Bearer {key}"},
)


def _unix(dt: datetime) -> str:
    return str(int(dt.timestamp()))


_openai_params = window_params("start_time", "end_time", _unix)


def _openai_span(bucket: dict) -> tuple[datetime, datetime]:
    try:
        return (
            datetime.fromtimestamp(int(bucket["start_time"]), timezone.utc),
            datetime.fromtimestamp(int(bucket["end_time"]), timezone.utc),
        )
    except (KeyError, TypeError, ValueError):
        raise RecordError("bucket without start_time/end_time", field="start_time") from None


def _tier(batch: Any, tier: Any) -> str:
    if batch is True:
        return "batch"
    return {"flex": "flex", "priority": "priority", "scale": "priority"}.get(str(tier), "standard")


def _openai_usage(bucket: dict, endpoint: str) -> list[UsageRecord]:
    start, end = _openai_span(bucket)
    return [
        usage_record(r, start, end, endpoint)
        for r in bucket.get("results") or []
        if isinstance(r, dict)
    ]


def usage_record(
    r: dict,
    start: datetime,
    end: datetime,
    endpoint: str,
    kind: str = "openai-api",
    location: str | None = None,
) -> UsageRecord:
    """One row of OpenAI's completions usage (the API's result, or a dashboard export's row)."""
    if "input_uncached_tokens" in r:  # 2026-07 spec: the split fields win
        uncached = count(r.get("input_uncached_tokens"), "input_uncached_tokens")
        cached = count(r.get("input_cached_tokens"), "input_cached_tokens")
        written = count(r.get("input_cache_write_tokens"), "input_cache_write_tokens")
    else:
        cached = count(r.get("input_cached_tokens"), "input_cached_tokens")
        written = 0
        uncached = count(r.get("input_tokens"), "input_tokens") - cached
        if uncached < 0:
            raise RecordError("input_cached_tokens exceed input_tokens", field="input_tokens")
    tier = _tier(r.get("batch"), r.get("service_tier"))
    dims = [str(r.get(k)) for k in ("project_id", "user_id", "api_key_id", "model")]
    key = ":".join([endpoint, str(int(start.timestamp())), *dims, tier])
    tags = {"batch": "true"} if r.get("batch") is True else {}
    audio = sum(
        count(r.get(k), k)
        for k in ("input_audio_tokens", "input_cached_audio_tokens", "output_audio_tokens")
    )
    if audio:
        tags["audio_tokens"] = str(audio)  # priced as text: llmaudit has no audio prices
    return UsageRecord(
        ts=start,
        ts_end=end,
        provider="openai",
        model=text(r.get("model")) or "unknown",
        requests=count(r.get("num_model_requests"), "num_model_requests"),
        input_uncached=uncached,
        cache_read=cached,
        cache_write_5m=written,
        output=count(r.get("output_tokens"), "output_tokens"),
        service_tier=tier,
        project=text(r.get("project_id")),
        user=text(r.get("user_id")),
        api_key=text(r.get("api_key_id")),
        tags=tags,
        source_kind=kind,
        source_location=location or f"openai {endpoint} {format_ts(start)[:13]}",
        source_id=key,
    )


def openai_line_item_model(line_item: str | None) -> str | None:
    """``"gpt-4o-mini-2024-07-18, cached input"`` -> ``gpt-4o-mini-2024-07-18``; lines not about
    a model (``web search tool calls``) -> None. Best effort: the strings are free text."""
    if not line_item or "," not in line_item:
        return None
    head = line_item.split(",", 1)[0].strip()
    if "|" in head:
        head = head.rsplit("|", 1)[1].strip()
    for suffix in (" audio", " text", " image"):
        if head.endswith(suffix):
            head = head[: -len(suffix)]
    head = head.removeprefix("ft-")
    return head or None


def openai_costs(bucket: dict, endpoint: str) -> list[BilledCost]:
    """A cost report bucket's lines (the API's, or a dashboard cost export's rows)."""
    start, end = _openai_span(bucket)
    out = []
    for r in bucket.get("results") or []:
        if not isinstance(r, dict):
            continue
        amount = r.get("amount") or {}
        value = decimal(amount.get("value", 0), "amount.value")
        line = text(r.get("line_item"))
        out.append(
            BilledCost(
                ts=start,
                ts_end=end,
                amount_usd=value,
                currency=str(amount.get("currency") or "usd").lower(),
                project=text(r.get("project_id")),
                line_item=line,
                model=openai_line_item_model(line),
                quantity=None if r.get("quantity") is None else str(r.get("quantity")),
                quantity_unit=text(r.get("quantity_unit")),
                cost_type="tokens" if openai_line_item_model(line) else "other",
            )
        )
    return out


ENDPOINTS = (
    Endpoint(
        "openai",
        "usage/completions",
        "organization/usage/completions",
        "usage",
        _openai_params(
            ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier"),
            {"1d": 31, "1h": 168},
        ),
        _openai_span,
        _openai_usage,
    ),
    Endpoint(
        "openai",
        "usage/embeddings",
        "organization/usage/embeddings",
        "usage",
        _openai_params(("project_id", "user_id", "api_key_id", "model"), {"1d": 31, "1h": 168}),
        _openai_span,
        _openai_usage,
    ),
    Endpoint(
        "openai",
        "usage/moderations",
        "organization/usage/moderations",
        "usage",
        _openai_params(("project_id", "user_id", "api_key_id", "model"), {"1d": 31, "1h": 168}),
        _openai_span,
        _openai_usage,
    ),
    Endpoint(
        "openai",
        "costs",
        "organization/costs",
        "cost",
        _openai_params(("project_id", "line_item"), {"1d": 180, "1h": 180}),
        _openai_span,
        openai_costs,
        buckets=("1d",),
    ),
)
