"""Selecting records: time ranges (explicit about the time zone) and filters, as SQL."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from llmaudit.errors import UsageError
from llmaudit.model.record import ATTRIBUTION_FIELDS, TOKEN_FIELDS
from llmaudit.model.values import TS_MAX, TS_MIN, format_ts

DIMENSIONS = (
    *ATTRIBUTION_FIELDS,
    "provider",
    "model",
    "service_tier",
    "status",
    "source_kind",
    "source_name",
)
_RELATIVE = re.compile(r"^(\d+)\s*(m|h|d|w)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_SPAN = timedelta(days=366 * 130)  # longer than the ledger's span of years


def parse_span(text: str, *, option: str, units: str = "mhdw") -> timedelta:
    """``30m``, ``1h``, ``7d``, ``2w`` (the units allowed) -> a positive timedelta, at most
    the ledger's span; anything else is a usage error naming the option."""
    m = _RELATIVE.match(text.strip().lower())
    examples = ", ".join(
        f"{n}{u}" for n, u in zip((30, 1, 7, 2), "mhdw", strict=True) if u in units
    )
    if not m or m.group(2) not in units or int(m.group(1)) == 0:
        raise UsageError(f"{option}: {text!r} is not a span such as {examples}")
    count = int(m.group(1))
    limit = MAX_SPAN // timedelta(**{_UNITS[m.group(2)]: 1})
    if count > limit:
        raise UsageError(f"{option}: {text!r} is longer than {limit:,}{m.group(2)}")
    return timedelta(**{_UNITS[m.group(2)]: count})


def zone(name: str | None) -> tzinfo:
    """``UTC`` (the default), an IANA name such as ``Europe/Paris``, or ``local``."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    if name == "local":
        return datetime.now().astimezone().tzinfo or timezone.utc
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--tz: unknown time zone {name!r}; use UTC or a name like Europe/Paris"
        ) from None


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def parse_bound(
    text: str, *, option: str, tz: tzinfo, now: datetime, end: bool = False
) -> tuple[datetime, datetime | None]:
    """One ``--since``/``--until`` value -> (instant, implied other end or None), inside the
    ledger's span of years (a usage error otherwise, however far off: ``0001-01-01``,
    ``999999999999d``)."""
    try:
        moment, other = _parse_bound(text, option=option, tz=tz, now=now, end=end)
        inside = TS_MIN <= moment <= TS_MAX
    except (OverflowError, ValueError):
        inside = False
    if not inside:
        raise UsageError(
            f"{option}: {text!r} is outside the years {TS_MIN.year}..{TS_MAX.year - 1}"
        ) from None
    return moment, other


def _parse_bound(
    text: str, *, option: str, tz: tzinfo, now: datetime, end: bool = False
) -> tuple[datetime, datetime | None]:
    """One ``--since``/``--until`` value -> (instant, implied other end or None).

    Dates are whole days in ``tz``: ``--since 2026-11-01`` starts at that midnight and
    ``--until 2026-11-30`` includes the 30th. Relative values (``7d``, ``12h``, ``30m``, ``2w``)
    count back from now; ``today``, ``yesterday``, ``mtd`` (month to date) and ``last-month``
    are calendar periods in ``tz``.
    """
    value = text.strip().lower()
    local_today = now.astimezone(tz).date()
    m = _RELATIVE.match(value)
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}), None
    if value == "today":
        start = _midnight(local_today, tz)
        return (_midnight(local_today + timedelta(days=1), tz) if end else start), None
    if value == "yesterday":
        day = local_today - timedelta(days=1)
        if end:
            return _midnight(local_today, tz), None
        return _midnight(day, tz), _midnight(local_today, tz)
    if value == "mtd":
        return _midnight(local_today.replace(day=1), tz), None
    if value == "last-month":
        first_this = local_today.replace(day=1)
        first_last = (first_this - timedelta(days=1)).replace(day=1)
        if end:
            return _midnight(first_this, tz), None
        return _midnight(first_last, tz), _midnight(first_this, tz)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return _midnight(day + timedelta(days=1) if end else day, tz), None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{option}: {text!r} is not a date (2026-11-01), a date-time, a span (7d, 12h) "
            "or one of today, yesterday, mtd, last-month"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc), None


# Dimensions an [attribution] map can fill from the ids providers report.
MAPPED = ("team", "feature", "customer", "environment", "user", "project")
MAP_SOURCES = ("project", "api_key", "user")


def attribution_sql(dim: str, attribution: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """SQL for a dimension, filled from the [attribution] map where the record has none:
    ``[attribution.project.proj_abc] team = "search"`` names a provider project's team."""
    if not attribution or dim not in MAPPED:
        return dim, []
    cases: list[str] = []
    params: list[Any] = []
    for source in MAP_SOURCES:
        if source == dim:
            continue
        for ident, names in (attribution.get(source) or {}).items():
            if isinstance(names, dict) and names.get(dim) is not None:
                cases.append(f"WHEN {source} = ? THEN ?")
                params.extend([ident, str(names[dim])])
    if not cases:
        return dim, []
    return f"COALESCE({dim}, CASE {' '.join(cases)} END)", params


