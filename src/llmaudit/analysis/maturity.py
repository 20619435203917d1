"""The cost-monitoring maturity self-assessment (levels 0-4), from evidence in the ledger and
the config. Level 0 no visibility, 1 aggregate reporting, 2 feature attribution, 3 real-time
alerting and anomaly detection, 4 automated cost control."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from llmaudit.analysis.groups import priced_groups
from llmaudit.ledger.api import Queries
from llmaudit.ledger.filters import Filters
from llmaudit.pricing.table import PriceTable

LEVELS = {
    0: "no visibility",
    1: "aggregate reporting",
    2: "feature attribution",
    3: "real-time alerting and anomaly detection",
    4: "automated cost control",
}


def _criterion(
    level: int,
    name: str,
    target: str,
    measured: Any,
    passed: bool,
    next_step: str,
    unit: str = "count",
) -> dict[str, Any]:
    return {
        "level": level,
        "criterion": name,
        "target": target,
        "measured": measured,
        "unit": unit,
        "passed": passed,
        "next_step": None if passed else next_step,
    }


def assess(
    ledger: Queries,
    table: PriceTable,
    config: dict[str, Any],
    now: datetime,
    answers: dict[str, bool] | None = None,
) -> dict[str, Any]:
    _, newest = ledger.time_span()
    since = now - timedelta(days=30)
    groups = priced_groups(ledger, table, Filters(since, now), ("feature",)) if newest else []
    spend = sum((g.spend for g in groups if g.priced), Decimal(0))
    tokens = sum(g.input_total + g.output for g in groups)
    priced = sum(g.input_total + g.output for g in groups if g.priced)
    feature_spend = sum((g.spend for g in groups if g.priced and g.dims[0]), Decimal(0))
    input_tokens = sum(g.input_total for g in groups)
    cache_read = sum(g.cache_read for g in groups)
    models_per_feature: dict[str, set[str]] = {}
    for g in groups:
        if g.dims[0]:
            models_per_feature.setdefault(g.dims[0], set()).add(g.model)
    multi = sorted(f for f, ms in models_per_feature.items() if len(ms) > 1)
    age = None
    if newest:
        age = round((now - newest).total_seconds() / 3600, 1)
    budgets = config.get("budgets") or {}  # (checked by the caller: budgets_from_config)
    alerting = config.get("alerts") or {}  # (and config.get_table)
    share = lambda a, b: round(float(a / b), 4) if b else None  # noqa: E731
    coverage = share(Decimal(priced), Decimal(tokens))
    feature_share = share(feature_spend, spend)
    hit = share(Decimal(cache_read), Decimal(input_tokens))
    answers = answers or {}
    criteria = [
        _criterion(
            1,
            "usage data in the ledger (last 30 days)",
            "some requests",
            sum(g.requests for g in groups),
            bool(groups),
            "ingest your logs or pull the provider usage APIs (llmaudit ingest / pull)",
        ),
        _criterion(
            1,
            "priced coverage of tokens",
            ">= 90%",
            coverage,
            coverage is not None and coverage >= 0.9,
            "add the unpriced models to your price file (llmaudit pricing explain MODEL)",
            "share",
        ),
        _criterion(
            2,
            "share of spend with a feature tag",
            ">= 90%",
            feature_share,
            feature_share is not None and feature_share >= 0.9,
            "tag every request with a feature in your middleware, or map projects and "
            "keys to features",
            "share",
        ),
        _criterion(
            3,
            "budgets configured",
            ">= 1",
            len(budgets),
            len(budgets) >= 1,
            "set a budget: llmaudit budget set org --amount 1000 --period month",
        ),
        _criterion(
            3,
            "alerts delivered",
            "alerts.notify set in the config (or confirmed)",
            bool(alerting.get("notify")) or answers.get("alerts_delivered", False),
            bool(alerting.get("notify")) or answers.get("alerts_delivered", False),
            "run 'llmaudit alerts --notify URL --state FILE' from cron every few minutes, "
            "and set alerts.notify",
            "yes/no",
        ),
        _criterion(
            3,
            "data fresher than a day",
            "< 24 h since the newest record",
            age,
            age is not None and age < 24,
            "ingest or pull at least daily (cron or a CI schedule)",
            "hours",
        ),
        _criterion(
            4,
            "cache hit rate (tokens)",
            ">= 50%",
            hit,
            hit is not None and hit >= 0.5,
            "cache the stable part of long prompts (llmaudit report cache shows where)",
            "share",
        ),
        _criterion(
            4,
            "routing: features on several models (or routing rules)",
            ">= 1 feature, or routing in the config",
            multi or bool(config.get("routing")),
            bool(multi) or bool(config.get("routing")),
            "route short, deterministic work to smaller models (llmaudit whatif --swap)",
            "list",
        ),
    ]
    if "monthly_review" in answers:
        criteria.append(
            _criterion(
                2,
                "monthly cost review",
                "yes",
                answers["monthly_review"],
                answers["monthly_review"],
                "hold a monthly review of 'llmaudit report' with the owners",
                "yes/no",
            )
        )
    level = 0
    for lvl in (1, 2, 3, 4):
        if all(c["passed"] for c in criteria if c["level"] == lvl):
            level = lvl
        else:
            break
    nxt = next((c for c in criteria if c["level"] == level + 1 and not c["passed"]), None)
    return {
        "level": level,
        "name": LEVELS[level],
        "assessed_at": now.isoformat(),
        "window_days": 30,
        "criteria": criteria,
        "next_step": nxt["next_step"] if nxt else None,
    }
