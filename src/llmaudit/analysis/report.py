"""`llmaudit report`: every section as plain data (dicts of numbers, money as exact Decimal).

One pass over the ledger builds priced groups (per day, model, tier, status and the dimensions
a section needs); every figure is a sum over those groups, so the sections agree with each
other and with `llmaudit export`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

from llmaudit.analysis.groups import (
    Group,
    cache_effect,
    priced_groups,
)
from llmaudit.ledger.api import Queries, Timing, TimingSample
from llmaudit.ledger.filters import Filters
from llmaudit.model.money import ZERO
from llmaudit.model.values import format_ts
from llmaudit.pricing.table import PriceTable

SECTIONS = ("summary", "spend", "models", "ratios", "cache", "latency", "trend")
UNSET = "(unset)"
DEFAULT_DAYS = 30
GROWTH_FLAG = Decimal("0.5")  # input per request up 50% or more
RATIO_FLAG = Decimal(3)  # output/input three times the model's own
SPIKE = Decimal("1.5")  # a trend bucket at 1.5x the median bucket
LATENCY_SAMPLE = 1_000_000  # latency percentiles from at most about this many requests


@dataclass
class ReportOptions:
    filters: Filters
    sections: tuple[str, ...] = SECTIONS
    by: tuple[str, ...] = ("feature",)
    top: int = 10
    bucket: str = "day"
    tz: tzinfo = timezone.utc
    tz_name: str = "UTC"


@dataclass
class Window:
    since: datetime
    until: datetime

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    def previous(self) -> Window:
        return Window(self.since - self.length, self.since)


def _ratio(num: Any, den: Any) -> float | None:
    """A share, mean or ratio: not money, so a float (rounded to 6 places)."""
    if not den:
        return None
    return round(float(Decimal(num) / Decimal(den)), 6)


def _sum_cost(groups: list[Group]) -> Decimal:
    return sum((g.spend for g in groups if g.priced), ZERO)


def resolve_window(ledger: Queries, filters: Filters, tz: tzinfo) -> Window | None:
    """The filters' window; without --since, the 30 days up to the newest record (whole days
    in ``tz``)."""
    _, last = ledger.time_span()
    if last is None:
        return None
    if filters.since is not None:
        until = filters.until
        if until is None:
            until = max(last + timedelta(microseconds=1), filters.since + timedelta(seconds=1))
        return Window(filters.since, until)
    end_day = (
        (filters.until - timedelta(microseconds=1)).astimezone(tz).date()
        if filters.until
        else last.astimezone(tz).date()
    )
    until = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    since = until - timedelta(days=DEFAULT_DAYS)
    return Window(since.astimezone(timezone.utc), until.astimezone(timezone.utc))


def _within(filters: Filters, window: Window) -> Filters:
    return Filters(window.since, window.until, list(filters.where), filters.attribution)


def build_report(ledger: Queries, table: PriceTable, opts: ReportOptions) -> dict[str, Any]:
    window = resolve_window(ledger, opts.filters, opts.tz)
    report: dict[str, Any] = {"window": None, "sections": {}}
    if window is None:
        return report
    report["window"] = {
        "since": format_ts(window.since),
        "until": format_ts(window.until),
        "tz": opts.tz_name,
    }
    current = _within(opts.filters, window)
    wanted = set(opts.sections)
    # "has_user" (not "user") keeps the groups few unless a section asks for users themselves
    dims = ["feature", "has_user"]
    dims += [d for d in opts.by if d not in dims and d not in ("model", "provider")]
    base = priced_groups(
        ledger,
        table,
        current,
        dims,
        cached_requests=True,
    )
    sections = report["sections"]
    if "summary" in wanted:
        previous = priced_groups(ledger, table, _within(opts.filters, window.previous()))
        first, _ = ledger.time_span()
        sections["summary"] = summary(base, previous, window, format_ts(first) if first else None)
    if "spend" in wanted:
        sections["spend"] = spend(
            base, [_getter(d, dims) for d in opts.by], list(opts.by), opts.top
        )
    if "models" in wanted:
        sections["models"] = models(base)
    if "ratios" in wanted:
        sections["ratios"] = ratios(base, window, opts.top)
    if "cache" in wanted:
        sections["cache"] = cache(base, opts.top)
    if "latency" in wanted:
        sections["latency"] = latency(ledger, current, base)
    if "trend" in wanted:
        if opts.bucket != "hour" and opts.tz is timezone.utc:
            timeline = base  # UTC days (and weeks, months) come straight from the daily groups
        else:
            timeline = priced_groups(ledger, table, current, (), bucket="hour")
        sections["trend"] = trend(timeline, opts.bucket, opts.tz, window)
    return report


def _getter(dim: str, dims: list[str]):
    if dim == "model":
        return lambda g: g.model
    if dim == "provider":
        return lambda g: g.provider
    i = dims.index(dim)
    return lambda g: g.dims[i]


# -- sections ------------------------------------------------------------------------------------
def summary(
    groups: list[Group], previous: list[Group], window: Window, first_ts: str | None = None
) -> dict[str, Any]:
    """``first_ts`` is the ledger's oldest record: when it falls inside the previous window,
    that window is marked ``partial`` (the change may only say where the data starts)."""
    spend = _sum_cost(groups)
    requests = sum(g.requests for g in groups)
    tokens = {
        "input_uncached": sum(g.input_uncached for g in groups),
        "cache_read": sum(g.cache_read for g in groups),
        "cache_write": sum(g.cache_write_5m + g.cache_write_1h for g in groups),
        "output": sum(g.output for g in groups),
        "reasoning": sum(g.reasoning for g in groups),
    }
    all_tokens = sum(g.input_total + g.output for g in groups)
    priced_tokens = sum(g.input_total + g.output for g in groups if g.priced)
    unpriced: dict[str, dict[str, int]] = defaultdict(lambda: {"requests": 0, "tokens": 0})
    for g in groups:
        if not g.priced:
            unpriced[g.model]["requests"] += g.requests
            unpriced[g.model]["tokens"] += g.input_total + g.output
    with_feature = _sum_cost([g for g in groups if g.dims[0] is not None])
    with_user = _sum_cost([g for g in groups if g.dims[1] is not None])
    before = _sum_cost(previous)
    change = None
    if previous and before:
        change = _ratio(spend - before, before)
    partial = first_ts is not None and first_ts > format_ts(window.previous().since)
    return {
        "spend_usd": spend,
        "requests": requests,
        "records": sum(g.records for g in groups),
        "tokens": tokens,
        "priced_token_share": _ratio(priced_tokens, all_tokens) if all_tokens else Decimal(1),
        "unpriced_requests": sum(v["requests"] for v in unpriced.values()),
        "unpriced_models": [
            {"model": m, **v} for m, v in sorted(unpriced.items(), key=lambda kv: -kv[1]["tokens"])
        ],
        "feature_spend_share": _ratio(with_feature, spend),
        "user_spend_share": _ratio(with_user, spend),
        "previous": {
            "since": format_ts(window.previous().since),
            "until": format_ts(window.previous().until),
            "spend_usd": before if previous else None,
            # no percentage against a period the ledger covers only in part
            "change": None if partial else change,
            "partial": partial,
            "data_since": first_ts,
        },
    }


def _rollup(groups: list[Group], key) -> dict[Any, dict[str, Any]]:
    out: dict[Any, dict[str, Any]] = {}
    for g in groups:
        k = key(g)
        row = out.get(k)
        if row is None:
            row = out[k] = {
                "cost": ZERO,
                "requests": 0,
                "unpriced_requests": 0,
                "input": 0,
                "output": 0,
                "priced_requests": 0,
                "priced": False,
            }
        if g.priced:
            row["cost"] += g.spend
            row["priced_requests"] += g.requests
            row["priced"] = True
        else:
            row["unpriced_requests"] += g.requests
        row["requests"] += g.requests
        row["input"] += g.input_total
        row["output"] += g.output
    return out


PER_1K_PLACES = Decimal("1e-10")


def _per_1k(cost: Decimal, requests: int) -> Decimal | None:
    """A rate, not an amount that adds up: kept to 1e-10 dollars (a division would otherwise
    print 28 digits)."""
    if not requests:
        return None
    return (cost * 1000 / requests).quantize(PER_1K_PLACES).normalize()


def spend(groups: list[Group], getters: list[Any], by: list[str], top: int) -> dict[str, Any]:
    rolled: dict[Any, dict[str, Any]] = {}
    for g in groups:
        k = tuple(UNSET if (v := get(g)) is None else v for get in getters)
        row = rolled.setdefault(
            k, {"cost": ZERO, "requests": 0, "unpriced_requests": 0, "priced": False}
        )
        if g.priced:
            row["cost"] += g.spend
            row["priced"] = True
        else:
            row["unpriced_requests"] += g.requests
        row["requests"] += g.requests
    total = sum((r["cost"] for r in rolled.values()), ZERO)
    ordered = sorted(rolled.items(), key=lambda kv: (-kv[1]["cost"], -kv[1]["requests"], kv[0]))
    rows = [
        {
            "key": list(k),
            "cost_usd": r["cost"] if r["priced"] else None,
            "share": _ratio(r["cost"], total),
            "requests": r["requests"],
            "cost_per_1k_requests_usd": _per_1k(r["cost"], r["requests"] - r["unpriced_requests"]),
            "unpriced_requests": r["unpriced_requests"],
        }
        for k, r in ordered
    ]
    other = None
    if len(rows) > top:
        rest = rows[top:]
        rows = rows[:top]
        cost = sum((r["cost_usd"] or ZERO for r in rest), ZERO)
        reqs = sum(r["requests"] for r in rest)
        unpriced = sum(r["unpriced_requests"] for r in rest)
        other = {
            "key": [f"({len(rest)} more)"] + [""] * (len(by) - 1),
            "cost_usd": cost,
            "share": _ratio(cost, total),
            "requests": reqs,
            "cost_per_1k_requests_usd": _per_1k(cost, reqs - unpriced),
            "unpriced_requests": unpriced,
        }
    return {"by": by, "total_usd": total, "rows": rows, "other": other}


def models(groups: list[Group]) -> dict[str, Any]:
    rolled = _rollup(groups, lambda g: (g.model, g.provider))
    total = sum((r["cost"] for r in rolled.values()), ZERO)
    rows = []
    for (model, provider), r in sorted(rolled.items(), key=lambda kv: (-kv[1]["cost"], kv[0])):
        rows.append(
            {
                "model": model,
                "provider": provider,
                "priced": r["priced"],
                "cost_usd": r["cost"] if r["priced"] else None,
                "share": _ratio(r["cost"], total),
                "requests": r["requests"],
                "cost_per_1k_requests_usd": _per_1k(r["cost"], r["priced_requests"]),
                "mean_input_tokens": _ratio(r["input"], r["requests"]),
                "mean_output_tokens": _ratio(r["output"], r["requests"]),
                "output_input_ratio": _ratio(r["output"], r["input"]),
            }
        )
    return {"total_usd": total, "rows": rows}


def ratios(groups: list[Group], window: Window, top: int) -> dict[str, Any]:
    """Output/input per feature and model, and how input per request moved across the window."""
    middle = window.since + window.length / 2
    halves: dict[Any, list[list[int]]] = defaultdict(lambda: [[0, 0], [0, 0]])  # [input, requests]
    totals: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])  # input, output, requests
    model_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for g in groups:
        k = (g.dims[0] or UNSET, g.model)
        half = 0 if g.start() < middle else 1
        halves[k][half][0] += g.input_total
        halves[k][half][1] += g.requests
        t = totals[k]
        t[0] += g.input_total
        t[1] += g.output
        t[2] += g.requests
        model_totals[g.model][0] += g.input_total
        model_totals[g.model][1] += g.output
    rows = []
    for (feature, model), (inp, out, reqs) in totals.items():
        first = _ratio(halves[(feature, model)][0][0], halves[(feature, model)][0][1])
        last = _ratio(halves[(feature, model)][1][0], halves[(feature, model)][1][1])
        growth = round((last - first) / first, 6) if first and last is not None else None
        ratio = _ratio(out, inp)
        model_ratio = _ratio(model_totals[model][1], model_totals[model][0])
        flags = []
        if growth is not None and growth >= float(GROWTH_FLAG):
            flags.append("input per request grew")
        if ratio is not None and model_ratio and ratio >= model_ratio * float(RATIO_FLAG):
            flags.append("output heavy")
        rows.append(
            {
                "feature": feature,
                "model": model,
                "requests": reqs,
                "output_input_ratio": ratio,
                "input_per_request_first_half": first,
                "input_per_request_second_half": last,
                "input_per_request_change": growth,
                "flags": flags,
            }
        )
    rows.sort(key=lambda r: (not r["flags"], -r["requests"], r["feature"], r["model"]))
    return {"rows": rows[: max(top, sum(1 for r in rows if r["flags"]))]}


# One group's part in the cache section: input, cache reads, cache writes, requests, requests
# with a cache read, read saving, write premium (the last two zero when unpriced).
_CacheParts = tuple[int, int, int, int, int, Decimal, Decimal]


def _cache_parts(g: Group) -> _CacheParts:
    writes = g.cache_write_5m + g.cache_write_1h
    effect = cache_effect(g) if g.cache_read or writes else None
    saving, premium = effect if effect is not None else (ZERO, ZERO)
    cached = g.extra.get("cached_requests") or 0
    return g.input_total, g.cache_read, writes, g.requests, cached, saving, premium


def _cache_row(parts: list[_CacheParts]) -> dict[str, Any]:
    inp = sum(p[0] for p in parts)
    read = sum(p[1] for p in parts)
    writes = sum(p[2] for p in parts)
    reqs = sum(p[3] for p in parts)
    cached_reqs = sum(p[4] for p in parts)
    read_saving = sum((p[5] for p in parts), ZERO)
    write_premium = sum((p[6] for p in parts), ZERO)
    return {
        "requests": reqs,
        "token_hit_rate": _ratio(read, inp),
        "request_hit_rate": _ratio(cached_reqs, reqs),
        "cache_read_tokens": read,
        "cache_write_tokens": writes,
        "read_saving_usd": read_saving,
        "write_premium_usd": write_premium,
        "net_saving_usd": read_saving - write_premium,
    }


def cache(groups: list[Group], top: int) -> dict[str, Any]:
    """Hit rates, and $ saved by cache reads net of the premium paid for cache writes."""
    by_model: dict[str, list[_CacheParts]] = defaultdict(list)
    by_feature: dict[str, list[_CacheParts]] = defaultdict(list)
    by_pair: dict[Any, list[_CacheParts]] = defaultdict(list)
    everything = []
    for g in groups:  # each group's part worked out once, then summed four ways
        part = _cache_parts(g)
        everything.append(part)
        by_model[g.model].append(part)
        by_feature[g.dims[0] or UNSET].append(part)
        by_pair[(g.dims[0] or UNSET, g.model)].append(part)
    overall = _cache_row(everything)

    def rows(parts: dict[Any, list[_CacheParts]], name: str) -> list[dict[str, Any]]:
        out = [{name: k, **_cache_row(v)} for k, v in parts.items()]
        out = [r for r in out if r["cache_read_tokens"] or r["cache_write_tokens"]]
        out.sort(key=lambda r: (-(r["net_saving_usd"]), str(r[name])))
        return out[:top]

    losing = []
    for (feature, model), parts in by_pair.items():
        row = _cache_row(parts)
        if row["cache_write_tokens"] and row["net_saving_usd"] < 0:
            losing.append({"feature": feature, "model": model, **row})
    losing.sort(key=lambda r: r["net_saving_usd"])
    return {
        "overall": overall,
        "by_model": rows(by_model, "model"),
        "by_feature": rows(by_feature, "feature"),
        "writes_cost_more_than_reads_save": losing,
    }


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (as numpy's default)."""
    if not values:
        return None
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def latency(ledger: Queries, filters: Filters, groups: list[Group]) -> dict[str, Any]:
    """Percentiles from every request that has timings; above LATENCY_SAMPLE of them, from an
    even sample of every k-th request (``sampled_every`` says k; 1 means all of them)."""
    computed = ledger.timing_quantiles(filters, LATENCY_SAMPLE)
    method = "exact"
    if computed is not None:  # the engine's own percentiles (ClickHouse)
        rows, step, method = computed.rows, computed.every, computed.method
    else:
        rows, step = _percentiles(ledger.timing_sample(filters, LATENCY_SAMPLE))
    if method == "exact" and step > 1:
        method = "sample"
    wasted = {}
    for status in ("error", "abandoned"):
        gs = [g for g in groups if g.status == status]
        wasted[status] = {"requests": sum(g.requests for g in gs), "cost_usd": _sum_cost(gs)}
    return {
        "by_model": rows,
        "failed": wasted["error"],
        "abandoned": wasted["abandoned"],
        "sampled_every": step,
        "method": method,
    }


