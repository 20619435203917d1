"""Attribution, statuses, costs and de-duplication of the log formats, beyond token totals."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import pytest

from conftest import DATA, open_ledger

pytestmark = pytest.mark.both_engines


LOGS = DATA / "logs"


def ingest(run, tmp_path, *names, db="d.db", extra=()):
    for name in names:
        shutil.copy(LOGS / name, tmp_path / name)
    return run("--db", db, "ingest", *names, *extra)


def records(tmp_path, db="d.db"):
    with open_ledger(tmp_path / db) as led:
        return list(led.iter_records())


def test_otel_attribution_from_span_parent_and_resource(run, tmp_path):
    assert ingest(run, tmp_path, "otel_genai_spans.otlp.json").exit_code == 0
    rec = next(r for r in records(tmp_path) if r.model == "gpt-4o-mini-2024-07-18")
    assert rec.user == "u_1842"  # enduser.id on the parent HTTP span
    assert rec.session == "conv_7f3a9c21"
    assert rec.project == "support-api"  # resource service.name
    assert rec.environment == "prod"
    assert rec.latency_ms == 1508.0  # end - start of the span
    assert rec.ttft_ms == 412.0  # gen_ai.response.time_to_first_chunk, seconds
    assert rec.request_id == "chatcmpl-C6h2kq9Zt8rVbX1mNf0aQ3sLwYpE"
    assert rec.provider == "openai"
    old = next(r for r in records(tmp_path) if r.model == "gpt-4o-2024-08-06")
    assert old.project == "batch-summarizer"


def test_openllmetry_and_openinference_attribution(run, tmp_path):
    assert ingest(run, tmp_path, "openllmetry_spans.otlp.json").exit_code == 0
    gpt = next(r for r in records(tmp_path) if r.model == "gpt-4o-2024-08-06")
    assert (gpt.user, gpt.session, gpt.feature, gpt.provider) == (
        "u_1842",
        "sess_5d0c",
        "answer_question",
        "openai",
    )
    assert ingest(run, tmp_path, "openinference_spans.otlp.json", db="e.db").exit_code == 0
    mini = next(r for r in records(tmp_path, "e.db") if r.model == "gpt-4o-mini-2024-07-18")
    assert (mini.user, mini.session, mini.feature, mini.customer) == (
        "u_1842",
        "sess_5d0c",
        "answer",
        "acme",
    )
    assert mini.tags["tags"] == "prod,answer"


def test_the_same_call_by_two_routes_is_one_record(run, tmp_path):
    assert ingest(run, tmp_path, "middleware_openai_chat.jsonl").exit_code == 0
    result = ingest(run, tmp_path, "otel_genai_spans.otlp.json")
    # gpt-4o-mini and o4-mini carry the chatcmpl ids the middleware log already had
    assert (
        "otel_genai_spans.otlp.json: 3 added, 0 updated, 2 duplicate, 0 rejected" in result.stderr
    )
    kept = next(
        r for r in records(tmp_path) if r.request_id == "chatcmpl-C6h2kq9Zt8rVbX1mNf0aQ3sLwYpE"
    )
    assert kept.source_kind == "middleware"  # the first route's record (with its feature) stays
    assert kept.feature == "answer"


def test_middleware_attribution_and_tiers(run, tmp_path):
    assert ingest(run, tmp_path, "middleware_openai_responses.jsonl").exit_code == 0
    first, second = records(tmp_path)
    assert (first.user, first.session, first.feature, first.customer) == (
        "u_77",
        "sess_5d0c",
        "code-review",
        "acme",
    )
    assert (first.service_tier, second.service_tier) == ("standard", "flex")
    assert first.latency_ms == 9100.0 and first.ttft_ms == 2890.0
    assert str(first.ts) == "2026-08-18 10:56:00+00:00"  # the response's created_at


def test_litellm_cache_hits_failures_costs_and_attribution(run, tmp_path):
    assert ingest(run, tmp_path, "litellm_spendlogs.csv").exit_code == 0
    recs = records(tmp_path)
    assert sorted(r.status for r in recs) == ["cache_hit", "error", "ok", "ok", "ok"]
    assert sum(r.reported_cost_usd for r in recs) == Decimal("0.02391304")
    first = next(r for r in recs if r.request_id == "chatcmpl-C6h2kq9Zt8rVbX1mNf0aQ3sLwYpE")
    assert (first.user, first.customer, first.team, first.feature, first.environment) == (
        "u_1842",
        "cust_5521",
        "team_support",
        "answer",
        "prod",
    )
    assert first.api_key == "support-api-prod"
    assert first.latency_ms == 1619.0 and first.ttft_ms == 412.0
    assert str(first.ts) == "2026-08-18 09:14:03.401000+00:00"
    # the response-cache hit costs nothing when priced
    out = run("--db", "d.db", "export", "--where", "status=cache_hit")
    (row,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert row["cost_usd"] == "0"


def test_claude_code_keeps_the_largest_output_across_files(run, tmp_path):
    lines = (LOGS / "claude_code_session.jsonl").read_text().splitlines()
    # a copy of the session holding only msg A's first (placeholder, output 1) line
    placeholder = [line for line in lines if '"output_tokens":1,' in line][:1]
    (tmp_path / "early.jsonl").write_text("\n".join([lines[0], *placeholder]) + "\n")
    shutil.copy(LOGS / "claude_code_session.jsonl", tmp_path / "full.jsonl")
    assert run("--db", "d.db", "ingest", "early.jsonl").exit_code == 0
    result = run("--db", "d.db", "ingest", "full.jsonl")
    # msg A: three lines -> the one with 287 output replaces the stored placeholder
    assert "full.jsonl: 2 added, 1 updated, 2 duplicate, 0 rejected" in result.stderr
    msg_a = [r for r in records(tmp_path) if r.request_id == "req_011CSxG7m2Qk4TLb8YhW3nPd"]
    assert [r.output for r in msg_a] == [287]
    # and the other way round: the smaller one later changes nothing
    run("--db", "e.db", "ingest", "full.jsonl")
    again = run("--db", "e.db", "ingest", "early.jsonl")
    assert "early.jsonl: 0 added, 0 updated, 1 duplicate, 0 rejected" in again.stderr
    assert [
        r.output
        for r in records(tmp_path, "e.db")
        if r.request_id == "req_011CSxG7m2Qk4TLb8YhW3nPd"
    ] == [287]


def test_claude_code_legacy_cost_and_session(run, tmp_path):
    assert ingest(run, tmp_path, "claude_code_session_legacy.jsonl").exit_code == 0
    recs = records(tmp_path)
    assert [r.reported_cost_usd for r in recs] == [Decimal("0.05242"), Decimal("0.09451")]
    assert {r.session for r in recs} == {"0a9a8045-53e9-44b1-83fb-aafc6e1f4f0b"}
    assert {r.project for r in recs} == {"billing-api"}


def test_batch_output_is_batch_tier(run, tmp_path):
    assert ingest(run, tmp_path, "openai_batch_output.jsonl").exit_code == 0
    recs = records(tmp_path)
    assert {r.service_tier for r in recs} == {"batch"}
    assert {r.tags["custom_id"] for r in recs} == {"ticket-10421", "ticket-10422"}


def test_langfuse_v1_and_v2_are_the_same_observation(run, tmp_path):
    ingest(run, tmp_path, "langfuse_observations.json")
    result = ingest(run, tmp_path, "langfuse_observations_v1_legacy.json")
    assert "0 added, 0 updated, 1 duplicate" in result.stderr
    recs = records(tmp_path)
    assert len(recs) == 2
    mini = next(r for r in recs if r.model == "gpt-4o-mini-2024-07-18")
    assert (mini.user, mini.session, mini.environment) == ("u_1842", "sess_5d0c", "production")
    assert mini.latency_ms == 1508.0 and mini.ttft_ms == 412.0
    assert mini.reported_cost_usd == Decimal("0.0002802")


def test_helicone_sessions_properties_and_cache_hits(run, tmp_path):
    assert ingest(run, tmp_path, "helicone_export.csv").exit_code == 0
    first = records(tmp_path)[0]
    assert (first.user, first.session, first.feature) == ("u_1842", "sess_5d0c", "answer")
    assert first.tags["session-path"] == "/answer"
    assert ingest(run, tmp_path, "helicone_export.jsonl", db="e.db").exit_code == 0
    assert sorted(r.status for r in records(tmp_path, "e.db")) == ["cache_hit", "ok", "ok"]


def test_codex_and_gemini_cli_sessions(run, tmp_path):
    ingest(run, tmp_path, "codex_rollout.jsonl", "gemini_cli_session.jsonl")
    recs = records(tmp_path)
    codex = [r for r in recs if r.source_kind == "codex"]
    assert {r.session for r in codex} == {"0198b5c2-3f4a-7d1e-9b8c-2a3d4e5f6071"}
    assert {r.tags["git_branch"] for r in codex} == {"main"}
    gemini = [r for r in recs if r.source_kind == "gemini-cli"]
    assert {r.session for r in gemini} == {"5c1e9a7b-2d4f-4e8a-9b3c-6d7e8f9a0b1c"}
    assert {r.provider for r in gemini} == {"google"}
