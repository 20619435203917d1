"""Filters, dimensions and the pricing-unit grouping as ClickHouse SQL (the SQLite twin is
``ledger/where.py`` and ``ledger/rollup.py``): values inlined as escaped literals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llmaudit.errors import UsageError
from llmaudit.ledger.clickhouse.client import lit
from llmaudit.ledger.filters import DIMENSIONS, MAP_SOURCES, MAPPED, Filters
from llmaudit.ledger.rollup import ROLLUP_LONG_CONTEXT
from llmaudit.ledger.sketch import GAMMA, ZERO_BUCKET
from llmaudit.model.record import COUNT_FIELDS

INPUTS = "(input_uncached + cache_read + cache_write_5m + cache_write_1h)"
_TAGS = "ifNull(tags, '')"


def tag_value(key: str) -> str:
    """A tag's value as text (what SQLite's json_extract compares), NULL when absent/null."""
    k = lit(key)
    return (
        f"if(JSONType({_TAGS}, {k}) = 'String', JSONExtractString({_TAGS}, {k}), "
        f"if(JSONType({_TAGS}, {k}) IN ('Null', ''), NULL, JSONExtractRaw({_TAGS}, {k})))"
    )


def context_window_class() -> str:
    """1 when a record's ``context_window`` tag names a long class (not ``0-…``)."""
    return f"substring({tag_value('context_window')}, 1, 2) != '0-'"


def attribution(dim: str, attribution_map: dict[str, Any] | None) -> str:
    """A dimension, filled from the [attribution] map where the record has none."""
    if not attribution_map or dim not in MAPPED:
        return dim
    cases = []
    for source in MAP_SOURCES:
        if source == dim:
            continue
        for ident, names in (attribution_map.get(source) or {}).items():
            if isinstance(names, dict) and names.get(dim) is not None:
                cases.append(f"WHEN {source} = {lit(ident)} THEN {lit(str(names[dim]))}")
    if not cases:
        return dim
    return f"coalesce({dim}, CASE {' '.join(cases)} ELSE NULL END)"


def where(filters: Filters | None, time_column: str = "ts") -> str:
    """A WHERE clause (or ""). ``time_column="day"``: whole UTC days (the daily rollup)."""
    if filters is None:
        return ""
    clauses = []
    for op, moment in ((">=", filters.since), ("<", filters.until)):
        if moment is None:
            continue
        if time_column == "day":
            clauses.append(f"day {op} toDate({lit(moment.strftime('%Y-%m-%d'))})")
        else:
            clauses.append(f"{time_column} {op} {lit(moment)}")
    grouped: dict[str, list[str]] = {}
    for dim, value in filters.where:
        grouped.setdefault(dim, []).append(value)
    for dim, values in grouped.items():
        expr = (
            tag_value(dim[4:]) if dim.startswith("tag:") else attribution(dim, filters.attribution)
        )
        clauses.append("(" + " OR ".join(f"{expr} = {lit(v)}" for v in values) + ")")
    return ("WHERE " + " AND ".join(clauses)) if clauses else ""


def dimension(dim: str, attribution_map: dict[str, Any] | None) -> str:
    if dim.startswith("tag:"):
        return tag_value(dim[4:])
    if dim not in DIMENSIONS:
        raise UsageError(
            f"unknown dimension {dim!r}; use one of {', '.join(DIMENSIONS)} or tag:KEY"
        )
    return attribution(dim, attribution_map)


def grouped_records(
    table: str,
    filters: Filters,
    dims: Sequence[str],
    *,
    bucket: str,
    long_context: dict[str, int] | None,
    cached_requests: bool,
    time_windows: dict[str, list[tuple[str, str]]] | None,
) -> tuple[str, int]:
    """The pricing-unit grouping over the deduplicated records; (query, number of dims)."""
    fmt = {"hour": "%Y-%m-%dT%H", "day": "%Y-%m-%d"}[bucket]
    lc = "0"
    if long_context:
        cases = " ".join(
            f"WHEN model = {lit(m)} THEN {INPUTS} / greatest(requests, 1) > {int(t)}"
            for m, t in long_context.items()
        )
        lc = (
            f"if(JSONHas({_TAGS}, 'context_window'), {context_window_class()}, "
            f"CASE {cases} ELSE 0 END)"
        )
    tw = "0"
    if time_windows:
        clock = "formatDateTime(ts, '%H:%i')"
        cases_tw = []
        for model, windows in time_windows.items():
            for i in reversed(range(len(windows))):  # the last window wins
                start, end = windows[i]
                joint = "AND" if start <= end else "OR"
                cases_tw.append(
                    f"WHEN model = {lit(model)} AND ({clock} >= {lit(start)} {joint} "
                    f"{clock} < {lit(end)}) THEN {i + 1}"
                )
        tw = f"CASE {' '.join(cases_tw)} ELSE 0 END"
    dim_cols = []
    for d in dims:
        if d == "has_user":
            dim_cols.append(f"if({attribution('user', filters.attribution)} IS NULL, NULL, 1)")
        else:
            dim_cols.append(dimension(d, filters.attribution))
    select = [
        f"formatDateTime(ts, {lit(fmt)}) AS bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        f"toUInt8({lc}) AS lc",
        f"toUInt8({tw}) AS tw",
        *(f"{col} AS d{i}" for i, col in enumerate(dim_cols)),
        # (sums get their own names: ClickHouse aliases are visible in the whole query)
        *(f"sum({s}) AS s_{s}" for s in COUNT_FIELDS),
        "count() AS s_records",
        *(["sumIf(requests, cache_read > 0) AS s_cached"] if cached_requests else []),
    ]
    group = ["bucket", "model", "provider", "service_tier", "status", "lc", "tw"]
    group += [f"d{i}" for i in range(len(dim_cols))]
    query = (
        f"SELECT {', '.join(select)} FROM {table} FINAL {where(filters)} "
        f"GROUP BY {', '.join(group)}"
    )
    return query, len(dim_cols)


