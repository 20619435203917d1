"""The lean path of llmaudit JSONL (rows built straight from the decoded line, issue #15) gives
exactly what the full path gives (record_from_object, the ingest's labels, prepare): the same
key, content hash, identity row and provenance for every line it takes, and a whole ingest
gives the same ledger (rows, keys, rejects, rollups) with it as without it."""

from __future__ import annotations

import json
import shutil
import string
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA, ledger_state
from llmaudit.ledger.writes import Prepared, prepare
from llmaudit.model.record import (
    check_plausible,
)
from llmaudit.sources.base import InputFile, Labels, Options
from llmaudit.sources.common import LINE_ERRORS, loads
from llmaudit.sources.llmaudit_jsonl import LlmauditJsonl, lean_row, record_from_object

LABELS = Labels("laptop", "m-1", {})
WHERE = "usage.jsonl:7"


def _full(line: str) -> Prepared | None:
    """The full path's row for one line, or None when it rejects the line."""
    try:
        rec = record_from_object(loads(line), WHERE)
        check_plausible(rec)
    except (*LINE_ERRORS, ValueError):
        return None
    return prepare(LABELS(rec))


def _lean(line: str) -> Prepared | None:
    from llmaudit.sources.lean import decode

    obj = decode(line.encode("utf-8", "surrogatepass"))  # None: NaN, a lone surrogate
    return lean_row(obj, WHERE, LABELS) if type(obj) is dict else None


# -- one line at a time -----------------------------------------------------------------------


def test_a_common_line_takes_the_lean_path_and_gives_the_full_paths_row():
    line = json.dumps(
        {
            "ts": "2026-11-01T10:00:00.25Z",
            "ts_end": "2026-11-01T10:00:03Z",
            "provider": "openai",
            "model": "gpt-4o",
            "requests": 2,
            "input_tokens": 1200,
            "cache_read_tokens": 1000,
            "cache_write_tokens": 100,
            "cache_write_1h_tokens": 40,
            "output_tokens": 300,
            "reasoning_tokens": 20,
            "service_tier": "batch",
            "user": "alice",
            "api_key": "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
            "tags": {"env": "prod", "n": 3},
            "latency_ms": 812.5,
            "ttft_ms": 90,
            "status": "error",
            "request_id": "chatcmpl-1",
            "reported_cost_usd": "0.0125",
            "cost_usd": 9.99,  # written by export: ignored by both paths
        }
    )
    row = _lean(line)
    assert row is not None
    assert row == _full(line)
    # worked out by hand: the disjoint counts, the stored forms, the key
    assert row.key == "llmaudit:chatcmpl-1"
    assert row.ident[:13] == (
        "2026-11-01T10:00:00.250000Z",
        "2026-11-01T10:00:03.000000Z",
        "openai",
        "gpt-4o",
        2,
        100,  # 1200 - 1000 read - 100 written
        1000,
        60,
        40,
        300,
        20,
        "batch",
        "error",
    )
    assert row.ident[18] == "sk-...0123"  # the key redacted, as attribution keeps it
    assert row.ident[21:] == ('{"env": "prod", "n": "3"}', 812.5, 90.0, "chatcmpl-1", "0.0125")
    assert (row.source_name, row.source_location, row.machine_id) == ("laptop", WHERE, "m-1")


@pytest.mark.parametrize(
    "line",
    [
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "input_tokens": 5}',  # hash key
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "request_id": "rid:chatcmpl-9"}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "record_key": "claude-code:msg_1"}',
        '{"ts": "2026-11-01T10:00:00Z", "model": " spaced ", "user": "  ", "status": ""}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "m", "reported_cost_usd": 3, "tags": {}}',
        '{"ts": "2100-12-31T23:59:59.999999Z", "model": "claude-haiku-4-5", "provider": ""}',
        # a float literal is the full path's exact Decimal on both paths
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "reported_cost_usd": 0.1}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "reported_cost_usd": 1.5e-7}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "latency_ms": 1742.25, "ttft_ms": 0.0}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "latency_ms": -0.0}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "cost_usd": 1e-30, '
        '"tags": {"n": 1234567890123456789012345678901234567890}}',
    ],
)
def test_each_key_rule_and_default_matches_the_full_path(line):
    row = _lean(line)
    assert row is not None
    assert row == _full(line)


@pytest.mark.parametrize(
    "line",
    [
        '{"ts": "2026-11-01T10:00:00+01:00", "model": "gpt-4o"}',  # an offset: converted
        '{"ts": "2026-11-01 10:00:00Z", "model": "gpt-4o"}',
        '{"ts": "2026-02-30T10:00:00Z", "model": "gpt-4o"}',  # no such day: a reject
        '{"ts": "1969-12-31T23:59:59Z", "model": "gpt-4o"}',
        '{"ts": "2026-11-01T10:00:00.1234567Z", "model": "gpt-4o"}',  # cut to microseconds
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "input_tokens": 1.0}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "input_tokens": true}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "input_tokens": 1, '
        '"cache_read_tokens": 2}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "service_tier": "Default"}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "user": 42}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "user": "zoë"}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "tags": {"on": true}}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "tags": {"x": 0.5}}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "latency_ms": -1}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "record_key": "no colon"}',
        '{"ts": "2026-11-01T10:00:00Z", "modle": "gpt-4o"}',
        # an integer of more than 40 digits, which msgspec reads and the full path refuses
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", '
        '"tags": {"n": 12345678901234567890123456789012345678901}}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", '
        '"cost_usd": -12345678901234567890123456789012345678901}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", '
        '"reported_cost_usd": 12345678901234567890123456789012345678901}',
        '{"ts": "2026-11-01T10:00:00Z", "model": "gpt-4o", "latency_ms": 1e-500}',
    ],
)
def test_anything_unusual_is_left_to_the_full_path(line):
    assert _lean(line) is None


