"""Token counts equal tiktoken's own, loaded through tiktoken's cache from the same official
files; the chat overhead follows OpenAI's documented formula; no network is ever needed."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import EXPECTED_SHA256
from llmaudit.estimate import tokens
from llmaudit.estimate.estimate import chat_tokens
from llmaudit.estimate.prompts import Prompt

TEXTS = {
    "ascii": "The quick brown fox jumps over the lazy dog. " * 3,
    "unicode": "Grüße aus Köln – naïve café, 東京タワー, Ελληνικά, русский текст, العربية",
    "code": "def total(items):\n    return sum(i.price * i.qty for i in items)  # ok\n\tpass\n",
    "emoji": "🚀🔥👩‍💻 deploy done ✅ 🇫🇷 family: 👨‍👩‍👧‍👦",
    "whitespace": "  leading\n\n\n   trailing   \r\n\ttabs\t\t",
    "large": ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. 12345 67890\n" * 1500),
}


def test_bundled_files_have_tiktokens_hashes():
    for name, digest in EXPECTED_SHA256.items():
        data = gzip.decompress((tokens.DATA / f"{name}.tiktoken.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest


@pytest.mark.parametrize("encoding", sorted(EXPECTED_SHA256))
@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_counts_equal_tiktoken(official, encoding, kind):
    text = TEXTS[kind]
    assert tokens.count(text, encoding) == len(official[encoding].encode(text))
    assert tokens.encoding(encoding).encode(text) == official[encoding].encode(text)


def test_large_input_is_100kb():
    assert len(TEXTS["large"].encode()) > 100_000


def test_chat_overhead_follows_openais_formula(official):
    enc = official["o200k_base"]
    prompt = Prompt(
        "x",
        [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hello!", "name": "dana"},
        ],
        True,
    )
    expected = (
        3
        + len(enc.encode("system"))
        + len(enc.encode("You are terse."))
        + 3
        + len(enc.encode("user"))
        + len(enc.encode("Hello!"))
        + len(enc.encode("dana"))
        + 1
        + 3
    )
    assert chat_tokens(prompt, "o200k_base") == expected


def test_model_encodings():
    assert tokens.encoding_for("gpt-4o-mini-2024-07-18") == "o200k_base"
    assert tokens.encoding_for("gpt-4-0613") == "cl100k_base"
    assert tokens.encoding_for("openai/gpt-4.1") == "o200k_base"
    assert tokens.encoding_for("o3-mini") == "o200k_base"
    assert tokens.encoding_for("claude-sonnet-4-5") is None


def test_works_with_the_network_unplugged(run, tmp_path, monkeypatch):
    def refuse(*_a, **_k):
        raise OSError("network is unplugged")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    tokens.encoding.cache_clear()
    (tmp_path / "p.txt").write_text("Hello there")
    result = run("estimate", "p.txt", "--model", "gpt-4o", "--format", "json")
    assert result.exit_code == 0, result.stderr


@contextlib.contextmanager
def count_tokens_server(answer):
    """A loopback count-tokens endpoint: ``answer(headers)`` gives (status, JSON body); every
    request is recorded as (path, headers, body)."""
    seen = []

    class CountTokens(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, dict(self.headers), body))
            status, payload = answer(self.headers)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), CountTokens)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    ).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()


def test_exact_counts_from_anthropics_endpoint(run, tmp_path, monkeypatch):
    def answer(headers):
        ok = (
            headers.get("x-api-key") == "sk-ant-api03-TEST"
            and headers.get("anthropic-version") == "2023-06-01"
        )
        return (200, {"input_tokens": 1234}) if ok else (401, {"error": {}})

    with count_tokens_server(answer) as (url, seen):
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-TEST")
        monkeypatch.setenv("LLMAUDIT_ANTHROPIC_BASE_URL", url)
        (tmp_path / "chat.json").write_text(
            json.dumps(
                [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
            )
        )
        result = run(
            "estimate", "chat.json", "--model", "claude-haiku-4-5", "--exact", "--format", "json"
        )
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["estimates"][0]["rows"]
    assert (row["input_tokens"], row["exact"], row["method"]) == (
        1234,
        True,
        "anthropic count_tokens",
    )
    path, _headers, body = seen[0]
    assert path == "/v1/messages/count_tokens"
    assert body == {
        "model": "claude-haiku-4-5",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_exact_counts_from_geminis_endpoint(run, tmp_path, monkeypatch):
    """--exact with only GEMINI_API_KEY: Gemini models are counted by countTokens (system
    message as systemInstruction, assistant as the model role), Anthropic stays an estimate."""

    def answer(headers):
        ok = headers.get("x-goog-api-key") == "AIza-TEST"
        return (200, {"totalTokens": 321}) if ok else (403, {"error": {}})

    with count_tokens_server(answer) as (url, seen):
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
        monkeypatch.setenv("GEMINI_API_KEY", "AIza-TEST")
        monkeypatch.setenv("LLMAUDIT_GOOGLE_BASE_URL", url)
        (tmp_path / "chat.json").write_text(
            json.dumps(
                [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": "Bye"},
                ]
            )
        )
        result = run(
            "estimate", "chat.json", "--model", "gemini-2.5-flash", "--model",
            "claude-haiku-4-5", "--exact", "--format", "json",
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    gemini, claude = json.loads(result.stdout)["estimates"][0]["rows"]
    assert (gemini["input_tokens"], gemini["exact"], gemini["method"]) == (
        321,
        True,
        "google countTokens",
    )
    assert claude["exact"] is False
    assert "AIza-TEST" not in result.stdout + result.stderr
    ((path, _headers, body),) = seen
    assert path == "/v1beta/models/gemini-2.5-flash:countTokens"
    assert body == {
        "generateContentRequest": {
            "model": "models/gemini-2.5-flash",
            "contents": [
                {"role": "user", "parts": [{"text": "Hi"}]},
                {"role": "model", "parts": [{"text": "Hello."}]},
                {"role": "user", "parts": [{"text": "Bye"}]},
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
        }
    }


def test_exact_without_any_key_is_a_usage_error(run, tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "p.txt").write_text("Hi")
    result = run("estimate", "p.txt", "--model", "gemini-2.5-flash", "--exact")
    assert result.exit_code == 2
    assert "GEMINI_API_KEY" in result.stderr


def test_exact_with_a_refused_key_says_which_key(run, tmp_path, monkeypatch):
    with count_tokens_server(lambda headers: (403, {"error": {}})) as (url, _seen):
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        monkeypatch.setenv("GEMINI_API_KEY", "AIza-WRONG")
        monkeypatch.setenv("LLMAUDIT_GOOGLE_BASE_URL", url)
        (tmp_path / "p.txt").write_text("Hi")
        result = run("estimate", "p.txt", "--model", "gemini-2.5-flash", "--exact")
    assert result.exit_code == 4
    assert "refused the key (403): a valid API key is needed; set GEMINI_API_KEY" in result.stderr
    assert "AIza-WRONG" not in result.stderr
