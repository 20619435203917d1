"""Every log fixture ingests (auto-detected) to exactly the totals its README states, per model.

Totals are (requests, uncached input, cache read, cache write 5m, cache write 1h, output,
reasoning), summed from the ledger after ingesting the fixture by auto-detection.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import DATA, open_ledger

pytestmark = pytest.mark.both_engines

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
    "otel_genai_spans.otlp.json": (
        "otel",
        {
            # current semconv names; the HTTP span and the failed span carry no usage
            "gpt-4o-mini-2024-07-18": (1, 508, 1024, 0, 0, 212, 0),
            "o4-mini-2025-04-16": (1, 1890, 0, 0, 0, 812, 640),
            # 18432 = 12 uncached + 16372 read + 2048 written (inclusive, per the Anthropic rule)
            "claude-sonnet-4-5-20250929": (1, 12, 16372, 2048, 0, 733, 0),
            # deprecated <= v1.26 names: gen_ai.usage.prompt_tokens / completion_tokens
            "gpt-4o-2024-08-06": (1, 2210, 0, 0, 0, 380, 0),
            "text-embedding-3-small": (1, 512, 0, 0, 0, 0, 0),
        },
    ),
    "openllmetry_spans.otlp.json": (
        "otel",
        {
            "gpt-4o-2024-08-06": (1, 3120 - 2048, 2048, 0, 0, 245, 0),
            "claude-sonnet-4-5-20250929": (1, 12, 9100, 1200, 0, 1504, 0),
            "gpt-5-2025-08-07": (1, 4210 - 3072, 3072, 0, 0, 1375, 1024),
        },
    ),
    "openinference_spans.otlp.json": (
        "otel",
        {
            "gpt-4o-mini-2024-07-18": (1, 508, 1024, 0, 0, 212, 0),
            "claude-haiku-4-5-20251001": (1, 32, 5000, 1100, 0, 301, 0),
        },
    ),
    "litellm_spendlogs.csv": (
        "litellm-spendlogs",
        {
            # row 1 and the response-cache hit of the same call (row 3)
            "gpt-4o-mini": (2, 508 * 2, 1024 * 2, 0, 0, 212 * 2, 0),
            # row 2 (18432 = 12 + 16372 read + 2048 written) and the failed row 5 (no tokens)
            "claude-sonnet-4-5-20250929": (2, 12, 16372, 2048, 0, 733, 0),
            "text-embedding-3-small": (1, 512, 0, 0, 0, 0, 0),
        },
    ),
    # the same five rows as LiteLLM's /spend/logs/ui JSON page (naive startTime strings)
    "litellm_spend_logs_ui_page.json": (
        "litellm-spendlogs",
        {
            "gpt-4o-mini": (2, 508 * 2, 1024 * 2, 0, 0, 212 * 2, 0),
            "claude-sonnet-4-5-20250929": (2, 12, 16372, 2048, 0, 733, 0),
            "text-embedding-3-small": (1, 512, 0, 0, 0, 0, 0),
        },
    ),
    # Helicone's export tool: "[", each record followed by ",\n", then "]" (a trailing comma)
    "helicone_export_tool.json": (
        "helicone",
        {
            "gpt-4o-mini-2024-07-18": (2, 508 + 1532, 1024, 0, 0, 212 * 2, 0),
            "claude-sonnet-4-5-20250929": (1, 12, 16372, 2048, 0, 733, 0),
        },
    ),
    # Batch embeddings results carry no `created`; the third line expired (no usage, skipped)
    "openai_batch_embeddings_output.jsonl": (
        "openai-batch",
        {"text-embedding-3-small": (3, 13 + 13 + 211, 0, 0, 0, 0, 0)},
    ),
    # the guide's own span attributes (llm.model, llm.input_tokens, ...); the HTTP span has none
    "guide_llm_attributes.otlp.json": (
        "otel",
        {
            "gpt-4o": (1, 1200, 0, 0, 0, 300, 0),
            "claude-sonnet-4-5": (1, 5000, 0, 0, 0, 420, 0),
        },
    ),
    # a fork of codex_rollout.jsonl: replays its first two turns (totals 8723, 18387), then one
    # turn of its own to 27300: alone it counts the replayed turns as the parent's records
    "codex_rollout_fork.jsonl": (
        "codex",
        {
            "gpt-5-codex": (
                3,
                (8412 - 6144) + (9120 - 8320) + (26000 - 17532) - (22000 - 14464),
                6144 + 8320 + (22000 - 14464),
                0,
                0,
                311 + 544 + (1300 - 855),
                192 + 320 + (700 - 512),
            ),
        },
    ),
    # no turn_context (Codex CLI 0.21, August 2025): priced as gpt-5, tagged model_assumed
    "codex_rollout_no_turn_context.jsonl": (
        "codex",
        {"gpt-5": (1, 5200 - 3072, 3072, 0, 0, 640, 384)},
    ),
    "claude_code_session.jsonl": (
        "claude-code",
        {
            # msg A: 3 lines (output 1, 1, 287) -> one call with 287; msg Mf: 1h writes.
            "claude-sonnet-4-5-20250929": (2, 4 + 6, 11874 + 18107, 6233, 3400, 287 + 412, 0),
            # the sidechain call; the <synthetic> API-error line is not billable
            "claude-haiku-4-5-20251001": (1, 1200, 0, 0, 0, 96, 0),
        },
    ),
    "claude_code_session_legacy.jsonl": (
        "claude-code",
        {"claude-opus-4-20250514": (2, 3 + 4, 89356 + 89517, 161 + 1204, 0, 97 + 512, 0)},
    ),
    # Claude Code 2.1.84: opens with progress, file-history-snapshot and queue-operation lines;
    # msg_01A2... is written twice (thinking block with a placeholder output of 1, then the
    # tool_use block with 245): one record with 245. The <synthetic> API error is skipped.
    "claude_code_session_v2.jsonl": (
        "claude-code",
        {"claude-sonnet-4-5-20250929": (2, 3 + 5, 12000 + 14245, 2000, 0, 245 + 87, 0)},
    ),
    # summary lines only: a transcript without usage
    "claude_code_summaries_only.jsonl": ("claude-code", {}),
    "codex_rollout.jsonl": (
        "codex",
        {
            # deltas of total_token_usage: 8412/6144 cached, 311/192 reasoning, then 9120/8320,
            # 544/320; the re-emission and the info:null event add nothing
            "gpt-5-codex": (
                2,
                (8412 - 6144) + (9120 - 8320),
                6144 + 8320,
                0,
                0,
                311 + 544,
                192 + 320,
            ),
            "gpt-5": (1, 10200 - 9088, 9088, 0, 0, 1290, 896),
        },
    ),
    "gemini_cli_session.jsonl": (
        "gemini-cli",
        {
            # g-1 twice: the last record wins; output = output + thoughts
            "gemini-2.5-pro": (1, 12840 - 8192, 8192, 0, 0, 402 + 1156, 1156),
            "gemini-2.5-flash": (1, 13410 - 12288, 12288, 0, 0, 288, 0),
        },
    ),
    "openai_batch_output.jsonl": (
        "openai-batch",
        {
            # two 200s (1840 incl. 1024 cached / 156; 2210 / 301); the HTTP 400 has no usage
            "gpt-4o-mini-2024-07-18": (2, (1840 - 1024) + 2210, 1024, 0, 0, 156 + 301, 0),
        },
    ),
    "langfuse_observations.json": (
        "langfuse",
        {
            # usageDetails.input is uncached already (508 = 1532 - 1024); the SPAN has no usage
            "gpt-4o-mini-2024-07-18": (1, 508, 1024, 0, 0, 212, 0),
            "claude-sonnet-4-5-20250929": (1, 12, 16372, 2048, 0, 733, 0),
        },
    ),
    "langfuse_observations_v1_legacy.json": (
        "langfuse",
        {"gpt-4o-mini-2024-07-18": (1, 508, 1024, 0, 0, 212, 0)},
    ),
    "helicone_export.jsonl": (
        "helicone",
        {
            # OpenAI prompt_tokens include the 1024 cached; the cache hit (row 3) has none
            "gpt-4o-mini-2024-07-18": (2, 508 + 1532, 1024, 0, 0, 212 * 2, 0),
            # Anthropic prompt_tokens (12) exclude cache
            "claude-sonnet-4-5-20250929": (1, 12, 16372, 2048, 0, 733, 0),
        },
    ),
    "helicone_export.csv": (
        "helicone",
        {
            # the CSV has no cache columns
            "gpt-4o-mini-2024-07-18": (2, 1532 * 2, 0, 0, 0, 212 * 2, 0),
            "claude-sonnet-4-5-20250929": (1, 12, 0, 0, 0, 733, 0),
        },
    ),
    "llm_logs.sqlite": (
        "llm",
        {
            "gpt-4o-mini": (1, 1532 - 1024, 1024, 0, 0, 212, 0),
            # llm-anthropic: input excludes cache
            "anthropic/claude-sonnet-4-5": (1, 12, 16372, 2048, 0, 733, 0),
            "gemini-2.5-flash": (1, 13410 - 12288, 12288, 0, 0, 288, 0),
            "gpt-5.6-luna": (1, 2210 - 1024, 1024, 0, 0, 640, 448),
        },
    ),
    "litellm_standard_logging_payload.jsonl": (
        "litellm-payload",
        {
            "gpt-4o-mini": (1, 508, 1024, 0, 0, 212, 0),
            "claude-sonnet-4-5-20250929": (1, 12, 16372, 2048, 0, 733, 0),
        },
    ),
}


def totals(db):
    out = defaultdict(lambda: [0] * 7)
    with open_ledger(db) as led:
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


# The guide's structured logs: flat, dotted llm.* and nested usage (2000 prompt incl. 1024
# cached); and the same calls inside each aggregator's export.
STRUCTURED = {
    "gpt-4o": (2, 1200 + 2000 - 1024, 1024, 0, 0, 300 + 50, 0),
    "gpt-4o-mini": (1, 800, 0, 0, 0, 100, 0),
}
for _name in (
    "structured_app_log.jsonl",
    "structured_loki_logcli.jsonl",
    "structured_loki_query_range.json",
    "structured_elasticsearch_search.json",
    "structured_cloudwatch_events.json",
    "structured_datadog_logs.json",
):
    EXPECTED[_name] = ("structured", STRUCTURED)

BEDROCK = {
    "us.anthropic.claude-haiku-4-5-20251001-v1:0": (1, 1200, 8000, 2000, 0, 300, 0),
    "meta.llama3-1-70b-instruct-v1:0": (1, 10000, 0, 0, 0, 5000, 0),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": (1, 20, 0, 0, 4096, 640, 0),
    "a1b2c3d4e5f6": (1, 500, 0, 0, 0, 50, 0),
}
EXPECTED["bedrock_invocation_logs.jsonl"] = ("bedrock", BEDROCK)
EXPECTED["bedrock_cloudwatch_events.json"] = (
    "bedrock",
    {k: v for k, v in BEDROCK.items() if k.startswith(("us.", "meta."))},
)

EXPECTED["cloudflare_ai_gateway_logs.json"] = (
    "cloudflare-ai-gateway",
    {
        "gpt-4o-mini": (3, 2400, 0, 0, 0, 600, 0),  # a call, its cache hit, a 429 with no tokens
        "claude-sonnet-4-5": (1, 2000, 0, 0, 0, 500, 0),
        "@cf/meta/llama-3.1-8b-instruct": (1, 100, 0, 0, 0, 50, 0),
    },
)

# Billing rows: an hour of one SKU each, no request count (requests 0). Flash: 1,983,966 +
# 1,000,000 (the EUR row) input, 500,000 cache reads, 461,280 + 100,000 (batch) + 200,000
# (thinking) output. Storage, audio input and a Compute Engine row are skipped.
GCP_BILLING = {
    "gemini-2.5-flash": (0, 2_983_966, 500_000, 0, 0, 761_280, 200_000),
    "gemini-2.5-pro": (0, 400_000 + 1_000_000, 0, 0, 0, 0, 0),
    "gemini-9.9-flash": (0, 100_000, 0, 0, 0, 0, 0),
}
EXPECTED["gcp_billing_export.jsonl"] = ("gcp-billing", GCP_BILLING)
EXPECTED["gcp_billing_export.csv"] = ("gcp-billing", GCP_BILLING)

# OpenRouter's activity export: prompt includes cached, completion includes reasoning.
EXPECTED["openrouter_activity_export.csv"] = (
    "openrouter-export",
    {
        "openai/gpt-4o-mini-2024-07-18": (1, 176, 1024, 0, 0, 300, 0),
        "anthropic/claude-4.5-sonnet-20250929": (1, 2000, 0, 0, 0, 500, 0),
        "openai/gpt-5-2025-08-07": (1, 1000, 0, 0, 0, 2000, 1536),
        "deepseek/deepseek-chat-v3.1": (1, 500, 0, 0, 0, 40, 0),
        "google/gemini-2.5-flash": (1, 1000, 0, 0, 0, 300, 0),
        "meta-llama/llama-3.3-70b-instruct:free": (1, 800, 0, 0, 0, 120, 0),
    },
)

# The Claude Console's usage export: disjoint categories, no request count.
EXPECTED["anthropic_console_usage.csv"] = (
    "anthropic-console",
    {
        "claude-sonnet-4-5-20250929": (0, 46981 + 400000, 120000, 15969, 10000, 16932 + 2000, 0),
        "claude-haiku-4-5-20251001": (0, 1_000_000, 0, 0, 0, 200_000, 0),
        "claude-opus-4-1-20250805": (0, 1000, 0, 0, 0, 500, 0),
    },
)

# OpenAI's usage dashboard export: the API's rows (input includes cached); one empty day.
EXPECTED["openai_usage_export.csv"] = (
    "openai-export",
    {
        "gpt-4o-2024-08-06": (10, 53440, 5760, 0, 0, 10646, 0),
        "gpt-5-2025-08-07": (8 + 1, 38072 + 5783, 8192, 0, 0, 60000 + 16000, 0),
        "gpt-5-mini-2025-08-07": (21, 80992, 0, 0, 0, 274770, 0),
    },
)

# Portkey's logs export: the units, no cache split.
EXPECTED["portkey_logs_export.jsonl"] = (
    "portkey",
    {
        "gpt-4o-mini": (2, 1200, 0, 0, 0, 300, 0),  # a call and a 429 without tokens
        "claude-sonnet-4-5-20250929": (1, 2000, 0, 0, 0, 500, 0),
        "gpt-4o": (1, 1000, 0, 0, 0, 100, 0),
        "gemini-2.5-flash": (1, 1000, 0, 0, 0, 200, 0),
    },
)

# Fixtures with lines that must be rejected (and so make ingest exit 3), with the reason.
REJECTED = {
    "llm_logs.sqlite": [
        "responses row 01hzcm233g6cq643dzvmxxqkfb: no token counts (logged by llm before 0.19)"
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_totals(run, tmp_path, name):
    fmt, expected = EXPECTED[name]
    shutil.copy(LOGS / name, tmp_path / name)
    result = run("--db", "f.db", "ingest", name, "--json")
    rejected = REJECTED.get(name, [])
    assert result.exit_code == (3 if rejected else 0), result.stderr
    summary = json.loads(result.stdout)
    assert summary["inputs"][0]["format"] == fmt
    assert summary["totals"]["rejected"] == len(rejected)
    for reason in rejected:
        assert reason in result.stderr
    assert totals(tmp_path / "f.db") == expected


def test_every_fixture_is_covered():
    names = {p.name for p in LOGS.iterdir() if p.name != "README.md"}
    assert names - set(EXPECTED) == {"otel_genai_metrics.otlp.json"}


def test_claude_code_2x_detected_past_a_snapshot_larger_than_the_head(run, tmp_path):
    lines = (LOGS / "claude_code_session_v2.jsonl").read_text().splitlines()
    snapshot = json.loads(lines[1])
    snapshot["snapshot"]["trackedFileBackups"] = {
        f"/Users/dana/src/billing-api/f{n}.py": {"backupFileName": f"{n:040x}@v1", "version": 1}
        for n in range(2000)
    }  # about 190 KB: far past the 64 KiB head
    lines[1] = json.dumps(snapshot)
    (tmp_path / "s.jsonl").write_text("\n".join(lines) + "\n")
    res = run("--db", "f.db", "ingest", "s.jsonl", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["inputs"][0]["format"] == "claude-code"
    assert totals(tmp_path / "f.db") == EXPECTED["claude_code_session_v2.jsonl"][1]


def test_a_transcript_without_usage_says_what_it_held(run, tmp_path):
    shutil.copy(LOGS / "claude_code_summaries_only.jsonl", tmp_path)
    res = run("--db", "f.db", "ingest", "claude_code_summaries_only.jsonl")
    assert res.exit_code == 0
    assert res.stderr == (
        "claude_code_summaries_only.jsonl: 0 added, 0 updated, 0 duplicate, 0 rejected; "
        "2 line(s) skipped: 2 summary lines\n"
        "claude_code_summaries_only.jsonl: no usage in it (see the lines skipped above)\n"
    )


def test_codex_is_not_mistaken_for_claude_code():
    from llmaudit.sources.base import InputFile
    from llmaudit.sources.ingest import detect

    assert detect(InputFile.from_path(LOGS / "codex_rollout.jsonl")).name == "codex"


def test_otel_metrics_are_not_requests(run, tmp_path):
    shutil.copy(LOGS / "otel_genai_metrics.otlp.json", tmp_path)
    result = run("--db", "f.db", "ingest", "otel_genai_metrics.otlp.json")
    assert result.exit_code == 3
    assert "OTLP metrics are aggregates, not requests" in result.stderr
    assert totals(tmp_path / "f.db") == {}


@pytest.mark.parametrize("shape", ["indented page", "array", "indented array"])
def test_litellm_spend_logs_json_variants(run, tmp_path, shape):
    page = json.loads((LOGS / "litellm_spend_logs_ui_page.json").read_text())
    doc = {
        "indented page": lambda: json.dumps(page, indent=2),
        "array": lambda: json.dumps(page["data"]),
        "indented array": lambda: json.dumps(page["data"], indent=4),
    }[shape]()
    (tmp_path / "spend.json").write_text(doc)
    res = run("--db", "f.db", "ingest", "spend.json", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["inputs"][0]["format"] == "litellm-spendlogs"
    assert totals(tmp_path / "f.db") == EXPECTED["litellm_spend_logs_ui_page.json"][1]


def test_litellm_one_pretty_printed_row(run, tmp_path):
    """LiteLLM's own test fixtures hold one SpendLogs row, pretty-printed: one record."""
    row = json.loads((LOGS / "litellm_spend_logs_ui_page.json").read_text())["data"][1]
    (tmp_path / "row.json").write_text(json.dumps(row, indent=4))
    res = run("--db", "f.db", "ingest", "row.json", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["totals"]["added"] == 1
    assert totals(tmp_path / "f.db") == {
        "claude-sonnet-4-5-20250929": (1, 12, 16372, 2048, 0, 733, 0)
    }


def test_a_gemini_cli_legacy_session_larger_than_the_head(run, tmp_path):
    """A whole-JSON session-*.json of ~174 KB (the head is 64 KiB) is still recognised."""
    lines = [json.loads(x) for x in (LOGS / "gemini_cli_session.jsonl").read_text().splitlines()]
    meta, messages = lines[0], lines[1:]
    for m in messages:
        if m.get("type") == "user":
            m["content"] = [{"text": "x" * 90_000}]
    legacy = {**meta, "messages": messages}
    (tmp_path / "session-2026-08-18T14-00-5c1e9a7b.json").write_text(json.dumps(legacy, indent=2))
    assert (tmp_path / "session-2026-08-18T14-00-5c1e9a7b.json").stat().st_size > 170_000
    res = run("--db", "f.db", "ingest", str(tmp_path), "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["inputs"][0]["format"] == "gemini-cli"
    assert totals(tmp_path / "f.db") == EXPECTED["gemini_cli_session.jsonl"][1]


def test_batch_embeddings_are_timed_by_ts_or_the_file_time_and_say_so(run, tmp_path):
    import os

    name = "openai_batch_embeddings_output.jsonl"
    shutil.copy(LOGS / name, tmp_path / name)
    os.utime(tmp_path / name, (1793613600, 1793613600))  # 2026-11-02T10:00:00Z
    res = run("--db", "a.db", "ingest", name)
    assert res.exit_code == 0, res.stderr
    assert (
        f"{name}: 3 record(s): no 'created' in the response: timed by the file's modification "
        "time, 2026-11-02T10:00:00.000000Z (set --ts to choose)"
    ) in res.stderr
    rows = [json.loads(x) for x in run("--db", "a.db", "export").stdout.splitlines()]
    assert {r["ts"] for r in rows} == {"2026-11-02T10:00:00.000000Z"}
    # two identical embeddings are two requests: keyed by their batch request ids
    assert sorted(r["record_key"] for r in rows)[0] == (
        "openai-batch:batch_req_6931a0e2c4b88190a7e1f5d3c2b1a098"
    )
    given = run("--db", "b.db", "ingest", name, "--ts", "2026-10-31T23:00:00-01:00")
    assert "timed by --ts 2026-11-01T00:00:00.000000Z" in given.stderr
    rows = [json.loads(x) for x in run("--db", "b.db", "export").stdout.splitlines()]
    assert {r["ts"] for r in rows} == {"2026-11-01T00:00:00.000000Z"}
    bad = run("--db", "c.db", "ingest", name, "--ts", "yesterday")
    assert bad.exit_code == 2 and "--ts: 'yesterday' is not an ISO-8601 timestamp" in bad.stderr


def test_the_guides_llm_attributes_keep_attribution_and_reported_cost(run, tmp_path):
    shutil.copy(LOGS / "guide_llm_attributes.otlp.json", tmp_path)
    assert run("--db", "g.db", "ingest", "guide_llm_attributes.otlp.json").exit_code == 0
    rows = {
        r["request_id"]: r
        for r in map(json.loads, run("--db", "g.db", "export").stdout.splitlines())
    }
    assert rows["r1"]["user"] == "alice" and rows["r1"]["feature"] == "search"
    assert rows["r1"]["reported_cost_usd"] == "0.006"
    assert rows["r2"]["reported_cost_usd"] == "0.0213"
    assert rows["r1"]["record_key"] == "otel:5b8efff798038103d269b633813fc60c:a1b2c3d4e5f60002"


def test_structured_logs_say_the_mapping_and_map_overrides_it(run, tmp_path):
    shutil.copy(LOGS / "structured_app_log.jsonl", tmp_path)
    res = run("--db", "a.db", "ingest", "structured_app_log.jsonl")
    assert res.exit_code == 0, res.stderr
    assert (
        "1 record(s): read with the mapping model <- llm.model, input_tokens <- "
        "llm.usage.prompt_tokens, cache_read_tokens <- "
        "llm.usage.prompt_tokens_details.cached_tokens, output_tokens <- "
        "llm.usage.completion_tokens, user <- user, feature <- route, request_id <- request_id, "
        "ts <- timestamp"
    ) in res.stderr
    rows = {
        r["request_id"]: r
        for r in map(json.loads, run("--db", "a.db", "export").stdout.splitlines())
    }
    assert rows["r1"]["user"] == "alice" and rows["r1"]["reported_cost_usd"] == "0.006"
    assert rows["r3"]["feature"] == "/answer"
    # --map overrides what was inferred
    res = run(
        "--db", "b.db", "ingest", "structured_app_log.jsonl", "--format", "structured",
        "--map", "feature=msg",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    rows = {
        r["request_id"]: r
        for r in map(json.loads, run("--db", "b.db", "export").stdout.splitlines())
    }
    assert {r["feature"] for r in rows.values()} == {"llm call"}


def test_reconcile_logs_names_an_app_with_a_stale_price_table(run, tmp_path):
    """The guide's own example: its table prices gpt-4o at $15/$60 per 1M while the list price
    is $2.50/$10. 1,200 in and 300 out: the app logs (1200 x 15 + 300 x 60) / 1M = $0.036;
    the list price is (1200 x 2.5 + 300 x 10) / 1M = $0.006, 6x less."""
    lines = [
        '{"timestamp":"2026-11-20T10:00:00Z","model":"gpt-4o","input_tokens":1200,'
        '"output_tokens":300,"cost_usd":0.036,"feature":"search","request_id":"r1"}',
        # 800 x 0.15 + 100 x 0.60 = $0.00018: the right price
        '{"timestamp":"2026-11-20T10:01:00Z","model":"gpt-4o-mini","input_tokens":800,'
        '"output_tokens":100,"cost_usd":0.00018,"feature":"tagging","request_id":"r2"}',
    ]
    (tmp_path / "app.jsonl").write_text("\n".join(lines) + "\n")
    assert run("--db", "a.db", "ingest", "app.jsonl").exit_code == 0
    res = run(
        "--db", "a.db", "reconcile", "--logs", "--since", "2026-11-01", "--until", "2026-11-29",
        "--format", "json",
    )  # fmt: skip
    assert res.exit_code == 1, res.stderr
    body = json.loads(res.stdout)["reconcile_logs"]
    rows = {r["model"]: r for r in body["rows"]}
    assert rows["gpt-4o"]["logged_usd"] == "0.036"
    assert rows["gpt-4o"]["computed_usd"] == "0.006"
    assert rows["gpt-4o"]["difference"] == 5.0
    assert "the app logs 6.00x the list price (gpt-4o@2024-10-02)" in rows["gpt-4o"]["cause"]
    assert rows["gpt-4o-mini"]["difference"] == 0.0
    assert rows["gpt-4o-mini"]["cause"] is None


@pytest.mark.parametrize("order", [("parent", "fork"), ("fork", "parent")])
def test_a_codex_fork_counts_only_its_own_growth(run, tmp_path, order):
    names = {"parent": "codex_rollout.jsonl", "fork": "codex_rollout_fork.jsonl"}
    for key in order:
        shutil.copy(LOGS / names[key], tmp_path)
        res = run("--db", "f.db", "ingest", names[key])
        assert res.exit_code == 0, res.stderr
    parent = EXPECTED["codex_rollout.jsonl"][1]
    growth = (1, (26000 - 17532) - (22000 - 14464), 22000 - 14464, 0, 0, 1300 - 855, 700 - 512)
    want = dict(parent)
    want["gpt-5-codex"] = tuple(a + b for a, b in zip(parent["gpt-5-codex"], growth, strict=True))
    assert totals(tmp_path / "f.db") == want


def test_an_old_codex_rollout_says_the_model_was_assumed(run, tmp_path):
    shutil.copy(LOGS / "codex_rollout_no_turn_context.jsonl", tmp_path)
    res = run("--db", "f.db", "ingest", "codex_rollout_no_turn_context.jsonl")
    assert res.exit_code == 0, res.stderr
    assert "no turn_context with a model: priced as gpt-5" in res.stderr
    row = json.loads(run("--db", "f.db", "export").stdout)
    assert row["model"] == "gpt-5" and row["tags"]["model_assumed"] == "true"


def test_a_folder_mixing_every_format_and_decoys(run, tmp_path):
    """Every fixture in one folder (and a nested one), with decoys: each supported file is read
    with its own format, the rest are listed as skipped, and nothing fails."""
    logs = tmp_path / "mixed"
    (logs / "nested").mkdir(parents=True)
    for i, p in enumerate(sorted(LOGS.iterdir())):
        if p.name in ("README.md", "otel_genai_metrics.otlp.json"):
            continue
        shutil.copy(p, (logs / "nested" if i % 2 else logs) / p.name)
    (logs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (logs / "blob.jsonl").write_bytes(bytes(range(256)) * 8)  # binary, named like a log
    (logs / "package.json").write_text('{"name": "app", "version": "1.0.0"}\n')
    (logs / "notes.json").write_text('[{"todo": "ship it"}]\n')
    res = run("--db", "f.db", "ingest", str(logs), "--json")
    body = json.loads(res.stdout)
    formats = {Path(i["path"]).name: i["format"] for i in body["inputs"]}
    for name, (fmt, _) in EXPECTED.items():
        assert formats.get(name) == fmt, name
    skipped = {Path(p).name for p in body["skipped"]}
    assert skipped == {"photo.png", "blob.jsonl", "package.json", "notes.json"}
    assert body["totals"]["failed_inputs"] == 0
    assert res.exit_code == 3  # llm_logs.sqlite's one documented reject
    assert body["totals"]["rejected"] == 1
    assert "package.json: skipped: no format recognises its content" in res.stderr


def test_litellm_naive_times_are_utc_or_the_tz_given(run, tmp_path):
    shutil.copy(LOGS / "litellm_spend_logs_ui_page.json", tmp_path)
    assert run("--db", "u.db", "ingest", "litellm_spend_logs_ui_page.json").exit_code == 0
    first = json.loads(run("--db", "u.db", "export").stdout.splitlines()[0])
    assert first["ts"] == "2026-08-18T09:14:03.401000Z"  # "2026-08-18 09:14:03.401000", UTC
    res = run("--db", "p.db", "ingest", "litellm_spend_logs_ui_page.json", "--tz", "Europe/Paris")
    assert res.exit_code == 0, res.stderr
    first = json.loads(run("--db", "p.db", "export").stdout.splitlines()[0])
    assert first["ts"] == "2026-08-18T07:14:03.401000Z"  # Paris is UTC+2 in August
