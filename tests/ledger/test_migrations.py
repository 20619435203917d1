from __future__ import annotations

import sqlite3

import pytest

from llmaudit.errors import StoreError
from llmaudit.ledger import migrations
from llmaudit.ledger.store import Ledger

EXPECTED_COLUMNS = {
    "sources": ["id", "kind", "name", "first_seen", "last_seen"],
    "ingests": [
        "id",
        "source_id",
        "location",
        "size",
        "mtime",
        "machine_id",
        "started_at",
        "finished_at",
        "status",
        "added",
        "updated",
        "duplicate",
        "rejected",
        "owner",
    ],
    "records": [
        "id",
        "dedupe_key",
        "content_hash",
        "ts",
        "ts_end",
        "provider",
        "model",
        "requests",
        "input_uncached",
        "cache_read",
        "cache_write_5m",
        "cache_write_1h",
        "output",
        "reasoning",
        "service_tier",
        "status",
        "user",
        "feature",
        "team",
        "customer",
        "project",
        "api_key",
        "session",
        "environment",
        "tags",
        "latency_ms",
        "ttft_ms",
        "request_id",
        "reported_cost_usd",
        "source_kind",
        "source_name",
        "source_location",
        "machine_id",
        "ingest_id",
    ],
    "rejects": [
        "id",
        "ingest_id",
        "source_kind",
        "location",
        "line",
        "field",
        "reason",
        "raw",
        "raw_hash",
        "created_at",
    ],
    "_llmaudit_migrations": ["name", "applied_at"],
    "raw_pages": ["id", "provider", "endpoint", "url", "page", "fetched_at", "body"],
    "billed_costs": [
        "id",
        "provider",
        "endpoint",
        "ts",
        "ts_end",
        "project",
        "line_item",
        "model",
        "token_type",
        "service_tier",
        "context_window",
        "cost_type",
        "amount_usd",
        "currency",
        "quantity",
        "quantity_unit",
        "raw_page_id",
    ],
    "pulls": ["provider", "endpoint", "bucket", "pulled_until", "last_bucket_start", "updated_at"],
    "rollup_daily": [
        "day",
        "model",
        "provider",
        "service_tier",
        "status",
        "lc",
        "feature",
        "team",
        "customer",
        "project",
        "api_key",
        "environment",
        "has_user",
        "source_kind",
        "requests",
        "input_uncached",
        "cache_read",
        "cache_write_5m",
        "cache_write_1h",
        "output",
        "reasoning",
        "records",
        "cached_requests",
    ],
    "rollup_dirty": ["day"],
    "rollup_latency": ["day", "model", "kind", "bucket", "n"],
    "files": [
        "path",
        "format",
        "size",
        "mtime_ns",
        "offset",
        "lines",
        "head_hash",
        "head_len",
        "ingest_id",
        "updated_at",
    ],
}


def _columns(conn, table):
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_blank_ledger_migrates_to_the_exact_schema(tmp_path):
    with Ledger.open(tmp_path / "l.db") as led:
        tables = {
            r[0]
            for r in led.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        assert tables == set(EXPECTED_COLUMNS)
        for table, cols in EXPECTED_COLUMNS.items():
            assert _columns(led.conn, table) == cols, table
        indexes = {
            r[0]
            for r in led.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'"
            )
        }
        assert indexes == {
            "idx_records_ts_model_latency",
            "idx_records_model_ts",
            "idx_rejects_ingest_id",
            "idx_raw_pages_provider_endpoint",
            "idx_billed_costs_provider_ts",
            "idx_rollup_daily_day",
            "idx_rollup_latency_day",
            "idx_rejects_whole_file",
            "idx_ingests_running",
        }
        assert migrations.applied(led.conn) == [name for name, _ in migrations.MIGRATIONS]
        assert led.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert led.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 60000


