"""The daily rollup gives exactly the answers of the records table."""

from __future__ import annotations

import json

import pytest

from conftest import open_ledger
from llmaudit.ledger.store import Ledger

pytestmark = pytest.mark.both_engines


@pytest.fixture(scope="session")
def _demo_ledger(tmp_path_factory):
    """The demo ledger, built once a session (it takes a second); each test gets a copy."""
    from llmaudit.cli.main import main

    home = tmp_path_factory.mktemp("demo")
    path = home / "demo.db"
    with pytest.MonkeyPatch.context() as mp, pytest.raises(SystemExit) as done:
        mp.setenv("HOME", str(home))  # never the real config or data folders
        mp.setenv("LLMAUDIT_CONFIG", str(home / "config.toml"))
        mp.setenv("LLMAUDIT_DATA_DIR", str(home / "data"))
        main(["--db", str(path), "demo", "--format", "json"])
    assert done.value.code in (0, None)
    return path


@pytest.fixture
def demo_db(_demo_ledger, tmp_path, engine, run):
    import shutil

    if engine == "clickhouse":
        assert run("--db", "demo.db", "demo", "--format", "json").exit_code == 0
    else:
        shutil.copyfile(_demo_ledger, tmp_path / "demo.db")
    return "demo.db"


def _rollup(path) -> tuple[int, list[tuple[str, int]]]:
    """(days marked dirty, [(day, uncached input)] of the daily rollup) on either engine."""
    with open_ledger(path) as led:
        if hasattr(led, "db"):  # ClickHouse
            dirty = led.conn.one(f"SELECT count() FROM {led.t('rollup_dirty')} FINAL", "i")[0]
            rows = led.conn.rows(
                f"SELECT toString(day), sum(input_uncached) FROM {led.t('rollup_daily')} "
                "GROUP BY day ORDER BY day",
                "Si",
            )
        else:
            dirty = led.conn.execute("SELECT COUNT(*) FROM rollup_dirty").fetchone()[0]
            rows = led.conn.execute(
                "SELECT day, SUM(input_uncached) FROM rollup_daily GROUP BY day ORDER BY day"
            ).fetchall()
    return dirty, [tuple(r) for r in rows]


ARGS = [
    ("report", "--since", "2026-10-01", "--until", "2026-10-31"),
    (
        "report",
        "spend",
        "--by",
        "team",
        "--by",
        "customer",
        "--since",
        "2026-10-05",
        "--until",
        "2026-10-20",
        "--where",
        "environment=prod",
    ),
    ("report", "models", "--model", "claude-sonnet-4-5", "--since", "2026-10-01"),
    ("whatif", "--swap", "claude-sonnet-4-5=claude-haiku-4-5", "--since", "2026-10-01"),
    ("budget", "status", "--at", "2026-10-20T00:00:00Z"),
    ("maturity", "--at", "2026-11-01T06:00:00Z"),
]


@pytest.mark.parametrize("args", ARGS, ids=lambda a: " ".join(a[:2]))
def test_rollup_and_records_agree(run, demo_db, monkeypatch, args):
    run("budget", "set", "org", "--amount", "100")
    fast = run("--db", demo_db, *args, "--format", "json")
    monkeypatch.setenv("LLMAUDIT_NO_ROLLUP", "1")
    slow = run("--db", demo_db, *args, "--format", "json")
    assert fast.exit_code == slow.exit_code == 0, (fast.stderr, slow.stderr)
    a, b = json.loads(fast.stdout), json.loads(slow.stdout)
    if "maturity" in a:
        for m in (a, b):
            m["maturity"].pop("assessed_at")
    assert a == b


def test_writes_mark_days_and_refresh_recomputes_them(run, tmp_path):
    line = {
        "ts": "2026-11-01T10:00:00Z",
        "model": "gpt-4o",
        "input_tokens": 400_000,
        "output_tokens": 0,
        "feature": "chat",
        "request_id": "r1",
    }
    (tmp_path / "a.jsonl").write_text(json.dumps(line) + "\n")
    run("--db", "r.db", "ingest", "a.jsonl")
    assert _rollup(tmp_path / "r.db") == (0, [("2026-11-01", 400_000)])
    # the same request corrected (same id, new content, another day): both days move
    line.update(ts="2026-11-02T10:00:00Z", input_tokens=800_000)
    (tmp_path / "b.jsonl").write_text(json.dumps(line) + "\n")
    run("--db", "r.db", "ingest", "b.jsonl")
    assert _rollup(tmp_path / "r.db") == (0, [("2026-11-02", 800_000)])
    # and the record itself moved: one record, on its new day
    with open_ledger(tmp_path / "r.db") as led:
        assert [(r.ts.day, r.input_uncached) for r in led.iter_records()] == [(2, 800_000)]
    out = run(
        "--db",
        "r.db",
        "report",
        "summary",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-02",
        "--format",
        "json",
    )
    # 800,000 x $2.50 per million
    assert json.loads(out.stdout)["report"]["sections"]["summary"]["spend_usd"] == "2"


@pytest.mark.sqlite_only  # a read-only SQLite file
def test_read_only_ledger_reports_the_same(run, demo_db, tmp_path):
    """A ledger opened read-only (another user's file, a read-only mount) still reports: from
    the rollup when it is fresh, from the records when days are dirty and cannot be refreshed."""
    import sqlite3

    from llmaudit.cli.options import filters_from_options
    from llmaudit.ledger.rollup import aggregate

    filters = filters_from_options(since="2026-10-01", until="2026-10-31", tz="UTC")
    with Ledger.open(tmp_path / demo_db) as led:
        expected = aggregate(led.conn, filters, ["feature"])
        # mark one day dirty without refreshing, as a crashed ingest would leave it
        led.conn.execute("INSERT INTO rollup_dirty(day) VALUES ('2026-10-07')")
        led.conn.commit()
    ro = sqlite3.connect(f"file:{tmp_path / demo_db}?mode=ro", uri=True)
    try:
        assert aggregate(ro, filters, ["feature"]) == expected
        assert ro.execute("SELECT COUNT(*) FROM rollup_dirty").fetchone()[0] == 1
    finally:
        ro.close()
    with Ledger.open(tmp_path / demo_db) as led:
        led.conn.execute("DELETE FROM rollup_dirty")
        led.conn.commit()
    ro = sqlite3.connect(f"file:{tmp_path / demo_db}?mode=ro", uri=True)
    try:
        assert aggregate(ro, filters, ["feature"]) == expected
    finally:
        ro.close()
