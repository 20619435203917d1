"""Explanations of the price table for people: how a name matched, and what to look at."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from llmaudit.pricing.match import match, route_of, suggest, unpriced_reason
from llmaudit.pricing.table import Period, PriceTable, Rates


def _rates_line(period: Period) -> str:
    parts = [f"{k.replace('_', ' ')} ${v}" for k, v in period.rates.as_dict().items()]
    return ", ".join(parts) + " per 1M tokens"


def explain(
    table: PriceTable, name: str, at: datetime, provider: str | None = None
) -> dict[str, Any]:
    found = match(table, name, provider)
    if found is None and route_of(provider, name) is not None:
        lines = [
            f"{name}: unpriced - {unpriced_reason(table, name, provider)}.",
            "Its tokens are still counted; its cost is unknown (never $0).",
            "Add the route's price in your own price file as 'ROUTE/MODEL' (docs/pricing.md).",
        ]
        near = suggest(table, name, provider)
        return {"model": name, "priced": False, "suggestions": near, "lines": lines}
    if found is None:
        near = suggest(table, name)
        lines = [
            f"{name}: unpriced - no price entry matches this name.",
            "Its tokens are still counted; its cost is unknown (never $0) and every total "
            "reports its priced coverage.",
        ]
        lines.append(
            f"Closest names: {', '.join(near)}" if near else "No similar names in the price table."
        )
        lines.append("Add it in your own price file (config pricing.path; docs/pricing.md).")
        return {"model": name, "priced": False, "suggestions": near, "lines": lines}
    model = found.model
    if model.unit:
        lines = [
            f"{name} -> {model.id} ({model.name}, {model.provider})",
            f"  matched by: {found.rule}",
            f"  unpriced: {model.unit}; llmaudit prices tokens only, never such a model as text",
        ]
        return {"model": name, "entry": model.id, "priced": False, "lines": lines}
    period = model.period_at(at)
    lines = [
        f"{name} -> {model.id} ({model.name}, {model.provider})",
        f"  matched by: {found.rule}",
        f"  entry from: {model.origin}",
    ]
    info: dict[str, Any] = {
        "model": name,
        "entry": model.id,
        "provider": model.provider,
        "rule": found.rule,
        "file": model.origin,
        "at": at.isoformat(),
    }
    if period is None:
        lines.append(f"  unpriced at {at.date().isoformat()}: no price period covers that time")
        info.update(priced=False, price_id=None)
        return {**info, "lines": lines}
    since = period.start.date().isoformat() if period.start else "the beginning"
    until = f" until {period.end.date().isoformat()}" if period.end else ""
    lines.append(
        f"  price in force at {at.date().isoformat()}: {model.price_id(period)} "
        f"(from {since}{until})"
    )
    lines.append(f"  {_rates_line(period)}")
    if period.long_context:
        lc = period.long_context
        lines.append(
            f"  long context: a request with more than {lc.above:,} input tokens is priced "
            f"whole at: {', '.join(f'{k} ${v}' for k, v in lc.rates.as_dict().items())}"
        )
    tiers: dict[str, Decimal | Rates] = (
        dict(table.providers[model.provider].service_tiers)
        if model.provider in table.providers
        else {}
    )
    tiers.update(period.service_tiers)
    for tier, value in tiers.items():
        if hasattr(value, "as_dict"):
            text = ", ".join(f"{k} ${v}" for k, v in value.as_dict().items())
        else:
            text = f"{value} x the standard price"
        lines.append(f"  {tier}: {text}")
    discount = table.discount_for(model)
    if discount is not None:
        lines.append(f"  your discount: x{discount} on every part")
    if len(model.periods) > 1:
        lines.append(
            f"  {len(model.periods)} price periods; 'llmaudit pricing show {model.id}' lists them"
        )
    if model.notes:
        lines.append(f"  note: {model.notes}")
    checked = model.checked.isoformat() if model.checked else "unknown"
    lines.append(f"  source: {model.source or 'unknown'} (checked {checked})")
    info.update(priced=True, price_id=model.price_id(period))
    return {**info, "lines": lines}


def check_warnings(table: PriceTable) -> list[str]:
    """Things worth a look that are not errors."""
    out = []
    for model in table.models.values():
        if model.source is None:
            out.append(f"{model.origin}: {model.id}: no source URL")
    return out
