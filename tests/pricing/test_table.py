"""Loading, layering and validating price files (small hand-written tables)."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest

from llmaudit.errors import ConfigError
from llmaudit.model.record import UsageRecord
from llmaudit.pricing.kernel import price_record
from llmaudit.pricing.table import bundled_path, load_table

TS = datetime(2026, 11, 1, tzinfo=timezone.utc)

BASE = """
schema = 1
[providers.acme]
name = "Acme"
batch = 0.5

[[models]]
id = "acme-1"
provider = "acme"
aliases = ["acme-one"]
source = "https://acme.example/pricing"
checked = 2026-01-01
[[models.prices]]
until = 2026-06-01
input = 4
output = 8
[[models.prices]]
from = 2026-06-01
input = 2
cache_write_5m = 2.5
output = 6
flex = { input = 1, output = 3 }
long_context = { above = 1000, input = 3, output = 9 }
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def rec(model="acme-1", **kw):
    return UsageRecord(ts=kw.pop("ts", TS), provider="acme", model=model, **kw)


def test_a_small_table(tmp_path):
    table = load_table([write(tmp_path, "p.toml", BASE)], bundled=False)
    # 100 x 2 + 100 x 2.5 (5m write) + 100 x 2.5 (no 1h price: priced as a 5m write)
    # + 10 x 6 = 760 -> $0.00076
    cost = price_record(
        rec(input_uncached=100, cache_write_5m=100, cache_write_1h=100, output=10), table
    )
    assert cost.total == D("0.00076")
    assert "no 1-hour cache-write price; priced as a 5-minute write" in cost.notes
    # No cache-read price: reads are priced as input (100 x 2 = $0.0002), and said so.
    read = price_record(rec(cache_read=100), table)
    assert read.total == D("0.0002")
    assert "no cache-read price; cache reads priced as input" in read.notes
    # Earlier period: $4 / $8.
    old = price_record(
        rec(ts=datetime(2026, 1, 1, tzinfo=timezone.utc), input_uncached=10**6), table
    )
    assert (old.total, old.price_id) == (D("4"), "acme-1")
    # A dated snapshot of a name matches it: 500 x 2 = $0.001 ...
    assert price_record(rec("acme-1-20261101", input_uncached=500), table).total == D("0.001")
    assert price_record(rec("acme-one-2026-11-01", input_uncached=500), table).priced
    # ... but no other suffix does: a model that did not exist when the table was written is
    # unpriced, with the closest names suggested (#14)
    for newer in ("acme-1-turbo", "acme-1-latest", "acme-1-002", "acme-15"):
        cost = price_record(rec(newer, input_uncached=500), table)
        assert not cost.priced, newer
        assert "closest: acme-1" in cost.notes[0]


def test_service_tiers(tmp_path):
    table = load_table([write(tmp_path, "p.toml", BASE)], bundled=False)
    # explicit flex: 500 x 1 + 500 x 3 = 2,000 -> $0.002
    flex = price_record(rec(input_uncached=500, output=500, service_tier="flex"), table)
    assert flex.total == D("0.002")
    # provider-wide batch multiplier 0.5: (500 x 2 + 500 x 6) / 2 = 2,000 -> $0.002
    batch = price_record(rec(input_uncached=500, output=500, service_tier="batch"), table)
    assert batch.total == D("0.002")
    # no priority price anywhere: standard price (500 x 2 + 500 x 6 -> $0.004), with a note
    prio = price_record(rec(input_uncached=500, output=500, service_tier="priority"), table)
    assert prio.total == D("0.004")
    assert prio.notes == ("no priority price known; priced at the standard rate",)
    # flex above the long-context threshold keeps the long/standard ratio:
    # input 1 x 3/2 = 1.5, output 3 x 9/6 = 4.5 -> 2,000 x 1.5 + 1,000 x 4.5 = $0.0075
    long_flex = price_record(rec(input_uncached=2000, output=1000, service_tier="flex"), table)
    assert long_flex.long_context
    assert long_flex.total == D("0.0075")


def test_aggregated_buckets_use_the_mean_request_for_the_tier(tmp_path):
    table = load_table([write(tmp_path, "p.toml", BASE)], bundled=False)
    # 10 requests, 5,000 input tokens: 500 a request, under the 1,000 threshold: 5,000 x 2.
    bucket = price_record(rec(requests=10, input_uncached=5000), table)
    assert (bucket.long_context, bucket.total) == (False, D("0.01"))


