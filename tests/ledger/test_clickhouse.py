"""The ClickHouse ledger's own behaviour: its address, its password, its failures, two
writers at once, paging, migrations. (Every ledger command's figures are checked on it by the
``both_engines`` modules, against the same hand-worked values as SQLite.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA
from llmaudit.errors import StoreError, UsageError
from llmaudit.ledger.clickhouse.client import Address

if os.environ.get("LLMAUDIT_REQUIRE_TOOLS"):
    import chdb  # noqa: F401  (in CI it must be there)
else:
    pytest.importorskip("chdb")
import clickhouse_server


@pytest.fixture
def ch(monkeypatch):
    """(the loopback ClickHouse server, a fresh database's address) with the password set."""
    srv = clickhouse_server.server()
    monkeypatch.setenv("LLMAUDIT_CLICKHOUSE_PASSWORD", clickhouse_server.PASSWORD)
    return srv, srv.url(clickhouse_server.new_database())


@pytest.fixture
def run_ch(capsys):
    """The CLI as is (no --db rewriting): (exit code, stdout, stderr)."""
    from llmaudit.cli.main import main

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


# -- the address --------------------------------------------------------------------------------
def test_address_defaults_and_tls():
    a = Address.parse("clickhouse://ch.internal/llm")
    assert (a.user, a.host, a.port, a.database, a.base_url) == (
        "default",
        "ch.internal",
        8123,
        "llm",
        "http://ch.internal:8123",
    )
    b = Address.parse("clickhouses://finops@ch.example.com/costs")
    assert (b.port, b.base_url, str(b)) == (
        8443,
        "https://ch.example.com:8443",
        "clickhouses://finops@ch.example.com:8443/costs",
    )
    assert Address.parse("clickhouse://u@[::1]:9000/x").base_url == "http://[::1]:9000"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("clickhouse://u:hunter2@h/db", "a password does not belong in the ClickHouse address"),
        ("clickhouse://u@h:8123/", "needs a host and a database"),
        ("clickhouse://u@h/1bad", "must be letters, digits and _"),
        ("clickhouse://u@h/db?secure=1", "no ?query or #fragment"),
        ("clickhouse://u@h:99999/db", "is not a ClickHouse address"),
    ],
)
def test_bad_addresses_are_usage_errors(url, says):
    with pytest.raises(UsageError) as err:
        Address.parse(url)
    assert says in str(err.value)
    assert "hunter2" not in str(err.value)


def test_a_password_in_the_address_is_exit_2_and_never_echoed(run_ch):
    code, out, err = run_ch("--db", "clickhouse://u:hunter2@127.0.0.1:1/db", "report")
    assert code == 2
    assert "hunter2" not in out + err
    assert "LLMAUDIT_CLICKHOUSE_PASSWORD" in err


# -- the password -------------------------------------------------------------------------------
def test_a_wrong_password_is_exit_3_naming_the_variable_not_the_password(ch, run_ch, monkeypatch):
    _, url = ch
    monkeypatch.setenv("LLMAUDIT_CLICKHOUSE_PASSWORD", "wrong-pw-123")
    code, out, err = run_ch("--debug", "--db", url, "ingest", str(DATA / "sample.jsonl"))
    assert code == 3
    assert "refused user 'llmaudit'" in err and "LLMAUDIT_CLICKHOUSE_PASSWORD" in err
    assert "wrong-pw-123" not in out + err  # (--debug shows a traceback, never the password)


def test_the_password_travels_in_a_header_never_in_a_statement_or_the_ledger(ch, run_ch):
    srv, url = ch
    before = len(srv.statements)
    code, _, err = run_ch("--debug", "--db", url, "ingest", str(DATA / "sample.jsonl"))
    assert code == 0, err
    assert clickhouse_server.PASSWORD not in err
    sent = srv.statements[before:]
    assert sent and not any(clickhouse_server.PASSWORD in s for s in sent)
    dump = clickhouse_server.execute(
        "SELECT * FROM " + url.rsplit("/", 1)[1] + ".ingests FORMAT JSONEachRow"
    )
    assert clickhouse_server.PASSWORD.encode() not in dump


def test_the_password_from_the_config(ch, run_ch, monkeypatch, tmp_path):
    _, url = ch
    monkeypatch.delenv("LLMAUDIT_CLICKHOUSE_PASSWORD")
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[ledger]\npath = "{url}"\nclickhouse_password = "{clickhouse_server.PASSWORD}"\n'
    )
    config.chmod(0o600)
    code, _, err = run_ch("ingest", str(DATA / "sample.jsonl"))
    assert code == 0, err
    code, out, _ = run_ch("ledger", "info", "--format", "json")
    info = json.loads(out)["ledger"]
    assert (info["path"], info["records"], info["requests"]) == (url, 3, 6)
    code, out, _ = run_ch("config", "show")
    assert clickhouse_server.PASSWORD not in out


