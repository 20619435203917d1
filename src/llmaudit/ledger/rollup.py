"""Grouped sums of records, from the records or from the daily rollup when it answers exactly,
and the rollup's upkeep (SQLite)."""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime, time, timezone
from typing import Any, NoReturn

from llmaudit.constants import cores
from llmaudit.errors import StoreError
from llmaudit.ledger.connection import BUSY_TIMEOUT_MS, DAMAGED_HINT, stored_json
from llmaudit.ledger.filters import Filters
from llmaudit.ledger.sketch import GAMMA, KINDS, ZERO_BUCKET, written_bucket
from llmaudit.ledger.where import attribution_sql, dim_sql, where_sql
from llmaudit.model.record import COUNT_FIELDS

SUMS = COUNT_FIELDS
# -- the daily rollup ---------------------------------------------------------------------------
ROLLUP_LONG_CONTEXT = 200_000  # the one long-context threshold the rollup classifies by
ROLLUP_DIMS = ("feature", "team", "customer", "project", "api_key", "environment", "source_kind")
ROLLUP_FILTERS = (*ROLLUP_DIMS, "provider", "model", "service_tier", "status")


def refresh_rollup(conn: sqlite3.Connection) -> int:
    """Recompute the daily sums of every day a write has touched since the last refresh.
    Returns the number of days refreshed. Takes no write lock when nothing is dirty, so a
    read-only ledger with a fresh rollup still reads it."""
    if conn.execute("SELECT 1 FROM rollup_dirty LIMIT 1").fetchone() is None:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        days = [r[0] for r in conn.execute("SELECT day FROM rollup_dirty ORDER BY day")]
        for start in range(0, len(days), REFRESH_DAYS):  # memory bounded by the window's rows
            window = days[start : start + REFRESH_DAYS]
            with stored_json():
                sums = _day_sums(conn, window)
            for day in window:
                daily, latency = sums.pop(day)
                conn.execute("DELETE FROM rollup_daily WHERE day = ?", (day,))
                conn.executemany(_DAILY_INSERT, daily)
                conn.execute("DELETE FROM rollup_latency WHERE day = ?", (day,))
                conn.executemany(_LATENCY_INSERT, latency)
        conn.execute("DELETE FROM rollup_dirty")
        conn.execute("COMMIT")
    except sqlite3.IntegrityError as exc:  # a sum of values no llmaudit writes (a text time)
        conn.execute("ROLLBACK")
        raise StoreError(f"cannot refresh the daily rollup: {exc}", hint=DAMAGED_HINT) from exc
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(days)


_LONG_CONTEXT_SQL = (
    "(CASE WHEN json_extract(tags, '$.context_window') IS NOT NULL "
    "THEN substr(json_extract(tags, '$.context_window'), 1, 2) != '0-' "
    "ELSE ((input_uncached + cache_read + cache_write_5m + cache_write_1h) * 1.0 "
    f"/ MAX(requests, 1)) > {ROLLUP_LONG_CONTEXT} END)"
)
# One day at a time: each GROUP BY sorts one day's records in memory, where one statement
# over every dirty day made SQLite spill a sort of the whole ledger to disk. The day is the
# parameter, not a column to group by: comparing it in every step of the sort cost a tenth.
_DAILY_SQL = (
    "SELECT ?1, model, provider, "
    f"service_tier, status, {_LONG_CONTEXT_SQL}, feature, team, customer, project, api_key, "
    "environment, user IS NOT NULL, source_kind, SUM(requests), "
    "SUM(input_uncached), SUM(cache_read), SUM(cache_write_5m), "
    "SUM(cache_write_1h), SUM(output), SUM(reasoning), COUNT(*), "
    "SUM(CASE WHEN cache_read > 0 THEN requests ELSE 0 END) FROM records "
    "WHERE ts >= ?1 AND ts < ?2 "
    "GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14"
)
_DAILY_INSERT = f"INSERT INTO rollup_daily VALUES ({', '.join('?' * 23)})"
_LATENCY_INSERT = "INSERT INTO rollup_latency (day, model, kind, bucket, n) VALUES (?, ?, ?, ?, ?)"
# From this many dirty days, a second connection in a thread sums every other day: SQLite
# sorts and sums without Python's lock, so on two cores the refresh after a large ingest
# takes about half the time (0.95 -> 0.51 s for 200,000 records over 31 days).
PARALLEL_DAYS = 4
# Days summed before their rows are written: a day's rows are held in memory until then (a
# thousand latency buckets a day is common), so a refresh of every day of a long history
# held them all (60 MiB for 150 days) where this bounds them.
REFRESH_DAYS = 16

