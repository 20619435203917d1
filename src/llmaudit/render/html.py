"""`llmaudit report --format html`: one self-contained page a person can mail to finance.

No script, no network, no web font: inline CSS and server-drawn SVG charts. Every figure comes
from the same report data as ``--format json`` and is formatted by the same money function;
the headline figures carry ``data-figure`` attributes so that a test (or a person) can find
them.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from llmaudit.model.money import ZERO, usd
from llmaudit.render import window_text

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#9c755f",
)
OTHER_COLOUR = "#bab0ac"
STACKED_MODELS = 7  # models drawn apart in the daily chart; the rest is "other"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
margin:0;background:#f6f8fa}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.muted{color:#59636e}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:12px 16px;min-width:150px}
.card b{display:block;font-size:22px}
section{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:4px 16px 16px;
margin:16px 0}
table{border-collapse:collapse;width:100%;margin-top:8px}
th,td{padding:4px 8px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.legend span{display:inline-block;margin:0 12px 4px 0}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}
.warn{color:#9a6700}.bad{color:#cf222e}
svg text{font:11px system-ui,sans-serif;fill:#59636e}
"""


def report_html(report: dict[str, Any], extras: dict[str, Any], version: str) -> str:
    """The page. ``extras`` holds what the page shows beside the report's own sections:
    ``spend_by`` (dimension -> a spend section) and ``anomalies`` (a list of findings)."""
    window = report["window"]
    sections = report["sections"]
    title = "LLM cost report"
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{escape(title)}, {escape(window_text(window))}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted" data-figure="window">{escape(window_text(window))}. '
        f"Made by llmaudit {escape(version)} from its ledger, at list prices.</p>",
    ]
    parts += _cards(sections)
    if "trend" in sections:
        parts += _daily_chart(sections["trend"])
    spend_by = extras.get("spend_by") or {}
    if spend_by:
        parts.append("<section><h2>Where the money goes</h2><div class='grid'>")
        for dim, sect in spend_by.items():
            parts += _share_chart(dim, sect)
        parts.append("</div></section>")
    if "models" in sections:
        parts += _models(sections["models"])
    if "cache" in sections:
        parts += _cache(sections["cache"])
    if "latency" in sections:
        parts += _latency(sections["latency"])
    parts += _anomalies(extras.get("anomalies"))
    parts += _unpriced(sections.get("summary"))
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _figure(name: str, text: str) -> str:
    return f'<b data-figure="{escape(name)}">{escape(text)}</b>'


def _cards(sections: dict[str, Any]) -> list[str]:
    s = sections.get("summary")
    if not s:
        return []
    cards = [
        ("Spend", _figure("spend_usd", usd(s["spend_usd"]))),
        ("Requests", _figure("requests", f"{s['requests']:,}")),
        (
            "Priced tokens",
            _figure(
                "priced_token_share",
                "-" if s["priced_token_share"] is None else f"{s['priced_token_share']:.1%}",
            ),
        ),
        ("Unpriced requests", _figure("unpriced_requests", f"{s['unpriced_requests']:,}")),
    ]
    cache = sections.get("cache", {}).get("overall")
    if cache:
        cards.append(("Cache, net", _figure("cache_net_saving_usd", usd(cache["net_saving_usd"]))))
    prev = s.get("previous") or {}
    if prev.get("partial"):
        note = "the previous period is only partly in the ledger"
    elif prev.get("change") is not None:
        note = f"{prev['change']:+.1%} on the previous period ({usd(prev['spend_usd'])})"
    else:
        note = "no previous period in the ledger"
    out = ["<div class='cards'>"]
    out += [f"<div class='card'><span class='muted'>{t}</span>{v}</div>" for t, v in cards]
    out.append(f"</div><p class='muted' data-figure='previous'>{escape(note)}</p>")
    return out


