"""Golden costs from the bundled pricing.toml, each worked out by hand from the public price.

Prices are USD per million tokens, so cost = tokens x price / 1,000,000.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal as D

import pytest

from llmaudit.model.record import UsageRecord
from llmaudit.pricing.kernel import price_record, total_cost
from llmaudit.pricing.table import load_table

NOV = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def table():
    return load_table()


def rec(model, ts=NOV, **kw):
    return UsageRecord(ts=ts, provider=kw.pop("provider", "x"), model=model, **kw)


def parts(cost):
    return (cost.input, cost.cache_read, cost.cache_write, cost.output, cost.other)


def test_openai_cached_input_is_not_counted_twice(table):
    # gpt-4o since 2024-10-02: input $2.50, cached input $1.25, output $10.
    # 1,200 input tokens of which 1,000 cached -> 200 uncached.
    # 200 x 2.50 = 500 -> $0.0005; 1,000 x 1.25 = 1,250 -> $0.00125; 300 x 10 -> $0.003.
    cost = price_record(rec("gpt-4o", input_uncached=200, cache_read=1000, output=300), table)
    assert parts(cost) == (D("0.0005"), D("0.00125"), D("0"), D("0.003"), D("0"))
    assert cost.total == D("0.00475")
    assert cost.price_id == "gpt-4o@2024-10-02"


def test_anthropic_5m_and_1h_writes_and_reads(table):
    # claude-sonnet-4-5: input $3, cache read $0.30, 5m write $3.75, 1h write $6, output $15.
    # 500 x 3 = $0.0015; 3,000 x 0.30 = $0.0009;
    # 1,000 x 3.75 = $0.00375 + 500 x 6 = $0.003 -> writes $0.00675;
    # 800 output (200 of them reasoning, inside the 800) x 15 = $0.012.
    cost = price_record(
        rec(
            "claude-sonnet-4-5",
            input_uncached=500,
            cache_read=3000,
            cache_write_5m=1000,
            cache_write_1h=500,
            output=800,
            reasoning=200,
        ),
        table,
    )
    assert parts(cost) == (D("0.0015"), D("0.0009"), D("0.00675"), D("0.012"), D("0"))
    assert cost.total == D("0.02115")
    assert not cost.long_context


def test_sonnet_45_long_context_prices_the_whole_request(table):
    # 250,000 input tokens > 200,000: the WHOLE request moves to $6 in / $22.50 out
    # (not just the 50,000 above the threshold).
    # 250,000 x 6 = $1.50; 1,000 x 22.50 = $0.0225; total $1.5225.
    cost = price_record(
        rec("claude-sonnet-4-5-20250929", input_uncached=250_000, output=1000), table
    )
    assert cost.long_context
    assert parts(cost) == (D("1.5"), D("0"), D("0"), D("0.0225"), D("0"))
    assert cost.total == D("1.5225")


def test_long_context_threshold_counts_cache_tokens_and_is_exclusive(table):
    # Exactly 200,000 input tokens is still standard: 200,000 x 3 = $0.60.
    at = price_record(rec("claude-sonnet-4-5", input_uncached=200_000), table)
    assert (at.long_context, at.total) == (False, D("0.6"))
    # 150,000 uncached + 50,001 cache reads = 200,001 input tokens: long context.
    # 150,000 x 6 = $0.90; 50,001 x 0.60 = $0.0300006.
    over = price_record(rec("claude-sonnet-4-5", input_uncached=150_000, cache_read=50_001), table)
    assert over.long_context
    assert over.total == D("0.9300006")


def test_gemini_25_pro_over_200k(table):
    # gemini-2.5-pro above 200k: input $2.50, cache read $0.25, output $15 (whole request).
    # 300,000 input of which 100,000 cached: 200,000 x 2.5 = $0.50; 100,000 x 0.25 = $0.025;
    # 2,000 output (incl. 1,500 thinking) x 15 = $0.03. Total $0.555.
    cost = price_record(
        rec(
            "gemini-2.5-pro",
            input_uncached=200_000,
            cache_read=100_000,
            output=2000,
            reasoning=1500,
        ),
        table,
    )
    assert cost.long_context
    assert parts(cost) == (D("0.5"), D("0.025"), D("0"), D("0.03"), D("0"))
    assert cost.total == D("0.555")


def test_batch_is_half_price(table):
    # OpenAI Batch API: 50% of gpt-4o's $2.50 / $10.
    # 1,000,000 x 1.25 = $1.25; 100,000 x 5 = $0.50; total $1.75.
    cost = price_record(
        rec("gpt-4o", input_uncached=1_000_000, output=100_000, service_tier="batch"), table
    )
    assert cost.total == D("1.75")
    # Anthropic Message Batches: 50% of every price, cache reads included.
    # 10,000 x 1.50 = $0.015; 10,000 x 0.15 = $0.0015; 1,000 x 7.50 = $0.0075.
    claude = price_record(
        rec(
            "claude-sonnet-4-5",
            input_uncached=10_000,
            cache_read=10_000,
            output=1000,
            service_tier="batch",
        ),
        table,
    )
    assert parts(claude) == (D("0.015"), D("0.0015"), D("0"), D("0.0075"), D("0"))


def test_reasoning_model_counts_reasoning_once(table):
    # o3 since 2025-06-10: input $2, cached $0.50, output $8; reasoning is part of output.
    # 8,000 x 2 = $0.016; 2,000 x 0.5 = $0.001; 5,000 x 8 = $0.04 (not 5,000 + 4,000).
    cost = price_record(
        rec("o3", input_uncached=8000, cache_read=2000, output=5000, reasoning=4000), table
    )
    assert cost.total == D("0.057")
    assert cost.price_id == "o3@2025-06-10"


def test_price_in_force_at_the_records_time(table):
    # o3 cost $10 / $40 before 2025-06-10 and $2 / $8 after; a million each way:
    before = rec(
        "o3", ts=datetime(2025, 5, 1, tzinfo=timezone.utc), input_uncached=10**6, output=10**6
    )
    after = rec(
        "o3", ts=datetime(2025, 7, 1, tzinfo=timezone.utc), input_uncached=10**6, output=10**6
    )
    assert price_record(before, table).total == D("50")
    assert price_record(after, table).total == D("10")
    assert price_record(before, table).price_id == "o3"
    # gpt-4o was $5 / $15 until the alias moved on 2024-10-02: 1M in + 1M out = $20, then $12.50.
    assert price_record(
        rec(
            "gpt-4o",
            ts=datetime(2024, 9, 1, tzinfo=timezone.utc),
            input_uncached=10**6,
            output=10**6,
        ),
        table,
    ).total == D("20")
    assert price_record(
        rec(
            "gpt-4o",
            ts=datetime(2024, 10, 2, tzinfo=timezone.utc),
            input_uncached=10**6,
            output=10**6,
        ),
        table,
    ).total == D("12.5")


@pytest.mark.parametrize(
    ("name", "entry", "total"),
    [
        # 100,000 tokens each way (under every long-context threshold).
        # Claude 3 Haiku: $0.25 in, $1.25 out -> $0.025 + $0.125 = $0.15; on Bedrock (a
        # route) at Bedrock's regional price for it, the same $0.25 / $1.25
        (
            "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
            "bedrock/regional.anthropic.claude-3-haiku-20240307-v1:0",
            D("0.15"),
        ),
        (
            "us.anthropic.claude-3-haiku-20240307-v1:0",
            "bedrock/regional.anthropic.claude-3-haiku-20240307-v1:0",
            D("0.15"),
        ),
        ("claude-3-haiku@20240307", "claude-3-haiku", D("0.15")),
        # dated snapshots have their own entries at $2.50 / $10 ($0.25 + $1 = $1.25) ...
        ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06", D("1.25")),
        ("openai/gpt-4o-2024-11-20", "gpt-4o-2024-11-20", D("1.25")),
        # ... but the first snapshot kept its own $5 / $15 price: $0.50 + $1.50 = $2
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13", D("2")),
        # Claude 3.5 Sonnet: $3 / $15 -> $0.30 + $1.50 = $1.80
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet", D("1.8")),
        # Llama 3.1 70B on Bedrock: $0.72 / $0.72 -> $0.072 + $0.072 = $0.144
        (
            "us.meta.llama3-1-70b-instruct-v1:0",
            "bedrock/meta.llama3-1-70b-instruct-v1:0",
            D("0.144"),
        ),
        # Gemini 2.5 Pro on Vertex: $1.25 / $10 -> $0.125 + $1 = $1.125
        ("vertex_ai/gemini-2.5-pro", "gemini-2.5-pro", D("1.125")),
    ],
)
def test_prefixed_and_dated_names(table, name, entry, total):
    cost = price_record(rec(name, input_uncached=100_000, output=100_000), table)
    assert cost.model_id == entry
    assert not cost.long_context
    assert cost.total == total


def test_embedding_model(table):
    # text-embedding-3-small: $0.02 per 1M input tokens; 5,000,000 tokens = $0.10.
    cost = price_record(rec("text-embedding-3-small", input_uncached=5_000_000), table)
    assert cost.total == D("0.1")


def test_unknown_model_is_unpriced_not_zero(table):
    known = rec("gpt-4o", input_uncached=1000, output=0)  # 1,000 x 2.50 = $0.0025
    unknown = rec("gpt-9", input_uncached=3000, output=0)
    cost = price_record(unknown, table)
    assert not cost.priced
    assert cost.total is None
    assert cost.input is None
    assert "no price entry matches model 'gpt-9'" in cost.notes[0]
    totals = total_cost([known, unknown], table)
    assert totals.total == D("0.0025")
    assert (totals.records, totals.priced_records) == (2, 1)
    assert totals.coverage == D("0.25")  # 1,000 of 4,000 tokens priced
    assert totals.unpriced_models == {"gpt-9": 1}


def test_response_cache_hits_cost_nothing(table):
    cost = price_record(rec("gpt-4o", input_uncached=1000, output=10, status="cache_hit"), table)
    assert cost.priced
    assert cost.total == D("0")


def test_totals_equal_the_sum_of_their_parts(table):
    records = [
        rec("gpt-4o", input_uncached=123, cache_read=456, output=789),
        rec("claude-sonnet-4-5", input_uncached=1, cache_write_1h=7, output=3),
        rec("o3", input_uncached=999, output=1, service_tier="batch"),
    ]
    totals = total_cost(records, table)
    each = [price_record(r, table).total for r in records]
    assert totals.total == sum(each)
    assert totals.total == sum(totals.parts.values())


@pytest.mark.parametrize(("provider", "model"), [("groq", "mixtral-8x7b-32768"),
                                                ("x", "groq/mixtral-8x7b-32768")])  # fmt: skip
def test_a_route_is_priced_at_its_own_price(table, provider, model):
    """Groq's mixtral-8x7b-32768 is $0.24/M (console.groq.com/docs/models), not Mistral's
    $0.70/M for Mixtral 8x7B: 1M input tokens cost $0.24."""
    cost = price_record(rec(model, provider=provider, input_uncached=10**6), table)
    assert (cost.model_id, cost.total) == ("groq/mixtral-8x7b-32768", D("0.24"))


@pytest.mark.parametrize(
    ("provider", "model", "note"),
    [
        # Together sells no model of that name: unpriced, never Mistral's price
        ("together_ai", "mixtral-8x7b-32768", "no together price for 'mixtral-8x7b-32768'"),
        # Fireworks has no mixtral-8x7b entry: the note names the price it did not assume
        ("fireworks", "fireworks_ai/mixtral-8x7b", "(not priced as mistral's mixtral-8x7b)"),
        # a host with no prices at all in the table
        ("deepinfra", "mistralai/Mixtral-8x7B-Instruct-v0.1", "which sets its own prices"),
    ],
)
def test_a_route_without_a_price_is_never_priced_at_the_vendors_price(table, provider, model, note):
    cost = price_record(rec(model, provider=provider, input_uncached=10**6), table)
    assert cost.total is None and not cost.priced
    assert note in cost.notes[0]
    # the same model from its own vendor keeps the vendor's price
    assert price_record(rec("mixtral-8x7b", provider="mistral", input_uncached=1), table).priced


def test_a_hosts_own_price_file_prices_its_route(tmp_path):
    mine = tmp_path / "groq.toml"
    mine.write_text(
        '[[models]]\nid = "mixtral-8x7b-32768"\nprovider = "groq"\n'
        "[[models.prices]]\ninput = 0.24\noutput = 0.24\n"
    )
    table = load_table([mine])
    # 1M input x $0.24 + 1M output x $0.24 = $0.48, at Groq's own price
    cost = price_record(
        rec("mixtral-8x7b-32768", provider="groq", input_uncached=10**6, output=10**6), table
    )
    assert cost.total == D("0.48")