DaySums = dict[str, tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]


def _sum_days(conn: sqlite3.Connection, days: Sequence[str], out: DaySums) -> None:
    for day in days:
        span = (day, day + "T99")
        out[day] = (
            conn.execute(_DAILY_SQL, span).fetchall(),
            conn.execute(_LATENCY_SQL, span).fetchall(),
        )


def _day_sums(conn: sqlite3.Connection, days: list[str]) -> DaySums:
    """Each day's rows of the daily sums and of the latency histograms. The caller holds the
    write lock, so a second connection reads the very records this one does."""
    out: DaySums = {}
    path = next(
        (file for _, name, file in conn.execute("PRAGMA database_list") if name == "main"), ""
    )
    # (a SQLite built single-threaded, threadsafety 0, allows no second connection in a thread)
    if len(days) < PARALLEL_DAYS or not path or cores() < 2 or not sqlite3.threadsafety:
        _sum_days(conn, days, out)
        return out
    failed: list[BaseException] = []

    def helper() -> None:
        try:
            other = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                ensure_math(other)
                _sum_days(other, days[1::2], out)
            finally:
                other.close()
        except BaseException as exc:  # the caller's connection sums these days instead
            failed.append(exc)

    thread = threading.Thread(target=helper, name="llmaudit-rollup", daemon=True)
    thread.start()
    try:
        _sum_days(conn, days[0::2], out)
    finally:
        thread.join()
    if failed:  # the other connection could not read: this one sums its days too
        _sum_days(conn, [day for day in days[1::2] if day not in out], out)
    return out


def _bucket(value: str) -> str:
    """SQL of the sketch bucket of ``value`` (ledger/sketch.py's mapping)."""
    return (
        f"CASE WHEN {value} > 0 THEN CAST(ceil(ln({value}) / ln({GAMMA!r})) AS INTEGER) "
        f"ELSE {ZERO_BUCKET} END"
    )


_ITL = (
    "CASE WHEN ttft_ms IS NOT NULL AND latency_ms IS NOT NULL AND output > 1 "
    "AND latency_ms >= ttft_ms THEN (latency_ms - ttft_ms) / (output - 1.0) END"
)
_LATENCY_SQL = (
    "SELECT ?1, model, kind, bucket, COUNT(*) FROM ("
    + " UNION ALL ".join(
        f"SELECT model, '{kind}' AS kind, {_bucket(value)} AS bucket FROM records "
        f"WHERE ts >= ?1 AND ts < ?2 AND {value} IS NOT NULL"
        for kind, value in (("ttft", "ttft_ms"), ("latency", "latency_ms"), ("itl", _ITL))
    )
    + ") GROUP BY model, kind, bucket"
)


def ensure_math(conn: sqlite3.Connection) -> None:
    """ln() and ceil(), which SQLite builds without its math functions lack: from Python."""
    try:
        conn.execute("SELECT ln(2.0), ceil(1.5)")
    except sqlite3.OperationalError:
        conn.create_function("ln", 1, math.log, deterministic=True)
        conn.create_function("ceil", 1, math.ceil, deterministic=True)


def timed_requests(conn: sqlite3.Connection, filters: Filters) -> int:
    """The window's timed requests as the histograms count them (per model, the larger of
    its latency and TTFT counts), without reading their buckets."""
    where, params = where_sql(filters, time_column="day")
    kinds = "kind IN ('latency', 'ttft')"
    found = conn.execute(
        "SELECT SUM(most) FROM (SELECT MAX(n) AS most FROM (SELECT model, SUM(n) AS n "
        f"FROM rollup_latency {where + ' AND ' if where else 'WHERE '}{kinds} "
        "GROUP BY model, kind) GROUP BY model)",
        params,
    ).fetchone()[0]
    return found if type(found) is int else 0


def latency_histograms(
    conn: sqlite3.Connection, filters: Filters
) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """The sketch's histograms of (model, kind) over the window's whole days, by bucket."""
    where, params = where_sql(filters, time_column="day")
    out: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for model, kind, bucket, n in conn.execute(
        f"SELECT model, kind, bucket, SUM(n) FROM rollup_latency {where} "
        "GROUP BY model, kind, bucket ORDER BY model, kind, bucket",
        params,
    ):
        if type(model) is not str or kind not in KINDS:
            _not_written("latency rollup", "model" if type(model) is not str else "kind", model)
        if not written_bucket(bucket):
            _not_written("latency rollup", "bucket", bucket)
        if type(n) is not int or n < 0:
            _not_written("latency rollup", "n", n)
        out.setdefault((model, kind), []).append((bucket, n))
    return out