def _percentiles(sample: TimingSample) -> tuple[list[dict[str, Any]], int]:
    """Per-model percentiles from the requests of a timing sample; (rows, its step)."""
    step = sample.every
    by_model: dict[str, list[Timing]] = defaultdict(list)
    for timing in sample.rows:
        by_model[timing[0]].append(timing)
    data: dict[str, dict[str, list[float]]] = {}
    for model, timings in by_model.items():
        data[model] = {
            "latency": [lat for _, lat, _, _ in timings if lat is not None],
            "ttft": [ttft for _, _, ttft, _ in timings if ttft is not None],
            "itl": [
                (lat - ttft) / (out - 1)
                for _, lat, ttft, out in timings
                if ttft is not None and lat is not None and out > 1 and lat >= ttft
            ],
        }
    rows = []
    for model in sorted(data):
        d = data[model]
        row: dict[str, Any] = {"model": model, "requests": max(len(d["latency"]), len(d["ttft"]))}
        for name in ("ttft", "latency", "itl"):
            values = sorted(d[name])
            row[f"{name}_p50_ms"] = percentile(values, 0.5)
            row[f"{name}_p95_ms"] = percentile(values, 0.95)
        rows.append(row)
    return rows, step


def _bucket_start(moment: datetime, bucket: str, tz: tzinfo) -> date | datetime:
    local = moment.astimezone(tz)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def trend(groups: list[Group], bucket: str, tz: tzinfo, window: Window) -> dict[str, Any]:
    per: dict[Any, dict[str, Any]] = {}
    model_cost: dict[Any, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for g in groups:
        key = _bucket_start(g.start(), bucket, tz)
        row = per.setdefault(key, {"cost": ZERO, "requests": 0, "unpriced_requests": 0})
        row["requests"] += g.requests
        if g.priced:
            row["cost"] += g.spend
            model_cost[key][g.model] += g.spend
        else:
            row["unpriced_requests"] += g.requests
    # every bucket of the window, empty ones too, so gaps show
    keys = sorted(per)
    if keys and bucket in ("day", "hour"):
        step = timedelta(days=1) if bucket == "day" else timedelta(hours=1)
        k = _bucket_start(window.since, bucket, tz)
        end = _bucket_start(window.until - timedelta(microseconds=1), bucket, tz)
        while k <= end:
            per.setdefault(k, {"cost": ZERO, "requests": 0, "unpriced_requests": 0})
            k = k + step
        keys = sorted(per)
    rows = [
        {
            "bucket": _label(k),
            "cost_usd": per[k]["cost"],
            "requests": per[k]["requests"],
            "unpriced_requests": per[k]["unpriced_requests"],
            # the bucket's spend by model (priced models; the parts add up to cost_usd)
            "by_model": dict(sorted(model_cost[k].items())) if k in model_cost else {},
        }
        for k in keys
    ]
    costs = [r["cost_usd"] for r in rows if r["requests"]]
    median = sorted(costs)[len(costs) // 2] if costs else ZERO
    for r in rows:
        r["spike"] = bool(median and r["cost_usd"] >= median * SPIKE and r["requests"])
    return {
        "bucket": bucket,
        "tz": getattr(tz, "key", None) or str(tz),
        "rows": rows,
        "migrations": _migrations(model_cost, keys),
    }


def _label(key: date | datetime) -> str:
    if isinstance(key, datetime):
        return key.strftime("%Y-%m-%d %H:00")
    return key.isoformat()


def _migrations(model_cost, keys) -> list[dict[str, Any]]:
    """Share of spend per model in the first and last quarter of the buckets."""
    active = [k for k in keys if model_cost.get(k)]
    if len(active) < 2:
        return []
    n = max(1, len(active) // 4)
    first, last = active[:n], active[-n:]

    def shares(part):
        sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for k in part:
            for model, cost in model_cost[k].items():
                sums[model] += cost
        total = sum(sums.values(), ZERO)
        return {m: (_ratio(c, total) or 0.0) for m, c in sums.items()}

    a, b = shares(first), shares(last)
    out = []
    for model in sorted(set(a) | set(b)):
        change = round(b.get(model, 0.0) - a.get(model, 0.0), 6)
        if abs(change) >= 0.1:
            out.append(
                {
                    "model": model,
                    "share_first": a.get(model, 0.0),
                    "share_last": b.get(model, 0.0),
                    "change": change,
                }
            )
    out.sort(key=lambda r: r["change"])
    return out
