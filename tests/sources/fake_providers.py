"""A loopback HTTP server that speaks the provider usage APIs, serving the fixture pages.

It checks the auth (and version) headers, filters buckets by the requested window, paginates
(2 buckets a page, an opaque token), and can inject faults: a 429 with Retry-After once, a 500
once, or a malformed page.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

DATA = Path(__file__).parent.parent / "data" / "providers"
OPENAI_KEY = "sk-admin-TESTKEY-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-admin01-TESTKEY-anthropic-0123456789"
OPENROUTER_KEY = "sk-or-v1-TESTKEY-openrouter-0123456789"


def load(name):
    return json.loads((DATA / name).read_text())


def buckets(*names):
    out = []
    for name in names:
        out.extend(load(name)["data"])
    return out


ROUTES = {
    "/v1/organization/usage/completions": (
        "openai",
        buckets("openai_usage_completions_page1.json", "openai_usage_completions_page2.json"),
    ),
    "/v1/organization/usage/embeddings": ("openai", buckets("openai_usage_embeddings.json")),
    # written for llmaudit after the documented shape (same fields as embeddings)
    "/v1/organization/usage/moderations": ("openai", buckets("openai_usage_moderations.json")),
    "/v1/organization/costs": ("openai", buckets("openai_costs.json")),
    "/v1/organizations/usage_report/messages": (
        "anthropic",
        buckets("anthropic_usage_messages_page1.json", "anthropic_usage_messages_page2.json"),
    ),
    "/v1/organizations/cost_report": ("anthropic", buckets("anthropic_cost_report.json")),
    "/api/v1/activity": ("openrouter", load("openrouter_activity.json")["data"]),
    "/api/v1/credits": ("openrouter", load("openrouter_credits.json")),
}


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        srv = self.server
        srv.requests.append((url.path, query, dict(self.headers)))
        route = ROUTES.get(url.path)
        if route is None:
            return self.reply(404, {"error": {"message": "not found"}})
        provider, items = route
        if not self.authorised(provider):
            return self.reply(401, {"error": {"message": "invalid admin key"}})
        if srv.faults.get(("429", url.path)):
            srv.faults[("429", url.path)] -= 1
            return self.reply(429, {"error": {"message": "rate limited"}}, {"Retry-After": "1"})
        if srv.faults.get(("500", url.path)):
            srv.faults[("500", url.path)] -= 1
            return self.reply(500, {"error": {"message": "boom"}})
        if url.path == "/api/v1/credits":
            return self.reply(200, items)
        if provider == "openrouter":
            return self.reply(200, {"data": items})
        if provider == "openai":
            assert "group_by[]" in query, query
            start, end = int(query["start_time"][0]), int(query["end_time"][0])
            chosen = [b for b in items if start <= b["start_time"] and b["end_time"] <= end]
        else:
            assert "group_by[]" in query, query
            start = datetime.fromisoformat(query["starting_at"][0].replace("Z", "+00:00"))
            end = datetime.fromisoformat(query["ending_at"][0].replace("Z", "+00:00"))
            chosen = [
                b
                for b in items
                if start <= datetime.fromisoformat(b["starting_at"].replace("Z", "+00:00"))
                and datetime.fromisoformat(b["ending_at"].replace("Z", "+00:00")) <= end
            ]
        offset = int(query.get("page", ["p0"])[0][1:])
        page = chosen[offset : offset + 2]
        more = offset + 2 < len(chosen)
        if srv.faults.get(("malformed", url.path)) and offset > 0:
            return self.reply(200, {"unexpected": "shape"})
        body = {"data": page, "has_more": more, "next_page": f"p{offset + 2}" if more else None}
        if provider == "openai":
            body["object"] = "page"
        return self.reply(200, body)

    def authorised(self, provider: str) -> bool:
        h = self.headers
        if provider == "openai":
            return h.get("Authorization") == f"Bearer {self.server.keys['openai']}"
        if provider == "anthropic":
            return (
                h.get("x-api-key") == self.server.keys["anthropic"]
                and h.get("anthropic-version") == "2023-06-01"
            )
        return h.get("Authorization") == f"Bearer {self.server.keys['openrouter']}"

    def reply(self, status, body, headers=None):
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


class FakeServer(ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = []
        self.faults = {}
        self.keys = {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY, "openrouter": OPENROUTER_KEY}
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
