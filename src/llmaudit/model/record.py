"""The normalised usage record every source yields and the ledger stores.

Token categories are disjoint, so a cost is a plain sum of (tokens x price) over them:
``input_uncached + cache_read + cache_write_5m + cache_write_1h`` is all input, ``output`` is all
output including reasoning, and ``reasoning`` is a subset of ``output`` (never added twice).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.values import (
    MAX_COUNT,
    MAX_DURATION_MS,
    MAX_REQUESTS,
    MAX_STORED,
    MAX_TEXT,
    SERVICE_TIERS,
    check_money,
    check_ts,
    format_ts,
    short,
)

STATUSES = ("ok", "error", "abandoned", "cache_hit")
ATTRIBUTION_FIELDS = (
    "user",
    "feature",
    "team",
    "customer",
    "project",
    "api_key",
    "session",
    "environment",
)
TOKEN_FIELDS = (
    "input_uncached",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
)
# The summable counts of a record (and of a group of records).
COUNT_FIELDS = ("requests", *TOKEN_FIELDS)


@dataclass(frozen=True)
class UsageRecord:
    """One request, or one aggregated bucket of requests, with disjoint token counts."""

    ts: datetime
    provider: str
    model: str
    requests: int = 1
    input_uncached: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    output: int = 0
    reasoning: int = 0
    ts_end: datetime | None = None
    service_tier: str = "standard"
    user: str | None = None
    feature: str | None = None
    team: str | None = None
    customer: str | None = None
    project: str | None = None
    api_key: str | None = None
    session: str | None = None
    environment: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    latency_ms: float | None = None
    ttft_ms: float | None = None
    status: str = "ok"
    request_id: str | None = None
    reported_cost_usd: Decimal | None = None
    # Provenance: where the record came from. Not part of its identity.
    source_kind: str = "unknown"
    source_name: str | None = None
    source_location: str | None = None
    machine_id: str | None = None
    # The source's own id for this record (a response id, a row id); None means "hash the content".
    source_id: str | None = None
    # The record's ledger key when it is already known: read back from a ledger, or from an
    # export that carries it (``record_key``), so a merged export is recognised, not re-added.
    key: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        validate(self)

    # -- derived values -------------------------------------------------------------------
    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def input_total(self) -> int:
        """All input tokens, cache reads and writes included (the OpenTelemetry convention)."""
        return self.input_uncached + self.cache_read + self.cache_write

    @property
    def total_tokens(self) -> int:
        return self.input_total + self.output

    def identity(self) -> dict[str, Any]:
        """The fields that say what happened (everything but provenance), as stored."""
        return dict(zip(IDENTITY_COLUMNS, identity_row(self), strict=True))

    def content_hash(self) -> str:
        return row_hash(identity_row(self))

    def dedupe_key(self, content_hash: str | None = None) -> str:
        """The record's key in the ledger: its known ``key`` if it has one; else ``kind:id``
        when the source has its own id; else ``kind:h1:<content hash>`` (versioned, so that
        a new hash scheme can never collide with, or silently re-key, the old one).

        A source id of the form ``rid:<provider response id>`` (``chatcmpl-…``, ``msg_…``) is
        global: the same provider call reaching the ledger by two routes (middleware log and an
        OTel span, say) is one record.
        """
        if self.key:
            return self.key
        if self.source_id:
            return record_key(self.source_kind, self.source_id, "")
        return record_key(self.source_kind, None, content_hash or self.content_hash())


def record_key(source_kind: str, source_id: str | None, content_hash: str) -> str:
    """A record's key from its source's id, or else its content hash (the rules of
    :meth:`UsageRecord.dedupe_key`)."""
    if source_id:
        return source_id if source_id.startswith("rid:") else f"{source_kind}:{source_id}"
    return f"{source_kind}:{HASH_VERSION}:{content_hash}"


PROVENANCE_FIELDS = frozenset(
    {"source_kind", "source_name", "source_location", "machine_id", "source_id", "key"}
)
# What a record says happened, in the ledger's column order and storage form.
IDENTITY_COLUMNS = (
    "ts",
    "ts_end",
    "provider",
    "model",
    "requests",
    "input_uncached",
    "cache_read",
    "cache_write_5m",
    "cache_write_1h",
    "output",
    "reasoning",
    "service_tier",
    "status",
    "user",
    "feature",
    "team",
    "customer",
    "project",
    "api_key",
    "session",
    "environment",
    "tags",
    "latency_ms",
    "ttft_ms",
    "request_id",
    "reported_cost_usd",
)


# json.dumps with options builds a new encoder on every call; these are built once
_TAGS_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def tags_text(tags: dict[str, str]) -> str | None:
    """Tags as the ledger stores them: JSON with sorted names, None for none."""
    return _TAGS_JSON.encode(tags) if tags else None


def identity_row(rec: UsageRecord) -> tuple[Any, ...]:
    """The identity columns as the ledger stores them (times as text, tags as JSON, money as
    exact decimal text)."""
    return (
        format_ts(rec.ts),
        format_ts(rec.ts_end) if rec.ts_end is not None else None,
        rec.provider,
        rec.model,
        rec.requests,
        rec.input_uncached,
        rec.cache_read,
        rec.cache_write_5m,
        rec.cache_write_1h,
        rec.output,
        rec.reasoning,
        rec.service_tier,
        rec.status,
        rec.user,
        rec.feature,
        rec.team,
        rec.customer,
        rec.project,
        rec.api_key,
        rec.session,
        rec.environment,
        tags_text(rec.tags),
        rec.latency_ms,
        rec.ttft_ms,
        rec.request_id,
        format(rec.reported_cost_usd, "f") if rec.reported_cost_usd is not None else None,
    )


# The content hash scheme. h1: SHA-256 of the identity row as compact JSON with every
# non-ASCII character escaped (so no Unicode-version-dependent repr), over exactly the 26
# columns below. A column added to the record later must join the hash only when it holds a
# non-default value, so that adding a column never re-keys a ledger; a change to the scheme
# itself is a new version (h2) with a migration. Pinned by literal hashes in
# tests/ledger/test_record.py.
HASH_VERSION = "h1"
HASHED_COLUMNS_H1 = IDENTITY_COLUMNS


_HASH_JSON = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
_encode: Callable[[Any], bytes] | None = None  # msgspec's encoder, once a row is hashed


def row_hash(row: tuple[Any, ...]) -> str:
    """The h1 content hash of an identity row (str, int, float and None values)."""
    return hashlib.sha256(_hash_payload(row)).hexdigest()


def _hash_payload(row: tuple[Any, ...]) -> bytes:
    """The h1 payload: ``_HASH_JSON``'s encoding of the row, as ASCII bytes.

    msgspec writes the same bytes, several times faster, when every string is ASCII without
    DEL (both escape the control characters alike; ``_HASH_JSON`` escapes the rest as
    ``\\uXXXX``) and every float prints positionally (``1e-05`` is ``0.00001`` in msgspec).
    Anything else takes ``_HASH_JSON`` itself. tests/ledger/test_record.py compares the two on
    generated rows.
    """
    global _encode
    if _encode is None:  # here: importing msgspec costs commands that never hash a record
        import msgspec

        _encode = msgspec.json.Encoder().encode
    for value in row:  # a plain loop: a third of the time of all() over a generator
        if type(value) is float and value and not 1e-4 <= abs(value) < 1e16:
            break  # an identity row's timings, printed otherwise by the two
    else:
        out = _encode(row)
        if out.isascii() and b"\x7f" not in out:
            return out
    return _HASH_JSON.encode(list(row)).encode("ascii")


_TEXT_FIELDS = (*ATTRIBUTION_FIELDS, "request_id")


def validate(rec: UsageRecord) -> None:
    """Raise :class:`RecordError` naming the field if ``rec`` breaks a rule of the record."""
    check_ts(rec.ts, "ts")
    if rec.ts_end is not None:
        check_ts(rec.ts_end, "ts_end")
        if rec.ts_end < rec.ts:
            raise RecordError("is before ts", field="ts_end")
    if not isinstance(rec.model, str) or not rec.model.strip():
        raise RecordError("is missing", field="model")
    if not isinstance(rec.provider, str) or not rec.provider.strip():
        raise RecordError("is missing", field="provider")
    _check_text(rec.model, "model")
    _check_text(rec.provider, "provider")
    for name in COUNT_FIELDS:
        value = getattr(rec, name)
        if type(value) is int and 0 <= value <= MAX_STORED:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(f"must be an integer, got {short(value)}", field=name)
        if value < 0:
            raise RecordError(f"must not be negative, got {short(value)}", field=name)
        raise RecordError(f"is too large to store (over {MAX_STORED:,})", field=name)
    if rec.reasoning > rec.output:
        raise RecordError(
            f"({rec.reasoning}) is larger than output ({rec.output}); reasoning is part of output",
            field="reasoning",
        )
    if rec.service_tier not in SERVICE_TIERS:
        raise RecordError(
            f"must be one of {', '.join(SERVICE_TIERS)}, got {rec.service_tier!r}",
            field="service_tier",
        )
    if rec.status not in STATUSES:
        raise RecordError(
            f"must be one of {', '.join(STATUSES)}, got {rec.status!r}", field="status"
        )
    for name in _TEXT_FIELDS:
        value = getattr(rec, name)
        if value is None or (type(value) is str and value.isascii() and len(value) <= MAX_TEXT):
            continue  # the common cases, checked without a call
        if type(value) is not str:
            raise RecordError(f"must be a string, got {type(value).__name__}", field=name)
        _check_text(value, name)
    if not isinstance(rec.tags, dict):
        raise RecordError("must map non-empty names to strings", field="tags")
    for k, v in rec.tags.items():
        if not (isinstance(k, str) and k and isinstance(v, str)):
            raise RecordError("must map non-empty names to strings", field="tags")
        _check_text(k, "tags")
        _check_text(v, "tags")
    if rec.source_id is not None:
        _check_text(rec.source_id, "id")
    for name in ("latency_ms", "ttft_ms"):
        value = getattr(rec, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(f"must be a number, got {short(value)}", field=name)
        if not 0 <= value <= MAX_DURATION_MS:  # NaN fails this too
            raise RecordError(
                f"must be a non-negative number of milliseconds (at most {MAX_DURATION_MS:,}), "
                f"got {short(value)}",
                field=name,
            )
    cost = rec.reported_cost_usd
    if cost is not None:
        if not isinstance(cost, Decimal) or not cost.is_finite():
            raise RecordError(
                f"must be a finite decimal, got {short(cost)}", field="reported_cost_usd"
            )
        check_money(cost, "reported_cost_usd")


def check_plausible(rec: UsageRecord) -> None:
    """The bounds of one record read from a source (a request, or one provider bucket):
    beyond them a count is a corrupt value, not usage. Aggregates built by reports are not
    held to them (a month of a big organisation's traffic may pass 10^12 tokens)."""
    for name in COUNT_FIELDS:
        limit = MAX_REQUESTS if name == "requests" else MAX_COUNT
        if getattr(rec, name) > limit:
            raise RecordError(f"is implausibly large (over {limit:,})", field=name)


def _check_text(value: str, name: str) -> None:
    """Text the ledger can store: valid Unicode (no lone surrogates), of bounded length."""
    if value.isascii() and len(value) <= MAX_TEXT:  # the common case
        return
    if len(value) > MAX_TEXT:
        raise RecordError(f"is longer than {MAX_TEXT:,} characters", field=name)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RecordError(
                "is not valid Unicode text (a lone surrogate or undecodable bytes)", field=name
            ) from None


def _fast_init(cls: type) -> None:
    """Give ``cls`` an ``__init__`` with the dataclass's own signature and defaults that fills
    the instance's dict in one step, then validates.

    A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__``:
    for the record's 34 fields that is about 9 us, a fifth of parsing a log line, on every
    record of every ingest. This one costs about 6 us, checks included. The dataclass's own is
    kept as ``_dataclass_init`` (tests compare the two).
    """
    namespace: dict[str, Any] = {
        "_MISSING": MISSING,
        "_validate": validate,
        "_set": object.__setattr__,
    }
    params, body = [], []
    for f in fields(cls):
        if f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    if {f.name} is _MISSING:\n        {f.name} = _factory_{f.name}()")
        else:
            params.append(f.name)
    values = ", ".join(f"{f.name!r}: {f.name}" for f in fields(cls))
    source = (
        f"def __init__(self, {', '.join(params)}):\n"
        + "".join(line + "\n" for line in body)
        + f"    _set(self, '__dict__', {{{values}}})\n"
        + "    _validate(self)\n"
    )
    exec(source, namespace)  # built from the class's own field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    # setattr: mypy rejects assigning __init__ through a variable of type ``type``
    setattr(cls, "_dataclass_init", cls.__dict__["__init__"])  # noqa: B010
    setattr(cls, "__init__", init)  # noqa: B010


_fast_init(UsageRecord)


def _defaults() -> dict[str, Any]:
    return {f.name: f.default for f in fields(UsageRecord) if f.default is not MISSING}


_DEFAULTS = _defaults()


_FIELD_NAMES = frozenset(f.name for f in fields(UsageRecord))


def stored_record(values: dict[str, Any]) -> UsageRecord:
    """A record from a value for each of its fields (as read back from a ledger), checked as
    any record is. ``values`` becomes the record's own: the caller must not keep it. Skips
    the keyword call and its copy of the values: 3.1 us against 4.7 us for
    ``UsageRecord(**values)``, most of which is the checks."""
    if values.keys() != _FIELD_NAMES:
        raise TypeError(f"a stored record needs exactly these fields: {sorted(_FIELD_NAMES)}")
    rec = object.__new__(UsageRecord)
    object.__setattr__(rec, "__dict__", values)
    validate(rec)
    return rec


def aggregate_record(**values: Any) -> UsageRecord:
    """A record standing for a sum of stored records (a group of the ledger), for pricing.

    Its parts were validated one by one when they were written; their sum is not checked again
    (a day's tokens may pass one record's bound, and checking is most of the cost of pricing
    tens of thousands of groups). ``tags`` defaults to an empty dict.
    """
    rec = object.__new__(UsageRecord)
    object.__setattr__(rec, "__dict__", {**_DEFAULTS, "tags": {}, **values})
    return rec
