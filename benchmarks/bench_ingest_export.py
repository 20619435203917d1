#!/usr/bin/env python3
"""Ingest and export throughput on generated data, against json.loads over the same lines.

python benchmarks/bench_ingest_export.py [records]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "usage.jsonl"
        with data.open("w") as fh:
            subprocess.run(
                [sys.executable, str(HERE / "generate.py"), str(n)], stdout=fh, check=True
            )
        t = time.perf_counter()
        with data.open() as fh:
            for line in fh:
                json.loads(line)
        base = time.perf_counter() - t
        db = Path(tmp) / "bench.db"
        cmd = [sys.executable, "-m", "llmaudit", "--db", str(db)]
        t = time.perf_counter()
        subprocess.run([*cmd, "ingest", str(data)], check=True, capture_output=True)
        ingest = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([*cmd, "ingest", str(data)], check=True, capture_output=True)
        reingest = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run(
            [*cmd, "export", "-o", str(Path(tmp) / "out.jsonl")], check=True, capture_output=True
        )
        export = time.perf_counter() - t
    print(f"records: {n}")
    print(f"baseline json.loads of every line: {base:.2f} s")
    for name, secs in (
        ("ingest", ingest),
        ("re-ingest (all duplicates)", reingest),
        ("export with costs", export),
    ):
        print(f"{name:<28} {secs:6.2f} s  {n / secs:9,.0f} records/s  {secs / base:5.1f}x baseline")


if __name__ == "__main__":
    main()
