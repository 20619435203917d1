from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.values import infer_provider, parse_ts, redact_api_key, to_int

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=timezone.utc)),
        ("2026-11-01T10:00:00.5+02:00", datetime(2026, 11, 1, 8, 0, 0, 500000, timezone.utc)),
        ("2026-11-01T10:00:00.123456789Z", datetime(2026, 11, 1, 10, 0, 0, 123456, timezone.utc)),
        ("2026-11-01 10:00-0530", datetime(2026, 11, 1, 15, 30, tzinfo=timezone.utc)),
        ("2026-11-01T10:00:00,25z", datetime(2026, 11, 1, 10, 0, 0, 250000, timezone.utc)),
    ],
)
def test_parse_ts_to_utc(text, expected):
    got = parse_ts(text)
    assert got == expected
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"ts": datetime(2026, 11, 1)}, "ts", "timezone-aware"),
        ({"ts_end": T0 - timedelta(seconds=1)}, "ts_end", "is before ts"),
        ({"model": ""}, "model", "is missing"),
        ({"provider": ""}, "provider", "is missing"),
        ({"output": -1}, "output", "must not be negative"),
        ({"cache_read": 1.0}, "cache_read", "must be an integer"),
        ({"requests": True}, "requests", "must be an integer"),
        ({"output": 3, "reasoning": 4}, "reasoning", "is larger than output"),
        ({"service_tier": "turbo"}, "service_tier", "must be one of"),
        ({"status": "fine"}, "status", "must be one of"),
        ({"team": 7}, "team", "must be a string"),
        ({"tags": {"a": 1}}, "tags", "must map"),
        ({"latency_ms": -2.0}, "latency_ms", "non-negative"),
        ({"reported_cost_usd": Decimal("Infinity")}, "reported_cost_usd", "finite"),
        ({"reported_cost_usd": 0.5}, "reported_cost_usd", "finite decimal"),
    ],
)
def test_record_rules(kwargs, field, reason):
    base = {"ts": T0, "provider": "openai", "model": "gpt-4o"}
    with pytest.raises(RecordError) as info:
        UsageRecord(**{**base, **kwargs})
    assert info.value.field == field
    assert reason in info.value.reason


def test_provenance_is_not_identity():
    a = UsageRecord(ts=T0, provider="openai", model="gpt-4o", output=3, source_location="a:1")
    b = UsageRecord(ts=T0, provider="openai", model="gpt-4o", output=3, source_location="b:9")
    assert a.content_hash() == b.content_hash()
    c = UsageRecord(ts=T0, provider="openai", model="gpt-4o", output=4)
    assert a.content_hash() != c.content_hash()


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gpt-4o-2024-08-06", "openai"),
        ("o3-mini", "openai"),
        ("claude-3-5-sonnet-latest", "anthropic"),
        ("gemini-2.5-flash", "google"),
        ("openrouter/anthropic/claude-3-haiku", "openrouter"),
        ("grok-4", "xai"),
        ("my-finetune", "unknown"),
    ],
)
def test_infer_provider(model, provider):
    assert infer_provider(model) == provider


def test_redact_api_key_keeps_ids_and_hides_secrets():
    assert redact_api_key("key_abc123") == "key_abc123"
    assert redact_api_key("sk-ant-api03-aaaaaaaaaaaaaaaaaaaaaaaaaaaa-wxyz") == "sk-...wxyz"
    assert redact_api_key(None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(12, 12), (12.0, 12), (Decimal("12.000"), 12), (10**12, 10**12)],
)
def test_to_int_accepts_integral_counts(value, expected):
    assert to_int(value, "input") == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (Decimal("1E+28"), "implausibly large"),  # found by the fuzz test: Decimal % 1 raised
        (1e28, "implausibly large"),
        (2**53 + 1, "implausibly large"),  # would not fit SQLite's 64-bit INTEGER soon after
        (float("inf"), "must be an integer"),
        (Decimal("NaN"), "must be an integer"),
        (1.5, "must be an integer"),
        (True, "must be an integer"),
        (-1, "must not be negative"),
    ],
)
def test_to_int_rejects_with_the_field(value, reason):
    with pytest.raises(RecordError, match=reason) as err:
        to_int(value, "input")
    assert err.value.field == "input"


