"""Input sources: one module per log format or provider API, each yielding normalised records."""

from __future__ import annotations

from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.llmaudit_jsonl import LlmauditJsonl
from llmaudit.sources.middleware import Middleware

# Every built-in format, in the order auto-detection tries them (most specific first).
FORMATS: dict[str, Source] = {src.name: src for src in (LlmauditJsonl(), Middleware())}

__all__ = ["FORMATS", "InputFile", "Item", "Options", "Source"]