def test_user_layer_overrides_adds_and_discounts(tmp_path):
    user = write(
        tmp_path,
        "mine.toml",
        """
        [[models]]
        id = "gpt-4o"
        provider = "openai"
        [[models.prices]]
        input = 1
        output = 2

        [[models]]
        id = "in-house-7b"
        provider = "self"
        [[models.prices]]
        input = 0.1
        output = 0.1

        [[discounts]]
        provider = "anthropic"
        multiplier = 0.8

        [[discounts]]
        model = "claude-3-haiku"
        multiplier = 0.5
        """,
    )
    table = load_table([user])
    tokens = {"input_uncached": 100_000, "output": 100_000}
    # the user's gpt-4o: 100,000 x 1 + 100,000 x 2 = $0.30
    assert price_record(rec("gpt-4o", **tokens), table).total == D("0.3")
    assert price_record(rec("in-house-7b", **tokens), table).total == D("0.02")
    # claude-sonnet-4-5 at $3 / $15: $0.30 + $1.50 = $1.80, 20% off: $1.44
    sonnet = price_record(rec("claude-sonnet-4-5", **tokens), table)
    assert (sonnet.total, sonnet.discount) == (D("1.44"), D("0.8"))
    # a model discount beats the provider's: ($0.025 + $0.125) x 0.5 = $0.075
    assert price_record(rec("claude-3-haiku", **tokens), table).total == D("0.075")
    assert table.files == [str(bundled_path()), str(user)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[models]]\nid = 'x'\nprovider = 'p'\nprice = []\n", "models[0] (x).price: unknown key"),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\ninput = -1\n",
            "models[0] (x).prices[0].input: must be a non-negative number, got -1",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\ninput = 'cheap'\n",
            "models[0] (x).prices[0].input: must be a number, got 'cheap'",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\noutput = 1\n",
            "models[0] (x).prices[0].input: is required",
        ),
        ("[[models]]\nprovider = 'p'\n", "models[0].id: is required"),
        ("[[models]]\nid = 'x'\nprovider = 'p'\n", "models[0] (x).prices: needs at least one"),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\ninput = 1\n"
            "[[models.prices]]\nfrom = 2026-01-01\ninput = 2\n",
            "models[0] (x).prices: periods starting initial and 2026-01-01 overlap",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\nuntil = 2026-02-01\ninput = 1\n"
            "[[models.prices]]\nfrom = 2026-01-01\ninput = 2\n",
            "periods starting initial and 2026-01-01 overlap",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\nfrom = 2026-02-01\n"
            "until = 2026-01-01\ninput = 1\n",
            "models[0] (x).prices[0].until: must be after 'from'",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\nfrom = 'soon'\ninput = 1\n",
            "models[0] (x).prices[0].from: must be a date",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\naliases = ['y']\n[[models.prices]]\ninput = 1\n"
            "[[models]]\nid = 'y'\nprovider = 'p'\n[[models.prices]]\ninput = 1\n",
            "models (x).aliases: 'y' also names y",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\nprefixes = ['a-']\n[[models.prices]]\ninput = 1\n",
            "models[0] (x).prefixes: prefix rules are not supported",
        ),
        (
            "[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\ninput = 1\n"
            "long_context = { above = 0, input = 2 }\n",
            "models[0] (x).prices[0].long_context.above: must be a positive whole number",
        ),
        ("[[discounts]]\nmultiplier = 0.5\n", "discounts[0]: name exactly one of"),
        ("schema = 2\n", "schema: version 2 is not supported"),
        ("models = 'all'\n", "models: must be an array of tables"),
        ("this is not toml", "invalid TOML"),
    ],
)
def test_invalid_files_name_file_key_and_reason(tmp_path, text, message):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_table([path], bundled=False)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_bundled_table_is_valid_and_broad():
    table = load_table()
    assert len(table.models) >= 1200
    providers = {m.provider for m in table.models.values()}
    assert {
        "openai",
        "anthropic",
        "google",
        "mistral",
        "deepseek",
        "xai",
        "cohere",
        "bedrock",
        "azure",
        "groq",
        "together",
        "fireworks",
        "openrouter",
    } <= providers
    for model in table.models.values():
        assert model.source, model.id
        assert model.periods or model.unit, model.id
    assert any(len(m.periods) > 1 for m in table.models.values())


def test_later_layers_win_names(tmp_path):
    user = write(
        tmp_path,
        "mine.toml",
        """
        [[models]]
        id = "my-4o"
        provider = "openai"
        aliases = ["gpt-4o-2024-08-06", "claude-sonnet-4-5-custom"]
        [[models.prices]]
        input = 1
        output = 1
        """,
    )
    from llmaudit.pricing.match import match

    table = load_table([user])
    assert match(table, "gpt-4o-2024-08-06").model.id == "my-4o"
    assert match(table, "gpt-4o-2024-11-20").model.id == "gpt-4o-2024-11-20"
    assert match(table, "claude-sonnet-4-5-custom").model.id == "my-4o"
