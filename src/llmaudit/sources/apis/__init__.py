"""Provider usage and cost APIs, one module each: OpenAI's organization usage and costs
endpoints, Anthropic's usage and cost reports, OpenRouter's activity. Each endpoint says how to
ask for a window and how to turn a time bucket of its answer into usage records or billed cost
rows.

Field names and semantics: ../reference provider-apis.md (OpenAI's usage ``input_tokens``
includes cached and cache-write tokens; the split fields win when present. Anthropic's cost
report amounts are decimal strings in cents. Buckets are UTC.)
"""
