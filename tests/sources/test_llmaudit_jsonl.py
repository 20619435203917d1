from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from llmaudit.model.interchange import dumps
from llmaudit.model.reject import Reject
from llmaudit.sources.llmaudit_jsonl import LlmauditJsonl, parse_line, record_from_object

BASE = {"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "input_tokens": 10, "output_tokens": 5}


def test_inclusive_tokens_become_disjoint_categories():
    rec = record_from_object(
        {
            "ts": "2026-11-01T10:05:00+01:00",
            "model": "claude-sonnet-4-5",
            "input_tokens": 5000,
            "cache_read_tokens": 3000,
            "cache_write_tokens": 1500,
            "cache_write_1h_tokens": 500,
            "output_tokens": 800,
            "reasoning_tokens": 200,
        }
    )
    # 5000 - 3000 read - 1500 written = 500 uncached; 1500 writes = 1000 (5m) + 500 (1h).
    assert (rec.input_uncached, rec.cache_read, rec.cache_write_5m, rec.cache_write_1h) == (
        500,
        3000,
        1000,
        500,
    )
    assert (rec.output, rec.reasoning) == (800, 200)
    assert rec.input_total == 5000
    assert rec.ts == datetime(2026, 11, 1, 9, 5, tzinfo=timezone.utc)
    assert rec.provider == "anthropic"  # inferred from the model name
    assert rec.requests == 1
    assert rec.service_tier == "standard"
    assert rec.status == "ok"


def test_defaults_and_optional_fields():
    rec = record_from_object(
        {
            **BASE,
            "provider": "azure",
            "requests": 4,
            "service_tier": "default",
            "user": 12345,
            "tags": {"env": "prod", "n": 3, "beta": True},
            "latency_ms": 812.5,
            "reported_cost_usd": "0.000225",
            "api_key": "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
        }
    )
    assert rec.provider == "azure"
    assert rec.requests == 4
    assert rec.service_tier == "standard"
    assert rec.user == "12345"
    assert rec.tags == {"env": "prod", "n": "3", "beta": "true"}
    assert rec.latency_ms == 812.5
    assert rec.reported_cost_usd == Decimal("0.000225")
    # A full secret key is never stored: only enough to recognise it.
    assert rec.api_key == "sk-...0123"


def test_float_cost_keeps_its_decimal_digits():
    item = parse_line(json.dumps({**BASE, "reported_cost_usd": 0.1}), "f.jsonl", 1)
    assert item.reported_cost_usd == Decimal("0.1")


def test_request_id_is_the_dedupe_id_else_the_content_hash():
    with_id = record_from_object({**BASE, "request_id": "chatcmpl-9"})
    without = record_from_object(BASE)
    assert with_id.dedupe_key() == "llmaudit:chatcmpl-9"
    assert without.dedupe_key() == f"llmaudit:h1:{without.content_hash()}"
    assert len(without.content_hash()) == 64


REJECTIONS = [
    ("{not json", None, "invalid JSON"),
    ("[1, 2]", None, "expected a JSON object, got list"),
    (json.dumps({**BASE, "input_token": 3}), "input_token", "unknown field; did you mean"),
    (json.dumps({"model": "gpt-4o"}), "ts", "is missing"),
    (json.dumps({**BASE, "ts": "2026-11-01 10:00:00"}), "ts", "has no time zone offset"),
    (json.dumps({**BASE, "ts": "yesterday"}), "ts", "is not an ISO-8601 timestamp"),
    (json.dumps({**BASE, "ts": "2026-02-30T10:00:00Z"}), "ts", "is not a valid time"),
    (json.dumps({**BASE, "ts": 1762000000}), "ts", "must be an ISO-8601 string"),
    (json.dumps({**BASE, "ts_end": "2026-11-01T09:00:00Z"}), "ts_end", "is before ts"),
    (json.dumps({k: v for k, v in BASE.items() if k != "model"}), "model", "is missing"),
    (json.dumps({**BASE, "model": "  "}), "model", "is missing"),
    (json.dumps({**BASE, "input_tokens": -5}), "input_tokens", "must not be negative, got -5"),
    (json.dumps({**BASE, "output_tokens": 1.5}), "output_tokens", "must be an integer"),
    (json.dumps({**BASE, "output_tokens": "5"}), "output_tokens", "must be an integer"),
    (json.dumps({**BASE, "output_tokens": True}), "output_tokens", "must be an integer"),
    (json.dumps({**BASE, "requests": -1}), "requests", "must not be negative"),
    (
        json.dumps({**BASE, "cache_read_tokens": 8, "cache_write_tokens": 3}),
        "input_tokens",
        "cache_read_tokens + cache_write_tokens (11) exceed input_tokens (10)",
    ),
    (
        json.dumps({**BASE, "cache_write_tokens": 2, "cache_write_1h_tokens": 3}),
        "cache_write_1h_tokens",
        "(3) exceeds cache_write_tokens (2)",
    ),
    (
        json.dumps({**BASE, "reasoning_tokens": 6}),
        "reasoning_tokens",
        "(6) exceeds output_tokens (5)",
    ),
    (json.dumps({**BASE, "status": "done"}), "status", "must be one of ok, error"),
    (json.dumps({**BASE, "service_tier": "gold"}), "service_tier", "must be one of standard"),
    (json.dumps({**BASE, "tags": ["a"]}), "tags", "must be an object"),
    (json.dumps({**BASE, "tags": {"a": {"b": 1}}}), "tags", "tag 'a' must be a string or number"),
    (json.dumps({**BASE, "user": {"id": 1}}), "user", "must be a string, got dict"),
    (json.dumps({**BASE, "latency_ms": -1}), "latency_ms", "must be a non-negative number"),
    (json.dumps({**BASE, "ttft_ms": "fast"}), "ttft_ms", "must be a number"),
    (json.dumps({**BASE, "reported_cost_usd": "ten"}), "reported_cost_usd", "must be a number"),
    (json.dumps({**BASE, "reported_cost_usd": "NaN"}), "reported_cost_usd", "must be finite"),
]


@pytest.mark.parametrize(("line", "field", "reason"), REJECTIONS)
def test_every_rejection_names_field_and_reason(line, field, reason):
    item = parse_line(line, "logs/app.jsonl", 7)
    assert isinstance(item, Reject), item
    assert item.field == field
    assert reason in item.reason
    assert item.where() == "logs/app.jsonl:7"
    assert item.raw == line


def test_invalid_utf8_is_rejected_not_mangled():
    line = b'{"ts":"2026-11-01T10:00:00Z","model":"gpt-4o","user":"\xff"}'.decode(
        "utf-8", errors="surrogateescape"
    )
    item = parse_line(line, "f.jsonl", 3)
    assert isinstance(item, Reject)
    assert item.reason == "line is not valid UTF-8"


def test_dumps_writes_the_inclusive_convention():
    rec = record_from_object(
        {
            **BASE,
            "input_tokens": 50,
            "cache_read_tokens": 20,
            "cache_write_tokens": 10,
            "cache_write_1h_tokens": 4,
            "reported_cost_usd": "0.0012500",
        }
    )
    obj = json.loads(dumps(rec))
    assert obj["input_tokens"] == 50
    assert obj["cache_read_tokens"] == 20
    assert obj["cache_write_tokens"] == 10
    assert obj["cache_write_1h_tokens"] == 4
    assert obj["reported_cost_usd"] == "0.0012500"
    assert obj["ts"] == "2026-11-01T10:00:00.000000Z"


def test_sniff():
    src = LlmauditJsonl()
    assert src.sniff('\n{"ts": "2026-11-01T10:00:00Z", "model": "x"}\n')
    assert not src.sniff('{"ts": "2026-11-01T10:00:00Z", "model": "x", "usage": {}}')
    assert not src.sniff("model,ts\n")
