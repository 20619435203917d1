"""Every log fixture ingests (auto-detected) to exactly the totals its README states, per model.

Totals are (requests, uncached input, cache read, cache write 5m, cache write 1h, output,
reasoning), summed from the ledger after ingesting the fixture by auto-detection.
"""

from __future__ import annotations

import shutil
from collections import defaultdict

import pytest

from conftest import DATA
from llmaudit.ledger.store import Ledger

LOGS = DATA / "logs"

EXPECTED = {
    "middleware_openai_chat.jsonl": (
        "middleware",
        {
            # 1532 in (1024 cached) / 212 out, and the streamed final chunk 980 / 95
            "gpt-4o-mini-2024-07-18": (2, 508 + 980, 1024, 0, 0, 212 + 95, 0),
            "o4-mini-2025-04-16": (1, 1890, 0, 0, 0, 812, 640),
        },
    ),
    "middleware_openai_responses.jsonl": (
        "middleware",
        {
            # 4210 - 3072 cached = 1138; 5702 - 4096 cached - 1536 written = 70
            "gpt-5-2025-08-07": (2, 1138 + 70, 3072 + 4096, 1536, 0, 1375 + 640, 1024 + 448),
        },
    ),
    "middleware_anthropic.jsonl": (
        "middleware",
        {
            "claude-sonnet-4-5-20250929": (1, 12, 16372, 2048, 0, 733, 0),
            "claude-opus-4-1-20250805": (1, 2211, 0, 0, 5400, 1893, 0),
            "claude-opus-4-8": (1, 3120, 20480, 0, 0, 2950, 2210),
        },
    ),
    "gemini_usage.jsonl": (
        "middleware",
        {
            # 12840 prompt incl. 8192 cached; output = 402 candidates + 1156 thoughts
            "gemini-2.5-pro": (1, 4648, 8192, 0, 0, 1558, 1156),
            # 13410 incl. 12288 cached / 288; Vertex: 2210 + 1024 tool-use prompt / 540 + 344
            "gemini-2.5-flash": (2, 1122 + 3234, 12288, 0, 0, 288 + 884, 344),
        },
    ),
}


def totals(db):
    out = defaultdict(lambda: [0] * 7)
    with Ledger.open(db) as led:
        for rec in led.iter_records():
            t = out[rec.model]
            for i, value in enumerate(
                (
                    rec.requests,
                    rec.input_uncached,
                    rec.cache_read,
                    rec.cache_write_5m,
                    rec.cache_write_1h,
                    rec.output,
                    rec.reasoning,
                )
            ):
                t[i] += value
    return {model: tuple(v) for model, v in out.items()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_totals(run, tmp_path, name):
    fmt, expected = EXPECTED[name]
    shutil.copy(LOGS / name, tmp_path / name)
    result = run("--db", "f.db", "ingest", name, "--json")
    assert result.exit_code == 0, result.stderr
    import json

    summary = json.loads(result.stdout)
    assert summary["inputs"][0]["format"] == fmt
    assert totals(tmp_path / "f.db") == expected
