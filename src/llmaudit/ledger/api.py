"""The questions analysis asks a ledger, named as operations, not SQL.

Every engine implements :class:`Queries` (SQLite: :class:`llmaudit.ledger.store.Ledger`), so
report, whatif, budgets, maturity, reconcile and the CI gate run unchanged on another one.
Rows carry exact integers for counts and :class:`~decimal.Decimal` for money; times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from llmaudit.ledger.filters import Filters
from llmaudit.model.record import UsageRecord

# One request's timings, what the latency section needs of it: (model, latency_ms, ttft_ms,
# output). A plain tuple: a report may read a hundred thousand of them.
Timing = tuple[str, float | None, float | None, int]


@dataclass(frozen=True)
class TimingSample:
    """Requests with timings: all of them, or every ``every``-th when there are too many."""

    total: int  # requests with a latency or a time to first token
    every: int  # 1: every one of them is in ``rows``
    rows: Iterator[Timing]


@dataclass(frozen=True)
class TimingQuantiles:
    """Per model: requests with timings and the p50 and p95 (linear interpolation between
    closest ranks) of time to first token, latency and inter-token latency, in ms."""

    every: int
    rows: list[dict[str, Any]]
    method: str = "exact"  # or "sketch": each percentile within 1% of the exact one


@dataclass(frozen=True)
class BilledLine:
    """One line of a provider's cost report (what the provider billed)."""

    provider: str
    ts: datetime
    model: str | None
    project: str | None
    amount_usd: Decimal
    line_item: str | None
    cost_type: str | None


class Queries(Protocol):
    """What analysis and estimate read from a ledger."""

    def grouped_sums(
        self,
        filters: Filters,
        dims: Sequence[str] = (),
        *,
        bucket: str = "day",
        long_context: dict[str, int] | None = None,
        cached_requests: bool = False,
        time_windows: dict[str, list[tuple[str, str]]] | None = None,
    ) -> list[dict[str, Any]]:
        """Token and request sums per pricing unit: UTC time ``bucket`` (``hour`` or ``day``),
        model, provider, service tier, status, long-context class ``lc``, time-of-day window
        ``tw`` (of ``time_windows``: the last covering window, 1-based; 0 for none) and ``dims``
        (a tuple under ``"dims"``); plus ``records`` and, if asked, ``cached_requests``."""
        ...

    def model_names(self) -> list[str]:
        """Every model name stored, as reported."""
        ...

    def time_span(self) -> tuple[datetime | None, datetime | None]:
        """The oldest and newest record's time (None, None for an empty ledger)."""
        ...

    def timing_sample(self, filters: Filters, limit: int) -> TimingSample:
        """Requests with timings, at most about ``limit`` of them (an even sample beyond)."""
        ...

    def timing_quantiles(self, filters: Filters, limit: int) -> TimingQuantiles | None:
        """The latency percentiles computed by the engine itself (None: this engine leaves
        them to :meth:`timing_sample`), from every timed request, or above ``limit`` of them
        from the same kind of even sample."""
        ...

    def billed(self, provider: str, since: datetime, until: datetime) -> list[BilledLine]:
        """A provider's billed cost lines in [since, until)."""
        ...

    def models_with_tag(self, tag: str) -> list[str]:
        """The model names of records that carry ``tag``."""
        ...

    def outputs_per_request(self, feature: str, days: int) -> list[int]:
        """Output tokens per request of ``feature``'s successful records in the last ``days``
        days of that feature's records, in ascending order."""
        ...

    def iter_records(self, filters: Filters | None = None) -> Iterator[UsageRecord]:
        """The records, oldest first."""
        ...

    def refresh_rollup(self) -> int:
        """Bring derived tables up to date; the number of days refreshed."""
        ...
