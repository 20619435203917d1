"""llmaudit: an offline LLM cost auditor."""

__version__ = "0.1.0.dev0"
