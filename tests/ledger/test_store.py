from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

from llmaudit.ledger.migrations import MIGRATIONS
from llmaudit.ledger.store import Ledger
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject

T0 = datetime(2026, 11, 1, 10, tzinfo=timezone.utc)


def rec(**kw):
    base = {
        "ts": T0,
        "provider": "openai",
        "model": "gpt-4o",
        "input_uncached": 100,
        "output": 20,
        "source_kind": "test",
    }
    return UsageRecord(**{**base, **kw})


def test_dedupe_added_duplicate_updated(tmp_path):
    with Ledger.open(tmp_path / "l.db") as led:
        first = led.write([rec(source_id="r1"), rec(output=30)])
        assert (first.added, first.updated, first.duplicate) == (2, 0, 0)
        again = led.write([rec(source_id="r1"), rec(output=30)])
        assert (again.added, again.updated, again.duplicate) == (0, 0, 2)
        # Same source id, other content: the record is replaced, not added.
        changed = led.write([rec(source_id="r1", output=99)])
        assert (changed.added, changed.updated, changed.duplicate) == (0, 1, 0)
        # Same content without an id from another source kind is another record.
        other = led.write([rec(output=30, source_kind="other")])
        assert other.added == 1
        outputs = sorted(r.output for r in led.iter_records())
        assert outputs == [30, 30, 99]
        assert led.info()["records"] == 3


def _stored_hashes(led):
    return dict(led.conn.execute("SELECT dedupe_key, content_hash FROM records"))


def test_a_content_hash_is_worked_out_only_when_a_record_of_its_key_comes(tmp_path):
    """A record keyed by its source's id is stored with "" for its hash (most never meet
    another of their key); the next of its key is compared with the hash of the stored
    identity columns: the same content is a duplicate, other content an update. A record
    keyed by its hash stores that hash."""
    from llmaudit.model.record import identity_row, row_hash

    with Ledger.open(tmp_path / "l.db") as led:
        led.write([rec(source_id="r1", latency_ms=1.5), rec(output=30)])
        hashed = row_hash(identity_row(rec(output=30)))
        assert _stored_hashes(led) == {"test:r1": "", f"test:h1:{hashed}": hashed}
        again = led.write([rec(source_id="r1", latency_ms=1.5)])
        assert (again.added, again.updated, again.duplicate) == (0, 0, 1)
        changed = led.write([rec(source_id="r1", latency_ms=2.5)])
        assert (changed.added, changed.updated, changed.duplicate) == (0, 1, 0)
        assert [r.latency_ms for r in led.iter_records() if r.source_id == "r1"] == [2.5]
        assert _stored_hashes(led)["test:r1"] == ""
        # a hash stored by an llmaudit before this one is compared as it is
        old = row_hash(identity_row(rec(source_id="r1", latency_ms=2.5)))
        led.conn.execute("UPDATE records SET content_hash = ? WHERE dedupe_key = 'test:r1'", (old,))
        same = led.write([rec(source_id="r1", latency_ms=2.5)])
        assert (same.added, same.updated, same.duplicate) == (0, 0, 1)


def test_a_record_changed_by_hand_is_replaced_by_the_next_of_its_key(tmp_path):
    """Stored identity columns no llmaudit writes (a model as bytes, set by hand) have no
    hash to compare: the next record of the key replaces the row, counted as an update."""
    with Ledger.open(tmp_path / "l.db") as led:
        led.write([rec(source_id="r1", model="caf\u00e9")])
        led.conn.execute("UPDATE records SET model = x'00ff', tags = 'caf\u00e9'")
        counts = led.write([rec(source_id="r1", model="caf\u00e9")])
        assert (counts.added, counts.updated, counts.duplicate) == (0, 1, 0)
        assert [r.model for r in led.iter_records()] == ["caf\u00e9"]


def test_a_record_whose_time_was_changed_by_hand_to_no_text_is_replaced(tmp_path):
    """A stored time that is no text (set by hand) is on no day: the record that replaces
    it marks only its own day for the rollup (sorting the two raised a TypeError, exit 70)."""
    with Ledger.open(tmp_path / "l.db") as led:
        led.write([rec(source_id="r1")])
        led.refresh_rollup()
        led.conn.execute("UPDATE records SET ts = x'00ff'")
        counts = led.write([rec(source_id="r1")])
        assert (counts.added, counts.updated, counts.duplicate) == (0, 1, 0)
        assert led.conn.execute("SELECT day FROM rollup_dirty").fetchall() == [("2026-11-01",)]
        assert led.refresh_rollup() == 1
        assert [r.ts for r in led.iter_records()] == [T0]