def test_reopening_applies_nothing(tmp_path):
    Ledger.open(tmp_path / "l.db").close()
    conn = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    assert migrations.migrate(conn) == []
    assert conn.execute("SELECT COUNT(*) FROM _llmaudit_migrations").fetchone()[0] == len(
        migrations.MIGRATIONS
    )


def test_a_failing_migration_leaves_no_trace(tmp_path, monkeypatch):
    def m002_broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        conn.execute("THIS IS NOT SQL")

    monkeypatch.setattr(
        migrations, "MIGRATIONS", [*migrations.MIGRATIONS, ("m002_broken", m002_broken)]
    )
    with pytest.raises(StoreError, match="migration m002_broken failed"):
        Ledger.open(tmp_path / "l.db")
    conn = sqlite3.connect(tmp_path / "l.db")
    assert migrations.applied(conn) == [n for n, _ in migrations.MIGRATIONS[:-1]]
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").fetchone()


def test_a_ledger_from_a_newer_llmaudit_is_refused(tmp_path):
    Ledger.open(tmp_path / "l.db").close()
    conn = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    conn.execute("INSERT INTO _llmaudit_migrations VALUES ('m999_future', '2030-01-01')")
    conn.close()
    with pytest.raises(StoreError, match="newer llmaudit"):
        Ledger.open(tmp_path / "l.db")


def test_not_a_database_is_a_store_error(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("hello, this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open ledger"):
        Ledger.open(bad)


def test_a_ledger_at_every_earlier_version_migrates_forward(tmp_path, monkeypatch):
    for upto in range(1, len(migrations.MIGRATIONS)):
        path = tmp_path / f"v{upto}.db"
        monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:upto])
        Ledger.open(path).close()
        monkeypatch.undo()
        with Ledger.open(path) as led:
            assert migrations.applied(led.conn) == [n for n, _ in migrations.MIGRATIONS]
            for table, cols in EXPECTED_COLUMNS.items():
                assert _columns(led.conn, table) == cols, (upto, table)


def test_m006_keeps_one_whole_file_reject(tmp_path, monkeypatch):
    """Whole-file rejects (no line) repeated by earlier versions on every re-read collapse to
    the first; line rejects are untouched; from then on a repeat is not stored."""
    path = tmp_path / "v5.db"
    upto = [n for n, _ in migrations.MIGRATIONS].index("m006_whole_file_rejects_once")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:upto])
    with Ledger.open(path) as led:
        for line in (None, None, None, 4):
            led.conn.execute(
                "INSERT INTO rejects (source_kind, location, line, reason, raw_hash, "
                "created_at) VALUES ('langfuse', 'bad.json', ?, 'invalid JSON', 'h', 'now')",
                (line,),
            )
    monkeypatch.undo()
    with Ledger.open(path) as led:
        rows = led.conn.execute("SELECT id, line FROM rejects ORDER BY id").fetchall()
        assert rows == [(1, None), (4, 4)]
        led.conn.execute(
            "INSERT INTO rejects (source_kind, location, line, reason, raw_hash, created_at) "
            "VALUES ('langfuse', 'bad.json', NULL, 'invalid JSON', 'h', 'now') "
            "ON CONFLICT DO NOTHING"
        )
        assert led.conn.execute("SELECT COUNT(*) FROM rejects").fetchone()[0] == 2


