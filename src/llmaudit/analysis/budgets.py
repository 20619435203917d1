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
    level = level_for(ratio, warning, critical)
    # on course to pass the amount before the period ends: a warning now, with the date
    forecast = level == "ok" and spent < budget.amount < projected
    if forecast:
        level = "warning"
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
        # what the level compares: the whole amount, or (prorated) its share of the period
        # elapsed so far
        "target_usd": _nano(target),
        "forecast": forecast,
        "level": level,
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


# The guide's thresholds: token volume at 3x without traffic at 2x is a prompt regression;
# traffic at 3x is traffic; spend at 3x is a burn-rate spike; one user or session at 3x its
# usual requests is a runaway loop.
FACTOR = Decimal(3)
TRAFFIC_CAUSE = 2  # traffic at this factor explains a rise in tokens
MIN_REQUESTS = 10  # a window with fewer requests is too small to call a rise
RUNAWAY_MIN_REQUESTS = 20


def _ratio(current: Any, baseline: Any) -> float | None:
    return round(float(Decimal(current) / Decimal(baseline)), 6) if baseline else None


def anomalies(
    ledger: Queries,
    table: PriceTable,
    now: datetime,
    window: timedelta = timedelta(hours=1),
    factor: Decimal = FACTOR,
    days: int = 7,
    min_cost: Decimal = Decimal("0.01"),
) -> list[dict[str, Any]]:
    """Per feature and per model, the last ``window`` against the median of the same clock
    window on each of the previous ``days`` days:

    - token volume at ``factor`` x without traffic at 2x: "tokens per request (prompt
      regression?)";
    - traffic (requests) at ``factor`` x: "traffic";
    - otherwise spend at ``factor`` x: "burn rate" (with what rose: traffic, tokens per request,
      or the price mix).

    Per user and per session, requests at ``factor`` x the usual (a user's own median; a
    session's, the median session of the previous days) is a "runaway loop". Each finding
    names the key, the factor, the baseline and the window."""
    spans = [(now - window - timedelta(days=d), now - timedelta(days=d)) for d in range(days + 1)]
    per: dict[str, dict[Any, list[Window]]] = {
        dim: defaultdict(lambda: [Window() for _ in spans])
        for dim in ("feature", "model", "user", "session")
    }
    for i, (since, until) in enumerate(spans):
        groups = priced_groups(
            ledger, table, Filters(since, until), ("feature", "user", "session"), bucket="hour"
        )
        for g in groups:
            keys = {
                "feature": g.dims[0] or "(unset)",
                "model": g.model,
                "user": g.dims[1],
                "session": g.dims[2],
            }
            for dim, key in keys.items():
                if key is not None:
                    per[dim][key][i].add(g.spend, g.requests, g.input_total + g.output)
    found = []
    start, end = (now - window).isoformat(), now.isoformat()
    for dim in ("feature", "model"):
        for key, windows in per[dim].items():
            finding = _rise(windows[0], windows[1:], factor, min_cost)
            if finding:
                found.append(
                    {
                        "dimension": dim,
                        "key": key,
                        "window_start": start,
                        "window_end": end,
                        **finding,
                    }
                )
    # a session lives for one window: its usual is the median session of the previous days
    usual_session = _median(
        [w.requests for ws in per["session"].values() for w in ws[1:] if w.requests]
    )
    for dim in ("user", "session"):
        for key, windows in per[dim].items():
            current = windows[0]
            usual = (
                usual_session
                if dim == "session"
                else _median([w.requests for w in windows[1:] if w.requests])
            )
            if not usual or current.requests < max(RUNAWAY_MIN_REQUESTS, usual * float(factor)):
                continue
            found.append(
                {
                    "dimension": dim,
                    "key": key,
                    "window_start": start,
                    "window_end": end,
                    "label": "runaway loop",
                    "cause": "runaway loop",
                    "ratio": _ratio(current.requests, usual),
                    "cost_usd": current.cost,
                    "requests": current.requests,
                    "baseline_requests": usual,
                    "baseline_is": "its own median" if dim == "user" else "the median session",
                }
            )
    return found


