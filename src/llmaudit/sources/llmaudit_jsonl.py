"""llmaudit JSONL, the interchange format (see docs/format.md).

Token fields follow the OpenTelemetry GenAI convention: ``input_tokens`` counts all input
(cache reads and writes included) and the cache fields say how much of it was cache traffic;
``output_tokens`` counts all output and ``reasoning_tokens`` how much of it was reasoning.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.ledger.writes import Prepared
from llmaudit.model.interchange import ATTRIBUTION_KEYS, EXPORT_FIELDS, FIELDS, TOKEN_KEYS
from llmaudit.model.record import STATUSES, UsageRecord, tags_text
from llmaudit.model.reject import Reject
from llmaudit.model.values import (
    MAX_COUNT,
    MAX_DURATION_MS,
    MAX_REQUESTS,
    MAX_TEXT,
    SERVICE_TIERS,
    infer_provider,
    normalize_service_tier,
    parse_ts,
    redact_api_key,
    to_decimal,
    to_int,
    to_str,
)
from llmaudit.sources.base import InputFile, Item, Labels, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    json_lines,
    line_error,
    line_reject,
    loads,
)
from llmaudit.sources.lean import (
    INT_LIMIT,
    canonical_ts,
    cost_text,
    decode,
    lean_lines,
    lean_prepared,
)

KIND = "llmaudit"
_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]+:\S{1,1024}$")
_KNOWN = frozenset(FIELDS) | frozenset(EXPORT_FIELDS)


def record_from_object(obj: Any, source_location: str | None = None) -> UsageRecord:
    """One interchange object -> a record; :class:`RecordError` names the field that is wrong."""
    if not isinstance(obj, dict):
        raise RecordError(f"expected a JSON object, got {type(obj).__name__}")
    if not _KNOWN.issuperset(obj):
        key = next(k for k in obj if k not in _KNOWN)
        close = difflib.get_close_matches(key, FIELDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise RecordError(f"unknown field{hint}", field=key)
    if obj.get("ts") is None:
        raise RecordError("is missing", field="ts")
    ts = parse_ts(obj["ts"], "ts")
    ts_end = parse_ts(obj["ts_end"], "ts_end") if obj.get("ts_end") is not None else None
    model = to_str(obj.get("model"), "model")
    if not model:
        raise RecordError("is missing", field="model")
    provider = to_str(obj.get("provider"), "provider") or infer_provider(model)

    tokens = {k: _count(obj.get(k), k) for k in TOKEN_KEYS}
    cache = tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
    if cache > tokens["input_tokens"]:
        raise RecordError(
            f"cache_read_tokens + cache_write_tokens ({cache}) exceed input_tokens "
            f"({tokens['input_tokens']}); input_tokens must include cache tokens",
            field="input_tokens",
        )
    if tokens["cache_write_1h_tokens"] > tokens["cache_write_tokens"]:
        raise RecordError(
            f"({tokens['cache_write_1h_tokens']}) exceeds cache_write_tokens "
            f"({tokens['cache_write_tokens']}); it is the 1-hour part of the writes",
            field="cache_write_1h_tokens",
        )
    if tokens["reasoning_tokens"] > tokens["output_tokens"]:
        raise RecordError(
            f"({tokens['reasoning_tokens']}) exceeds output_tokens ({tokens['output_tokens']}); "
            "output_tokens must include reasoning",
            field="reasoning_tokens",
        )

    status = obj.get("status") or "ok"
    if status not in STATUSES:
        raise RecordError(f"must be one of {', '.join(STATUSES)}, got {status!r}", field="status")
    tags_obj = obj.get("tags") or {}
    if not isinstance(tags_obj, dict):
        raise RecordError("must be an object of name: value", field="tags")
    tags: dict[str, str] = {}
    for name, value in tags_obj.items():
        if isinstance(value, bool):
            tags[name] = "true" if value else "false"
        elif isinstance(value, (str, int, Decimal, float)):
            tags[name] = str(value)
        elif value is not None:
            raise RecordError(f"tag {name!r} must be a string or number", field="tags")

    attribution = {k: _text(obj.get(k), k) for k in ATTRIBUTION_KEYS}
    attribution["api_key"] = redact_api_key(attribution["api_key"])
    request_id = to_str(obj.get("request_id"), "request_id")
    key = obj.get("record_key")
    if key is not None and (not isinstance(key, str) or not _KEY_RE.match(key)):
        raise RecordError(
            "must be a ledger key such as 'claude-code:msg_01...'", field="record_key"
        )
    cost = obj.get("reported_cost_usd")
    return UsageRecord(
        ts=ts,
        ts_end=ts_end,
        provider=provider,
        model=model,
        requests=to_int(obj["requests"], "requests") if obj.get("requests") is not None else 1,
        input_uncached=tokens["input_tokens"] - cache,
        cache_read=tokens["cache_read_tokens"],
        cache_write_5m=tokens["cache_write_tokens"] - tokens["cache_write_1h_tokens"],
        cache_write_1h=tokens["cache_write_1h_tokens"],
        output=tokens["output_tokens"],
        reasoning=tokens["reasoning_tokens"],
        service_tier=normalize_service_tier(obj.get("service_tier")),
        tags=tags,
        latency_ms=_number(obj.get("latency_ms"), "latency_ms"),
        ttft_ms=_number(obj.get("ttft_ms"), "ttft_ms"),
        status=status,
        request_id=request_id,
        reported_cost_usd=to_decimal(cost, "reported_cost_usd") if cost is not None else None,
        source_kind=KIND,
        source_location=source_location,
        source_id=request_id,
        key=key,
        **attribution,
    )


def _count(value: Any, field: str) -> int:
    if type(value) is int and 0 <= value <= MAX_COUNT:  # the common case, checked cheaply
        return value
    return 0 if value is None else to_int(value, field)


def _text(value: Any, field: str) -> str | None:
    if type(value) is str and value and not value[0].isspace():  # the common case
        return value
    return to_str(value, field)


def _number(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise RecordError(f"must be a number, got {value!r}", field=field)
    result = float(value)
    if result < 0 or result != result or result in (float("inf"), float("-inf")):
        raise RecordError(f"must be a non-negative number, got {value}", field=field)
    return result


class LlmauditJsonl(Source):
    name = KIND
    summary = "llmaudit JSONL, the interchange format: one usage record per line (docs/format.md)"
    extensions = (".jsonl", ".ndjson", ".json")

    def sniff(self, head: str) -> bool:
        for line in head.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                return False
            return (
                isinstance(obj, dict)
                and "ts" in obj
                and "model" in obj
                and all(k in FIELDS or k in EXPORT_FIELDS for k in obj)
            )
        return False

    appendable = True
    line_independent = True
    lean_outpaces_writer = True  # 12 us a line parsed, 14 written

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for lineno, raw, obj in json_lines(inp):
            yield _item(inp, lineno, raw, obj)

    def lean(self, inp: InputFile, opts: Options, labels: Labels) -> Iterator[Any] | None:
        if labels.tags:  # --tag labels: the full path applies them
            return None
        return self._lean(inp, labels)

    def _lean(self, inp: InputFile, labels: Labels) -> Iterator[Item | Prepared]:
        def take(data: bytes, where: str) -> Prepared | None:
            obj = decode(data)  # (lean_row checks every integer it meets)
            return lean_row(obj, where, labels) if type(obj) is dict else None

        return lean_lines(inp, take, functools.partial(_item, inp))


def _item(inp: InputFile, lineno: int, raw: str, obj: Any) -> Item:
    if isinstance(obj, Reject):
        return obj
    try:
        return record_from_object(obj, f"{inp.location}:{lineno}")
    except LINE_ERRORS as err:
        return line_reject(err, inp.location, lineno, raw)


# -- the lean path ----------------------------------------------------------------------------
# The common line (canonical UTC times, integer counts, plain ASCII text, string tags, no
# float cost) becomes the row a write needs without a record in between:
# the same key, content hash and identity row that record_from_object and prepare give, at a
# third of the cost. Anything else (any doubt) returns None, and the line takes the full path,
# which also words every reject. tests/sources/test_lean.py holds the two paths to the same
# rows on every fixture and on generated lines.

_FIELD_SET = frozenset(FIELDS)
_PROVIDERS: dict[str, str] = {}  # model -> inferred provider
_ATTRIBUTION_AT = tuple(enumerate(ATTRIBUTION_KEYS))
_API_KEY_AT = ATTRIBUTION_KEYS.index("api_key")


def _lean_text(value: Any) -> Any:
    """Plain text as to_str and the record's checks keep it; False when in doubt."""
    if value is None:
        return None
    if type(value) is not str or not value.isascii() or len(value) > MAX_TEXT:
        return False
    return value if value.strip() else None