# Objects as the lean path takes them (every field valid, any subset of the optional ones),
# and the same with one field set to an edge where the two paths could part.
_CANON_TS = st.builds(
    lambda dt, digits: (
        dt.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{dt.microsecond:06d}"[: digits + 1] if digits else "")
        + "Z"
    ),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 12, 31, 23, 59)),
    st.integers(0, 6),
)
_NAME = st.text(alphabet=string.ascii_letters + string.digits + " -_.:/", min_size=1, max_size=8)
_MS_GOOD = st.one_of(
    st.integers(0, 10**9), st.floats(min_value=0, max_value=1e9), st.sampled_from([1e-05, 0.1])
)
_GOOD = {
    "ts": _CANON_TS,
    "ts_end": st.one_of(st.none(), st.just("2100-12-31T23:59:59Z")),
    "provider": st.one_of(st.none(), st.sampled_from(["openai", "anthropic", "groq"]), _NAME),
    "model": st.one_of(st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "o3"]), _NAME),
    "requests": st.one_of(st.none(), st.integers(0, 10**10)),
    "input_tokens": st.one_of(st.none(), st.integers(10**6, 10**12)),
    "cache_read_tokens": st.one_of(st.none(), st.integers(0, 10**5)),
    "cache_write_tokens": st.one_of(st.none(), st.integers(0, 10**5)),
    "output_tokens": st.one_of(st.none(), st.integers(10**5, 10**12)),
    "reasoning_tokens": st.one_of(st.none(), st.integers(0, 10**5)),
    "service_tier": st.one_of(
        st.none(), st.sampled_from(["", "standard", "batch", "flex", "priority"])
    ),
    "user": st.one_of(st.none(), _NAME),
    "feature": st.one_of(st.none(), _NAME),
    "api_key": st.one_of(st.none(), _NAME, st.just("sk-abcdefghijklmnopqrstuvwxyz012345")),
    "session": st.one_of(st.none(), _NAME),
    "environment": st.one_of(st.none(), _NAME),
    "tags": st.one_of(
        st.none(),
        st.dictionaries(_NAME, st.one_of(_NAME, st.integers(-(10**6), 10**6)), max_size=3),
    ),
    "latency_ms": st.one_of(st.none(), _MS_GOOD),
    "ttft_ms": st.one_of(st.none(), _MS_GOOD),
    "status": st.one_of(st.none(), st.sampled_from(["", "ok", "error", "abandoned", "cache_hit"])),
    "request_id": st.one_of(st.none(), _NAME, st.just("rid:chatcmpl-1")),
    "reported_cost_usd": st.one_of(
        st.none(),
        st.integers(-(10**6), 10**6),
        st.decimals(allow_nan=False, allow_infinity=False, places=9).map(lambda d: f"{d:f}"),
        st.sampled_from(["1E-3", "1e-18", "-0.5", "1_0"]),
    ),
    "record_key": st.one_of(st.none(), st.just("claude-code:msg_1")),
    "cost_usd": st.floats(allow_nan=False, allow_infinity=False),
}
_REQUIRED = ("ts", "model")
_GOOD_OBJECT = st.fixed_dictionaries(
    {k: _GOOD[k] for k in _REQUIRED},
    optional={k: v for k, v in _GOOD.items() if k not in _REQUIRED},
)
_TEXT_EDGE = st.one_of(
    st.sampled_from([" x", "x ", "", "   ", "\t", "zoë", "\x7f", "a\u2028b"]),
    st.text(max_size=4),
    st.integers(-3, 3),
    st.booleans(),
    st.floats(),
    st.lists(st.integers(), max_size=1),
)
_COUNT_EDGE = st.sampled_from([10**12 + 1, 10**10 + 1, -1, 2**63, 2**64, True, 1.0, 1.5, "7"])
_MS_EDGE = st.one_of(
    st.sampled_from([-1, 10**9 + 1, 1e9 + 0.5, 123.456789012345678, True, "5", -0.0]),
    st.floats(),
)
_EDGE = {
    "ts": st.one_of(
        st.sampled_from(
            [
                "2023-02-29T00:00:00Z",
                "2026-10-01T24:00:00Z",
                "2026-10-01T00:00:60Z",
                "2026-10-01T00:00:00z",
                "2026-10-01T00:00:00+00:00",
                "2026-10-01T00:00:00",
                " 2026-10-01T00:00:00Z",
                "1969-12-31T23:59:59Z",
                "2101-01-01T00:00:00Z",
                "2026-10-01T00:00:00.1234567Z",
            ]
        ),
        st.text(max_size=8),
        st.integers(),
        st.none(),
    ),
    "ts_end": st.sampled_from(["1970-01-01T00:00:00Z", "2026-10-01T00:00:00+01:00", 5]),
    "requests": _COUNT_EDGE,
    "input_tokens": _COUNT_EDGE,
    "cache_read_tokens": st.one_of(_COUNT_EDGE, st.just(10**12)),
    "cache_write_1h_tokens": st.integers(0, 10**5),
    "output_tokens": _COUNT_EDGE,
    "reasoning_tokens": st.one_of(_COUNT_EDGE, st.just(10**12)),
    "service_tier": st.one_of(_TEXT_EDGE, st.sampled_from(["Batch", "auto", "scale", "default"])),
    "status": st.one_of(_TEXT_EDGE, st.sampled_from(["OK", "failed"])),
    "tags": st.one_of(
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.one_of(_NAME, st.just("")), _TEXT_EDGE, min_size=1, max_size=2),
    ),
    "latency_ms": _MS_EDGE,
    "ttft_ms": _MS_EDGE,
    "reported_cost_usd": st.one_of(
        st.sampled_from(["1e9", "1e-19", "NaN", "Infinity", "x", " 2 ", "", "0E-30", 0.1]),
        st.floats(),
        st.booleans(),
        st.text(max_size=4),
    ),
    "record_key": st.one_of(_TEXT_EDGE, st.sampled_from(["x:y z", "a:b\n", ":x"])),
    "price": st.just(1),  # an unknown field: a reject
    **{k: _TEXT_EDGE for k in ("provider", "model", "user", "api_key", "request_id")},
}
_EDGE_OBJECT = _GOOD_OBJECT.flatmap(
    lambda obj: st.sampled_from(sorted(_EDGE)).flatmap(
        lambda key: _EDGE[key].map(lambda value: {**obj, key: value})
    )
)
_OBJECT = st.one_of(_GOOD_OBJECT, _EDGE_OBJECT)


def _line(obj: dict) -> str:
    def number(value):
        return format(value, "f") if isinstance(value, Decimal) else value

    return json.dumps({k: number(v) for k, v in obj.items()})


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(obj=_OBJECT)
def test_any_object_the_lean_path_takes_gives_the_full_paths_row(obj):
    line = _line(obj)
    row = _lean(line)
    if row is not None:
        assert row == _full(line), line


