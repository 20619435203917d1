"""Budgets (burn rate, projection, exhaustion date, alert level) and the anomaly detector.

Pure functions over the ledger's priced groups; "now" is a parameter so that results are
reproducible (tests, and re-running yesterday's alerts).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from llmaudit.analysis.groups import priced_groups
from llmaudit.errors import ConfigError
from llmaudit.ledger.api import Queries
from llmaudit.ledger.filters import DIMENSIONS, Filters, parse_where
from llmaudit.model.money import ZERO
from llmaudit.pricing.table import PriceTable

PERIODS = ("day", "week", "month")
BURN_WINDOW = timedelta(hours=24)

# Alert levels: the share of a budget spent (config alerts.warning / alerts.critical).
WARNING = Decimal("0.8")
CRITICAL = Decimal(1)


@dataclass
class Budget:
    name: str
    amount: Decimal
    period: str = "month"
    where: list[tuple[str, str]] = field(default_factory=list)
    basis: str = "total"  # or "prorated": compare with the share of the period elapsed

    def as_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"amount": float(self.amount), "period": self.period}
        if self.where:
            out["where"] = [f"{d}={v}" for d, v in self.where]
        if self.basis != "total":
            out["basis"] = self.basis
        return out


def budgets_from_config(config: dict[str, Any]) -> list[Budget]:
    raw = config.get("budgets", {})
    if not isinstance(raw, dict):
        raise ConfigError("budgets: must be a table of [budgets.NAME]")
    out = []
    for name, b in raw.items():
        where = f"budgets.{name}"
        if not isinstance(b, dict):
            raise ConfigError(f"{where}: must be a table")
        try:
            amount = Decimal(str(b["amount"]))
        except (KeyError, ArithmeticError):
            raise ConfigError(f"{where}.amount: must be a number of USD") from None
        if not amount.is_finite() or not 0 < amount < Decimal("1e12"):
            raise ConfigError(
                f"{where}.amount: must be more than 0 and less than $1e12, got {b['amount']!r}"
            )
        period = b.get("period", "month")
        if period not in PERIODS:
            raise ConfigError(f"{where}.period: must be one of {', '.join(PERIODS)}")
        filters = b.get("where", [])
        if not isinstance(filters, list):
            raise ConfigError(f"{where}.where: must be a list of DIM=VALUE")
        basis = b.get("basis", "total")
        if basis not in ("total", "prorated"):
            raise ConfigError(f"{where}.basis: must be total or prorated")
        pairs = [parse_where(w, option=f"{where}.where") for w in filters]
        out.append(Budget(name, amount, period, pairs, basis))
    return out


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """The calendar period (UTC) that contains ``now``: [start, end)."""
    day = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    start = day.replace(day=1)
    days = calendar.monthrange(start.year, start.month)[1]
    return start, start + timedelta(days=days)


def _spent(
    ledger: Queries,
    table: PriceTable,
    where: list[tuple[str, str]],
    since: datetime,
    until: datetime,
) -> tuple[Decimal, int]:
    groups = priced_groups(ledger, table, Filters(since, until, list(where)))
    cost = sum((g.spend for g in groups if g.priced), ZERO)
    unpriced = sum(g.requests for g in groups if not g.priced)
    return cost, unpriced


def level_for(ratio: Decimal, warning: Decimal, critical: Decimal) -> str:
    if ratio >= critical:
        return "critical"
    if ratio >= warning:
        return "warning"
    return "ok"


def budget_status(
    ledger: Queries,
    table: PriceTable,
    budget: Budget,
    now: datetime,
    warning: Decimal = WARNING,
    critical: Decimal = CRITICAL,
) -> dict[str, Any]:
    start, end = period_bounds(budget.period, now)
    spent, unpriced = _spent(ledger, table, budget.where, start, now)
    recent, _ = _spent(ledger, table, budget.where, max(start, now - BURN_WINDOW), now)
    hours = (now - max(start, now - BURN_WINDOW)).total_seconds() / 3600
    per_hour = recent / Decimal(str(hours)) if hours > 0 else ZERO
    remaining_hours = Decimal(str((end - now).total_seconds() / 3600))
    projected = spent + per_hour * remaining_hours
    runs_out = None
    if spent >= budget.amount:
        runs_out = "exhausted"
    elif per_hour > 0:
        hours_left = (budget.amount - spent) / per_hour
        when = now + timedelta(hours=float(hours_left))
        runs_out = when.date().isoformat() if when < end else None
    elapsed = (now - start) / (end - start)
    target = budget.amount * Decimal(str(elapsed)) if budget.basis == "prorated" else budget.amount
    ratio = spent / target if target else ZERO
    return {
        "name": budget.name,
        "amount_usd": budget.amount,
        "period": budget.period,
        "where": [f"{d}={v}" for d, v in budget.where],
        "basis": budget.basis,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "spent_usd": spent,
        "consumed": round(float(spent / budget.amount), 6) if budget.amount else None,
        # rates and projections are estimates (divisions): kept to 1e-9 $, not 28 digits of
        # float noise such as 6.197251150000000000000000001; spent_usd stays exact
        "burn_per_hour_usd": _nano(per_hour),
        "burn_per_day_usd": _nano(per_hour * 24),
        "projected_usd": _nano(projected),
        "runs_out": runs_out,
        "unpriced_requests": unpriced,
        "level": level_for(ratio, warning, critical),
    }


def _nano(value: Decimal) -> Decimal:
    return value.quantize(NANO).normalize() if value else value


NANO = Decimal("1e-9")


# -- anomalies ------------------------------------------------------------------------------------
@dataclass
class Window:
    cost: Decimal = ZERO
    requests: int = 0
    tokens: int = 0

    def add(self, cost: Decimal, requests: int, tokens: int) -> None:
        self.cost += cost
        self.requests += requests
        self.tokens += tokens


def _median(values: list[Any]) -> Any:
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def anomalies(
    ledger: Queries,
    table: PriceTable,
    now: datetime,
    window: timedelta = timedelta(hours=1),
    factor: Decimal = Decimal(3),
    days: int = 7,
    min_cost: Decimal = Decimal("0.01"),
) -> list[dict[str, Any]]:
    """Per feature and per model: spend in the last ``window`` against the median of the same
    clock window on each of the previous ``days`` days. Fires at ``factor`` times the baseline,
    and says whether tokens per request rose (a prompt regression) or the request count rose
    (traffic)."""
    spans = [(now - window - timedelta(days=d), now - timedelta(days=d)) for d in range(days + 1)]
    found = []
    for dim in ("feature", "model"):
        per: dict[Any, list[Window]] = defaultdict(lambda: [Window() for _ in spans])
        for i, (since, until) in enumerate(spans):
            for g in priced_groups(
                ledger, table, Filters(since, until), ("feature",), bucket="hour"
            ):
                key = g.model if dim == "model" else (g.dims[0] or "(unset)")
                per[key][i].add(g.spend if g.priced else ZERO, g.requests, g.input_total + g.output)
        for key, windows in per.items():
            current, history = windows[0], windows[1:]
            base_cost = _median([w.cost for w in history])
            if not base_cost or current.cost < min_cost or current.cost < base_cost * factor:
                continue
            base_requests = _median([w.requests for w in history]) or 0
            base_tpr = _median([w.tokens / w.requests for w in history if w.requests])
            tpr = current.tokens / current.requests if current.requests else 0
            req_ratio = current.requests / base_requests if base_requests else None
            tpr_ratio = tpr / base_tpr if base_tpr else None
            if req_ratio is not None and req_ratio >= 2 and (tpr_ratio or 0) < 2:
                cause = "traffic"
            elif tpr_ratio is not None and tpr_ratio >= 2 and (req_ratio or 0) < 2:
                cause = "tokens per request"
            else:
                cause = "traffic and tokens per request"
            found.append(
                {
                    "dimension": dim,
                    "key": key,
                    "window_start": (now - window).isoformat(),
                    "window_end": now.isoformat(),
                    "cost_usd": current.cost,
                    "baseline_usd": base_cost,
                    "ratio": round(float(current.cost / base_cost), 6),
                    "requests": current.requests,
                    "baseline_requests": base_requests,
                    "tokens_per_request": round(tpr, 3),
                    "baseline_tokens_per_request": round(base_tpr, 3) if base_tpr else None,
                    "cause": cause,
                }
            )
    return found


def validate_dims(where: list[str]) -> list[tuple[str, str]]:
    pairs = [parse_where(w) for w in where]
    for dim, _ in pairs:
        if dim not in DIMENSIONS and not dim.startswith("tag:"):
            raise ConfigError(f"unknown dimension {dim!r}")
    return pairs


def evaluate(
    ledger: Queries,
    table: PriceTable,
    budgets: list[Budget],
    now: datetime,
    window: timedelta,
    window_text: str,
    warning: Decimal,
    critical: Decimal,
) -> list[dict[str, Any]]:
    """Every alert that fires now: budgets at warning or critical, and anomalies. Each has a
    stable ``key`` (so a state file can tell what already fired) and a one-line message."""
    from llmaudit.model.money import usd

    fired = []
    for b in budgets:
        s = budget_status(ledger, table, b, now, warning, critical)
        if s["level"] != "ok":
            fired.append(
                {
                    "kind": "budget",
                    "level": s["level"],
                    "name": b.name,
                    "key": f"budget:{b.name}:{s['period_start']}:{s['level']}",
                    "message": f"budget {b.name}: {usd(s['spent_usd'])} of {usd(s['amount_usd'])} "
                    f"a {b.period} ({s['consumed'] * 100:.0f}%)",
                    "details": s,
                }
            )
    for a in anomalies(ledger, table, now, window):
        fired.append(
            {
                "kind": "anomaly",
                "level": "critical",
                "name": f"{a['dimension']} {a['key']}",
                "key": f"anomaly:{a['dimension']}:{a['key']}:{a['window_start']}",
                "message": f"{a['dimension']} {a['key']}: {usd(a['cost_usd'])} in the last "
                f"{window_text}, {a['ratio']:.1f}x its usual {usd(a['baseline_usd'])} "
                f"({a['cause']})",
                "details": a,
            }
        )
    return fired
