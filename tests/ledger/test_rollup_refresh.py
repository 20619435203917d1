"""The rollup refresh sums every other dirty day on a second connection in a thread: the
rollup is exactly the one a single connection makes, and a second connection that cannot
read leaves the work to the first."""

from __future__ import annotations

import random
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest

from llmaudit.ledger import rollup
from llmaudit.ledger.store import Ledger
from llmaudit.model.record import UsageRecord

T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)


def _records(n: int = 600) -> list[UsageRecord]:
    rnd = random.Random(3)
    out = []
    for i in range(n):
        latency = rnd.choice([None, rnd.uniform(50, 9000)])
        out.append(
            UsageRecord(
                ts=T0 + timedelta(days=rnd.randrange(12), seconds=rnd.randrange(86_400)),
                provider="openai",
                model=rnd.choice(["gpt-4o", "gpt-4o-mini", "o3"]),
                input_uncached=rnd.randrange(300_000),
                cache_read=rnd.choice([0, rnd.randrange(5000)]),
                output=rnd.randrange(1, 2000),
                feature=rnd.choice([None, "chat", "search"]),
                user=rnd.choice([None, "ann"]),
                tags=rnd.choice([{}, {"context_window": "0-200k"}, {"context_window": "200k+"}]),
                latency_ms=latency,
                ttft_ms=rnd.choice([None, latency / 3 if latency else None]),
                source_kind="test",
                source_id=f"r{i}",
            )
        )
    return out


def _rollup_tables(path) -> tuple[list, list]:
    conn = sqlite3.connect(path)
    try:
        return (
            sorted(conn.execute("SELECT * FROM rollup_daily"), key=repr),
            sorted(conn.execute("SELECT * FROM rollup_latency"), key=repr),
        )
    finally:
        conn.close()


def _build(path, monkeypatch, parallel_days: int) -> None:
    monkeypatch.setattr(rollup, "PARALLEL_DAYS", parallel_days)
    with Ledger.open(path) as led:
        led.write(_records())
        assert led.refresh_rollup() == 12


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(rollup, "cores", lambda: 2)


def test_two_connections_sum_the_rollup_one_would(tmp_path, monkeypatch, two_cores):
    summed_by: dict[str, int] = {}
    real = rollup._sum_days

    def noted(conn, days, out):
        for day in days:
            summed_by[day] = id(conn)
        real(conn, days, out)

    monkeypatch.setattr(rollup, "_sum_days", noted)
    _build(tmp_path / "one.db", monkeypatch, 10**9)
    assert len(set(summed_by.values())) == 1
    summed_by.clear()
    _build(tmp_path / "two.db", monkeypatch, 4)
    assert len(set(summed_by.values())) == 2  # so this compares two ways of summing
    one, two = _rollup_tables(tmp_path / "one.db"), _rollup_tables(tmp_path / "two.db")
    assert two == one
    assert len(one[0]) > 100 and len(one[1]) > 100


def test_a_second_connection_that_cannot_read_leaves_its_days_to_the_first(
    tmp_path, monkeypatch, two_cores
):
    _build(tmp_path / "one.db", monkeypatch, 10**9)
    real_connect = sqlite3.connect
    refusals = []

    def refused_in_the_helper(*args, **kwargs):
        if threading.current_thread().name == "llmaudit-rollup":
            refusals.append(args[0])
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", refused_in_the_helper)
    _build(tmp_path / "two.db", monkeypatch, 4)
    monkeypatch.setattr(sqlite3, "connect", real_connect)
    assert len(refusals) == 1
    assert _rollup_tables(tmp_path / "two.db") == _rollup_tables(tmp_path / "one.db")


def test_days_are_summed_and_written_a_window_at_a_time(tmp_path, monkeypatch, two_cores):
    """A refresh holds the sums of REFRESH_DAYS days at most (each day's latency buckets are
    many), and gives the rollup a refresh of every day at once would."""
    _build(tmp_path / "one.db", monkeypatch, 4)
    windows: list[int] = []
    real = rollup._day_sums

    def noted(conn, days):
        windows.append(len(days))
        return real(conn, days)

    monkeypatch.setattr(rollup, "_day_sums", noted)
    monkeypatch.setattr(rollup, "REFRESH_DAYS", 5)
    _build(tmp_path / "windows.db", monkeypatch, 4)
    assert windows == [5, 5, 2]
    assert _rollup_tables(tmp_path / "windows.db") == _rollup_tables(tmp_path / "one.db")
