from __future__ import annotations

import csv
import io
import json
import shutil
from decimal import Decimal as D

import pytest

from conftest import DATA

pytestmark = pytest.mark.both_engines

UNPRICED = '{"ts":"2026-11-02T00:00:00Z","model":"gpt-9","input_tokens":50,"output_tokens":5}\n'


def _ledger(run, tmp_path):
    shutil.copy(DATA / "sample.jsonl", tmp_path)
    (tmp_path / "more.jsonl").write_text(UNPRICED)
    assert run("--db", "a.db", "ingest", "sample.jsonl", "more.jsonl").exit_code == 0


def test_export_costs_by_hand(run, tmp_path):
    _ledger(run, tmp_path)
    result = run("--db", "a.db", "export")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    costs = {r["model"]: r for r in rows}
    # gpt-4o: 200 x 2.50 + 1,000 x 1.25 + 300 x 10 per 1M = $0.00475
    assert costs["gpt-4o"]["cost_usd"] == "0.00475"
    assert costs["gpt-4o"]["cost_cache_read_usd"] == "0.00125"
    assert costs["gpt-4o"]["price_id"] == "gpt-4o@2024-10-02"
    # claude-sonnet-4-5: 500 x 3 + 3,000 x 0.3 + 1,000 x 3.75 + 500 x 6 + 800 x 15 = $0.02115
    assert costs["claude-sonnet-4-5"]["cost_usd"] == "0.02115"
    assert costs["claude-sonnet-4-5"]["cost_cache_write_usd"] == "0.00675"
    # gemini-2.5-pro (4 requests): 100 x 1.25 + 10 x 10 = $0.000225
    assert costs["gemini-2.5-pro"]["cost_usd"] == "0.000225"
    assert costs["gpt-9"]["cost_usd"] is None
    assert costs["gpt-9"]["priced"] is False
    assert costs["gpt-9"]["input_tokens"] == 50
    for row in rows:
        if row["priced"]:
            parts = sum(
                D(row[k])
                for k in (
                    "cost_input_usd",
                    "cost_cache_read_usd",
                    "cost_cache_write_usd",
                    "cost_output_usd",
                    "cost_other_usd",
                )
            )
            assert parts == D(row["cost_usd"])
    assert result.stderr == "exported 4 records, $0.026125 priced, 1 unpriced (gpt-9)\n"


def test_csv_and_jsonl_agree(run, tmp_path):
    _ledger(run, tmp_path)
    rows = [json.loads(line) for line in run("--db", "a.db", "export").stdout.splitlines()]
    table = list(
        csv.DictReader(io.StringIO(run("--db", "a.db", "export", "--format", "csv").stdout))
    )
    assert len(table) == len(rows)
    for j, c in zip(rows, table, strict=True):
        for key, value in j.items():
            if value is None:
                assert c[key] == ""
            elif isinstance(value, bool):
                assert c[key] == str(value).lower()
            elif isinstance(value, dict):
                assert json.loads(c[key]) == value
            else:
                assert c[key] == str(value), key


def test_export_reingests_to_the_same_rows(run, tmp_path):
    _ledger(run, tmp_path)
    first = run("--db", "a.db", "export", "-o", "export.jsonl")
    assert first.exit_code == 0
    again = run("--db", "b.db", "ingest", "export.jsonl")
    assert again.exit_code == 0, again.stderr
    assert again.stderr == (
        "export.jsonl: 4 added, 0 updated, 0 duplicate, 0 rejected\n"
        # gpt-9 has no price: said at the end of the ingest, never a silent $0
        "unpriced: gpt-9 (55 tokens): their cost is unknown, never $0 "
        "(see 'llmaudit pricing explain MODEL')\n"
    )
    second = run("--db", "b.db", "export")
    assert second.stdout == (tmp_path / "export.jsonl").read_text()


def test_export_filters(run, tmp_path):
    _ledger(run, tmp_path)
    rows = run("--db", "a.db", "export", "--where", "feature=search").stdout.splitlines()
    assert [json.loads(r)["model"] for r in rows] == ["claude-sonnet-4-5"]
    rows = run("--db", "a.db", "export", "--since", "2026-11-02").stdout.splitlines()
    assert [json.loads(r)["model"] for r in rows] == ["gpt-9"]
    rows = run("--db", "a.db", "export", "--until", "2026-11-01", "--model", "gpt-4o").stdout
    assert [json.loads(r)["model"] for r in rows.splitlines()] == ["gpt-4o"]
    rows = run("--db", "a.db", "export", "--where", "tag:env=prod").stdout.splitlines()
    assert [json.loads(r)["model"] for r in rows] == ["claude-sonnet-4-5"]
    bad = run("--db", "a.db", "export", "--where", "colour=red")
    assert bad.exit_code == 2
    assert "unknown dimension 'colour'" in bad.stderr
    bad = run("--db", "a.db", "export", "--since", "next tuesday")
    assert bad.exit_code == 2
    assert "--since: 'next tuesday' is not a date" in bad.stderr


LOG_FIXTURES = sorted(
    p.name
    for p in (DATA / "logs").iterdir()
    if p.name not in ("README.md", "otel_genai_metrics.otlp.json")
)


def test_every_log_fixture_is_a_merge_source():
    assert len(LOG_FIXTURES) == 42


@pytest.mark.parametrize("name", LOG_FIXTURES)
def test_an_export_merges_without_double_counting(run, tmp_path, name):
    """ingest(A); export; ingest(export) into the same ledger adds nothing, and into a fresh
    one gives the same records (keys included) and the same cost to the cent."""
    shutil.copy(DATA / "logs" / name, tmp_path)
    # (llm_logs.sqlite holds one row its README says is rejected)
    assert run("--db", "a.db", "ingest", name).exit_code == (3 if name == "llm_logs.sqlite" else 0)
    first = run("--db", "a.db", "export")
    assert first.exit_code == 0, first.stderr
    (tmp_path / "export.jsonl").write_text(first.stdout)
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    if name == "claude_code_summaries_only.jsonl":
        assert rows == []  # a transcript without usage: nothing to merge
        return
    assert rows and all(r["record_key"] for r in rows)

    again = run("--db", "a.db", "ingest", "export.jsonl")
    assert again.exit_code == 0, again.stderr
    assert f"export.jsonl: 0 added, 0 updated, {len(rows)} duplicate, 0 rejected" in again.stderr
    assert sorted(run("--db", "a.db", "export").stdout.splitlines()) == sorted(
        first.stdout.splitlines()
    )

    fresh = run("--db", "b.db", "ingest", "export.jsonl")
    assert fresh.exit_code == 0, fresh.stderr
    assert f"export.jsonl: {len(rows)} added" in fresh.stderr
    second = run("--db", "b.db", "export").stdout
    assert sorted(second.splitlines()) == sorted(first.stdout.splitlines())
    total = sum(D(r["cost_usd"] or 0) for r in rows)
    assert sum(D(json.loads(line)["cost_usd"] or 0) for line in second.splitlines()) == total
    # and the original log read into the merged ledger is recognised too
    back = run("--db", "b.db", "ingest", name)
    assert " 0 added, 0 updated" in back.stderr