def _midnight_utc(moment: datetime | None) -> bool:
    return moment is None or moment.astimezone(timezone.utc).time() == time(0)


def rollup_usable(
    filters: Filters,
    dims: Sequence[str],
    bucket: str,
    long_context: dict[str, int] | None,
) -> bool:
    """Whether the daily rollup answers this aggregation exactly."""
    if os.environ.get("LLMAUDIT_NO_ROLLUP") or bucket != "day":
        return False
    if not (_midnight_utc(filters.since) and _midnight_utc(filters.until)):
        return False
    if any(d not in ROLLUP_DIMS and d != "has_user" for d in dims):
        return False
    if any(d not in ROLLUP_FILTERS for d, _ in filters.where):
        return False
    if any(t != ROLLUP_LONG_CONTEXT for t in (long_context or {}).values()):
        return False
    attribution = filters.attribution or {}
    # the rollup keeps whether a record has a user, not which
    return not attribution.get("user") and not any(
        "user" in names
        for kind in attribution.values()
        if isinstance(kind, dict)
        for names in kind.values()
        if isinstance(names, dict)
    )


def aggregate(
    conn: sqlite3.Connection,
    filters: Filters,
    dims: Sequence[str] = (),
    *,
    bucket: str = "day",
    long_context: dict[str, int] | None = None,
    cached_requests: bool = False,
    time_windows: dict[str, list[tuple[str, str]]] | None = None,
) -> list[dict[str, Any]]:
    """Token sums grouped by time bucket (UTC ``hour`` or ``day``), model, provider, service
    tier, status, long-context class, time-of-day window and ``dims``: the unit the cost kernel
    prices.

    ``time_windows`` maps a model name to its priced time-of-day windows (UTC "HH:MM" from,
    until); ``tw`` is then the last window covering a record (1-based), 0 for none.

    ``long_context`` maps a model name (as stored) to its threshold; a record is in the long
    class when its mean input per request is above it, so pricing the group gives the same
    total as pricing each record. ``cached_requests`` adds the requests with a cache read.
    Day groups come from the daily rollup when it can answer exactly (refreshed first).
    """
    if not time_windows and rollup_usable(filters, dims, bucket, long_context):
        try:
            refresh_rollup(conn)
        except sqlite3.OperationalError:
            pass  # a read-only ledger with stale days: read the records instead
        else:
            return _from_rollup(conn, filters, dims, cached_requests)
    width = {"hour": 13, "day": 10}[bucket]
    lc_sql = "0"
    params: list[Any] = []
    if long_context:
        cases = []
        for model, threshold in long_context.items():
            cases.append(
                "WHEN model = ? THEN ((input_uncached + cache_read + cache_write_5m "
                "+ cache_write_1h) * 1.0 / MAX(requests, 1)) > ?"
            )
            params.extend([model, threshold])
        lc_sql = (
            "(CASE WHEN json_extract(tags, '$.context_window') IS NOT NULL "
            "THEN substr(json_extract(tags, '$.context_window'), 1, 2) != '0-' "
            f"{' '.join(cases)} ELSE 0 END)"
        )
    tw_sql = "0"
    if time_windows:
        clock = "substr(ts, 12, 5)"
        cases = []
        for model, windows in time_windows.items():
            # CASE takes the first WHEN: the last window first, as the last one wins
            for i in reversed(range(len(windows))):
                start, end = windows[i]
                joint = "AND" if start <= end else "OR"
                cases.append(f"WHEN model = ? AND ({clock} >= ? {joint} {clock} < ?) THEN {i + 1}")
                params.extend([model, start, end])
        tw_sql = f"(CASE {' '.join(cases)} ELSE 0 END)"
    dim_cols = []
    dim_params: list[Any] = []
    for d in dims:
        if d == "has_user":  # 1 when the record has a user (or the map gives it one)
            expr, expr_params = attribution_sql("user", filters.attribution)
            dim_cols.append(f"CASE WHEN {expr} IS NOT NULL THEN 1 END")
            dim_params.extend(expr_params)
            continue
        expr, expr_params = attribution_sql(d, filters.attribution)
        dim_cols.append(dim_sql(d) if expr == d else expr)
        dim_params.extend(expr_params)
    select = [
        f"substr(ts, 1, {width}) AS bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        f"{lc_sql} AS lc",
        f"{tw_sql} AS tw",
        *(f"{col} AS d{i}" for i, col in enumerate(dim_cols)),
        *(f"SUM({s}) AS {s}" for s in SUMS),
        "COUNT(*) AS records",
        *(
            ["SUM(CASE WHEN cache_read > 0 THEN requests ELSE 0 END) AS cached_requests"]
            if cached_requests
            else []
        ),
    ]
    where, where_params = where_sql(filters)
    return _grouped(conn, "records", select, dims, where, (*params, *dim_params, *where_params))


