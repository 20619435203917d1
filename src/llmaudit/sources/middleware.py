"""Raw provider responses logged by an app's middleware, one JSON object per line.

The response may be the whole line or sit under a key (``response``, ``body``, ``data``,
``result``, or ``--response-key``), with the app's own metadata beside it. Recognised shapes:
OpenAI Chat Completions (incl. the final streamed chunk), OpenAI Responses, OpenAI embeddings,
Anthropic Messages, and Gemini ``generateContent`` (REST camelCase, Vertex, SDK snake_case).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.ledger.writes import Prepared
from llmaudit.model.record import (
    ATTRIBUTION_FIELDS,
    UsageRecord,
    tags_text,
)
from llmaudit.model.reject import Reject
from llmaudit.model.values import (
    MAX_COUNT,
    MAX_DURATION_MS,
    MAX_TEXT,
    TS_MAX,
    TS_MIN,
    format_ts,
    infer_provider,
    redact_api_key,
)
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Labels, Options, Source
from llmaudit.sources.common import (
    ATTRIBUTION_NAMES,
    LINE_ERRORS,
    any_time,
    attribution,
    dig,
    fill_fields,
    first_json_objects,
    json_lines,
    line_reject,
    text,
)
from llmaudit.sources.lean import canonical_ts, lean_lines, lean_prepared, plain_loads

KIND = "middleware"
RESPONSE_KEYS = ("response", "body", "data", "result", "completion", "output")
META_KEYS = ("attrs", "attributes", "metadata", "meta", "context", "labels", "tags")
TIME_KEYS = (
    "logged_at",
    "timestamp",
    "ts",
    "time",
    "start_time",
    "started_at",
    "request_time",
    "created_at",
)
LATENCY_KEYS = ("latency_ms", "duration_ms", "elapsed_ms")
TTFT_KEYS = ("ttft_ms", "time_to_first_token_ms")


def has_usage(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    usage = obj.get("usage")
    if isinstance(usage, dict) and (
        "prompt_tokens" in usage or "input_tokens" in usage or "output_tokens" in usage
    ):
        return True
    return isinstance(obj.get("usageMetadata") or obj.get("usage_metadata"), dict)


def find_response(obj: Any, key: str | None = None) -> tuple[dict | None, dict]:
    """(the provider response, the envelope around it) or (None, obj)."""
    if not isinstance(obj, dict):
        return None, {}
    if key:
        resp = dig(obj, *key.split("."))
        return (resp if isinstance(resp, dict) else None), obj
    if has_usage(obj):
        return obj, {}
    for name in RESPONSE_KEYS:
        child = obj.get(name)
        if has_usage(child):
            return child, obj
    return None, obj


def shape(resp: dict, provider_hint: str | None) -> str:
    if isinstance(resp.get("usageMetadata") or resp.get("usage_metadata"), dict):
        return "gemini"
    usage = resp.get("usage") or {}
    if "prompt_tokens" in usage:
        return "openai-chat"
    if (
        resp.get("type") == "message"
        or "cache_creation_input_tokens" in usage
        or "cache_read_input_tokens" in usage
        or str(resp.get("id", "")).startswith("msg_")
    ):
        return "anthropic"
    if resp.get("object") == "response" or "input_tokens_details" in usage:
        return "openai-responses"
    return "anthropic" if provider_hint == "anthropic" else "openai-responses"


def _first(env: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if env.get(key) is not None:
            return env[key]
    return None


def _number(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result >= 0 else None


_TOKENS = {
    "gemini": lambda resp: providers.gemini(
        resp.get("usageMetadata") or resp.get("usage_metadata") or {}
    ),
    "anthropic": lambda resp: providers.anthropic(resp.get("usage") or {}),
    "openai-chat": lambda resp: providers.openai_chat(resp.get("usage") or {}),
    "openai-responses": lambda resp: providers.openai_responses(resp.get("usage") or {}),
}
_ANTHROPIC_TIERS = {"priority": "priority", "batch": "batch"}


def _response_fields(resp: dict[str, Any], form: str) -> tuple[Any, Any, Any, str, str]:
    """What a response of this shape says of itself: (model, id, time, service tier, the
    provider it comes from unless the envelope says otherwise)."""
    if form == "gemini":
        return (
            resp.get("modelVersion") or resp.get("model_version") or resp.get("model"),
            resp.get("responseId") or resp.get("response_id"),
            resp.get("createTime") or resp.get("create_time"),
            "standard",
            "google",
        )
    if form == "anthropic":
        usage = resp.get("usage") or {}
        tier = _ANTHROPIC_TIERS.get(str(usage.get("service_tier")), "standard")
        return resp.get("model"), resp.get("id"), None, tier, "anthropic"
    return (
        resp.get("model"),
        resp.get("id"),
        resp.get("created" if form == "openai-chat" else "created_at"),
        providers.openai_service_tier(resp.get("service_tier")),
        "openai",
    )


def response_record(
    resp: dict, envelope: dict, *, kind: str, location: str, service_tier: str | None = None
) -> UsageRecord:
    """A provider response (plus the app's envelope) -> a record. Raises RecordError."""
    return UsageRecord(
        **response_values(resp, envelope, kind=kind, location=location, service_tier=service_tier)
    )


def response_values(
    resp: dict, envelope: dict, *, kind: str, location: str, service_tier: str | None = None
) -> dict[str, Any]:
    """The record's values for :func:`response_record` (or a lean path). Raises RecordError."""
    hint = providers.provider_name(envelope.get("provider"))
    form = shape(resp, hint)
    tokens = _TOKENS[form](resp)
    model, rid, created, tier, default_provider = _response_fields(resp, form)
    model = text(model) or text(envelope.get("model"))
    if not model:
        raise RecordError("no model in the response or beside it", field="model")
    when = _first(envelope, TIME_KEYS) if created is None else created
    if when is None:
        when = _first(envelope, TIME_KEYS)
    if when is None:
        raise RecordError("no timestamp in the response or beside it", field="ts")
    ts = any_time(when, "ts")
    metas = [envelope[k] for k in META_KEYS if isinstance(envelope.get(k), dict)]
    fields, tags = attribution(*metas)
    fill_fields(fields, envelope)  # the envelope's own keys are not tags
    more, more_tags = attribution(resp.get("metadata"), {"user": resp.get("user")})
    for key, value in more.items():
        fields.setdefault(key, value)
    for key, value in more_tags.items():
        tags.setdefault(key, value)
    custom_id = text(envelope.get("custom_id"))
    if custom_id:
        tags.setdefault("custom_id", custom_id)
    status = "ok"
    if str(resp.get("status", "")).lower() in ("failed", "cancelled"):
        status = "error"
    if "api_key" in fields:
        fields["api_key"] = redact_api_key(fields["api_key"])
    return dict(
        ts=ts,
        provider=hint
        if hint and hint not in ("unknown",)
        else (default_provider if default_provider else infer_provider(model)),
        model=model,
        service_tier=service_tier or tier,
        latency_ms=_number(_first(envelope, LATENCY_KEYS)),
        ttft_ms=_number(_first(envelope, TTFT_KEYS)),
        status=status,
        request_id=text(rid),
        tags=tags,
        source_kind=kind,
        source_location=location,
        source_id=f"rid:{rid}" if text(rid) else None,
        **fields,
        **tokens.fields(),
    )


class Middleware(Source):
    name = KIND
    summary = (
        "raw provider responses logged by your middleware, one JSON object per line: OpenAI "
        "chat/responses, Anthropic messages, Gemini generateContent (--response-key KEY)"
    )
    extensions = (".jsonl", ".ndjson", ".json", ".log")
    appendable = True
    line_independent = True

    def sniff(self, head: str) -> bool:
        objs = first_json_objects(head, 3)
        return bool(objs) and all(find_response(o)[0] is not None for o in objs)

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for lineno, raw, obj in json_lines(inp):
            yield _item(inp, opts, lineno, raw, obj)

    def lean(self, inp: InputFile, opts: Options, labels: Labels) -> Iterator[Any] | None:
        if labels.tags or opts.response_key:  # the full path applies them
            return None
        return self._lean(inp, opts, labels)

    def _lean(self, inp: InputFile, opts: Options, labels: Labels) -> Iterator[Item | Prepared]:
        """:func:`lean_row` builds the row of a plain line straight from its decoding."""

        def take(data: bytes, where: str) -> Prepared | None:
            obj = plain_loads(data)
            if type(obj) is not dict:
                return None
            return lean_row(obj, where, labels)

        return lean_lines(inp, take, functools.partial(_item, inp, opts))


_META_AT = tuple(enumerate(ATTRIBUTION_FIELDS))


def _plain(value: Any) -> bool:
    return type(value) is str and value.isascii() and len(value) <= MAX_TEXT


def _lean_ms(value: Any) -> Any:
    """``_number`` of an integer or a Decimal, as the record keeps it; False when in doubt."""
    if value is None:
        return None
    kind = type(value)
    if kind is not int and kind is not Decimal:
        return False
    if value < 0:
        return None
    return float(value) if value <= MAX_DURATION_MS else False


def lean_row(obj: dict[str, Any], location: str, labels: Labels) -> Prepared | None:
    """``prepare(labels(response_record(...)))`` of a plain line (no ``--response-key``),
    worked out by the same rules as :func:`response_values`, without the record; None when
    in doubt (the line then takes the full path, whose checks word any reason). ``obj`` is
    the standard decoder's object (as :func:`plain_loads` gives it): floats are Decimals."""
    resp, envelope = find_response(obj)
    if resp is None:
        return None
    get = envelope.get
    hint = providers.provider_name(get("provider"))
    form = shape(resp, hint)
    try:
        tokens = _TOKENS[form](resp)
    except LINE_ERRORS:
        return None
    if min(tokens) < 0 or max(tokens) > MAX_COUNT or tokens.reasoning > tokens.output:
        return None
    model, rid, when, tier, provider = _response_fields(resp, form)
    if hint and hint != "unknown":
        provider = hint
    model = text(model) or text(get("model"))
    if not model or not _plain(model) or not _plain(provider) or not provider.strip():
        return None
    if when is None:
        when = _first(envelope, TIME_KEYS)
    if type(when) is str:
        ts = canonical_ts(when)
        if ts is None:
            return None
    elif type(when) is int and 0 <= when < 10**10:
        moment = datetime.fromtimestamp(when, timezone.utc)
        if not TS_MIN <= moment < TS_MAX:
            return None
        ts = format_ts(moment)
    else:
        return None
    metas = [meta for k in META_KEYS if isinstance(meta := get(k), dict)]
    fields, tags = attribution(*metas) if metas else ({}, {})
    if not ATTRIBUTION_NAMES.isdisjoint(envelope):
        fill_fields(fields, envelope)
    meta = resp.get("metadata")
    if (isinstance(meta, dict) and meta) or resp.get("user") is not None:
        more, more_tags = attribution(meta, {"user": resp.get("user")})
        for key, value in more.items():
            fields.setdefault(key, value)
        for key, value in more_tags.items():
            tags.setdefault(key, value)
    custom_id = text(get("custom_id"))
    if custom_id:
        tags.setdefault("custom_id", custom_id)
    for name, value in tags.items():
        if not (_plain(name) and _plain(value)):  # (attribution keeps no empty name)
            return None
    people: list[str | None] = [None] * len(ATTRIBUTION_FIELDS)
    if fields:
        if "api_key" in fields:
            fields["api_key"] = redact_api_key(fields["api_key"])
        for i, name in _META_AT:
            value = fields.get(name)
            if value is not None:
                if type(value) is not str or not value.isascii() or len(value) > MAX_TEXT:
                    return None
                people[i] = value
    request_id = text(rid)
    source_id = f"rid:{rid}" if request_id else None
    if request_id is not None and not (_plain(request_id) and _plain(source_id)):
        return None
    latency = _lean_ms(_first(envelope, LATENCY_KEYS))
    ttft = _lean_ms(_first(envelope, TTFT_KEYS))
    if latency is False or ttft is False:
        return None
    status = "error" if str(resp.get("status", "")).lower() in ("failed", "cancelled") else "ok"
    ident = (
        ts,
        None,
        provider,
        model,
        1,
        *tokens,
        tier,
        status,
        *people,
        tags_text(tags),
        latency,
        ttft,
        request_id,
        None,
    )
    return lean_prepared(ident, KIND, source_id, location, labels, tokens.output)


def _item(inp: InputFile, opts: Options, lineno: int, raw: str, obj: Any) -> Item:
    if isinstance(obj, Reject):
        return obj
    resp, envelope = find_response(obj, opts.response_key)
    if resp is None:
        where = f"under {opts.response_key!r}" if opts.response_key else "in this line"
        return Reject(
            inp.location, lineno, f"no provider response with usage {where}", "usage", raw
        )
    try:
        return response_record(resp, envelope, kind=KIND, location=f"{inp.location}:{lineno}")
    except LINE_ERRORS as err:
        return line_reject(err, inp.location, lineno, raw)