def _colours(names: list[str]) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def _daily_chart(trend: dict[str, Any]) -> list[str]:
    rows = trend["rows"]
    totals: dict[str, Decimal] = {}
    for r in rows:
        for model, cost in r["by_model"].items():
            totals[model] = totals.get(model, ZERO) + Decimal(cost)
    ranked = sorted(totals, key=lambda m: (-totals[m], m))
    shown = ranked[:STACKED_MODELS]
    colours = {**_colours(shown), "other": OTHER_COLOUR}
    top = max((Decimal(r["cost_usd"]) for r in rows), default=ZERO) or Decimal(1)
    width, height, pad = 1000, 240, 40
    step = (width - pad) / max(len(rows), 1)
    bar = max(step * 0.8, 1)
    svg = [
        f'<svg viewBox="0 0 {width} {height + 30}" width="100%" role="img" '
        f'aria-label="Spend per {escape(trend["bucket"])} by model">',
        f'<text x="0" y="12">{escape(usd(top))}</text>',
        f'<line x1="{pad}" y1="{height}" x2="{width}" y2="{height}" stroke="#d1d9e0"/>',
    ]
    for i, r in enumerate(rows):
        x = pad + i * step
        y = float(height)
        parts = [(m, Decimal(c)) for m, c in r["by_model"].items() if m in shown]
        other = sum((Decimal(c) for m, c in r["by_model"].items() if m not in shown), ZERO)
        parts.sort(key=lambda p: shown.index(p[0]))
        if other:
            parts.append(("other", other))
        for model, cost in parts:
            h = float(cost / top) * (height - 20)
            y -= h
            svg.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colours[model]}"><title>{escape(r["bucket"])} {escape(model)}: '
                f"{escape(usd(cost))}</title></rect>"
            )
        if i % max(1, len(rows) // 8) == 0:
            svg.append(f'<text x="{x:.1f}" y="{height + 16}">{escape(r["bucket"][5:])}</text>')
    svg.append("</svg>")
    legend = "".join(
        f"<span><i style='background:{colours[m]}'></i>{escape(m)}</span>"
        for m in [*shown, *(["other"] if len(ranked) > len(shown) else [])]
    )
    return [
        f"<section><h2>Spend per {escape(trend['bucket'])} by model ({escape(trend['tz'])})</h2>",
        *svg,
        f"<div class='legend'>{legend}</div></section>",
    ]


def _share_chart(dim: str, sect: dict[str, Any]) -> list[str]:
    rows = sect["rows"]
    out = [f"<div><h3>By {escape(dim)}</h3><table><tr><th>{escape(dim)}</th>"]
    out.append("<th class='n'>spend</th><th class='n'>share</th><th></th></tr>")
    for r in rows:
        key = " / ".join("(unset)" if k is None else str(k) for k in r["key"])
        share = r.get("share") or 0
        out.append(
            f"<tr><td>{escape(key)}</td><td class='n'>{escape(usd(r['cost_usd']))}</td>"
            f"<td class='n'>{share:.1%}</td><td style='width:35%'><svg viewBox='0 0 100 8' "
            f"width='100%' height='8'><rect width='{max(share * 100, 0.5):.1f}' height='8' "
            f"fill='{PALETTE[0]}'/></svg></td></tr>"
        )
    out.append(
        f"<tr><th>total</th><th class='n' data-figure='spend_by_{escape(dim)}_usd'>"
        f"{escape(usd(sect['total_usd']))}</th><th></th><th></th></tr></table></div>"
    )
    return out


def _table(headers: list[tuple[str, bool]], rows: list[list[str]]) -> str:
    head = "".join(f"<th{' class=n' if n else ''}>{escape(h)}</th>" for h, n in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if headers[i][1] else ''}>{escape(c)}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _models(sect: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["model"],
            r.get("provider") or "",
            usd(r["cost_usd"]) if r["priced"] else "unpriced",
            f"{r['share']:.1%}" if r.get("share") is not None else "-",
            f"{r['requests']:,}",
            usd(r["cost_per_1k_requests_usd"]) if r.get("cost_per_1k_requests_usd") else "-",
        ]
        for r in sect["rows"]
    ]
    headers = [
        ("model", False),
        ("provider", False),
        ("spend", True),
        ("share", True),
        ("requests", True),
        ("$ per 1k requests", True),
    ]
    return ["<section><h2>Models</h2>", _table(headers, rows), "</section>"]


def _cache(sect: dict[str, Any]) -> list[str]:
    rows = [
        [
            r.get("model", "all models"),
            f"{r['token_hit_rate']:.1%}" if r.get("token_hit_rate") is not None else "-",
            usd(r["read_saving_usd"]),
            usd(r["write_premium_usd"]),
            usd(r["net_saving_usd"]),
        ]
        for r in [sect["overall"], *sect.get("by_model", [])]
    ]
    headers = [
        ("model", False),
        ("token hit rate", True),
        ("saved by reads", True),
        ("paid for writes", True),
        ("net", True),
    ]
    return [
        "<section><h2>Cache: savings and losses</h2>",
        "<p class='muted'>What cache reads saved against plain input, what cache writes cost "
        "over it, and the difference.</p>",
        _table(headers, rows),
        "</section>",
    ]


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _latency(sect: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["model"],
            f"{r['requests']:,}",
            _ms(r.get("ttft_p50_ms")),
            _ms(r.get("ttft_p95_ms")),
            _ms(r.get("latency_p50_ms")),
            _ms(r.get("latency_p95_ms")),
        ]
        for r in sect.get("by_model", [])
    ]
    if not rows:
        return []
    headers = [
        ("model", False),
        ("timed requests", True),
        ("first token p50 (ms)", True),
        ("p95", True),
        ("whole request p50 (ms)", True),
        ("p95", True),
    ]
    return ["<section><h2>Latency</h2>", _table(headers, rows), "</section>"]


def _anomalies(found: list[str] | None) -> list[str]:
    if found is None:
        return []
    if not found:
        items = "<p class='muted'>No anomaly in the last hour of the data.</p>"
    else:
        items = "<ul>" + "".join(f"<li class='bad'>{escape(a)}</li>" for a in found) + "</ul>"
    return ["<section><h2>Anomalies</h2>", items, "</section>"]


def _unpriced(summary: dict[str, Any] | None) -> list[str]:
    if not summary:
        return []
    models = summary.get("unpriced_models") or []
    share = summary.get("priced_token_share")
    text = (
        "Every token was priced."
        if not models
        else f"{1 - (share or 0):.1%} of the tokens have no price; their spend is not in the "
        "totals above:"
    )
    rows = [[m["model"], f"{m['requests']:,}", f"{m['tokens']:,}"] for m in models]
    out = ["<section><h2>Unpriced</h2>", f"<p class='warn'>{escape(text)}</p>"]
    if rows:
        out.append(_table([("model", False), ("requests", True), ("tokens", True)], rows))
    out.append("</section>")
    return out