# -- failures -----------------------------------------------------------------------------------
def test_nothing_listening_is_exit_4_in_one_line(run_ch, monkeypatch):
    monkeypatch.setenv("LLMAUDIT_CLICKHOUSE_PASSWORD", "x")
    code, _, err = run_ch("--db", "clickhouse://u@127.0.0.1:9/db", "report")
    assert code == 4
    assert err.count("\n") == 1 and "cannot reach 127.0.0.1:9" in err


class _Garbage(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html>a proxy's login page</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_server_that_is_not_clickhouse_is_exit_3(run_ch, monkeypatch):
    monkeypatch.setenv("LLMAUDIT_CLICKHOUSE_PASSWORD", "x")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    try:
        code, _, err = run_ch("--db", f"clickhouse://u@127.0.0.1:{srv.server_port}/db", "report")
    finally:
        srv.shutdown()
    assert code == 3
    assert "not ClickHouse's JSONCompact" in err and err.count("\n") == 1


def test_reading_a_database_with_no_ledger_is_exit_3_and_creates_nothing(ch, run_ch):
    _, url = ch
    code, _, err = run_ch("--db", url, "report")
    assert code == 3 and f"no ledger at {url}" in err
    database = url.rsplit("/", 1)[1]
    assert (
        clickhouse_server.execute(
            f"SELECT count() FROM system.tables WHERE database = '{database}'"
        ).strip()
        == b"0"
    )


def test_migrations_run_once_and_a_newer_ledger_is_refused(ch):
    from llmaudit.ledger.clickhouse.schema import MIGRATIONS
    from llmaudit.ledger.clickhouse.store import ClickHouseLedger

    srv, url = ch
    address = Address.parse(url)
    with ClickHouseLedger.open(address, clickhouse_server.PASSWORD) as led:
        assert led.schema_version() == (len(MIGRATIONS), "m008_ingest_owner")
    before = len(srv.statements)
    with ClickHouseLedger.open(address, clickhouse_server.PASSWORD) as led:
        assert led.schema_version() == (8, "m008_ingest_owner")
    assert not any("CREATE" in s for s in srv.statements[before:])
    clickhouse_server.execute(
        f"INSERT INTO {address.database}._llmaudit_migrations VALUES ('m999_future', 999, 'x')"
    )
    with pytest.raises(StoreError, match="newer llmaudit"):
        ClickHouseLedger.open(address, clickhouse_server.PASSWORD)


# -- writes -------------------------------------------------------------------------------------
def _lines(start: int, stop: int) -> str:
    return "".join(
        json.dumps(
            {
                "ts": f"2026-11-{1 + n % 28:02d}T10:{n % 60:02d}:00Z",
                "model": "gpt-4o",
                "input_tokens": n,
                "output_tokens": 1,
                "request_id": f"req-{n}",
            }
        )
        + "\n"
        for n in range(start, stop)
    )


def test_two_machines_ingesting_at_once_lose_nothing_and_count_nothing_twice(ch, tmp_path):
    """Two processes (two machines, as far as ClickHouse can tell) ingest overlapping files
    into one database at the same moment: every request once."""
    _, url = ch
    (tmp_path / "a.jsonl").write_text(_lines(1, 301))
    (tmp_path / "b.jsonl").write_text(_lines(201, 501))  # 100 requests in both
    env = {**os.environ, "LLMAUDIT_DB": url}
    procs = []
    for name, machine in (("a.jsonl", "laptop"), ("b.jsonl", "ci-runner")):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "llmaudit", "ingest", str(tmp_path / name)],
                env={**env, "LLMAUDIT_MACHINE_ID": machine},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    from llmaudit.ledger.clickhouse.store import ClickHouseLedger

    with ClickHouseLedger.open(Address.parse(url), clickhouse_server.PASSWORD) as led:
        recs = list(led.iter_records())
        info = led.info()
    assert len(recs) == 500
    assert sum(r.input_uncached for r in recs) == sum(range(1, 501))
    assert info["ingests"] == 2


