"""`llmaudit pricing update`: newer prices (a genai-prices ``data.json`` or a LiteLLM price JSON)
into the user's updates layer, keeping history.

A model whose price in force today changed gets a new period from the date the new data gives
(or today), after the periods it had: its bundled history is kept, never replaced. A model the
table does not have is added. Nothing else changes. The plan is shown before anything is
written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llmaudit.errors import DataError
from llmaudit.pricing import genai, litellm
from llmaudit.pricing.match import match
from llmaudit.pricing.table import RATE_KEYS, ModelPrice, Period, PriceTable

COMPARED = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")


@dataclass
class Change:
    kind: str  # "new" or "changed"
    model: str
    line: str


@dataclass
class Plan:
    source_format: str
    changes: list[Change] = field(default_factory=list)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> merged entry
    # providers the data has that the table does not price (their models are left out)
    skipped: dict[str, int] = field(default_factory=dict)


def read_source(data: Any, source: str) -> tuple[str, list[dict[str, Any]]]:
    """(format, entries) of a price data file: genai-prices' data.json or LiteLLM's JSON."""
    log: list[str] = []
    if isinstance(data, list):
        try:
            return "genai-prices", genai.convert_data(data, log)
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise DataError(f"{source}: not genai-prices data ({exc})") from None
    if isinstance(data, dict) and any(
        isinstance(v, dict) and "input_cost_per_token" in v for v in data.values()
    ):
        return "LiteLLM", litellm.convert(data, source=source)
    raise DataError(
        f"{source}: neither genai-prices' data.json (a list of providers) nor LiteLLM's price "
        "JSON (model -> input_cost_per_token ...)"
    )


def _live(periods: list[dict[str, Any]], today: dt.date) -> dict[str, Any] | None:
    live = [
        p
        for p in periods
        if (not p.get("from") or p["from"] <= today) and (not p.get("until") or p["until"] > today)
    ]
    return live[-1] if live else None


def _rates(period: dict[str, Any]) -> dict[str, Decimal]:
    return {k: Decimal(str(period[k])) for k in COMPARED if period.get(k) is not None}


def period_dict(period: Period) -> dict[str, Any]:
    """A period of the table as pricing.toml writes it."""
    out: dict[str, Any] = {}
    if period.start:
        out["from"] = period.start.date()
    if period.end:
        out["until"] = period.end.date()
    out.update(period.rates.as_dict())
    if period.per_request is not None:
        out["per_request"] = period.per_request
    if period.web_search_per_1k is not None:
        out["web_search_per_1k"] = period.web_search_per_1k
    if period.long_context:
        out["long_context"] = {
            "above": period.long_context.above,
            **period.long_context.rates.as_dict(),
        }
    if period.time_of_day:
        out["time_of_day"] = [
            {"from": w.start.strftime("%H:%M"), "until": w.end.strftime("%H:%M"),
             **w.rates.as_dict()}
            for w in period.time_of_day
        ]  # fmt: skip
    for tier, value in period.service_tiers.items():
        out[tier] = value if isinstance(value, Decimal) else value.as_dict()
    return out


def entry_dict(model: ModelPrice) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": model.id,
        "provider": model.provider,
        "name": model.name,
        "aliases": list(model.aliases),
        "unit": model.unit,
        "retired": model.retired or None,
        "source": model.source,
        "checked": model.checked,
        "notes": model.notes,
        "prices": [period_dict(p) for p in model.periods],
    }
    return {k: v for k, v in entry.items() if v not in (None, [], "")}


def _money(rates: dict[str, Decimal]) -> str:
    return ", ".join(
        f"{k.replace('_', ' ')} ${format(v.normalize(), 'f')}" for k, v in rates.items()
    )


def plan_update(
    table: PriceTable, entries: list[dict[str, Any]], source_format: str, today: dt.date
) -> Plan:
    plan = Plan(source_format)
    for new in entries:
        live = _live(new.get("prices") or [], today)
        if live is None or new.get("unit"):
            continue
        if new["provider"] not in table.providers:
            plan.skipped[new["provider"]] = plan.skipped.get(new["provider"], 0) + 1
            continue
        rates = _rates(live)
        known = table.models.get(new["id"])
        if known is not None and known.provider != new["provider"]:
            continue  # another provider's copy of the name (Vertex's Claude): not this entry
        if known is None:
            found = match(table, new["id"].split("/", 1)[-1] if "/" in new["id"] else new["id"],
                          new["provider"])  # fmt: skip
            if found is not None:
                continue  # a name of an entry the table has under another id
        if known is None:
            plan.entries[new["id"]] = new
            plan.changes.append(Change("new", new["id"], f"+ {new['id']}: {_money(rates)} (new)"))
            continue
        period = known.period_at(dt.datetime.combine(today, dt.time(), tzinfo=dt.timezone.utc))
        old = _rates(period_dict(period)) if period else {}
        # only what the data states: a price it leaves out is not a price removed
        if all(old.get(k) == v for k, v in rates.items()):
            continue
        start = live.get("from") if live.get("from") and live["from"] > _start(period) else today
        merged = entry_dict(known)
        kept = []
        for p in merged["prices"]:
            if p.get("from") and p["from"] >= start:
                continue  # a period the new data starts over
            if not p.get("until") or p["until"] > start:
                p["until"] = start
            kept.append(p)
        fresh = {**(period_dict(period) if period else {}), **live}
        fresh = {k: v for k, v in fresh.items() if k not in ("from", "until")}
        merged["prices"] = [*kept, {"from": start, **fresh}]
        merged["source"] = new.get("source") or merged.get("source")
        merged["checked"] = today
        plan.entries[new["id"]] = merged
        diff = ", ".join(
            f"{k.replace('_', ' ')} {_price(old.get(k))} -> {_price(rates.get(k))}"
            for k in RATE_KEYS
            if k in rates and old.get(k) != rates[k]
        )
        plan.changes.append(Change("changed", new["id"], f"~ {new['id']}: {diff} from {start}"))
    return plan


def _start(period: Period | None) -> dt.date:
    return period.start.date() if period and period.start else dt.date.min


def _price(value: Decimal | None) -> str:
    return "-" if value is None else f"${format(value.normalize(), 'f')}"
