"""Google Cloud Billing export (BigQuery), as files: the Gemini API's and Vertex AI's token SKUs
read as usage, with the billed cost kept for ``reconcile --logs``.

The export is a BigQuery table (standard ``gcp_billing_export_v1_*`` or detailed
``gcp_billing_export_resource_v1_*``); what reaches llmaudit is that table's rows taken out of
BigQuery: ``bq extract --destination_format NEWLINE_DELIMITED_JSON`` (one row a line, records
as nested objects: ``service.description``, ``sku.description``, ``usage.amount``), ``bq query
--format=json`` (one array, numbers possibly as strings), or a CSV of query results with the
nested columns flattened (``service.description`` or ``service_description``).

Columns used (Cloud Billing docs, "Structure of standard data export"): ``billing_account_id``,
``service.id``/``service.description``, ``sku.id``/``sku.description``, ``usage_start_time``,
``usage_end_time``, ``project.id``, ``labels`` (key/value list), ``location.region``, ``cost``,
``currency``, ``currency_conversion_rate`` (local currency per USD), ``usage.amount``,
``usage.unit``, ``credits``, ``cost_type``, ``export_time``. BigQuery timestamps are UTC.

A row is one SKU's usage in one hour: tokens are ``usage.amount`` in unit ``count`` for SKUs
that name a token count. Two SKU grammars are in use (seen in billing rows in public code):
the Gemini API's ``Generate content input token count gemini 2.5 flash short input text``
(``cached input``, ``output``; trailing ``batch``, ``flex``, ``short``/``long``) and Vertex
AI's ``Gemini 2.5 Flash Text Input - Predictions`` (``GA``, ``Thinking``, ``Caching``,
``Batch``, ``Priority``, ``(Long)``). The model is the SKU's model words joined with ``-``
(``gemini-2.5-flash``): priced if the table knows that exact id, else unpriced and named.
Rows that are not text tokens (storage, grounding, characters, audio input, image output,
other services) are counted and named, not read: their per-modality prices are not in the
table. A row's hours have no request count, so its ``requests`` is 0.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import Skip, attribution, count, text, utc_naive
from llmaudit.sources.documents import csv_columns, csv_rows, items, rows

KIND = "gcp-billing"
SERVICES = {"gemini api", "vertex ai", "generative language api"}
# Column names, nested (JSON) or flattened by the CSV export ("service.description") or by a
# query's aliases ("service_description").
_NEEDED = ("sku.description", "usage_start_time", "cost")

# The Gemini API grammar: "<verb> content [cached] <direction> token count [for] <model ...>".
_API_SKU = re.compile(
    r"^(?:generate|embed)[ _]content[ _](?:(?P<mod1>text|image|audio|video)[ _])?"
    r"(?P<cached>cached[ _])?(?:(?P<mod2>text|image|audio|video)[ _])?"
    r"(?P<dir>input|output)[ _]token[ _]count[ _](?:for[ _])?(?P<rest>.+)$",
    re.IGNORECASE,
)
# Words after a model's name in either grammar.
_MODIFIERS = {
    "text",
    "image",
    "audio",
    "video",
    "input",
    "output",
    "short",
    "long",
    "batch",
    "flex",
    "priority",
    "caching",
    "cached",
    "thinking",
    "ga",
    "online",
    "predictions",
    "offpeak",
    "(long)",
    "-",
}
_MODALITIES = ("text", "image", "audio", "video")


class NotTokens(Skip):
    """A billing row that is not text-token usage: counted as skipped, by what it bills."""

    def __init__(self, what: str) -> None:
        super().__init__(f"billing rows not read as token usage: {what}")


def _get(row: dict[str, Any], name: str) -> Any:
    """A column, nested (``row["sku"]["description"]``) or flattened (``sku.description``,
    ``sku_description``)."""
    if name in row:
        return row[name]
    if "." in name:
        head, tail = name.split(".", 1)
        inner = row.get(head)
        if isinstance(inner, dict):
            return inner.get(tail)
        return row.get(name.replace(".", "_"))
    return None


def is_billing_row(obj: Any) -> bool:
    return isinstance(obj, dict) and all(_get(obj, c) is not None for c in _NEEDED)


def bq_time(value: Any, field: str) -> datetime:
    """A BigQuery TIMESTAMP as exported: ``2026-11-20 07:00:00 UTC``, ISO 8601, or the same
    without a zone (BigQuery TIMESTAMPs are UTC by definition)."""
    raw = text(value)
    if raw is None:
        raise RecordError("is missing", field=field)
    return utc_naive(raw.removesuffix(" UTC").rstrip(), field)


def _number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise RecordError("is missing", field=field)
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation:
        raise RecordError(f"must be a number, got {str(value)[:40]!r}", field=field) from None
    if not out.is_finite() or (out and not -40 <= out.adjusted() <= 20):
        raise RecordError(f"must be a finite number, got {str(value)[:40]!r}", field=field)
    return out


def parse_sku(description: str) -> tuple[str, str, str, str, bool, bool]:
    """SKU description -> (model, direction, service tier, context window, cached, thinking).

    Raises NotTokens for a SKU that bills something other than text tokens."""
    desc = re.sub(r"\s+", " ", description.replace("_", " ")).strip()
    low = desc.lower()
    if "character" in low:
        raise NotTokens("billed per character")
    if "storage" in low:
        raise NotTokens("cache storage")
    m = _API_SKU.match(desc)
    if m:
        direction = m["dir"].lower()
        words = m["rest"].lower().split()
        cached = bool(m["cached"])
        modality = (m["mod1"] or m["mod2"] or "").lower()
        thinking = False
    elif low.startswith("gemini ") and (" input" in low or " output" in low):
        words = low.replace("(long)", " long").replace(" - ", " ").split()
        direction = "output" if "output" in words else "input"
        cached = "caching" in words or "cached" in words
        thinking = "thinking" in words
        modality = ""
    else:
        raise NotTokens("not a token count")
    name: list[str] = []
    for word in words:
        if word in _MODIFIERS:
            break
        name.append(word)
    rest = words[len(name) :]
    modality = modality or next((w for w in rest if w in _MODALITIES), "text")
    if (direction == "input" and modality == "audio") or (
        direction == "output" and modality != "text"
    ):
        raise NotTokens(f"{modality} {direction} tokens (priced per modality)")
    if not name:
        raise NotTokens("not a token count")
    tier = next((w for w in ("batch", "flex", "priority") if w in rest), "standard")
    # A row sums an hour of requests, so its size says nothing of one request's: the SKU's
    # own word decides the long-context price, and a SKU without "long" is standard context.
    # (The ledger's context_window convention: a class starting "0-" is standard context.)
    window = "long" if "long" in rest else "0-short"
    return "-".join(name), direction, tier, window, cached, thinking


def _labels(value: Any) -> dict[str, str]:
    """``labels`` as exported: a list of ``{"key", "value"}`` (or, flattened, a JSON-ish
    text that is left as it is)."""
    out: dict[str, str] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                key, val = text(item.get("key")), text(item.get("value"))
                if key and val is not None:
                    out[key] = val
    return out


def _usd(row: dict[str, Any], amount: Decimal) -> Decimal:
    """An amount of the row's currency in USD (``currency_conversion_rate`` is local currency
    per USD)."""
    currency = (text(_get(row, "currency")) or "USD").upper()
    if currency == "USD":
        return amount
    rate = _get(row, "currency_conversion_rate")
    if rate in (None, ""):
        raise RecordError(
            f"is in {currency} and the row has no currency_conversion_rate", field="cost"
        )
    per_usd = _number(rate, "currency_conversion_rate")
    if per_usd <= 0:
        raise RecordError("must be positive", field="currency_conversion_rate")
    return amount / per_usd


def _credits(row: dict[str, Any]) -> Decimal:
    """The row's credits (negative amounts: free trial, committed use, promotions), summed."""
    total = Decimal(0)
    credits = _get(row, "credits")
    for credit in credits if isinstance(credits, list) else ():
        if isinstance(credit, dict) and credit.get("amount") not in (None, ""):
            total += _number(credit["amount"], "credits.amount")
    return total