def test_a_stored_output_changed_by_hand_to_text_is_replaced_under_max_output(tmp_path):
    """keep="max_output" compares output tokens: a stored output that is no integer (set by
    hand) is replaced by the next record of its key (comparing the two was exit 70)."""
    with Ledger.open(tmp_path / "l.db") as led:
        led.write([rec(source_id="r1", output=20)], keep="max_output")
        led.conn.execute("UPDATE records SET output = 'many'")
        counts = led.write([rec(source_id="r1", output=5)], keep="max_output")
        assert (counts.added, counts.updated, counts.duplicate) == (0, 1, 0)
        assert [r.output for r in led.iter_records()] == [5]
        # and a sound one is compared as before
        counts = led.write([rec(source_id="r1", output=4)], keep="max_output")
        assert (counts.added, counts.updated, counts.duplicate) == (0, 0, 1)


def test_duplicates_within_one_batch_count_once(tmp_path):
    with Ledger.open(tmp_path / "l.db") as led:
        counts = led.write([rec(source_id="x"), rec(source_id="x"), rec(source_id="x")])
        assert (counts.added, counts.duplicate) == (1, 2)


def test_records_read_back_exactly(tmp_path):
    original = rec(
        source_id="abc",
        cache_read=5,
        cache_write_5m=6,
        cache_write_1h=7,
        reasoning=3,
        tags={"k": "v"},
        reported_cost_usd=Decimal("0.000000123456789"),
        latency_ms=1.25,
        ts_end=T0,
        source_location="f:1",
    )
    with Ledger.open(tmp_path / "l.db") as led:
        led.write([original])
        [back] = list(led.iter_records())
    assert back == replace(original)


def test_absent_values_are_stored_as_null(tmp_path):
    """The writer binds None through the adapter it registers (a faster path to the same NULL)."""
    import sqlite3

    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)](None) is None
    with Ledger.open(tmp_path / "l.db") as led:
        led.write([rec(source_id="n")])
        nulls = led.conn.execute(
            "SELECT typeof(user), typeof(tags), typeof(latency_ms), typeof(ts_end) FROM records"
        ).fetchone()
    assert nulls == ("null", "null", "null", "null")


def test_rejects_are_kept_once(tmp_path):
    rj = Reject("f.jsonl", 2, "must not be negative, got -5", "input_tokens", '{"x": -5}')
    with Ledger.open(tmp_path / "l.db") as led:
        assert led.write([], [rj]).rejected == 1
        assert led.write([], [rj]).rejected == 1  # reported again, stored once
        [row] = led.rejects()
        assert (row["location"], row["line"], row["field"], row["reason"], row["raw"]) == (
            "f.jsonl",
            2,
            "input_tokens",
            "must not be negative, got -5",
            '{"x": -5}',
        )


def test_long_raw_lines_are_cut(tmp_path):
    rj = Reject("f.jsonl", 1, "invalid JSON", None, "x" * 10_000)
    with Ledger.open(tmp_path / "l.db") as led:
        led.write([], [rj])
        [row] = led.rejects()
    assert row["raw"] == "x" * 4096 + "…"


def test_info_counts_and_range(tmp_path):
    with Ledger.open(tmp_path / "l.db") as led:
        iid = led.begin_ingest(
            kind="test", source_name="laptop", location="f", size=10, mtime=0.0, machine_id="m"
        )
        counts = led.write(
            [
                replace(rec(requests=5), source_name="laptop"),
                replace(rec(ts=datetime(2026, 11, 3, tzinfo=timezone.utc)), source_name="laptop"),
            ],
            ingest_id=iid,
            source_kind="test",
        )
        led.finish_ingest(iid, counts)
        info = led.info()
    assert info["records"] == 2
    assert info["requests"] == 6
    assert info["first_ts"] == "2026-11-01T10:00:00.000000Z"
    assert info["last_ts"] == "2026-11-03T00:00:00.000000Z"
    assert info["ingests"] == 1
    assert info["sources"] == [
        {
            "kind": "test",
            "name": "laptop",
            "records": 2,
            "ingests": 1,
            "last_seen": info["sources"][0]["last_seen"],
        }
    ]
    assert info["schema_version"] == len(MIGRATIONS)


def test_a_new_ledger_has_pages_of_8_kib_and_an_existing_one_keeps_its_own(tmp_path, monkeypatch):
    from llmaudit.ledger import store

    with Ledger.open(tmp_path / "new.db") as led:
        led.write([rec(source_id="r1")])
        assert led.conn.execute("PRAGMA page_size").fetchone()[0] == 8192
    monkeypatch.setattr(store, "PAGE_SIZE", 4096)  # as an llmaudit before this one made it
    with Ledger.open(tmp_path / "old.db") as led:
        led.write([rec(source_id="r1")])
    monkeypatch.undo()
    for name, size in (("old.db", 4096), ("new.db", 8192)):
        with Ledger.open(tmp_path / name) as led:
            assert led.write([rec(source_id="r2")]).added == 1
            assert led.conn.execute("PRAGMA page_size").fetchone()[0] == size
            assert led.info()["records"] == 2
