"""The report's sections as tables (for the terminal, Markdown and CSV)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llmaudit.model.money import usd
from llmaudit.render import Column, Table, window_text

BAR_WIDTH = 24


def pct(value: Any) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value) * 100:.1f}%"


def signed_pct(value: Any) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value) * 100:+.1f}%"


def num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (Decimal, float)):
        return f"{value:,.1f}"
    return f"{value:,}"


def ratio(value: Any) -> str:
    return "-" if value is None else f"{Decimal(value):.2f}"


def ms(value: Any) -> str:
    return "-" if value is None else f"{value:,.0f}"


def money(value: Any) -> str:
    return "unpriced" if value is None else usd(value)


def bar(value: Decimal, top: Decimal) -> str:
    if not top or not value:
        return ""
    cells = value / top * BAR_WIDTH
    full = int(cells)
    rest = cells - full
    partial = " ▏▎▍▌▋▊▉"[int(rest * 8)] if full < BAR_WIDTH else ""
    return ("█" * full + partial.strip()) or "▏"


def tables(report: dict[str, Any]) -> list[Table]:
    """Every section's tables; each section's first title states the window."""
    out: list[Table] = []
    window = window_text(report["window"])
    for name, data in report["sections"].items():
        parts = SECTION_TABLES[name](data, report)
        if parts and parts[0].title and name != "summary":
            parts[0].title = f"{parts[0].title}, {window}"
        out.extend(parts)
    return out


def _spend_text(s: dict[str, Any]) -> str:
    """Never "$0.00" for tokens with no price: unknown when nothing is priced, and the priced
    share said when part is."""
    share = s["priced_token_share"]
    if s["unpriced_models"] and not share:
        return "unknown: no token in this window has a price (see 'unpriced')"
    if s["unpriced_models"]:
        return f"{usd(s['spend_usd'])} for the {pct(share)} of tokens priced"
    return usd(s["spend_usd"])


def _previous_text(prev: dict[str, Any]) -> str:
    if prev["spend_usd"] is None:
        return "no data"
    if prev.get("partial"):  # a percentage against part of a period would mislead
        return (
            f"partial: the ledger starts {prev['data_since'][:10]}, inside that period "
            f"({usd(prev['spend_usd'])} in it)"
        )
    return f"{signed_pct(prev['change'])} (from {usd(prev['spend_usd'])})"


def _summary(s: dict[str, Any], report: dict[str, Any]) -> list[Table]:
    w = report["window"]
    t = s["tokens"]
    prev = s["previous"]
    rows = [
        ("period", window_text(w)),
        ("spend", _spend_text(s)),
        ("vs. previous period", _previous_text(prev)),
        ("requests", num(s["requests"])),
        (
            "input tokens",
            f"{num(t['input_uncached'])} uncached, {num(t['cache_read'])} cache "
            f"read, {num(t['cache_write'])} cache write",
        ),
        ("output tokens", f"{num(t['output'])} ({num(t['reasoning'])} reasoning)"),
        ("priced", f"{pct(s['priced_token_share'])} of tokens"),
    ]
    if s["unpriced_models"]:
        names = ", ".join(f"{m['model']} ({num(m['requests'])} req)" for m in s["unpriced_models"])
        rows.append(("unpriced", f"{names}; see llmaudit pricing explain MODEL"))
    rows.append(("spend with a feature", pct(s["feature_spend_share"])))
    rows.append(("spend with a user", pct(s["user_spend_share"])))
    return [
        Table(
            "Summary",
            [Column("", "k"), Column("", "v")],
            [{"k": k, "v": v} for k, v in rows],
            show_header=False,
        )
    ]


def _spend(s: dict[str, Any], report: dict[str, Any]) -> list[Table]:
    rows = [*s["rows"], *([s["other"]] if s["other"] else [])]
    cols = [Column(d, d) for d in s["by"]]  # the dimension names are the CSV headers
    cols += [
        Column("spend", "cost_usd", "right", money, fmt_none=True),
        Column("share", "share", "right", pct),
        Column("requests", "requests", "right", num, 2),
        Column("$/1k req", "cost_per_1k_requests_usd", "right", money, 3),
        Column("unpriced req", "unpriced_requests", "right", num, 4),
    ]
    flat = [{**r, **dict(zip(s["by"], r["key"], strict=True))} for r in rows]
    return [Table(f"Spend by {' x '.join(s['by'])}", cols, flat)]


def _models(s: dict[str, Any], report: dict[str, Any]) -> list[Table]:
    cols = [
        Column("model", "model"),
        Column("provider", "provider", priority=1),
        Column("spend", "cost_usd", "right", money, fmt_none=True),
        Column("share", "share", "right", pct),
        Column("requests", "requests", "right", num, 3),
        Column("$/1k req", "cost_per_1k_requests_usd", "right", money, 2),
        Column("in/req", "mean_input_tokens", "right", lambda v: f"{v:,.0f}", 4),
        Column("out/req", "mean_output_tokens", "right", lambda v: f"{v:,.0f}", 4),
        Column("out/in", "output_input_ratio", "right", ratio, 5),
    ]
    return [Table("Models", cols, s["rows"])]


def _ratios(s: dict[str, Any], report: dict[str, Any]) -> list[Table]:
    rows = [{**r, "flag": ", ".join(r["flags"])} for r in s["rows"]]
    cols = [
        Column("feature", "feature"),
        Column("model", "model"),
        Column("out/in", "output_input_ratio", "right", ratio),
        Column(
            "in/req 1st half", "input_per_request_first_half", "right", lambda v: f"{v:,.0f}", 3
        ),
        Column(
            "in/req 2nd half", "input_per_request_second_half", "right", lambda v: f"{v:,.0f}", 3
        ),
        Column("change", "input_per_request_change", "right", signed_pct),
        Column("flag", "flag"),
    ]
    return [Table("Token ratios", cols, rows)]


def _cache(s: dict[str, Any], report: dict[str, Any]) -> list[Table]:
    o = s["overall"]
    cols = [
        Column("", "name"),
        Column("hit (tokens)", "token_hit_rate", "right", pct),
        Column("hit (req)", "request_hit_rate", "right", pct, 3),
        Column("read saving", "read_saving_usd", "right", usd, 2),
        Column("write premium", "write_premium_usd", "right", usd, 2),
        Column("net saving", "net_saving_usd", "right", usd),
    ]
    rows = [{"name": "all", **o}]
    rows += [{"name": f"model {r['model']}", **r} for r in s["by_model"]]
    rows += [{"name": f"feature {r['feature']}", **r} for r in s["by_feature"]]
    out = [Table("Caching (saving = cache reads net of cache-write premium)", cols, rows)]
    if s["writes_cost_more_than_reads_save"]:
        losing = [
            {"name": f"{r['feature']} on {r['model']}", **r}
            for r in s["writes_cost_more_than_reads_save"]
        ]
        out.append(Table("Cache writes that cost more than the reads save", cols, losing))
    return out


def _latency(s: dict[str, Any], report: dict[str, Any]) -> list[Table]:
    cols = [
        Column("model", "model"),
        Column("TTFT p50", "ttft_p50_ms", "right", ms),
        Column("TTFT p95", "ttft_p95_ms", "right", ms),
        Column("total p50", "latency_p50_ms", "right", ms, 2),
        Column("total p95", "latency_p95_ms", "right", ms, 2),
        Column("ITL p50", "itl_p50_ms", "right", lambda v: f"{v:,.1f}", 3),
        Column("ITL p95", "itl_p95_ms", "right", lambda v: f"{v:,.1f}", 3),
    ]
    waste = Table(
        "Failed and abandoned requests",
        [
            Column("", "k"),
            Column("requests", "requests", "right", num),
            Column("spend", "cost_usd", "right", usd),
        ],
        [{"k": "failed", **s["failed"]}, {"k": "abandoned", **s["abandoned"]}],
    )
    how = {
        "sample": f" from every {s.get('sampled_every')}th request",
        "sketch": ", within 1% (daily histograms)",
    }.get(s.get("method", "exact"), "")
    return [Table(f"Latency (ms){how}", cols, s["by_model"]), waste]


def _trend(s: dict[str, Any], report: dict[str, Any]) -> list[Table]:
    top = max((r["cost_usd"] for r in s["rows"]), default=Decimal(0))
    rows = [
        {**r, "bar": bar(r["cost_usd"], top), "note": "◀ spike" if r["spike"] else ""}
        for r in s["rows"]
    ]
    cols = [
        Column(s["bucket"], "bucket"),
        Column("spend", "cost_usd", "right", usd),
        Column("", "bar", fmt=str, csv=False),
        Column("", "note", priority=2, csv=False),
        Column("requests", "requests", "right", num, 1),
        Column("spike", "spike", screen=False),
    ]
    out = [Table(f"Spend per {s['bucket']} ({s['tz']})", cols, rows)]
    if s["migrations"]:
        out.append(
            Table(
                "Spend moving between models (first vs. last quarter of the period)",
                [
                    Column("model", "model"),
                    Column("share before", "share_first", "right", pct),
                    Column("share after", "share_last", "right", pct),
                    Column("change", "change", "right", lambda v: f"{v * 100:+.1f} pts"),
                ],
                s["migrations"],
            )
        )
    return out


SECTION_TABLES = {
    "summary": _summary,
    "spend": _spend,
    "models": _models,
    "ratios": _ratios,
    "cache": _cache,
    "latency": _latency,
    "trend": _trend,
}


def long_rows(report: dict[str, Any]) -> Table:
    """Every figure of a full report as section/item/metric/value rows (one CSV header)."""
    rows: list[dict[str, Any]] = []

    def walk(section: str, item: str, data: Any, prefix: str = "") -> None:
        if isinstance(data, dict):
            for k, v in data.items():
                walk(
                    section,
                    item,
                    v,
                    f"{prefix}{k}." if isinstance(v, (dict, list)) else f"{prefix}{k}",
                )
                if not isinstance(v, (dict, list)):
                    rows.append(
                        {"section": section, "item": item, "metric": f"{prefix}{k}", "value": v}
                    )
        elif isinstance(data, list):
            for i, v in enumerate(data):
                label = _item_label(v, i)
                walk(section, f"{item}/{label}" if item else label, v, prefix)

    for name, data in report["sections"].items():
        walk(name, "", data)
    return Table(
        None,
        [
            Column("section", "section"),
            Column("item", "item"),
            Column("metric", "metric"),
            Column("value", "value"),
        ],
        rows,
    )


def _item_label(v: Any, i: int) -> str:
    if isinstance(v, dict):
        for key in ("key", "model", "feature", "bucket"):
            if key in v:
                value = v[key]
                return "|".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(i)
