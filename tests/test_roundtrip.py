"""record -> llmaudit JSONL -> ledger -> record gives the record back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmaudit.ledger.store import Ledger
from llmaudit.model.interchange import dumps
from llmaudit.model.record import ATTRIBUTION_FIELDS, STATUSES, UsageRecord
from llmaudit.model.values import SERVICE_TIERS
from llmaudit.sources.llmaudit_jsonl import parse_line

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda s: s.strip()
)
tokens = st.integers(min_value=0, max_value=10**9)
when = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)


@st.composite
def records(draw):
    output = draw(tokens)
    ts = draw(when)
    attribution = {
        name: draw(st.none() | text.filter(lambda s: not s.startswith(("sk-", "rk-", "pk-"))))
        for name in ATTRIBUTION_FIELDS
    }
    return UsageRecord(
        ts=ts,
        ts_end=draw(
            st.none() | st.timedeltas(timedelta(0), timedelta(days=2)).map(lambda d: ts + d)
        ),
        provider=draw(text).strip(),
        model=draw(text).strip(),
        requests=draw(st.integers(0, 10**6)),
        input_uncached=draw(tokens),
        cache_read=draw(tokens),
        cache_write_5m=draw(tokens),
        cache_write_1h=draw(tokens),
        output=output,
        reasoning=draw(st.integers(0, output)),
        service_tier=draw(st.sampled_from(SERVICE_TIERS)),
        status=draw(st.sampled_from(STATUSES)),
        tags=draw(st.dictionaries(text, text, max_size=3)),
        latency_ms=draw(st.none() | st.floats(0, 1e7, allow_nan=False)),
        ttft_ms=draw(st.none() | st.floats(0, 1e7, allow_nan=False)),
        request_id=draw(st.none() | text),
        reported_cost_usd=draw(
            st.none()
            | st.decimals(
                min_value=Decimal("-1e6"),
                max_value=Decimal("1e6"),
                allow_nan=False,
                allow_infinity=False,
                places=12,
            )
        ),
        **attribution,
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rec=records())
def test_record_survives_jsonl_and_ledger(tmp_path_factory, rec):
    line = dumps(rec)
    assert "\n" not in line
    parsed = parse_line(line, "rt.jsonl", 1)
    assert isinstance(parsed, UsageRecord), parsed
    assert parsed.identity() == rec.identity()
    path = tmp_path_factory.mktemp("rt") / "l.db"
    with Ledger.open(path) as led:
        counts = led.write([parsed])
        assert counts.added == 1
        [back] = list(led.iter_records())
        assert back == parsed
        assert led.write([back]).duplicate == 1