def test_m007_rekeys_content_hashed_records_to_h1(tmp_path, monkeypatch):
    """A ledger keyed by the old repr hash (``kind:sha256:``) is re-keyed to h1, so the same
    input ingested after the upgrade is recognised, not added again."""
    import hashlib
    from datetime import datetime, timezone

    from llmaudit.model.record import UsageRecord, identity_row

    t0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
    recs = [
        UsageRecord(ts=t0, provider="openai", model="gpt-4o", input_uncached=n, source_kind="x")
        for n in (1, 2)
    ] + [UsageRecord(ts=t0, provider="openai", model="gpt-4o", source_kind="x", source_id="id9")]
    path = tmp_path / "v6.db"
    upto = [n for n, _ in migrations.MIGRATIONS].index("m007_versioned_content_keys")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:upto])
    with Ledger.open(path) as led:
        led.write(recs, source_kind="x")
        for rec in recs:  # what llmaudit before m007 stored
            old = hashlib.sha256(repr(identity_row(rec)).encode()).hexdigest()
            key = "x:id9" if rec.source_id else f"x:sha256:{old}"
            led.conn.execute(
                "UPDATE records SET dedupe_key = ?, content_hash = ? WHERE dedupe_key = ?",
                (key, old, rec.dedupe_key()),
            )
        assert {k for (k,) in led.conn.execute("SELECT dedupe_key FROM records")} >= {"x:id9"}
    monkeypatch.undo()
    with Ledger.open(path) as led:
        keys = {k for (k,) in led.conn.execute("SELECT dedupe_key FROM records")}
        assert keys == {r.dedupe_key() for r in recs}
        assert sum(k.startswith("x:h1:") for k in keys) == 2
        counts = led.write(recs, source_kind="x")
        assert (counts.added, counts.updated, counts.duplicate) == (0, 0, 3)


def test_m009_fills_the_latency_sketch_of_records_already_stored(tmp_path):
    """A ledger written before m009 has timed records and no histograms: the migration marks
    every day dirty, and the next refresh counts each timed request once per kind."""
    from datetime import datetime, timezone

    from llmaudit.model.record import UsageRecord

    path = tmp_path / "l.db"
    recs = [
        UsageRecord(
            ts=datetime(2026, 10, d, 12, tzinfo=timezone.utc),
            provider="openai",
            model="gpt-4o",
            input_uncached=10,
            output=11,
            latency_ms=1000.0 * d,
            ttft_ms=None if d == 3 else 100.0,
            source_kind="test",
            source_id=f"r{d}",
        )
        for d in (1, 2, 3)
    ]
    with Ledger.open(path) as led:
        led.write(recs, source_kind="test")
        led.refresh_rollup()
        # back to the schema before m009
        led.conn.execute("DROP TABLE rollup_latency")
        led.conn.execute("DELETE FROM _llmaudit_migrations WHERE name = 'm009_latency_sketch'")
    with Ledger.open(path) as led:
        assert led.conn.execute("SELECT COUNT(*) FROM rollup_dirty").fetchone()[0] == 3
        assert led.refresh_rollup() == 3
        counts = dict(
            led.conn.execute("SELECT kind, SUM(n) FROM rollup_latency GROUP BY kind").fetchall()
        )
    # 3 latencies, 2 TTFTs (day 3 has none), 2 inter-token latencies (need both)
    assert counts == {"latency": 3, "ttft": 2, "itl": 2}


def test_m011_drops_the_ingest_index_and_keeps_every_record(tmp_path, monkeypatch):
    """A ledger made before m011 loses idx_records_ingest_id, and nothing else."""
    from datetime import datetime, timezone

    from llmaudit.model.record import UsageRecord

    path = tmp_path / "v10.db"
    rec = UsageRecord(
        ts=datetime(2026, 3, 1, tzinfo=timezone.utc), provider="openai", model="gpt-4o"
    )
    upto = [n for n, _ in migrations.MIGRATIONS].index("m011_no_ingest_index_on_records")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:upto])
    with Ledger.open(path) as led:
        led.write([rec])
        before = {r[0] for r in led.conn.execute("SELECT name FROM sqlite_master")}
    assert "idx_records_ingest_id" in before
    monkeypatch.undo()
    with Ledger.open(path) as led:
        after = {r[0] for r in led.conn.execute("SELECT name FROM sqlite_master")}
        assert before - after == {"idx_records_ingest_id"}
        assert led.write([rec]).duplicate == 1
        assert led.info()["records"] == 1


def test_m010_leaves_no_per_row_trigger(tmp_path):
    """Days are marked by the writer once a batch (m010), not by a trigger on every row."""
    with Ledger.open(tmp_path / "t.db") as led:
        triggers = led.conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert triggers.fetchall() == []
