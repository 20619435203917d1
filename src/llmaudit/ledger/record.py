"""The normalised usage record every source yields and the ledger stores.

Token categories are disjoint, so a cost is a plain sum of (tokens x price) over them:
``input_uncached + cache_read + cache_write_5m + cache_write_1h`` is all input, ``output`` is all
output including reasoning, and ``reasoning`` is a subset of ``output`` (never added twice).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from llmaudit.errors import RecordError

SERVICE_TIERS = ("standard", "batch", "flex", "priority")
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
# Values providers and gateways use for the standard tier.
_TIER_ALIASES = {
    "default": "standard",
    "auto": "standard",
    "on_demand": "standard",
    "scale": "priority",
}


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
        if self.source_id and self.source_id.startswith("rid:"):
            return self.source_id
        if self.source_id:
            return f"{self.source_kind}:{self.source_id}"
        return f"{self.source_kind}:{HASH_VERSION}:{content_hash or self.content_hash()}"


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
        json.dumps(rec.tags, sort_keys=True, ensure_ascii=False) if rec.tags else None,
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


def row_hash(row: tuple[Any, ...]) -> str:
    """The h1 content hash of an identity row (str, int, float and None values)."""
    payload = json.dumps(list(row), ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


_COUNT_FIELDS = ("requests", *TOKEN_FIELDS)
_TEXT_FIELDS = (*ATTRIBUTION_FIELDS, "request_id")


def check_ts(dt: Any, field_name: str = "ts") -> None:
    """A record's time: aware, and inside the ledger's span (1970 to 2100, UTC)."""
    if not isinstance(dt, datetime) or dt.tzinfo is None:
        raise RecordError("must be a timezone-aware datetime", field=field_name)
    try:
        inside = TS_MIN <= dt < TS_MAX
    except (OverflowError, ValueError):  # an offset pushing it past year 1 or 9999
        inside = False
    if not inside:
        raise RecordError(
            f"{dt.isoformat()} is outside the years {TS_MIN.year}..{TS_MAX.year - 1}",
            field=field_name,
        )


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
    for name in ("model", "provider"):
        _check_text(getattr(rec, name), name)
    for name in _COUNT_FIELDS:
        value = getattr(rec, name)
        if type(value) is int and 0 <= value <= MAX_STORED:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(f"must be an integer, got {_short(value)}", field=name)
        if value < 0:
            raise RecordError(f"must not be negative, got {_short(value)}", field=name)
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
        if value is not None:
            if type(value) is not str:
                raise RecordError(f"must be a string, got {type(value).__name__}", field=name)
            _check_text(value, name)
    if not isinstance(rec.tags, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in rec.tags.items()
    ):
        raise RecordError("must map non-empty names to strings", field="tags")
    for k, v in rec.tags.items():
        _check_text(k, "tags")
        _check_text(v, "tags")
    if rec.source_id is not None:
        _check_text(rec.source_id, "id")
    for name in ("latency_ms", "ttft_ms"):
        value = getattr(rec, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(f"must be a number, got {_short(value)}", field=name)
        if not 0 <= value <= MAX_DURATION_MS:  # NaN fails this too
            raise RecordError(
                f"must be a non-negative number of milliseconds (at most {MAX_DURATION_MS:,}), "
                f"got {_short(value)}",
                field=name,
            )
    cost = rec.reported_cost_usd
    if cost is not None:
        if not isinstance(cost, Decimal) or not cost.is_finite():
            raise RecordError(
                f"must be a finite decimal, got {_short(cost)}", field="reported_cost_usd"
            )
        check_money(cost, "reported_cost_usd")


def check_plausible(rec: UsageRecord) -> None:
    """The bounds of one record read from a source (a request, or one provider bucket):
    beyond them a count is a corrupt value, not usage. Aggregates built by reports are not
    held to them (a month of a big organisation's traffic may pass 10^12 tokens)."""
    for name in _COUNT_FIELDS:
        limit = MAX_REQUESTS if name == "requests" else MAX_COUNT
        if getattr(rec, name) > limit:
            raise RecordError(f"is implausibly large (over {limit:,})", field=name)


def _check_text(value: str, name: str) -> None:
    """Text the ledger can store: valid Unicode (no lone surrogates), of bounded length."""
    if len(value) > MAX_TEXT:
        raise RecordError(f"is longer than {MAX_TEXT:,} characters", field=name)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RecordError(
                "is not valid Unicode text (a lone surrogate or undecodable bytes)", field=name
            ) from None


def check_money(value: Decimal, field_name: str) -> Decimal:
    """A dollar amount within the ledger's bounds (|x| <= 1e9 $, resolution down to 1e-18 $)."""
    # adjusted() reads the exponent without expanding the digits: 1e999999999 stays cheap.
    if value and not (MONEY_MIN_EXP <= value.adjusted() < MONEY_MAX_EXP):
        raise RecordError(
            f"is out of range (amounts from 1e{MONEY_MIN_EXP} to 1e{MONEY_MAX_EXP} dollars), "
            f"got {_short(value)}",
            field=field_name,
        )
    return value


def _short(value: Any) -> str:
    """A value for an error message: its repr, cut short (never expanded: 1e400 stays 1e400)."""
    try:
        text = repr(value)
    except (ValueError, OverflowError):  # an int too long to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


# -- helpers sources share ------------------------------------------------------------------

_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)$"
)


