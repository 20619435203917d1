"""Model names as sources report them -> a price entry, and why. Exact or absent.

A request that came through a **route** (a host that sells other vendors' models at its own
prices: Bedrock, Azure, Groq, Together, Fireworks, OpenRouter and other hosts) is priced by that
route's entry or not at all, never at the model vendor's price. The route is the record's
provider, or the name's first segment (``groq/llama-3.3-70b-versatile``), or a Bedrock model id
(``anthropic.claude-...-v1:0``, ``us.anthropic...``).

Any other request is looked up among the first-party entries. Either way, a name matches:

- an entry's id (within its route) or a listed alias, lower-cased;
- the same once routing decorations are removed (``openai/``, ``models/``, ``vertex_ai/``,
  Vertex ``@20240307``, an OpenAI fine-tune's ``:org::id`` after ``ft:BASE``; in a Bedrock
  route, its region prefix such as ``us.``);
- the same without a dated snapshot suffix (``-2024-08-06``, ``-20250929``).

Nothing else: no prefix rule, no ``-latest`` or ``-002`` stripping. An unmatched name is
unpriced, with the closest names suggested.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from llmaudit.pricing.table import ModelPrice, PriceTable

_BEDROCK_REGION = re.compile(r"^(us|eu|apac|ap|global|jp|au|ca|in|us-gov)\.")
_BEDROCK_ID = re.compile(
    r"^((us|eu|apac|ap|global|regional|jp|au|ca|in|us-gov)\.)?"
    r"(anthropic|meta|mistral|cohere|amazon|ai21|deepseek|openai|qwen|writer|google|twelvelabs|"
    r"stability|luma|moonshot|minimax)\.[a-z0-9]"
)
_SNAPSHOT = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8})$")

# How logs name the routes: LiteLLM's provider prefixes, OpenTelemetry's gen_ai.system values,
# the providers' own names.
ROUTE_NAMES = {
    "bedrock": "bedrock",
    "aws": "bedrock",
    "aws_bedrock": "bedrock",
    "aws.bedrock": "bedrock",
    "amazon-bedrock": "bedrock",
    "amazon_bedrock": "bedrock",
    "aws-bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_openai": "azure",
    "azure-openai": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "groq": "groq",
    "together": "together",
    "together_ai": "together",
    "togetherai": "together",
    "fireworks": "fireworks",
    "fireworks_ai": "fireworks",
    "fireworks-ai": "fireworks",
    "openrouter": "openrouter",
    "workers-ai": "workers-ai",
    "workers_ai": "workers-ai",
    "cloudflare-workers-ai": "workers-ai",
    "cloudflare_workers_ai": "workers-ai",
    # hosts with no entries in the bundled table: their requests stay unpriced until a price
    # file of yours adds "HOST/MODEL" entries for them
    "deepinfra": "deepinfra",
    "cerebras": "cerebras",
    "sambanova": "sambanova",
    "novita": "novita",
    "hyperbolic": "hyperbolic",
    "nebius": "nebius",
    "lambda": "lambda",
    "perplexity": "perplexity",
    "replicate": "replicate",
    "anyscale": "anyscale",
    "baseten": "baseten",
    "ovhcloud": "ovhcloud",
    "nscale": "nscale",
}
# Prefixes that name the model's own vendor or an API surface, not a route
_FIRST_PARTY_PREFIXES = (
    "openai",
    "anthropic",
    "google",
    "gemini",
    "vertex_ai",
    "vertex",
    "models",
    "mistral",
    "mistralai",
    "deepseek",
    "xai",
    "x-ai",
    "cohere",
    "cohere_chat",
    "text-completion-openai",
)


@dataclass(frozen=True)
class Match:
    model: ModelPrice
    name: str  # the name as it was looked up
    rule: str  # why it matched, for `pricing explain`


def route_of(provider: str | None, model: str) -> tuple[str, str] | None:
    """(route, the name within it) when a request came through a route, else None."""
    name = model.strip().lower()
    if provider:
        route = ROUTE_NAMES.get(provider.strip().lower())
        if route:
            head, _, rest = name.partition("/")
            return route, rest if rest and ROUTE_NAMES.get(head) == route else name
    head, sep, rest = name.partition("/")
    if sep and head in ROUTE_NAMES and rest:
        return ROUTE_NAMES[head], rest
    if _BEDROCK_ID.match(name):
        return "bedrock", name
    return None


def decorations(name: str) -> tuple[str, list[str]]:
    """Strip first-party decorations; return the bare name and what was removed."""
    steps: list[str] = []
    n = name
    head, sep, rest = n.partition("/")
    while sep and head in _FIRST_PARTY_PREFIXES and rest:
        steps.append(f"prefix '{head}/'")
        n = rest
        head, sep, rest = n.partition("/")
    if n.startswith("ft:") and n.count(":") > 1:  # an OpenAI fine-tune: ft:BASE:ORG:NAME:ID
        base = n.split(":")[1]
        steps.append(f"fine-tune suffix '{n[len('ft:') + len(base) :]}'")
        n = f"ft:{base}"
    if "@" in n:  # Vertex AI: claude-3-5-sonnet@20240620
        base, _, version = n.partition("@")
        steps.append(f"Vertex version '@{version}'")
        n = f"{base}-{version}" if version.isdigit() and len(version) == 8 else base
    return n, steps


def match(table: PriceTable, reported: str, provider: str | None = None) -> Match | None:
    """The entry that prices ``reported`` (as a request through ``provider``), or None."""
    asked = (provider, reported)  # as asked: the common case, a name seen before
    if asked in table._match_cache:
        return table._match_cache[asked]
    key = reported.strip().lower()
    route = route_of(provider, key)
    cache_key = (route, key)
    if cache_key in table._match_cache:
        result = table._match_cache[cache_key]
    elif route is None:
        result = _first_party(table, key)
    else:
        result = _in_route(table, route[0], route[1], key)
    table._match_cache[cache_key] = table._match_cache[asked] = result
    return result


def _lookup(
    table: PriceTable, index: dict[str, tuple[str, str]], name: str
) -> tuple[ModelPrice, str] | None:
    hit = index.get(name)
    if hit is None:
        return None
    model_id, kind = hit
    return table.models[model_id], kind


def _undated(
    table: PriceTable, index: dict[str, tuple[str, str]], name: str
) -> tuple[ModelPrice, str, str] | None:
    """The entry of ``name`` without its dated snapshot suffix, and the suffix."""
    m = _SNAPSHOT.search(name)
    if not m or m.start() == 0:
        return None
    hit = _lookup(table, index, name[: m.start()])
    return (*hit, m.group(0)) if hit else None


def _first_party(table: PriceTable, key: str) -> Match | None:
    hit = _lookup(table, table.names, key)
    if hit:
        model, kind = hit
        return Match(model, key, f"exact {kind} '{key}'")
    bare, steps = decorations(key)
    if steps:
        hit = _lookup(table, table.names, bare)
        if hit:
            model, kind = hit
            return Match(model, key, f"{kind} '{bare}' after removing {', '.join(steps)}")
    dated = _undated(table, table.names, bare)
    if dated:
        model, kind, suffix = dated
        removed = ", ".join([*steps, f"snapshot suffix '{suffix}'"])
        return Match(model, key, f"{kind} '{bare[: -len(suffix)]}' after removing {removed}")
    return None


def _in_route(table: PriceTable, route: str, name: str, key: str) -> Match | None:
    index = table.routes.get(route, {})
    # the name within the route, and the name as given (a model id may begin with the route's
    # own name: together/... on Together; Fireworks' accounts/fireworks/models/ paths)
    candidates = [name, *([key] if key != name else [])]
    if route == "fireworks" and name.startswith("accounts/fireworks/models/"):
        candidates.append(name.removeprefix("accounts/fireworks/models/"))
    if route == "bedrock":
        # Bedrock prices a model by region class: "global." inference profiles at the global
        # price; the model id itself and geographic profiles (us., eu., apac., ...) at the
        # regional price, which its entries name "regional.<model id>"
        region = _BEDROCK_REGION.match(name)
        base = name[region.end() :] if region and region.group(1) != "global" else name
        if base != name:
            candidates.append(base)
        if not name.startswith(("global.", "regional.")):
            candidates.append(f"regional.{base}")
    for candidate in candidates:
        hit = _lookup(table, index, candidate)
        if hit:
            model, kind = hit
            how = "" if candidate == key else f" (as '{candidate}')"
            return Match(model, key, f"{route} route: exact {kind}{how}")
        dated = _undated(table, index, candidate)
        if dated:
            model, kind, suffix = dated
            return Match(
                model, key, f"{route} route: {kind} after removing snapshot suffix '{suffix}'"
            )
    return None


def by_display_name(table: PriceTable, provider: str, name: str) -> ModelPrice | None:
    """The first-party entry of ``provider`` whose display name is ``name`` (case aside):
    how a console's cost export names models ("Claude Sonnet 4.5"). Exact or nothing."""
    key = ("name", provider, " ".join(name.lower().split()))
    if key not in table._match_cache:
        table._match_cache[key] = next(
            (
                m
                for m in table.models.values()
                if m.provider == provider and " ".join(m.name.lower().split()) == key[2]
            ),
            None,
        )
    found: ModelPrice | None = table._match_cache[key]
    return found


