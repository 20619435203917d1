"""The SQLite ledger's latency sketch against the exact percentiles of the same requests."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import pytest

from llmaudit.analysis.report import _percentiles
from llmaudit.ledger import sketch
from llmaudit.ledger.filters import Filters
from llmaudit.ledger.store import Ledger
from llmaudit.model.record import UsageRecord


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sketch_percentiles_are_within_one_percent(tmp_path, seed, monkeypatch):
    from llmaudit.ledger import reads

    monkeypatch.setattr(reads, "EXACT_UP_TO", 100)
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    recs = []
    for n in range(2500):
        latency = 0.0 if n % 101 == 0 else 10 ** rng.uniform(0, 5)
        recs.append(
            UsageRecord(
                ts=start + timedelta(minutes=n * 11),
                provider="openai",
                model=rng.choice(["gpt-4o", "gpt-4o-mini", "o3"]),
                input_uncached=100,
                output=rng.randint(0, 900),
                latency_ms=latency,
                ttft_ms=None if n % 7 == 0 else latency * rng.uniform(0.01, 1.0),
                source_kind="test",
                source_id=f"r{n}",
            )
        )
    with Ledger.open(tmp_path / "l.db") as led:
        led.write(recs, source_kind="test")
        window = Filters(start, start + timedelta(days=30))
        got = led.timing_quantiles(window, 10**6)
        exact, _ = _percentiles(led.timing_sample(window, 10**6))
    assert got is not None and got.method == "sketch"
    assert [r["model"] for r in got.rows] == [r["model"] for r in exact]
    for g, e in zip(got.rows, exact, strict=True):
        assert g["requests"] == e["requests"]
        for key, want in e.items():
            if key.endswith("_ms"):
                if want is None:
                    assert g[key] is None
                else:
                    assert g[key] == pytest.approx(want, rel=sketch.ALPHA, abs=1e-9), key


def test_a_bucket_stands_for_its_values_within_alpha():
    for value in (1e-3, 0.5, 1.0, 7.3, 250.0, 12345.678, 9.9e7):
        bucket = math.ceil(math.log(value) / math.log(sketch.GAMMA))
        assert sketch.bucket_value(bucket) == pytest.approx(value, rel=sketch.ALPHA)
    assert sketch.bucket_value(sketch.ZERO_BUCKET) == 0.0
    assert sketch.sketch_quantile([], 0.5) is None


def test_the_written_buckets_are_those_of_every_value_a_record_can_time(tmp_path):
    """The least positive time (5e-324 ms, an inter-token latency can be that small) and the
    greatest (10**9 ms) fall in the first and last of BUCKETS, as the refresh's SQL puts them;
    a bucket outside them, or not an integer, is none llmaudit writes."""
    import sqlite3

    from llmaudit.ledger import rollup
    from llmaudit.model.values import MAX_DURATION_MS

    conn = sqlite3.connect(tmp_path / "b.db")
    rollup.ensure_math(conn)
    (low, high), *_ = conn.execute(
        f"SELECT {rollup._bucket('?1')}, {rollup._bucket('?2')}", (5e-324, float(MAX_DURATION_MS))
    ).fetchall()
    assert (low, high) == (sketch.BUCKETS[0], sketch.BUCKETS[-1]) == (-37_220, 1_037)
    assert all(map(sketch.written_bucket, (low, high, 0, sketch.ZERO_BUCKET)))
    for bucket in (low - 1, high + 1, 35_488, 2.0, "1", None, True):
        assert not sketch.written_bucket(bucket), bucket


def test_without_sqlites_math_functions_the_buckets_are_the_same(tmp_path):
    """Where SQLite is built without ln() and ceil(), ensure_math supplies them from Python:
    the histograms come out identical."""
    import sqlite3

    from llmaudit.ledger import rollup

    class NoMath:
        """A connection whose SQLite lacks the math functions (until they are created)."""

        def __init__(self, conn):
            self.conn, self.created = conn, []

        def execute(self, sql, *args):
            if "ln(" in sql and not self.created:
                raise sqlite3.OperationalError("no such function: ln")
            return self.conn.execute(sql, *args)

        def create_function(self, name, n, fn, deterministic=False):
            self.created.append(name)
            self.conn.create_function(name, n, fn, deterministic=deterministic)

    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    recs = [
        UsageRecord(
            ts=start + timedelta(hours=n),
            provider="openai",
            model="gpt-4o",
            output=1 + n,
            latency_ms=0.0 if n == 0 else 3.7 * n**2,
            ttft_ms=1.1 * n,
            source_kind="test",
            source_id=f"r{n}",
        )
        for n in range(200)
    ]
    tables = []
    for name, python_math in (("builtin.db", False), ("python.db", True)):
        with Ledger.open(tmp_path / name) as led:
            if python_math:
                fake = NoMath(led.conn)
                rollup.ensure_math(fake)
                assert fake.created == ["ln", "ceil"]
            led.write(recs, source_kind="test")
            led.refresh_rollup()
            tables.append(
                led.conn.execute("SELECT * FROM rollup_latency ORDER BY 1, 2, 3, 4").fetchall()
            )
    assert tables[0] == tables[1] and len(tables[0]) > 100


def _timed_records(start: datetime) -> list[UsageRecord]:
    """Three days of requests every 90 minutes: some timed, some not, two models."""
    recs = []
    for n in range(48):
        timed = n % 3
        recs.append(
            UsageRecord(
                ts=start + timedelta(minutes=90 * n),
                provider="openai",
                model="gpt-4o" if n % 2 else "o3",
                output=n,
                latency_ms=float(100 + n) if timed == 1 else None,
                ttft_ms=float(10 + n) if timed == 2 else None,
                source_kind="test",
                source_id=f"t{n}",
            )
        )
    return recs


@pytest.mark.parametrize(
    "since_h, until_h, where",
    [
        (0, 72, []),
        (5, 41, []),  # partial days at both ends
        (13, 14, []),
        (30, 31, [("model", "o3")]),
        (0, 72, [("model", "gpt-4o"), ("model", "o3")]),
        (60, 200, [("model", "nothing-here")]),
    ],
)
def test_the_timing_sample_is_the_same_read_with_or_without_the_histograms(
    tmp_path, monkeypatch, since_h, until_h, where
):
    """The histograms only tell timing_sample whether (and how many) timed requests there can
    be: what it returns is the same as counting the records."""
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    window = Filters(
        start + timedelta(hours=since_h), start + timedelta(hours=until_h), where=where
    )

    def sample(led):
        got = led.timing_sample(window, 10**6)
        return got.total, got.every, sorted(map(repr, got.rows))

    with Ledger.open(tmp_path / "l.db") as led:
        led.write(_timed_records(start), source_kind="test")
        with_histograms = sample(led)
        monkeypatch.setenv("LLMAUDIT_NO_ROLLUP", "1")
        counted = sample(led)
    assert with_histograms == counted
    if (since_h, until_h, where) == (5, 41, []):
        # worked out by hand: requests at hours 6, 7.5, ... 40.5 (n = 4..27), two in three timed
        assert counted[0] == sum(1 for n in range(4, 28) if n % 3)


def test_a_ledger_without_timings_is_not_scanned_for_them(tmp_path):
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    recs = [
        UsageRecord(
            ts=start + timedelta(hours=n),
            provider="openai",
            model="o3",
            output=1,
            source_kind="test",
            source_id=f"u{n}",
        )
        for n in range(30)
    ]
    statements = []
    with Ledger.open(tmp_path / "l.db") as led:
        led.write(recs, source_kind="test")
        led.refresh_rollup()
        led.conn.set_trace_callback(statements.append)
        got = led.timing_sample(Filters(start, start + timedelta(days=2)), 10**6)
        assert (got.total, list(got.rows)) == (0, [])
    assert not [s for s in statements if "FROM records" in s]


@pytest.mark.parametrize(
    "where, want",
    [([], 16), ([("model", "o3")], 8), ([("model", "nothing-here")], 0)],
)
def test_the_requests_counted_to_choose_a_path_are_those_the_sketch_reports(tmp_path, where, want):
    """timing_quantiles counts the window's timed requests (to choose between exact and
    sketch) without reading the buckets: the count is the sketch's own, and the exact path's.
    By hand: per model, 8 requests with a latency and 8 others with a TTFT; the histograms
    cannot tell a request with both from two requests, so each model counts 8."""
    from llmaudit.ledger import rollup

    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    window = Filters(start, start + timedelta(days=3), where=where)
    with Ledger.open(tmp_path / "l.db") as led:
        led.write(_timed_records(start), source_kind="test")
        led.refresh_rollup()
        counted = rollup.timed_requests(led.conn, window)
        sketched = sketch.quantile_rows(rollup.latency_histograms(led.conn, window))
        exact, _ = _percentiles(led.timing_sample(window, 10**6))
    assert counted == want
    assert sum(r["requests"] for r in sketched) == sum(r["requests"] for r in exact) == want


def test_the_exact_path_is_taken_up_to_its_threshold_and_the_sketch_above(tmp_path, monkeypatch):
    from llmaudit.ledger import reads

    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    window = Filters(start, start + timedelta(days=3))
    with Ledger.open(tmp_path / "l.db") as led:
        led.write(_timed_records(start), source_kind="test")
        monkeypatch.setattr(reads, "EXACT_UP_TO", 16)
        assert led.timing_quantiles(window, 10**6) is None  # 16 timed: exact
        monkeypatch.setattr(reads, "EXACT_UP_TO", 15)
        got = led.timing_quantiles(window, 10**6)
        assert got is not None and got.method == "sketch"
        monkeypatch.setattr(reads, "EXACT_UP_TO", 100)
        assert led.timing_quantiles(window, 16) is None
        got = led.timing_quantiles(window, 15)  # above the caller's limit
        assert got is not None and got.method == "sketch"


@pytest.mark.parametrize("limit", [10**6, 5])  # all of them, and every k-th
def test_a_timing_no_llmaudit_writes_is_a_store_error_on_either_read(tmp_path, limit):
    from llmaudit.errors import StoreError

    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    window = Filters(start, start + timedelta(days=3))
    with Ledger.open(tmp_path / "l.db") as led:
        led.write(_timed_records(start), source_kind="test")
        led.refresh_rollup()
        led.conn.execute("UPDATE records SET ttft_ms = 'soon' WHERE ttft_ms IS NOT NULL")
        with pytest.raises(StoreError, match=r"hold a timing no llmaudit writes: \(None, 'soon', "):
            list(led.timing_sample(window, limit).rows)


def test_a_timing_no_llmaudit_writes_in_a_day_to_refresh_is_a_store_error(tmp_path):
    """Text where a time should be, in a day the rollup has still to sum (an ingest stopped
    before its refresh): exit 3 naming the ledger as damaged, not an internal error."""
    from llmaudit.errors import StoreError
    from llmaudit.ledger.connection import DAMAGED_HINT

    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    with Ledger.open(tmp_path / "l.db") as led:
        led.write(_timed_records(start), source_kind="test")
        led.conn.execute("UPDATE records SET ttft_ms = 'soon' WHERE ttft_ms IS NOT NULL")
        for read in (
            led.refresh_rollup,
            lambda: led.timing_quantiles(Filters(start, start + timedelta(days=3)), 10**6),
            lambda: led.grouped_sums(Filters(start, start + timedelta(days=3))),
        ):
            with pytest.raises(StoreError, match="cannot refresh the daily rollup") as got:
                read()
            assert got.value.hint == DAMAGED_HINT
