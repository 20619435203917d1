"""Estimates: tokens and cost of a prompt per call, per 1,000 calls and per period, per model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from llmaudit.errors import ConfigError
from llmaudit.estimate import tokens as tk
from llmaudit.estimate.prompts import Prompt
from llmaudit.model.record import UsageRecord
from llmaudit.pricing.kernel import price_record
from llmaudit.pricing.match import match
from llmaudit.pricing.table import PriceTable

DEFAULT_MODELS = (
    "gpt-4o-mini",
    "gpt-4.1",
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "gemini-2.5-flash",
    "gemini-2.5-pro",
)
DAYS_PER_MONTH = 30
# OpenAI's documented chat overhead (the "How to count tokens with tiktoken" cookbook):
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3


PERIODS = ("day", "month")


def checked_setting(name: str, value: Any, where: str) -> Any:
    """One estimate setting from a file (llmaudit.toml, a baseline), strictly: a wrong type or
    value is a ConfigError naming where it is and what it may be, never a silent default."""

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}.{name}: must be {expected}, got {value!r}")

    if value is None:
        return None
    if name == "models":
        if not isinstance(value, list) or not value:
            raise bad("a list of model names")
        if not all(isinstance(m, str) and m.strip() for m in value):
            raise bad("a list of model names")
        return tuple(value)
    if name in ("output_tokens", "requests"):
        low = 0 if name == "output_tokens" else 1
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 10**12:
            raise bad(f"a whole number from {low} to 10^12")
        return value
    if name == "cache_hit":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise bad("a share between 0 and 1, such as 0.6")
        return float(value)
    if name == "per":
        if value not in PERIODS:
            raise bad(" or ".join(repr(p) for p in PERIODS))
        return value
    return value


@dataclass
class Settings:
    models: tuple[str, ...] = DEFAULT_MODELS
    output_tokens: int = 0
    cache_hit: float = 0.0
    requests: int | None = None
    per: str = "month"
    at: datetime | None = None
    # --exact: ask the provider's count-tokens endpoint where llmaudit has no tokenizer
    exact: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "models": list(self.models),
            "output_tokens": self.output_tokens,
            "cache_hit": self.cache_hit,
            "requests": self.requests,
            "per": self.per,
        }


def chat_tokens(prompt: Prompt, encoding: str) -> int:
    """Prompt tokens as OpenAI counts a chat request: each message's role, content and name,
    3 tokens of framing a message (1 more for a name), and 3 to prime the reply."""
    n = 0
    for m in prompt.messages:
        n += TOKENS_PER_MESSAGE
        n += tk.count(m["role"], encoding) + tk.count(m["content"], encoding)
        if m.get("name"):
            n += tk.count(m["name"], encoding) + TOKENS_PER_NAME
    return n + REPLY_PRIMING


# --exact: the providers whose own count-tokens endpoint llmaudit can ask
EXACT_COUNTERS = {
    "anthropic": (tk.anthropic_exact, "anthropic count_tokens"),
    "google": (tk.google_exact, "google countTokens"),
}


def count_for(
    prompt: Prompt, model: str, provider: str, exact: dict[str, Any] | None = None
) -> tk.Count:
    enc = tk.encoding_for(model) if provider in ("openai", "azure", "unknown") else None
    if enc:
        return tk.Count(chat_tokens(prompt, enc), True, 0.0, enc)
    counter = EXACT_COUNTERS.get(provider)
    if exact and counter and exact.get(f"{provider}_key"):
        count_with, method = counter
        n = count_with(
            prompt.messages,
            model,
            key=exact[f"{provider}_key"],
            base_url=exact[f"{provider}_base_url"],
            debug=bool(exact.get("debug")),
        )
        return tk.Count(n, True, 0.0, method)
    return tk.approximate(chat_tokens(prompt, "o200k_base"), provider)


def estimate(prompt: Prompt, table: PriceTable, settings: Settings) -> dict[str, Any]:
    at = settings.at or datetime.now(timezone.utc)
    rows = []
    for model in settings.models:
        found = match(table, model)
        provider = found.model.provider if found else "unknown"
        counted = count_for(prompt, model, provider, settings.exact)
        cached = round(counted.tokens * settings.cache_hit)
        rec = UsageRecord(
            ts=at,
            provider=provider,
            model=model,
            input_uncached=counted.tokens - cached,
            cache_read=cached,
            output=settings.output_tokens,
        )
        cost = price_record(rec, table)
        per_call = cost.total
        period = month = None
        if per_call is not None and settings.requests:
            period = per_call * settings.requests
            month = period * (DAYS_PER_MONTH if settings.per == "day" else 1)
        rows.append(
            {
                "model": model,
                "price_id": cost.price_id,
                "priced": cost.priced,
                "input_tokens": counted.tokens,
                "exact": counted.exact,
                "error_band": counted.band,
                "method": counted.method,
                "cache_read_tokens": cached,
                "output_tokens": settings.output_tokens,
                "cost_per_call_usd": per_call,
                "cost_per_1k_calls_usd": per_call * 1000 if per_call is not None else None,
                "cost_per_period_usd": period,
                "cost_per_month_usd": month,
                "note": None if cost.priced else cost.notes[0],
            }
        )
    return {
        "file": prompt.path,
        "messages": len(prompt.messages),
        "chat": prompt.chat,
        "unfilled_variables": prompt.variables,
        "filled_variables": prompt.filled,
        "rows": rows,
    }