def parse_ts(value: Any, field_name: str = "ts") -> datetime:
    """An ISO-8601 timestamp with an explicit offset (or ``Z``) -> an aware UTC datetime.

    A timestamp without an offset is rejected: guessing the zone would shift buckets silently.
    Fractions beyond microseconds are truncated.
    """
    if not isinstance(value, str):
        raise RecordError(f"must be an ISO-8601 string, got {_short(value)}", field=field_name)
    if len(value) > 64:
        raise RecordError(f"{_short(value)} is not an ISO-8601 timestamp", field=field_name)
    m = _TS_RE.match(value.strip())
    if not m:
        if re.match(r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?)?$", value.strip()):
            raise RecordError(
                f"{value!r} has no time zone offset; add Z or +HH:MM", field=field_name
            )
        raise RecordError(f"{value!r} is not an ISO-8601 timestamp", field=field_name)
    year, month, day, hour, minute, second, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    if tz in ("Z", "z"):
        offset = timedelta(0)
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    try:
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=timezone(offset),
        ).astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise RecordError(f"{_short(value)} is not a valid time: {exc}", field=field_name) from None
    check_ts(dt, field_name)
    return dt


def format_ts(dt: datetime) -> str:
    """UTC, fixed width (so text order is time order): ``2026-01-02T03:04:05.000000Z``."""
    if dt.tzinfo is not timezone.utc:
        dt = dt.astimezone(timezone.utc)
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def decimal_str(value: Decimal) -> str:
    """A Decimal as plain text without exponent, full precision."""
    text = format(value, "f")
    return text


def to_decimal(value: Any, field_name: str) -> Decimal:
    """A dollar amount (number or decimal text), exact, within :func:`check_money`'s bounds."""
    if isinstance(value, bool):
        raise RecordError(f"must be a number, got {value!r}", field=field_name)
    if isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and len(value) <= 100:
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise RecordError(f"must be a number, got {_short(value)}", field=field_name) from None
    else:
        raise RecordError(f"must be a number, got {_short(value)}", field=field_name)
    if not result.is_finite():
        raise RecordError(f"must be finite, got {_short(value)}", field=field_name)
    return check_money(result, field_name)


