"""Google Cloud Billing export rows (Gemini API and Vertex AI token SKUs) as usage: the SKU's
model, token type, tier and context class; the billed cost kept for `reconcile --logs`; rows
that are not text tokens counted and named."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import DATA, exported, report_summary
from llmaudit.sources.gcp_billing import NotTokens, parse_sku

pytestmark = pytest.mark.both_engines

FIXTURE = DATA / "logs" / "gcp_billing_export.jsonl"
CSV = DATA / "logs" / "gcp_billing_export.csv"
SKIPPED = (  # as many of each reason: in the order of their names
    "3 line(s) skipped: "
    "1 billing rows not read as token usage: audio input tokens (priced per modality), "
    "1 billing rows not read as token usage: cache storage, "
    "1 billing rows not read as token usage: other services"
)


def test_the_bigquery_json_lines_export_is_read_and_priced(run, tmp_path):
    """gemini-2.5-flash $0.30 in / $0.03 cache read / $2.50 out, batch $1.25 out;
    gemini-2.5-pro $1.25 in, $2.50 in above 200k. Per row: 1,983,966 x 0.30 = $0.5951898;
    461,280 x 2.50 = $1.1532; 500,000 cache reads x 0.03 = $0.015; the "long" Pro row
    400,000 x 2.50 = $1.00 (long by its SKU); 100,000 batch output x 1.25 = $0.125; Vertex's
    Pro row 1,000,000 x 1.25 = $1.25 (standard context: a row's hour of tokens is not one
    request); 200,000 thinking tokens x 2.50 = $0.50; the EUR row 1,000,000 x 0.30 = $0.30.
    Total $4.9383898; gemini-9.9-flash is unpriced, never $0."""
    shutil.copy(FIXTURE, tmp_path / "billing.jsonl")
    res = run("--db", "g.db", "ingest", "billing.jsonl")
    assert res.exit_code == 0, res.stderr
    assert "9 added" in res.stderr and SKIPPED in res.stderr
    assert "unpriced: gemini-9.9-flash (100,000 tokens)" in res.stderr
    summary = report_summary(run, "g.db", "2026-11-20", "2026-11-20")
    assert summary["spend_usd"] == "4.9383898"
    assert summary["tokens"] == {
        "input_uncached": 4_483_966,
        "cache_read": 500_000,
        "cache_write": 0,
        "output": 761_280,
        "reasoning": 200_000,
    }
    assert summary["requests"] == 0
    rows = {r["tags"]["gcp_sku"] + r["ts"]: r for r in exported(run, "g.db")}
    skus = [json.loads(x)["sku"]["description"] for x in FIXTURE.read_text().splitlines()]

    def row(n, hour=7):
        return rows[f"{skus[n]}2026-11-20T{hour:02d}:00:00.000000Z"]

    first = row(0)
    assert (first["model"], first["provider"], first["requests"]) == (
        "gemini-2.5-flash",
        "google",
        0,
    )
    assert (first["ts"], first["ts_end"]) == (
        "2026-11-20T07:00:00.000000Z",
        "2026-11-20T08:00:00.000000Z",
    )
    assert first["reported_cost_usd"] == "0.59519" and first["project"] == "acme-prod"
    assert first["tags"]["gcp_sku"].startswith("Generate content input token count")
    pro_long = row(3)
    assert (pro_long["model"], pro_long["tags"]["context_window"], pro_long["cost_usd"]) == (
        "gemini-2.5-pro",
        "long",
        "1",
    )
    batch = row(4)
    assert (batch["service_tier"], batch["output_tokens"], batch["cost_usd"]) == (
        "batch",
        100_000,
        "0.125",
    )
    vertex = row(5)
    assert (vertex["team"], vertex["feature"], vertex["cost_usd"]) == ("search", "ranker", "1.25")
    thinking = row(6)
    assert (thinking["output_tokens"], thinking["reasoning_tokens"]) == (200_000, 200_000)
    eur = row(11, hour=8)
    # 0.27 EUR at 0.9 EUR a dollar: $0.30 billed
    assert (eur["project"], eur["reported_cost_usd"], eur["cost_usd"]) == ("acme-eu", "0.3", "0.3")
    assert eur["tags"]["gcp_credits_usd"] == "-0.3"  # its free-trial credit, -0.27 EUR
    # the same rows again, in another file (a second extract of the same table): nothing added
    shutil.copy(FIXTURE, tmp_path / "billing-again.jsonl")
    again = run("--db", "g.db", "ingest", "billing-again.jsonl")
    assert again.exit_code == 0, again.stderr
    assert "0 added" in again.stderr and "9 duplicate" in again.stderr


def test_logged_cost_against_the_list_price(run, tmp_path):
    """`reconcile --logs` sets the bill against llmaudit's price: flash's billed rows sum to
    $2.68839 against $2.6883898 computed (Google rounds each row)."""
    shutil.copy(FIXTURE, tmp_path / "billing.jsonl")
    run("--db", "g.db", "ingest", "billing.jsonl")
    out = run(
        "--db",
        "g.db",
        "reconcile",
        "--logs",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-20",
        "--format",
        "json",
    )
    rows = json.loads(out.stdout)["reconcile_logs"]["rows"]
    by = {(r["model"], r["feature"]): r for r in rows}
    flash = by[("gemini-2.5-flash", "(none)")]
    assert (flash["records"], flash["logged_usd"], flash["computed_usd"]) == (
        6,
        "2.68839",
        "2.6883898",
    )
    assert by[("gemini-2.5-pro", "ranker")]["computed_usd"] == "1.25"
    assert by[("gemini-9.9-flash", "(none)")]["computed_usd"] is None


def test_the_flattened_csv_is_the_same_usage(run, tmp_path):
    """A CSV of the same rows (nested columns flattened as `sku.description`; no labels, which
    BigQuery cannot put in a CSV) gives the same tokens and spend."""
    shutil.copy(CSV, tmp_path / "billing.csv")
    res = run("--db", "c.db", "ingest", "billing.csv")
    assert res.exit_code == 0, res.stderr
    assert "9 added" in res.stderr and SKIPPED in res.stderr
    assert report_summary(run, "c.db", "2026-11-20", "2026-11-20")["spend_usd"] == "4.9383898"
    assert (
        "(unset)" in run("--db", "c.db", "report", "--by", "team", "--since", "2026-11-20").stdout
    )


def test_a_query_result_array_with_underscored_columns_and_string_numbers(run, tmp_path):
    """`bq query --format=json` prints one array, numbers as strings; a query's aliases
    flatten `sku.description` to `sku_description`; timestamps without a zone are UTC."""
    rows = []
    for line in FIXTURE.read_text().splitlines()[:2]:
        obj = json.loads(line)
        rows.append(
            {
                "service_description": obj["service"]["description"],
                "sku_description": obj["sku"]["description"],
                "usage_start_time": obj["usage_start_time"].removesuffix(" UTC"),
                "usage_end_time": obj["usage_end_time"].removesuffix(" UTC"),
                "project_id": obj["project"]["id"],
                "usage_amount": str(obj["usage"]["amount"]),
                "usage_unit": obj["usage"]["unit"],
                "cost": str(obj["cost"]),
                "currency": "USD",
            }
        )
    (tmp_path / "q.json").write_text(json.dumps(rows, indent=2))
    res = run("--db", "q.db", "ingest", "q.json")
    assert res.exit_code == 0, res.stderr
    assert "2 added" in res.stderr
    # 0.5951898 + 1.1532
    assert report_summary(run, "q.db", "2026-11-20", "2026-11-20")["spend_usd"] == "1.7483898"


def test_a_bad_line_is_rejected_and_a_later_extract_adds_its_new_rows(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["usage"]["amount"] = "lots"
    path = tmp_path / "billing.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n")
    res = run("--db", "g.db", "ingest", "billing.jsonl")
    assert res.exit_code == 3
    assert "billing.jsonl:2: usage.amount: must be a number, got 'lots'" in res.stderr
    assert "2 added" in res.stderr and "1 rejected" in res.stderr
    with path.open("a") as fh:  # the next extract: the same rows and one more
        fh.write(lines[3] + "\n")
    res = run("--db", "g.db", "ingest", "billing.jsonl")
    assert "1 added, 0 updated, 2 duplicate, 1 rejected" in res.stderr
    assert sorted(r["model"] for r in exported(run, "g.db")) == [
        "gemini-2.5-flash",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
    ]


def test_a_euro_row_without_a_rate_is_rejected(run, tmp_path):
    row = json.loads(FIXTURE.read_text().splitlines()[-1])
    del row["currency_conversion_rate"]
    (tmp_path / "b.jsonl").write_text(json.dumps(row) + "\n")
    res = run("--db", "g.db", "ingest", "b.jsonl")
    assert res.exit_code == 3
    assert "b.jsonl:1: cost: is in EUR and the row has no currency_conversion_rate" in res.stderr


def test_detected_in_a_folder_beside_other_logs(run, tmp_path):
    (tmp_path / "logs").mkdir()
    shutil.copy(FIXTURE, tmp_path / "logs" / "export-000000000000.json")
    shutil.copy(DATA / "logs" / "cloudflare_ai_gateway_logs.json", tmp_path / "logs" / "cf.json")
    res = run("--db", "g.db", "ingest", "logs")
    assert res.exit_code == 0, res.stderr
    assert "logs/export-000000000000.json: 9 added" in res.stderr
    assert "logs/cf.json: 5 added" in res.stderr
    kinds = sorted({r["record_key"].split(":")[0] for r in exported(run, "g.db")})
    assert kinds == ["cloudflare-ai-gateway", "gcp-billing"]


@pytest.mark.parametrize(
    ("sku", "parsed"),
    [
        (
            "Generate content input token count gemini 3.1 flash lite preview text",
            ("gemini-3.1-flash-lite-preview", "input", "standard", "0-short", False, False),
        ),
        (
            "Generate content cached input token count gemini 2.5 pro long input text",
            ("gemini-2.5-pro", "input", "standard", "long", True, False),
        ),
        (
            "Generate content output token count gemini 3 flash text flex",
            ("gemini-3-flash", "output", "flex", "0-short", False, False),
        ),
        (
            "Generate_content_cached_input_token_count_gemini_3_pro_short_image",
            ("gemini-3-pro", "input", "standard", "0-short", True, False),
        ),
        (
            "Gemini 2.5 Flash GA Video Input Priority - Predictions",
            ("gemini-2.5-flash", "input", "priority", "0-short", False, False),
        ),
        (
            "Gemini 2.5 Pro Text Input Caching (Long)",
            ("gemini-2.5-pro", "input", "standard", "long", True, False),
        ),
        (
            "Gemini 2.5 Flash Thinking Text Output - Predictions",
            ("gemini-2.5-flash", "output", "standard", "0-short", False, True),
        ),
    ],
)
def test_sku_grammars(sku, parsed):
    assert parse_sku(sku) == parsed


@pytest.mark.parametrize(
    ("sku", "reason"),
    [
        ("Generate_content image output token count for Gemini 3 Pro Image", "image output"),
        ("Gemini 2.5 Flash Input Text Caching Storage", "cache storage"),
        ("Gemini 1.0 Pro Text Input Characters - Predictions", "billed per character"),
        ("Grounding with Google Search", "not a token count"),
    ],
)
def test_skus_that_are_not_text_tokens(sku, reason):
    with pytest.raises(NotTokens, match=reason):
        parse_sku(sku)
