"""The CI cost gate: today's estimates against a baseline, with thresholds in % and $."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmaudit.analysis.groups import priced_groups
from llmaudit.errors import DataError, UsageError
from llmaudit.ledger.api import Queries
from llmaudit.ledger.filters import Filters
from llmaudit.model.values import MAX_COUNT, MONEY_MIN_EXP, short
from llmaudit.pricing.table import PriceTable

MARKER = "<!-- llmaudit-check -->"


@dataclass
class Thresholds:
    max_increase: Decimal | None = None  # share, e.g. 0.10
    max_increase_usd: Decimal | None = None  # per month at the stated volume
    warn_increase: Decimal | None = None
    warn_increase_usd: Decimal | None = None


def parse_share(text: str | float | int | None, option: str) -> Decimal | None:
    if text is None or text == "":
        return None
    value = str(text).strip()
    try:
        if value.endswith("%"):
            return Decimal(value[:-1]) / 100
        return Decimal(value)
    except ArithmeticError:
        raise UsageError(f"{option}: {text!r} is not a percentage such as 10%") from None


def parse_usd(text: str | float | int | None, option: str) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(str(text).strip().lstrip("$"))
    except ArithmeticError:
        raise UsageError(f"{option}: {text!r} is not an amount such as 50") from None


def limits_from(conf: dict[str, Any], **options: Any) -> Thresholds:
    """Thresholds from the command line, else [check] in llmaudit.toml; 10% when neither
    names a failing limit."""

    def pick(name: str) -> Any:
        return options.get(name) or conf.get(name)

    limits = Thresholds(
        max_increase=parse_share(pick("max_increase"), "--max-increase"),
        max_increase_usd=parse_usd(pick("max_increase_usd"), "--max-increase-usd"),
        warn_increase=parse_share(pick("warn_increase"), "--warn-increase"),
        warn_increase_usd=parse_usd(pick("warn_increase_usd"), "--warn-increase-usd"),
    )
    if limits.max_increase is None and limits.max_increase_usd is None:
        limits.max_increase = Decimal("0.1")
    return limits


def load_baseline(path: Path, default_models: Any = None) -> tuple[dict[str, Any], Any]:
    """The baseline file and the estimate settings it was made with (so both sides are priced
    the same way)."""
    from llmaudit.estimate.estimate import Settings, checked_setting

    try:
        base = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            f"--baseline: cannot read {path}: {exc.strerror}",
            hint=f"make one with: llmaudit estimate PROMPTS --format json > {path}",
        ) from exc
    except ValueError as exc:
        raise DataError(f"{path}: invalid JSON: {exc}") from exc
    check_baseline(base, str(path))
    saved = base.get("settings", {})
    if not isinstance(saved, dict):
        raise DataError(f"{path}: settings: must be an object")

    def get(name: str) -> Any:
        return checked_setting(name, saved.get(name), f"{path}: settings")

    settings = Settings(
        models=get("models") or tuple(default_models or ()),
        output_tokens=get("output_tokens") or 0,
        cache_hit=get("cache_hit") or 0.0,
        requests=get("requests"),
        per=get("per") or "month",
    )
    return base, settings


_AMOUNTS = ("cost_per_month_usd", "cost_per_1k_calls_usd", "cost_per_call_usd")


def check_baseline(base: Any, where: str) -> None:
    """A baseline as ``estimate --format json`` writes it, as far as ``compare`` reads it: a
    file edited by hand or damaged is a DataError naming the field, never a crash."""
    if not isinstance(base, dict) or not isinstance(base.get("estimates"), list):
        raise DataError(
            f"{where}: not an 'llmaudit estimate --format json' file (no list of estimates)"
        )
    for i, est in enumerate(base["estimates"]):
        at = f"{where}: estimates[{i}]"
        if not isinstance(est, dict):
            raise DataError(f"{at}: must be an object, got {short(est)}")
        _need(est, "file", str, "the prompt file's name", at)
        for j, row in enumerate(_need(est, "rows", list, "a list", at)):
            here = f"{at}.rows[{j}]"
            if not isinstance(row, dict):
                raise DataError(f"{here}: must be an object, got {short(row)}")
            _need(row, "model", str, "a model's name", here)
            tokens = row.get("input_tokens")
            if tokens is not None and (type(tokens) is not int or not 0 <= tokens <= MAX_COUNT):
                raise DataError(
                    f"{here}.input_tokens: must be a count of tokens, got {short(tokens)}"
                )
            for name in _AMOUNTS:
                _check_amount(row.get(name), f"{here}.{name}")


def _need(obj: dict[str, Any], key: str, kind: type, what: str, at: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind):
        raise DataError(f"{at}.{key}: must be {what}, got {short(value)}")
    return value


def _check_amount(value: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: must be an amount of USD, got {short(value)}")
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:  # not a number, or an exponent beyond a Decimal's
        raise DataError(f"{where}: must be an amount of USD, got {short(value)}") from None
    if not amount.is_finite() or (amount and not MONEY_MIN_EXP <= amount.adjusted() < 12):
        raise DataError(f"{where}: must be a finite amount under $1e12, got {short(value)}")


def _basis(row: dict[str, Any]) -> tuple[str, Any]:
    """Compare per month when a volume was stated, else per 1,000 calls."""
    if row.get("cost_per_month_usd") is not None:
        return "month", row["cost_per_month_usd"]
    return "1k calls", row.get("cost_per_1k_calls_usd")


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def compare(
    baseline: dict[str, Any], current: dict[str, Any], limits: Thresholds
) -> dict[str, Any]:
    if not isinstance(baseline, dict) or not isinstance(baseline.get("estimates"), list):
        raise DataError("the baseline is not an 'llmaudit estimate --format json' file")
    old = {(e["file"], r["model"]): r for e in baseline["estimates"] for r in e["rows"]}
    new = {(e["file"], r["model"]): r for e in current["estimates"] for r in e["rows"]}
    rows = []
    for key in sorted(set(old) | set(new)):
        o, n = old.get(key), new.get(key)
        row: dict[str, Any] = {"file": key[0], "model": key[1]}
        if n is not None and n.get("renamed_from"):
            row["renamed_from"] = n["renamed_from"]
        if n is None:
            assert o is not None  # the key came from one side or the other
            row.update(
                status="removed",
                basis=_basis(o)[0],
                old_usd=_money(_basis(o)[1]),
                new_usd=None,
                delta_usd=None,
                delta=None,
            )
        elif not n["priced"]:
            row.update(
                status="unestimated",
                basis=_basis(n)[0],
                old_usd=None,
                new_usd=None,
                delta_usd=None,
                delta=None,
                note=n.get("note"),
            )
        elif o is None or not o.get("priced"):
            row.update(
                status="new",
                basis=_basis(n)[0],
                old_usd=None,
                new_usd=_money(_basis(n)[1]),
                delta_usd=None,
                delta=None,
            )
        else:
            basis, old_value = _basis(o)
            new_value = _money(
                n.get("cost_per_month_usd") if basis == "month" else n.get("cost_per_1k_calls_usd")
            )
            old_value = _money(old_value)
            if new_value is None or old_value is None:  # a baseline edited by hand
                row.update(
                    status="unestimated",
                    basis=basis,
                    old_usd=old_value,
                    new_usd=new_value,
                    delta_usd=None,
                    delta=None,
                    note=f"no cost a {basis} on both sides to compare",
                )
            else:
                delta = new_value - old_value
                share = round(float(delta / old_value), 6) if old_value else None
                row.update(
                    basis=basis,
                    old_usd=old_value,
                    new_usd=new_value,
                    delta_usd=delta,
                    delta=share,
                    old_tokens=o.get("input_tokens"),
                    new_tokens=n["input_tokens"],
                    status=_status(share, delta, basis, limits),
                )
        # what a reader of the PR comment wants besides the verdict: tokens and $ per call
        row.setdefault("old_tokens", o.get("input_tokens") if o else None)
        row.setdefault("new_tokens", n.get("input_tokens") if n else None)
        row["old_per_call_usd"] = _money(o.get("cost_per_call_usd")) if o else None
        row["new_per_call_usd"] = _money(n.get("cost_per_call_usd")) if n else None
        rows.append(row)
    failed = [r for r in rows if r["status"] == "fail"]
    warned = [r for r in rows if r["status"] == "warn"]
    return {
        "rows": rows,
        "failed": len(failed),
        "warned": len(warned),
        "unestimated": sum(1 for r in rows if r["status"] == "unestimated"),
        "passed": not failed,
        "total": _total(rows),
    }


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Old and new spend over every priced row (added and removed prompts included), a month
    at the stated volume, else per 1,000 calls of each."""
    basis = "month" if any(r.get("basis") == "month" for r in rows) else "1k calls"
    old = sum((r["old_usd"] for r in rows if r.get("old_usd") is not None), Decimal(0))
    new = sum((r["new_usd"] for r in rows if r.get("new_usd") is not None), Decimal(0))
    delta = new - old
    return {
        "basis": basis,
        "old_usd": old,
        "new_usd": new,
        "increase_usd": delta,
        "increase": round(float(delta / old), 6) if old else None,
    }