def test_the_h1_content_hash_is_pinned():
    # The literal below is `printf '%s' '<the JSON>' | sha256sum` of the identity row
    # ["2026-01-02T03:04:05.000000Z",null,"openai","gpt-4o",1,100,0,0,0,20,0,"standard","ok",
    #  "zo\u00eb",null,null,null,null,null,null,null,"{\"k\": \"v\"}",12.5,null,null,"0.0012"]:
    # if it changes, every id-less record in every ledger would be added again.
    rec = UsageRecord(
        ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        provider="openai",
        model="gpt-4o",
        input_uncached=100,
        output=20,
        user="zoë",
        tags={"k": "v"},
        latency_ms=12.5,
        reported_cost_usd=Decimal("0.0012"),
        source_kind="llmaudit",
    )
    digest = "c92eacb223dc20e990b20c44cf402a8040f538ab03d1cdd79c32e9d1721b1dc2"
    assert rec.content_hash() == digest
    assert rec.dedupe_key() == f"llmaudit:h1:{digest}"
    bare = UsageRecord(
        ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        provider="anthropic",
        model="claude-x",
    )
    assert bare.content_hash() == "78b07984b946a8291383fe7e77a899cb19e40d675de3032670ea7af6f65dd163"


def _dataclass_record(*args, **kwargs):
    """A record built by the dataclass's own generated __init__ (kept beside the fast one)."""
    rec = object.__new__(UsageRecord)
    UsageRecord._dataclass_init(rec, *args, **kwargs)
    return rec


def test_the_fast_init_has_the_dataclass_parameters_and_defaults():
    import inspect

    fast = inspect.signature(UsageRecord.__init__).parameters
    own = inspect.signature(UsageRecord._dataclass_init).parameters
    assert list(fast) == list(own)
    for name, param in own.items():
        if name == "tags":  # a default factory: each record gets its own dict
            continue
        assert fast[name].default == param.default, name
        assert fast[name].kind == param.kind, name
    a = UsageRecord(ts=datetime(2026, 1, 1, tzinfo=timezone.utc), provider="p", model="m")
    b = UsageRecord(ts=datetime(2026, 1, 1, tzinfo=timezone.utc), provider="p", model="m")
    assert a.tags == {} and a.tags is not b.tags


_T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    kwargs=st.fixed_dictionaries(
        {},
        optional={
            "requests": st.one_of(st.integers(-2, 2**63), st.booleans(), st.floats()),
            "output": st.integers(-1, 10**13),
            "reasoning": st.integers(-1, 10),
            "service_tier": st.sampled_from(["standard", "batch", "nope", ""]),
            "status": st.sampled_from(["ok", "error", "bad"]),
            "user": st.one_of(st.none(), st.text(max_size=4), st.integers(0, 3)),
            "tags": st.one_of(
                st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
                st.just({"a": 1}),
                st.just([]),
            ),
            "latency_ms": st.one_of(st.none(), st.floats(), st.integers(-1, 10**10)),
            "ts_end": st.sampled_from([None, _T0 - timedelta(seconds=1), _T0]),
            "reported_cost_usd": st.sampled_from(
                [None, Decimal("0.5"), Decimal("NaN"), Decimal("1e12"), 0.5]
            ),
            "model": st.sampled_from(["gpt-4o", "", " ", "\ud800"]),
            "source_id": st.one_of(st.none(), st.text(max_size=3)),
        },
    )
)
def test_the_fast_init_builds_and_refuses_exactly_what_the_dataclass_does(kwargs):
    args = {"ts": _T0, "provider": "openai", "model": "gpt-4o", **kwargs}
    outcomes = []
    for build in (UsageRecord, _dataclass_record):
        try:
            rec = build(**args)
            outcomes.append(("ok", rec, {f: getattr(rec, f) for f in vars(rec)}))
        except RecordError as exc:
            outcomes.append(("error", exc.field, exc.reason))
    assert outcomes[0] == outcomes[1]