def test_the_lean_path_takes_the_common_lines():
    """So the property above compares something: among generated objects with the usual
    fields, most take the lean path."""
    taken = 0
    for n in range(200):
        line = json.dumps(
            {
                "ts": f"2026-10-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                "model": ["gpt-4o", "o3", "claude-haiku-4-5"][n % 3],
                "input_tokens": 100 + n,
                "cache_read_tokens": n,
                "output_tokens": 5,
                "latency_ms": (n + 1) * 1.5,
                "feature": "chat",
                "request_id": f"r{n}" if n % 2 else None,
            }
        )
        row = _lean(line)
        taken += row is not None
        assert row == _full(line)
    assert taken == 200


# -- whole ingests ----------------------------------------------------------------------------


def _fresh(tmp_path) -> None:
    """Each generated example starts from no ledgers."""
    for old in tmp_path.glob("lean-*.db*"):
        old.unlink()


def _lean_and_full(run, monkeypatch, tmp_path, *args: str):
    import llmaudit.sources.worker as worker_mod

    out = {}
    for lean in (True, False):
        monkeypatch.setattr(worker_mod, "LEAN", lean)
        db = f"lean-{lean}.db"
        result = run("--db", db, "ingest", "--json", *args)
        out[lean] = (result.exit_code, result.stdout, result.stderr, ledger_state(tmp_path / db))
    return out[True], out[False]


@pytest.mark.parametrize("worker", ["never", "always"])
@pytest.mark.parametrize("name", ["sample.jsonl", "mixed.jsonl"])
def test_an_ingest_gives_the_same_ledger_with_and_without_the_lean_path(
    run, monkeypatch, tmp_path, name, worker
):
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", worker)
    shutil.copyfile(DATA / name, tmp_path / name)
    lean, full = _lean_and_full(run, monkeypatch, tmp_path, name)
    assert lean == full
    assert lean[3]["records"]


def test_every_fixture_and_a_folder_of_them_give_the_same_ledger(run, monkeypatch, tmp_path):
    """Every fixture format: the lean path is llmaudit JSONL's, and must leave the others be."""
    shutil.copytree(DATA / "logs", tmp_path / "logs")
    for name in ("sample.jsonl", "mixed.jsonl"):
        shutil.copyfile(DATA / name, tmp_path / "logs" / name)
    lean, full = _lean_and_full(run, monkeypatch, tmp_path, "logs")
    assert lean == full
    # the folder's 101 records, sample's 3 and mixed's 3 (its other two lines are rejects)
    assert len(lean[3]["records"]) == 101 + 3 + 3
    assert [r[1:3] for r in lean[3]["rejects"] if "mixed" in r[1]] == [
        ("logs/mixed.jsonl", 2),
        ("logs/mixed.jsonl", 5),
    ]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(objs=st.lists(_OBJECT, max_size=30), tail=st.sampled_from(["", '{"ts": "2026', "\ufeff"]))
