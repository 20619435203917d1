#!/usr/bin/env python3
"""Ingest throughput and peak memory on generated data, against json.loads of the same lines.

    python benchmarks/bench_ingest.py [N]        (default 200,000 records per format)

For each of llmaudit JSONL, middleware (raw OpenAI/Anthropic responses) and Claude Code
transcripts: a first ingest into a new ledger, a re-run over the unchanged file, a full re-read
of a copy (every record a duplicate); then an export with costs. Each step is a whole
`llmaudit` command in its own process; peak RSS is that process's maximum resident set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent


# Runs llmaudit and reports its own peak resident set (VmHWM) on exit, which, unlike a
# parent's view of a child's rusage, does not inherit the benchmark process's memory.
WRAPPER = (
    "import atexit, sys\n"
    "def hwm():\n"
    "    status = open('/proc/self/status').read()\n"
    "    sys.stderr.write('HWM ' + status.split('VmHWM:')[1].split()[0] + '\\n')\n"
    "atexit.register(hwm)\n"
    "from llmaudit.cli.main import main\n"
    "main(sys.argv[1:])\n"
)


def run(args: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in MiB) of one llmaudit command."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr}")
    kib = int(proc.stderr.rsplit("HWM ", 1)[1].split()[0])
    return elapsed, kib // 1024


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    llmaudit: list[str] = []
    print(f"{n:,} records per format; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("llmaudit", "middleware", "claude-code"):
            data = Path(tmp) / f"{fmt}.jsonl"
            with data.open("w") as fh:
                subprocess.run(
                    [sys.executable, str(HERE / "generate.py"), str(n), "--format", fmt],
                    stdout=fh,
                    check=True,
                )
            lines = sum(1 for _ in data.open())
            t = time.perf_counter()
            with data.open("rb") as fh:
                for line in fh:
                    json.loads(line)
            base = time.perf_counter() - t
            db = Path(tmp) / f"{fmt}.db"
            first, rss1 = run([*llmaudit, "--db", str(db), "ingest", str(data)])
            again, rss2 = run([*llmaudit, "--db", str(db), "ingest", str(data)])
            copy = Path(tmp) / f"{fmt}-copy.jsonl"
            shutil.copyfile(data, copy)
            dup, rss3 = run([*llmaudit, "--db", str(db), "ingest", str(copy)])
            size = data.stat().st_size / 2**20
            print(f"\n{fmt}: {lines:,} lines, {size:.0f} MiB; baseline json.loads {base:.2f} s")
            for name, secs, rss in (
                ("first ingest", first, rss1),
                ("re-run, unchanged", again, rss2),
                ("re-read, all duplicates", dup, rss3),
            ):
                print(
                    f"  {name:<24} {secs:7.2f} s {n / secs:10,.0f} records/s "
                    f"{secs / base:6.1f}x baseline  peak RSS {rss} MiB"
                )
            if fmt == "middleware":
                secs, rss = run([*llmaudit, "--db", str(db), "export", "-o", os.devnull])
                print(
                    f"  {'export with costs':<24} {secs:7.2f} s {n / secs:10,.0f} records/s "
                    f"{secs / base:6.1f}x baseline  peak RSS {rss} MiB"
                )


if __name__ == "__main__":
    main()
