"""`llmaudit pull` against a hostile server: every way it can misbehave ends in a clean
exit 4 with one line, within bounds, and keeps no key."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmaudit import http
from llmaudit.sources import pull

_KEYS = st.sampled_from(
    ["data", "has_more", "next_page", "results", "start_time", "end_time", "starting_at",
     "ending_at", "model", "input_tokens", "output_tokens", "uncached_input_tokens",
     "cache_read_input_tokens", "amount", "currency", "value", "num_model_requests", "usage",
     "date", "tokens_prompt", "tokens_completion", "project_id", "cost", "object", "page"]
)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=6),
    max_leaves=30,
)
# pages shaped like the real ones, with anything inside
_ITEM = st.dictionaries(_KEYS, json_values | st.lists(st.dictionaries(_KEYS, json_values)))
pages = st.fixed_dictionaries(
    {"data": st.lists(_ITEM, max_size=4)},
    optional={"has_more": json_values, "next_page": json_values},
)

KEY = "sk-admin-HOSTILE-0123456789abcdef0123"
PATH = "/v1/organization/usage/completions"
BUCKET = {
    "object": "bucket",
    "start_time": 1785542400,  # 2026-08-01
    "end_time": 1785628800,
    "results": [
        {
            "object": "organization.usage.completions.result",
            "input_tokens": 100,
            "output_tokens": 10,
            "input_cached_tokens": 0,
            "num_model_requests": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "project_id": "proj_1",
        }
    ],
}


class Hostile(BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.hits += 1
        mode = srv.mode
        if mode == "endless":  # always more, always a new token
            return self.reply({"data": [BUCKET], "has_more": True, "next_page": f"p{srv.hits}"})
        if mode == "loop":  # the same token again and again
            return self.reply({"data": [BUCKET], "has_more": True, "next_page": "p1"})
        if mode == "429":
            return self.reply({"error": {"message": "slow down"}}, 429, {"Retry-After": "1000"})
        if mode == "huge":
            return self.reply({"data": [BUCKET], "pad": "x" * 3_000_000})
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            try:
                for byte in b'{"data": []}':
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.15)
            except OSError:  # the client gave up, as it should
                pass
            return None
        if mode == "echo":
            bucket = json.loads(json.dumps(BUCKET))
            bucket["results"][0]["project_id"] = f"echo {self.headers['Authorization']}"
            return self.reply({"data": [bucket], "has_more": False, "note": KEY})
        if mode == "typed":  # pages of the wrong shape: data items of every type
            return self.reply({"data": [1, "x", None, {"start_time": "soon"}, BUCKET]})
        if mode == "random":  # whatever the test put there, for every endpoint
            return self.reply(srv.body, srv.status)
        if mode == "badtoken":
            return self.reply({"data": [BUCKET], "has_more": True, "next_page": {"x": 1}})
        return self.reply({"data": "not a list"})

    def reply(self, body, status=200, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() waits for the handlers: none outlives its test

    def handle_error(self, request, client_address):
        pass  # a client that hung up on a hostile answer is the point, not a failure


@pytest.fixture
def hostile(monkeypatch):
    srv = Server(("127.0.0.1", 0), Hostile)
    srv.hits = 0
    srv.mode = ""
    srv.body, srv.status = {}, 200
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    monkeypatch.setenv("OPENAI_ADMIN_KEY", KEY)
    monkeypatch.setenv("LLMAUDIT_OPENAI_BASE_URL", f"http://127.0.0.1:{srv.server_port}/v1")
    # small bounds, so each is reached in a test's time
    monkeypatch.setattr(pull, "MAX_PAGES", 25)
    monkeypatch.setattr(http, "MAX_BODY", 1024 * 1024)
    monkeypatch.setattr(http, "REQUEST_DEADLINE", 0.5)
    monkeypatch.setattr(http, "RETRY_BUDGET", 5.0)
    yield srv
    srv.shutdown()
    srv.server_close()


def _pull(run, hostile, mode):
    hostile.mode = mode
    started = time.monotonic()
    res = run("--db", "l.db", "pull", "openai", "--since", "2026-08-01", "--until", "2026-08-02")
    return res, time.monotonic() - started


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("endless", "stopped after 25 pages"),
        ("loop", "the server sent next_page 'p1' again (a pagination loop)"),
        ("429", "asked to wait 60 s more, past the 5 s retry budget"),
        ("huge", "answered more than 1 MiB; stopped"),
        ("drip", "took over 0 s to answer; stopped"),
        ("badtoken", "next_page is not a page token"),
        ("shape", "is not the expected JSON (no data list)"),
    ],
)
def test_a_hostile_server_gives_a_clean_exit_4(run, hostile, mode, message, tmp_path):
    res, took = _pull(run, hostile, mode)
    assert res.exit_code == 4, res.stderr
    assert message in res.stderr
    assert "internal error" not in res.stderr
    assert took < 15
    if mode == "endless":
        assert hostile.hits == 4 * 25  # each of the 4 OpenAI endpoints stopped at the cap


def test_wrongly_typed_buckets_are_rejects_not_a_crash(run, hostile, tmp_path):
    res, _ = _pull(run, hostile, "typed")
    assert res.exit_code == 3, res.stderr
    with sqlite3.connect(tmp_path / "l.db") as conn:
        rejects = conn.execute("SELECT COUNT(*) FROM rejects").fetchone()[0]
        records = conn.execute("SELECT SUM(input_uncached) FROM records").fetchone()[0]
    assert rejects >= 4  # 1, "x", null, and the bucket with a text start_time, per endpoint
    assert records and records % 100 == 0  # the good bucket is kept (once per endpoint)


def test_a_key_echoed_by_the_server_is_never_stored(run, hostile, tmp_path):
    res, _ = _pull(run, hostile, "echo")
    assert res.exit_code == 0, res.stderr
    dump = "\n".join(sqlite3.connect(tmp_path / "l.db").iterdump())
    assert KEY not in dump
    assert "[REDACTED]" in dump


def test_proxy_credentials_in_a_base_url_are_redacted(run, hostile, monkeypatch, tmp_path):
    port = hostile.server_port
    monkeypatch.setenv("LLMAUDIT_OPENAI_BASE_URL", f"http://bob:hunter2pass@127.0.0.1:{port}/v1")
    hostile.mode = "echo"
    res = run("--debug", "--db", "l.db", "pull", "openai", "--since", "2026-08-01")
    assert "hunter2pass" not in res.stderr + res.stdout
    dump = "\n".join(sqlite3.connect(tmp_path / "l.db").iterdump())
    assert "hunter2pass" not in dump


@pytest.mark.parametrize("provider", ["openai", "anthropic", "openrouter"])
@settings(
    max_examples=int(os.environ.get("LLMAUDIT_FUZZ_EXAMPLES") or 20),
    derandomize=not os.environ.get("LLMAUDIT_FUZZ_EXAMPLES"),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=json_values | pages,
    status=st.sampled_from([200, 200, 200, 400, 404, 500]),
)
def test_any_server_answer_is_a_clean_exit(run, hostile, monkeypatch, provider, body, status):
    """Every endpoint of every provider, answering any JSON with any status: exit 0, 3 or 4."""
    port = hostile.server_port
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", "sk-ant-admin01-HOSTILE-0123456789")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-v1-HOSTILE-0123456789")
    base = {"openai": "/v1", "anthropic": "", "openrouter": "/api/v1"}[provider]
    monkeypatch.setenv(f"LLMAUDIT_{provider.upper()}_BASE_URL", f"http://127.0.0.1:{port}{base}")
    monkeypatch.setattr(http, "RETRY_BUDGET", 0.0)  # a 500 fails at once
    hostile.mode, hostile.body, hostile.status = "random", body, status
    res = run("--db", "l.db", "pull", provider, "--since", "2026-08-01", "--until", "2026-08-02")
    assert res.exit_code in (0, 3, 4), res.stderr
    assert "internal error" not in res.stderr
