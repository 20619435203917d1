"""AWS Bedrock model invocation logs: the S3 object tree, priced at Bedrock's own prices."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from conftest import DATA

pytestmark = pytest.mark.both_engines


FIXTURE = DATA / "logs" / "bedrock_invocation_logs.jsonl"
TREE = "AWSLogs/123456789012/BedrockModelInvocationLogs/us-east-1/2026/11/20/14"


def _tree(tmp_path, lines, name="20261120T1405Z_3f1a.json.gz"):
    folder = tmp_path / TREE
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / name, "wt", encoding="utf-8") as fh:
        fh.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
    return folder / name


def _report(run):
    out = run("--db", "b.db", "report", "--since", "2026-11-20", "--until", "2026-11-20",
              "--format", "json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)["report"]["sections"]


def test_the_s3_tree_is_read_and_priced_at_bedrocks_prices(run, tmp_path):
    """Bedrock's regional prices (genai-prices, aws): Claude Haiku 4.5 $1.10 in, $0.11 cache
    read, $1.375 5-minute write, $5.50 out; Llama 3.1 70B $0.72 / $0.72; Claude Sonnet 4.5
    $3.30 in, $6.60 1-hour write, $16.50 out.

    - haiku: 1200 x 1.1 + 8000 x 0.11 + 2000 x 1.375 + 300 x 5.5 = 6,600 -> $0.0066
    - llama: 10000 x 0.72 + 5000 x 0.72 = 10,800 -> $0.0108
    - sonnet: 20 x 3.3 + 4096 x 6.6 + 640 x 16.5 = 37,659.6 -> $0.0376596
    - the application inference profile names no model: unpriced
    """
    _tree(tmp_path, FIXTURE.read_text().splitlines())
    done = run("--db", "b.db", "ingest", "AWSLogs")
    assert done.exit_code == 0, done.stderr
    assert "4 added" in done.stderr
    assert "unpriced: a1b2c3d4e5f6" in done.stderr
    sections = _report(run)
    assert sections["summary"]["spend_usd"] == "0.0550596"
    by_feature = {tuple(r["key"]): r["cost_usd"] for r in sections["spend"]["rows"]}
    assert by_feature[("triage",)] == "0.0066" and by_feature[("agent",)] == "0.0376596"
    # the same objects again, and the tree walked again: nothing new
    again = run("--db", "b.db", "ingest", "AWSLogs")
    assert again.exit_code == 0 and "4 added" not in again.stderr
    assert _report(run)["summary"]["spend_usd"] == "0.0550596"


def test_attribution_and_provenance(run, tmp_path):
    shutil.copy(FIXTURE, tmp_path / "b.jsonl")
    assert run("--db", "b.db", "ingest", "b.jsonl").exit_code == 0
    rows = [json.loads(line) for line in run("--db", "b.db", "export").stdout.splitlines()]
    haiku, llama, sonnet, profile = rows
    assert (haiku["feature"], haiku["team"], haiku["provider"]) == ("triage", "support", "bedrock")
    assert haiku["user"] == "arn:aws:sts::123456789012:assumed-role/support-bot/i-0abc"
    assert haiku["tags"] == {"aws_account": "123456789012", "aws_region": "us-east-1",
                             "operation": "Converse"}  # fmt: skip
    assert haiku["latency_ms"] == 1840
    assert llama["model"] == "meta.llama3-1-70b-instruct-v1:0"  # from its foundation-model ARN
    assert (sonnet["user"], sonnet["cache_write_1h_tokens"]) == ("alice", 4096)
    assert profile["tags"]["application_inference_profile"] == "a1b2c3d4e5f6"
    assert profile["priced"] is False


def test_a_bad_line_is_one_reject_with_its_place(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["output"]["outputTokenCount"] = "lots"
    obj = _tree(tmp_path, [lines[0], json.dumps(broken), lines[2]])
    res = run("--db", "b.db", "ingest", "AWSLogs")
    assert res.exit_code == 3
    assert f"{obj.relative_to(tmp_path)}:2: output.outputTokenCount" in res.stderr
    assert "2 added" in res.stderr and "1 rejected" in res.stderr


def test_a_new_object_in_the_tree_adds_only_its_records(run, tmp_path):
    lines = FIXTURE.read_text().splitlines()
    _tree(tmp_path, lines[:2], "a.json.gz")
    assert "2 added" in run("--db", "b.db", "ingest", "AWSLogs").stderr
    _tree(tmp_path, lines[2:], "b.json.gz")
    later = run("--db", "b.db", "ingest", "AWSLogs")
    assert later.exit_code == 0, later.stderr
    assert "b.json.gz: 2 added" in later.stderr
    assert "a.json.gz: 2 added" not in later.stderr
