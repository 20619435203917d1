"""Input sources: one module per log format or provider API, each yielding normalised records."""

from __future__ import annotations

from llmaudit.sources.base import InputFile, Item, Source
from llmaudit.sources.llmaudit_jsonl import LlmauditJsonl

# Every built-in format, in the order auto-detection tries them (most specific first).
FORMATS: dict[str, Source] = {src.name: src for src in (LlmauditJsonl(),)}

__all__ = ["FORMATS", "InputFile", "Item", "Source"]
