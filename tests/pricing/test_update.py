"""`llmaudit pricing update FILE|URL`: newer prices in, history kept, shown before written."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# genai-prices' data.json shape: providers, each with its models (prices per million tokens)
GENAI = [
    {
        "id": "openai",
        "name": "OpenAI",
        "pricing_urls": ["https://platform.openai.com/docs/pricing"],
        "models": [
            # gpt-4o-mini was $0.15 / $0.60: now $0.12 in from 2026-11-20
            {
                "id": "gpt-4o-mini",
                "match": {"equals": "gpt-4o-mini"},
                "prices": [
                    {"prices": {"input_mtok": 0.15, "output_mtok": 0.6}},
                    {
                        "constraint": {"start_date": "2026-11-20"},
                        "prices": {"input_mtok": 0.12, "output_mtok": 0.6},
                    },
                ],
            },
            {"id": "gpt-4o", "match": {"equals": "gpt-4o"},
             "prices": {"input_mtok": 2.5, "output_mtok": 10, "cache_read_mtok": 1.25}},
            {"id": "gpt-9-mini", "match": {"equals": "gpt-9-mini"},
             "prices": {"input_mtok": 1, "output_mtok": 4}},
        ],
    },
    {"id": "somehost", "name": "Some host", "pricing_urls": ["https://x.example"],
     "models": [{"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": 1}}]},
]  # fmt: skip


def _write(tmp_path, data, name="data.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_update_shows_then_writes_keeping_history(run, tmp_path):
    source = _write(tmp_path, GENAI)
    shown = run("pricing", "update", source)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "~ gpt-4o-mini: input $0.15 -> $0.12 from 2026-11-20",
        "+ gpt-9-mini: input $1, output $4 (new)",
    ]
    assert "left out 1 model(s) of providers the table does not price: somehost" in shown.stderr
    assert "run again with --yes" in shown.stderr
    # nothing written without --yes
    assert run("pricing", "explain", "gpt-9-mini").stdout.startswith("gpt-9-mini: unpriced")
    done = run("pricing", "update", source, "--yes")
    assert done.exit_code == 0 and "wrote 2 model(s)" in done.stderr
    periods = json.loads(run("pricing", "show", "gpt-4o-mini", "--format", "json").stdout)
    assert [(p["from"], p["until"], p["input"]) for p in periods["model"]["periods"]] == [
        (None, "2026-11-20", "0.15"),  # the bundled history, kept
        ("2026-11-20", None, "0.12"),
    ]
    # every command now prices with it: 1M gpt-9-mini input tokens cost $1
    assert "input $1, output $4" in run("pricing", "explain", "gpt-9-mini").stdout
    again = run("pricing", "update", source)
    assert again.stdout == "" and "the table is up to date" in again.stderr


def test_update_reads_litellm_json_too(run, tmp_path):
    data = {
        "sample_spec": {},
        "gpt-9-nano": {"litellm_provider": "openai", "mode": "chat",
                       "input_cost_per_token": 2e-07, "output_cost_per_token": 8e-07},
    }  # fmt: skip
    shown = run("pricing", "update", _write(tmp_path, data))
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines() == ["+ gpt-9-nano: input $0.2, output $0.8 (new)"]
    assert "LiteLLM data from" in shown.stderr


@pytest.fixture
def price_server():
    body = json.dumps(GENAI).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    ).start()
    yield f"http://127.0.0.1:{server.server_port}/prices/data.json"
    server.shutdown()


def test_update_from_a_url(run, price_server):
    shown = run("pricing", "update", price_server)
    assert shown.exit_code == 0, shown.stderr
    assert "~ gpt-4o-mini: input $0.15 -> $0.12 from 2026-11-20" in shown.stdout


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        ("not json", 3, "not JSON"),
        ('{"a": 1}', 3, "neither genai-prices' data.json"),
        ('[{"id": "x"}]', 3, "not genai-prices data"),
    ],
)
def test_update_refuses_what_is_not_price_data(run, tmp_path, content, code, message):
    (tmp_path / "bad.json").write_text(content)
    res = run("pricing", "update", str(tmp_path / "bad.json"))
    assert res.exit_code == code and message in res.stderr


def test_an_old_table_is_said_once_a_week(run, tmp_path, monkeypatch):
    """The bundled table is 'generated = DATE'; past 90 days commands say so, once a week."""
    from datetime import date, timedelta

    from llmaudit.pricing import table as table_module

    built = date.today() - timedelta(days=120)
    real = table_module.load_table

    def aged(*args, **kwargs):  # a copy: the table a process built is shared
        from dataclasses import replace

        return replace(real(*args, **kwargs), generated=built)

    monkeypatch.setattr(table_module, "load_table", aged)
    first = run("pricing", "explain", "gpt-4o")
    assert f"the price table is from {built.isoformat()} (120 days old)" in first.stderr
    assert "pricing update" in first.stderr
    assert "price table is from" not in run("pricing", "explain", "gpt-4o").stderr
    # a week later it is said again
    marker = next(p for p in (tmp_path.rglob("pricing-stale-warned")))
    week_ago = time.time() - 8 * 86400
    os.utime(marker, (week_ago, week_ago))
    assert "price table is from" in run("pricing", "explain", "gpt-4o").stderr
