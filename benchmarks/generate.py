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


def middleware(rec: dict) -> dict:
    """The same call as an app's middleware would log it: the raw provider response."""
    base = {
        "logged_at": rec["ts"],
        "latency_ms": rec["latency_ms"],
        "http_request_id": None,
        "attrs": {"user": rec["user"], "feature": rec["feature"], "tenant": "acme"},
    }
    if rec["provider"] in ("anthropic", "bedrock"):
        cached = rec["cache_read_tokens"] + rec["cache_write_tokens"]
        response = {
            "id": "msg_" + rec["request_id"],
            "type": "message",
            "model": rec["model"],
            "usage": {
                "input_tokens": rec["input_tokens"] - cached,
                "cache_read_input_tokens": rec["cache_read_tokens"],
                "cache_creation_input_tokens": rec["cache_write_tokens"],
                "output_tokens": rec["output_tokens"],
            },
        }
    else:
        response = {
            "id": "chatcmpl-" + rec["request_id"],
            "object": "chat.completion",
            "model": rec["model"],
            "usage": {
                "prompt_tokens": rec["input_tokens"],
                "completion_tokens": rec["output_tokens"],
                "prompt_tokens_details": {"cached_tokens": rec["cache_read_tokens"]},
                "completion_tokens_details": {"reasoning_tokens": rec["reasoning_tokens"]},
            },
        }
    return {**base, "response": response}


def claude_code(rec: dict, i: int) -> list[dict]:
    """One assistant message as Claude Code writes it: a placeholder line, then the final one."""
    cached = rec["cache_read_tokens"] + rec["cache_write_tokens"]
    usage = {
        "input_tokens": rec["input_tokens"] - cached,
        "cache_creation_input_tokens": rec["cache_write_tokens"],
        "cache_read_input_tokens": rec["cache_read_tokens"],
        "cache_creation": {
            "ephemeral_5m_input_tokens": rec["cache_write_tokens"],
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": rec["output_tokens"],
        "service_tier": "standard",
    }
    line = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/dev/project",
        "sessionId": "bench-session",
        "version": "2.0.14",
        "message": {
            "id": f"msg_{i:010d}",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [],
            "usage": usage,
        },
        "requestId": f"req_{i:010d}",
        "type": "assistant",
        "uuid": f"u-{i}",
        "timestamp": rec["ts"],
    }
    first = json.loads(json.dumps(line))
    first["message"]["usage"]["output_tokens"] = 1
    return [first, line]


def main() -> None:
    args = sys.argv[1:]
    fmt = "llmaudit"
    if "--format" in args:
        at = args.index("--format")
        fmt = args[at + 1]
        del args[at : at + 2]
    n = int(args[0]) if args else 10_000
    out = sys.stdout
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    for i, rec in enumerate(records(n)):
        if fmt == "middleware":
            out.write(dumps(middleware(rec)) + "\n")
        elif fmt == "middleware-timer":  # latencies as a timer gives them: 1742.25
            out.write(dumps({**middleware(rec), "latency_ms": rec["latency_ms"] + 0.25}) + "\n")
        elif fmt == "claude-code":
            for line in claude_code(rec, i):
                out.write(dumps(line) + "\n")
        else:
            out.write(dumps(rec) + "\n")


if __name__ == "__main__":
    main()
