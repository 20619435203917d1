"""The Claude Console's usage export (the Usage page's CSV): a row per day, model, key and
workspace, disjoint token categories, priced by its own context window and usage type."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import DATA, exported, reconcile_billed, report_summary

pytestmark = pytest.mark.both_engines

FIXTURE = DATA / "logs" / "anthropic_console_usage.csv"


def test_the_usage_export_is_read_and_priced(run, tmp_path):
    """Sonnet 4.5 ($3 / $15, reads $0.30, 5m writes $3.75): 46,981 x 3 + 15,969 x 3.75 +
    120,000 x 0.30 + 16,932 x 15 = $0.49080675. Its "> 200k" row at the long-context price
    ($6 / $22.5, 1h writes $12): 400,000 x 6 + 10,000 x 12 + 2,000 x 22.5 = $2.565. Haiku 4.5
    in batch (half of $1 / $5): 1,000,000 x 0.5 + 200,000 x 2.5 = $1.00. Opus 4.1 ($15 / $75):
    1,000 x 15 + 500 x 75 = $0.0525. Total $4.10830675."""
    shutil.copy(FIXTURE, tmp_path / "usage.csv")
    res = run("--db", "a.db", "ingest", "usage.csv", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["inputs"][0]["format"] == "anthropic-console"
    assert "4 added" in res.stderr and "unpriced" not in res.stderr
    assert report_summary(run, "a.db", "2026-11-20", "2026-11-21")["spend_usd"] == "4.10830675"
    rows = {(r["model"], r["tags"]["context_window"]): r for r in exported(run, "a.db")}
    short = rows[("claude-sonnet-4-5-20250929", "0-200k")]
    assert (short["ts"], short["ts_end"], short["requests"]) == (
        "2026-11-20T00:00:00.000000Z",
        "2026-11-21T00:00:00.000000Z",
        0,
    )
    assert (short["api_key"], short["project"], short["cost_usd"]) == (
        "Closer App",
        "Default",
        "0.49080675",
    )
    assert (short["cache_read_tokens"], short["cache_write_tokens"]) == (120_000, 15_969)
    long = rows[("claude-sonnet-4-5-20250929", "200k+")]
    assert (long["cache_write_1h_tokens"], long["cost_usd"]) == (10_000, "2.565")
    haiku = rows[("claude-haiku-4-5-20251001", "0-200k")]
    assert (haiku["service_tier"], haiku["cost_usd"]) == ("batch", "1")
    assert haiku["tags"]["web_search_requests"] == "3"
    assert haiku["tags"]["inference_geo"] == "not_available"
    opus = rows[("claude-opus-4-1-20250805", "0-200k")]
    assert "api_key" not in opus  # Workbench usage has no key
    shutil.copy(FIXTURE, tmp_path / "usage (1).csv")
    again = run("--db", "a.db", "ingest", "usage (1).csv")
    assert again.exit_code == 0, again.stderr
    assert "0 added, 0 updated, 4 duplicate" in again.stderr


def test_a_later_export_updates_a_day_that_grew_and_adds_a_new_one(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(lines[:4]) + "\n")
    assert "3 added" in run("--db", "a.db", "ingest", "usage.csv").stderr
    grown = lines[3].replace(",1000000,0,0,0,200000,", ",2000000,0,0,0,400000,")
    assert grown != lines[3]
    path.write_text("\n".join([*lines[:3], grown, lines[4]]) + "\n")
    res = run("--db", "a.db", "ingest", "usage.csv")
    assert "1 added, 1 updated, 2 duplicate" in res.stderr
    # the Haiku day now costs $2.00 instead of $1.00
    assert report_summary(run, "a.db", "2026-11-20", "2026-11-21")["spend_usd"] == "5.10830675"


def test_the_older_export_with_one_cache_write_column(run, tmp_path):
    """Before 1-hour writes, one `usage_input_tokens_cache_write` column (5-minute writes),
    and no context window: standard context. Sonnet 4.5: 1,000 x 3 + 2,000 x 3.75 +
    10,000 x 0.30 + 500 x 15 = $0.021."""
    (tmp_path / "old.csv").write_text(
        "usage_date_utc,model_version,api_key,workspace,usage_input_tokens_no_cache,"
        "usage_input_tokens_cache_write,usage_input_tokens_cache_read,usage_output_tokens\n"
        "2026-11-20,claude-sonnet-4-5-20250929,k,Default,1000,2000,10000,500\n"
    )
    res = run("--db", "a.db", "ingest", "old.csv")
    assert res.exit_code == 0, res.stderr
    (row,) = exported(run, "a.db")
    assert (row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (2000, 0)
    assert row["cost_usd"] == "0.021"


def test_bad_rows_name_their_line_and_field(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    (tmp_path / "u.csv").write_text(
        "\n".join(
            [
                lines[0],
                lines[1].replace("46981", "lots"),
                lines[2].replace("> 200k", "huge"),
                lines[3],
            ]
        )
        + "\n"
    )
    res = run("--db", "a.db", "ingest", "u.csv")
    assert res.exit_code == 3
    assert "u.csv:2: usage_input_tokens_no_cache: must be an integer, got 'lots'" in res.stderr
    assert (
        "u.csv:3: context_window: is not a context window like '≤ 200k', got 'huge'" in res.stderr
    )
    assert "1 added" in res.stderr and "2 rejected" in res.stderr


def test_the_cost_export_is_named_not_read(run, tmp_path):
    (tmp_path / "cost.csv").write_text(
        # the columns seen in code that reads real cost exports (it has more, not known here)
        "usage_date_utc,model,token_type,cost_usd\n"
        "2026-11-20,Claude Sonnet 4.5,input_no_cache,0.14\n"
        "2026-11-20,Claude Sonnet 4.5,output,0.25\n"
    )
    res = run("--db", "a.db", "ingest", "cost.csv")
    assert res.exit_code == 0, res.stderr
    assert (
        "2 line(s) skipped: 2 rows of the Claude Console's cost export, not usage (it is the "
        "bill: 'llmaudit reconcile --billed FILE' reads it)" in res.stderr
    )
    assert exported(run, "a.db") == []


def test_reconcile_the_usage_export_against_the_cost_export(run, tmp_path):
    """The Console's two exports, no admin key. The bill names models as the Console shows
    them ("Claude Sonnet 4.5"), matched to the price table's display names. Sonnet 4.5 on the
    20th, summed over both context windows by token type: uncached 0.140943 + 2.4, 5-minute
    writes 0.05988375, 1-hour writes 0.12, reads 0.036, output 0.25398 + 0.045 =
    $3.05580675; Haiku 4.5 in batch $1.00; Opus 4.1 on the 21st $0.0525. Billed as computed,
    but for $0.01 of web search no usage row explains."""
    shutil.copy(FIXTURE, tmp_path / "usage.csv")
    assert run("--db", "a.db", "ingest", "usage.csv").exit_code == 0
    lines = [
        ("2026-11-20", "Claude Sonnet 4.5", "input_no_cache", "2.540943"),
        ("2026-11-20", "Claude Sonnet 4.5", "input_cache_write_5m", "0.05988375"),
        ("2026-11-20", "Claude Sonnet 4.5", "input_cache_write_1h", "0.12"),
        ("2026-11-20", "Claude Sonnet 4.5", "input_cache_read", "0.036"),
        ("2026-11-20", "Claude Sonnet 4.5", "output", "0.29898"),
        ("2026-11-20", "Claude Haiku 4.5", "input_no_cache", "0.5"),
        ("2026-11-20", "Claude Haiku 4.5", "output", "0.5"),
        ("2026-11-20", "", "web_search", "0.01"),
        ("2026-11-21", "Claude Opus 4.1", "input_no_cache", "0.015"),
        ("2026-11-21", "Claude Opus 4.1", "output", "0.0375"),
    ]
    (tmp_path / "cost.csv").write_text(
        "usage_date_utc,model,token_type,cost_usd\n" + "".join(f"{','.join(x)}\n" for x in lines)
    )
    out = reconcile_billed(run, "a.db", "cost.csv", "anthropic", "2026-11-20", "2026-11-21")
    rows = out["rows"]
    assert rows == {
        "claude-sonnet-4-5": ("3.05580675", "3.05580675"),
        "claude-haiku-4-5": ("1", "1"),
        "claude-opus-4-1": ("0.0525", "0.0525"),
        "(not a model)": (None, "0.01"),
    }
    assert out["total"] == (
        "4.10830675",
        "4.11830675",
    )


def test_a_bad_cost_export_row_stops_reconcile(run, tmp_path):
    shutil.copy(FIXTURE, tmp_path / "usage.csv")
    run("--db", "a.db", "ingest", "usage.csv")
    (tmp_path / "cost.csv").write_text(
        "usage_date_utc,model,token_type,cost_usd\n2026-11-20,Claude Sonnet 4.5,output,much\n"
    )
    res = run("--db", "a.db", "reconcile", "--billed", "cost.csv", "--since", "2026-11-20")
    assert res.exit_code == 3
    assert "cost.csv:2: cost_usd:" in res.stderr