@dataclass
class Filters:
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    where: list[tuple[str, str]] = field(default_factory=list)
    attribution: dict[str, Any] | None = None

    @classmethod
    def from_options(
        cls,
        *,
        since: str | None = None,
        until: str | None = None,
        tz: str | None = None,
        where: tuple[str, ...] | list[str] = (),
        providers: tuple[str, ...] | list[str] = (),
        models: tuple[str, ...] | list[str] = (),
        now: datetime | None = None,
        attribution: dict[str, Any] | None = None,
    ) -> Filters:
        zone_info = zone(tz)
        now = now or datetime.now(timezone.utc)
        start = end = None
        if since:
            start, implied_end = parse_bound(since, option="--since", tz=zone_info, now=now)
            end = implied_end
        if until:
            end, _ = parse_bound(until, option="--until", tz=zone_info, now=now, end=True)
        if start and end and end <= start:
            raise UsageError("--until must be later than --since")
        pairs = [parse_where(w) for w in where]
        pairs += [("provider", p) for p in providers]
        pairs += [("model", m) for m in models]
        return cls(start, end, pairs, attribution)

    def sql(self, time_column: str = "ts") -> tuple[str, tuple[Any, ...]]:
        """A ``WHERE`` clause (or "") and its parameters. Same dimension twice means OR.
        ``time_column="day"`` compares whole UTC days (the daily rollup)."""
        clauses: list[str] = []
        params: list[Any] = []

        def stamp(moment: datetime) -> str:
            text = format_ts(moment)
            return text[:10] if time_column == "day" else text

        if self.since:
            clauses.append(f"{time_column} >= ?")
            params.append(stamp(self.since))
        if self.until:
            clauses.append(f"{time_column} < ?")
            params.append(stamp(self.until))
        grouped: dict[str, list[str]] = {}
        for dim, value in self.where:
            grouped.setdefault(dim, []).append(value)
        for dim, values in grouped.items():
            if dim.startswith("tag:"):
                column = "json_extract(tags, ?)"
                path = '$."' + dim[4:].replace('"', '\\"') + '"'
                ors = " OR ".join(f"{column} = ?" for _ in values)
                for v in values:
                    params.extend([path, v])
            else:
                expr, expr_params = attribution_sql(dim, self.attribution)
                ors = " OR ".join(f"{expr} = ?" for _ in values)
                for v in values:
                    params.extend([*expr_params, v])
            clauses.append(f"({ors})")
        if not clauses:
            return "", ()
        return "WHERE " + " AND ".join(clauses), tuple(params)


def parse_where(text: str) -> tuple[str, str]:
    dim, sep, value = text.partition("=")
    dim = dim.strip()
    if not sep or not dim:
        raise UsageError(f"--where: {text!r} is not DIM=VALUE (e.g. feature=search, tag:env=prod)")
    if dim not in DIMENSIONS and not (dim.startswith("tag:") and len(dim) > 4):
        raise UsageError(
            f"--where: unknown dimension {dim!r}; use one of {', '.join(DIMENSIONS)} or tag:KEY"
        )
    return dim, value


# -- aggregation -------------------------------------------------------------------------------
SUMS = ("requests", *TOKEN_FIELDS)


def _dim_sql(dim: str) -> str:
    if dim.startswith("tag:"):
        key = dim[4:].replace("'", "''").replace('"', '\\"')
        return f"json_extract(tags, '$.\"{key}\"')"
    if dim not in DIMENSIONS:
        raise UsageError(
            f"unknown dimension {dim!r}; use one of {', '.join(DIMENSIONS)} or tag:KEY"
        )
    return dim


# -- the daily rollup ---------------------------------------------------------------------------
ROLLUP_LONG_CONTEXT = 200_000  # the one long-context threshold the rollup classifies by
ROLLUP_DIMS = ("feature", "team", "customer", "project", "api_key", "environment", "source_kind")
ROLLUP_FILTERS = (*ROLLUP_DIMS, "provider", "model", "service_tier", "status")


