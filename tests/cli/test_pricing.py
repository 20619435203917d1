from __future__ import annotations

import json
import textwrap

from conftest import DATA


def test_explain_names_entry_and_rule(run):
    result = run("pricing", "explain", "claude-3-5-sonnet-20241022", "--at", "2026-11-01")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert (
        lines[0] == "claude-3-5-sonnet-20241022 -> claude-3-5-sonnet (Claude Sonnet 3.5, anthropic)"
    )
    assert (
        lines[1]
        == "  matched by: id 'claude-3-5-sonnet' after removing snapshot suffix '-20241022'"
    )
    assert "  price in force at 2026-11-01: claude-3-5-sonnet (from the beginning)" in lines
    assert (
        "  input $3, cache read $0.3, cache write 5m $3.75, cache write 1h $6, output $15 "
        "per 1M tokens" in lines
    )


def test_explain_bedrock_name(run):
    result = run("pricing", "explain", "bedrock/anthropic.claude-3-haiku-20240307-v1:0")
    assert result.exit_code == 0
    # Bedrock is a route: its own (regional) price, never Anthropic's first-party entry (#14)
    assert result.stdout.startswith(
        "bedrock/anthropic.claude-3-haiku-20240307-v1:0 -> "
        "bedrock/regional.anthropic.claude-3-haiku-20240307-v1:0 "
        "(regional.anthropic.claude-3-haiku-20240307-v1:0, bedrock)\n"
        "  matched by: bedrock route: exact id "
        "(as 'regional.anthropic.claude-3-haiku-20240307-v1:0')\n"
    )


def test_explain_unknown_model(run):
    result = run("pricing", "explain", "gpt-9")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "gpt-9: unpriced - no price entry matches this name."
    assert "Closest names: gpt-5, gpt-4, gpt-4o" in result.stdout
    as_json = json.loads(run("pricing", "explain", "gpt-9", "--format", "json").stdout)
    assert as_json["explain"] == {
        "model": "gpt-9",
        "priced": False,
        "suggestions": ["gpt-5", "gpt-4", "gpt-4o"],
    }


def test_explain_at_a_date_uses_that_periods_price(run):
    out = run("pricing", "explain", "o3", "--at", "2025-05-01", "--format", "json").stdout
    assert json.loads(out)["explain"]["price_id"] == "o3"
    out = run("pricing", "explain", "o3", "--at", "2025-07-01", "--format", "json").stdout
    assert json.loads(out)["explain"]["price_id"] == "o3@2025-06-10"


def test_list_and_show(run):
    listed = json.loads(
        run("pricing", "list", "--provider", "anthropic", "--at", "2026-11-01").stdout
    )
    row = next(m for m in listed["models"] if m["id"] == "claude-sonnet-4-5")
    assert (row["input"], row["cache_read"], row["cache_write_1h"], row["output"]) == (
        "3",
        "0.3",
        "6",
        "15",
    )
    assert row["long_context"] == ">200,000"
    assert {m["provider"] for m in listed["models"]} == {"anthropic"}
    table = run("pricing", "list", "--format", "table")
    assert table.exit_code == 0
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    shown = json.loads(run("pricing", "show", "gpt-4o").stdout)["model"]
    assert shown["id"] == "gpt-4o"
    assert [(p["from"], p["until"], p["input"]) for p in shown["periods"]] == [
        (None, "2024-10-02", "5"),
        ("2024-10-02", None, "2.5"),
    ]
    # a dated snapshot has its own history: never gpt-4o's $5 of before 2024-10-02 (#14)
    snapshot = json.loads(run("pricing", "show", "gpt-4o-2024-08-06").stdout)["model"]
    assert snapshot["id"] == "gpt-4o-2024-08-06"
    assert [(p["from"], p["until"], p["input"]) for p in snapshot["periods"]] == [
        (None, None, "2.5")
    ]
    missing = run("pricing", "show", "gpt-9")
    assert missing.exit_code == 2
    assert "closest: gpt-5, gpt-4, gpt-4o" in missing.stderr


def test_check(run, tmp_path):
    ok = run("pricing", "check")
    assert ok.exit_code == 0
    assert ok.stdout.startswith("ok: ")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[models]]\nid = 'x'\nprovider = 'p'\n[[models.prices]]\ninput = -2\n")
    result = run("pricing", "check", str(bad))
    assert result.exit_code == 3
    assert result.stderr == (
        f"llmaudit: error: {bad}: models[0] (x).prices[0].input: must be a non-negative number, "
        "got -2\n"
    )


def test_pricing_option_and_config_layer(run, tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text(
        textwrap.dedent(
            """
            [[models]]
            id = "house-model"
            provider = "self"
            source = "internal"
            [[models.prices]]
            input = 1
            output = 1
            """
        )
    )
    assert run("pricing", "explain", "house-model").stdout.startswith("house-model: unpriced")
    via_option = run("--pricing", str(mine), "pricing", "explain", "house-model")
    assert via_option.stdout.startswith("house-model -> house-model")
    run("config", "set", "pricing.path", str(mine))
    assert run("pricing", "explain", "house-model").stdout.startswith("house-model -> house-model")


def test_import_litellm(run, tmp_path):
    out = tmp_path / "imported.toml"
    result = run("pricing", "import-litellm", str(DATA / "litellm_sample.json"), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"converted 2 models from {DATA / 'litellm_sample.json'}\n"
    text = out.read_text()
    assert 'id = "my-gpt"' in text
    assert "long_context = { above = 200000, input = 4, output = 16 }" in text
    assert "batch = { input = 1, output = 4 }" in text
    # The result is a valid layer: 1,000 x $2 + 1,000 x $8 = $0.01.
    checked = run("--pricing", str(out), "pricing", "explain", "my-gpt", "--format", "json")
    assert json.loads(checked.stdout)["explain"]["entry"] == "my-gpt"
    assert run("pricing", "check", str(out)).exit_code == 0