def unpriced_reason(table: PriceTable, reported: str, provider: str | None = None) -> str:
    """Why ``reported`` has no price: the route has none for it (naming the first-party price
    it was not given), or no entry has the name (naming the closest ones). Kept per name, as
    every record of an unknown model asks again."""
    key = ("reason", provider and provider.strip().lower(), reported.strip().lower())
    if key not in table._match_cache:
        table._match_cache[key] = _unpriced_reason(table, reported, provider)
    reason: str = table._match_cache[key]
    return reason


def _unpriced_reason(table: PriceTable, reported: str, provider: str | None) -> str:
    route = route_of(provider, reported)
    if route is not None:
        vendor = _first_party(table, decorations(route[1])[0]) or _first_party(
            table, route[1].rsplit(".", 1)[-1]
        )
        not_as = f" (not priced as {vendor.model.provider}'s {vendor.model.id})" if vendor else ""
        if not table.routes.get(route[0]):
            return (
                f"served by {route[0]}, which sets its own prices: pricing.toml has no "
                f"{route[0]} prices{not_as}"
            )
        close = suggest(table, reported, provider)
        hint = f"; closest: {', '.join(close)}" if close else ""
        return f"no {route[0]} price for {reported!r}{not_as}{hint}"
    close = suggest(table, reported)
    hint = f" (closest: {', '.join(close)})" if close else ""
    return f"no price entry matches model {reported!r}{hint}"


def suggest(table: PriceTable, reported: str, provider: str | None = None, n: int = 3) -> list[str]:
    """The entry ids closest to an unmatched name (within its route, if it has one)."""
    route = route_of(provider, reported)
    if route is not None:
        index, bare = table.routes.get(route[0], {}), route[1]
    else:
        index, bare = table.names, decorations(reported.strip().lower())[0]
    pool = {name: model_id for name, (model_id, _) in index.items()}
    close = difflib.get_close_matches(bare, list(pool), n=n * 3, cutoff=0.5)
    out: list[str] = []
    for name in close:
        if pool[name] not in out:
            out.append(pool[name])
    return out[:n]


def has_price(table: PriceTable, provider: str | None, model: str) -> bool:
    """Whether a (provider, model) finds a price entry, priced per token."""
    found = match(table, model, provider)
    return found is not None and found.model.unit is None
