"""llmaudit JSONL, the interchange format (see docs/format.md).

Token fields follow the OpenTelemetry GenAI convention: ``input_tokens`` counts all input
(cache reads and writes included) and the cache fields say how much of it was cache traffic;
``output_tokens`` counts all output and ``reasoning_tokens`` how much of it was reasoning.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.interchange import ATTRIBUTION_KEYS, EXPORT_FIELDS, FIELDS, TOKEN_KEYS
from llmaudit.model.record import STATUSES, UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import (
    MAX_COUNT,
    infer_provider,
    normalize_service_tier,
    parse_ts,
    redact_api_key,
    to_decimal,
    to_int,
    to_str,
)
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import LINE_ERRORS, json_lines, line_error, line_reject, loads

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

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for lineno, raw, obj in json_lines(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            try:
                yield record_from_object(obj, f"{inp.location}:{lineno}")
            except LINE_ERRORS as err:
                yield line_reject(err, inp.location, lineno, raw)


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
