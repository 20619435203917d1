"""The Prometheus / Grafana path: ledger counters in OpenMetrics text, and alerting rules
generated from the configured budgets."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from llmaudit.analysis.budgets import Budget
from llmaudit.analysis.groups import priced_groups
from llmaudit.ledger.api import Queries
from llmaudit.ledger.filters import Filters
from llmaudit.pricing.table import PriceTable

LABELS = ("provider", "model", "feature", "team", "customer", "project", "environment")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def openmetrics(
    ledger: Queries,
    table: PriceTable,
    budgets: list[dict[str, Any]] | None = None,
) -> str:
    """The metrics in OpenMetrics text (``# EOF`` at the end, units declared)."""
    return metrics_text(ledger, table, budgets, openmetrics=True)


def prometheus_text(
    ledger: Queries,
    table: PriceTable,
    budgets: list[dict[str, Any]] | None = None,
) -> str:
    """The metrics in Prometheus's classic text format (HELP and TYPE for every metric): what
    node_exporter's textfile collector and the Pushgateway read."""
    return metrics_text(ledger, table, budgets, openmetrics=False)


def metrics_text(
    ledger: Queries,
    table: PriceTable,
    budgets: list[dict[str, Any]] | None = None,
    *,
    openmetrics: bool = True,
) -> str:
    """Counters since the start of the ledger, one series per label set:
    llmaudit_cost_usd_total, llmaudit_requests_total, llmaudit_tokens_total{type=...} and
    llmaudit_unpriced_requests_total; and for each budget (a status from
    :func:`llmaudit.analysis.budgets.budget_status`) gauges of its calendar period so far:
    llmaudit_budget_spent_usd, llmaudit_budget_amount_usd, llmaudit_budget_projected_usd."""
    dims = ("feature", "team", "customer", "project", "environment")
    cost: dict[tuple, Decimal] = {}
    requests: dict[tuple, int] = {}
    unpriced: dict[tuple, int] = {}
    tokens: dict[tuple, int] = {}
    for g in priced_groups(ledger, table, Filters(), dims):
        labels = (g.provider, g.model, *(v or "" for v in g.dims))
        requests[labels] = requests.get(labels, 0) + g.requests
        if g.priced:
            cost[labels] = cost.get(labels, Decimal(0)) + g.spend
        else:
            unpriced[labels] = unpriced.get(labels, 0) + g.requests
        for kind, n in (
            ("input_uncached", g.input_uncached),
            ("cache_read", g.cache_read),
            ("cache_write", g.cache_write_5m + g.cache_write_1h),
            ("output", g.output),
        ):
            key = (*labels, kind)
            tokens[key] = tokens.get(key, 0) + n

    def series(name: str, names: tuple, labels: tuple, value: Any) -> str:
        pairs = [f'{k}="{_escape(v)}"' for k, v in zip(names, labels, strict=True) if v != ""]
        return f"{name}{{{','.join(pairs)}}} {value}"

    def family(name: str, kind: str, text: str, unit: str | None = None) -> list[str]:
        sample = f"{name}_total" if kind == "counter" else name
        if openmetrics:
            head = [f"# TYPE {name} {kind}"]
            if unit:
                head.append(f"# UNIT {name} {unit}")
            return [*head, f"# HELP {name} {text}"]
        return [f"# HELP {sample} {text}", f"# TYPE {sample} {kind}"]

    def money(value: Decimal) -> str:
        return format(value.normalize(), "f") if value else "0"

    out = [
        *family("llmaudit_cost_usd", "counter", _HELP["cost"], "usd"),
        *(series("llmaudit_cost_usd_total", LABELS, k, money(v)) for k, v in sorted(cost.items())),
        *family("llmaudit_requests", "counter", _HELP["requests"]),
        *(series("llmaudit_requests_total", LABELS, k, v) for k, v in sorted(requests.items())),
        *family("llmaudit_unpriced_requests", "counter", _HELP["unpriced"]),
        *(
            series("llmaudit_unpriced_requests_total", LABELS, k, v)
            for k, v in sorted(unpriced.items())
        ),
        *family("llmaudit_tokens", "counter", _HELP["tokens"]),
        *(
            series("llmaudit_tokens_total", (*LABELS, "type"), k, v)
            for k, v in sorted(tokens.items())
        ),
    ]
    if budgets:
        for metric, field, text in (
            ("llmaudit_budget_spent_usd", "spent_usd", _HELP["spent"]),
            ("llmaudit_budget_amount_usd", "amount_usd", _HELP["amount"]),
            ("llmaudit_budget_projected_usd", "projected_usd", _HELP["projected"]),
        ):
            out += family(metric, "gauge", text, "usd")
            out += [
                series(metric, ("budget", "period"), (b["name"], b["period"]), money(b[field]))
                for b in sorted(budgets, key=lambda b: b["name"])
            ]
    if openmetrics:
        out.append("# EOF")
    return "\n".join(out) + "\n"


_HELP = {
    "cost": "Cost of the priced requests in the llmaudit ledger, in USD.",
    "requests": "Requests in the llmaudit ledger.",
    "unpriced": "Requests whose model has no price.",
    "tokens": "Tokens in the llmaudit ledger, by type.",
    "spent": "Spend of a budget's scope in its current calendar period so far, in USD.",
    "amount": "A budget's amount for its period, in USD.",
    "projected": "A budget's spend by the end of its period at the last day's pace, in USD.",
}


def _selector(budget: Budget) -> str:
    pairs = [f'{dim}="{_escape(value)}"' for dim, value in budget.where if dim in LABELS]
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _name(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_") or "budget"


def prometheus_rules(
    budgets: list[Budget], warning: Decimal, critical: Decimal, anomaly_factor: Decimal = Decimal(3)
) -> str:
    """Alerting rules (YAML, valid for `promtool check rules`) from the budgets, plus an anomaly
    rule: the last hour's spend at 3x the same hour's median over the previous 7 days."""
    rules: list[dict[str, Any]] = []
    for b in budgets:
        # the gauge llmaudit exports for the budget's calendar period (day, ISO week, month),
        # so a month budget is compared with this month's spend, not a rolling 30 days
        spent = f'max(llmaudit_budget_spent_usd{{budget="{_escape(b.name)}"}})'
        projected = f'max(llmaudit_budget_projected_usd{{budget="{_escape(b.name)}"}})'
        for level, share in (("warning", warning), ("critical", critical)):
            rules.append(
                {
                    "alert": f"LlmauditBudget{level.capitalize()}_{_name(b.name)}",
                    "expr": f"{spent} >= {float(b.amount * share):g}",
                    "for": "5m",
                    "labels": {"severity": level, "budget": b.name},
                    "annotations": {
                        "summary": f"LLM budget {b.name} at {float(share) * 100:g}% or more",
                        "description": f"Spend this {b.period} is "
                        f'{{{{ $value | printf "%.2f" }}}} USD of {float(b.amount):g} USD.',
                    },
                }
            )
        rules.append(
            {
                "alert": f"LlmauditBudgetForecast_{_name(b.name)}",
                "expr": f"{projected} > {float(b.amount):g} and {spent} < "
                f"{float(b.amount * warning):g}",
                "for": "1h",
                "labels": {"severity": "warning", "budget": b.name},
                "annotations": {
                    "summary": f"LLM budget {b.name} is on course to pass its amount",
                    "description": f"At the last day's pace this {b.period} ends at "
                    f'{{{{ $value | printf "%.2f" }}}} USD, over {float(b.amount):g} USD.',
                },
            }
        )
    hourly = "sum by (feature) (increase(llmaudit_cost_usd_total[1h]))"
    rules.append(
        {
            "alert": "LlmauditSpendAnomaly",
            "expr": (
                f"{hourly} > {float(anomaly_factor):g} * quantile_over_time(0.5, "
                f"({hourly})[7d:1d] offset 1d)"
            ),
            "for": "10m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "LLM spend of feature {{ $labels.feature }} is 3x its usual "
                "for this hour",
                "description": "Compare tokens per request and request "
                "counts to tell a prompt regression from traffic.",
            },
        }
    )
    tokens = "sum by (feature) (increase(llmaudit_tokens_total[1h]))"
    calls = "sum by (feature) (increase(llmaudit_requests_total[1h]))"

    def usual(expr: str) -> str:
        return f"quantile_over_time(0.5, ({expr})[7d:1d] offset 1d)"

    rules.append(
        {
            "alert": "LlmauditTokenAnomaly",
            "expr": f"({tokens} > {float(anomaly_factor):g} * {usual(tokens)}) "
            f"and on (feature) ({calls} < 2 * {usual(calls)})",
            "for": "10m",
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "LLM tokens of feature {{ $labels.feature }} are 3x their usual "
                "for this hour without the traffic to explain it (prompt regression?)",
                "description": "Token volume rose without a matching rise in requests.",
            },
        }
    )
    lines = ["groups:", "  - name: llmaudit", "    rules:"]
    for rule in rules:
        lines.append(f"      - alert: {rule['alert']}")
        lines.append(f"        expr: {json.dumps(rule['expr'])}")
        lines.append(f"        for: {rule['for']}")
        lines.append("        labels:")
        for k, v in rule["labels"].items():
            lines.append(f"          {k}: {json.dumps(v)}")
        lines.append("        annotations:")
        for k, v in rule["annotations"].items():
            lines.append(f"          {k}: {json.dumps(v)}")
    return "\n".join(lines) + "\n"
