"""Every built-in log format, in the order auto-detection tries them."""

from __future__ import annotations

from llmaudit.sources.anthropic_console import AnthropicConsole
from llmaudit.sources.base import Source
from llmaudit.sources.bedrock import BedrockLogs
from llmaudit.sources.claude_code import ClaudeCode
from llmaudit.sources.cloudflare import CloudflareGateway
from llmaudit.sources.codex import CodexRollout
from llmaudit.sources.gcp_billing import GcpBilling
from llmaudit.sources.gemini_cli import GeminiCli
from llmaudit.sources.helicone import Helicone
from llmaudit.sources.langfuse import Langfuse
from llmaudit.sources.litellm import LiteLLMPayload, LiteLLMSpendLogs
from llmaudit.sources.llm_db import LlmLogsDb
from llmaudit.sources.llmaudit_jsonl import LlmauditJsonl
from llmaudit.sources.mapped import Mapped
from llmaudit.sources.middleware import Middleware
from llmaudit.sources.openai_batch import OpenAIBatch
from llmaudit.sources.openai_export import OpenAIExport
from llmaudit.sources.openrouter_export import OpenRouterExport
from llmaudit.sources.otel import OtelSpans
from llmaudit.sources.portkey import Portkey
from llmaudit.sources.structured import Structured

# Every built-in format, in the order auto-detection tries them (most specific first; the
# generic middleware shape and the structured-log reader last; "mapped" is only ever chosen by
# --map / --mapping).
FORMATS: dict[str, Source] = {
    src.name: src
    for src in (
        LlmauditJsonl(),
        OtelSpans(),
        ClaudeCode(),
        CodexRollout(),
        GeminiCli(),
        OpenAIBatch(),
        BedrockLogs(),
        CloudflareGateway(),
        Portkey(),
        GcpBilling(),
        OpenRouterExport(),
        AnthropicConsole(),
        OpenAIExport(),
        LiteLLMSpendLogs(),
        LiteLLMPayload(),
        Langfuse(),
        Helicone(),
        LlmLogsDb(),
        Middleware(),
        Structured(),
        Mapped(),
    )
}

__all__ = ["FORMATS"]
