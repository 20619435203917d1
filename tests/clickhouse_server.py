"""A loopback server speaking ClickHouse's HTTP interface, executing every statement in chDB
(ClickHouse's own engine, in-process): the exact statements llmaudit sends run on ClickHouse.

One chDB session per process (chDB allows one); each test gets its own database in it.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

_session = None
_current: dict[str, str] = {}  # settings the session holds now
_lock = threading.Lock()
_server: ClickHouseServer | None = None
_databases = itertools.count(1)

LOG = os.environ.get("LLMAUDIT_CLICKHOUSE_LOG")  # a file: each statement and its time
USER = "llmaudit"
PASSWORD = "s3cret-clickhouse-pw"


def session():
    """The process's chDB session (created on first use)."""
    global _session
    if _session is None:
        from chdb import session as chdb_session

        where = os.environ.get("LLMAUDIT_CHDB_PATH")
        if not where:  # a folder of its own, removed when the process ends (160 MiB a run)
            where = tempfile.mkdtemp(prefix="llmaudit-chdb-")
            atexit.register(shutil.rmtree, where, ignore_errors=True)
        _session = chdb_session.Session(where)
        atexit.register(_session.cleanup)  # runs first: the session closes, then goes
    return _session


def execute(statement: str, settings: list[tuple[str, str]] = ()) -> bytes:
    """Run one statement in chDB; its output (the statement's own FORMAT, else TSV)."""
    with _lock:
        s = session()
        for name, value in settings:
            if _current.get(name) != value:
                s.query(f"SET {name} = {value}")
                _current[name] = value
        try:
            result = s.query(statement, "TabSeparated")
        finally:
            # output format settings stay set (they change nothing but how answers are
            # written); any other goes back to its default after its statement
            for name, _ in settings:
                if not name.startswith("output_format_"):
                    s.query(f"SET {name} = DEFAULT")
                    _current.pop(name, None)
        return result.bytes() if hasattr(result, "bytes") else bytes(result)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        server: ClickHouseServer = self.server  # type: ignore[assignment]
        user = self.headers.get("X-ClickHouse-User", "default")
        key = self.headers.get("X-ClickHouse-Key", "")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        server.statements.append(body)
        if (user, key) != (server.user, server.password):
            self._answer(
                516,
                f"Code: 516. DB::Exception: {user}: Authentication failed: password is "
                "incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) "
                "(version 26.9.2.1)\n",
            )
            return
        params = parse_qsl(urlsplit(self.path).query)
        settings = [
            (k, v)
            for k, v in params
            if k not in ("wait_end_of_query", "database", "query") and k.isidentifier()
        ]
        started = time.perf_counter()
        try:
            out = execute(body, settings)
            if LOG:
                with open(LOG, "a") as log:
                    took = time.perf_counter() - started
                    log.write(f"{took:8.3f}s {' '.join(body.split())[:300]}\n")
        except Exception as exc:  # chDB's errors carry ClickHouse's "Code: N. DB::Exception"
            self._answer(500, f"{exc}\n")
            return
        self._answer(200, out)

    def _answer(self, status: int, body: str | bytes) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ClickHouseServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, user: str = USER, password: str = PASSWORD) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.user = user
        self.password = password
        self.statements: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, database: str) -> str:
        return f"clickhouse://{self.user}@127.0.0.1:{self.port}/{database}"


def server() -> ClickHouseServer:
    """The process's loopback server (started on first use)."""
    global _server
    if _server is None:
        _server = ClickHouseServer()
    return _server


def new_database() -> str:
    return f"t{next(_databases)}_{threading.get_ident() % 100000}"