def test_export_pages_through_every_record_in_order(ch, run_ch, monkeypatch, tmp_path):
    from llmaudit.ledger.clickhouse import store

    _, url = ch
    monkeypatch.setattr(store, "PAGE", 7)
    (tmp_path / "a.jsonl").write_text(_lines(1, 51))
    assert run_ch("--db", url, "ingest", str(tmp_path / "a.jsonl"))[0] == 0
    _, out, _ = run_ch("--db", url, "export", "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 50
    assert sorted(r["input_tokens"] for r in rows) == list(range(1, 51))
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)


def test_copy_moves_a_sqlite_ledger_without_double_counting(ch, run_ch, tmp_path):
    _, url = ch
    db = str(tmp_path / "local.db")
    assert run_ch("--db", db, "ingest", str(DATA / "sample.jsonl"))[0] == 0
    (tmp_path / "bad.jsonl").write_text(
        '{"ts": "2026-11-01T00:00:00Z", "model": "gpt-4o", "input_tokens": "lots"}\n'
    )
    run_ch("--db", db, "ingest", str(tmp_path / "bad.jsonl"))
    code, _, err = run_ch("--db", db, "ledger", "copy", "--to", url)
    assert code == 0, err
    assert "3 records (3 added, 0 already there), 1 reject" in err
    code, _, err = run_ch("--db", db, "ledger", "copy", "--to", url)  # again: nothing new
    assert "3 records (0 added, 3 already there)" in err
    local = json.loads(run_ch("--db", db, "report", "--format", "json")[1])["report"]
    remote = json.loads(run_ch("--db", url, "report", "--format", "json")[1])["report"]
    assert remote == local
    assert (
        len(json.loads(run_ch("--db", url, "ledger", "rejects", "--format", "json")[1])["rejects"])
        == 1
    )


def test_a_re_read_on_clickhouse_finds_every_record_unchanged(ch, run_ch, tmp_path):
    """Records keyed by their source's ids get their content hash when written: the same
    lines read again (a copy of the file) are all duplicates, none an update."""
    _, url = ch
    for name in ("claude_code_session.jsonl", "middleware_openai_chat.jsonl"):
        for copy in (f"a-{name}", f"b-{name}"):
            (tmp_path / copy).write_bytes((DATA / "logs" / name).read_bytes())
        code, out, err = run_ch("--db", url, "ingest", "--json", str(tmp_path / f"a-{name}"))
        assert code == 0, err
        first = json.loads(out)["totals"]
        assert first["added"] > 0
        code, out, err = run_ch("--db", url, "ingest", "--json", str(tmp_path / f"b-{name}"))
        again = json.loads(out)["totals"]
        assert (again["added"], again["updated"]) == (0, 0)
        assert again["duplicate"] == first["added"] + first["duplicate"]


