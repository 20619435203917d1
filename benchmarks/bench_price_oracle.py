"""llmaudit's prices against genai-prices on a fresh random seed (the test suite keeps one seed
fixed): agreement within 0.01%, and every difference.

    python benchmarks/bench_price_oracle.py [--seed N] [--records 3000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pricing"))

from oracle import compare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(10**9))
    parser.add_argument("--records", type=int, default=3000)
    args = parser.parse_args()
    started = time.perf_counter()
    outcomes, unnamed = compare(args.seed, args.records)
    took = time.perf_counter() - started
    agree = sum(o.agrees for o in outcomes)
    print(f"seed {args.seed}: {agree}/{len(outcomes)} agree within 0.01% ({took:.1f} s)")
    for o in outcomes:
        if not o.agrees:
            print(f"  {o.provider} {o.name}: genai-prices {o.theirs}, llmaudit {o.ours} {o.note}")
    print(f"models with no exact name in genai-prices: {', '.join(unnamed) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
