"""Portkey log exports (JSON lines): tokens from the units, each route at its own price,
`_user` and metadata as attribution, Portkey's cost kept as tags (its unit is not stated)."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import DATA, exported, report_summary

pytestmark = pytest.mark.both_engines

FIXTURE = DATA / "logs" / "portkey_logs_export.jsonl"


def test_a_logs_export_is_read_and_priced(run, tmp_path):
    """gpt-4o-mini ($0.15 / $0.60): 1,200 x 0.15 + 300 x 0.60 = $0.00036; Claude Sonnet 4.5
    ($3 / $15): 2,000 x 3 + 500 x 15 = $0.0135; gpt-4o through Azure, at Azure's $2.50 / $10:
    1,000 x 2.5 + 100 x 10 = $0.0035; the 429 has no tokens; Gemini 2.5 Flash through Vertex
    ($0.30 / $2.50): 1,000 x 0.3 + 200 x 2.5 = $0.0008. Total $0.01816."""
    shutil.copy(FIXTURE, tmp_path / "export.jsonl")
    res = run("--db", "p.db", "ingest", "export.jsonl", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["inputs"][0]["format"] == "portkey"
    assert "5 added" in res.stderr and "unpriced" not in res.stderr
    assert report_summary(run, "p.db", "2026-11-20", "2026-11-20")["spend_usd"] == "0.01816"
    rows = {r["request_id"]: r for r in exported(run, "p.db")}
    first = rows["7c2f9a10-0b1e-4c53-9a57-1f0e2d3c4b5a"]
    assert (first["user"], first["feature"], first["team"], first["latency_ms"]) == (
        "u-17",
        "search",
        "growth",
        812,
    )
    assert first["tags"]["portkey_cost"] == "0.036" and "reported_cost_usd" not in first
    sonnet = rows["8d3a0b21-1c2f-4d64-8b68-2a1f3e4d5c6b"]
    assert (sonnet["user"], sonnet["customer"]) == ("u-9", "acme")  # metadata as JSON text
    azure = rows["9e4b1c32-2d30-4e75-9c79-3b2f4a5e6d7c"]
    assert (azure["provider"], azure["price_id"], azure["cost_usd"]) == (
        "azure",
        "azure/gpt-4o",
        "0.0035",
    )
    failed = rows["af5c2d43-3e41-4f86-8d8a-4c3a5b6f7e8d"]
    assert (failed["status"], failed["cost_usd"]) == ("error", "0")
    assert rows["b06d3e54-4f52-4097-9e9b-5d4b6c708f9e"]["provider"] == "google"
    shutil.copy(FIXTURE, tmp_path / "export-2.jsonl")
    again = run("--db", "p.db", "ingest", "export-2.jsonl")
    assert again.exit_code == 0, again.stderr
    assert "0 added, 0 updated, 5 duplicate" in again.stderr


def test_a_bad_line_and_a_line_that_is_not_a_log(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["res_units"] = "many"
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(bad), '{"hello": 1}', lines[2]]) + "\n")
    res = run("--db", "p.db", "ingest", "export.jsonl")
    assert res.exit_code == 3
    assert "export.jsonl:2: res_units: must be an integer, got 'many'" in res.stderr
    assert "2 added" in res.stderr and "1 rejected" in res.stderr
    assert "1 items that are not Portkey logs" in res.stderr


def test_an_array_of_logs_with_only_some_fields(run, tmp_path):
    """The export's fields are the user's choice: created_at, ai_model and the units do."""
    logs = [
        {"created_at": "2026-11-20T10:00:00Z", "ai_model": "gpt-4o-mini", "req_units": 1000},
        {"created_at": "2026-11-20T10:01:00Z", "ai_model": "gpt-4o-mini", "res_units": 1000},
    ]
    (tmp_path / "logs.json").write_text(json.dumps(logs, indent=2))
    res = run("--db", "p.db", "ingest", "logs.json")
    assert res.exit_code == 0, res.stderr
    assert "2 added" in res.stderr
    # 1,000 x 0.15 + 1,000 x 0.60, both as OpenAI's (the model's provider)
    assert report_summary(run, "p.db", "2026-11-20", "2026-11-20")["spend_usd"] == "0.00075"
