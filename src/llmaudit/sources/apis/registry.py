"""Every provider API llmaudit pulls from, by name."""

from __future__ import annotations

from llmaudit.sources.apis import anthropic, openai, openrouter
from llmaudit.sources.apis.spec import Endpoint, Provider

PROVIDERS: dict[str, Provider] = {
    m.PROVIDER.name: m.PROVIDER for m in (openai, anthropic, openrouter)
}
ENDPOINTS: dict[str, tuple[Endpoint, ...]] = {
    m.PROVIDER.name: m.ENDPOINTS for m in (openai, anthropic, openrouter)
}
