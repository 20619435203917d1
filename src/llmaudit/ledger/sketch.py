"""The latency sketch both engines keep in their daily rollup: per day, model and kind (ttft,
latency, itl), how many requests fall in each logarithmic bucket (DDSketch's mapping). Every
value in bucket ``i`` lies in (GAMMA**(i-1), GAMMA**i], so the value a bucket stands for is
within ALPHA (1%) of each of them, and a percentile read from the buckets is within 1% of the
exact one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
ZERO_BUCKET = -(2**31)  # latencies of 0 ms (or less)
KINDS = ("ttft", "latency", "itl")
# The buckets a stored value can fall in: the least positive float's (-37,220) to 10**9 ms's
# (1,037), and ZERO_BUCKET. Any other is none llmaudit writes (and GAMMA**35,488 overflows).
BUCKETS = range(-37_220, 1_038)


def written_bucket(bucket: object) -> bool:
    """Whether ``bucket`` is one the rollup's refresh can write."""
    return type(bucket) is int and (bucket in BUCKETS or bucket == ZERO_BUCKET)


def bucket_value(bucket: int) -> float:
    """The value a bucket stands for: within ALPHA of every value in it."""
    if bucket == ZERO_BUCKET:
        return 0.0
    return 2 * GAMMA**bucket / (GAMMA + 1)


def sketch_quantile(histogram: list[tuple[int, int]], q: float) -> float | None:
    """The q-quantile of a sorted [(bucket, count)] histogram, interpolated between the
    requests of rank floor and ceil of q * (n - 1) as the exact path does: each of the two is
    within ALPHA of its true value, so the result is within ALPHA of the exact percentile."""
    n = sum(c for _, c in histogram)
    if not n:
        return None
    pos = q * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    low = high = None
    seen = 0
    for bucket, count in histogram:
        seen += count
        if low is None and seen > lo:
            low = bucket_value(bucket)
        if seen > hi:
            high = bucket_value(bucket)
            break
    last = bucket_value(histogram[-1][0])  # (counts that do not add up: the top bucket)
    low = last if low is None else low
    high = last if high is None else high
    return low + (high - low) * (pos - lo)


def quantile_rows(
    histograms: Mapping[tuple[str, str], list[tuple[int, int]]],
) -> list[dict[str, Any]]:
    """The latency section's rows (as the exact path gives them) from the histograms of each
    (model, kind), sorted by bucket: requests with timings, p50 and p95 of each kind."""
    rows = []
    for model in sorted({m for m, _ in histograms}):
        counts = {k: sum(n for _, n in histograms.get((model, k), [])) for k in KINDS}
        row: dict[str, Any] = {"model": model, "requests": max(counts["latency"], counts["ttft"])}
        for kind in KINDS:
            histogram = histograms.get((model, kind), [])
            row[f"{kind}_p50_ms"] = sketch_quantile(histogram, 0.5)
            row[f"{kind}_p95_ms"] = sketch_quantile(histogram, 0.95)
        rows.append(row)
    return rows
