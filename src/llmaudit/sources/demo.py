"""A deterministic month of traffic for a fictional product, for `llmaudit demo`.

"Acme Helpdesk", October 2026: eight features on six priced models across OpenAI, Anthropic and
Google plus one model no price table knows. Caching pays off for `search` and costs more than it
saves for `agent` (1-hour cache writes that are rarely read back); a prompt regression triples
the tokens per request of `search` on 14 October; a few streams are abandoned and a few
requests fail.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from llmaudit.model.record import UsageRecord

KIND = "demo"
START = datetime(2026, 10, 1, tzinfo=timezone.utc)
DAYS = 31
REGRESSION_DAY = 13  # 14 October, a Tuesday


@dataclass(frozen=True)
class Feature:
    name: str
    team: str
    provider: str
    model: str
    per_day: int
    input: int  # mean input tokens a request
    output: int
    cache_read: float  # share of input read from cache
    cache_write_5m: float  # share of input written to a 5-minute cache
    cache_write_1h: float
    reasoning: float = 0.0  # share of output that is reasoning
    latency_ms: int = 1500
    ttft_ms: int = 400


FEATURES = (
    Feature("answer", "support", "openai", "gpt-4o-mini", 160, 2400, 260, 0.55, 0, 0, 0, 1400, 350),
    Feature(
        "search",
        "search",
        "anthropic",
        "claude-sonnet-4-5",
        70,
        9000,
        420,
        0.80,
        0.06,
        0,
        0,
        3800,
        900,
    ),
    Feature(
        "summarise", "support", "google", "gemini-2.5-flash", 60, 5200, 380, 0, 0, 0, 0.2, 2600, 700
    ),
    Feature(
        "agent",
        "platform",
        "anthropic",
        "claude-sonnet-4-5",
        30,
        14000,
        900,
        0.04,
        0,
        0.55,
        0,
        9000,
        1200,
    ),
    Feature(
        "triage",
        "support",
        "anthropic",
        "claude-haiku-4-5",
        90,
        1800,
        120,
        0.30,
        0.05,
        0,
        0,
        900,
        300,
    ),
    Feature("reasoning", "research", "openai", "o3", 12, 6000, 2400, 0.20, 0, 0, 0.7, 24000, 6000),
    Feature(
        "classify", "ml", "self-hosted", "acme-classifier-v2", 120, 600, 8, 0, 0, 0, 0, 120, 60
    ),
    Feature(
        "embed", "search", "openai", "text-embedding-3-small", 80, 1200, 0, 0, 0, 0, 0, 200, 200
    ),
)
USERS = tuple(f"u_{i:03d}" for i in range(1, 41))
CUSTOMERS = (
    "acme-retail",
    "bluebird",
    "northwind",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
)


def records(seed: int = 2026) -> Iterator[UsageRecord]:
    rnd = random.Random(seed)
    n = 0
    for day in range(DAYS):
        date = START + timedelta(days=day)
        weekend = date.weekday() >= 5
        for feature in FEATURES:
            count = int(feature.per_day * (0.55 if weekend else 1.0) * rnd.uniform(0.85, 1.15))
            for _ in range(count):
                n += 1
                yield _request(rnd, feature, date, day, n)


def _request(rnd: random.Random, f: Feature, date: datetime, day: int, n: int) -> UsageRecord:
    ts = date + timedelta(
        seconds=rnd.randrange(7 * 3600, 22 * 3600), microseconds=rnd.randrange(1_000_000)
    )
    # The regression puts twice the usual context, uncached, in front of every request.
    scale = 3.0 if (f.name == "search" and day == REGRESSION_DAY) else 1.0
    base_in = max(1, int(f.input * rnd.uniform(0.6, 1.4)))
    read = int(base_in * f.cache_read * rnd.uniform(0.8, 1.0)) if rnd.random() < 0.9 else 0
    w5 = int(base_in * f.cache_write_5m * rnd.uniform(0.5, 1.5))
    w1 = int(base_in * f.cache_write_1h * rnd.uniform(0.8, 1.2))
    w5 = min(w5, base_in - read)
    w1 = min(w1, base_in - read - w5)
    total_in = int(base_in * scale)
    out = int(f.output * rnd.uniform(0.5, 1.5))
    status = "ok"
    roll = rnd.random()
    if f.name == "answer" and roll < 0.03:
        status = "abandoned"
        out = int(out * rnd.uniform(0.1, 0.5))
    elif roll > 0.99:
        status = "error"
        out = 0
    latency = f.latency_ms * rnd.uniform(0.6, 1.8) * (1.5 if scale > 1 else 1)
    ttft = min(latency, f.ttft_ms * rnd.uniform(0.5, 2.0))
    return UsageRecord(
        ts=ts,
        provider=f.provider,
        model=f.model,
        input_uncached=total_in - read - w5 - w1,
        cache_read=read,
        cache_write_5m=w5,
        cache_write_1h=w1,
        output=out,
        reasoning=int(out * f.reasoning),
        user=rnd.choice(USERS),
        feature=f.name,
        team=f.team,
        customer=rnd.choice(CUSTOMERS),
        project="acme-helpdesk",
        environment="prod" if rnd.random() < 0.95 else "staging",
        latency_ms=round(latency, 1),
        ttft_ms=round(ttft, 1) if f.output else None,
        status=status,
        request_id=f"demo-{n:06d}",
        source_kind=KIND,
        source_name="demo",
        source_location=f"demo:{n}",
        machine_id="demo",
        source_id=f"demo-{n:06d}",
    )