def test_the_latency_sketch_is_within_one_percent_of_the_exact_percentiles(ch):
    """3,000 requests with latencies spread over five orders of magnitude (and some zeros):
    the daily histograms' p50 and p95 are within 1% of the exact ones."""
    import random
    from datetime import datetime, timedelta, timezone

    from llmaudit.analysis.report import percentile
    from llmaudit.ledger.clickhouse.store import ClickHouseLedger
    from llmaudit.ledger.filters import Filters
    from llmaudit.model.record import UsageRecord

    rng = random.Random(7)
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    recs = []
    for n in range(3000):
        latency = 0.0 if n % 97 == 0 else 10 ** rng.uniform(0, 5)
        ttft = latency * rng.uniform(0.05, 0.9)
        recs.append(
            UsageRecord(
                ts=start + timedelta(minutes=n * 7),
                provider="openai",
                model="gpt-4o" if n % 3 else "gpt-4o-mini",
                input_uncached=100,
                output=1 + n % 500,
                latency_ms=latency,
                ttft_ms=ttft,
                source_kind="test",
                source_id=f"r{n}",
            )
        )
    _, url = ch
    with ClickHouseLedger.open(Address.parse(url), clickhouse_server.PASSWORD) as led:
        led.write(recs, source_kind="test")
        window = Filters(start, start + timedelta(days=30))
        sketch = led.timing_quantiles(window, 100)
        exact = led.timing_quantiles(Filters(start, start + timedelta(days=30, hours=1)), 10**6)
    assert (sketch.method, exact.method, sketch.every, exact.every) == ("sketch", "exact", 1, 1)
    for got, want in zip(sketch.rows, exact.rows, strict=True):
        assert got["model"] == want["model"] and got["requests"] == want["requests"]
        for key in ("latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "itl_p95_ms"):
            assert got[key] == pytest.approx(want[key], rel=0.01), key
    # and the exact path is the analysis' own percentile of the same values
    mini = sorted(r.latency_ms for r in recs if r.model == "gpt-4o-mini")
    row = next(r for r in exact.rows if r["model"] == "gpt-4o-mini")
    assert row["latency_p95_ms"] == pytest.approx(percentile(mini, 0.95), rel=1e-12)


# -- any answer ---------------------------------------------------------------------------------
class _Scripted(BaseHTTPRequestHandler):
    """Answers each statement with the next of the server's scripted answers (cycling)."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server = self.server
        status, body = server.answers[server.turn % len(server.answers)]  # type: ignore[attr-defined]
        server.turn += 1  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["2026-11-01 10:00:00.000000", "18446744073709551615", "-1", "nan"])
)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
_types = st.sampled_from(["String", "UInt64", "Nullable(Float64)", "DateTime64(6, 'UTC')", "x"])
_answer = st.one_of(
    st.builds(
        lambda meta, data: json.dumps(
            {"meta": [{"name": f"c{i}", "type": t} for i, t in enumerate(meta)], "data": data}
        ).encode(),
        st.lists(_types, max_size=8),
        st.lists(st.lists(_values, max_size=8), max_size=4),
    ),
    st.binary(max_size=60),
    st.just(b'{"meta": [], "data": []}'),
    st.just(b""),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.lists(
        st.tuples(st.sampled_from([200, 200, 200, 404, 500, 516]), _answer), min_size=1, max_size=6
    ),
    command=st.sampled_from(
        [("report",), ("ledger", "info"), ("ledger", "rejects"), ("export",), ("ingest", "LOG")]
    ),
)
def test_any_answer_from_the_server_is_a_clean_exit(run_ch, monkeypatch, answers, command):
    """First the answers of a migrated ledger (so the command gets past opening it), then
    anything: every command ends with exit 0-4 and one line, never a traceback."""
    from llmaudit.ledger.clickhouse.schema import MIGRATIONS

    def compact(types: str, rows: list) -> bytes:
        return json.dumps(
            {
                "meta": [{"name": f"c{i}", "type": t} for i, t in enumerate(types.split())],
                "data": rows,
            }
        ).encode()

    opened = [
        (200, compact("UInt64", [["1"]])),  # the migrations table exists
        (200, compact("String", [[name] for name, _ in MIGRATIONS])),  # all applied
    ]
    monkeypatch.setenv("LLMAUDIT_CLICKHOUSE_PASSWORD", "x")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    srv.answers, srv.turn = opened + answers, 0  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    args = [str(DATA / "sample.jsonl") if a == "LOG" else a for a in command]
    try:
        code, _, err = run_ch("--db", f"clickhouse://u@127.0.0.1:{srv.server_port}/db", *args)
    finally:
        srv.shutdown()
        srv.server_close()
    assert code in (0, 1, 2, 3, 4), err
    assert "internal error" not in err and "Traceback" not in err


def test_the_rollup_refresh_goes_a_few_days_a_statement(ch, monkeypatch):
    """However many days are dirty, each refresh statement covers at most REFRESH_DAYS of
    them (so none outgrows the statement time limit), and the sums are those of the records."""
    from datetime import datetime, timedelta, timezone

    from llmaudit.ledger.clickhouse import store
    from llmaudit.ledger.clickhouse.store import ClickHouseLedger
    from llmaudit.ledger.filters import Filters
    from llmaudit.model.record import UsageRecord

    monkeypatch.setattr(store, "REFRESH_DAYS", 2)
    srv, url = ch
    start = datetime(2026, 10, 1, 12, tzinfo=timezone.utc)
    recs = [
        UsageRecord(
            ts=start + timedelta(days=n // 3),
            provider="openai",
            model="gpt-4o",
            input_uncached=100 * (n + 1),
            source_kind="test",
            source_id=f"r{n}",
        )
        for n in range(15)  # 5 days, 3 requests each
    ]
    with ClickHouseLedger.open(Address.parse(url), clickhouse_server.PASSWORD) as led:
        led.write(recs, source_kind="test")
        before = len(srv.statements)
        assert led.refresh_rollup() == 5
        inserts = [
            s
            for s in srv.statements[before:]
            if s.startswith("INSERT INTO") and "rollup_daily" in s
        ]
        assert len(inserts) == 3  # days 1-2, 3-4, 5
        rows = led.grouped_sums(
            Filters(start.replace(hour=0), start.replace(hour=0) + timedelta(days=5))
        )
    assert sorted((r["bucket"], r["input_uncached"]) for r in rows) == [
        (f"2026-10-0{d + 1}", sum(100 * (n + 1) for n in range(3 * d, 3 * d + 3))) for d in range(5)
    ]
