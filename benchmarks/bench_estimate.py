#!/usr/bin/env python3
"""`llmaudit estimate` speed: a cold run on a 10 KB prompt, and tokens/s against raw tiktoken.

    python benchmarks/bench_estimate.py

Baseline: tiktoken's `Encoding.encode` on the same text with the same encoding object (the
difference is llmaudit's own work: reading, chat framing, pricing).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    text = (
        "Customer: my invoice shows a rounding error of one cent. "
        "Agent: let me check the ledger entries for that month.\n"
    ) * 90  # ~10 KB
    with tempfile.TemporaryDirectory() as tmp:
        prompt = Path(tmp) / "prompt.txt"
        prompt.write_text(text)
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "llmaudit", "estimate", str(prompt), "--format", "json"],
                check=True,
                capture_output=True,
            )
            runs.append(time.perf_counter() - start)
        print(
            f"estimate, 10 KB prompt, 6 models, cold process: median "
            f"{statistics.median(runs):.2f} s (of {len(runs)})"
        )
    from llmaudit.estimate.estimate import chat_tokens
    from llmaudit.estimate.prompts import Prompt
    from llmaudit.estimate.tokens import encoding

    big = text * 200  # ~2 MB
    enc = encoding("o200k_base")
    start = time.perf_counter()
    n = len(enc.encode(big, disallowed_special=()))
    raw = time.perf_counter() - start
    start = time.perf_counter()
    chat_tokens(Prompt("big", [{"role": "user", "content": big}], False), "o200k_base")
    ours = time.perf_counter() - start
    print(
        f"{len(big) / 2**20:.1f} MiB, {n:,} tokens: tiktoken {n / raw:,.0f} tokens/s, "
        f"llmaudit {n / ours:,.0f} tokens/s ({ours / raw:.2f}x the baseline's time)"
    )


if __name__ == "__main__":
    from bytecode import compile_llmaudit

    compile_llmaudit()  # as an installed llmaudit has it
    main()
