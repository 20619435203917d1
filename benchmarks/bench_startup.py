#!/usr/bin/env python3
"""Start-up of whole commands that do little else: `llmaudit --help` and `llmaudit pricing
explain gpt-4o`, each in a fresh process, median of N runs (default 21).

    python benchmarks/bench_startup.py [N]

Baselines in the same run: a bare interpreter (`python -c pass`) and importing click alone
(`python -c "import click"`), the floor of any click command line.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path


def median(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    py = sys.executable
    rows = [
        ("baseline: python -c pass", [py, "-c", "pass"]),
        ("baseline: python -c 'import click'", [py, "-c", "import click"]),
        ("python -m llmaudit --help", [py, "-m", "llmaudit", "--help"]),
        ("llmaudit pricing explain gpt-4o", [py, "-m", "llmaudit", "pricing", "explain", "gpt-4o"]),
    ]
    script = Path(py).parent / "llmaudit"  # the installed console script, as users run it
    if script.exists():
        rows.insert(3, ("llmaudit --help (console script)", [str(script), "--help"]))
    click_time = None
    print(f"median of {runs} whole commands, Python {sys.version.split()[0]}")
    for name, cmd in rows:
        secs = median(cmd, runs)
        if "import click" in name:
            click_time = secs
        ratio = f"{secs / click_time:5.2f}x import click" if click_time else ""
        print(f"  {name:<38} {secs * 1000:7.1f} ms  {ratio}")


if __name__ == "__main__":
    from bytecode import compile_llmaudit

    compile_llmaudit()  # as an installed llmaudit has it
    main()
