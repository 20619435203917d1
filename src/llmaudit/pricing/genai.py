"""genai-prices' data (its JSON ``data.json``, its YAML, or its package's objects once turned
into plain dicts) -> entries of pricing.toml's schema.

Used by ``llmaudit pricing update`` and by scripts/build_pricing.py. genai-prices
(pydantic/genai-prices) is MIT licensed; its prices are facts with their sources.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from llmaudit.pricing.table import ROUTE_PROVIDERS

# genai-prices provider id -> llmaudit's provider id (the rest keep genai-prices' id)
PROVIDER_IDS = {"x-ai": "xai", "x_ai": "xai", "aws": "bedrock", "google-vertex": "google"}
ROUTES = ROUTE_PROVIDERS

FIELDS = {
    "input_mtok": "input",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_mtok": "output",
    "output_reasoning_mtok": "reasoning",
}
# Names for genai-prices' "contains" rules that llmaudit does carry over, as exact aliases:
# OpenAI's moderation models (all free, per genai-prices' "moderation" entry; the omni names
# are in LiteLLM's table, the text-moderation names in OpenAI's moderation guide).
CONTAINS_NAMES = {
    "moderation": [
        "omni-moderation-latest",
        "omni-moderation-2024-09-26",
        "text-moderation-latest",
        "text-moderation-stable",
        "text-moderation-007",
    ],
}


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def match_rules(
    match: dict[str, Any], aliases: list[str], prefixes: list[str], skipped: list[str]
) -> None:
    """genai-prices' match clauses -> exact aliases. Only "equals" (and the listed "contains"
    names) carry over: llmaudit matches exact names, listed aliases and dated snapshots of
    them, never a prefix or a substring (a prefix rule priced models that did not exist yet)."""
    if "equals" in match:
        aliases.append(str(match["equals"]).lower())
    elif "starts_with" in match:
        # the starting name itself is an exact alias when it is a whole name (not a cut-off
        # one such as "claude-sonnet-4-2025" or "magistral-small-"); dated snapshots of it
        # match it already
        start = str(match["starts_with"]).lower()
        if start[-1:] not in "-_.:@" and not re.search(r"-\d{4,6}$", start):
            aliases.append(start)
            skipped.append(f"starts_with {match['starts_with']!r} (kept as an exact alias)")
        else:
            skipped.append(f"starts_with {match['starts_with']!r}")
    elif "or" in match:
        for sub in match["or"]:
            match_rules(sub, aliases, prefixes, skipped)
    elif "contains" in match and str(match["contains"]) in CONTAINS_NAMES:
        aliases.extend(CONTAINS_NAMES[str(match["contains"])])
    elif "contains" in match:
        # "contains" is too loose for llmaudit (it would match unrelated names); llmaudit strips
        # provider prefixes and Bedrock/Vertex decorations instead, so the id usually suffices.
        skipped.append(f"contains {match['contains']!r}")
    else:
        skipped.append(f"rule {json.dumps(match, default=str)}")


SKIPPED_TIERS: list[str] = []


def convert_prices(raw: dict[str, Any], where: str) -> dict[str, Any]:
    if not raw:  # genai-prices writes free models (Gemma on the Gemini API, ":free") as {}
        return {"input": Decimal(0), "output": Decimal(0)}
    period: dict[str, Any] = {}
    long_context: dict[str, Any] = {}
    threshold: int | None = None
    for key, value in raw.items():
        if key == "web_searches_kcount":
            period["web_search_per_1k"] = dec(value)
            continue
        if key == "requests_kcount":
            period["per_request"] = dec(value) / 1000
            continue
        name = FIELDS.get(key)
        if name is None:
            continue  # audio / image / video token prices: not a category llmaudit records
        if isinstance(value, dict):
            period[name] = dec(value["base"])
            tier = value["tiers"][0]
            if len(value["tiers"]) > 1 or threshold not in (None, tier["start"]):
                # llmaudit keeps one whole-request threshold a period
                SKIPPED_TIERS.append(f"{where}: {key}: tiers {value['tiers']}; kept the first")
                if threshold not in (None, tier["start"]):
                    continue
            threshold = int(tier["start"])
            long_context[name] = dec(tier["price"])
        else:
            period[name] = dec(value)
    if long_context:
        period["long_context"] = {"above": threshold, **long_context}
    return period


def convert_model(
    provider: str, model: dict[str, Any], source: str, log: list[str]
) -> dict[str, Any]:
    mid = str(model["id"])
    aliases: list[str] = []
    prefixes: list[str] = []
    skipped: list[str] = []
    match_rules(model.get("match", {}), aliases, prefixes, skipped)
    if skipped:
        log.append(f"{provider}/{mid}: match rules not carried over: {', '.join(skipped)}")
    raw = model["prices"]
    blocks = raw if isinstance(raw, list) else [{"prices": raw}]
    # genai-prices: the last block whose constraint holds wins. Blocks without a constraint or
    # with a start date make llmaudit's dated periods; time-of-day blocks (DeepSeek's peak and
    # off-peak hours) become windows that apply in every period.
    dated = [b for b in blocks if "start_time" not in b.get("constraint", {})]
    timed = [b for b in blocks if "start_time" in b.get("constraint", {})]
    if timed and blocks.index(timed[0]) < len(dated):
        log.append(f"{provider}/{mid}: a dated price after a time-of-day one; windows kept last")
    for block in dated:  # data.json gives dates as text, the YAML and the package as dates
        constraint = block.get("constraint") or {}
        if isinstance(constraint.get("start_date"), str):
            block["constraint"] = {
                **constraint,
                "start_date": dt.date.fromisoformat(constraint["start_date"][:10]),
            }
    dated.sort(key=lambda b: b.get("constraint", {}).get("start_date") or dt.date.min)
    windows = []
    for block in timed:
        c = block["constraint"]
        window = {
            "from": _clock(c["start_time"]),
            "until": _clock(c["end_time"]),
            **{
                k: v
                for k, v in convert_prices(block["prices"], f"{provider}/{mid}").items()
                if k in ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
            },
        }
        windows.append(window)
    periods = []
    for i, block in enumerate(dated):
        period = convert_prices(block["prices"], f"{provider}/{mid}")
        start = block.get("constraint", {}).get("start_date")
        if start:
            period["from"] = start
        if i + 1 < len(dated):
            nxt = dated[i + 1].get("constraint", {}).get("start_date")
            if nxt:
                period["until"] = nxt
        if windows:
            period["time_of_day"] = windows
        periods.append(period)
    aliases = sorted({a for a in aliases if a and a != mid.lower()})
    entry = {
        "id": f"{provider}/{mid}" if provider in ROUTES else mid,
        "provider": provider,
        "name": model.get("name") or mid,
        "aliases": aliases,
        "prefixes": [],
        "source": source,
        "prices": periods,
    }
    if model.get("prices_checked"):
        entry["checked"] = model["prices_checked"]
    if model.get("removed") or model.get("deprecated"):
        entry["retired"] = True
    if not any(k in p for p in periods for k in ("input", "output")):
        # billed by characters, images, audio or time: never priced as text
        keys = {k for block in blocks for k in (block.get("prices") or {})}
        entry["unit"] = "priced per unit (" + ", ".join(sorted(_unit_names(keys))) + ")"
        entry["prices"] = []
    return entry


def _clock(value: Any) -> str:
    """A genai-prices time of day (a time, or "HH:MM:SS" text) -> "HH:MM" UTC."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:5]


