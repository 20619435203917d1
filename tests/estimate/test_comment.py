"""`llmaudit comment github|gitlab` against a loopback server that speaks the REST endpoints
it uses (list, create, update, delete comments / merge-request notes)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest

TOKEN = "ghp_LOOPBACKtoken0123456789abcdefABCDEF"
MARKER = "<!-- llmaudit-check -->"


class Api(BaseHTTPRequestHandler):
    def _send(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _auth(self) -> bool:
        srv = self.server
        ok = (
            self.headers.get("Authorization") == f"Bearer {TOKEN}"
            or self.headers.get("PRIVATE-TOKEN") == TOKEN
        )
        if not ok:
            self._send(401, {"message": "Bad credentials"})
        srv.calls.append((self.command, urlparse(self.path).path))
        return ok

    def _body(self):
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

    def do_GET(self):
        if not self._auth():
            return None
        url = urlparse(self.path)
        page = int(dict(p.split("=") for p in url.query.split("&"))["page"])
        items = self.server.comments[(page - 1) * 100 : page * 100]
        return self._send(200, items)

    def do_POST(self):
        if not self._auth():
            return None
        srv = self.server
        srv.next_id += 1
        comment = {
            "id": srv.next_id,
            "body": self._body()["body"],
            "html_url": f"https://github.example/acme/app/pull/7#issuecomment-{srv.next_id}",
        }
        srv.comments.append(comment)
        return self._send(201, comment)

    def _find(self):
        cid = int(urlparse(self.path).path.rsplit("/", 1)[1])
        return next((c for c in self.server.comments if c["id"] == cid), None)

    def do_PATCH(self):
        if not self._auth():
            return None
        comment = self._find()
        comment["body"] = self._body()["body"]
        return self._send(200, comment)

    do_PUT = do_PATCH

    def do_DELETE(self):
        if not self._auth():
            return None
        self.server.comments.remove(self._find())
        return self._send(204)

    def log_message(self, *args):
        pass


@pytest.fixture
def api(monkeypatch):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    srv.calls, srv.next_id = [], 100
    # someone else's comments first, 150 of them: the marker is searched on every page
    srv.comments = [{"id": i, "body": f"a review {i}", "html_url": "x"} for i in range(1000, 1150)]
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{srv.server_port}")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/app")
    yield srv
    srv.shutdown()
    srv.server_close()


def ours(api):
    return [c for c in api.comments if MARKER in c["body"]]


def test_create_then_update_one_comment(run, api, tmp_path, monkeypatch):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    output = tmp_path / "out.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    (tmp_path / "c.md").write_text(f"{MARKER}\n### llmaudit cost check\nfirst\n")
    first = run("comment", "github", "c.md")
    assert first.exit_code == 0, first.stderr
    assert first.stdout == "https://github.example/acme/app/pull/7#issuecomment-101\n"
    assert ("POST", "/repos/acme/app/issues/7/comments") in api.calls
    (tmp_path / "c.md").write_text(f"{MARKER}\n### llmaudit cost check\nsecond\n")
    second = run("comment", "github", "c.md")
    assert second.exit_code == 0, second.stderr
    assert "comment updated" in second.stderr
    assert ("PATCH", "/repos/acme/app/issues/comments/101") in api.calls
    assert [c["body"] for c in ours(api)] == [f"{MARKER}\n### llmaudit cost check\nsecond\n"]
    same = run("comment", "github", "c.md")
    assert "comment unchanged" in same.stderr
    assert output.read_text().count("comment_url=") == 3
    for res in (first, second, same):
        assert TOKEN not in res.stdout + res.stderr


def test_delete_and_new_and_new(run, api, tmp_path):
    (tmp_path / "c.md").write_text("no marker yet\n")
    assert run("comment", "github", "c.md", "--pr", "7").exit_code == 0
    assert ours(api)[0]["body"] == f"{MARKER}\nno marker yet\n"  # the marker is added
    assert run("comment", "github", "c.md", "--pr", "7", "--behavior", "new").exit_code == 0
    assert len(ours(api)) == 2
    res = run("comment", "github", "c.md", "--pr", "7", "--behavior", "delete-and-new")
    assert res.exit_code == 0, res.stderr
    assert len(ours(api)) == 1 and ours(api)[0]["id"] == 103
    assert len(api.comments) == 151  # the others' comments untouched


def test_a_body_over_the_limit_is_cut_with_a_note(run, api, tmp_path):
    (tmp_path / "c.md").write_text(MARKER + "\n" + "| row |\n" * 20_000)
    assert run("comment", "github", "c.md", "--pr", "7").exit_code == 0
    body = ours(api)[0]["body"]
    assert len(body) == 65_536
    assert body.endswith("the whole report is in the job's step summary)")


def test_a_cut_body_links_to_the_run_on_github_actions(run, api, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    (tmp_path / "c.md").write_text(MARKER + "\n" + "| row |\n" * 20_000)
    assert run("comment", "github", "c.md", "--pr", "7").exit_code == 0
    body = ours(api)[0]["body"]
    assert len(body) == 65_536
    assert body.endswith("step summary: https://github.example/acme/app/actions/runs/42)")


def test_a_refused_token_is_exit_4_and_never_shown(run, api, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_WRONGtoken0123456789")
    (tmp_path / "c.md").write_text("x\n")
    res = run("--debug", "comment", "github", "c.md", "--pr", "7")
    assert res.exit_code == 4
    assert "GITHUB_TOKEN" in res.stderr
    assert "ghp_WRONGtoken0123456789" not in res.stderr + res.stdout


def test_missing_context_is_a_usage_error(run, api, tmp_path, monkeypatch):
    (tmp_path / "c.md").write_text("x\n")
    res = run("comment", "github", "c.md")  # no --pr and no pull_request event
    assert res.exit_code == 2
    assert "--pr N is needed" in res.stderr


def test_gitlab_note_created_then_updated(run, api, tmp_path, monkeypatch):
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("CI_API_V4_URL", f"http://127.0.0.1:{api.server_port}/api/v4")
    monkeypatch.setenv("CI_PROJECT_ID", "acme/app")
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "12")
    (tmp_path / "c.md").write_text("first\n")
    assert run("comment", "gitlab", "c.md").exit_code == 0
    (tmp_path / "c.md").write_text("second\n")
    res = run("comment", "gitlab", "c.md")
    assert res.exit_code == 0, res.stderr
    assert ("POST", "/api/v4/projects/acme%2Fapp/merge_requests/12/notes") in api.calls
    assert ("PUT", "/api/v4/projects/acme%2Fapp/merge_requests/12/notes/101") in api.calls
    assert [c["body"] for c in ours(api)] == [f"{MARKER}\nsecond\n"]
