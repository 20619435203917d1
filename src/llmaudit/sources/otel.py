"""OpenTelemetry spans as the Collector's ``file`` exporter writes them (OTLP JSON, one export
request per line), with every GenAI semantic-convention generation, OpenLLMetry (Traceloop) and
OpenInference (Arize Phoenix) attributes.

Only spans that carry token usage become records; a parent span's attribution (``enduser.id``,
Traceloop association properties) reaches the LLM spans beneath it in the same export.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import infer_provider, to_decimal
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    attribution,
    count,
    first_json_objects,
    json_lines,
    line_error,
    line_reject,
    text,
    unix_time,
)

KIND = "otel"

# llm.input_tokens, llm.output_tokens, llm.model, llm.cost_usd, llm.user_id, llm.feature and
# llm.request_id are the span attributes of the cost-monitoring guide llmaudit follows.
INPUT = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.input_tokens",
)
OUTPUT = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.output_tokens",
)
CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)
REASONING = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
)
MODEL = (
    "gen_ai.response.model",
    "llm.response.model_name",
    "llm.model_name",
    "gen_ai.request.model",
    "llm.request.model_name",
    "llm.model",
)
COST = ("llm.cost_usd",)
PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.system", "llm.provider")
TIER = ("openai.response.service_tier", "gen_ai.openai.response.service_tier")
# span or resource attribute -> attribution field
ATTRIBUTION = {
    "enduser.id": "user",
    "user.id": "user",
    "gen_ai.user": "user",
    "llm.user": "user",
    "llm.user_id": "user",
    "llm.feature": "feature",
    "session.id": "session",
    "gen_ai.conversation.id": "session",
    "deployment.environment.name": "environment",
    "deployment.environment": "environment",
    "traceloop.workflow.name": "feature",
}
ASSOCIATION = "traceloop.association.properties."


def value_of(v: Any) -> Any:
    """An OTLP AnyValue -> a Python value (int64 arrive as decimal strings)."""
    if not isinstance(v, dict):
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return v["intValue"]
    if "doubleValue" in v:
        return v["doubleValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "arrayValue" in v:  # {"values": null} and other empty shapes are an empty array
        values = v["arrayValue"].get("values") if isinstance(v["arrayValue"], dict) else None
        return [value_of(x) for x in values] if isinstance(values, list) else []
    if "kvlistValue" in v:
        values = v["kvlistValue"].get("values") if isinstance(v["kvlistValue"], dict) else None
        return attrs(values)
    return None


def attrs(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                out[item["key"]] = value_of(item.get("value"))
    return out


def _first(a: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if a.get(key) not in (None, ""):
            return a[key]
    return None


def has_usage(a: dict[str, Any]) -> bool:
    return any(k in a for k in INPUT + OUTPUT)


def _attribution(own: dict[str, Any], inherited: list[dict[str, Any]], resource: dict[str, Any]):
    flat: dict[str, Any] = {}
    for layer in [own, *inherited, resource]:
        for key, field in ATTRIBUTION.items():
            if key in layer and field not in flat:
                flat[field] = layer[key]
        for key, value in layer.items():
            if key.startswith(ASSOCIATION):
                flat.setdefault(key[len(ASSOCIATION) :], value)
        meta = layer.get("metadata")
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = None
        if isinstance(meta, dict):
            for key, value in meta.items():
                flat.setdefault(key, value)
    if "service.name" in resource:
        flat.setdefault("project", resource["service.name"])
    fields, tags = attribution(flat)
    labels = own.get("tag.tags")
    if isinstance(labels, list) and labels:
        tags["tags"] = ",".join(str(x) for x in labels)
    return fields, tags


def span_record(
    span: dict,
    a: dict[str, Any],
    inherited: list[dict[str, Any]],
    resource: dict[str, Any],
    location: str,
) -> UsageRecord:
    model = text(_first(a, MODEL))
    if not model:
        raise RecordError(
            "span has token usage but no model attribute", field="gen_ai.response.model"
        )
    input_total = count(_first(a, INPUT), "gen_ai.usage.input_tokens")
    read = count(_first(a, CACHE_READ), "gen_ai.usage.cache_read.input_tokens")
    write = count(_first(a, CACHE_WRITE), "gen_ai.usage.cache_creation.input_tokens")
    if read + write > input_total:
        # Old instrumentations (Anthropic before late 2024) reported input without cache.
        input_total += read + write
    tokens = providers.inclusive(
        input_total,
        read,
        write,
        count(_first(a, OUTPUT), "gen_ai.usage.output_tokens"),
        count(_first(a, REASONING), "gen_ai.usage.reasoning.output_tokens"),
        field="gen_ai.usage.input_tokens",
    )
    start = span.get("startTimeUnixNano")
    ts = unix_time(start, "startTimeUnixNano", 1_000_000_000)
    latency = None
    end = span.get("endTimeUnixNano")
    if start is not None and end not in (None, "", 0, "0"):
        try:
            latency = max(0.0, (int(end) - int(start)) / 1_000_000)
        except (TypeError, ValueError):
            latency = None
    ttft = a.get("gen_ai.response.time_to_first_chunk")
    try:
        ttft_ms = float(ttft) * 1000 if ttft is not None else None
    except (TypeError, ValueError):
        ttft_ms = None
    fields, tags = _attribution(a, inherited, resource)
    response_id = text(a.get("gen_ai.response.id"))
    rid = response_id or text(a.get("llm.request_id"))
    cost = _first(a, COST)
    trace, span_id = text(span.get("traceId")), text(span.get("spanId"))
    status_code = (span.get("status") or {}).get("code")
    provider = providers.provider_name(_first(a, PROVIDER)) or infer_provider(model)
    return UsageRecord(
        ts=ts,
        provider=provider,
        model=model,
        service_tier=providers.openai_service_tier(_first(a, TIER)),
        latency_ms=latency,
        ttft_ms=ttft_ms if ttft_ms is None or ttft_ms >= 0 else None,
        status="error" if str(status_code) == "2" else "ok",
        request_id=rid,
        reported_cost_usd=to_decimal(cost, "llm.cost_usd") if cost is not None else None,
        tags=tags,
        source_kind=KIND,
        source_location=location,
        # only a provider's response id is global (rid:); the app's own llm.request_id is not
        source_id=f"rid:{response_id}"
        if response_id
        else (f"{trace}:{span_id}" if trace and span_id else None),
        **fields,
        **tokens.fields(),
    )


class OtelSpans(Source):
    name = KIND
    summary = (
        "OpenTelemetry spans from the Collector's file exporter (OTLP JSON lines): GenAI "
        "semconv (all versions), OpenLLMetry and OpenInference attributes"
    )
    extensions = (".json", ".jsonl", ".otlp.json", ".ndjson")
    appendable = True

    def sniff(self, head: str) -> bool:
        objs = first_json_objects(head, 1)
        return (
            bool(objs)
            and isinstance(objs[0], dict)
            and ("resourceSpans" in objs[0] or "resourceMetrics" in objs[0])
        )

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for lineno, raw, obj in json_lines(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            if not isinstance(obj, dict) or "resourceSpans" not in obj:
                reason = (
                    "OTLP metrics are aggregates, not requests: not ingested (export spans)"
                    if isinstance(obj, dict) and "resourceMetrics" in obj
                    else "not an OTLP trace export (no resourceSpans)"
                )
                yield Reject(inp.location, lineno, reason, "resourceSpans", raw[:4096])
                continue
            try:
                # a line's spans are few: read them all, so a bad value anywhere in the
                # line is one reject of that line
                items = list(self._export(obj, inp.location, lineno, raw, inp.skipped))
            except LINE_ERRORS as err:
                items = [line_reject(err, inp.location, lineno, raw[:4096])]
            yield from items

    def _export(
        self, obj: dict, location: str, lineno: int, raw: str, skipped: Counter[str]
    ) -> Iterator[Item]:
        resource_spans = obj.get("resourceSpans")
        if not isinstance(resource_spans, list):
            yield Reject(
                location, lineno, "resourceSpans is not a list", "resourceSpans", raw[:4096]
            )
            return
        for rs in resource_spans:
            if not isinstance(rs, dict):
                continue
            resource = attrs((rs.get("resource") or {}).get("attributes"))
            spans = [
                sp
                for ss in rs.get("scopeSpans") or []
                if isinstance(ss, dict)
                for sp in ss.get("spans") or []
                if isinstance(sp, dict)
            ]
            by_id = {sp.get("spanId"): (sp, attrs(sp.get("attributes"))) for sp in spans}
            for sp in spans:
                a = by_id[sp.get("spanId")][1]
                if not has_usage(a):
                    skipped["spans without token usage"] += 1
                    continue
                inherited = []
                parent = sp.get("parentSpanId")
                seen = set()
                while parent and parent in by_id and parent not in seen:
                    seen.add(parent)
                    psp, pa = by_id[parent]
                    inherited.append(pa)
                    parent = psp.get("parentSpanId")
                try:
                    yield span_record(sp, a, inherited, resource, f"{location}:{lineno}")
                except LINE_ERRORS as err:
                    problem = line_error(err)
                    yield Reject(
                        location,
                        lineno,
                        f"span {sp.get('spanId')}: {problem.reason}",
                        problem.field,
                        raw[:4096],
                    )
