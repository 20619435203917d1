"""Write price tables in pricing.toml form (readable: one key per line, periods as tables)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

PERIOD_ORDER = (
    "from", "until", "input", "cache_read", "cache_write_5m", "cache_write_1h", "output",
    "reasoning", "per_request", "web_search_per_1k", "long_context", "time_of_day", "batch",
    "flex", "priority",
)  # fmt: skip
MODEL_ORDER = (
    "id", "provider", "name", "aliases", "unit", "retired", "source", "checked", "notes",
)  # fmt: skip


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dumps_table(
    models: list[dict[str, Any]],
    providers: dict[str, dict[str, Any]] | None = None,
    header: list[str] | tuple[str, ...] = (),
    generated: dt.date | None = None,
) -> str:
    """Models (dicts in pricing.toml's schema) -> the text of a pricing.toml file."""
    out = [f"# {line}" if line else "#" for line in header]
    if header:
        out.append("")
    out.append("schema = 1")
    if generated:
        out.append(f"generated = {generated.isoformat()}")
    out.append("")
    for pid, info in (providers or {}).items():
        out.append(f"[providers.{pid}]")
        out.extend(f"{key} = {toml_value(value)}" for key, value in info.items())
        out.append("")
    for model in models:
        out.append("[[models]]")
        for key in MODEL_ORDER:
            if key in model and model[key] not in (None, [], (), ""):
                out.append(f"{key} = {toml_value(model[key])}")
        for period in model["prices"]:
            out.append("[[models.prices]]")
            out.extend(
                f"{key} = {toml_value(period[key])}" for key in PERIOD_ORDER if key in period
            )
        out.append("")
    return "\n".join(out)
