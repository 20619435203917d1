"""Provider usage objects -> the record's disjoint token categories.

Each provider counts differently (docs: ../reference log-formats.md section 8):
OpenAI's ``prompt_tokens``/``input_tokens`` include cached tokens; Anthropic's ``input_tokens``
exclude cache reads and writes; Gemini's ``promptTokenCount`` includes cached content and its
output to bill is ``candidatesTokenCount + thoughtsTokenCount``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from llmaudit.errors import RecordError
from llmaudit.sources.common import count


class Tokens(NamedTuple):  # built on every line: a tuple builds in a third of a dataclass's time
    input_uncached: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    reasoning: int = 0

    def fields(self) -> dict[str, Any]:
        return {
            "input_uncached": self.input_uncached,
            "cache_read": self.cache_read,
            "cache_write_5m": self.cache_write_5m,
            "cache_write_1h": self.cache_write_1h,
            "output": self.output,
            "reasoning": self.reasoning,
        }


def inclusive(
    input_total: int,
    cache_read: int = 0,
    cache_write: int = 0,
    output: int = 0,
    reasoning: int = 0,
    cache_write_1h: int = 0,
    *,
    field: str = "input_tokens",
) -> Tokens:
    """Counts where input includes cache reads and writes (OpenAI, Gemini, OTel)."""
    if cache_read + cache_write > input_total:
        raise RecordError(
            f"cache tokens ({cache_read + cache_write}) exceed input tokens ({input_total})",
            field=field,
        )
    if reasoning > output:
        raise RecordError(f"reasoning ({reasoning}) exceeds output ({output})", field=field)
    if cache_write_1h > cache_write:
        cache_write_1h = cache_write
    return Tokens(
        input_total - cache_read - cache_write,
        cache_read,
        cache_write - cache_write_1h,
        cache_write_1h,
        output,
        reasoning,
    )


def openai_chat(usage: dict[str, Any]) -> Tokens:
    details = usage.get("prompt_tokens_details") or {}
    out_details = usage.get("completion_tokens_details") or {}
    return inclusive(
        count(usage.get("prompt_tokens"), "usage.prompt_tokens"),
        count(details.get("cached_tokens"), "usage.prompt_tokens_details.cached_tokens"),
        count(details.get("cache_write_tokens"), "usage.prompt_tokens_details.cache_write_tokens"),
        count(usage.get("completion_tokens"), "usage.completion_tokens"),
        count(
            out_details.get("reasoning_tokens"), "usage.completion_tokens_details.reasoning_tokens"
        ),
        field="usage.prompt_tokens",
    )


def openai_responses(usage: dict[str, Any]) -> Tokens:
    details = usage.get("input_tokens_details") or {}
    out_details = usage.get("output_tokens_details") or {}
    return inclusive(
        count(usage.get("input_tokens"), "usage.input_tokens"),
        count(details.get("cached_tokens"), "usage.input_tokens_details.cached_tokens"),
        count(details.get("cache_write_tokens"), "usage.input_tokens_details.cache_write_tokens"),
        count(usage.get("output_tokens"), "usage.output_tokens"),
        count(out_details.get("reasoning_tokens"), "usage.output_tokens_details.reasoning_tokens"),
        field="usage.input_tokens",
    )


def anthropic(usage: dict[str, Any]) -> Tokens:
    """Anthropic: ``input_tokens`` excludes cache; writes split by TTL when the split is given."""
    written = count(usage.get("cache_creation_input_tokens"), "usage.cache_creation_input_tokens")
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        w5 = count(split.get("ephemeral_5m_input_tokens"), "usage.cache_creation.ephemeral_5m")
        w1 = count(split.get("ephemeral_1h_input_tokens"), "usage.cache_creation.ephemeral_1h")
        if w5 + w1 != written and written:
            w5 = written - w1 if w1 <= written else written
            w1 = written - w5
    else:
        w5, w1 = written, 0
    output = count(usage.get("output_tokens"), "usage.output_tokens")
    details = usage.get("output_tokens_details")
    thinking = count(
        details.get("thinking_tokens") if isinstance(details, dict) else None,
        "usage.output_tokens_details.thinking_tokens",
    )
    if thinking > output:
        raise RecordError(
            f"thinking tokens ({thinking}) exceed output ({output})",
            field="usage.output_tokens_details.thinking_tokens",
        )
    return Tokens(
        count(usage.get("input_tokens"), "usage.input_tokens"),
        count(usage.get("cache_read_input_tokens"), "usage.cache_read_input_tokens"),
        w5,
        w1,
        output,
        thinking,
    )


def gemini(meta: dict[str, Any]) -> Tokens:
    """Gemini (REST camelCase or SDK snake_case): output billed = candidates + thoughts."""

    def get(camel: str, snake: str) -> int:
        value = meta.get(camel, meta.get(snake))
        return count(value, f"usageMetadata.{camel}")

    prompt = get("promptTokenCount", "prompt_token_count")
    tool = get("toolUsePromptTokenCount", "tool_use_prompt_token_count")
    cached = get("cachedContentTokenCount", "cached_content_token_count")
    candidates = get("candidatesTokenCount", "candidates_token_count")
    thoughts = get("thoughtsTokenCount", "thoughts_token_count")
    return inclusive(
        prompt + tool,
        cached,
        0,
        candidates + thoughts,
        thoughts,
        field="usageMetadata.promptTokenCount",
    )


def openai_service_tier(value: Any) -> str:
    tier = str(value or "").lower()
    return {"flex": "flex", "priority": "priority", "scale": "priority", "batch": "batch"}.get(
        tier, "standard"
    )


PROVIDER_ALIASES = {
    "gemini": "google",
    "vertex_ai": "google",
    "vertex": "google",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "google_genai": "google",
    "aws.bedrock": "bedrock",
    "azure.ai.openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "x_ai": "xai",
    "ibm.watsonx.ai": "watsonx",
    # Cloudflare AI Gateway's provider names
    "google-ai-studio": "google",
    "google-vertex-ai": "google",
    # Portkey's provider names
    "vertex-ai": "google",
    "azure-openai": "azure",
    "aws-bedrock": "bedrock",
    "grok": "xai",
    "perplexity-ai": "perplexity",
}


def provider_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip().lower()
    return PROVIDER_ALIASES.get(name, name)
