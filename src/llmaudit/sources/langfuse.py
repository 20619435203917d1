"""Langfuse observations: the public API pages (v2 ``/api/public/v2/observations``, the
deprecated v1 ``/api/public/observations``) and the UI's JSON / JSON-lines exports.

Langfuse normalises usage so that ``usageDetails.input`` EXCLUDES cached tokens and
``usageDetails.output`` excludes reasoning; cache and reasoning come in their own keys. Only
observations with usage (generations) become records. Positions are 1-based items of the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import infer_provider, parse_ts, to_decimal
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    attribution,
    count,
    first_json_objects,
    line_reject,
    text,
    whole_json,
)
from llmaudit.sources.documents import rows

KIND = "langfuse"
CACHE_READ = ("input_cached_tokens", "input_cache_read", "cache_read_input_tokens", "input_cached")
CACHE_WRITE = ("input_cache_creation", "input_cache_write", "cache_creation_input_tokens")
REASONING = ("output_reasoning_tokens", "output_reasoning")


def _pick(details: dict, keys: tuple[str, ...]) -> int:
    for key in keys:
        if details.get(key) is not None:
            return count(details[key], f"usageDetails.{key}")
    return 0


def _looks_like(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and "traceId" in obj
        and "type" in obj
        and ("usageDetails" in obj or "usage" in obj)
    )


def _record(obj: dict, location: str) -> UsageRecord | None:
    details: dict[str, Any] | None = (
        obj["usageDetails"] if isinstance(obj.get("usageDetails"), dict) else None
    )
    legacy: dict[str, Any] = obj["usage"] if isinstance(obj.get("usage"), dict) else {}
    if not details and not (legacy and (legacy.get("input") or legacy.get("output"))):
        return None
    model = text(obj.get("providedModelName")) or text(obj.get("model"))
    if not model:
        raise RecordError("a generation with usage but no model", field="providedModelName")
    if details:
        uncached = count(details.get("input"), "usageDetails.input")
        read = _pick(details, CACHE_READ)
        w5 = count(details.get("input_cache_creation_5m"), "usageDetails.input_cache_creation_5m")
        w1 = count(details.get("input_cache_creation_1h"), "usageDetails.input_cache_creation_1h")
        write = _pick(details, CACHE_WRITE) or (w5 + w1)
        reasoning = _pick(details, REASONING)
        extra_out = sum(
            count(v, f"usageDetails.{k}")
            for k, v in details.items()
            if k.startswith("output_")
            and k not in REASONING
            and k in ("output_audio_tokens", "output_audio")
        )
        output = count(details.get("output"), "usageDetails.output") + reasoning + extra_out
        w1 = min(w1, write)
        tokens: dict[str, Any] = {
            "input_uncached": uncached,
            "cache_read": read,
            "cache_write_5m": write - w1,
            "cache_write_1h": w1,
            "output": output,
            "reasoning": reasoning,
        }
    else:
        tokens = {
            "input_uncached": count(legacy.get("input"), "usage.input"),
            "output": count(legacy.get("output"), "usage.output"),
        }
    start = obj.get("startTime")
    if start is None:
        raise RecordError("is missing", field="startTime")
    ts = parse_ts(start, "startTime")
    latency = obj.get("latency")
    ttft = obj.get("timeToFirstToken")
    fields, tags = attribution(
        {
            "user": obj.get("userId"),
            "session": obj.get("sessionId"),
            "environment": obj.get("environment"),
        }
    )
    for key, tag in (("traceName", "trace_name"), ("name", "observation")):
        value = text(obj.get(key))
        if value:
            tags[tag] = value
    cost = obj.get("totalCost")
    if cost is None:
        cost = obj.get("calculatedTotalCost")
    level = str(obj.get("level") or "").upper()
    return UsageRecord(
        ts=ts,
        provider=infer_provider(model),
        model=model,
        latency_ms=float(latency) * 1000 if latency is not None and _num(latency) else None,
        ttft_ms=float(ttft) * 1000 if ttft is not None and _num(ttft) else None,
        status="error" if level == "ERROR" else "ok",
        request_id=text(obj.get("id")),
        reported_cost_usd=to_decimal(cost, "totalCost") if cost is not None else None,
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=text(obj.get("id")),
        **fields,
        **tokens,
    )


def _num(value: Any) -> bool:
    try:
        return value is not None and float(value) >= 0
    except (TypeError, ValueError):
        return False


class Langfuse(Source):
    name = KIND
    summary = "Langfuse observations: API pages (v2 and v1) and UI exports (JSON, JSON lines)"
    extensions = (".json", ".jsonl")
    keep = "first"  # the v1 API and exports repeat observations with less detail

    def sniff(self, head: str) -> bool:
        doc = whole_json(head)
        if isinstance(doc, dict) and isinstance(doc.get("data"), list) and doc["data"]:
            return _looks_like(doc["data"][0])
        if isinstance(doc, list) and doc:
            return _looks_like(doc[0])
        objs = first_json_objects(head, 1)
        if objs:
            return _looks_like(objs[0])
        # a long page cut by the head: look for the telltale keys
        return '"traceId"' in head and '"usageDetails"' in head and '"data"' in head

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for pos, raw, obj in rows(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            if not isinstance(obj, dict):
                yield Reject(inp.location, pos, "not a JSON object", None, raw)
                continue
            try:
                rec = _record(obj, f"{inp.location}:{pos}")
            except LINE_ERRORS as err:
                yield line_reject(err, inp.location, pos, raw)
                continue
            if rec is not None:
                yield rec
