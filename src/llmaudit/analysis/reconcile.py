"""`llmaudit reconcile`: llmaudit's offline price of the pulled usage against what the provider
billed (its cost API), per day and model (or model, or project), with the likely cause of each
difference where one is known."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from llmaudit.analysis.groups import priced_groups
from llmaudit.ledger.api import BilledLine, Queries
from llmaudit.ledger.filters import Filters
from llmaudit.model.money import ZERO
from llmaudit.model.values import format_ts
from llmaudit.pricing.match import by_display_name, match
from llmaudit.pricing.table import PriceTable

# Where each provider's usage comes from: its API pull, and its console's usage export.
KINDS = {
    "openai": ("openai-api", "openai-export"),
    "anthropic": ("anthropic-api", "anthropic-console"),
}


def _model_key(table: PriceTable, model: str | None, provider: str | None = None) -> str:
    if not model:
        return "(not a model)"
    found = match(table, model)
    if found:
        return found.model.id
    named = by_display_name(table, provider, model) if provider else None  # a console's bill
    return named.id if named else model


def reconcile(
    ledger: Queries,
    table: PriceTable,
    since: datetime,
    until: datetime,
    providers: list[str],
    by: str,
    tolerance: Decimal,
    bill: dict[str, list[BilledLine]] | None = None,
) -> dict[str, Any]:
    """``bill`` replaces the ledger's cost report lines for the providers it names (lines
    read from a console's cost export)."""
    rows: dict[tuple, dict[str, Any]] = {}

    def row(key: tuple) -> dict[str, Any]:
        return rows.setdefault(
            key,
            {
                "computed": ZERO,
                "billed": ZERO,
                "usage": False,
                "billed_rows": 0,
                "unpriced": 0,
                "tiers": set(),
                "notes": set(),
                "lines": set(),
            },
        )

    for provider in providers:
        kinds = KINDS.get(provider)
        if kinds is None:
            continue
        groups = [
            g
            for kind in kinds
            for g in priced_groups(
                ledger, table, Filters(since, until, [("source_kind", kind)]), ("project",)
            )
        ]
        for g in groups:
            model = _model_key(table, g.model)
            if provider == "anthropic" and g.service_tier == "priority":
                model += " (priority)"  # never in the cost report: keep it apart
            key = _key(by, provider, g.bucket[:10], model, g.dims[0])
            r = row(key)
            r["usage"] = True
            r["tiers"].add(g.service_tier)
            if g.priced:
                r["computed"] += g.spend
                r["notes"].update(g.cost.notes)
            else:
                r["unpriced"] += 1
        if bill is not None and provider in bill:
            lines = [c for c in bill[provider] if since <= c.ts < until]
        else:
            lines = ledger.billed(provider, since, until)
        for c in lines:
            day = format_ts(c.ts)[:10]
            key = _key(by, provider, day, _model_key(table, c.model, provider), c.project)
            r = row(key)
            r["billed"] += c.amount_usd
            r["billed_rows"] += 1
            if not c.model:
                r["lines"].add(c.line_item or c.cost_type or "other")
    audio = {_model_key(table, m) for m in ledger.models_with_tag("audio_tokens")}
    for key, r in rows.items():
        if any(part in audio for part in key):
            r["audio"] = True
    out = []
    for key, r in sorted(rows.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        diff = r["computed"] - r["billed"]
        share = float(diff / r["billed"]) if r["billed"] else None
        out.append(
            {
                **dict(zip(_fields(by), key, strict=True)),
                "computed_usd": r["computed"] if r["usage"] else None,
                "billed_usd": r["billed"] if r["billed_rows"] else None,
                "difference_usd": diff,
                "difference": round(share, 6) if share is not None else None,
                "cause": _cause(r, share, tolerance, key),
            }
        )
    computed = sum((r["computed_usd"] or ZERO for r in out), ZERO)
    billed = sum((r["billed_usd"] or ZERO for r in out), ZERO)
    total_diff = computed - billed
    total_share = float(total_diff / billed) if billed else None
    return {
        "by": by,
        "since": format_ts(since),
        "until": format_ts(until),
        "tolerance": float(tolerance),
        "rows": out,
        "total": {
            "computed_usd": computed,
            "billed_usd": billed,
            "difference_usd": total_diff,
            "difference": round(total_share, 6) if total_share is not None else None,
        },
        "within_tolerance": total_share is None or abs(total_share) <= float(tolerance),
    }


def _fields(by: str) -> tuple[str, ...]:
    return {
        "day": ("provider", "day", "model"),
        "model": ("provider", "model"),
        "project": ("provider", "project"),
    }[by]


def _key(by: str, provider: str, day: str, model: str, project: str | None) -> tuple:
    if by == "day":
        return (provider, day, model)
    if by == "model":
        return (provider, model)
    return (provider, project or "(none)")


def _cause(r: dict[str, Any], share: float | None, tolerance: Decimal, key: tuple) -> str | None:
    if r["billed_rows"] and not r["usage"]:
        if r["lines"]:
            return (
                f"billed per use with no token usage ({', '.join(sorted(r['lines']))}): "
                "no usage counterpart"
            )
        return "billed, but no usage was pulled for it"
    if r["usage"] and not r["billed_rows"]:
        if "priority" in r["tiers"] and key[0] == "anthropic":
            return "priority tier: billed separately, never in the cost report"
        if r["unpriced"]:
            return "model missing from pricing.toml, and no cost row"
        return "usage without a cost row (not billed yet, or billed under another line)"
    if r["unpriced"]:
        return "model missing from pricing.toml: its usage is not in the computed cost"
    if share is not None and abs(share) > float(tolerance):
        if r.get("audio"):
            return "audio tokens are priced as text (llmaudit has no audio prices)"
        tier_notes = [n for n in r["notes"] if "price known" in n]
        if tier_notes:
            return f"a service tier without a price ({tier_notes[0]})"
        return (
            "prices differ: check the price period and tiers "
            "(llmaudit pricing explain MODEL --at DAY)"
        )
    return None


def reconcile_logs(
    records: Any, table: PriceTable, since, until, tolerance: Decimal
) -> dict[str, Any]:
    """The cost an app logged itself (LiteLLM ``spend``, Helicone ``cost``, Langfuse
    ``calculatedTotalCost``, ``llm.cost_usd``, ...) against llmaudit's list price of the same
    records, per model and feature: a gap names an app whose price table is stale."""
    from llmaudit.pricing.kernel import price_record

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        r = rows.setdefault(
            (rec.model, rec.feature or "(none)"),
            {"records": 0, "logged": ZERO, "computed": ZERO, "unpriced": 0, "price_id": None},
        )
        r["records"] += 1
        r["logged"] += rec.reported_cost_usd
        cost = price_record(rec, table)
        if cost.priced and cost.total is not None:
            r["computed"] += cost.total
            r["price_id"] = cost.price_id
        else:
            r["unpriced"] += 1
    out = []
    for (model, feature), r in sorted(rows.items()):
        diff = r["logged"] - r["computed"]
        share = float(diff / r["computed"]) if r["computed"] else None
        out.append(
            {
                "model": model,
                "feature": feature,
                "records": r["records"],
                "logged_usd": r["logged"],
                "computed_usd": None if r["unpriced"] == r["records"] else r["computed"],
                "difference_usd": diff,
                "difference": round(share, 6) if share is not None else None,
                "cause": _log_cause(r, share, tolerance, model),
            }
        )
    logged = sum((r["logged_usd"] for r in out), ZERO)
    computed = sum((r["computed_usd"] or ZERO for r in out), ZERO)
    share = float((logged - computed) / computed) if computed else None
    return {
        "since": format_ts(since),
        "until": format_ts(until),
        "tolerance": float(tolerance),
        "rows": out,
        "total": {
            "logged_usd": logged,
            "computed_usd": computed,
            "difference_usd": logged - computed,
            "difference": round(share, 6) if share is not None else None,
        },
        "within_tolerance": all(
            r["difference"] is None or abs(r["difference"]) <= float(tolerance) for r in out
        ),
    }


def _log_cause(
    r: dict[str, Any], share: float | None, tolerance: Decimal, model: str
) -> str | None:
    if r["unpriced"]:
        return f"{model} has no price in pricing.toml: the app's figure cannot be checked"
    if share is None or abs(share) <= float(tolerance):
        return None
    ratio = float(r["logged"] / r["computed"]) if r["computed"] else 0.0
    if share > 0:
        return (
            f"the app logs {ratio:.2f}x the list price ({r['price_id']}): its price table is "
            "stale or adds a markup"
        )
    return (
        f"the app logs {ratio:.2f}x the list price ({r['price_id']}): its price table is "
        "stale, or it counts discounts llmaudit does not know (cache, batch, a contract)"
    )
