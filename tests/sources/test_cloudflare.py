"""Cloudflare AI Gateway logs: the logs API page, priced by llmaudit, the gateway's own cost kept
for `reconcile --logs`, cache hits free, failures counted, attribution from the metadata."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import DATA

pytestmark = pytest.mark.both_engines


FIXTURE = DATA / "logs" / "cloudflare_ai_gateway_logs.json"


def test_a_logs_page_is_priced_and_attributed(run, tmp_path):
    """gpt-4o-mini $0.15 / $0.60: 1200 x 0.15 + 300 x 0.6 = 360 -> $0.00036; Claude Sonnet 4.5
    $3 / $15: 2000 x 3 + 500 x 15 = 13,500 -> $0.0135. The cache hit and the 429 cost
    nothing. Workers AI bills neurons at $0.011 per 1,000: Llama 3.1 8B is 25,608 neurons per
    M input and 75,147 per M output, so 100 x 0.281688 + 50 x 0.826617 = 69.49965 ->
    $0.00006949965; the total $0.01392949965, shown to 1e-9 $."""
    shutil.copy(FIXTURE, tmp_path / "cf.json")
    done = run("--db", "c.db", "ingest", "cf.json")
    assert done.exit_code == 0, done.stderr
    assert "5 added" in done.stderr
    assert "unpriced" not in done.stderr
    report = json.loads(
        run(
            "--db",
            "c.db",
            "report",
            "--since",
            "2026-11-20",
            "--until",
            "2026-11-20",
            "--format",
            "json",
        ).stdout
    )["report"]["sections"]
    assert report["summary"]["spend_usd"] == "0.0139295"  # JSON money: to 1e-9 $
    rows = [json.loads(x) for x in run("--db", "c.db", "export").stdout.splitlines()]
    first, sonnet, hit, failed, workers = rows
    assert (first["user"], first["feature"], first["latency_ms"]) == ("u-17", "search", 812)
    assert first["reported_cost_usd"] == "0.00036"
    assert (sonnet["team"], sonnet["customer"]) == ("support", "acme")
    assert (hit["status"], hit["cost_usd"]) == ("cache_hit", "0")
    assert failed["status"] == "error"
    assert (workers["provider"], workers["cost_usd"]) == ("workers-ai", "0.00006949965")
    again = run("--db", "c.db", "ingest", "cf.json")
    assert again.exit_code == 0 and "5 added" not in again.stderr


def test_one_log_a_line_and_a_bad_line(run, tmp_path):
    logs = json.loads(FIXTURE.read_text())["result"]
    logs[1]["tokens_out"] = -5
    (tmp_path / "cf.jsonl").write_text("".join(json.dumps(x) + "\n" for x in logs))
    res = run("--db", "c.db", "ingest", "cf.jsonl")
    assert res.exit_code == 3
    assert "cf.jsonl:2: tokens_out" in res.stderr
    assert "4 added" in res.stderr and "1 rejected" in res.stderr
