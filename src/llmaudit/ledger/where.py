"""Filters and dimensions as SQLite SQL: the only place a :class:`Filters` becomes a clause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from llmaudit.errors import UsageError
from llmaudit.ledger.filters import DIMENSIONS, MAP_SOURCES, MAPPED, Filters
from llmaudit.model.values import format_ts


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


def where_sql(filters: Filters, time_column: str = "ts") -> tuple[str, tuple[Any, ...]]:
    """A ``WHERE`` clause (or "") and its parameters. Same dimension twice means OR.
    ``time_column="day"`` compares whole UTC days (the daily rollup)."""
    clauses: list[str] = []
    params: list[Any] = []

    def stamp(moment: datetime) -> str:
        text = format_ts(moment)
        return text[:10] if time_column == "day" else text

    if filters.since:
        clauses.append(f"{time_column} >= ?")
        params.append(stamp(filters.since))
    if filters.until:
        clauses.append(f"{time_column} < ?")
        params.append(stamp(filters.until))
    grouped: dict[str, list[str]] = {}
    for dim, value in filters.where:
        grouped.setdefault(dim, []).append(value)
    for dim, values in grouped.items():
        if dim.startswith("tag:"):
            column = "json_extract(tags, ?)"
            path = '$."' + dim[4:].replace('"', '\\"') + '"'
            ors = " OR ".join(f"{column} = ?" for _ in values)
            for v in values:
                params.extend([path, v])
        else:
            expr, expr_params = attribution_sql(dim, filters.attribution)
            ors = " OR ".join(f"{expr} = ?" for _ in values)
            for v in values:
                params.extend([*expr_params, v])
        clauses.append(f"({ors})")
    if not clauses:
        return "", ()
    return "WHERE " + " AND ".join(clauses), tuple(params)


def dim_sql(dim: str) -> str:
    if dim.startswith("tag:"):
        key = dim[4:].replace("'", "''").replace('"', '\\"')
        return f"json_extract(tags, '$.\"{key}\"')"
    if dim not in DIMENSIONS:
        raise UsageError(
            f"unknown dimension {dim!r}; use one of {', '.join(DIMENSIONS)} or tag:KEY"
        )
    return dim