def refresh_rollup(conn: Any) -> int:
    """Recompute the daily sums of every day a write has touched since the last refresh.
    Returns the number of days refreshed. Takes no write lock when nothing is dirty, so a
    read-only ledger with a fresh rollup still reads it."""
    if conn.execute("SELECT 1 FROM rollup_dirty LIMIT 1").fetchone() is None:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        days = [r[0] for r in conn.execute("SELECT day FROM rollup_dirty ORDER BY day")]
        lc = (
            "(CASE WHEN json_extract(tags, '$.context_window') IS NOT NULL "
            "THEN substr(json_extract(tags, '$.context_window'), 1, 2) != '0-' "
            "ELSE ((input_uncached + cache_read + cache_write_5m + cache_write_1h) * 1.0 "
            f"/ MAX(requests, 1)) > {ROLLUP_LONG_CONTEXT} END)"
        )
        # One day at a time: each GROUP BY sorts one day's records in memory, where one
        # statement over every dirty day made SQLite spill a sort of the whole ledger to disk.
        for day in days:
            conn.execute("DELETE FROM rollup_daily WHERE day = ?", (day,))
            conn.execute(
                "INSERT INTO rollup_daily SELECT substr(ts, 1, 10), model, provider, "
                f"service_tier, status, {lc}, feature, team, customer, project, api_key, "
                "environment, user IS NOT NULL, source_kind, SUM(requests), "
                "SUM(input_uncached), SUM(cache_read), SUM(cache_write_5m), "
                "SUM(cache_write_1h), SUM(output), SUM(reasoning), COUNT(*), "
                "SUM(CASE WHEN cache_read > 0 THEN requests ELSE 0 END) FROM records "
                "WHERE ts >= ? AND ts < ? "
                "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14",
                (day, day + "T99"),
            )
        conn.execute("DELETE FROM rollup_dirty")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(days)


def _midnight_utc(moment: datetime | None) -> bool:
    return moment is None or moment.astimezone(timezone.utc).time() == time(0)


def rollup_usable(
    filters: Filters,
    dims: list[str] | tuple[str, ...],
    bucket: str,
    long_context: dict[str, int] | None,
) -> bool:
    """Whether the daily rollup answers this aggregation exactly."""
    import os

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
    conn: Any,
    filters: Filters,
    dims: list[str] | tuple[str, ...] = (),
    *,
    bucket: str = "day",
    long_context: dict[str, int] | None = None,
    cached_requests: bool = False,
) -> list[dict[str, Any]]:
    """Token sums grouped by time bucket (UTC ``hour`` or ``day``), model, provider, service
    tier, status, long-context class and ``dims``: the unit the cost kernel prices.

    ``long_context`` maps a model name (as stored) to its threshold; a record is in the long
    class when its mean input per request is above it, so pricing the group gives the same
    total as pricing each record. ``cached_requests`` adds the requests with a cache read.
    Day groups come from the daily rollup when it can answer exactly (refreshed first).
    """
    if rollup_usable(filters, dims, bucket, long_context):
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
    dim_cols = []
    dim_params: list[Any] = []
    for d in dims:
        if d == "has_user":  # 1 when the record has a user (or the map gives it one)
            expr, expr_params = attribution_sql("user", filters.attribution)
            dim_cols.append(f"CASE WHEN {expr} IS NOT NULL THEN 1 END")
            dim_params.extend(expr_params)
            continue
        expr, expr_params = attribution_sql(d, filters.attribution)
        dim_cols.append(_dim_sql(d) if expr == d else expr)
        dim_params.extend(expr_params)
    select = [
        f"substr(ts, 1, {width}) AS bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        f"{lc_sql} AS lc",
        *(f"{col} AS d{i}" for i, col in enumerate(dim_cols)),
        *(f"SUM({s}) AS {s}" for s in SUMS),
        "COUNT(*) AS records",
        *(
            ["SUM(CASE WHEN cache_read > 0 THEN requests ELSE 0 END) AS cached_requests"]
            if cached_requests
            else []
        ),
    ]
    where, where_params = filters.sql()
    return _grouped(
        conn, "records", select, len(dim_cols), where, (*params, *dim_params, *where_params)
    )


def _from_rollup(conn: Any, filters: Filters, dims, cached_requests: bool) -> list[dict[str, Any]]:
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
    where, where_params = filters.sql(time_column="day")
    return _grouped(
        conn, "rollup_daily", select, len(dim_cols), where, (*dim_params, *where_params)
    )


def _grouped(
    conn: Any, table: str, select: list[str], n_dims: int, where: str, params: tuple[Any, ...]
) -> list[dict[str, Any]]:
    """Run a grouping over ``table`` (records or the daily rollup) by the pricing unit: time
    bucket, model, provider, tier, status, long-context class and the dimensions d0..dN."""
    group = [
        "bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        "lc",
        *(f"d{i}" for i in range(n_dims)),
    ]
    sql = f"SELECT {', '.join(select)} FROM {table} {where} GROUP BY {', '.join(group)}"
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    out = []
    for row in cur:
        item = dict(zip(names, row, strict=True))
        item["dims"] = tuple(item.pop(f"d{i}") for i in range(n_dims))
        out.append(item)
    return out


def time_range(conn: Any) -> tuple[str | None, str | None]:
    return conn.execute("SELECT MIN(ts), MAX(ts) FROM records").fetchone()