def _rise(
    current: Window, history: list[Window], factor: Decimal, min_cost: Decimal
) -> dict[str, Any] | None:
    """What rose in ``current`` against the median of ``history``, if anything did."""
    base_cost = _median([w.cost for w in history]) or ZERO
    base_requests = _median([w.requests for w in history]) or 0
    base_tokens = _median([w.tokens for w in history]) or 0
    if not base_requests or (current.requests < MIN_REQUESTS and current.cost < min_cost):
        return None
    tokens_x = current.tokens / base_tokens if base_tokens else None
    requests_x = current.requests / base_requests
    cost_x = current.cost / base_cost if base_cost else None
    base_tpr = _median([w.tokens / w.requests for w in history if w.requests])
    tpr = current.tokens / current.requests if current.requests else 0
    tpr_x = tpr / base_tpr if base_tpr else None
    if tokens_x is not None and tokens_x >= factor and requests_x < TRAFFIC_CAUSE:
        label, cause = "tokens per request (prompt regression?)", "tokens per request"
    elif requests_x >= factor:
        label, cause = "traffic", "traffic"
    elif cost_x is not None and cost_x >= factor and current.cost >= min_cost:
        label = "burn rate"
        if requests_x >= TRAFFIC_CAUSE and (tpr_x or 0) < TRAFFIC_CAUSE:
            cause = "traffic"
        elif tpr_x is not None and tpr_x >= TRAFFIC_CAUSE and requests_x < TRAFFIC_CAUSE:
            cause = "tokens per request"
        elif requests_x >= TRAFFIC_CAUSE:
            cause = "traffic and tokens per request"
        else:
            cause = "price (a costlier model, tier or output mix)"
    else:
        return None
    return {
        "label": label,
        "cause": cause,
        "ratio": _ratio(current.cost, base_cost),
        "tokens_ratio": round(float(tokens_x), 6) if tokens_x is not None else None,
        "requests_ratio": round(float(requests_x), 6),
        "cost_usd": current.cost,
        "baseline_usd": base_cost,
        "requests": current.requests,
        "baseline_requests": base_requests,
        "tokens": current.tokens,
        "baseline_tokens": base_tokens,
        "tokens_per_request": round(tpr, 3),
        "baseline_tokens_per_request": round(base_tpr, 3) if base_tpr else None,
    }


def validate_dims(where: list[str]) -> list[tuple[str, str]]:
    pairs = [parse_where(w) for w in where]
    for dim, _ in pairs:
        if dim not in DIMENSIONS and not dim.startswith("tag:"):
            raise ConfigError(f"unknown dimension {dim!r}")
    return pairs


def _budget_message(b: Budget, s: dict[str, Any]) -> str:
    """One line: what was spent of what, and why it fires (prorated share, forecast)."""
    from llmaudit.model.money import usd

    text = (
        f"budget {b.name}: {usd(s['spent_usd'])} of {usd(s['amount_usd'])} a {b.period} "
        f"({s['consumed'] * 100:.0f}%)"
    )
    if s["forecast"]:
        when = f", runs out {s['runs_out']}" if s["runs_out"] else ""
        return f"{text}; projected {usd(s['projected_usd'])} by the end of the {b.period}{when}"
    if b.basis == "prorated":
        return f"{text}; prorated: {usd(s['target_usd'])} expected by now"
    return text


def anomaly_lines(
    ledger: Queries, table: PriceTable, now: datetime, window: timedelta = timedelta(hours=1)
) -> list[str]:
    """The anomalies at ``now``, one line each (as ``alerts`` says them)."""
    hours = window.total_seconds() / 3600
    text = f"{hours:g}h" if hours < 24 or hours % 24 else f"{hours / 24:g}d"
    return [_anomaly_message(a, text) for a in anomalies(ledger, table, now, window)]


def _anomaly_message(a: dict[str, Any], window_text: str) -> str:
    """One line naming the key, what rose by what factor, the baseline and the window."""
    from llmaudit.model.money import usd

    head = f"{a['dimension']} {a['key']}: {a['label']} in the last {window_text}"
    if a["label"] == "runaway loop":
        return (
            f"{head}: {a['requests']:,} requests, {a['ratio']:.1f}x {a['baseline_is']} "
            f"({a['baseline_requests']:,}), {usd(a['cost_usd'])}"
        )
    if a["label"].startswith("tokens per request"):
        rise = (
            f"{a['tokens']:,} tokens, {a['tokens_ratio']:.1f}x the usual "
            f"{a['baseline_tokens']:,}, on {a['requests_ratio']:.1f}x the requests"
        )
    elif a["label"] == "traffic":
        rise = (
            f"{a['requests']:,} requests, {a['requests_ratio']:.1f}x the usual "
            f"{a['baseline_requests']:,}"
        )
    else:
        rise = f"{a['ratio']:.1f}x the usual spend ({a['cause']})"
    return (
        f"{head}: {rise}; {usd(a['cost_usd'])} against the usual {usd(a['baseline_usd'])} "
        "(median of the same hours on the previous days)"
    )


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

    fired = []
    for b in budgets:
        s = budget_status(ledger, table, b, now, warning, critical)
        if s["level"] != "ok":
            fired.append(
                {
                    "kind": "budget",
                    "level": s["level"],
                    "name": b.name,
                    "key": f"budget:{b.name}:{s['period_start']}:"
                    + ("forecast" if s["forecast"] else s["level"]),
                    "message": _budget_message(b, s),
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
                "message": _anomaly_message(a, window_text),
                "details": a,
            }
        )
    return fired
