"""Anthropic's Admin API usage report (messages) and cost report."""

from __future__ import annotations

from datetime import datetime, timezone

from llmaudit.model.record import UsageRecord
from llmaudit.model.values import format_ts, parse_ts
from llmaudit.sources.apis.spec import BilledCost, Endpoint, Provider, decimal, window_params
from llmaudit.sources.common import count, text

PROVIDER = Provider(
    "anthropic",
    "https://api.anthropic.com",
    "LLMAUDIT_ANTHROPIC_BASE_URL",
    "ANTHROPIC_ADMIN_KEY",
    "providers.anthropic.admin_key",
    lambda key: {"x-api-key": key, "anthropic-version": "2023-06-01"},
)


def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_anthropic_params = window_params("starting_at", "ending_at", _rfc3339)


def _anthropic_span(bucket: dict) -> tuple[datetime, datetime]:
    return (
        parse_ts(bucket.get("starting_at"), "starting_at"),
        parse_ts(bucket.get("ending_at"), "ending_at"),
    )


ANTHROPIC_TIERS = {
    "batch": "batch",
    "priority": "priority",
    "priority_on_demand": "priority",
    "flex": "flex",
    "flex_discount": "flex",
}


def _anthropic_usage(bucket: dict, endpoint: str) -> list[UsageRecord]:
    start, end = _anthropic_span(bucket)
    out = []
    for r in bucket.get("results") or []:
        if not isinstance(r, dict):
            continue
        cache = r.get("cache_creation") or {}
        tier = ANTHROPIC_TIERS.get(str(r.get("service_tier")), "standard")
        tags: dict[str, str] = {}
        window = text(r.get("context_window"))
        if window:
            tags["context_window"] = window
        searches = (r.get("server_tool_use") or {}).get("web_search_requests")
        if searches:
            tags["web_search_requests"] = str(searches)
        dims = [
            str(r.get(k))
            for k in (
                "workspace_id",
                "api_key_id",
                "account_id",
                "model",
                "service_tier",
                "context_window",
                "inference_geo",
            )
        ]
        out.append(
            UsageRecord(
                ts=start,
                ts_end=end,
                provider="anthropic",
                model=text(r.get("model")) or "unknown",
                requests=0,  # this report has no request count
                input_uncached=count(r.get("uncached_input_tokens"), "uncached_input_tokens"),
                cache_read=count(r.get("cache_read_input_tokens"), "cache_read_input_tokens"),
                cache_write_5m=count(
                    cache.get("ephemeral_5m_input_tokens"),
                    "cache_creation.ephemeral_5m_input_tokens",
                ),
                cache_write_1h=count(
                    cache.get("ephemeral_1h_input_tokens"),
                    "cache_creation.ephemeral_1h_input_tokens",
                ),
                output=count(r.get("output_tokens"), "output_tokens"),
                service_tier=tier,
                project=text(r.get("workspace_id")) or "(default workspace)",
                api_key=text(r.get("api_key_id")),
                user=text(r.get("account_id")),
                tags=tags,
                source_kind="anthropic-api",
                source_location=f"anthropic {endpoint} {format_ts(start)[:13]}",
                source_id=":".join([endpoint, str(int(start.timestamp())), *dims]),
            )
        )
    return out


def _anthropic_costs(bucket: dict, endpoint: str) -> list[BilledCost]:
    start, end = _anthropic_span(bucket)
    out = []
    for r in bucket.get("results") or []:
        if not isinstance(r, dict):
            continue
        cents = decimal(r.get("amount", "0"), "amount")
        out.append(
            BilledCost(
                ts=start,
                ts_end=end,
                amount_usd=cents / 100,
                currency=str(r.get("currency") or "USD").lower(),
                project=text(r.get("workspace_id")) or "(default workspace)",
                line_item=text(r.get("description")),
                model=text(r.get("model")),
                token_type=text(r.get("token_type")),
                service_tier=text(r.get("service_tier")),
                context_window=text(r.get("context_window")),
                cost_type=text(r.get("cost_type")),
            )
        )
    return out


ENDPOINTS = (
    Endpoint(
        "anthropic",
        "usage_report/messages",
        "v1/organizations/usage_report/messages",
        "usage",
        _anthropic_params(
            ("model", "workspace_id", "api_key_id", "service_tier", "context_window"),
            {"1d": 31, "1h": 168},
        ),
        _anthropic_span,
        _anthropic_usage,
    ),
    Endpoint(
        "anthropic",
        "cost_report",
        "v1/organizations/cost_report",
        "cost",
        _anthropic_params(("workspace_id", "description"), {"1d": 31, "1h": 31}),
        _anthropic_span,
        _anthropic_costs,
        buckets=("1d",),
    ),
)