_HASHED_VALUE = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=127)),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e-4, 9.99e-5, 1e16, 9999999999999998.0, 1e-05, "\x7f", "\x1f"]),
)


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(row=st.lists(_HASHED_VALUE, min_size=26, max_size=26).map(tuple))
def test_the_fast_hash_payload_is_the_json_encoders(row):
    """row_hash writes its payload with msgspec when it can: always the very bytes of the JSON
    encoder that defines h1, or else that encoder's (pinned above)."""
    from llmaudit.model.record import _HASH_JSON, _hash_payload

    assert _hash_payload(row) == _HASH_JSON.encode(list(row)).encode("ascii")


def test_a_plain_row_takes_msgspecs_payload(monkeypatch):
    """So the comparison above compares something: a common row is encoded by msgspec."""
    from llmaudit.model import record

    record._hash_payload(("warm",))  # the encoder, built on the first row
    calls = []
    encode = record._encode
    monkeypatch.setattr(record, "_encode", lambda row: calls.append(row) or encode(row))
    row = ("2026-01-02T03:04:05.000000Z", None, "openai", "gpt-4o", 1, 100, 0, 0, 0, 20, 0)
    row += ("standard", "ok", "alice", None, None, None, None, None, None, None, None, 812.5)
    row += (None, "r1", None)
    record.row_hash(row)
    assert calls == [row]


# -- reading records back from a ledger -------------------------------------------------------


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(
    moment=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2100, 12, 31, 23, 59, 59, 999999)
    )
)
def test_a_stored_time_reads_as_parse_ts_reads_it(moment):
    """The ledger's own text of any time it can hold takes stored_ts's fast path, and gives
    parse_ts's datetime: UTC, to the microsecond."""
    from llmaudit.model.values import format_ts, stored_ts

    text = format_ts(moment.replace(tzinfo=timezone.utc))
    got = stored_ts(text)
    assert got == parse_ts(text) == moment.replace(tzinfo=timezone.utc)
    assert got.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-02T03:04:05Z",  # no fraction
        "2026-01-02T03:04:05.000000+02:00",
        "2026-01-02 03:04:05.000000Z",
        "2026-01-02T24:00:00.000000Z",
        "2026-02-30T03:04:05.000000Z",
        "2026-01-02T03:04:05.00000aZ",
        "2026-01-02T03:04:05.+00000Z",
        "1969-12-31T23:59:59.999999Z",
        "2101-01-01T00:00:00.000000Z",
        "２０２６-01-02T03:04:05.000000Z",
        "2026-01-02T03:04:05.000000z",
        12,
    ],
)
def test_other_text_reads_as_parse_ts_reads_it(text):
    """Anything but the stored form, or a stored form out of range, is parse_ts's: the same
    datetime, or the same error."""
    from llmaudit.model.values import stored_ts

    def outcome(read):
        try:
            return read(text, "ts_end")
        except RecordError as exc:
            return (exc.field, exc.reason)

    assert outcome(stored_ts) == outcome(parse_ts)


def test_a_stored_record_is_the_record_of_its_fields():
    from llmaudit.model.record import stored_record

    rec = UsageRecord(
        ts=_T0, provider="openai", model="gpt-4o", output=5, reasoning=2, user="u", key="k"
    )
    fields = dict(vars(rec))
    assert stored_record(dict(fields)) == rec
    assert stored_record(dict(fields)).key == "k"
    with pytest.raises(RecordError) as err:
        stored_record({**fields, "reasoning": 9})
    assert err.value.field == "reasoning"
    with pytest.raises(RecordError) as err:
        stored_record({**fields, "status": "bad"})
    assert err.value.field == "status"
    with pytest.raises(TypeError):
        stored_record({k: v for k, v in fields.items() if k != "source_id"})
    with pytest.raises(TypeError):
        stored_record({**fields, "extra": 1})
