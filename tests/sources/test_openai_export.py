"""OpenAI's usage dashboard export: the completions usage CSV read as the API's rows are; the
cost CSV recognised and explained, not silently read as nothing."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import DATA, exported, reconcile_billed, report_summary

pytestmark = pytest.mark.both_engines

FIXTURE = DATA / "logs" / "openai_usage_export.csv"


def test_the_usage_export_is_read_as_the_api_rows_are(run, tmp_path):
    """gpt-4o-2024-08-06 ($2.50, cached $1.25, out $10): 53,440 x 2.5 + 5,760 x 1.25 +
    10,646 x 10 = $0.24726; gpt-5 ($1.25, cached $0.125, out $10): 38,072 x 1.25 + 8,192 x
    0.125 + 60,000 x 10 = $0.648614, and its batch row at half: 5,783 x 0.625 + 16,000 x 5 =
    $0.083614375; gpt-5-mini ($0.25 / $2): 80,992 x 0.25 + 274,770 x 2 = $0.569788. Total
    $1.549276375; the empty day is skipped and said."""
    shutil.copy(FIXTURE, tmp_path / "completions_usage.csv")
    res = run("--db", "e.db", "ingest", "completions_usage.csv", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["inputs"][0]["format"] == "openai-export"
    assert "4 added" in res.stderr and "1 buckets without usage" in res.stderr
    assert report_summary(run, "e.db", "2026-11-18", "2026-11-20")["spend_usd"] == "1.549276375"
    rows = {(r["model"], r["service_tier"]): r for r in exported(run, "e.db")}
    first = rows[("gpt-4o-2024-08-06", "standard")]
    assert (first["requests"], first["input_tokens"], first["cache_read_tokens"]) == (
        10,
        59200,
        5760,
    )
    assert (first["ts"], first["ts_end"]) == (
        "2026-11-18T00:00:00.000000Z",
        "2026-11-19T00:00:00.000000Z",
    )
    assert (first["project"], first["user"], first["api_key"]) == (
        "proj_Qw3rTy8UiOp0AsDf1GhJk2Lz",
        "user-Zx9CvBn7Ml6Kj5Hg",
        "key_Aa1Bb2Cc3Dd4Ee5F",
    )
    batch = rows[("gpt-5-2025-08-07", "batch")]
    assert (batch["requests"], batch["cost_usd"]) == (1, "0.083614375")
    shutil.copy(FIXTURE, tmp_path / "completions_usage (1).csv")
    again = run("--db", "e.db", "ingest", "completions_usage (1).csv")
    assert again.exit_code == 0, again.stderr
    assert "0 added, 0 updated, 4 duplicate" in again.stderr


def test_a_later_export_updates_the_day_that_grew(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(lines) + "\n")
    run("--db", "e.db", "ingest", "usage.csv")
    lines[5] = lines[5].replace(",21.0,", ",22.0,").replace("80992.0", "81992.0")
    path.write_text("\n".join(lines) + "\n")
    res = run("--db", "e.db", "ingest", "usage.csv")
    assert "0 added, 1 updated, 3 duplicate" in res.stderr
    # 1,000 more gpt-5-mini input tokens at $0.25 per million
    assert report_summary(run, "e.db", "2026-11-18", "2026-11-20")["spend_usd"] == "1.549526375"


def test_a_tab_separated_copy_and_a_bad_row(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    lines[2] = lines[2].replace(",8.0,", ",eight,")
    (tmp_path / "usage.tsv").write_text("\n".join(x.replace(",", "\t") for x in lines) + "\n")
    res = run("--db", "e.db", "ingest", "usage.tsv")
    assert res.exit_code == 3
    assert "usage.tsv:3: num_model_requests: must be an integer, got 'eight'" in res.stderr
    assert "3 added" in res.stderr and "1 rejected" in res.stderr


def test_the_cost_export_is_named_not_read(run, tmp_path):
    (tmp_path / "cost.csv").write_text(
        "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item,"
        "project_id,organization_id,organization_name\n"
        "1795046400,1795132800,2026-11-19T00:00:00+00:00,2026-11-20T00:00:00+00:00,"
        "0.5617712500000000,usd,,,org-Hp9mSGev2sVmtMeF,Personal\n"
    )
    res = run("--db", "e.db", "ingest", "cost.csv")
    assert res.exit_code == 0, res.stderr
    assert (
        "1 line(s) skipped: 1 rows of OpenAI's cost export, not usage (it is the bill: "
        "'llmaudit reconcile --billed FILE' reads it)" in res.stderr
    )
    assert "cost.csv: no usage in it" in res.stderr
    assert exported(run, "e.db") == []


COST_HEADER = (
    "start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item,"
    "project_id,organization_id,organization_name\n"
)


def _cost_row(day: int, amount: str, line_item: str) -> str:
    start = 1794960000 + (day - 18) * 86400  # 2026-11-18T00:00Z
    return (
        f'{start},{start + 86400},,,{amount},usd,"{line_item}",'
        "proj_Qw3rTy8UiOp0AsDf1GhJk2Lz,org-Hp9mSGev2sVmtMeF,Personal\n"
    )


def test_reconcile_the_usage_export_against_the_cost_export(run, tmp_path):
    """The dashboard's two exports, no admin key: the usage priced offline against the bill.
    Bill per model: gpt-4o 0.1336 + 0.0072 + 0.10646 = $0.24726; gpt-5 (its batch row
    included) 0.051204375 + 0.001024 + 0.68 = $0.732228375; gpt-5-mini 0.020248 + 0.54954 =
    $0.569788; and $0.01 of web search, which no usage row explains. Computed $1.549276375,
    billed $1.559276375: -0.64%, inside the 1% tolerance."""
    shutil.copy(FIXTURE, tmp_path / "usage.csv")
    assert run("--db", "e.db", "ingest", "usage.csv").exit_code == 0
    (tmp_path / "cost.csv").write_text(
        COST_HEADER
        + _cost_row(18, "0.1336", "gpt-4o-2024-08-06, input")
        + _cost_row(18, "0.0072", "gpt-4o-2024-08-06, cached input")
        + _cost_row(18, "0.10646", "gpt-4o-2024-08-06, output")
        + _cost_row(19, "0.051204375", "gpt-5-2025-08-07, input")
        + _cost_row(19, "0.001024", "gpt-5-2025-08-07, cached input")
        + _cost_row(19, "0.68", "gpt-5-2025-08-07, output")
        + "1795132800,1795219200,,,,,,,,\n"  # a day without cost, as the export writes it
        + _cost_row(20, "0.020248", "gpt-5-mini-2025-08-07, input")
        + _cost_row(20, "0.54954", "gpt-5-mini-2025-08-07, output")
        + _cost_row(20, "0.01", "web search tool calls")
    )
    out = reconcile_billed(run, "e.db", "cost.csv", "openai", "2026-11-18", "2026-11-20")
    rows = out["rows"]
    assert rows == {
        "gpt-4o-2024-08-06": ("0.24726", "0.24726"),
        "gpt-5": ("0.732228375", "0.732228375"),
        "gpt-5-mini": ("0.569788", "0.569788"),
        "(not a model)": (None, "0.01"),
    }
    assert out["total"] == (
        "1.549276375",
        "1.559276375",
    )
    assert out["within_tolerance"] is True


def test_a_bad_cost_export_row_stops_reconcile(run, tmp_path):
    shutil.copy(FIXTURE, tmp_path / "usage.csv")
    run("--db", "e.db", "ingest", "usage.csv")
    (tmp_path / "cost.csv").write_text(COST_HEADER + _cost_row(18, "lots", "gpt-4o, input"))
    res = run("--db", "e.db", "reconcile", "--billed", "cost.csv", "--since", "2026-11-18")
    assert res.exit_code == 3
    assert "cost.csv:2: amount.value: must be a number, got 'lots'" in res.stderr
    (tmp_path / "usage2.csv").write_text(FIXTURE.read_text())
    res = run("--db", "e.db", "reconcile", "--billed", "usage2.csv", "--since", "2026-11-18")
    assert res.exit_code == 3
    assert "usage2.csv: not OpenAI's cost export" in res.stderr
