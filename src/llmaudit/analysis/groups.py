"""Pricing aggregated rows: each group of records (same hour or day, model, tier, status and
long-context class) is priced once by the cost kernel, which gives the same total as pricing
its records one by one, because every price is linear in tokens within a group."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

from llmaudit.ledger.api import Queries
from llmaudit.ledger.filters import Filters
from llmaudit.model.money import ZERO
from llmaudit.model.record import COUNT_FIELDS, UsageRecord, aggregate_record
from llmaudit.pricing.kernel import Cost, price_record
from llmaudit.pricing.match import match
from llmaudit.pricing.table import PriceTable


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
    # the moment it was priced at: the bucket's start, or inside its time-of-day window
    priced_at: datetime | None = None

    @property
    def input_total(self) -> int:
        return self.input_uncached + self.cache_read + self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> Decimal | None:
        return self.cost.total

    @property
    def spend(self) -> Decimal:
        """The group's cost, zero when it is unpriced (which callers count apart)."""
        total = self.cost.total
        return ZERO if total is None else total

    @property
    def priced(self) -> bool:
        return self.cost.priced

    def start(self) -> datetime:
        return bucket_start(self.bucket)


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


def time_windows(table: PriceTable, models: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The time-of-day windows of each model that has them (as "HH:MM" UTC from, until), for
    the SQL grouping: records inside a window are priced at its rates."""
    out = {}
    for name in models:
        found = match(table, name)
        if found is None:
            continue
        for period in found.model.periods:
            if period.time_of_day:
                out[name] = [
                    (w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) for w in period.time_of_day
                ]
                break
    return out


def _moment(start: datetime, hourly: bool, windows: list[tuple[str, str]], tw: int) -> datetime:
    """A moment in the bucket that starts at ``start`` (a day, or an hour) where window ``tw``
    (1-based) is the last window covering it, or no window does (0): the grouping put the
    bucket's records there, so pricing at that moment prices them as they ran."""

    def covers(clock: str, window: tuple[str, str]) -> bool:
        s, e = window
        return s <= clock < e if s <= e else clock >= s or clock < e

    step, count = (1, 60) if hourly else (15, 24 * 4)
    for i in range(count):
        moment = start + timedelta(minutes=i * step)
        clock = moment.strftime("%H:%M")
        last = max((j + 1 for j, w in enumerate(windows) if covers(clock, w)), default=0)
        if last == tw:
            return moment
    return start


# the columns of an aggregated row that make up a (priceable) record
RECORD_FIELDS = ("provider", "model", *COUNT_FIELDS, "service_tier", "status")


@lru_cache(maxsize=4096)
def bucket_start(bucket: str) -> datetime:
    """``"2026-08-18"`` or ``"2026-08-18T09"`` (UTC) -> the start of that day or hour."""
    text = bucket if len(bucket) > 10 else bucket + "T00"
    return datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)


def as_record(row: dict[str, Any], ts: datetime, **changes: Any) -> UsageRecord:
    """An aggregated row (or a Group's fields) as one record the kernel can price."""
    return aggregate_record(ts=ts, **{**{f: row[f] for f in RECORD_FIELDS}, **changes})


def price_rows(
    rows: list[dict[str, Any]],
    table: PriceTable,
    windows: dict[str, list[tuple[str, str]]] | None = None,
) -> list[Group]:
    groups = []
    base = {*RECORD_FIELDS, "bucket", "lc", "tw", "dims", "records"}
    for row in rows:
        when = bucket_start(row["bucket"])
        if windows and row["model"] in windows:
            hourly = len(row["bucket"]) > 10
            when = _moment(when, hourly, windows[row["model"]], row.get("tw", 0))
        cost = price_record(as_record(row, when), table, long_context=bool(row["lc"]))
        groups.append(
            Group(
                bucket=row["bucket"],
                dims=row["dims"],
                records=row["records"],
                cost=cost,
                extra={k: v for k, v in row.items() if k not in base},
                priced_at=when,
                **{f: row[f] for f in RECORD_FIELDS},
            )
        )
    return groups


def priced_groups(
    ledger: Queries,
    table: PriceTable,
    filters: Filters,
    dims: Sequence[str] = (),
    bucket: str = "day",
    cached_requests: bool = False,
) -> list[Group]:
    """The ledger's sums for ``filters`` grouped by the pricing unit and ``dims``, priced."""
    names = ledger.model_names()
    windows = time_windows(table, names)
    rows = ledger.grouped_sums(
        filters,
        dims,
        bucket=bucket,
        long_context=long_context_thresholds(table, names),
        cached_requests=cached_requests,
        time_windows=windows,
    )
    return price_rows(rows, table, windows)


def cache_effect(group: Group) -> tuple[Decimal, Decimal] | None:
    """What a priced group's cache reads saved and its cache writes cost over plain input:
    (read saving, write premium), at the rates it was priced at; None when unpriced."""
    cost = group.cost
    if not cost.priced or cost.input_rate is None:
        return None
    saving = cost.as_input(group.cache_read) - (cost.cache_read or ZERO)
    writes = group.cache_write_5m + group.cache_write_1h
    premium = (cost.cache_write or ZERO) - cost.as_input(writes)
    return saving, premium
