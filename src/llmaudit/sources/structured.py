"""Structured JSON logs an app writes for each LLM call ("wrap your LLM client and emit
structured logs to your log aggregator"), read without a mapping: the fields are found by
their well-known names, flat (``input_tokens``), dotted (``"llm.input_tokens"``) or nested
(``{"llm": {"usage": {"prompt_tokens": ...}}}``), and the mapping used is said.

The exports of the aggregators such logs land in are unwrapped first: Grafana Loki query
results (``{"line": "<json>"}`` lines, or the API's ``data.result[].values``), Elasticsearch /
OpenSearch hits (``hits.hits[]._source``), CloudWatch Logs events (``message`` holding JSON;
``events`` / ``logEvents`` lists) and Datadog log exports (``data[].attributes``).

Token convention: ``input_tokens`` / ``prompt_tokens`` count all input, cached included (the
OpenAI and OpenTelemetry convention); when the cached count is larger than the input count, the
log followed Anthropic's (input without cache) and the two are added.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import infer_provider, to_decimal
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    any_time,
    count,
    first_objects,
    line_reject,
    text,
)
from llmaudit.sources.documents import rows

KIND = "structured"

# record field -> the names it goes by, best first (matched as a whole path, then as the last
# part(s) of a dotted path: "llm.usage.prompt_tokens" ends with "prompt_tokens")
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "model": (
        "llm.model",
        "gen_ai.response.model",
        "gen_ai.request.model",
        "model",
        "model_name",
        "model_id",
        "llm_model",
    ),
    "input_tokens": (
        "llm.input_tokens",
        "gen_ai.usage.input_tokens",
        "input_tokens",
        "prompt_tokens",
        "tokens_in",
        "input_token_count",
        "prompt_token_count",
    ),
    "cache_read_tokens": (
        "llm.cache_read_tokens",
        "cache_read_tokens",
        "cache_read_input_tokens",
        "cached_tokens",
        "cached_input_tokens",
        "cached",
        "cache_read",
    ),
    "cache_write_tokens": (
        "cache_write_tokens",
        "cache_creation_input_tokens",
        "cache_creation_tokens",
        "cache_write",
    ),
    "output_tokens": (
        "llm.output_tokens",
        "gen_ai.usage.output_tokens",
        "output_tokens",
        "completion_tokens",
        "tokens_out",
        "output_token_count",
        "completion_token_count",
    ),
    "reasoning_tokens": ("reasoning_tokens", "reasoning_output_tokens", "thoughts_tokens"),
    "reported_cost_usd": (
        "llm.cost_usd",
        "cost_usd",
        "cost",
        "total_cost",
        "spend",
        "response_cost",
    ),
    "user": ("llm.user_id", "user_id", "user", "userId", "end_user", "enduser.id"),
    "feature": ("llm.feature", "feature", "route", "use_case", "endpoint"),
    "team": ("team", "team_id"),
    "customer": ("customer", "customer_id", "tenant", "tenant_id"),
    "project": ("project", "project_id", "service", "service.name", "app"),
    "session": ("session_id", "session", "conversation_id", "thread_id"),
    "environment": ("environment", "env", "deployment.environment"),
    "request_id": ("llm.request_id", "request_id", "requestId", "response_id", "trace_id"),
    "provider": ("llm.provider", "gen_ai.system", "gen_ai.provider.name", "provider"),
    "ts": ("timestamp", "@timestamp", "time", "ts", "created_at", "datetime", "date"),
    "latency_ms": ("latency_ms", "duration_ms", "elapsed_ms", "llm.latency_ms"),
}
TOKEN_FIELDS = ("input_tokens", "output_tokens")
MAX_DEPTH = 8


def flatten(obj: Any, prefix: str = "", depth: int = 0, out: dict | None = None) -> dict:
    """``{"llm": {"usage": {"prompt_tokens": 5}}}`` -> ``{"llm.usage.prompt_tokens": 5}``."""
    out = {} if out is None else out
    if isinstance(obj, dict) and depth < MAX_DEPTH:
        for key, value in obj.items():
            if isinstance(key, str):
                flatten(value, f"{prefix}{key}.", depth + 1, out)
    elif prefix:
        out[prefix[:-1]] = obj
    return out


def infer(paths: list[str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Record field -> the path it is read from, for one shape of object."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for field, names in FIELD_NAMES.items():
        if overrides and field in overrides:
            continue
        for name in names:
            hit = name if name in paths else None
            if hit is None:
                tail = [p for p in paths if p.endswith("." + name)]
                hit = min(tail, key=len) if tail else None
            if hit is not None and hit not in taken:
                mapping[field] = hit
                taken.add(hit)
                break
    mapping.update(overrides or {})
    return mapping


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip()[:1] == "{":
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def unwrap(obj: Any) -> Iterator[Any]:
    """The app's own log objects inside an aggregator's export (or the object itself)."""
    if not isinstance(obj, dict):
        return
    inner = _maybe_json(obj.get("line"))  # Loki (logcli --output jsonl)
    if isinstance(inner, dict):
        yield inner
        return
    data = obj.get("data")
    if isinstance(data, dict) and isinstance(data.get("result"), list):  # Loki query API
        for stream in data["result"]:
            for value in (stream.get("values") or []) if isinstance(stream, dict) else []:
                if isinstance(value, list) and len(value) == 2:
                    inner = _maybe_json(value[1])
                    if isinstance(inner, dict):
                        yield inner
        return
    hits = obj.get("hits")
    if isinstance(hits, dict) and isinstance(hits.get("hits"), list):  # Elasticsearch
        for hit in hits["hits"]:
            if isinstance(hit, dict) and isinstance(hit.get("_source"), dict):
                yield hit["_source"]
        return
    if isinstance(obj.get("_source"), dict):  # one Elasticsearch hit a line
        yield obj["_source"]
        return
    for key in ("events", "logEvents"):  # CloudWatch Logs
        if isinstance(obj.get(key), list):
            for event in obj[key]:
                inner = _maybe_json(event.get("message")) if isinstance(event, dict) else None
                if isinstance(inner, dict):
                    yield inner
            return
    if isinstance(data, list):  # Datadog logs API v2
        for item in data:
            attrs = item.get("attributes") if isinstance(item, dict) else None
            if isinstance(attrs, dict):
                inner = attrs.get("attributes")
                message = _maybe_json(attrs.get("message"))
                if isinstance(message, dict):
                    yield {**(inner if isinstance(inner, dict) else {}), **message}
                elif isinstance(inner, dict):
                    yield {**inner, "timestamp": attrs.get("timestamp")}
        return
    inner = _maybe_json(obj.get("message"))  # a CloudWatch event, or a logger's envelope
    if isinstance(inner, dict):
        yield {**{k: v for k, v in obj.items() if k != "message"}, **inner}
        return
    yield obj


def _usable(mapping: dict[str, str]) -> bool:
    return "model" in mapping and any(f in mapping for f in TOKEN_FIELDS)


def record(obj: dict, mapping: dict[str, str], location: str) -> UsageRecord:
    flat = flatten(obj)

    def get(field: str) -> Any:
        path = mapping.get(field)
        return flat.get(path) if path else None

    model = text(get("model"))
    if not model:
        raise RecordError("is missing", field=mapping.get("model", "model"))
    when = get("ts")
    if when is None:
        raise RecordError("no timestamp", field=mapping.get("ts", "timestamp"))
    ts = any_time(when, mapping.get("ts", "timestamp"))
    total_in = count(get("input_tokens"), mapping.get("input_tokens", "input_tokens"))
    read = count(get("cache_read_tokens"), mapping.get("cache_read_tokens", "cached"))
    write = count(get("cache_write_tokens"), mapping.get("cache_write_tokens", "cache_write"))
    if read + write > total_in:  # logged without cache (Anthropic's convention)
        total_in += read + write
    output = count(get("output_tokens"), mapping.get("output_tokens", "output_tokens"))
    reasoning = count(get("reasoning_tokens"), mapping.get("reasoning_tokens", "reasoning"))
    if reasoning > output:
        output += reasoning  # reasoning logged apart from output (Gemini's thoughts)
    cost = get("reported_cost_usd")
    latency = get("latency_ms")
    rid = text(get("request_id"))
    attribution: dict[str, Any] = {
        f: text(get(f))
        for f in ("user", "feature", "team", "customer", "project", "session", "environment")
    }
    provider = text(get("provider"))
    return UsageRecord(
        ts=ts,
        provider=provider.lower() if provider else infer_provider(model),
        model=model,
        input_uncached=total_in - read - write,
        cache_read=read,
        cache_write_5m=write,
        output=output,
        reasoning=reasoning,
        latency_ms=float(latency)
        if isinstance(latency, (int, float)) and not isinstance(latency, bool) and latency >= 0
        else None,
        request_id=rid,
        reported_cost_usd=to_decimal(cost, mapping["reported_cost_usd"])
        if cost is not None
        else None,
        source_kind=KIND,
        source_location=location,
        source_id=rid,
        **attribution,
    )


class Structured(Source):
    name = KIND
    summary = (
        "structured JSON logs of LLM calls (model, input_tokens, cost_usd, user_id, llm.*, "
        "nested usage), also inside Loki, Elasticsearch, CloudWatch and Datadog exports"
    )
    extensions = (".jsonl", ".ndjson", ".json", ".log")
    appendable = True

    def sniff(self, head: str) -> bool:
        objs = first_objects(head, 3)
        for obj in objs:
            for inner in unwrap(obj):
                return _usable(infer(list(flatten(inner))))
        return False

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        overrides = opts.mapping or {}
        by_shape: dict[frozenset[str], dict[str, str]] = {}
        for pos, raw, obj in rows(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            found = False
            for inner in unwrap(obj):
                found = True
                try:
                    paths = frozenset(flatten(inner))
                    mapping = by_shape.get(paths)
                    if mapping is None:
                        mapping = by_shape[paths] = infer(sorted(paths), overrides)
                    if not _usable(mapping):
                        inp.skipped["lines without a model and token counts"] += 1
                        continue
                    # the summary says each mapping used (override any field with --map)
                    inp.notes[f"read with the mapping {_said(mapping)}"] += 1
                    yield record(inner, mapping, f"{inp.location}:{pos}")
                except LINE_ERRORS as err:
                    yield line_reject(err, inp.location, pos, raw)
            if not found:
                inp.skipped["lines that are not JSON objects"] += 1


def _said(mapping: dict[str, str]) -> str:
    return ", ".join(f"{f} <- {p}" for f, p in mapping.items())
