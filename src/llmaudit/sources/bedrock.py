"""AWS Bedrock model invocation logs: the ``ModelInvocationLog`` records Bedrock delivers to S3
(gzip objects of JSON lines under ``AWSLogs/<account>/BedrockModelInvocationLogs/<region>/
YYYY/MM/DD/HH/``) or to CloudWatch Logs (read from a ``filter-log-events`` export).

Fields (Bedrock user guide, "Monitor model invocation using CloudWatch Logs and Amazon S3"):
``timestamp``, ``accountId``, ``region``, ``requestId``, ``operation`` (InvokeModel, Converse,
...), ``modelId`` (a model id, an inference profile such as ``us.anthropic...``, or an ARN),
``identity.arn``, ``requestMetadata`` (the caller's tags), ``input.inputTokenCount`` (input
not read from or written to the cache), ``input.cacheReadInputTokenCount``,
``input.cacheWriteInputTokenCount``, ``output.outputTokenCount``. The token categories are
disjoint, as Bedrock bills them. Records are priced at Bedrock's prices (the bedrock route),
never at the model vendor's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import parse_ts
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    attribution,
    count,
    first_objects,
    line_reject,
    text,
)
from llmaudit.sources.documents import rows
from llmaudit.sources.structured import unwrap

KIND = "bedrock"


def _is_log(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("schemaType") == "ModelInvocationLog"


def model_of(model_id: str) -> tuple[str, str | None]:
    """(the model name to price, the ARN's resource kind) of a ``modelId``: an ARN's resource
    (``foundation-model/anthropic.claude...`` -> ``anthropic.claude...``; an inference profile's
    id such as ``us.anthropic...``). An application inference profile names no model."""
    if not model_id.startswith("arn:"):
        return model_id, None
    resource = model_id.split(":", 5)[-1]
    kind, _, name = resource.partition("/")
    return (name or resource), kind


def _cache_writes(output: dict[str, Any], total: int) -> tuple[int, int]:
    """(5-minute, 1-hour) cache writes: Anthropic's split in the response body when it is
    there (``usage.cache_creation``), else all at the default 5-minute TTL."""
    body = output.get("outputBodyJson")
    usage = body.get("usage") if isinstance(body, dict) else None
    split = usage.get("cache_creation") if isinstance(usage, dict) else None
    if isinstance(split, dict):
        one_hour = count(split.get("ephemeral_1h_input_tokens"), "cache_creation.ephemeral_1h")
        if one_hour <= total:
            return total - one_hour, one_hour
    return total, 0


def record(obj: dict[str, Any], location: str) -> UsageRecord:
    model_id = text(obj.get("modelId"))
    if not model_id:
        raise RecordError("is missing", field="modelId")
    model, arn_kind = model_of(model_id)
    inp: dict[str, Any] = obj["input"] if isinstance(obj.get("input"), dict) else {}
    out: dict[str, Any] = obj["output"] if isinstance(obj.get("output"), dict) else {}
    write = count(inp.get("cacheWriteInputTokenCount"), "input.cacheWriteInputTokenCount")
    write_5m, write_1h = _cache_writes(out, write)
    fields, tags = attribution(
        obj.get("requestMetadata") if isinstance(obj.get("requestMetadata"), dict) else None
    )
    identity = obj.get("identity")
    arn = text(identity.get("arn")) if isinstance(identity, dict) else None
    if arn and "user" not in fields:
        fields["user"] = arn
    for key, tag in (
        ("accountId", "aws_account"),
        ("region", "aws_region"),
        ("inferenceRegion", "inference_region"),
        ("operation", "operation"),
    ):
        value = text(obj.get(key))
        if value:
            tags[tag] = value
    if arn_kind == "application-inference-profile":
        tags["application_inference_profile"] = model
    body = out.get("outputBodyJson")
    metrics = body.get("metrics") if isinstance(body, dict) else None
    latency = metrics.get("latencyMs") if isinstance(metrics, dict) else None
    request_id = text(obj.get("requestId"))
    return UsageRecord(
        ts=parse_ts(obj.get("timestamp"), "timestamp"),
        provider="bedrock",
        model=model,
        input_uncached=count(inp.get("inputTokenCount"), "input.inputTokenCount"),
        cache_read=count(inp.get("cacheReadInputTokenCount"), "input.cacheReadInputTokenCount"),
        cache_write_5m=write_5m,
        cache_write_1h=write_1h,
        output=count(out.get("outputTokenCount"), "output.outputTokenCount"),
        status="error" if obj.get("errorCode") else "ok",
        latency_ms=float(latency)
        if isinstance(latency, (int, float)) and not isinstance(latency, bool)
        else None,
        request_id=request_id,
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=request_id,
        **fields,
    )


class BedrockLogs(Source):
    name = KIND
    summary = (
        "AWS Bedrock model invocation logs (ModelInvocationLog records: S3 .json.gz objects, "
        "or a CloudWatch Logs export), priced at Bedrock's prices"
    )
    extensions = (".json", ".jsonl", ".log")
    appendable = True

    def sniff(self, head: str) -> bool:
        for obj in first_objects(head, 2):
            if _is_log(obj) or any(_is_log(inner) for inner in unwrap(obj)):
                return True
        return False

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for pos, raw, obj in rows(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            found = False
            for inner in [obj] if _is_log(obj) else list(unwrap(obj)):
                if not _is_log(inner):
                    continue
                found = True
                try:
                    yield record(inner, f"{inp.location}:{pos}")
                except LINE_ERRORS as err:
                    yield line_reject(err, inp.location, pos, raw)
            if not found:
                inp.skipped["lines that are not ModelInvocationLog records"] += 1
