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
PERIOD_RANGE = {"day": "1d", "week": "7d", "month": "30d"}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def openmetrics(ledger: Queries, table: PriceTable) -> str:
    """Counters since the start of the ledger, one series per label set:
    llmaudit_cost_usd_total, llmaudit_requests_total, llmaudit_tokens_total{type=...}, and
    llmaudit_unpriced_requests_total."""
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

    def series(name: str, labels: tuple, value: Any, extra: tuple = ()) -> str:
        pairs = [
            f'{k}="{_escape(v)}"' for k, v in zip((*LABELS, *extra), labels, strict=True) if v != ""
        ]
        return f"{name}{{{','.join(pairs)}}} {value}"

    out = [
        "# TYPE llmaudit_cost_usd counter",
        "# UNIT llmaudit_cost_usd usd",
        "# HELP llmaudit_cost_usd Cost of the priced requests in the llmaudit ledger, in USD.",
        *(
            series("llmaudit_cost_usd_total", k, format(v.normalize(), "f") if v else "0")
            for k, v in sorted(cost.items())
        ),
        "# TYPE llmaudit_requests counter",
        "# HELP llmaudit_requests Requests in the llmaudit ledger.",
        *(series("llmaudit_requests_total", k, v) for k, v in sorted(requests.items())),
        "# TYPE llmaudit_unpriced_requests counter",
        "# HELP llmaudit_unpriced_requests Requests whose model has no price.",
        *(series("llmaudit_unpriced_requests_total", k, v) for k, v in sorted(unpriced.items())),
        "# TYPE llmaudit_tokens counter",
        "# HELP llmaudit_tokens Tokens in the llmaudit ledger, by type.",
        *(series("llmaudit_tokens_total", k, v, ("type",)) for k, v in sorted(tokens.items())),
        "# EOF",
    ]
    return "\n".join(out) + "\n"


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
        spend = f"sum(increase(llmaudit_cost_usd_total{_selector(b)}[{PERIOD_RANGE[b.period]}]))"
        for level, share in (("warning", warning), ("critical", critical)):
            rules.append(
                {
                    "alert": f"LlmauditBudget{level.capitalize()}_{_name(b.name)}",
                    "expr": f"{spend} >= {float(b.amount * share):g}",
                    "for": "5m",
                    "labels": {"severity": level, "budget": b.name},
                    "annotations": {
                        "summary": f"LLM budget {b.name} at {float(share) * 100:g}% or more",
                        "description": f"Spend over the last {PERIOD_RANGE[b.period]} is "
                        f'{{{{ $value | printf "%.2f" }}}} USD of {float(b.amount):g} USD.',
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
