#!/usr/bin/env python3
"""Time loading the bundled price table, against the baseline of parsing its TOML alone.

    python benchmarks/bench_pricing_load.py [runs]

Each run is a fresh interpreter (so imports count, as they do for a real command); the median
of the runs is reported, for: `tomllib.loads` of pricing.toml (baseline), and
`llmaudit.pricing.load_table()` (parse + validate + index), and, apart, the import of
`llmaudit.pricing` (mostly the standard library: dataclasses, decimal, typing).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

BASELINE = (
    "import time; t = time.perf_counter(); import tomllib; from decimal import Decimal; "
    "from llmaudit.pricing.table import bundled_path; p = bundled_path(); t = time.perf_counter(); "
    "tomllib.loads(p.read_text(), parse_float=Decimal); print(time.perf_counter() - t)"
)
LOAD = (
    "import time; from llmaudit.pricing.table import load_table; t = time.perf_counter(); "
    "load_table(); print(time.perf_counter() - t)"
)
IMPORT = (
    "import time; t = time.perf_counter(); from llmaudit.pricing.table import load_table; "
    "print(time.perf_counter() - t)"
)


def median_ms(code: str, runs: int) -> float:
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(times) * 1000


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    base = median_ms(BASELINE, runs)
    load = median_ms(LOAD, runs)
    imports = median_ms(IMPORT, runs)
    print(f"baseline tomllib parse of pricing.toml: {base:.1f} ms (median of {runs})")
    print(f"load_table():                           {load:.1f} ms ({load / base:.1f}x baseline)")
    print(f"import llmaudit.pricing:                {imports:.1f} ms")


if __name__ == "__main__":
    from bytecode import compile_llmaudit

    compile_llmaudit()  # as an installed llmaudit has it
    main()