def _from_rollup(
    conn: sqlite3.Connection, filters: Filters, dims, cached_requests: bool
) -> list[dict[str, Any]]:
    dim_cols: list[str] = []
    dim_params: list[Any] = []
    for d in dims:
        if d == "has_user":
            dim_cols.append("CASE WHEN has_user THEN 1 END")
            continue
        expr, expr_params = attribution_sql(d, filters.attribution)
        dim_cols.append(expr)
        dim_params.extend(expr_params)
    select = [
        "day AS bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        "lc",
        *(f"{col} AS d{i}" for i, col in enumerate(dim_cols)),
        *(f"SUM({s}) AS {s}" for s in SUMS),
        "SUM(records) AS records",
        *(["SUM(cached_requests) AS cached_requests"] if cached_requests else []),
    ]
    where, where_params = where_sql(filters, time_column="day")
    return _grouped(conn, "rollup_daily", select, dims, where, (*dim_params, *where_params))


def _grouped(
    conn: sqlite3.Connection,
    table: str,
    select: list[str],
    dims: Sequence[str],
    where: str,
    params: tuple[Any, ...],
) -> list[dict[str, Any]]:
    """Run a grouping over ``table`` (records or the daily rollup) by the pricing unit: time
    bucket, model, provider, tier, status, long-context class and the dimensions ``dims``
    (d0..dN in the SQL)."""
    n_dims = len(dims)
    group = [
        "bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        "lc",
        *(["tw"] if table == "records" else []),
        *(f"d{i}" for i in range(n_dims)),
    ]
    sql = f"SELECT {', '.join(select)} FROM {table} {where} GROUP BY {', '.join(group)}"
    with stored_json():
        rows = conn.execute(sql, params)
        names = [d[0] for d in rows.description]
        counts = [name for name in names if name in _COUNTS]
        named = {f"d{i}": name for i, name in enumerate(dims)}
        out = []
        for row in rows:
            item = dict(zip(names, row, strict=True))
            _check_group(item, counts, named, table)
            item["dims"] = tuple(item.pop(f"d{i}") for i in range(n_dims))
            item.setdefault("tw", 0)
            out.append(item)
    return out


_COUNTS = frozenset((*SUMS, "records", "cached_requests"))
_TEXTS = ("model", "provider", "service_tier", "status")
_BUCKET = re.compile(r"\d{4}-\d\d-\d\d(T\d\d)?")


def _check_group(item: dict[str, Any], counts: list[str], dims: dict[str, str], table: str) -> None:
    """A group as only a ledger llmaudit wrote can give it: sums of counts, names as text,
    dimensions as text or none (or has_user's 1), a UTC day or hour. Anything else (a ledger
    changed by hand, or damaged) is a StoreError, not a wrong sum priced."""
    for name in counts:
        value = item[name]
        if type(value) is not int or value < 0:
            _not_written(_what(table), name, value)
    for name in _TEXTS:
        if type(item[name]) is not str:
            _not_written(_what(table), name, item[name])
    for column, name in dims.items():
        value = item[column]
        if value is not None and type(value) is not str and not (type(value) is int and value == 1):
            _not_written(_what(table), name, value)
    bucket = item["bucket"]
    if type(bucket) is not str or not _BUCKET.fullmatch(bucket):
        _not_written(_what(table), "day" if table == "rollup_daily" else "ts", bucket)


def _what(table: str) -> str:
    return "daily rollup" if table == "rollup_daily" else "records"


def _not_written(what: str, name: str, value: Any) -> NoReturn:
    shown = value if type(value) in (int, float) else repr(str(value)[:40])
    raise StoreError(
        f"the ledger's {what} hold a value of {name} no llmaudit writes (reading {shown})",
        hint=DAMAGED_HINT,
    )
