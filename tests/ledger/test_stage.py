"""Rows staged by a parsing process and copied by the writer in one statement: the ledger, the
rollups and the counts are exactly those of writing the same records directly, under every
``keep`` rule, for new keys, keys the ledger holds, and a batch's own repeats."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from llmaudit.errors import StoreError
from llmaudit.ledger import stage as stage_mod
from llmaudit.ledger.stage import StageWriter
from llmaudit.ledger.store import Ledger
from llmaudit.ledger.writes import WriteCounts, prepare
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject

T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)


def rec(i: int, **kw) -> UsageRecord:
    base = dict(
        ts=T0 + timedelta(hours=7 * i),
        provider="openai",
        model=["gpt-4o", "gpt-4o-mini"][i % 2],
        input_uncached=100 + i,
        output=10 + i,
        feature=["chat", None][i % 2],
        latency_ms=[None, 250.5][i % 2],
        source_kind="test",
        source_name="vm",
        source_location=f"f.jsonl:{i}",
        source_id=f"r{i}",
    )
    base.update(kw)
    return UsageRecord(**base)


def _state(path) -> tuple:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("SELECT * FROM records ORDER BY id").fetchall(),
            conn.execute("SELECT * FROM rollup_daily ORDER BY 1, 2, 3, 7").fetchall(),
            conn.execute("SELECT * FROM rollup_latency ORDER BY 1, 2, 3, 4").fetchall(),
            conn.execute("SELECT * FROM rollup_dirty ORDER BY 1").fetchall(),
            conn.execute("SELECT location, line, reason FROM rejects ORDER BY id").fetchall(),
        )
    finally:
        conn.close()


def _both(tmp_path, batches, keep="latest", refresh=True):
    """Each batch written directly into one ledger and staged then copied into another: the
    counts of each write, and each ledger's tables."""
    counts = {}
    writer = StageWriter(tmp_path / "stage.db")
    for how in ("direct", "staged"):
        path = tmp_path / f"{how}.db"
        got = []
        with Ledger.open(path) as led:
            ingest = led.begin_ingest(
                kind="test", source_name="vm", location="f", size=1, mtime=None, machine_id="vm"
            )
            for records, rejects in batches:
                if how == "direct":
                    c = led.write(records, rejects, ingest_id=ingest, source_kind="test", keep=keep)
                else:
                    staged = writer.put([prepare(r) for r in records], keep)
                    c = led.write_staged(
                        staged, rejects, ingest_id=ingest, source_kind="test", keep=keep
                    )
                got.append(c)
            if refresh:
                led.refresh_rollup()
        counts[how] = (got, _state(path))
    writer.close()
    return counts


def test_new_records_are_copied_as_written(tmp_path):
    batches = [([rec(i) for i in range(0, 40)], []), ([rec(i) for i in range(40, 90)], [])]
    out = _both(tmp_path, batches)
    assert out["staged"] == out["direct"]
    counts, (rows, daily, latency, dirty, _) = out["staged"]
    assert counts == [WriteCounts(added=40), WriteCounts(added=50)]
    assert len(rows) == 90 and daily and latency and not dirty
    # rows numbered in input order, each with its ingest
    assert [row[0] for row in rows] == list(range(1, 91))
    assert {row[-1] for row in rows} == {1}


def test_the_dirty_days_are_marked_in_the_same_transaction(tmp_path):
    batches = [([rec(i) for i in range(10)], [])]
    out = _both(tmp_path, batches, refresh=False)
    assert out["staged"] == out["direct"]
    dirty = out["staged"][1][3]
    assert dirty == [("2026-10-01",), ("2026-10-02",), ("2026-10-03",)]


