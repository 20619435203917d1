"""The cost kernel: a usage record + the price table -> the price used and a cost breakdown.

Pure functions, full precision (Decimal, no rounding). The price in force at the record's own
time is used, so a closed month never changes when prices change later. A record whose model
matches nothing is *unpriced*: its cost is None, never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from llmaudit.model.money import ZERO
from llmaudit.model.record import UsageRecord
from llmaudit.pricing.match import match, unpriced_reason
from llmaudit.pricing.table import Period, PriceTable, Rates

COST_PARTS = ("input", "cache_read", "cache_write", "output", "other")


@dataclass(frozen=True)
class Cost:
    """What one record cost. Every part is None when the record is unpriced."""

    price_id: str | None
    model_id: str | None
    rule: str | None
    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    output: Decimal | None = None
    other: Decimal | None = None
    long_context: bool = False
    discount: Decimal | None = None
    notes: tuple[str, ...] = ()
    # The input price per million tokens the record paid (tier and long context applied, any
    # discount not): what a cached token would have cost as plain input.
    input_rate: Decimal | None = None

    def as_input(self, tokens: int) -> Decimal:
        """What ``tokens`` would have cost as plain (uncached) input in this record."""
        if self.input_rate is None:
            raise ValueError("an unpriced record has no input price")
        cost = _per_million(tokens, self.input_rate)
        return cost * self.discount if self.discount is not None else cost

    @property
    def priced(self) -> bool:
        return self.input is not None

    @cached_property  # read many times per group by the report's sections
    def total(self) -> Decimal | None:
        if self.input is None:
            return None
        total = self.input
        for part in (self.cache_read, self.cache_write, self.output, self.other):
            if part is not None:
                total += part
        return total


def _unpriced(reason: str, model_id: str | None = None, rule: str | None = None) -> Cost:
    return Cost(None, model_id, rule, notes=(reason,))


def _per_million(tokens: int, price: Decimal) -> Decimal:
    return (tokens * price).scaleb(-6)


def effective_rates(
    table: PriceTable, provider: str, period: Period, service_tier: str, long_context: bool
) -> tuple[Rates, list[str]]:
    """The rates one request pays: long-context and service-tier prices applied."""
    notes: list[str] = []
    base = period.rates
    rates = period.long_context.rates if long_context and period.long_context else base
    if service_tier == "standard":
        return rates, notes
    tier = period.service_tiers.get(service_tier)
    if tier is None:
        default = table.providers.get(provider)
        tier = default.service_tiers.get(service_tier) if default else None
    if tier is None:
        notes.append(f"no {service_tier} price known; priced at the standard rate")
        return rates, notes
    if isinstance(tier, Decimal):
        return rates.scaled(tier), notes
    # Explicit service-tier rates are quoted for standard context; above the long-context
    # threshold they keep the same ratio to the standard price as the long-context rates do.
    explicit = base.overlaid(tier)
    if rates is base:
        return explicit, notes
    scaled = {}
    for key, value in explicit.as_dict().items():
        b, lc = getattr(base, key), getattr(rates, key)
        scaled[key] = value * lc / b if b and lc is not None else value
    return Rates(**scaled), notes


def price_record(record: UsageRecord, table: PriceTable, long_context: bool | None = None) -> Cost:
    """Price one record. ``long_context`` forces the tier when the caller knows it (a provider
    report that states the context window, or a group of records already classified)."""
    found = match(table, record.model, record.provider)
    if found is None:
        return _unpriced(unpriced_reason(table, record.model, record.provider))
    model = found.model
    if model.unit:
        return _unpriced(f"{model.id} is {model.unit}: not priced as text", model.id, found.rule)
    period = model.period_at(record.ts)
    if period is None:
        return _unpriced(
            f"{model.id} has no price in force at {record.ts.date().isoformat()}",
            model.id,
            found.rule,
        )
    period = period.at_time(record.ts)  # a time-of-day window's rates, if one covers it
    if record.status == "cache_hit":
        # Served from a gateway's response cache: the provider was not called.
        return Cost(
            model.price_id(period),
            model.id,
            found.rule,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
            ZERO,
            notes=("served from a response cache: no provider charge",),
            input_rate=ZERO,
        )
    requests = max(record.requests, 1)
    if long_context is None:
        window = record.tags.get("context_window")
        if window:  # stated by the provider's own report (Anthropic: "0-200k", "200k-1M")
            long_context = not window.startswith("0-")
        else:
            # For an aggregated bucket, the mean request decides (the only size we know).
            long_context = record.input_total / requests > (
                period.long_context.above if period.long_context else float("inf")
            )
    long_context = bool(period.long_context) and long_context
    rates, notes = effective_rates(table, model.provider, period, record.service_tier, long_context)
    input_price = rates.input
    if input_price is None:  # a tier or long-context table that leaves input out
        return _unpriced(f"{model.id} has no input price", model.id, found.rule)
    cache_read_price = rates.cache_read
    if cache_read_price is None:
        cache_read_price = input_price
        if record.cache_read:
            notes.append("no cache-read price; cache reads priced as input")
    write_5m = rates.cache_write_5m if rates.cache_write_5m is not None else input_price
    write_1h = rates.cache_write_1h
    if write_1h is None:
        write_1h = write_5m
        if record.cache_write_1h:
            notes.append("no 1-hour cache-write price; priced as a 5-minute write")
    output_price = rates.output
    if output_price is None:
        if record.output:
            return _unpriced(f"{model.id} has no output price", model.id, found.rule)
        output_price = ZERO
    reasoning_price = rates.reasoning if rates.reasoning is not None else output_price
    parts = {
        "input": _per_million(record.input_uncached, input_price),
        "cache_read": _per_million(record.cache_read, cache_read_price),
        "cache_write": _per_million(record.cache_write_5m, write_5m)
        + _per_million(record.cache_write_1h, write_1h),
        "output": _per_million(record.output - record.reasoning, output_price)
        + _per_million(record.reasoning, reasoning_price),
        "other": (period.per_request or ZERO) * record.requests,
    }
    discount = table.discount_for(model)
    if discount is not None:
        parts = {k: v * discount for k, v in parts.items()}
    return Cost(
        model.price_id(period),
        model.id,
        found.rule,
        long_context=long_context,
        discount=discount,
        notes=tuple(notes),
        input_rate=input_price,
        **parts,
    )


@dataclass
class CostTotals:
    """Sums over many records, with what could not be priced kept apart (never as $0)."""

    records: int = 0
    priced_records: int = 0
    requests: int = 0
    priced_requests: int = 0
    tokens: int = 0
    priced_tokens: int = 0
    parts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(COST_PARTS, ZERO))
    unpriced_models: dict[str, int] = field(default_factory=dict)  # model -> records

    def add(self, record: UsageRecord, cost: Cost) -> None:
        self.records += 1
        self.requests += record.requests
        self.tokens += record.total_tokens
        if cost.priced:
            self.priced_records += 1
            self.priced_requests += record.requests
            self.priced_tokens += record.total_tokens
            for key in COST_PARTS:
                self.parts[key] += getattr(cost, key)
        else:
            self.unpriced_models[record.model] = self.unpriced_models.get(record.model, 0) + 1

    @property
    def total(self) -> Decimal:
        """The cost of the priced records (see ``coverage`` for how much that is)."""
        return sum(self.parts.values(), ZERO)

    @property
    def coverage(self) -> Decimal:
        """Share of tokens that could be priced (1 when there are none)."""
        if not self.tokens:
            return Decimal(1) if self.records == self.priced_records else ZERO
        return Decimal(self.priced_tokens) / Decimal(self.tokens)


def total_cost(records: Iterable[UsageRecord], table: PriceTable) -> CostTotals:
    totals = CostTotals()
    for record in records:
        totals.add(record, price_record(record, table))
    return totals
