#!/usr/bin/env python3
"""Time `llmaudit report` on a ClickHouse ledger of N requests, generated inside the engine.

    pip install -e '.[test,clickhouse]'
    python benchmarks/bench_clickhouse.py 1000000 10000000 100000000
    python benchmarks/bench_clickhouse.py --ingest 200000 [10000000]

With a second number, the log is also ingested into a ClickHouse ledger that already holds that
many generated requests (a write must not slow down as the ledger grows).

The engine is chDB (ClickHouse in-process) behind the test suite's loopback HTTP server, so
`llmaudit --db clickhouse://...` runs exactly as against a server (plus one loopback hop).
Records are made by one INSERT ... SELECT FROM numbers(N): a month (October 2026) of traffic over
six models, eight features, four teams, 50 customers and 2,000 users, with latencies, cache
reads and writes and 1% errors. Then every day is marked dirty and the daily rollup refreshed,
as the end of an ingest does. Each timing is the median of 3 whole `llmaudit report` commands.
Baseline: `SELECT sum(output) FROM records` (one column scanned, no deduplication).
LLMAUDIT_CHDB_PATH=DIR keeps chDB's data in DIR; BENCH_KEEP=1 keeps the databases.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import clickhouse_server
from llmaudit.ledger.clickhouse.client import Address
from llmaudit.ledger.clickhouse.store import ClickHouseLedger

SECTIONS = ("summary", "spend", "models", "ratios", "cache", "latency", "trend")
MODELS = [
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-sonnet-4-5", "anthropic"),
    ("claude-haiku-4-5", "anthropic"),
    ("gemini-2.5-flash", "google"),
    ("o3", "openai"),
]
SECONDS = 31 * 86400


def generate(db: str, n: int) -> None:
    names = "[" + ", ".join(f"'{m}'" for m, _ in MODELS) + "]"
    providers = "[" + ", ".join(f"'{p}'" for _, p in MODELS) + "]"
    h = "cityHash64(number, {})".format
    i = f"(1 + {h(1)} % {len(MODELS)})"
    statement = f"""
    INSERT INTO {db}.records
    SELECT
        concat('bench:', toString(number)) AS dedupe_key, '' AS content_hash,
        toDateTime64('2026-10-01 00:00:00', 6, 'UTC')
            + toIntervalMicrosecond(intDiv(number * {SECONDS}000000, {n})) AS ts,
        NULL AS ts_end,
        arrayElement({providers}, {i}) AS provider, arrayElement({names}, {i}) AS model,
        1 AS requests,
        200 + {h(2)} % 4000 AS input_uncached,
        if({h(3)} % 3 = 0, {h(4)} % 20000, 0) AS cache_read,
        if({h(3)} % 17 = 0, 2000, 0) AS cache_write_5m,
        0 AS cache_write_1h,
        20 + {h(5)} % 800 AS output, 0 AS reasoning,
        'standard' AS service_tier, if({h(6)} % 100 = 0, 'error', 'ok') AS status,
        concat('u', toString({h(7)} % 2000)) AS user,
        concat('feature-', toString({h(8)} % 8)) AS feature,
        concat('team-', toString({h(9)} % 4)) AS team,
        concat('cust-', toString({h(10)} % 50)) AS customer,
        'proj' AS project, NULL AS api_key, NULL AS session, 'prod' AS environment,
        NULL AS tags,
        toFloat64(200 + {h(11)} % 5000) AS latency_ms, toFloat64(50 + {h(12)} % 900) AS ttft_ms,
        NULL AS request_id, NULL AS reported_cost_usd,
        'bench' AS source_kind, 'bench' AS source_name, NULL AS source_location,
        NULL AS machine_id, NULL AS ingest_id, 1 AS version
    FROM numbers({n})
    """
    clickhouse_server.execute(statement)
    clickhouse_server.execute(
        f"INSERT INTO {db}.record_keys SELECT dedupe_key, toDate(ts), 1 FROM {db}.records"
    )
    clickhouse_server.execute(
        f"INSERT INTO {db}.rollup_dirty SELECT toDate('2026-10-01') + number, 1 FROM numbers(31)"
    )


def timed(args: list[str], env: dict[str, str]) -> float:
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "llmaudit", *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def ingest(n: int, env: dict[str, str], holding: int = 0) -> None:
    """`llmaudit ingest` of the same N-line llmaudit JSONL (benchmarks/generate.py) into a
    SQLite file and into ClickHouse (and, with ``holding``, into a ClickHouse ledger that
    already holds that many requests): records a second, the SQLite ledger as the baseline."""
    import tempfile

    server = clickhouse_server.server()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "usage.jsonl"
        with log.open("w") as out:
            subprocess.run(
                [sys.executable, str(Path(__file__).with_name("generate.py")), str(n)],
                stdout=out,
                check=True,
            )
        clickhouse_server.execute("DROP DATABASE IF EXISTS bench_ingest")
        targets = [("sqlite", str(Path(tmp) / "l.db")), ("clickhouse", server.url("bench_ingest"))]
        if holding:
            clickhouse_server.execute("DROP DATABASE IF EXISTS bench_ingest_base")
            address = Address.parse(server.url("bench_ingest_base"))
            with ClickHouseLedger.open(address, clickhouse_server.PASSWORD) as led:
                generate("bench_ingest_base", holding)
                led.refresh_rollup()
            targets.append((f"clickhouse holding {holding:,}", str(address)))
        times = {}
        for name, db in targets:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "llmaudit", "--db", db, "ingest", str(log)],
                check=True,
                env=env,
                stderr=subprocess.DEVNULL,
            )
            times[name] = time.perf_counter() - start
        baseline = times["sqlite"]
        for name, secs in times.items():
            print(
                f"  ingest {n:,} lines into {name:<26} {secs:6.1f} s  {n / secs:9,.0f} rec/s  "
                f"{secs / baseline:4.2f}x sqlite"
            )
        if holding:
            clickhouse_server.execute("DROP DATABASE IF EXISTS bench_ingest_base")


def main() -> None:
    server = clickhouse_server.server()
    env = {**os.environ, "LLMAUDIT_CLICKHOUSE_PASSWORD": clickhouse_server.PASSWORD}
    if sys.argv[1:2] == ["--ingest"]:
        ingest(int(sys.argv[2]), env, int(sys.argv[3]) if len(sys.argv) > 3 else 0)
        return
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000]
    for n in sizes:
        db = f"bench_{n}"
        clickhouse_server.execute(f"DROP DATABASE IF EXISTS {db}")
        url = server.url(db)
        address = Address.parse(url)
        ClickHouseLedger.open(address, clickhouse_server.PASSWORD).close()  # migrations
        t = time.perf_counter()
        generate(db, n)
        built = time.perf_counter() - t
        with ClickHouseLedger.open(address, clickhouse_server.PASSWORD) as led:
            t = time.perf_counter()
            led.refresh_rollup()
            refresh = time.perf_counter() - t
            t = time.perf_counter()
            led.conn.one(f"SELECT sum(output) FROM {db}.records", "i")
            scan = time.perf_counter() - t
            size = led.info()["size_bytes"]
        print(
            f"\n{n:,} requests ({size / 2**20:.0f} MiB on disk, generated in {built:.0f} s, "
            f"rollup refresh {refresh:.1f} s); baseline sum(output) {scan:.2f} s"
        )
        window = ["--since", "2026-10-01", "--until", "2026-10-31", "--format", "json"]
        full = timed(["--db", url, "report", *window], env)
        print(f"  {'all sections':<14} {full:6.2f} s  {full / scan:5.1f}x baseline")
        for section in SECTIONS:
            secs = timed(["--db", url, "report", section, *window], env)
            print(f"  {section:<14} {secs:6.2f} s  {secs / scan:5.1f}x baseline")
        if os.environ.get("BENCH_KEEP") != "1":
            clickhouse_server.execute(f"DROP DATABASE IF EXISTS {db}")


if __name__ == "__main__":
    from bytecode import compile_llmaudit

    compile_llmaudit()  # as an installed llmaudit has it
    main()
