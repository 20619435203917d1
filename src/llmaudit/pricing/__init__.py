"""Prices: the bundled pricing.toml and user layers, model matching, and the cost kernel."""

from llmaudit.pricing.kernel import Cost, CostTotals, price_record, total_cost
from llmaudit.pricing.match import Match, match, suggest
from llmaudit.pricing.table import PriceTable, bundled_path, load_table

__all__ = [
    "Cost",
    "CostTotals",
    "Match",
    "PriceTable",
    "bundled_path",
    "load_table",
    "match",
    "price_record",
    "suggest",
    "total_cost",
]