def _integral(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    # Decimal's `% 1` raises on huge exponents, so compare with the integral value instead
    return isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()


# Plausibility bounds of one record (which may be a bucket of many requests). A count beyond
# them is a corrupt value, not usage; keeping them this low means sums over millions of records
# stay far inside SQLite's 64-bit integers.
MAX_COUNT = 10**12  # tokens in one record
MAX_REQUESTS = 10**10  # requests in one (aggregated) record
MAX_STORED = 2**62  # any count, aggregates included: inside SQLite's 64-bit integers
MAX_DURATION_MS = 10**9  # latency / time to first token: about 11.5 days
MAX_TEXT = 4_194_304  # characters of one text field (4 Mi)
MONEY_MIN_EXP = -18  # the smallest non-zero amount kept: 1e-18 $
MONEY_MAX_EXP = 9  # amounts below 1e9 $
TS_MIN = datetime(1970, 1, 1, tzinfo=timezone.utc)
TS_MAX = datetime(2101, 1, 1, tzinfo=timezone.utc)  # exclusive: 2100 is the last year


def to_int(value: Any, field_name: str) -> int:
    """A token or request count: integers (or integral floats such as 12.0), never negative."""
    if isinstance(value, bool):
        raise RecordError(f"must be an integer, got {value!r}", field=field_name)
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 18:
        # checked before any arithmetic: 1E+999999999 would take minutes to expand
        raise RecordError(f"is implausibly large ({_short(value)})", field=field_name)
    if isinstance(value, int):
        result = value
    elif _integral(value):
        result = int(value)
    else:
        raise RecordError(f"must be an integer, got {_short(value)}", field=field_name)
    if result < 0:
        raise RecordError(f"must not be negative, got {_short(result)}", field=field_name)
    if result > MAX_COUNT:
        shown = f"{result:.3e}" if result < 10**300 else "over 1e300"
        raise RecordError(f"is implausibly large ({shown})", field=field_name)
    return result


def to_str(value: Any, field_name: str) -> str | None:
    """An attribution value: strings as they are, integers (ids) as text; empty means absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise RecordError(f"must be a string, got {value!r}", field=field_name)
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"must be a string, got {type(value).__name__}", field=field_name)
    return value if value.strip() else None


def normalize_service_tier(value: Any) -> str:
    if value is None or value == "":
        return "standard"
    if not isinstance(value, str):
        raise RecordError(f"must be a string, got {value!r}", field="service_tier")
    tier = value.strip().lower()
    tier = _TIER_ALIASES.get(tier, tier)
    if tier not in SERVICE_TIERS:
        raise RecordError(
            f"must be one of {', '.join(SERVICE_TIERS)}, got {value!r}", field="service_tier"
        )
    return tier


_SECRET_RE = re.compile(r"^(sk|rk|pk)[-_][A-Za-z0-9_\-]{16,}$")


def redact_api_key(value: str | None) -> str | None:
    """Attribution wants a key's identity, never the secret: full keys become ``sk-...wxyz``."""
    if value and _SECRET_RE.match(value):
        return f"{value[:3]}...{value[-4:]}"
    return value


_PROVIDER_PREFIXES = (
    (
        "openai",
        (
            "gpt-",
            "o1",
            "o3",
            "o4",
            "chatgpt-",
            "text-embedding-",
            "davinci",
            "babbage",
            "codex-",
            "computer-use-",
            "omni-moderation",
            "whisper",
            "tts-",
            "dall-e",
        ),
    ),
    ("anthropic", ("claude",)),
    ("google", ("gemini", "gemma", "text-embedding-004", "palm")),
    (
        "mistral",
        (
            "mistral",
            "mixtral",
            "codestral",
            "pixtral",
            "ministral",
            "magistral",
            "devstral",
            "open-mistral",
        ),
    ),
    ("deepseek", ("deepseek",)),
    ("xai", ("grok",)),
    ("cohere", ("command", "embed-", "rerank-")),
    ("meta", ("llama", "meta-llama")),
)


def infer_provider(model: str) -> str:
    """A best guess at the provider from a model name, ``unknown`` when there is none.

    Used only when a source does not say; ``provider/model`` names (OpenRouter, LiteLLM) give
    the prefix.
    """
    name = model.strip().lower()
    if "/" in name:
        return name.split("/", 1)[0]
    for provider, prefixes in _PROVIDER_PREFIXES:
        if name.startswith(prefixes):
            return provider
    return "unknown"
