"""Provider usage and cost APIs: OpenAI's organization usage and costs endpoints, Anthropic's
usage and cost reports, OpenRouter's activity. Each endpoint says how to ask for a window and
how to turn a time bucket of its answer into usage records or billed cost rows.

Field names and semantics: ../reference provider-apis.md (OpenAI's usage ``input_tokens``
includes cached and cache-write tokens; the split fields win when present. Anthropic's cost
report amounts are decimal strings in cents. Buckets are UTC.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.values import format_ts, parse_ts
from llmaudit.sources.common import count, text

WIDTH = {"1d": timedelta(days=1), "1h": timedelta(hours=1)}


@dataclass(frozen=True)
class BilledCost:
    ts: datetime
    ts_end: datetime
    amount_usd: Decimal
    currency: str = "usd"
    project: str | None = None
    line_item: str | None = None
    model: str | None = None
    token_type: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    cost_type: str | None = None
    quantity: str | None = None
    quantity_unit: str | None = None


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str
    base_env: str
    key_env: str
    key_config: str
    auth: Callable[[str], dict[str, str]]


@dataclass(frozen=True)
class Endpoint:
    provider: str
    name: str
    path: str
    kind: str  # "usage" or "cost"
    params: Callable[[datetime, datetime, str], list[tuple[str, str]]]
    span: Callable[[dict], tuple[datetime, datetime]]
    parse: Callable[[dict, str], list[Any]]
    buckets: tuple[str, ...] = ("1d", "1h")
    paginated: bool = True


PROVIDERS = {
    "openai": Provider(
        "openai",
        "https://api.openai.com/v1",
        "LLMAUDIT_OPENAI_BASE_URL",
        "OPENAI_ADMIN_KEY",
        "providers.openai.admin_key",
        lambda key: {"Authorization": f"Bearer {key}"},
    ),
    "anthropic": Provider(
        "anthropic",
        "https://api.anthropic.com",
        "LLMAUDIT_ANTHROPIC_BASE_URL",
        "ANTHROPIC_ADMIN_KEY",
        "providers.anthropic.admin_key",
        lambda key: {"x-api-key": key, "anthropic-version": "2023-06-01"},
    ),
    "openrouter": Provider(
        "openrouter",
        "https://openrouter.ai/api/v1",
        "LLMAUDIT_OPENROUTER_BASE_URL",
        "OPENROUTER_API_KEY",
        "providers.openrouter.api_key",
        lambda key: {"Authorization": f"Bearer {key}"},
    ),
}


# -- OpenAI -----------------------------------------------------------------------------------
def _unix(dt: datetime) -> str:
    return str(int(dt.timestamp()))


def _window_params(start: str, end: str, when: Callable[[datetime], str]):
    """Query parameters of a usage or cost endpoint: its window (under the provider's names
    and time format), bucket width, page limit and bracketed group_by[] list."""

    def params(group_by: tuple[str, ...], limits: dict[str, int]):
        def build(since: datetime, until: datetime, bucket: str) -> list[tuple[str, str]]:
            return [
                (start, when(since)),
                (end, when(until)),
                ("bucket_width", bucket),
                ("limit", str(limits[bucket])),
                *(("group_by[]", g) for g in group_by),
            ]

        return build

    return params


_openai_params = _window_params("start_time", "end_time", _unix)


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
    out = []
    for r in bucket.get("results") or []:
        if not isinstance(r, dict):
            continue
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
        out.append(
            UsageRecord(
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
                source_kind="openai-api",
                source_location=f"openai {endpoint} {format_ts(start)[:13]}",
                source_id=key,
            )
        )
    return out


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


def _decimal(value: Any, field: str) -> Decimal:
    try:
        result = Decimal(str(value).strip())
    except ArithmeticError:
        raise RecordError(f"must be a number, got {value!r}", field=field) from None
    if not result.is_finite():
        raise RecordError(f"must be finite, got {value!r}", field=field)
    return result


def _openai_costs(bucket: dict, endpoint: str) -> list[BilledCost]:
    start, end = _openai_span(bucket)
    out = []
    for r in bucket.get("results") or []:
        if not isinstance(r, dict):
            continue
        amount = r.get("amount") or {}
        value = _decimal(amount.get("value", 0), "amount.value")
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


# -- Anthropic --------------------------------------------------------------------------------
def _rfc3339(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_anthropic_params = _window_params("starting_at", "ending_at", _rfc3339)


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
        tags = {}
        if text(r.get("context_window")):
            tags["context_window"] = text(r["context_window"])
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
        cents = _decimal(r.get("amount", "0"), "amount")
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


# -- OpenRouter -------------------------------------------------------------------------------
def _openrouter_params(since: datetime, until: datetime, bucket: str) -> list[tuple[str, str]]:
    return []  # the last 30 completed UTC days, always


def _openrouter_span(bucket: dict) -> tuple[datetime, datetime]:
    day = parse_ts(f"{bucket.get('date')}T00:00:00Z", "date")
    return day, day + timedelta(days=1)


def _openrouter_activity(row: dict, endpoint: str) -> list[UsageRecord]:
    start, end = _openrouter_span(row)
    model = text(row.get("model")) or "unknown"
    reasoning = count(row.get("reasoning_tokens"), "reasoning_tokens")
    output = count(row.get("completion_tokens"), "completion_tokens")
    usage = row.get("usage")
    return [
        UsageRecord(
            ts=start,
            ts_end=end,
            provider="openrouter",
            model=model,
            requests=count(row.get("requests"), "requests"),
            input_uncached=count(row.get("prompt_tokens"), "prompt_tokens"),
            output=output,
            reasoning=min(reasoning, output),
            reported_cost_usd=_decimal(usage, "usage") if usage is not None else None,
            tags={"provider_name": str(row.get("provider_name"))}
            if row.get("provider_name")
            else {},
            source_kind="openrouter-api",
            source_location=f"openrouter activity {row.get('date')}",
            source_id=":".join(
                [
                    "activity",
                    str(row.get("date")),
                    model,
                    str(row.get("endpoint_id")),
                    str(row.get("workspace_id")),
                ]
            ),
        )
    ]


ENDPOINTS = {
    "openai": (
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
            _openai_costs,
            buckets=("1d",),
        ),
    ),
    "anthropic": (
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
    ),
    "openrouter": (
        Endpoint(
            "openrouter",
            "activity",
            "activity",
            "usage",
            _openrouter_params,
            _openrouter_span,
            _openrouter_activity,
            buckets=("1d",),
            paginated=False,
        ),
    ),
}