def _unit_names(keys: set[str]) -> set[str]:
    out = set()
    for key in keys:
        if "char" in key:
            out.add("characters")
        elif "image" in key:
            out.add("images")
        elif "audio" in key:
            out.add("audio")
        elif "second" in key or "minute" in key:
            out.add("time")
        elif key.startswith("requests"):
            out.add("requests")
        else:
            out.add(key)
    return out or {"not tokens"}


def keep(provider: str, model_id: str) -> bool:
    """From google only Gemini and Gemma: its Claude entries are Vertex copies of Anthropic's
    prices, which llmaudit reaches by stripping the vertex_ai/ prefix and @date suffix."""
    return provider != "google" or model_id.startswith(("gemini", "gemma"))


def provider_id(genai_id: str) -> str:
    return PROVIDER_IDS.get(genai_id, genai_id)


def convert_data(data: Any, log: list[str]) -> list[dict[str, Any]]:
    """genai-prices' ``data.json`` (a list of providers, each with its models) -> entries."""
    if not isinstance(data, list):
        raise ValueError("not genai-prices data: expected a list of providers")
    out = []
    for provider in data:
        if not isinstance(provider, dict) or not isinstance(provider.get("models"), list):
            raise ValueError("not genai-prices data: a provider without a list of models")
        pid = provider_id(str(provider.get("id")))
        urls = provider.get("pricing_urls") or [None]
        for model in provider["models"]:
            if keep(pid, str(model.get("id"))):
                out.append(convert_model(pid, model, urls[0], log))
    return out