def grouped_rollup(
    table: str, filters: Filters, dims: Sequence[str], cached_requests: bool
) -> tuple[str, int]:
    """The same grouping read from the daily rollup (whole UTC days, rollup dimensions)."""
    dim_cols = []
    for d in dims:
        if d == "has_user":
            dim_cols.append("if(has_user = 1, 1, NULL)")
        else:
            dim_cols.append(attribution(d, filters.attribution))
    select = [
        "formatDateTime(day, '%Y-%m-%d') AS bucket",
        "model",
        "provider",
        "service_tier",
        "status",
        "lc",
        *(f"{col} AS d{i}" for i, col in enumerate(dim_cols)),
        *(f"sum({s}) AS s_{s}" for s in COUNT_FIELDS),
        "sum(records) AS s_records",
        *(["sum(cached_requests) AS s_cached"] if cached_requests else []),
    ]
    group = ["bucket", "model", "provider", "service_tier", "status", "lc"]
    group += [f"d{i}" for i in range(len(dim_cols))]
    query = (
        f"SELECT {', '.join(select)} FROM {table} {where(filters, 'day')} "
        f"GROUP BY {', '.join(group)}"
    )
    return query, len(dim_cols)


def rollup_refresh(records: str, rollup: str, days: list[str]) -> str:
    """INSERT … SELECT of the daily sums of ``days`` from the deduplicated records."""
    lc = (
        f"if(JSONHas({_TAGS}, 'context_window'), {context_window_class()}, "
        f"{INPUTS} / greatest(requests, 1) > {ROLLUP_LONG_CONTEXT})"
    )
    day_list = ", ".join(f"toDate({lit(d)})" for d in days)
    return (
        f"INSERT INTO {rollup} SELECT toDate(ts) AS day, model, provider, service_tier, status, "
        f"toUInt8({lc}) AS lc, feature, team, customer, project, api_key, environment, "
        "toUInt8(user IS NOT NULL) AS has_user, source_kind, "
        + ", ".join(f"sum({s})" for s in COUNT_FIELDS)
        + ", count(), sumIf(requests, cache_read > 0), min(ts), max(ts) "
        f"FROM {records} FINAL WHERE toDate(ts) IN ({day_list}) "
        "GROUP BY day, model, provider, service_tier, status, lc, feature, team, customer, "
        "project, api_key, environment, has_user, source_kind"
    )


# -- the latency sketch (ledger/sketch.py): its histograms, refreshed from the records ------------
ITL = (
    "if(ttft_ms IS NOT NULL AND latency_ms IS NOT NULL AND output > 1 AND latency_ms >= ttft_ms, "
    "(latency_ms - ttft_ms) / (toFloat64(output) - 1), NULL)"
)


def latency_refresh(records: str, sketch: str, days: list[str]) -> str:
    """INSERT … SELECT of the latency histograms of ``days``: per day, model and kind (ttft,
    latency, itl), how many requests fall in each bucket."""
    day_list = ", ".join(f"toDate({lit(d)})" for d in days)
    return (
        f"INSERT INTO {sketch} SELECT toDate(ts) AS day, model, kv.1 AS kind, "
        f"if(kv.2 > 0, toInt32(ceil(log(assumeNotNull(kv.2)) / log({GAMMA!r}))), "
        f"{ZERO_BUCKET}) AS bucket, count() FROM {records} FINAL "
        "ARRAY JOIN arrayFilter(p -> isNotNull(p.2), "
        f"[('ttft', ttft_ms), ('latency', latency_ms), ('itl', {ITL})]) AS kv "
        f"WHERE toDate(ts) IN ({day_list}) GROUP BY day, model, kind, bucket"
    )