def _row_id(row: dict[str, Any]) -> str:
    """The row's identity: what it bills, when, where, for whom, and when it was exported."""
    parts = [
        _get(row, name)
        for name in (
            "billing_account_id",
            "service.id",
            "sku.id",
            "sku.description",
            "usage_start_time",
            "usage_end_time",
            "project.id",
            "location.region",
            "location.location",
            "cost_type",
            "export_time",
            "usage.amount",
            "cost",
        )
    ]
    labels = sorted(_labels(_get(row, "labels")).items())
    blob = repr([None if p is None else str(p) for p in parts] + labels)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def record(row: Any, location: str) -> UsageRecord:
    if not is_billing_row(row):
        raise RecordError("not a billing export row", field="sku.description")
    service = text(_get(row, "service.description")) or ""
    if service.lower() not in SERVICES:
        raise NotTokens("other services")
    sku = text(_get(row, "sku.description"))
    if not sku:
        raise RecordError("is missing", field="sku.description")
    model, direction, tier, window, cached, thinking = parse_sku(sku)
    unit = (text(_get(row, "usage.unit")) or "count").lower()
    if unit != "count":
        raise NotTokens(f"usage in {unit}")
    amount = _number(_get(row, "usage.amount"), "usage.amount")
    if amount != amount.to_integral_value():
        raise RecordError(f"must be a whole token count, got {amount}", field="usage.amount")
    tokens = count(int(amount), "usage.amount")
    labels = _labels(_get(row, "labels"))
    fields, tags = attribution(labels)
    tags["gcp_service"] = service
    tags["gcp_sku"] = sku
    tags["context_window"] = window
    region = text(_get(row, "location.region")) or text(_get(row, "location.location"))
    if region:
        tags["gcp_region"] = region
    credits = _credits(row)
    if credits:  # the bill nets them out; the reported cost is the row's cost before them
        tags["gcp_credits_usd"] = format(_usd(row, credits), "f")
    project = text(_get(row, "project.id"))
    if project and "project" not in fields:
        fields["project"] = project
    output = tokens if direction == "output" else 0
    cache_read = tokens if direction == "input" and cached else 0
    uncached = tokens if direction == "input" and not cached else 0
    row_id = _row_id(row)
    return UsageRecord(
        ts=bq_time(_get(row, "usage_start_time"), "usage_start_time"),
        ts_end=bq_time(_get(row, "usage_end_time"), "usage_end_time")
        if _get(row, "usage_end_time") not in (None, "")
        else None,
        provider="google",
        model=model,
        requests=0,
        service_tier=tier,
        reported_cost_usd=_usd(row, _number(_get(row, "cost"), "cost")),
        tags=tags,
        source_kind=KIND,
        source_location=location,
        source_id=row_id,
        input_uncached=uncached,
        cache_read=cache_read,
        output=output,
        reasoning=output if thinking else 0,
        **fields,
    )


class GcpBilling(Source):
    name = KIND
    summary = "Google Cloud Billing export (BigQuery rows as JSON lines, JSON or CSV): Gemini"
    extensions = (".jsonl", ".json", ".csv")
    # Extracts are written whole: a grown file is read again, its known rows duplicates.

    def sniff(self, head: str) -> bool:
        if not head.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
            columns = csv_columns(head)
            return all(c in columns or c.replace(".", "_") in columns for c in _NEEDED)
        found = re.search(r'"sku"\s*:\s*\{|"sku[._]description"', head)
        return bool(found) and '"usage_start_time"' in head and '"cost"' in head

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        head = inp.head(4096).lstrip("\ufeff \t\r\n")
        source = rows(inp) if head.startswith(("[", "{")) else csv_rows(inp)
        yield from items(inp, source, record)
