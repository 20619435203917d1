"""Money: exact Decimal dollars everywhere, rounded only when shown to people."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ZERO = Decimal(0)
NANO = Decimal("1e-9")  # the resolution of money in JSON and CSV: a billionth of a dollar


def decimal_text(value: Decimal) -> str:
    """Money (or a rate) for machines: a plain decimal string rounded to 1e-9, without
    exponent or trailing zeros ("6.19725115", never "6.197251150000000000000000001")."""
    if not value:
        return "0"
    if value.as_tuple().exponent < -9:  # type: ignore[operator]
        value = value.quantize(NANO, rounding=ROUND_HALF_UP)
        if not value:
            return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def usd(value: Any, places: int = 2) -> str:
    """Money for people: cents from $1 up; below $1 two significant digits, so a small amount
    never shows as $0.00 ($0.077, $0.0045, $0.000038)."""
    if value is None:
        return "-"
    amount = Decimal(value)
    if amount == 0:
        return f"${0:.{places}f}"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1:
        return f"{sign}${amount:,.{places}f}"
    exponent = amount.adjusted()  # 0.0765 -> -2
    digits = max(places, -exponent + 1)
    rounded = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{rounded:.{digits}f}"
    head, _, tail = text.partition(".")
    tail = tail.rstrip("0").ljust(places, "0")
    return f"{sign}${head}.{tail}"


def price(value: Any) -> str:
    """A unit price, exact: ``$2.50``, ``$0.125``, ``$0.0375``."""
    if value is None:
        return "-"
    text = format(Decimal(value).normalize(), "f")
    head, _, tail = text.partition(".")
    return f"${head}.{tail.ljust(2, '0')}"
