"""OpenRouter's activity export (the Activity page's CSV): one generation a row, priced at
OpenRouter's price for the permaslug, the charged cost kept for `reconcile --logs`."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import DATA, exported, report_summary

pytestmark = pytest.mark.both_engines

FIXTURE = DATA / "logs" / "openrouter_activity_export.csv"


def test_the_activity_export_is_read_and_priced(run, tmp_path):
    """OpenRouter's prices: gpt-4o-mini $0.15 in / $0.075 cached / $0.60 out: 176 x 0.15 +
    1,024 x 0.075 + 300 x 0.60 = $0.0002832; Claude Sonnet 4.5 (permaslug
    claude-4.5-sonnet-20250929) 2,000 x 3 + 500 x 15 = $0.0135; gpt-5 1,000 x 1.25 + 2,000 x 10
    = $0.02125 (1,536 of the 2,000 reasoning); the cancelled DeepSeek V3.1 500 x 0.27 + 40 x 1
    = $0.000175; Gemini 2.5 Flash 1,000 x 0.30 + 300 x 2.50 = $0.00105 (BYOK: OpenRouter
    charged its 5% fee, $0.0000525); the :free model $0. Total $0.0362582."""
    shutil.copy(FIXTURE, tmp_path / "activity.csv")
    res = run("--db", "o.db", "ingest", "activity.csv", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["inputs"][0]["format"] == "openrouter-export"
    assert "6 added" in res.stderr and "unpriced" not in res.stderr
    assert report_summary(run, "o.db", "2026-11-20", "2026-11-20")["spend_usd"] == "0.0362582"
    rows = {r["request_id"]: r for r in exported(run, "o.db")}
    mini = rows["gen-1763630043-Qm4aV1xY7pLk2NcR8sTd"]
    assert (mini["provider"], mini["input_tokens"], mini["cache_read_tokens"]) == (
        "openrouter",
        1200,
        1024,
    )
    assert (mini["ts"], mini["latency_ms"], mini["ttft_ms"]) == (
        "2026-11-20T09:14:03.401000Z",
        2140,
        412,
    )
    assert (mini["api_key"], mini["project"], mini["cost_usd"]) == (
        "prod-key",
        "support-bot",
        "0.0002832",
    )
    sonnet = rows["gen-1763630101-Zx8bW3cD5eFg6HiJ7kLm"]
    assert (sonnet["user"], sonnet["price_id"], sonnet["tags"]["upstream"]) == (
        "u-17",
        "openrouter/anthropic/claude-sonnet-4.5",
        "Google",
    )
    gpt5 = rows["gen-1763630222-Pq9rS0tU1vWx2YzA3bCd"]
    assert (gpt5["output_tokens"], gpt5["reasoning_tokens"], gpt5.get("ttft_ms")) == (
        2000,
        1536,
        None,
    )
    assert rows["gen-1763630300-Ef4gH5iJ6kLm7NoP8qRs"]["status"] == "abandoned"
    byok = rows["gen-1763630400-Tu9vW0xY1zAb2CdE3fGh"]
    assert (byok["reported_cost_usd"], byok["cost_usd"]) == ("0.0000525", "0.00105")
    assert byok["tags"]["byok_usage_inference_usd"] == "0.00105"
    free = rows["gen-1763630500-Ij4kL5mN6oPq7RsT8uVw"]
    assert (free["priced"], free["cost_usd"], free["tags"]["variant"]) == (True, "0", "free")
    # the same export downloaded again, under another name: every generation id is known
    shutil.copy(FIXTURE, tmp_path / "activity (1).csv")
    again = run("--db", "o.db", "ingest", "activity (1).csv")
    assert again.exit_code == 0, again.stderr
    assert "0 added" in again.stderr and "6 duplicate" in again.stderr


def test_a_bad_row_names_its_line_and_field_and_a_later_export_adds_its_new_rows(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    bad = lines[2].replace(",2000,500,0,0,", ",2000,500,0,2400,")  # more cached than prompt
    assert bad != lines[2]
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([lines[0], lines[1], bad, lines[3]]) + "\n")
    res = run("--db", "o.db", "ingest", "activity.csv")
    assert res.exit_code == 3
    assert (
        "activity.csv:3: tokens_cached: 2400 is more than tokens_prompt 2000 (which includes it)"
        in res.stderr
    )
    assert "2 added" in res.stderr and "1 rejected" in res.stderr
    # the next day's download: the same rows and one more
    path.write_text("\n".join([lines[0], lines[1], bad, lines[3], lines[4]]) + "\n")
    res = run("--db", "o.db", "ingest", "activity.csv")
    assert "1 added, 0 updated, 2 duplicate, 1 rejected" in res.stderr
    assert len({r["request_id"]: r for r in exported(run, "o.db")}) == 3


def test_times_without_a_zone_are_utc_unless_tz_says(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    (tmp_path / "a.csv").write_text("\n".join(lines[:2]) + "\n")
    res = run("--db", "o.db", "ingest", "a.csv", "--tz", "Europe/Paris")
    assert res.exit_code == 0, res.stderr
    (row,) = {r["request_id"]: r for r in exported(run, "o.db")}.values()
    assert row["ts"] == "2026-11-20T08:14:03.401000Z"  # 09:14 in Paris (UTC+1 in November)


def test_a_short_row_is_rejected_not_misread(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    (tmp_path / "a.csv").write_text(lines[0] + "\n" + lines[1].rsplit(",", 3)[0] + "\n")
    res = run("--db", "o.db", "ingest", "a.csv")
    assert res.exit_code == 3
    assert "a.csv:2: row has a different number of columns than the header" in res.stderr
