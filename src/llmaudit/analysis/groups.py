"""Pricing aggregated rows: each group of records (same hour or day, model, tier, status and
long-context class) is priced once by the cost kernel, which gives the same total as pricing
its records one by one, because every price is linear in tokens within a group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from llmaudit.ledger.record import UsageRecord
from llmaudit.pricing.kernel import Cost, price_record
from llmaudit.pricing.match import match
from llmaudit.pricing.table import PriceTable

ZERO = Decimal(0)


@dataclass
class Group:
    bucket: str  # "2026-08-18" or "2026-08-18T09"
    model: str
    provider: str
    service_tier: str
    status: str
    dims: tuple[Any, ...]
    requests: int
    records: int
    input_uncached: int
    cache_read: int
    cache_write_5m: int
    cache_write_1h: int
    output: int
    reasoning: int
    cost: Cost
    extra: dict[str, Any]

    @property
    def input_total(self) -> int:
        return self.input_uncached + self.cache_read + self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> Decimal | None:
        return self.cost.total

    @property
    def priced(self) -> bool:
        return self.cost.priced

    def start(self) -> datetime:
        text = self.bucket if len(self.bucket) > 10 else self.bucket + "T00"
        return datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)


def long_context_thresholds(table: PriceTable, models: list[str]) -> dict[str, int]:
    """The long-context threshold of each model (by any of its periods), for the SQL grouping."""
    out = {}
    for name in models:
        found = match(table, name)
        if found is None:
            continue
        thresholds = {p.long_context.above for p in found.model.periods if p.long_context}
        if thresholds:
            out[name] = min(thresholds)
    return out


def as_record(row: dict[str, Any], ts: datetime) -> UsageRecord:
    return UsageRecord(
        ts=ts,
        provider=row["provider"],
        model=row["model"],
        requests=row["requests"],
        input_uncached=row["input_uncached"],
        cache_read=row["cache_read"],
        cache_write_5m=row["cache_write_5m"],
        cache_write_1h=row["cache_write_1h"],
        output=row["output"],
        reasoning=row["reasoning"],
        service_tier=row["service_tier"],
        status=row["status"],
    )


def price_rows(rows: list[dict[str, Any]], table: PriceTable) -> list[Group]:
    groups = []
    base = {
        "bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        "lc",
        "dims",
        "records",
        "requests",
        "input_uncached",
        "cache_read",
        "cache_write_5m",
        "cache_write_1h",
        "output",
        "reasoning",
    }
    for row in rows:
        bucket = row["bucket"]
        text = bucket if len(bucket) > 10 else bucket + "T00"
        ts = datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)
        cost = price_record(as_record(row, ts), table, long_context=bool(row["lc"]))
        groups.append(
            Group(
                bucket=bucket,
                model=row["model"],
                provider=row["provider"],
                service_tier=row["service_tier"],
                status=row["status"],
                dims=row["dims"],
                requests=row["requests"],
                records=row["records"],
                input_uncached=row["input_uncached"],
                cache_read=row["cache_read"],
                cache_write_5m=row["cache_write_5m"],
                cache_write_1h=row["cache_write_1h"],
                output=row["output"],
                reasoning=row["reasoning"],
                cost=cost,
                extra={k: v for k, v in row.items() if k not in base},
            )
        )
    return groups


def without_cache(group: Group, table: PriceTable) -> Decimal | None:
    """What the group would have cost with every cached token billed as plain input."""
    rec = UsageRecord(
        ts=group.start(),
        provider=group.provider,
        model=group.model,
        requests=group.requests,
        input_uncached=group.input_total,
        output=group.output,
        reasoning=group.reasoning,
        service_tier=group.service_tier,
        status=group.status,
    )
    return price_record(rec, table, long_context=group.cost.long_context).total
