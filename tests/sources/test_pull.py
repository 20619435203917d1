"""`llmaudit pull` and `reconcile` against a loopback server speaking each provider's API."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from fake_providers import ANTHROPIC_KEY, OPENAI_KEY, OPENROUTER_KEY, FakeServer, buckets, load

from conftest import open_ledger

pytestmark = pytest.mark.both_engines

WINDOW = ("--since", "2026-08-01", "--until", "2026-08-03")  # --until includes 3 August


@pytest.fixture
def server(monkeypatch):
    with FakeServer() as srv:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
        monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", ANTHROPIC_KEY)
        monkeypatch.setenv("OPENROUTER_API_KEY", OPENROUTER_KEY)
        monkeypatch.setenv("LLMAUDIT_OPENAI_BASE_URL", srv.url + "/v1")
        monkeypatch.setenv("LLMAUDIT_ANTHROPIC_BASE_URL", srv.url)
        monkeypatch.setenv("LLMAUDIT_OPENROUTER_BASE_URL", srv.url + "/api/v1")
        yield srv


def totals(db, kind):
    with open_ledger(db) as led:
        recs = [r for r in led.iter_records() if r.source_kind == kind]
    return {
        "records": len(recs),
        "requests": sum(r.requests for r in recs),
        "input_uncached": sum(r.input_uncached for r in recs),
        "cache_read": sum(r.cache_read for r in recs),
        "cache_write_5m": sum(r.cache_write_5m for r in recs),
        "cache_write_1h": sum(r.cache_write_1h for r in recs),
        "output": sum(r.output for r in recs),
    }


def openai_expected():
    rows = [
        r
        for b in buckets(
            "openai_usage_completions_page1.json",
            "openai_usage_completions_page2.json",
            "openai_usage_embeddings.json",
            "openai_usage_moderations.json",
        )
        for r in b["results"]
    ]
    return {
        "records": len(rows),
        "requests": sum(r["num_model_requests"] for r in rows),
        # the split fields when present, else input - cached (embeddings)
        "input_uncached": sum(r.get("input_uncached_tokens", r["input_tokens"]) for r in rows),
        "cache_read": sum(r.get("input_cached_tokens", 0) for r in rows),
        "cache_write_5m": sum(r.get("input_cache_write_tokens", 0) for r in rows),
        "cache_write_1h": 0,
        "output": sum(r.get("output_tokens", 0) for r in rows),
    }


def anthropic_expected():
    rows = [
        r
        for b in buckets(
            "anthropic_usage_messages_page1.json", "anthropic_usage_messages_page2.json"
        )
        for r in b["results"]
    ]
    return {
        "records": len(rows),
        "requests": 0,
        "input_uncached": sum(r["uncached_input_tokens"] for r in rows),
        "cache_read": sum(r["cache_read_input_tokens"] for r in rows),
        "cache_write_5m": sum(r["cache_creation"]["ephemeral_5m_input_tokens"] for r in rows),
        "cache_write_1h": sum(r["cache_creation"]["ephemeral_1h_input_tokens"] for r in rows),
        "output": sum(r["output_tokens"] for r in rows),
    }


def test_pull_everything_with_faults(run, server, tmp_path):
    server.faults = {
        ("429", "/v1/organization/usage/completions"): 1,
        ("500", "/v1/organizations/usage_report/messages"): 1,
    }
    result = run("--db", "p.db", "pull", "all", *WINDOW)
    assert result.exit_code == 0, result.stderr
    assert totals(tmp_path / "p.db", "openai-api") == openai_expected()
    assert totals(tmp_path / "p.db", "anthropic-api") == anthropic_expected()
    assert "openai usage/completions: 2 page(s), 3 bucket(s)" in result.stderr
    # brackets, as the official SDKs send arrays; auth and version headers
    _path, query, headers = next(
        r for r in server.requests if r[0] == "/v1/organizations/usage_report/messages"
    )
    assert query["group_by[]"] == [
        "model",
        "workspace_id",
        "api_key_id",
        "service_tier",
        "context_window",
    ]
    assert headers["anthropic-version"] == "2023-06-01"
    with open_ledger(tmp_path / "p.db") as led:
        costs = led.billed_costs()
    openai_billed = sum(
        Decimal(str(r["amount"]["value"]))
        for b in load("openai_costs.json")["data"]
        for r in b["results"]
    )
    assert (
        sum(Decimal(c["amount_usd"]) for c in costs if c["provider"] == "openai") == openai_billed
    )
    cents = sum(
        Decimal(r["amount"])
        for b in load("anthropic_cost_report.json")["data"]
        for r in b["results"]
    )
    assert (
        sum(Decimal(c["amount_usd"]) for c in costs if c["provider"] == "anthropic") == cents / 100
    )
    assert "openrouter credits: $61.47 used of $100.00 credits (lifetime)" in result.stderr
    orouter = totals(tmp_path / "p.db", "openrouter-api")
    assert orouter["requests"] == sum(
        r["requests"] for r in load("openrouter_activity.json")["data"]
    )


def test_repulls_never_double_and_later_windows_add_new_days(run, server, tmp_path):
    run("--db", "p.db", "pull", "openai", "--since", "2026-08-01", "--until", "2026-08-02")
    first = totals(tmp_path / "p.db", "openai-api")
    again = run("--db", "p.db", "pull", "openai", "--since", "2026-08-01", "--until", "2026-08-02")
    assert again.exit_code == 0
    assert totals(tmp_path / "p.db", "openai-api") == first
    later = run("--db", "p.db", "pull", "openai", "--since", "2026-08-02", "--until", "2026-08-03")
    assert later.exit_code == 0
    assert totals(tmp_path / "p.db", "openai-api") == openai_expected()
    # the re-pull asked only from the last bucket it had seen (2 August), not from 1 August
    starts = [
        int(q["start_time"][0])
        for p, q, _ in server.requests
        if p == "/v1/organization/usage/completions"
    ]
    assert starts[-1] == 1785628800


def test_malformed_page_keeps_what_was_committed(run, server, tmp_path):
    server.faults = {("malformed", "/v1/organization/usage/completions"): 1}
    result = run("--db", "p.db", "pull", "openai", *WINDOW)
    assert result.exit_code == 4
    assert (
        "page 2 of openai usage/completions is not the expected JSON (no data list); "
        "stopped, earlier pages are kept"
    ) in result.stderr
    kept = totals(tmp_path / "p.db", "openai-api")
    page1 = [r for b in load("openai_usage_completions_page1.json")["data"] for r in b["results"]]
    embeddings = [r for b in load("openai_usage_embeddings.json")["data"] for r in b["results"]]
    moderations = [r for b in load("openai_usage_moderations.json")["data"] for r in b["results"]]
    assert kept["records"] == len(page1) + len(embeddings) + len(moderations)


def test_wrong_key_is_explained(run, server, monkeypatch):
    monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-proj-not-an-admin-key-000000000000")
    result = run("--db", "p.db", "pull", "openai", *WINDOW)
    assert result.exit_code == 4
    assert (
        "openai: organization/usage/completions refused the key (401): an admin key is "
        "needed; set OPENAI_ADMIN_KEY"
    ) in result.stderr
    assert "sk-proj-not-an-admin" not in result.stderr


def test_no_key_anywhere(run, monkeypatch):
    for name in ("OPENAI_ADMIN_KEY", "ANTHROPIC_ADMIN_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = run("--db", "p.db", "pull", "anthropic")
    assert result.exit_code == 2
    assert "no key: set ANTHROPIC_ADMIN_KEY" in result.stderr


def test_keys_never_reach_ledger_stdout_stderr_or_debug(run, server, tmp_path):
    result = run("--debug", "--db", "p.db", "pull", "all", *WINDOW)
    assert result.exit_code == 0, result.stderr
    assert "debug: GET" in result.stderr  # the debug output exists ...
    ledger_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    for key in (OPENAI_KEY, ANTHROPIC_KEY, OPENROUTER_KEY):
        assert key not in result.stdout and key not in result.stderr  # ... without any key
        assert key.encode() not in ledger_bytes


def test_rebuild_from_raw_pages(run, server, tmp_path):
    run("--db", "p.db", "pull", "all", *WINDOW)
    before = totals(tmp_path / "p.db", "anthropic-api")
    with open_ledger(tmp_path / "p.db") as led:  # as if those records were lost
        if hasattr(led, "db"):
            led.conn.execute(f"DELETE FROM {led.t('records')} WHERE source_kind = 'anthropic-api'")
        else:
            led.conn.execute("DELETE FROM records WHERE source_kind = 'anthropic-api'")
    result = run("--db", "p.db", "pull", "anthropic", "--rebuild")
    assert result.exit_code == 0, result.stderr
    assert totals(tmp_path / "p.db", "anthropic-api") == before


def test_reconcile_shows_the_documented_gaps(run, server, tmp_path):
    assert run("--db", "p.db", "pull", "all", *WINDOW).exit_code == 0
    out = run("--db", "p.db", "reconcile", *WINDOW, "--format", "json")
    rows = json.loads(out.stdout)["reconcile"]["rows"]
    priority = [r for r in rows if r["model"].endswith("(priority)")]
    assert priority and all(
        r["cause"] == "priority tier: billed separately, never in the cost report"
        and r["billed_usd"] is None
        for r in priority
    )
    code = [r for r in rows if r["cause"] and "Code Execution Usage" in r["cause"]]
    assert code and code[0]["computed_usd"] is None
    explained = [r for r in rows if r["cause"]]
    agreeing = [r for r in rows if not r["cause"]]
    assert agreeing
    for r in agreeing:
        assert abs(r["difference"]) <= 0.005, r
    assert {r["cause"] for r in explained} >= {
        "priority tier: billed separately, never in the cost report"
    }


def test_attribution_map_splits_spend_by_team(run, server, tmp_path):
    assert run("--db", "p.db", "pull", "all", *WINDOW).exit_code == 0
    run("attribute", "set", "project", "proj_Q2w8xHkT4vYbN1cR7mZpLs0a", "team=search")
    run(
        "attribute",
        "set",
        "project",
        "wrkspc_01HqZ8vN3xKpT6mR2wYcJ5dL",
        "team=support",
        "feature=chat",
    )
    out = run("--db", "p.db", "report", "spend", "--by", "team", *WINDOW, "--format", "json")
    spend = json.loads(out.stdout)["report"]["sections"]["spend"]
    by_team = {r["key"][0]: r for r in spend["rows"]}
    assert set(by_team) == {"search", "support", "(unset)"}
    assert all(r["cost_usd"] is not None for r in by_team.values())
    total = sum(Decimal(r["cost_usd"]) for r in by_team.values())
    assert total == Decimal(spend["total_usd"])
    # the map is applied when the report is computed: changing it re-attributes history
    run("attribute", "rm", "project", "wrkspc_01HqZ8vN3xKpT6mR2wYcJ5dL")
    out = run("--db", "p.db", "report", "spend", "--by", "team", *WINDOW, "--format", "json")
    teams = {r["key"][0] for r in json.loads(out.stdout)["report"]["sections"]["spend"]["rows"]}
    assert teams == {"search", "(unset)"}
    listed = json.loads(run("attribute", "list", "--format", "json").stdout)["attribution"]
    assert listed == [
        {"kind": "project", "id": "proj_Q2w8xHkT4vYbN1cR7mZpLs0a", "names": "team=search"}
    ]


def test_moderation_usage_is_pulled_and_priced_free(run, server, tmp_path):
    """OpenAI's moderations usage: 860 requests, 120,400 input tokens on 1 August, on a model
    that is free (priced at $0, not unpriced)."""
    assert run("--db", "p.db", "pull", "openai", *WINDOW).exit_code == 0
    out = run("--db", "p.db", "export", "--model", "omni-moderation-latest", "--format", "jsonl")
    (row,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert (row["requests"], row["input_tokens"], row["output_tokens"]) == (860, 120400, 0)
    assert row["ts"].startswith("2026-08-01T00:00:00")
    assert (row["priced"], row["cost_usd"]) == (True, "0")
    assert row["project"] == "proj_Q2w8xHkT4vYbN1cR7mZpLs0a"


def test_progress_reports_pages_and_buckets_per_endpoint(server, tmp_path):
    """The progress callback (the Rich display on a terminal) hears each stored page with the
    endpoint's running page and bucket counts."""
    from datetime import datetime, timezone

    from llmaudit.sources import pull as core

    heard = []
    request = core.request_for(
        lambda name: None,
        ["openai"],
        datetime(2026, 8, 1, tzinfo=timezone.utc),
        datetime(2026, 8, 4, tzinfo=timezone.utc),
        bucket="1d",
        on_page=lambda *a: heard.append(a),
    )
    with open_ledger(tmp_path / "p.db") as led:
        core.pull(led, request)
    completions = [a for a in heard if a[1] == "usage/completions"]
    page1 = load("openai_usage_completions_page1.json")["data"]
    page2 = load("openai_usage_completions_page2.json")["data"]
    assert completions == [
        ("openai", "usage/completions", 1, len(page1)),
        ("openai", "usage/completions", 2, len(page1) + len(page2)),
    ]
    moderations = load("openai_usage_moderations.json")["data"]
    assert ("openai", "usage/moderations", 1, len(moderations)) in heard
