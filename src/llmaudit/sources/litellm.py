"""LiteLLM proxy logs: ``LiteLLM_SpendLogs`` exports (CSV from psql, or JSON / JSON lines from
``/spend/logs``) and ``StandardLoggingPayload`` JSON lines (what custom and bucket loggers get).

LiteLLM normalises every provider to OpenAI's usage shape: ``prompt_tokens`` includes cache reads
and (in current versions) cache writes; the cache split lives in ``usage_object`` or
``additional_usage_values``. Response-cache hits (``cache_hit``) are recorded with status
``cache_hit`` (no provider call, priced at $0); failures with status ``error``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import tzinfo
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import to_decimal
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    any_time,
    attribution,
    count,
    dig,
    first_objects,
    json_lines,
    line_reject,
    loads,
    text,
    utc_naive,
)
from llmaudit.sources.documents import csv_rows, rows

PROVIDER_IDS = ("chatcmpl-", "msg_", "resp_", "cmpl-")
SPENDLOG_COLUMNS = {"request_id", "call_type", "spend", "prompt_tokens", "startTime", "model"}


def _json(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return loads(value)
        except ValueError:
            return None
    return value


def tokens_from(prompt: Any, completion: Any, usage: Any) -> providers.Tokens:
    usage = usage if isinstance(usage, dict) else {}
    prompt_n = count(
        prompt if prompt not in (None, "") else usage.get("prompt_tokens"), "prompt_tokens"
    )
    output = count(
        completion if completion not in (None, "") else usage.get("completion_tokens"),
        "completion_tokens",
    )
    details = usage.get("prompt_tokens_details") or {}
    read = count(
        details.get("cached_tokens") or usage.get("cache_read_input_tokens"),
        "cache_read_input_tokens",
    )
    write = count(
        usage.get("cache_creation_input_tokens") or details.get("cache_creation_tokens"),
        "cache_creation_input_tokens",
    )
    reasoning = count(
        dig(usage, "completion_tokens_details", "reasoning_tokens"),
        "completion_tokens_details.reasoning_tokens",
    )
    if read + write > prompt_n >= read:
        # Older LiteLLM added only cache reads to prompt_tokens: writes came on top.
        prompt_n += write
    return providers.inclusive(
        prompt_n, read, write, output, min(reasoning, output), field="prompt_tokens"
    )


def _tags(request_tags: Any) -> dict[str, str]:
    """``["feature:answer", "env:prod"]`` -> {"feature": "answer", "env": "prod"}."""
    out: dict[str, str] = {}
    items = _json(request_tags)
    if isinstance(items, list):
        for item in items:
            if not isinstance(item, str) or not item:
                continue
            key, sep, value = item.partition(":")
            if sep and key:
                out.setdefault(key.strip(), value.strip())
            else:
                out.setdefault(item, "true")
    return out


def _record(
    row: dict[str, Any], kind: str, location: str, payload: bool, tz: tzinfo | None = None
) -> UsageRecord:
    meta = _json(row.get("metadata"))
    meta = meta if isinstance(meta, dict) else {}
    usage = meta.get("usage_object") or meta.get("additional_usage_values")
    if payload:
        usage = usage or dig(row, "hidden_params", "usage_object")
    tokens = tokens_from(row.get("prompt_tokens"), row.get("completion_tokens"), usage)
    model = text(row.get("model")) or text(row.get("model_group"))
    if not model:
        raise RecordError("is missing", field="model")
    start = row.get("startTime")
    if start in (None, ""):
        raise RecordError("is missing", field="startTime")
    ts = utc_naive(start, "startTime", tz)  # the same rule in every LiteLLM format
    end = row.get("endTime")
    latency = None
    if row.get("request_duration_ms") not in (None, ""):
        latency = float(row["request_duration_ms"])
    elif end not in (None, ""):
        end_ts = utc_naive(end, "endTime", tz)
        latency = max(0.0, (end_ts - ts).total_seconds() * 1000)
    ttft = None
    first = row.get("completionStartTime")
    if first not in (None, ""):
        first_ts = (
            any_time(first, "completionStartTime")
            if payload
            else utc_naive(first, "completionStartTime", tz)
        )
        ttft = max(0.0, (first_ts - ts).total_seconds() * 1000)
    cache_hit = str(row.get("cache_hit")).lower() == "true"
    failed = str(row.get("status") or meta.get("status") or "").lower() == "failure"
    status = "cache_hit" if cache_hit else ("error" if failed else "ok")
    tags = _tags(row.get("request_tags"))
    spend_meta: dict[str, Any] = (
        meta["spend_logs_metadata"] if isinstance(meta.get("spend_logs_metadata"), dict) else {}
    )
    flat = {
        **tags,
        **spend_meta,
        "user": row.get("user") or meta.get("user_api_key_user_id"),
        "customer": row.get("end_user") or meta.get("user_api_key_end_user_id"),
        "team": row.get("team_id") or meta.get("user_api_key_team_id"),
        "session": row.get("session_id") or row.get("trace_id"),
        "api_key": meta.get("user_api_key_alias") or None,
    }
    fields, extra = attribution(flat)
    if row.get("model_group") and row.get("model_group") != model:
        extra["model_group"] = str(row["model_group"])
    org = row.get("organization_id") or meta.get("user_api_key_org_id")
    if org:
        extra["organization"] = str(org)
    rid = text(row.get("request_id")) or text(row.get("id")) or text(row.get("litellm_call_id"))
    global_id = rid if rid and rid.startswith(PROVIDER_IDS) and "_cache_hit" not in rid else None
    cost = row.get("spend") if not payload else row.get("response_cost")
    return UsageRecord(
        ts=ts,
        provider=providers.provider_name(row.get("custom_llm_provider")) or "unknown",
        model=model,
        latency_ms=latency,
        ttft_ms=ttft,
        status=status,
        request_id=rid,
        reported_cost_usd=to_decimal(cost, "spend") if cost not in (None, "") else None,
        tags=extra,
        source_kind=kind,
        source_location=location,
        source_id=f"rid:{global_id}" if global_id else rid,
        **fields,
        **tokens.fields(),
    )


def _from_row(
    row: dict,
    kind: str,
    location: str,
    lineno: int,
    raw: str,
    payload: bool,
    tz: tzinfo | None = None,
) -> Item:
    try:
        return _record(row, kind, f"{location}:{lineno}", payload, tz)
    except LINE_ERRORS as err:
        return line_reject(err, location, lineno, raw)


class LiteLLMSpendLogs(Source):
    name = "litellm-spendlogs"
    summary = "LiteLLM proxy LiteLLM_SpendLogs rows: psql CSV export, or /spend/logs JSON/JSONL"
    extensions = (".csv", ".json", ".jsonl")

    def sniff(self, head: str) -> bool:
        first = head.splitlines()[0] if head else ""
        if "," in first and {c.strip().strip('"') for c in first.split(",")} >= SPENDLOG_COLUMNS:
            return True
        objs = first_objects(head, 1)
        return bool(objs) and isinstance(objs[0], dict) and set(objs[0]) >= SPENDLOG_COLUMNS

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        head = inp.head(4096).lstrip()
        if head.startswith("[") or head.startswith("{"):
            yield from self._json(inp, opts)
            return
        for lineno, raw, row in csv_rows(inp):
            if isinstance(row, Reject):
                yield row
            else:
                yield _from_row(
                    row, self.name, inp.location, lineno, raw, payload=False, tz=opts.naive_tz
                )

    def _json(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        # an array, a /spend/logs page ({"data": [...], "total": N, ...}), one pretty-printed
        # row, or JSON lines
        for pos, raw, obj in rows(inp):
            if isinstance(obj, Reject):
                yield obj
            elif not isinstance(obj, dict):
                yield Reject(inp.location, pos, "not a JSON object", None, raw)
            else:
                yield _from_row(
                    obj, self.name, inp.location, pos, raw, payload=False, tz=opts.naive_tz
                )


class LiteLLMPayload(Source):
    name = "litellm-payload"
    summary = "LiteLLM StandardLoggingPayload JSON lines (custom callbacks, S3/GCS bucket logs)"
    extensions = (".jsonl", ".json", ".ndjson")
    appendable = True

    def sniff(self, head: str) -> bool:
        objs = first_objects(head, 1)
        return (
            bool(objs)
            and isinstance(objs[0], dict)
            and {"call_type", "response_cost", "startTime", "model"} <= set(objs[0])
        )

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for lineno, raw, obj in json_lines(inp):
            if isinstance(obj, Reject):
                yield obj
            elif not isinstance(obj, dict):
                yield Reject(inp.location, lineno, "not a JSON object", None, raw)
            else:
                yield _from_row(
                    obj, self.name, inp.location, lineno, raw, payload=True, tz=opts.naive_tz
                )
