"""What every provider API module declares: the provider, its endpoints, billed cost rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError

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


def window_params(start: str, end: str, when: Callable[[datetime], str]):
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


def decimal(value: Any, field: str) -> Decimal:
    try:
        result = Decimal(str(value).strip())
    except ArithmeticError:
        raise RecordError(f"must be a number, got {value!r}", field=field) from None
    if not result.is_finite():
        raise RecordError(f"must be finite, got {value!r}", field=field)
    return result
