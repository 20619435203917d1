"""Read a LiteLLM-format price table (``model_prices_and_context_window.json``) into entries of
pricing.toml's schema, for users who keep that table. LiteLLM prices are USD per token."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit.errors import ConfigError

MILLION = Decimal(1_000_000)
# LiteLLM's litellm_provider -> llmaudit's provider id (others are kept as LiteLLM names them).
PROVIDER_NAMES = {
    "gemini": "google",
    "vertex_ai-language-models": "google",
    "vertex_ai-anthropic_models": "anthropic",
    "bedrock_converse": "bedrock",
    "text-completion-openai": "openai",
    "cohere_chat": "cohere",
}
RATE_FIELDS = {
    "input": "input_cost_per_token",
    "cache_read": "cache_read_input_token_cost",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "output": "output_cost_per_token",
    "reasoning": "output_cost_per_reasoning_token",
}
TIER_SUFFIXES = {"batch": "_batches", "flex": "_flex", "priority": "_priority"}
LONG_CONTEXT = (("_above_200k_tokens", 200_000), ("_above_128k_tokens", 128_000))
DEFAULT_MODES = ("chat", "completion", "responses", "embedding")


def _per_million(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ConfigError(f"{where}: must be a number, got {value!r}")
    try:
        result = Decimal(str(value)) * MILLION
    except ArithmeticError:
        raise ConfigError(f"{where}: must be a number, got {value!r}") from None
    return result.normalize()


def _rates(row: dict[str, Any], key: str, suffix: str = "") -> dict[str, Decimal]:
    rates = {}
    for name, field in RATE_FIELDS.items():
        value = row.get(field + suffix)
        if value is not None:
            rates[name] = _per_million(value, f"{key}.{field}{suffix}")
    return rates


def convert(
    data: Any,
    *,
    source: str,
    providers: tuple[str, ...] = (),
    modes: tuple[str, ...] = DEFAULT_MODES,
) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object of model name -> prices")
    models = []
    for key, row in data.items():
        if key == "sample_spec" or not isinstance(row, dict):
            continue
        if modes and row.get("mode") not in modes:
            continue
        provider = str(row.get("litellm_provider") or "unknown")
        provider = PROVIDER_NAMES.get(provider, provider)
        if providers and provider not in providers:
            continue
        period: dict[str, Any] = _rates(row, key)
        if "input" not in period:
            continue
        for suffix, above in LONG_CONTEXT:
            long_rates = _rates(row, key, suffix)
            if long_rates:
                period["long_context"] = {"above": above, **long_rates}
                break
        for tier, suffix in TIER_SUFFIXES.items():
            tier_rates = _rates(row, key, suffix)
            if "input" in tier_rates:
                period[tier] = tier_rates
        if row.get("input_cost_per_request") is not None:
            period["per_request"] = Decimal(str(row["input_cost_per_request"]))
        models.append({"id": key, "provider": provider, "source": source, "prices": [period]})
    return models


def load(path: Path, **kwargs: Any) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from exc
    return convert(data, source=str(path), **kwargs)
