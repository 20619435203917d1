"""Model names as sources report them -> a price entry, and why.

Tried in order, on the lower-cased name: the exact name (an entry's id or alias); the name
without routing decorations (``openai/``, ``bedrock/us-east-1/``, ``vertex_ai/``, ``models/``,
Bedrock region and vendor prefixes such as ``us.anthropic.``, version suffixes such as
``-v1:0``, Vertex ``@20240307``); the same without a snapshot suffix (``-2024-08-06``,
``-20241022``, ``-05-20``, ``-001``, ``-latest``); and finally the longest matching prefix rule.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from llmaudit.pricing.table import ModelPrice, PriceTable

_BEDROCK_REGION = re.compile(r"^(us|eu|apac|ap|global|jp|au|ca|us-gov)\.")
_BEDROCK_VENDOR = re.compile(
    r"^(anthropic|meta|mistral|cohere|amazon|ai21|deepseek|openai|qwen|writer|google)\."
)
_BEDROCK_VERSION = re.compile(r"-v\d+(:\d+)?$|:\d+$")
_SNAPSHOT = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{2}-\d{2}|-\d{4}|-\d{3}|-latest)$")


@dataclass(frozen=True)
class Match:
    model: ModelPrice
    name: str  # the name as it was looked up
    rule: str  # why it matched, for `pricing explain`


def decorations(name: str) -> tuple[str, list[str]]:
    """Strip routing decorations; return the bare name and what was removed."""
    steps: list[str] = []
    n = name
    if "/" in n:
        bare = n.rsplit("/", 1)[1]
        steps.append(f"provider prefix '{n[: len(n) - len(bare)]}'")
        n = bare
    if "@" in n:  # Vertex AI: claude-3-5-sonnet@20240620
        base, _, version = n.partition("@")
        steps.append(f"Vertex version '@{version}'")
        n = f"{base}-{version}" if version.isdigit() else base
    m = _BEDROCK_REGION.match(n)
    if m and _BEDROCK_VENDOR.match(n[m.end() :]):
        steps.append(f"Bedrock region '{m.group(0)}'")
        n = n[m.end() :]
    m = _BEDROCK_VENDOR.match(n)
    if m:
        steps.append(f"Bedrock vendor '{m.group(0)}'")
        n = n[m.end() :]
        v = _BEDROCK_VERSION.search(n)
        if v:
            steps.append(f"Bedrock version '{v.group(0)}'")
            n = n[: v.start()]
    return n, steps


def match(table: PriceTable, reported: str) -> Match | None:
    key = reported.strip().lower()
    if key in table._match_cache:
        return table._match_cache[key]
    result = _match(table, key)
    table._match_cache[key] = result
    return result


def _lookup(table: PriceTable, name: str) -> tuple[ModelPrice, str] | None:
    hit = table.names.get(name)
    if hit is None:
        return None
    model_id, kind = hit
    return table.models[model_id], kind


def _match(table: PriceTable, key: str) -> Match | None:
    hit = _lookup(table, key)
    if hit:
        model, kind = hit
        return Match(model, key, f"exact {kind} '{key}'")
    bare, steps = decorations(key)
    if steps:
        hit = _lookup(table, bare)
        if hit:
            model, kind = hit
            return Match(model, key, f"{kind} '{bare}' after removing {', '.join(steps)}")
    undated = bare
    while True:
        m = _SNAPSHOT.search(undated)
        if not m or m.start() == 0:
            break
        undated = undated[: m.start()]
        hit = _lookup(table, undated)
        if hit:
            model, kind = hit
            removed = [*steps, f"snapshot suffix '{bare[len(undated) :]}'"]
            return Match(model, key, f"{kind} '{undated}' after removing {', '.join(removed)}")
    for prefix, model_id in table.prefixes:
        if bare.startswith(prefix):
            extra = f" after removing {', '.join(steps)}" if steps else ""
            return Match(table.models[model_id], key, f"prefix rule '{prefix}'{extra}")
    return None


def suggest(table: PriceTable, reported: str, n: int = 3) -> list[str]:
    """The entry ids closest to an unmatched name."""
    bare, _ = decorations(reported.strip().lower())
    pool = {name: model_id for name, (model_id, _) in table.names.items()}
    close = difflib.get_close_matches(bare, list(pool), n=n * 3, cutoff=0.5)
    out: list[str] = []
    for name in close:
        if pool[name] not in out:
            out.append(pool[name])
    return out[:n]


# Hosts that serve other vendors' models (mostly open-weight: Llama, Mixtral, gpt-oss, Gemma)
# at prices of their own. A request they served is priced at their price or not at all, never
# at the model vendor's: Groq's mixtral-8x7b is not Mistral's. (pricing.toml has no entries of
# theirs yet, so such records are unpriced, and say which price they were not given.)
THIRD_PARTY_HOSTS = frozenset(
    {
        "groq",
        "together",
        "together_ai",
        "togetherai",
        "fireworks",
        "fireworks_ai",
        "deepinfra",
        "cerebras",
        "sambanova",
        "novita",
        "hyperbolic",
        "nebius",
        "lambda",
        "perplexity",
        "replicate",
        "anyscale",
        "baseten",
        "ovhcloud",
        "nscale",
    }
)


def host_route(provider: str | None, model: str) -> str | None:
    """The third-party host that served a request, from the record's provider or a
    ``host/model`` name (``groq/llama-3.3-70b-versatile``), else None."""
    if provider and provider.strip().lower() in THIRD_PARTY_HOSTS:
        return provider.strip().lower()
    head = model.split("/", 1)[0].strip().lower() if "/" in model else None
    return head if head in THIRD_PARTY_HOSTS else None


def off_route(found: Match, provider: str | None, model: str) -> str | None:
    """Why a match must not price a request a third-party host served, or None."""
    route = host_route(provider, model)
    if route is None or found.model.provider == route:
        return None
    return (
        f"served by {route}, which sets its own prices: pricing.toml has no {route} price for "
        f"{model!r} (not priced as {found.model.provider}'s {found.model.id})"
    )


def has_price(table: PriceTable, provider: str | None, model: str) -> bool:
    """Whether a (provider, model) finds a price entry it may be priced by."""
    found = match(table, model)
    return found is not None and off_route(found, provider, model) is None