@pytest.mark.parametrize("keep", ["latest", "first", "max_output"])
def test_keys_held_and_repeated_follow_the_keep_rule(tmp_path, keep):
    first = [rec(i) for i in range(6)]
    first[3] = rec(3, source_id="rid:call3")  # a provider's id: one key whatever the route
    second = [
        rec(0),  # the same record: a duplicate
        rec(1, output=5),  # less output: kept by "latest" only
        rec(2, output=99, ts=T0 + timedelta(days=9)),  # more output, another day
        rec(3, source_id="rid:call3", source_kind="other", output=77),  # another route
        rec(6),  # new
        rec(6, output=3),  # the batch's own repeat, less output
        rec(7),  # new
        rec(7, output=70),  # the batch's own repeat, more output
    ]
    rejects = [Reject(location="f.jsonl", line=9, field="ts", reason="not a time", raw="x")]
    out = _both(tmp_path, [(first, []), (second, rejects)], keep=keep)
    assert out["staged"] == out["direct"]
    counts = out["staged"][0][1]
    updated = {"latest": 2, "first": 0, "max_output": 1}[keep]
    assert counts == WriteCounts(added=2, updated=updated, duplicate=6 - updated, rejected=1), (
        counts
    )
    rows = out["staged"][1][0]
    day_of_r2 = next(row[3] for row in rows if row[1].endswith(":r2"))
    assert day_of_r2.startswith("2026-10-10" if keep != "first" else "2026-10-01")


def test_a_batch_staged_again_changes_nothing(tmp_path):
    records = [rec(i) for i in range(12)]
    writer = StageWriter(tmp_path / "stage.db")
    with Ledger.open(tmp_path / "l.db") as led:
        first = led.write_staged(writer.put([prepare(r) for r in records], "latest"))
        before = _state(tmp_path / "l.db")
        again = led.write_staged(writer.put([prepare(r) for r in records], "latest"))
        assert _state(tmp_path / "l.db") == before
    assert first == WriteCounts(added=12)
    assert again == WriteCounts(duplicate=12)


def test_rows_are_numbered_on_after_a_trim(tmp_path, monkeypatch):
    monkeypatch.setattr(stage_mod, "TRIM_ROWS", 5)
    writer = StageWriter(tmp_path / "stage.db")
    a = writer.put([prepare(rec(i)) for i in range(4)], "latest")
    b = writer.put([prepare(rec(i)) for i in range(4, 10)], "latest")
    assert (a.first, a.last, b.first, b.last) == (1, 4, 5, 10)
    writer.trim(3)  # fewer than TRIM_ROWS taken since the last trim: nothing deleted
    writer.trim(10)  # all taken: all but the last row go
    conn = sqlite3.connect(tmp_path / "stage.db")
    assert conn.execute("SELECT seq FROM stage").fetchall() == [(10,)]
    c = writer.put([prepare(rec(i)) for i in range(10, 13)], "latest")
    assert (c.first, c.last) == (11, 13)
    with Ledger.open(tmp_path / "l.db") as led:
        assert led.write_staged(c) == WriteCounts(added=3)
        keys = [k for (k,) in led.conn.execute("SELECT dedupe_key FROM records ORDER BY id")]
    assert keys == ["test:r10", "test:r11", "test:r12"]
    writer.close()


def test_a_batch_that_cannot_be_staged_is_a_store_error(tmp_path):
    writer = StageWriter(tmp_path / "stage.db")
    writer.conn.execute("DROP TABLE stage")
    with pytest.raises(StoreError, match="cannot stage rows"):
        writer.put([prepare(rec(1))], "latest")
    assert writer.last == 0


def test_staged_rows_that_are_gone_are_a_store_error(tmp_path):
    writer = StageWriter(tmp_path / "stage.db")
    staged = writer.put([prepare(rec(1))], "latest")
    writer.close()
    (tmp_path / "stage.db").unlink()
    with Ledger.open(tmp_path / "l.db") as led:
        with pytest.raises(StoreError):
            led.write_staged(replace(staged, path=str(tmp_path / "gone" / "stage.db")))
        assert led.conn.execute("SELECT count(*) FROM records").fetchone() == (0,)
        # the ledger goes on: the stage was detached
        assert led.write([rec(2)]) == WriteCounts(added=1)
