"""Helpers the log-format parsers share: paths into JSON, lenient numbers, times, attribution."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.reject import Reject
from llmaudit.model.values import MAX_COUNT, parse_ts, to_int
from llmaudit.sources.base import _TRAILING_COMMA, InputFile

# Keys apps use for attribution, in order of preference, -> the record's field.
ATTRIBUTION_KEYS: dict[str, tuple[str, ...]] = {
    "user": ("user", "user_id", "userId", "end_user", "enduser.id", "user.id", "uid"),
    "feature": ("feature", "feature_name", "use_case", "operation"),
    "team": ("team", "team_id", "teamId", "team_alias"),
    "customer": ("customer", "customer_id", "customerId", "tenant", "tenant_id", "org", "account"),
    "project": ("project", "project_id", "projectId", "app", "application"),
    "session": ("session", "session_id", "sessionId", "session.id", "conversation_id", "thread_id"),
    "environment": (
        "environment",
        "env",
        "deployment.environment",
        "deployment.environment.name",
        "stage",
    ),
    "api_key": ("api_key", "api_key_id", "key_alias", "key_name"),
}
# key -> (field, preference: lower wins when one dict has several keys for a field)
_KEY_FIELD = {
    key: (field, rank) for field, keys in ATTRIBUTION_KEYS.items() for rank, key in enumerate(keys)
}
ATTRIBUTION_NAMES = frozenset(_KEY_FIELD)  # every key :func:`attribution` reads as a field


# The most digits an integer may have: one of more is refused as invalid JSON.
INT_DIGITS = 40


def float_literal(text: str) -> Decimal:
    """A JSON float literal as the exact Decimal every decoder of lines reads it as."""
    try:
        value = Decimal(text)
    except ArithmeticError:  # an exponent beyond what a Decimal holds (1e2345678901234567890)
        raise ValueError(f"number {text[:24]}... is out of range") from None
    # a number no count, time or amount can be: refused before anything expands its digits
    if value and not -400 <= value.adjusted() <= 40:
        raise ValueError(f"number {text[:24]} is out of range")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > INT_DIGITS:
        raise ValueError(f"number {text[:24]}... is out of range")
    return int(text)


# One decoder for every line (building one per line is measurable): floats as exact
# Decimals, absurd numbers refused as invalid JSON.
_DECODER = json.JSONDecoder(parse_float=float_literal, parse_int=_integer)


def loads(text: str) -> Any:
    """JSON text -> value, with exact decimals; numbers beyond 1e40 are a ValueError."""
    return _DECODER.decode(text)


def dig(obj: Any, *path: str) -> Any:
    """``obj[a][b]...`` or None when any step is missing (dotted paths are one key each)."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def count(value: Any, field: str) -> int:
    """A token count that may be absent (0), a number, or a decimal string (OTLP int64)."""
    if type(value) is int and 0 <= value <= MAX_COUNT:  # the common case, checked cheaply
        return value
    if value is None or value == "":
        return 0
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            raise RecordError(f"must be an integer, got {value!r}", field=field)
        value = int(text)
    return to_int(value, field)


def unix_time(value: Any, field: str, scale: int = 1) -> datetime:
    """Seconds (or ``scale`` units a second, e.g. 10**9 for nanoseconds) since the epoch."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"must be a Unix time, got {value!r}", field=field)
    try:
        number = Decimal(str(value).strip()) / scale
        return datetime.fromtimestamp(float(number), timezone.utc)
    except (ArithmeticError, ValueError, OverflowError, OSError):
        raise RecordError(f"must be a Unix time, got {value!r}", field=field) from None


def any_time(value: Any, field: str) -> datetime:
    """ISO-8601 text (offset required) or a Unix time in s, ms, us or ns (by magnitude)."""
    if type(value) is int and 0 <= value < 10**10:
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str) and not value.strip().replace(".", "", 1).isdigit():
        return parse_ts(value, field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(f"must be a time, got {value!r}", field=field) from None
    for scale in (1, 1_000, 1_000_000, 1_000_000_000):
        if number / scale < 10**10:
            return unix_time(value, field, scale)
    raise RecordError(f"must be a time, got {value!r}", field=field)


def utc_naive(value: Any, field: str, tz: tzinfo | None = None) -> datetime:
    """A time its producer writes without an offset but documents as UTC (LiteLLM's
    '2026-08-18 09:14:03.401', BigQuery's TIMESTAMPs, OpenRouter's export): UTC, or the zone
    ``ingest --tz`` names. A time with an offset keeps it; a number is a Unix time."""
    if isinstance(value, str):
        try:
            return parse_ts(value, field)
        except RecordError as exc:
            if "no time zone offset" not in exc.reason:
                raise
            if tz is None or tz is timezone.utc:
                return parse_ts(value.strip() + "Z", field)
            local = datetime.fromisoformat(value.strip().replace(" ", "T")).replace(tzinfo=tz)
            return parse_ts(local.isoformat(), field)
    return any_time(value, field)


def required(obj: dict[str, Any], key: str) -> str:
    """``obj[key]`` as non-empty text, or a RecordError naming ``key``."""
    value = text(obj.get(key))
    if value is None:
        raise RecordError("is missing", field=key)
    return value


def text(value: Any) -> str | None:
    """A non-empty trimmed string from a scalar, else None."""
    if type(value) is str:
        out = value.strip()
        return out or None
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    out = str(value).strip()
    return out or None


def attribution(*sources: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Attribution fields and leftover tags from flat dicts of app metadata (first dict wins)."""
    fields: dict[str, str] = {}
    tags: dict[str, str] = {}
    for src in sources:
        if not isinstance(src, dict):
            continue
        found: dict[str, tuple[int, str]] = {}
        for key, value in src.items():
            hit = _KEY_FIELD.get(key)
            if hit is None:
                if key not in tags and isinstance(key, str) and key:
                    value = text(value)
                    if value is not None:
                        tags[key] = value
                continue
            field, rank = hit
            if field in fields or (field in found and found[field][0] <= rank):
                continue
            value = text(value)
            if value:
                found[field] = (rank, value)
        for field, (_, value) in found.items():
            fields[field] = value
    return fields, tags