def _lean_value(value: Any) -> Any:
    """A scalar as the full path's decoder reads it; False when it may not be (an integer of
    more digits than that decoder reads), or for a list or an object."""
    kind = type(value)
    if kind is int:
        return value if -INT_LIMIT < value < INT_LIMIT else False
    return value if value is None or kind is str or kind is bool or kind is Decimal else False


def _lean_ms(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is int or type(value) is Decimal:
        result = float(value)
    else:
        return False
    return result if 0 <= result <= MAX_DURATION_MS else False


def lean_row(obj: dict[str, Any], location: str, labels: Labels) -> Prepared | None:
    """``prepare(labels(record_from_object(obj, location)))`` for the common line, or None."""
    if not _FIELD_SET.issuperset(obj):
        if not _KNOWN.issuperset(obj):
            return None
        for name in EXPORT_FIELDS:  # ignored, but a number there may be one loads refuses
            if _lean_value(obj.get(name)) is False:
                return None
    cost = cost_text(obj.get("reported_cost_usd"))
    if cost is False:
        return None
    key = obj.get("record_key")  # the record's own, or None: its key is worked out below
    if key is not None and (type(key) is not str or not _KEY_RE.match(key)):
        return None
    ts = canonical_ts(obj.get("ts"))
    if ts is None:
        return None
    end = obj.get("ts_end")
    ts_end = None
    if end is not None:
        ts_end = canonical_ts(end)
        if ts_end is None or ts_end < ts:
            return None
    model = _lean_text(obj.get("model"))
    if not model:
        return None
    provider = _lean_text(obj.get("provider"))
    if provider is False:
        return None
    if provider is None:
        provider = _PROVIDERS.get(model)
        if provider is None:
            provider = infer_provider(model)
            if len(_PROVIDERS) < 10_000:
                _PROVIDERS[model] = provider
        if not provider.strip():  # ("/model"): the full path's reject
            return None
    counts = []
    for field in TOKEN_KEYS:
        value = obj.get(field)
        if value is None:
            value = 0
        elif type(value) is not int or not 0 <= value <= MAX_COUNT:
            return None
        counts.append(value)
    inp, read, write, write_1h, output, reasoning = counts
    if read + write > inp or write_1h > write or reasoning > output:
        return None
    requests = obj.get("requests")
    if requests is None:
        requests = 1
    elif type(requests) is not int or not 0 <= requests <= MAX_REQUESTS:
        return None
    tier = obj.get("service_tier")
    if tier is None or tier == "":
        tier = "standard"
    elif tier not in SERVICE_TIERS:  # any other spelling: normalize_service_tier's job
        return None
    status = obj.get("status") or "ok"
    if status not in STATUSES:
        return None
    tags_obj = obj.get("tags")
    tags = None
    if tags_obj:
        if type(tags_obj) is not dict:
            return None
        if any(type(value) is int for value in tags_obj.values()):
            # a number is kept as its text, as the full path does
            if any(type(v) is int and not -INT_LIMIT < v < INT_LIMIT for v in tags_obj.values()):
                return None
            tags_obj = {k: str(v) if type(v) is int else v for k, v in tags_obj.items()}
        for name, value in tags_obj.items():
            if not (type(value) is str and value.isascii() and len(value) <= MAX_TEXT):
                return None
            if not (name and name.isascii() and len(name) <= MAX_TEXT):
                return None
        tags = tags_text(tags_obj)
    people: list[str | None] = [None] * len(ATTRIBUTION_KEYS)
    for i, name in _ATTRIBUTION_AT:
        value = obj.get(name)
        if value is not None:
            if type(value) is not str or not value.isascii() or len(value) > MAX_TEXT:
                return None
            people[i] = value if value.strip() else None
    if people[_API_KEY_AT] is not None:
        people[_API_KEY_AT] = redact_api_key(people[_API_KEY_AT])
    request_id = _lean_text(obj.get("request_id"))
    latency = _lean_ms(obj.get("latency_ms"))
    ttft = _lean_ms(obj.get("ttft_ms"))
    if request_id is False or latency is False or ttft is False:
        return None
    ident = (
        ts,
        ts_end,
        provider,
        model,
        requests,
        inp - read - write,
        read,
        write - write_1h,
        write_1h,
        output,
        reasoning,
        tier,
        status,
        *people,
        tags,
        latency,
        ttft,
        request_id,
        cost,
    )
    return lean_prepared(ident, KIND, request_id, location, labels, output, key)


def parse_line(line: str, location: str, lineno: int) -> Item:
    raw = line.rstrip("\r\n")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return Reject(location, lineno, "line is not valid UTF-8", None, _printable(raw))
    try:
        obj = loads(raw)
    except ValueError as exc:
        return Reject(location, lineno, f"invalid JSON: {exc}", None, raw)
    try:
        return record_from_object(obj, f"{location}:{lineno}")
    except LINE_ERRORS as err:
        problem = line_error(err)
        return Reject(location, lineno, problem.reason, problem.field, raw)


def _printable(text: str) -> str:
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
