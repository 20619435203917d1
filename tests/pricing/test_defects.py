"""Golden tests for the price defects of #14, each against the bundled table and the published
price it encodes (per million tokens unless said)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest

from llmaudit.model.record import UsageRecord
from llmaudit.pricing.kernel import price_record
from llmaudit.pricing.table import load_table

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def table():
    return load_table()


def cost(table, model, provider="unknown", ts=NOW, **tokens):
    return price_record(UsageRecord(ts=ts, provider=provider, model=model, **tokens), table)


# 1. A route is priced at the route's price
@pytest.mark.parametrize(
    ("provider", "model", "entry", "total"),
    [
        # Groq: gpt-oss-120b $0.15 / $0.60 (groq.com/pricing): 1M + 1M = $0.75, where the
        # first-party-looking name was priced at $0.039 / $0.18
        ("groq", "openai/gpt-oss-120b", "groq/openai/gpt-oss-120b", D("0.75")),
        # Groq: deepseek-r1-distill-llama-70b $0.75 / $0.99
        ("groq", "deepseek-r1-distill-llama-70b", "groq/deepseek-r1-distill-llama-70b", D("1.74")),
        # OpenRouter charges for Gemma 3 27B ($0.08 / $0.35 from 2026-10-19), never $0
        ("openrouter", "google/gemma-3-27b-it", "openrouter/google/gemma-3-27b-it", D("0.43")),
        (
            "unknown",
            "openrouter/google/gemma-3-27b-it",
            "openrouter/google/gemma-3-27b-it",
            D("0.43"),
        ),
    ],
)
def test_routes_are_priced_at_their_own_price(table, provider, model, entry, total):
    c = cost(table, model, provider, input_uncached=10**6, output=10**6)
    assert (c.model_id, c.total) == (entry, total)


# 2. Matching is exact
@pytest.mark.parametrize(
    "name",
    [
        "claude-opus-5-7",  # no prefix rule prices a model that did not exist (as claude-opus-5)
        "deepseek-r1-distill-llama-70b",  # first-party: not DeepSeek's R1
        "gpt-4o-latest-preview",  # no "-latest" stripping
        "gpt-4o-002",  # no "-002" stripping
    ],
)
def test_names_that_are_not_entries_are_unpriced_with_the_closest_named(table, name):
    c = cost(table, name, input_uncached=10**6)
    assert not c.priced and c.total is None
    assert "closest:" in c.notes[0]


def test_davinci_002_is_its_own_model(table):
    # OpenAI: davinci-002 $2 / $2 (was priced 10x as the retired davinci)
    c = cost(table, "davinci-002", input_uncached=10**6, output=10**6)
    assert (c.model_id, c.total) == ("davinci-002", D("4"))


def test_text_to_speech_is_never_priced_as_text(table):
    c = cost(table, "tts-1", input_uncached=10**6)
    assert not c.priced
    assert c.notes[0] == "tts-1 is priced per unit (characters): not priced as text"


# 3. A dated snapshot has its own history
def test_a_dated_snapshot_is_never_priced_at_the_alias_history(table):
    before = datetime(2024, 9, 1, tzinfo=timezone.utc)
    # gpt-4o-2024-08-06 launched at $2.50 / $10; the gpt-4o alias meant $5 / $15 until 2024-10-02
    assert cost(table, "gpt-4o-2024-08-06", ts=before, input_uncached=10**6).total == D("2.5")
    assert cost(table, "gpt-4o", ts=before, input_uncached=10**6).total == D("5")


# 4. Long-context tiers
@pytest.mark.parametrize(
    ("model", "input_tokens", "total"),
    [
        # gpt-5.5-pro above 272K input: the whole request at $60 in: 1.07M x $60 = $64.20
        ("gpt-5.5-pro", 1_070_000, D("64.2")),
        # gpt-5.5 above 272K: $10 in: 300K x $10 = $3
        ("gpt-5.5", 300_000, D("3")),
        # Claude Sonnet 4 with the 1M window above 200K: $6 in: 300K x $6 = $1.80
        ("claude-sonnet-4-20250514", 300_000, D("1.8")),
        # under the threshold, the standard price: 200K x $3 = $0.60
        ("claude-sonnet-4-20250514", 200_000, D("0.6")),
    ],
)
def test_long_context_tiers(table, model, input_tokens, total):
    assert cost(table, model, input_uncached=input_tokens).total == total


# 5. Time of day and corrected prices
@pytest.mark.parametrize(
    ("hour", "total"),
    [
        (10, D("0.27")),  # 00:30-16:30 UTC: DeepSeek's standard price, $0.27 in
        (20, D("0.135")),  # outside it: the off-peak price, $0.135 in
        (0, D("0.135")),
    ],
)
def test_deepseek_is_priced_by_the_hour(table, hour, total):
    at = datetime(2026, 11, 1, hour, tzinfo=timezone.utc)
    assert cost(table, "deepseek-chat", ts=at, input_uncached=10**6).total == total


def test_ministral_8b_output(table):
    # Mistral: Ministral 8B $0.10 / $0.10 (the output was $1)
    assert cost(table, "ministral-8b", output=10**6).total == D("0.1")


def test_a_report_prices_each_hour_at_its_own_deepseek_price(run, tmp_path):
    """Grouped pricing (the report) gives what pricing each record gives: 1M input tokens at
    10:00 ($0.27) and 1M at 20:00 UTC ($0.135) on one day are $0.405, not 2 x either."""
    lines = [
        {"ts": f"2026-11-01T{h}:00:00Z", "provider": "deepseek", "model": "deepseek-chat",
         "input_tokens": 1_000_000}
        for h in ("10", "20")
    ]  # fmt: skip
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert run("--db", "d.db", "ingest", "d.jsonl").exit_code == 0
    out = run("--db", "d.db", "report", "summary", "--since", "2026-11-01", "--until",
              "2026-11-01", "--format", "json")  # fmt: skip
    assert json.loads(out.stdout)["report"]["sections"]["summary"]["spend_usd"] == "0.405"
    swapped = run("--db", "d.db", "whatif", "--swap", "deepseek-chat=deepseek-chat", "--since",
                  "2026-11-01", "--until", "2026-11-01", "--format", "json")  # fmt: skip
    assert json.loads(swapped.stdout)["whatif"]["total"]["current_usd"] == "0.405"


# 6. Fresh
def test_the_table_has_the_new_releases_and_says_when_it_was_built(table):
    for model in ("claude-opus-5-5", "gpt-5.5", "gemini-3.1-pro-preview", "deepseek-v4-flash"):
        assert cost(table, model, input_uncached=1).priced, model
    from pathlib import Path

    assert "\ngenerated = 20" in Path(table.files[0]).read_text(encoding="utf-8")
