"""OpenRouter's activity endpoint (the last 30 completed UTC days)."""

from __future__ import annotations

from datetime import datetime, timedelta

from llmaudit.model.record import UsageRecord
from llmaudit.model.values import parse_ts
from llmaudit.sources.apis.spec import Endpoint, Provider, decimal
from llmaudit.sources.common import count, text

PROVIDER = Provider(
    "openrouter",
    "https://openrouter.ai/api/v1",
    "LLMAUDIT_OPENROUTER_BASE_URL",
    "OPENROUTER_API_KEY",
    "providers.openrouter.api_key",
    lambda key: {"Authorization": f"Bearer {key}"},
)


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
            reported_cost_usd=decimal(usage, "usage") if usage is not None else None,
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


ENDPOINTS = (
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
)
