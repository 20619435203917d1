#!/usr/bin/env python3
"""Build pricing.toml from genai-prices' data and a LiteLLM price snapshot.

    python scripts/build_pricing.py --genai-prices-package --litellm FILE [-o pricing.toml]
    python scripts/build_pricing.py --genai-prices DIR --litellm FILE [-o pricing.toml]

The first reads the data that the installed genai-prices package ships (`pip install
genai-prices` in the build environment: the newest release's data); the second reads a folder
of its provider YAML.

genai-prices (pydantic/genai-prices, MIT) gives the models, their match rules, price history
(dated periods) and long-context tiers; LiteLLM's table (BerriAI/litellm, MIT) adds explicit
flex / priority / batch prices where it has them. The REVIEW section below records every
correction made by hand, with its source. The output is a starting point: pricing.toml is the
project's file and is reviewed like code (`llmaudit pricing check` must pass).

Needs PyYAML (a development tool only; llmaudit itself does not depend on it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from decimal import Decimal
from pathlib import Path

import yaml

from llmaudit.pricing.genai import (  # the conversion both the builder and `pricing update` use
    SKIPPED_TIERS,
    convert_model,
    dec,
    keep,
)
from llmaudit.pricing.writer import dumps_table

# genai-prices provider -> (llmaudit provider id, display name, batch multiplier or None)
PROVIDERS = {
    "openai": ("openai", "OpenAI", "0.5"),
    "anthropic": ("anthropic", "Anthropic", "0.5"),
    "google": ("google", "Google", "0.5"),
    "mistral": ("mistral", "Mistral", "0.5"),
    "deepseek": ("deepseek", "DeepSeek", None),
    "x_ai": ("xai", "xAI", None),
    "cohere": ("cohere", "Cohere", None),
    "aws": ("bedrock", "AWS Bedrock", "0.5"),
    "azure": ("azure", "Azure OpenAI", "0.5"),
    "groq": ("groq", "Groq", None),
    "together": ("together", "Together AI", None),
    "fireworks": ("fireworks", "Fireworks AI", None),
    "openrouter": ("openrouter", "OpenRouter", None),
}
# genai-prices' package ids where they differ from its file names
PACKAGE_IDS = {"x_ai": "x-ai"}
# Routes: hosts that serve models under their own prices. Their entries are "ROUTE/MODEL" and
# price only requests that came through that route (docs/pricing.md, "Routes").
ROUTES = {"bedrock", "azure", "groq", "together", "fireworks", "openrouter", "workers-ai"}
BATCH_SOURCES = {
    "openai": "https://platform.openai.com/docs/guides/batch (50% off)",
    "anthropic": (
        "https://docs.anthropic.com/en/docs/build-with-claude/batch-processing#pricing (50% off)"
    ),
    "google": "https://ai.google.dev/gemini-api/docs/batch-mode (50% of the standard price)",
    "mistral": "https://docs.mistral.ai/capabilities/batch/ (50% off)",
    "bedrock": "https://aws.amazon.com/bedrock/pricing/ (batch at 50% of on-demand)",
}
# From google only Gemini and Gemma (genai.keep says why)
KEEP = {"google": lambda mid: keep("google", mid)}
LITELLM_PREFIX = {
    "openai": [""],
    "anthropic": [""],
    "google": ["gemini/", ""],
    "mistral": ["mistral/"],
    "deepseek": ["deepseek/"],
    "xai": ["xai/"],
    "cohere": ["", "cohere_chat/"],
    "bedrock": [""],
}

# -- REVIEW: corrections made by hand, each with its source ------------------------------------
GPT4O_SOURCE = "https://platform.openai.com/docs/pricing"
# Anthropic's long-context price for Sonnet 4 with the 1M-token window: a request over 200K
# input tokens is priced whole at $6 / $22.50 (cache read $0.60, writes $7.50 / $12), as for
# Sonnet 4.5. Source: https://docs.anthropic.com/en/docs/about-claude/pricing#long-context-pricing
SONNET_4_LONG_CONTEXT = {
    "above": 200_000,
    "input": Decimal("6"),
    "cache_read": Decimal("0.6"),
    "cache_write_5m": Decimal("7.5"),
    "cache_write_1h": Decimal("12"),
    "output": Decimal("22.5"),
}


# Cloudflare Workers AI bills neurons, $0.011 per 1,000, and states each model's neurons per
# million tokens. llmaudit prices a token at its neurons' price, the unit Cloudflare bills
# (the page's rounded $/M figures agree to a tenth of a cent). The free 10,000 neurons a day
# are not subtracted. Source: https://developers.cloudflare.com/workers-ai/platform/pricing/
WORKERS_AI_SOURCE = "https://developers.cloudflare.com/workers-ai/platform/pricing/"
NEURON_PRICE = Decimal("0.011") / 1000
WORKERS_AI = {  # model: (neurons per M input tokens, neurons per M output tokens or None)
    "@cf/meta/llama-3.2-1b-instruct": (2457, 18252),
    "@cf/meta/llama-3.2-3b-instruct": (4625, 30475),
    "@cf/meta/llama-3.1-8b-instruct-fp8-fast": (4119, 34868),
    "@cf/meta/llama-3.2-11b-vision-instruct": (4410, 61493),
    "@cf/meta/llama-3.1-70b-instruct-fp8-fast": (26668, 204805),
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast": (26668, 204805),
    "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b": (45170, 443756),
    "@cf/mistral/mistral-7b-instruct-v0.1": (10000, 17300),
    "@cf/meta/llama-3.1-8b-instruct": (25608, 75147),
    "@cf/meta/llama-3.1-8b-instruct-fp8": (13778, 26128),
    "@cf/meta/llama-3.1-8b-instruct-awq": (11161, 24215),
    "@cf/meta/llama-3-8b-instruct": (25608, 75147),
    "@cf/meta/llama-3-8b-instruct-awq": (11161, 24215),
    "@cf/meta/llama-2-7b-chat-fp16": (50505, 606061),
    "@cf/huggingface/distilbert-sst-2-int8": (2394, None),
    "@cf/baai/bge-small-en-v1.5": (1841, None),
    "@cf/baai/bge-base-en-v1.5": (6058, None),
    "@cf/baai/bge-large-en-v1.5": (18582, None),
    "@cf/meta/m2m100-1.2b": (31050, 31050),
}


AZURE_SOURCE = (
    "https://azure.microsoft.com/pricing/details/cognitive-services/openai-service/ "
    "(as LiteLLM's table gives it)"
)


def azure_from_litellm(table: dict, have: set[str], log: list[str]) -> list[dict]:
    """Azure OpenAI's own prices for the models genai-prices' azure list lacks (gpt-4o,
    gpt-4.1, gpt-5 ...), from LiteLLM's ``azure/MODEL`` rows: Global Standard deployments.
    Data-zone rows (``azure/eu/...``, ``azure/us/...``) are left out: logs name the deployment's
    model, not its zone."""
    from llmaudit.pricing import litellm as litellm_table

    rows = {
        key: row
        for key, row in table.items()
        if key.startswith("azure/")
        and key.count("/") == 1
        and key.lower() not in have
        and isinstance(row, dict)
        and row.get("litellm_provider") == "azure"
    }
    out = litellm_table.convert(rows, source=AZURE_SOURCE)
    for entry in out:
        entry["name"] = entry["id"].removeprefix("azure/")
        entry.setdefault("aliases", [])
    log.append(f"azure: {len(out)} models from LiteLLM's table")
    return out


def workers_ai_models() -> list[dict]:
    out = []
    for model, (inp, outp) in WORKERS_AI.items():
        period = {"input": (inp * NEURON_PRICE).normalize()}
        if outp is not None:
            period["output"] = (outp * NEURON_PRICE).normalize()
        out.append(
            {
                "id": f"workers-ai/{model}",
                "provider": "workers-ai",
                "name": model,
                "aliases": [],
                "source": WORKERS_AI_SOURCE,
                "notes": f"{inp:,} neurons per M input tokens"
                + (f", {outp:,} per M output tokens" if outp is not None else "")
                + " at $0.011 per 1,000 neurons; the free 10,000 neurons a day not subtracted.",
                "prices": [period],
            }
        )
    return out


REVIEW_NOTES = {
    "gpt-4o": (
        "The gpt-4o alias pointed to gpt-4o-2024-05-13 ($5/$15) until 2024-10-02, then to "
        "gpt-4o-2024-08-06 ($2.50/$10). Prompt caching (cached input $1.25) started 2024-10-01. "
        "Source: OpenAI pricing page and models page (alias update of 2024-10-02)."
    ),
    "deepseek-chat": (
        "DeepSeek's off-peak discount (16:30-00:30 UTC, until 2025-09-05) is not modelled: "
        "off-peak requests of that time are priced at the standard rate."
    ),
    "deepseek-reasoner": (
        "DeepSeek's off-peak discount (16:30-00:30 UTC, until 2025-09-05) is not modelled: "
        "off-peak requests of that time are priced at the standard rate."
    ),
}


def review(models: list[dict]) -> list[dict]:
    by_id = {m["id"]: m for m in models}
    for period in by_id["claude-sonnet-4-0"]["prices"]:
        period.setdefault("long_context", dict(SONNET_4_LONG_CONTEXT))
    gpt4o = by_id["gpt-4o"]
    current = gpt4o["prices"][-1]
    # The dated snapshots have their own history: gpt-4o-2024-08-06 and -11-20 were never
    # priced at the $5/$15 that the gpt-4o alias meant before 2024-10-02.
    for snapshot in ("gpt-4o-2024-08-06", "gpt-4o-2024-11-20"):
        if snapshot in gpt4o["aliases"] and snapshot not in by_id:
            models.append(
                {
                    **gpt4o,
                    "id": snapshot,
                    "name": f"GPT-4o ({snapshot[7:]} snapshot)",
                    "aliases": [],
                    "prices": [dict(current)],
                    "source": GPT4O_SOURCE,
                }
            )
    gpt4o["aliases"] = [
        a
        for a in gpt4o["aliases"]
        if a not in ("gpt-4o-2024-05-13", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20")
    ]
    gpt4o["prices"] = [
        {"until": dt.date(2024, 10, 2), "input": Decimal("5"), "output": Decimal("15")},
        {**current, "from": dt.date(2024, 10, 2)},
    ]
    gpt4o["source"] = GPT4O_SOURCE
    if "gpt-4o-2024-05-13" in by_id:
        return _notes(models, by_id)
    models.append(
        {
            "id": "gpt-4o-2024-05-13",
            "provider": "openai",
            "name": "GPT-4o (2024-05-13 snapshot)",
            "aliases": [],
            "prefixes": [],
            "source": GPT4O_SOURCE,
            "notes": (
                "The first GPT-4o snapshot kept its launch price and has no cached-input price "
                "(LiteLLM 1.110.2 snapshot; OpenAI pricing page). Not re-checked online."
            ),
            "prices": [
                {
                    "input": Decimal("5"),
                    "output": Decimal("15"),
                    "priority": {"input": Decimal("8.75"), "output": Decimal("26.25")},
                }
            ],
        }
    )
    return _notes(models, by_id)


def _notes(models: list[dict], by_id: dict[str, dict]) -> list[dict]:
    for mid, note in REVIEW_NOTES.items():
        if mid in by_id:
            by_id[mid]["notes"] = note
    return models


# -- conversion ---------------------------------------------------------------------------------
def enrich_from_litellm(entry: dict, table: dict, batch_default: str | None) -> None:
    """Explicit flex / priority (and non-50% batch) prices for the current period."""
    names = [entry["id"], *entry["aliases"]]
    row = None
    for prefix in LITELLM_PREFIX.get(entry["provider"], [""]):
        for name in names:
            row = table.get(prefix + name)
            if row and row.get("input_cost_per_token") is not None:
                break
            row = None
        if row:
            break
    if not row:
        return
    if not entry["prices"]:
        return
    # LiteLLM's table is today's prices: they belong to the period in force today, never to
    # a period that starts later (nor to one that has ended)
    today = dt.date.today()
    live = [p for p in entry["prices"] if not p.get("from") or p["from"] <= today]
    live = [p for p in live if not p.get("until") or p["until"] > today]
    if not live:
        return
    current = live[-1]
    _long_context_from_litellm(entry, current, row)
    pairs = {
        "input": "input_cost_per_token",
        "cache_read": "cache_read_input_token_cost",
        "output": "output_cost_per_token",
    }
    for tier, suffix in (("flex", "_flex"), ("priority", "_priority"), ("batch", "_batches")):
        rates = {}
        for name, key in pairs.items():
            value = row.get(key + suffix)
            if value is not None:
                rates[name] = (dec(value) * 1_000_000).normalize()
        if not rates or "input" not in rates:
            continue
        if tier == "batch":
            half = batch_default and all(
                rates[k] == (current.get(k, Decimal(0)) * Decimal(batch_default)).normalize()
                for k in rates
                if current.get(k) is not None
            )
            if half:
                continue  # the provider-wide multiplier already says this
        current[tier] = rates


def _long_context_from_litellm(entry: dict, current: dict, row: dict) -> None:
    """LiteLLM's ``*_above_272k_tokens`` prices: a whole-request long-context tier, where
    genai-prices gives none (gpt-5.5 and gpt-5.5-pro above 272k input tokens)."""
    if current.get("long_context"):
        return
    keys = {
        "input": "input_cost_per_token",
        "output": "output_cost_per_token",
        "cache_read": "cache_read_input_token_cost",
        "cache_write_5m": "cache_creation_input_token_cost",
    }
    for field, key in row.items():
        m = re.fullmatch(r"input_cost_per_token_above_(\d+)k_tokens", field)
        if not m or key is None:
            continue
        suffix = f"_above_{m.group(1)}k_tokens"
        tier = {
            name: (dec(row[base + suffix]) * 1_000_000).normalize()
            for name, base in keys.items()
            if row.get(base + suffix) is not None
        }
        current["long_context"] = {"above": int(m.group(1)) * 1000, **tier}
        entry.setdefault("notes", "")
        entry["notes"] = (
            entry["notes"] + " " if entry["notes"] else ""
        ) + f"Long-context tier above {m.group(1)}k input tokens from LiteLLM's table."
        return


# -- output -------------------------------------------------------------------------------------
HEADER = (
    "llmaudit's price table: USD per million tokens unless a key says otherwise.",
    "Schema: docs/pricing.md. Built by scripts/build_pricing.py from genai-prices",
    "(pydantic/genai-prices, MIT) and LiteLLM's price table (BerriAI/litellm, MIT), then",
    "reviewed; corrections are listed in the script's REVIEW section.",
)


def _plain(value):
    """A genai-prices data object -> the dicts and lists of its YAML form."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None:
                continue
            out[f.name.rstrip("_")] = _plain(item)
        return out
    if type(value).__name__ == "ModelPrice":  # keyword-only object of price fields
        fields = vars(value).items()
        return {k: _plain(v) for k, v in fields if not k.startswith("_") and v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def package_providers() -> dict[str, dict]:
    """genai-prices' shipped data (the installed package), by provider id, as YAML dicts."""
    from genai_prices import __version__ as version
    from genai_prices import data

    out = {}
    for provider in data.providers:
        item = _plain(provider)
        item["version"] = version
        out[provider.id] = item
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--genai-prices", type=Path, help="a folder of genai-prices' YAML")
    source.add_argument(
        "--genai-prices-package",
        action="store_true",
        help="the data of the installed genai-prices package",
    )
    parser.add_argument("--litellm", type=Path, required=True)
    parser.add_argument("-o", "--output", type=Path, default=Path("pricing.toml"))
    args = parser.parse_args()
    litellm = json.loads(args.litellm.read_text())
    packaged = package_providers() if args.genai_prices_package else None
    providers: dict = {}
    models: list[dict] = []
    log: list[str] = []
    for fname, (pid, pname, batch) in PROVIDERS.items():
        if packaged is not None:
            data = packaged[PACKAGE_IDS.get(fname, fname)]
        else:
            data = yaml.safe_load((args.genai_prices / f"{fname}.yml").read_text())
        source = data["pricing_urls"][0]
        info = {"name": pname, "source": source}
        if batch:
            info["batch"] = Decimal(batch)
            info["batch_source"] = BATCH_SOURCES.get(pid, source)
        providers[pid] = info
        keep = KEEP.get(fname, lambda _mid: True)
        for model in data["models"]:
            if not keep(str(model["id"])):
                continue
            entry = convert_model(pid, model, source, log)
            if pid not in ROUTES:
                enrich_from_litellm(entry, litellm, batch)
            models.append(entry)
    azure_names = {
        f"azure/{name}"
        for m in models
        if m["provider"] == "azure"
        for name in [m["id"].removeprefix("azure/").lower(), *m["aliases"]]
    }
    models.extend(azure_from_litellm(litellm, azure_names, log))
    providers["workers-ai"] = {"name": "Cloudflare Workers AI", "source": WORKERS_AI_SOURCE}
    models.extend(workers_ai_models())
    models = review(models)
    seen: dict[tuple[str, str], str] = {}
    for model in models:
        # names are unique within a route, and among first-party entries
        scope = model["provider"] if model["provider"] in ROUTES else ""
        local = model["id"].lower().removeprefix(f"{scope}/") if scope else model["id"].lower()
        for name in [local, *model["aliases"]]:
            if (scope, name) in seen and seen[(scope, name)] != model["id"]:
                log.append(
                    f"{model['id']}: alias {name!r} already belongs to {seen[(scope, name)]}; "
                    "dropped"
                )
                model["aliases"] = [a for a in model["aliases"] if a != name]
            else:
                seen[(scope, name)] = model["id"]
    models.sort(key=lambda m: (m["provider"], m["id"]))
    args.output.write_text(dumps_table(models, providers, HEADER, dt.date.today()))
    for line in [*log, *SKIPPED_TIERS]:
        print(line, file=sys.stderr)
    print(f"wrote {len(models)} models to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