def test_generated_inputs_give_the_same_ledger(run, monkeypatch, tmp_path, objs, tail):
    """Any mix of good and bad lines, repeats and corrections of a request id, through the
    parsing process (batches of 4) and a last line still being written."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 4)
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "always")
    _fresh(tmp_path)
    text = "".join(_line(obj) + "\n" for obj in objs) + tail
    (tmp_path / "gen.jsonl").write_text(text, encoding="utf-8")
    lean, full = _lean_and_full(run, monkeypatch, tmp_path, "gen.jsonl", "--format", "llmaudit")
    assert lean == full


def test_a_line_the_lean_path_cannot_decode_is_read_by_the_full_path(tmp_path):
    """A first line with a byte-order mark, invalid UTF-8, a lone surrogate, NaN: msgspec
    refuses them; the full path reads or rejects each as it always did."""
    path = tmp_path / "odd.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"ts": "2026-10-01T00:00:00Z", "model": "gpt-4o"}\n'
        b'{"ts": "2026-10-01T00:00:01Z", "model": "gpt-4o", "user": "\xff"}\n'
        b'{"ts": "2026-10-01T00:00:02Z", "model": "gpt-4o", "user": "\\ud800"}\n'
        b'{"ts": "2026-10-01T00:00:03Z", "model": "gpt-4o", "latency_ms": NaN}\n'
        b'{"ts": "2026-10-01T00:00:04Z", "model": "gpt-4o"}\n'
    )
    items = list(LlmauditJsonl().items(InputFile.from_path(path), Options(), LABELS))
    kinds = [type(item).__name__ for item in items]
    assert kinds == ["UsageRecord", "Reject", "Reject", "Reject", "Prepared"]
    assert items[1].reason == "line is not valid UTF-8"
    assert items[2].field == "user"
    assert items[3].field == "latency_ms"


# -- the decoder ------------------------------------------------------------------------------

_NUMBER = st.one_of(
    st.integers(-(10**45), 10**45).map(str),
    st.builds(
        "{}.{}e{}".format, st.integers(-(10**6), 10**6), st.integers(0, 99), st.integers(-450, 60)
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),  # 1e-05, 1e+16, -0.0
    st.sampled_from(["NaN", "Infinity", "-Infinity", "0e-999", "1E400", "-0", "5e" + "9" * 30]),
)
_STRING = st.one_of(
    st.text().map(json.dumps), st.text().map(lambda t: json.dumps(t, ensure_ascii=False))
)
_JSON_TEXT = st.recursive(
    st.one_of(st.sampled_from(["null", "true", "false"]), _NUMBER, _STRING),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(_STRING, inner), max_size=4).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        ),
    ),
    max_leaves=12,
)


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(text=_JSON_TEXT)
def test_the_lean_decoder_gives_the_standard_decoders_object_or_nothing(text):
    """plain_loads gives exactly what the full path's decoder gives (floats as the same
    Decimals, integers, strings, nesting), or None; and None wherever that decoder refuses
    the line (an integer of more than 40 digits, a number beyond its range)."""
    from llmaudit.sources.lean import plain_loads

    got = plain_loads(text.encode("utf-8", "surrogatepass"))
    try:
        expected = loads(text)
    except ValueError:
        assert got is None, text
        return
    if got is not None:
        assert repr(got) == repr(expected), text  # repr: the same types, to the digit


def test_the_lean_decoder_reads_the_common_line():
    """So the property above compares something: a plain line, floats and all, is decoded."""
    from llmaudit.sources.lean import plain_loads

    text = (
        '{"a": [1, -2.50, 1e-7, "x\u00e9"], "b": {"c": null, "d": true}, "e": 12345678901234567890}'
    )
    assert repr(plain_loads(text.encode())) == repr(loads(text))
    assert plain_loads(text.encode())["a"][1] == Decimal("-2.50")


# -- Claude Code ------------------------------------------------------------------------------


def _cc_full(line: str) -> Prepared | None:
    from llmaudit.sources.claude_code import _record

    try:
        rec = _record(loads(line), WHERE)
        check_plausible(rec)
    except (*LINE_ERRORS, ValueError):
        return None
    return prepare(LABELS(rec))


def _cc_lean(line: str) -> Prepared | None:
    from llmaudit.sources.claude_code import _billable
    from llmaudit.sources.claude_code import lean_row as cc_lean_row
    from llmaudit.sources.lean import plain_loads

    obj = plain_loads(line.encode("utf-8", "surrogatepass"))
    if type(obj) is not dict or not _billable(obj):
        return None
    return cc_lean_row(obj, WHERE, LABELS)


_CC_USAGE = st.fixed_dictionaries(
    {"input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(0, 10**5)},
    optional={
        "cache_creation_input_tokens": st.integers(0, 10**6),
        "cache_read_input_tokens": st.integers(0, 10**6),
        "cache_creation": st.fixed_dictionaries(
            {
                "ephemeral_5m_input_tokens": st.integers(0, 10**6),
                "ephemeral_1h_input_tokens": st.integers(0, 10**6),
            }
        ),
        "output_tokens_details": st.fixed_dictionaries({"thinking_tokens": st.integers(0, 10**5)}),
        "service_tier": st.sampled_from(["standard", "priority", "batch", None]),
    },
)
_CC_GOOD = {
    "timestamp": _CANON_TS,
    "message": st.fixed_dictionaries(
        {
            "model": st.sampled_from(["claude-sonnet-4-5-20250929", " claude-opus-4-1 ", "x"]),
            "usage": _CC_USAGE,
        },
        optional={"id": st.one_of(st.none(), _NAME), "type": st.just("message")},
    ),
    "requestId": st.one_of(st.none(), _NAME),
    "sessionId": st.one_of(st.none(), _NAME),
    "cwd": st.one_of(st.none(), st.sampled_from(["/home/dev/app", "/", "rel/dir", " "])),
    "gitBranch": st.one_of(st.none(), _NAME),
    "version": st.one_of(st.none(), st.sampled_from(["2.0.14", "1.0.3"])),
    "isSidechain": st.one_of(st.booleans(), st.none()),
    "costUSD": st.one_of(
        st.none(),
        st.integers(0, 3),
        st.sampled_from(["0.0125", "1e-3"]),
        st.floats(min_value=1e-6, max_value=10),
    ),
    "durationMs": st.one_of(st.none(), st.integers(-5, 10**10), st.floats(0.5, 1e4), st.booleans()),
    "uuid": _NAME,
}
_CC_EDGE = st.one_of(
    st.sampled_from([0.0, 1.5, 2**64, -1, True, "", " ", "zoë", [], {}, "2026-10-01T00:00:00"]),
    st.floats(),
    st.text(max_size=4),
)


def _cc_object(edge: bool):
    base = st.fixed_dictionaries(
        {"type": st.just("assistant"), "timestamp": _CC_GOOD["timestamp"]},
        optional={k: v for k, v in _CC_GOOD.items() if k != "timestamp"},
    ).map(lambda o: {**o, "message": o.get("message") or {"model": "m", "usage": {}}})
    if not edge:
        return base

    def spoil(obj):
        paths = [(k,) for k in obj] + [("message", k) for k in obj["message"]]
        paths += [("message", "usage", k) for k in obj["message"].get("usage", {})]
        return st.tuples(st.sampled_from(paths), _CC_EDGE).map(lambda pv: _set(obj, *pv))

    return base.flatmap(spoil)


def _set(obj, path, value):
    out = json.loads(json.dumps(obj))
    where = out
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    return out


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(obj=st.one_of(_cc_object(False), _cc_object(True)))
def test_any_claude_code_line_the_lean_path_takes_gives_the_full_paths_row(obj):
    from llmaudit.sources.claude_code import _mark, lean_row_and_mark
    from llmaudit.sources.lean import plain_loads

    line = json.dumps(obj)
    row = _cc_lean(line)
    if row is not None:
        assert row == _cc_full(line), line
        decoded = plain_loads(line.encode("utf-8", "surrogatepass"))
        assert lean_row_and_mark(decoded, WHERE, LABELS) == (row, _mark(decoded)), line


_SPLIT = "cache_creation"


@pytest.mark.parametrize(
    ("usage", "plain"),
    [
        # as Claude Code writes them: taken as they are
        (
            {
                "input_tokens": 4,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 9,
                _SPLIT: {"ephemeral_5m_input_tokens": 20, "ephemeral_1h_input_tokens": 10},
                "output_tokens": 7,
            },
            (4, 9, 20, 10, 7, 0),
        ),
        (
            {
                "input_tokens": 4,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 9,
                "output_tokens": 7,
            },
            (4, 9, 30, 0, 7, 0),
        ),
        (
            {
                "input_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                _SPLIT: {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "output_tokens": 0,
                "output_tokens_details": None,
            },
            (0, 0, 0, 0, 0, 0),
        ),
        (
            {
                "input_tokens": 1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 10**12,
            },
            (1, 0, 0, 0, 10**12, 0),
        ),
        # anything else is providers.anthropic's to read (or refuse)
        ({"input_tokens": 4, "output_tokens": 7}, None),  # absent counts
        (
            {
                "input_tokens": 4,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 9,
                _SPLIT: {"ephemeral_5m_input_tokens": 25, "ephemeral_1h_input_tokens": 10},
                "output_tokens": 7,
            },
            None,
        ),  # a split that is not the total's
        (
            {
                "input_tokens": 4,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 9,
                _SPLIT: {"ephemeral_5m_input_tokens": 30},
                "output_tokens": 7,
            },
            None,
        ),
        (
            {
                "input_tokens": True,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 7,
            },
            None,
        ),
        (
            {
                "input_tokens": -1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 7,
            },
            None,
        ),
        (
            {
                "input_tokens": 1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 10**12 + 1,
            },
            None,
        ),
        (
            {
                "input_tokens": 1,
                "cache_creation_input_tokens": 2,
                "cache_read_input_tokens": 0,
                _SPLIT: {"ephemeral_5m_input_tokens": -1, "ephemeral_1h_input_tokens": 3},
                "output_tokens": 7,
            },
            None,
        ),
        (
            {
                "input_tokens": 1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 7,
                "output_tokens_details": {"thinking_tokens": 5},
            },
            None,
        ),
        (
            {
                "input_tokens": 1,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 7,
                "output_tokens_details": "x",
            },
            None,
        ),
        (
            {
                "input_tokens": "4",
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 7,
            },
            None,
        ),
    ],
)
def test_plain_anthropic_counts_are_read_as_the_provider_reads_them(usage, plain):
    """The lean path reads a Claude Code line's counts without count() when each is a plain
    int in bounds: the same Tokens as providers.anthropic, or None and it asks that."""
    from llmaudit.model.values import MAX_COUNT
    from llmaudit.sources import providers
    from llmaudit.sources.claude_code import _plain_tokens

    assert MAX_COUNT == 10**12  # (the bounds above)
    got = _plain_tokens(usage)
    assert got == plain
    if got is not None:
        assert got == providers.anthropic(usage)


@pytest.mark.parametrize(
    ("count", "output"), [("2.0000000000000001", None), ("1e2", 100), ("3.0", 3)]
)
def test_a_float_token_count_in_claude_code_is_read_as_the_full_path_reads_it(count, output):
    """Both paths read a float literal as the same exact Decimal: 2.0000000000000001 is no
    integer (the line is the full path's, which rejects it), 1e2 and 3.0 are counts."""
    line = (
        '{"type": "assistant", "timestamp": "2026-10-01T00:00:00Z", "message": {"model": "m", '
        f'"usage": {{"input_tokens": 1, "output_tokens": {count}}}}}}}'
    )
    row = _cc_lean(line)
    assert row == _cc_full(line)
    assert (row and row.output) == output


def test_a_claude_code_line_takes_the_lean_path_with_its_values_worked_out():
    line = (DATA / "logs" / "claude_code_session.jsonl").read_text().splitlines()[2]
    row = _cc_lean(line)
    assert row is not None and row == _cc_full(line)
    assert row.key == "claude-code:msg_01VCMSqhZxoZQ6nqWGcA5Myd:req_011CSxG7m2Qk4TLb8YhW3nPd"
    assert row.ident[:12] == (
        "2026-08-18T09:14:04.871000Z",
        None,
        "anthropic",
        "claude-sonnet-4-5-20250929",
        1,
        4,
        11874,
        6233,
        0,
        1,
        0,
        "standard",
    )
    assert row.ident[17] == "billing-api"  # the project: the working folder's name
    assert row.ident[19] == "3f6e2a91-7c4d-4b8e-9a12-5d0f8c6b2e71"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    objs=st.lists(
        st.one_of(
            _cc_object(False),
            _cc_object(True),
            st.just({"type": "user", "sessionId": "s", "uuid": "u", "message": {}}),
            st.just({"type": "summary", "summary": "x", "n": 0.0}),  # 1e-500 below
        ),
        max_size=25,
    ),
    ids=st.lists(st.sampled_from(["m1", "m2", "m3"]), min_size=25, max_size=25),
)
def test_generated_claude_code_transcripts_give_the_same_ledger(
    run, monkeypatch, tmp_path, objs, ids
):
    """Streamed repeats of a message (the same id, more output), sidechain replays of it
    (another request id), bad values and skipped lines, through the parsing process."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 4)
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "always")
    _fresh(tmp_path)
    lines = []
    for obj, msg_id in zip(objs, ids, strict=False):
        if obj.get("type") == "assistant" and isinstance(obj.get("message"), dict):
            obj = {**obj, "message": {**obj["message"], "id": msg_id}}
        lines.append(json.dumps(obj))
    text = "".join(line + "\n" for line in lines)
    text = text.replace('"n": 0.0', '"n": 1e-500')  # refused by the full path's decoder
    (tmp_path / "t.jsonl").write_text(text, encoding="utf-8")
    lean, full = _lean_and_full(run, monkeypatch, tmp_path, "t.jsonl", "--format", "claude-code")
    assert lean == full


# -- middleware logs ----------------------------------------------------------------------------

_MW_LINE = st.fixed_dictionaries(
    {
        "logged_at": st.one_of(_CANON_TS, st.integers(0, 2 * 10**9), st.just("2026-10-01")),
        "response": st.one_of(
            st.fixed_dictionaries(
                {
                    "id": st.one_of(_NAME, st.none()),
                    "object": st.just("chat.completion"),
                    "model": st.one_of(st.sampled_from(["gpt-4o", ""]), _NAME),
                    "usage": st.fixed_dictionaries(
                        {
                            "prompt_tokens": _COUNT_EDGE | st.integers(0, 10**6),
                            "completion_tokens": st.integers(0, 10**5),
                        },
                        optional={
                            "prompt_tokens_details": st.fixed_dictionaries(
                                {"cached_tokens": st.integers(0, 10**6)}
                            )
                        },
                    ),
                },
                optional={"service_tier": st.sampled_from(["default", "flex", "scale", 3])},
            ),
            st.fixed_dictionaries(
                {
                    "id": _NAME,
                    "type": st.just("message"),
                    "model": st.sampled_from(["claude-haiku-4-5", "claude-sonnet-4-5"]),
                    "usage": _CC_USAGE,
                }
            ),
        ),
    },
    optional={
        "latency_ms": _MS_GOOD | _MS_EDGE,
        "attrs": st.dictionaries(
            st.sampled_from(["user", "feature", "tenant", "team_id", "env", "x"]),
            _TEXT_EDGE | _NAME,
            max_size=4,
        ),
        "provider": st.sampled_from(["openai", "azure", "bedrock", "", "unknown"]),
        "user": _NAME,
        "custom_id": _NAME,
    },
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(objs=st.lists(_MW_LINE, max_size=25))
def test_generated_middleware_logs_give_the_same_ledger(run, monkeypatch, tmp_path, objs):
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 4)
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "always")
    _fresh(tmp_path)
    text = "".join(json.dumps(obj) + "\n" for obj in objs)
    (tmp_path / "m.jsonl").write_text(text, encoding="utf-8")
    lean, full = _lean_and_full(run, monkeypatch, tmp_path, "m.jsonl", "--format", "middleware")
    assert lean == full


@pytest.mark.parametrize(
    "name",
    [
        "middleware_openai_chat.jsonl",
        "middleware_anthropic.jsonl",
        "middleware_openai_responses.jsonl",
        "gemini_usage.jsonl",
    ],
)
def test_the_middleware_fixtures_take_the_lean_path(name):
    """So the comparisons of whole ledgers compare something: each fixture's lines, in each
    of the four shapes, take the lean path."""
    from llmaudit.sources.middleware import Middleware

    path = DATA / "logs" / name
    items = list(Middleware().items(InputFile.from_path(path), Options(), LABELS))
    assert len(items) >= 2 and all(type(item) is Prepared for item in items)


# -- middleware logs, one line at a time ------------------------------------------------------


def _mw_full(line: str) -> Prepared | None:
    from llmaudit.sources.middleware import KIND, find_response, response_record

    try:
        resp, envelope = find_response(loads(line))
    except ValueError:  # invalid JSON to the full path: a reject
        return None
    if resp is None:
        return None
    try:
        rec = response_record(resp, envelope, kind=KIND, location=WHERE)
        check_plausible(rec)
    except (*LINE_ERRORS, ValueError):
        return None
    return prepare(LABELS(rec))


def _mw_lean(line: str) -> Prepared | None:
    from llmaudit.sources.lean import plain_loads
    from llmaudit.sources.middleware import lean_row as mw_lean_row

    obj = plain_loads(line.encode("utf-8", "surrogatepass"))
    return mw_lean_row(obj, WHERE, LABELS) if type(obj) is dict else None


# a total, and a part of one (cache reads, reasoning): mostly plain, at times at the edges
_MW_COUNT = st.one_of(
    st.integers(1000, 10**6),
    st.integers(1000, 10**6),
    st.none(),
    st.integers(10**12 - 5, 10**12 + 5),
)
_MW_PART = st.one_of(
    st.integers(0, 1000),
    st.integers(0, 1000),
    st.none(),
    st.integers(10**12 - 5, 10**12 + 5),
    st.sampled_from([2.0, 1.5]),
)
_MW_TIME = st.one_of(
    _CANON_TS,
    st.integers(0, 2 * 10**9),
    st.sampled_from(["2026-10-01", "2026-10-01T00:00:00+02:00", "1727000000", "", -1]),
    st.sampled_from([10**10, 2**62, 4_200_000_000]),  # ms; a count no clock gives; 2103
)
_MW_ID = st.one_of(st.none(), _NAME, st.sampled_from(["", " r ", 17, "zoë", {}]))
_MW_RESPONSES = {
    "openai-chat": st.fixed_dictionaries(
        {
            "object": st.just("chat.completion"),
            "model": st.one_of(st.sampled_from(["gpt-4o", "", " o3 "]), _NAME),
            "usage": st.fixed_dictionaries(
                {"prompt_tokens": _MW_COUNT},
                optional={
                    "completion_tokens": _MW_COUNT,
                    "prompt_tokens_details": st.one_of(
                        st.none(),
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "cached_tokens": _MW_PART,
                                "cache_write_tokens": _MW_PART,
                            },
                        ),
                    ),
                    "completion_tokens_details": st.fixed_dictionaries(
                        {"reasoning_tokens": _MW_PART}
                    ),
                },
            ),
        },
        optional={
            "id": _MW_ID,
            "created": st.one_of(_MW_TIME, st.floats(0, 2e9)),
            "temperature": st.floats(0, 2),
            "service_tier": st.sampled_from(["default", "flex", "scale", "priority", 3, None]),
            "status": st.sampled_from(["failed", "Cancelled", "completed", None]),
        },
    ),
    "openai-responses": st.fixed_dictionaries(
        {
            "object": st.just("response"),
            "model": st.sampled_from(["gpt-5", "o3"]),
            "usage": st.fixed_dictionaries(
                {"input_tokens": _MW_COUNT, "output_tokens": _MW_COUNT},
                optional={
                    "input_tokens_details": st.fixed_dictionaries({"cached_tokens": _MW_PART}),
                    "output_tokens_details": st.fixed_dictionaries({"reasoning_tokens": _MW_PART}),
                },
            ),
        },
        optional={
            "id": _MW_ID,
            "metadata": st.one_of(
                st.just({}),
                st.dictionaries(
                    st.sampled_from(["user_id", "feature", "x"]),
                    _NAME | st.floats(-1, 1e-3),
                    max_size=2,
                ),
            ),
            "temperature": st.floats(0, 2),
            "top_p": st.just(1.0),
            "created_at": st.one_of(_MW_TIME, st.floats(1e9, 2e9)),
            "user": st.one_of(st.none(), _NAME),
            "status": st.sampled_from(["completed", "failed"]),
        },
    ),
    "anthropic": st.fixed_dictionaries(
        {
            "type": st.just("message"),
            "usage": _CC_USAGE,
            "model": st.sampled_from(["claude-haiku-4-5", "claude-sonnet-4-5"]),
        },
        optional={"id": _MW_ID},
    ),
    "gemini": st.tuples(
        st.sampled_from(["usageMetadata", "usage_metadata"]),
        st.fixed_dictionaries(
            {},
            optional={
                "promptTokenCount": _MW_COUNT,
                "prompt_token_count": _MW_COUNT,
                "cachedContentTokenCount": _MW_PART,
                "candidatesTokenCount": _MW_COUNT,
                "thoughtsTokenCount": _MW_PART,
                "toolUsePromptTokenCount": _MW_PART,
            },
        ),
        st.fixed_dictionaries(
            {"modelVersion": st.sampled_from(["gemini-2.5-pro", "", "gemini-2.5-flash-001"])},
            optional={
                "model_version": st.just("gemini-2.0-flash"),
                "responseId": _MW_ID,
                "createTime": _MW_TIME,
            },
        ),
    ).map(lambda t: {t[0]: t[1], **t[2]}),
}
# Envelopes as the lean path takes them, and the same with one key set to an edge.
_MW_ENVELOPE_GOOD = st.fixed_dictionaries(
    {"logged_at": st.one_of(_CANON_TS, st.integers(0, 2 * 10**9))},
    optional={
        "latency_ms": st.one_of(st.integers(0, 10**6), st.floats(1e-3, 1e6)),
        "duration_ms": st.integers(0, 10**4),
        "ttft_ms": st.one_of(st.none(), st.integers(0, 10**4), st.floats(1, 1e4)),
        "attrs": st.dictionaries(
            st.sampled_from(["user", "user_id", "feature", "tenant", "team_id", "env", "x"]),
            _NAME,
            max_size=4,
        ),
        "metadata": st.dictionaries(st.sampled_from(["user", "project", "y"]), _NAME, max_size=2),
        "provider": st.sampled_from(["openai", "Azure", "vertex_ai", "unknown", " groq "]),
        "model": st.just("gpt-4o-mini"),
        "user": _NAME,
        "api_key": st.sampled_from(["sk-abcdefghijklmnopqrstuvwxyz012345", "key-1"]),
        "session_id": _NAME,
        "custom_id": st.one_of(_NAME, st.integers(0, 9)),
        "http_request_id": st.none(),
    },
)
_MW_ENVELOPE_EDGE = {
    "logged_at": _MW_TIME,
    "timestamp": _MW_TIME,
    "latency_ms": st.one_of(
        st.integers(-5, 10**9 + 5),
        st.sampled_from(["5", True, None, 10**9, 10**9 + 1, 1e9 + 0.5, 123.456789012345678]),
        _MS_EDGE,
        st.floats(-1e3, 2e9),
    ),
    "duration_ms": st.floats(1e-6, 1e4),
    "ttft_ms": st.one_of(st.integers(-1, 10**4), st.floats(-1, 1e4)),
    "sampled": st.one_of(st.floats(), st.lists(st.floats(), max_size=2)),
    "created_s": st.floats(0, 2e9),
    "attrs": st.dictionaries(
        st.sampled_from(["user", "user_id", "feature", "tenant", "team_id", "env", "x", ""]),
        _TEXT_EDGE | _NAME,
        min_size=1,
        max_size=4,
    ),
    "metadata": st.just("not a dict"),
    "provider": st.sampled_from(["", 5, "zoë"]),
    "model": _TEXT_EDGE,
    "user": _TEXT_EDGE,
    "custom_id": _TEXT_EDGE,
}
_MW_ENVELOPE = st.one_of(
    _MW_ENVELOPE_GOOD,
    _MW_ENVELOPE_GOOD.flatmap(
        lambda env: st.sampled_from(sorted(_MW_ENVELOPE_EDGE)).flatmap(
            lambda key: _MW_ENVELOPE_EDGE[key].map(lambda value: {**env, key: value})
        )
    ),
)
_MW_OBJECT = st.tuples(
    st.sampled_from(sorted(_MW_RESPONSES)).flatmap(_MW_RESPONSES.__getitem__),
    _MW_ENVELOPE,
    st.sampled_from(["response", "body", "data", None]),
).map(lambda t: {**t[1], t[2]: t[0]} if t[2] else {**t[1], **t[0]})


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(obj=_MW_OBJECT)
def test_any_middleware_line_the_lean_path_takes_gives_the_full_paths_row(obj):
    line = json.dumps(obj)
    row = _mw_lean(line)
    if row is not None:
        assert row == _mw_full(line), line


def _no_stray_floats(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("sampled", "created_s", "temperature")}


def test_the_middleware_lean_path_takes_lines_of_each_shape():
    """So the property above compares something: generated lines take the lean path, in
    each of the four shapes."""
    from hypothesis import find

    for form in ("openai-chat", "openai-responses", "anthropic", "gemini"):
        obj = find(
            st.tuples(_MW_RESPONSES[form], _MW_ENVELOPE).map(
                lambda t: {**_no_stray_floats(t[1]), "body": _no_stray_floats(t[0])}
            ),
            lambda o: _mw_lean(json.dumps(o)) is not None and bool(o.get("attrs")),
            settings=settings(database=None, max_examples=2000),
        )
        assert _mw_lean(json.dumps(obj)) == _mw_full(json.dumps(obj))


def test_a_middleware_line_takes_the_lean_path_with_its_values_worked_out():
    line = json.dumps(
        {
            "logged_at": "2026-10-01T00:00:13Z",
            "latency_ms": 7304,
            "provider": "azure",
            "user": "envelope-user",
            "attrs": {"user_id": "u-23", "user": "u-1", "tenant": "acme", "plan": 3},
            "custom_id": "batch-1",
            "response": {
                "id": "chatcmpl-9",
                "object": "chat.completion",
                "created": 1727740800,
                "model": "gpt-4o",
                "service_tier": "scale",
                "usage": {
                    "prompt_tokens": 19146,
                    "completion_tokens": 440,
                    "prompt_tokens_details": {"cached_tokens": 950},
                    "completion_tokens_details": {"reasoning_tokens": 40},
                },
            },
        }
    )
    row = _mw_lean(line)
    assert row is not None and row == _mw_full(line)
    assert row.key == "rid:chatcmpl-9"
    # the response's own time wins over the envelope's; 1727740800 is 2024-10-01 00:00 UTC
    assert row.ident[:13] == (
        "2024-10-01T00:00:00.000000Z",
        None,
        "azure",
        "gpt-4o",
        1,
        19146 - 950,
        950,
        0,
        0,
        440,
        40,
        "priority",
        "ok",
    )
    # attrs' "user" outranks its "user_id", and both the envelope's own "user"
    assert row.ident[13] == "u-1"
    assert row.ident[16] == "acme"  # the customer: attrs' tenant
    assert row.ident[21] == '{"custom_id": "batch-1", "plan": "3"}'
    assert row.ident[22:25] == (7304.0, None, "chatcmpl-9")


def test_middleware_floats_are_read_as_the_full_path_reads_them():
    """Both paths read a float literal as the same exact Decimal: a float latency, a float
    the full path never reads (an OpenAI Responses object's temperature, a Gemini candidate's
    avgLogprobs), a float tag's text and a float time all give the full path's row."""
    base = {
        "logged_at": "2026-10-01T00:00:13Z",
        "latency_ms": 812.25,
        "response": {
            "id": "resp_1",
            "object": "response",
            "created_at": 1727740813,
            "model": "gpt-5",
            "temperature": 1.0,
            "top_p": 1.0,
            "usage": {"input_tokens": 10, "output_tokens": 2},
        },
    }
    gemini = {
        "logged_at": "2026-10-01T00:00:13Z",
        "body": {
            "candidates": [{"avgLogprobs": -0.0421, "finishReason": "STOP"}],
            "modelVersion": "gemini-2.5-flash",
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2},
        },
    }
    whole = {  # the response is the whole line: no envelope, so no latency read
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1727740813,
        "model": "gpt-4o",
        "usage": {"prompt_tokens": 10, "completion_tokens": 2},
        "latency_ms": 812.25,
    }
    rows = [_mw_lean(json.dumps(obj)) for obj in (base, gemini, whole)]
    assert all(row is not None for row in rows)
    assert rows == [_mw_full(json.dumps(obj)) for obj in (base, gemini, whole)]
    assert [row.ident[22] for row in rows] == [812.25, None, None]
    # the response's created_at (1727740813: 2024-10-01 00:00:13 UTC) wins over logged_at
    assert rows[0].ident[:4] == ("2024-10-01T00:00:13.000000Z", None, "openai", "gpt-5")
    tagged = {**base, "attrs": {"weight": 0.5}}
    row = _mw_lean(json.dumps(tagged))
    assert row == _mw_full(json.dumps(tagged))
    assert row.ident[21] == '{"weight": "0.5"}'
    for other in (  # a float time: the full path's to read (the lean path reads whole seconds)
        {**base, "response": {**base["response"], "created_at": 1727740813.5}},
        {**gemini, "logged_at": 1727740813.5},
    ):
        assert _mw_lean(json.dumps(other)) is None
        assert _mw_full(json.dumps(other)) is not None


@pytest.mark.parametrize(
    ("count", "output"), [("2.0000000000000001", None), ("1e2", 100), ("3.0", 3)]
)
def test_a_float_token_count_in_a_middleware_line_is_read_as_the_full_path_reads_it(count, output):
    """2.0000000000000001 is no integer on either path (the full path rejects it); 1e2 and
    3.0 are counts on both."""
    line = (
        '{"logged_at": "2026-10-01T00:00:00Z", "response": {"id": "chatcmpl-1", "model": '
        f'"gpt-4o", "usage": {{"prompt_tokens": 10, "completion_tokens": {count}}}}}}}'
    )
    row = _mw_lean(line)
    assert row == _mw_full(line)
    assert (row and row.output) == output


@pytest.mark.parametrize("fmt", ["middleware", "claude-code"])
def test_a_line_with_an_integer_the_full_path_refuses_is_left_to_it(fmt):
    """msgspec reads an integer of any length; the standard decoder refuses one of more than
    40 digits, anywhere in the line (the line is rejected as invalid JSON)."""
    from llmaudit.sources.lean import plain_loads

    if fmt == "middleware":
        line = (
            '{"logged_at": "2026-10-01T00:00:00Z", "n": %s, "response": {"id": "c", "object": '
            '"chat.completion", "model": "gpt-4o", "usage": {"prompt_tokens": 5, '
            '"completion_tokens": 1}}}'
        )
        lean, full = _mw_lean, _mw_full
    else:
        line = (
            '{"type": "assistant", "timestamp": "2026-10-01T00:00:00Z", "n": %s, "message": '
            '{"id": "m", "model": "claude-haiku-4-5", "usage": {"input_tokens": 5, '
            '"output_tokens": 1}}}'
        )
        lean, full = _cc_lean, _cc_full
    forty, more = "9" * 40, "-" + "1" * 41
    assert lean(line % forty) == full(line % forty) is not None
    assert plain_loads((line % more).encode()) is None
    assert full(line % more) is None
    with pytest.raises(ValueError, match="out of range"):
        loads(line % more)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("fmt", ["middleware", "claude-code"])
def test_a_deeply_nested_line_is_read_as_the_full_path_reads_it(run, monkeypatch, tmp_path, fmt):
    """How deep msgspec and the standard decoder read depends on the stack they are called
    on: a line nested more than MAX_DEPTH levels takes the full path, which rejects the
    deepest as invalid JSON, and the lines after it are read all the same."""
    from llmaudit.sources.lean import MAX_DEPTH, plain_loads

    if fmt == "middleware":
        template = (
            '{"logged_at": "2026-10-01T00:00:0%dZ", "response": {"id": "c%d", "object": '
            '"chat.completion", "model": "gpt-4o", "extra": %s, '
            '"usage": {"prompt_tokens": 5, "completion_tokens": 1}}}'
        )
    else:
        template = (
            '{"type": "assistant", "timestamp": "2026-10-01T00:00:0%dZ", "requestId": "r%d", '
            '"message": {"id": "m", "model": "claude-haiku-4-5", "content": %s, '
            '"usage": {"input_tokens": 5, "output_tokens": 1}}}'
        )
    lines = [template % (n, n, _nested(depth)) for n, depth in enumerate((1020, 150, 2))]
    assert [plain_loads(line.encode()) is None for line in lines] == [True, True, False]
    assert MAX_DEPTH < 150
    (tmp_path / "deep.jsonl").write_text("".join(line + "\n" for line in lines))
    lean, full = _lean_and_full(run, monkeypatch, tmp_path, "deep.jsonl", "--format", fmt)
    assert lean == full
    assert lean[0] == 3  # a rejected line
    assert len(lean[3]["records"]) == 2
    assert [r[1:3] for r in lean[3]["rejects"]] == [("deep.jsonl", 1)]


def test_a_lean_path_that_raises_leaves_the_line_to_the_full_path(monkeypatch):
    """Whatever a lean path did not foresee, the line is read (or rejected) by the full path,
    and the lines after it are read as usual."""
    import llmaudit.sources.middleware as mw

    path = DATA / "logs" / "middleware_openai_chat.jsonl"
    calls = []

    def unforeseen(*args):
        calls.append(args[1])
        raise ValueError("unforeseen")

    monkeypatch.setattr(mw, "lean_row", unforeseen)
    items = list(mw.Middleware().items(InputFile.from_path(path), Options(), LABELS))
    assert len(calls) == 3
    assert [type(item).__name__ for item in items] == ["UsageRecord"] * 3
    monkeypatch.undo()
    lean = list(mw.Middleware().items(InputFile.from_path(path), Options(), LABELS))
    assert lean == [prepare(LABELS(item)) for item in items]
