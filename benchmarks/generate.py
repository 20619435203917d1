#!/usr/bin/env python3
"""Write N synthetic usage records in llmaudit JSONL (deterministic for a given seed).

python benchmarks/generate.py 100000 > /tmp/usage.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta, timezone

MODELS = [
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4o-mini"),
    ("openai", "o3"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-pro"),
    ("bedrock", "us.anthropic.claude-3-haiku-20240307-v1:0"),
    ("openai", "my-finetune-unpriced"),
]
FEATURES = ["chat", "search", "summarise", "tagging", "agent"]


def records(n: int, seed: int = 7):
    rnd = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    for i in range(n):
        provider, model = rnd.choice(MODELS)
        input_tokens = rnd.randint(50, 30_000)
        cache_read = rnd.randint(0, input_tokens // 2)
        cache_write = rnd.randint(0, (input_tokens - cache_read) // 4)
        output = rnd.randint(1, 2_000)
        yield {
            "ts": (start + timedelta(seconds=i * 13)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "provider": provider,
            "model": model,
            "input_tokens": input_tokens,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
            "output_tokens": output,
            "reasoning_tokens": output // 3 if model == "o3" else 0,
            "feature": rnd.choice(FEATURES),
            "user": f"user-{rnd.randint(1, 200)}",
            "latency_ms": rnd.randint(200, 9_000),
            "request_id": f"req-{seed}-{i}",
        }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    out = sys.stdout
    for rec in records(n):
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
