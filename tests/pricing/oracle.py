"""llmaudit's prices against genai-prices' (an independent price database, MIT, a test-only
dependency): seeded random standard-tier records over every token-priced model genai-prices
has for the providers llmaudit prices, each logged with that provider.

Used by tests/pricing/test_oracle.py (a fixed seed) and benchmarks/bench_price_oracle.py (a
fresh one).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

# genai-prices provider -> the provider name a log carries for it
LOGGED = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "x-ai": "xai",
    "cohere": "cohere",
    "groq": "groq",
    "aws": "bedrock",
    "azure": "azure",
    "together": "together",
    "fireworks": "fireworks",
    "openrouter": "openrouter",
}
TOLERANCE = Decimal("0.0001")  # 0.01%
START = datetime(2025, 6, 1, tzinfo=timezone.utc)
END = datetime(2026, 11, 28, tzinfo=timezone.utc)


@dataclass
class Outcome:
    provider: str
    name: str
    theirs: Decimal
    ours: Decimal | None
    note: str

    @property
    def agrees(self) -> bool:
        if self.ours is None:
            return False
        return abs(self.ours - self.theirs) <= abs(self.theirs) * TOLERANCE


def _prices(model: Any) -> dict[str, Any]:
    blocks = model.prices if isinstance(model.prices, list) else [model.prices]
    out: dict[str, Any] = {}
    for block in blocks:
        prices = getattr(block, "prices", block)
        out.update({k: v for k, v in vars(prices).items() if v is not None})
    return out


def _equals(clause: Any) -> Iterator[str]:
    if hasattr(clause, "equals"):
        yield clause.equals
    for attr in ("or_", "and_"):
        for sub in getattr(clause, attr, None) or []:
            yield from _equals(sub)


def name_for(provider: str, model: Any) -> str | None:
    """A name a log would carry that genai-prices itself resolves to ``model``: its id, an
    exact alias, a Bedrock model id for a "regional." entry, or a fine-tune id for "ft:"."""
    from genai_prices import Usage, calc_price

    extra = []
    if model.id.startswith("regional."):
        bare = model.id.removeprefix("regional.")
        extra += [bare, f"us.{bare}"]
    if model.id.startswith("ft:"):
        extra += [f"{model.id}-2024-08-06:acme::x1", f"{model.id}-2024-07-18:acme::x1"]
    for name in [model.id, *_equals(model.match), *extra]:
        try:
            found = calc_price(Usage(input_tokens=1, output_tokens=1), name, provider_id=provider)
        except Exception:  # genai-prices does not resolve this name
            continue
        if found.model.id == model.id:
            return name
    return None


def token_priced_models() -> list[tuple[str, Any]]:
    from genai_prices import data

    return [
        (p.id, m)
        for p in data.providers
        if p.id in LOGGED
        for m in p.models
        if {"input_mtok", "output_mtok"} & set(_prices(m))
    ]


def compare(seed: int, count: int) -> tuple[list[Outcome], list[str]]:
    """``count`` records: each outcome, and the models no exact name reaches in genai-prices."""
    from genai_prices import Usage, calc_price

    from llmaudit.model.record import UsageRecord
    from llmaudit.pricing.kernel import price_record
    from llmaudit.pricing.table import load_table

    table = load_table()
    models = token_priced_models()
    names = {(pid, m.id): name_for(pid, m) for pid, m in models}
    unnamed = sorted(f"{pid}/{mid}" for (pid, mid), name in names.items() if name is None)
    pool = [(pid, m) for pid, m in models if names[(pid, m.id)]]
    rnd = random.Random(seed)
    span = (END - START).total_seconds()
    out = []
    for _ in range(count):
        pid, model = rnd.choice(pool)
        name = names[(pid, model.id)]
        assert name is not None
        prices = _prices(model)
        ts = START + timedelta(seconds=rnd.uniform(0, span))
        uncached = rnd.randint(0, 50_000)
        read = rnd.choice([0, rnd.randint(0, 30_000)]) if "cache_read_mtok" in prices else 0
        write = rnd.choice([0, 0, rnd.randint(0, 10_000)]) if "cache_write_mtok" in prices else 0
        output = rnd.randint(0, 5_000) if "output_mtok" in prices else 0
        theirs = calc_price(
            Usage(
                input_tokens=uncached + read + write,
                cache_read_tokens=read,
                cache_write_tokens=write,
                output_tokens=output,
            ),
            name,
            provider_id=pid,
            genai_request_timestamp=ts,
        ).total_price
        record = UsageRecord(
            ts=ts,
            provider=LOGGED[pid],
            model=name,
            input_uncached=uncached,
            cache_read=read,
            cache_write_5m=write,
            output=output,
        )
        cost = price_record(record, table)
        note = cost.notes[0] if cost.notes else ""
        out.append(Outcome(LOGGED[pid], name, Decimal(theirs), cost.total, note))
    return out, unnamed