def fill_fields(fields: dict[str, str], src: Any) -> None:
    """Add the attribution fields ``src`` has that ``fields`` lacks (no tags)."""
    if not isinstance(src, dict):
        return
    best: dict[str, tuple[int, str]] = {}
    for key, value in src.items():
        hit = _KEY_FIELD.get(key)
        if hit is None or hit[0] in fields:
            continue
        field, rank = hit
        if field in best and best[field][0] <= rank:
            continue
        value = text(value)
        if value:
            best[field] = (rank, value)
    for field, (_, value) in best.items():
        fields[field] = value


def json_lines(inp: InputFile) -> Iterator[tuple[int, str, Any]]:
    """``(line number, raw line, parsed object or a Reject)`` for each non-blank line.

    An unterminated last line that is not valid JSON is a write in progress when the input is
    resumable: it is left (``inp.pending_tail``) for the next run instead of being rejected.
    """
    for lineno, data, ended in inp.lines():
        got = json_line(inp, lineno, data, ended)
        if got is TAIL:
            return
        if got is not None:
            yield got


TAIL: Any = object()  # json_line's answer for a write in progress: stop reading


def json_line(inp: InputFile, lineno: int, data: bytes, ended: bool) -> Any:
    """One line of :meth:`InputFile.lines` as :func:`json_lines` reads it: ``(line number, raw
    line, object or Reject)``, None for a blank line, or :data:`TAIL` for a last line still
    being written (``inp`` is then rewound to before it)."""
    if lineno == 1 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        return None
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError:
        if not ended and inp.resumable:  # cut inside a character: a write in progress
            return _pending(inp, data)
        printable = data.decode("utf-8", "replace")
        return (
            lineno,
            printable,
            Reject(inp.location, lineno, "line is not valid UTF-8", None, printable),
        )
    try:
        obj = loads(raw)
    except (ValueError, RecursionError) as exc:
        if not ended and inp.resumable:
            return _pending(inp, data)
        reason = f"invalid JSON: {exc}"
        if not ended:
            reason = f"truncated last line (no newline): {exc}"
        return lineno, raw, Reject(inp.location, lineno, reason, None, raw)
    return lineno, raw, obj


def _pending(inp: InputFile, data: bytes) -> Any:
    inp.pending_tail = True
    inp.consumed -= len(data)
    inp.lines_read -= 1
    return TAIL


def first_json_objects(head: str, limit: int = 5) -> list[Any]:
    """The first few JSON values of a JSON-lines head (for sniffing), skipping a cut-off tail."""
    out = []
    for line in head.splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            break
        if len(out) >= limit:
            break
    return out


_LIST_KEYS = ("data", "results", "items", "rows", "observations", "logs")


def first_objects(head: str, limit: int = 3) -> list[Any]:
    """The first values of JSON lines, or the first items of a JSON array or of a page's
    list (``{"data": [...]}``), or the one document, for sniffing."""
    objs = first_json_objects(head, limit)
    if not objs:
        doc = whole_json(head)
        objs = doc[:limit] if isinstance(doc, list) else [] if doc is None else [doc]
    if objs and isinstance(objs[0], list):  # an array on one line
        objs = objs[0][:limit]
    if len(objs) == 1 and isinstance(objs[0], dict):  # a page: its items
        for key in _LIST_KEYS:
            items = objs[0].get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                return items[:limit]
    return objs


def whole_json(head: str) -> Any:
    try:
        return json.loads(head)
    except ValueError:
        fixed, n = _TRAILING_COMMA.subn("]", head)
        if n:
            try:
                return json.loads(fixed)
            except ValueError:
                pass
        return None


class Skip(Exception):
    """An item that is well formed but not usage (a billing row for storage, a day without
    usage): counted as skipped under ``reason``, never a reject and never silent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# What reading one line (one row, one span) may raise: a bad value of any type, size or
# encoding. Each becomes a reject of that line; the lines around it are read as usual.
LINE_ERRORS: tuple[type[BaseException], ...] = (
    RecordError,
    ValueError,  # UnicodeError included
    TypeError,
    AttributeError,
    LookupError,
    ArithmeticError,  # OverflowError, decimal.InvalidOperation
    RecursionError,
)


def line_reject(err: BaseException, location: str, line: int | None, raw: str | None) -> Reject:
    """One line's failure as the reject that stands for it (reason and field named)."""
    problem = line_error(err)
    return Reject(location, line, problem.reason, problem.field, raw)


def line_error(exc: BaseException) -> RecordError:
    """The :class:`RecordError` a line's failure is reported as."""
    if isinstance(exc, RecordError):
        return exc
    detail = str(exc)
    if len(detail) > 120:
        detail = detail[:117] + "..."
    return RecordError(f"cannot be read ({type(exc).__name__}: {detail})")
