"""The SQLite answers to :class:`llmaudit.ledger.api.Queries`."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError, StoreError
from llmaudit.ledger import sketch
from llmaudit.ledger.api import BilledLine, Timing, TimingQuantiles, TimingSample
from llmaudit.ledger.connection import (
    DAMAGED_HINT,
    RECORD_COLUMNS,
    Connected,
    row_to_record,
    stored_json,
)
from llmaudit.ledger.filters import Filters
from llmaudit.ledger.rollup import (
    aggregate,
    latency_histograms,
    refresh_rollup,
    rollup_usable,
    timed_requests,
)
from llmaudit.ledger.where import where_sql
from llmaudit.model.record import UsageRecord
from llmaudit.model.values import format_ts, stored_ts

# Up to this many timed requests the latency percentiles are exact (read from the records);
# above, from the daily histograms. Reading them exactly costs about 1.5 us a timed request
# (SQLite turns each row into Python objects, which are then sorted); the histograms cost
# about 20 ms at any size, so above about 20,000 the exact path is the slower one
# (benchmarks/README.md, twelfth part).
EXACT_UP_TO = 20_000


class Reads(Connected):
    def refresh_rollup(self) -> int:
        """Bring the daily rollup up to date (reports do it too; ingest does it once, at the
        end, so the first report after a big ingest stays fast)."""
        try:
            return refresh_rollup(self.conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot refresh the daily rollup: {exc}") from exc

    def iter_records(self, filters: Filters | None = None) -> Iterator[UsageRecord]:
        """The records (all, or those ``filters`` selects), oldest first."""
        where, params = where_sql(filters) if filters is not None else ("", ())
        yield from self._records(where, params)

    def _records(self, where: str, params: tuple[Any, ...]) -> Iterator[UsageRecord]:
        cols = ", ".join(RECORD_COLUMNS)
        sql = f"SELECT {cols}, dedupe_key FROM records {where} ORDER BY ts, id"
        with stored_json():  # (a filter by a tag)
            for row in self.conn.execute(sql, params):
                yield row_to_record(row)

    def records_with_reported_cost(self, since: datetime, until: datetime) -> Iterator[UsageRecord]:
        """The records in [since, until) whose source logged a cost of its own."""
        return self._records(
            "WHERE reported_cost_usd IS NOT NULL AND ts >= ? AND ts < ?",
            (format_ts(since), format_ts(until)),
        )

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
        return aggregate(
            self.conn,
            filters,
            dims,
            bucket=bucket,
            long_context=long_context,
            cached_requests=cached_requests,
            time_windows=time_windows,
        )

    def model_names(self) -> list[str]:
        # every record is in some day's rollup group: thousands of rows, not millions
        table = "rollup_daily" if self._fresh_rollup() else "records"
        return [r[0] for r in self.conn.execute(f"SELECT DISTINCT model FROM {table}")]

    def time_span(self) -> tuple[datetime | None, datetime | None]:
        # two subqueries: SQLite answers a lone MIN or MAX from the index in a step, but
        # scans the whole index for both in one SELECT (0.13 s at a million records)
        first, last = self.conn.execute(
            "SELECT (SELECT MIN(ts) FROM records), (SELECT MAX(ts) FROM records)"
        ).fetchone()
        return _instant(first), _instant(last)

    def timing_sample(self, filters: Filters, limit: int) -> TimingSample:
        where, params = where_sql(filters)
        cond = "latency_ms IS NOT NULL OR ttft_ms IS NOT NULL"
        clause = f"{where} AND ({cond})" if where else f"WHERE {cond}"
        bound = self._timed_at_most(filters)
        if bound == 0:  # none: nothing to scan for
            return TimingSample(0, 1, iter(()))
        if bound is not None and bound <= limit:  # all of them, counted as they are read
            rows = self.conn.execute(
                f"SELECT model, latency_ms, ttft_ms, output FROM records {clause}", params
            ).fetchall()
            return TimingSample(len(rows), 1, iter(_checked_timings(rows)))
        total = self.conn.execute(f"SELECT COUNT(*) FROM records {clause}", params).fetchone()[0]
        step = max(1, -(-total // limit))
        if step > 1:
            clause += " AND rowid % ? = 0"
            params = (*params, step)
        cur = self.conn.execute(
            f"SELECT model, latency_ms, ttft_ms, output FROM records {clause}", params
        )
        return TimingSample(total, step, _timings(cur))

    def timing_quantiles(self, filters: Filters, limit: int) -> TimingQuantiles | None:
        """Above EXACT_UP_TO timed requests in a window of whole UTC days (filtered by model
        at most), the percentiles from the daily latency histograms (within 1%); otherwise
        None, and analysis computes them exactly from :meth:`timing_sample`."""
        if any(dim != "model" for dim, _ in filters.where):
            return None
        if not rollup_usable(filters, (), "day", None) or not self._fresh_rollup():
            return None
        if timed_requests(self.conn, filters) <= min(limit, EXACT_UP_TO):
            return None  # (counted before the buckets are read: 20 ms at any size)
        rows = sketch.quantile_rows(latency_histograms(self.conn, filters))
        return TimingQuantiles(1, rows, method="sketch")

    def _timed_at_most(self, filters: Filters) -> int | None:
        """At least as many as the window's timed requests, from the daily histograms of the
        days it touches (a timed request is in its day's latency or TTFT histogram); None when
        they cannot say (filters beyond model, or no fresh rollup). Counting the records
        instead scans every one in the window: 26 ms for 200,000 without timings."""
        if any(dim != "model" for dim, _ in filters.where) or not self._fresh_rollup():
            return None
        where, params = where_sql(Filters(where=filters.where))
        days = []
        if filters.since:
            days.append("day >= ?")
            params = (*params, format_ts(filters.since)[:10])
        if filters.until:
            days.append("day <= ?")  # the day of the (exclusive) end, whole
            params = (*params, format_ts(filters.until)[:10])
        clause = " AND ".join([where.removeprefix("WHERE "), *days] if where else days)
        found = self.conn.execute(
            "SELECT SUM(n) FROM rollup_latency WHERE kind IN ('latency', 'ttft')"
            + (f" AND {clause}" if clause else ""),
            params,
        ).fetchone()[0]
        return int(found or 0)

    def _fresh_rollup(self) -> bool:
        """Refresh the rollup; False when it cannot be (read-only with dirty days) or is off."""
        if os.environ.get("LLMAUDIT_NO_ROLLUP"):
            return False
        try:
            refresh_rollup(self.conn)
        except sqlite3.OperationalError:
            return False
        return True

    def billed(self, provider: str, since: datetime, until: datetime) -> list[BilledLine]:
        return [
            BilledLine(provider, _instant(ts), model, project, Decimal(amount), item, cost_type)
            for ts, model, project, amount, item, cost_type in self.conn.execute(
                "SELECT ts, model, project, amount_usd, line_item, cost_type FROM billed_costs "
                "WHERE provider = ? AND ts >= ? AND ts < ?",
                (provider, format_ts(since), format_ts(until)),
            )
        ]

    def models_with_tag(self, tag: str) -> list[str]:
        path = '$."' + tag.replace('"', '\\"') + '"'
        with stored_json():
            return [
                r[0]
                for r in self.conn.execute(
                    "SELECT DISTINCT model FROM records WHERE json_extract(tags, ?) IS NOT NULL",
                    (path,),
                )
            ]

    def outputs_per_request(self, feature: str, days: int) -> list[int]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT output / MAX(requests, 1) FROM records WHERE feature = ? AND status = 'ok' "
                "AND ts >= (SELECT strftime('%Y-%m-%dT%H:%M:%S', MAX(ts), ?) FROM records "
                "WHERE feature = ?) ORDER BY 1",
                (feature, f"-{int(days)} days", feature),
            )
        ]


def _timings(cur: sqlite3.Cursor) -> Iterator[Timing]:
    """The rows of (model, latency, ttft, output) a cursor reads, checked a chunk at a time."""
    while chunk := cur.fetchmany(10_000):
        yield from _checked_timings(chunk)


_TIMES = {float, type(None)}


def _checked_timings(rows: list[Any]) -> list[Timing]:
    """Rows of (model, latency, ttft, output) as only a ledger llmaudit wrote holds them: a
    REAL column keeps a float or NULL, an INTEGER one an int; anything else is a StoreError.
    (Checked by the set of each column's types: a row at a time costs five times more.)"""
    if (
        {type(r[1]) for r in rows} <= _TIMES
        and {type(r[2]) for r in rows} <= _TIMES
        and {type(r[3]) for r in rows} <= {int}
    ):
        return rows
    bad = next(
        r[1:]
        for r in rows
        if type(r[1]) not in _TIMES or type(r[2]) not in _TIMES or type(r[3]) is not int
    )
    raise StoreError(
        f"the ledger's records hold a timing no llmaudit writes: {bad!r}"[:200],
        hint=DAMAGED_HINT,
    )


def _instant(text: str | None) -> Any:
    """A stored time (``2026-01-02T03:04:05.000000Z``) -> an aware UTC datetime."""
    if text is None:
        return None
    try:
        return stored_ts(text)
    except RecordError as exc:
        raise StoreError(
            f"the ledger holds a time that cannot be read: {exc.reason}",
            hint=DAMAGED_HINT,
        ) from exc
