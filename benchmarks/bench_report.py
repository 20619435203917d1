#!/usr/bin/env python3
"""Time `llmaudit report` (every section, and each alone) on ledgers of N requests.

    python benchmarks/bench_report.py 1000000 [10000000] [--features K]

The ledgers are built by repeating `llmaudit demo`'s month of traffic with fresh ids (one
record per request, as per-request logs give), and kept in a temp dir; the daily rollup is
refreshed at the end of the build, as `llmaudit ingest` does. Each timing is the median
of 3 whole `llmaudit report` commands. Baseline: `SELECT SUM(output) FROM records` on the same
ledger (one full scan in SQLite). ``--features K`` spreads the requests over K features (the
demo has 5), so that the report prices many groups (K x models x days).
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from llmaudit.ledger.store import Ledger
from llmaudit.sources import demo

SECTIONS = ("summary", "spend", "models", "ratios", "cache", "latency", "trend")


def build(path: Path, n: int, features: int = 0) -> None:
    base = list(demo.records())
    with Ledger.open(path) as led:
        made = 0
        rounds = 0
        while made < n:
            batch = []
            for rec in base:
                if made >= n:
                    break
                made += 1
                batch.append(
                    replace(
                        rec,
                        ts=rec.ts - timedelta(days=31 * (rounds % 2)),
                        request_id=f"r{made}",
                        source_id=f"r{made}",
                        feature=f"feature-{made % features}" if features else rec.feature,
                    )
                )
                if len(batch) == 5000:
                    led.write(batch, source_kind="demo")
                    batch = []
            if batch:
                led.write(batch, source_kind="demo")
            rounds += 1
        start = time.perf_counter()
        led.refresh_rollup()  # as `llmaudit ingest` does when it finishes
        print(f"  (rollup refresh after the build: {time.perf_counter() - start:.1f} s)")


def timed(args: list[str]) -> float:
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "llmaudit", *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    args = sys.argv[1:]
    features = 0
    if "--features" in args:
        at = args.index("--features")
        features = int(args[at + 1])
        del args[at : at + 2]
    sizes = [int(a) for a in args] or [1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            db = Path(tmp) / f"r{n}.db"
            t = time.perf_counter()
            build(db, n, features)
            built = time.perf_counter() - t
            conn = sqlite3.connect(db)
            t = time.perf_counter()
            conn.execute("SELECT SUM(output) FROM records").fetchone()
            scan = time.perf_counter() - t
            conn.close()
            print(
                f"\n{n:,} requests ({db.stat().st_size / 2**20:.0f} MiB, built in {built:.0f} s)"
                f"{f', {features} features' if features else ''};"
                f" baseline full scan {scan:.2f} s"
            )
            window = ["--since", "2026-10-01", "--until", "2026-10-31", "--format", "json"]
            full = timed(["--db", str(db), "report", *window])
            print(f"  {'all sections':<14} {full:6.2f} s  {full / scan:5.1f}x baseline")
            for section in SECTIONS:
                secs = timed(["--db", str(db), "report", section, *window])
                print(f"  {section:<14} {secs:6.2f} s  {secs / scan:5.1f}x baseline")


if __name__ == "__main__":
    from bytecode import compile_llmaudit

    compile_llmaudit()  # as an installed llmaudit has it
    main()
