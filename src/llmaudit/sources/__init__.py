"""Input sources: one module per log format or provider API, each yielding normalised records.

The formats auto-detection knows are listed in :mod:`llmaudit.sources.registry`.
"""