def _status(share: float | None, delta: Decimal, basis: str, limits: Thresholds) -> str:
    usd_applies = basis == "month"

    def over(share_limit, usd_limit) -> bool:
        if share_limit is not None and share is not None and share > float(share_limit):
            return True
        return bool(usd_limit is not None and usd_applies and delta > usd_limit)

    if over(limits.max_increase, limits.max_increase_usd):
        return "fail"
    if over(limits.warn_increase, limits.warn_increase_usd):
        return "warn"
    if delta < 0:
        return "cheaper"
    return "pass"


def usage_regression(
    ledger: Queries,
    table: PriceTable,
    window_days: int,
    limits: Thresholds,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Cost per 1,000 requests per feature and model in the last window against the window
    before it (for prompts that ship outside the repository)."""
    _, newest = ledger.time_span()
    if newest is None:
        return {"rows": [], "failed": 0, "warned": 0, "unestimated": 0, "passed": True}
    end = now or newest + timedelta(microseconds=1)
    span = timedelta(days=window_days)
    windows = {"old": Filters(end - 2 * span, end - span), "new": Filters(end - span, end)}
    per: dict[tuple[str, str], dict[str, Any]] = {}
    for name, flt in windows.items():
        for g in priced_groups(ledger, table, flt, ("feature",)):
            key = (g.dims[0] or "(unset)", g.model)
            sides = per.setdefault(key, {"old": [Decimal(0), 0, 0], "new": [Decimal(0), 0, 0]})
            side = sides[name]
            side[1] += g.requests
            if g.priced:
                side[0] += g.spend
                side[2] += g.requests
    rows = []
    for (feature, model), sides in sorted(per.items()):
        old_cost, _, old_priced = sides["old"]
        new_cost, _, new_priced = sides["new"]
        old = old_cost * 1000 / old_priced if old_priced else None
        new = new_cost * 1000 / new_priced if new_priced else None
        row: dict[str, Any] = {
            "file": feature,
            "model": model,
            "basis": "1k requests",
            "old_usd": old,
            "new_usd": new,
            "delta_usd": None,
            "delta": None,
        }
        if old is None and new is None:
            row["status"] = "unestimated"
        elif old is None:
            row["status"] = "new"
        elif new is None:
            row["status"] = "removed"
        else:
            delta_usd = new - old
            delta = round(float(delta_usd / old), 6) if old else None
            row.update(delta_usd=delta_usd, delta=delta)
            row["status"] = _status(delta, delta_usd, "1k requests", limits)
        rows.append(row)
    failed = sum(1 for r in rows if r["status"] == "fail")
    return {
        "rows": rows,
        "failed": failed,
        "warned": sum(1 for r in rows if r["status"] == "warn"),
        "unestimated": sum(1 for r in rows if r["status"] == "unestimated"),
        "passed": not failed,
    }
