"""`llmaudit whatif`: the real traffic of one model, repriced as if it had gone to another.

Same tokens, same times, same service tiers; only the price entry changes. Token counts come
from the original model's tokenizer, so a swap across providers carries a note.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

from llmaudit.analysis.groups import as_record, long_context_thresholds, time_windows
from llmaudit.errors import UsageError
from llmaudit.ledger.api import Queries
from llmaudit.ledger.filters import Filters
from llmaudit.model.money import ZERO
from llmaudit.pricing.kernel import price_record
from llmaudit.pricing.match import match, suggest
from llmaudit.pricing.table import PriceTable


def _share(part: Decimal, whole: Decimal) -> float | None:
    """A share, as the report's shares: a float rounded to 6 places."""
    return round(float(part / whole), 6) if whole else None


def whatif(
    ledger: Queries,
    table: PriceTable,
    filters: Filters,
    swaps: list[tuple[str, str]],
    by: str = "feature",
) -> dict[str, Any]:
    stored = ledger.model_names()
    plan: dict[str, tuple[str, str]] = {}  # stored model name -> (target name, target provider)
    notes = []
    for source, target in swaps:
        src = match(table, source)
        dst = match(table, target)
        if dst is None:
            near = ", ".join(suggest(table, target)) or "none"
            raise UsageError(f"--swap: {target!r} matches no price entry (closest: {near})")
        names = [
            m
            for m in stored
            if m == source
            or (src and (found := match(table, m)) and found.model.id == src.model.id)
        ]
        for name in names:
            plan[name] = (target, dst.model.provider)
        if src and src.model.provider != dst.model.provider:
            notes.append(
                f"{source} -> {target}: token counts are {src.model.provider}'s; "
                f"{dst.model.provider}'s tokenizer may count the same text differently"
            )
        if not names:
            notes.append(f"{source}: no traffic in the selected period")
    if not plan:
        return {"rows": [], "total": None, "notes": notes, "by": by}
    scoped = Filters(
        filters.since,
        filters.until,
        [*filters.where, *(("model", name) for name in plan)],
        filters.attribution,
    )
    thresholds = long_context_thresholds(table, list(plan))
    # time-of-day windows: the stored model's own, else its target's (a swap to a model
    # with off-peak hours prices each record at the hour it ran)
    windows = time_windows(table, list(plan))
    for name, (target, _) in plan.items():
        target_windows = time_windows(table, [target]).get(target)
        if target_windows and name not in windows:
            windows[name] = target_windows
    rows = ledger.grouped_sums(scoped, (by,), long_context=thresholds, time_windows=windows)
    per: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"current": ZERO, "whatif": ZERO, "requests": 0, "unpriced_requests": 0}
    )
    from llmaudit.analysis.groups import price_rows

    for group, row in zip(price_rows(rows, table, windows), rows, strict=True):
        target, provider = plan[group.model]
        swapped = price_record(
            replace(
                as_record(row, group.priced_at or group.start()), model=target, provider=provider
            ),
            table,
            long_context=bool(row["lc"]),
        )
        key = (group.dims[0] or "(unset)", group.model, target)
        entry = per[key]
        entry["requests"] += group.requests
        if group.priced and swapped.priced:
            entry["current"] += group.spend
            entry["whatif"] += swapped.total or ZERO
        else:
            entry["unpriced_requests"] += group.requests
    out = []
    for (dim, model, target), e in sorted(per.items(), key=lambda kv: -(kv[1]["current"])):
        saving = e["current"] - e["whatif"]
        out.append(
            {
                by: dim,
                "model": model,
                "to": target,
                "requests": e["requests"],
                "current_usd": e["current"],
                "whatif_usd": e["whatif"],
                "saving_usd": saving,
                "saving_share": _share(saving, e["current"]),
                "unpriced_requests": e["unpriced_requests"],
            }
        )
    current = sum((r["current_usd"] for r in out), ZERO)
    new = sum((r["whatif_usd"] for r in out), ZERO)
    return {
        "by": by,
        "rows": out,
        "total": {
            "current_usd": current,
            "whatif_usd": new,
            "saving_usd": current - new,
            "saving_share": _share(current - new, current),
        },
        "notes": notes,
    }
