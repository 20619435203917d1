"""What the lean paths of sources share (see ``Source.lean``): decoding a line with msgspec
when that gives exactly what the standard decoder would, and the values a lean path takes as
they are (canonical times, costs as decimal text). Each returns None (or False) when in doubt:
the line then takes the full path."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from llmaudit.ledger.writes import Prepared
from llmaudit.model.record import record_key, row_hash
from llmaudit.model.values import MONEY_MAX_EXP, MONEY_MIN_EXP, TS_MAX, TS_MIN
from llmaudit.sources.base import InputFile, Labels
from llmaudit.sources.common import INT_DIGITS, LINE_ERRORS, TAIL, float_literal, json_line

PASS: Any = object()  # a lean path's answer for a line it read that yields nothing


def lean_lines(
    inp: InputFile,
    take: Callable[[bytes, str], Any],
    full: Callable[[int, str, Any], Any],
) -> Iterator[Any]:
    """A source's lean path over ``inp``: ``take(line, "location:line")`` gives an item,
    :data:`PASS` (nothing to yield), or None (or raises one of LINE_ERRORS, before it has
    changed anything), and then the line takes the full path: decoded by the standard decoder
    (``json_line``) and read by ``full(lineno, raw, obj)``, whose None yields nothing. A last
    line still being written ends the input, as on the full path."""
    location = inp.location
    for lineno, data, ended in inp.lines():
        try:
            item = take(data, f"{location}:{lineno}")
        except LINE_ERRORS:  # a value no lean path foresaw: the full path words the reject
            item = None
        if item is PASS:
            continue
        if item is not None:
            yield item
            continue
        got = json_line(inp, lineno, data, ended)
        if got is TAIL:
            return
        if got is not None:
            item = full(*got)
            if item is not None:
                yield item


def lean_prepared(
    ident: tuple[Any, ...],
    kind: str,
    source_id: str | None,
    location: str,
    labels: Labels,
    output: int,
    key: str | None = None,
) -> Prepared:
    """The row a write needs, of an identity row a lean path built: its content hash, and its
    key (``key``, else the one the source's id gives, else the hash's), as ``prepare`` has them
    (the hash "" when the key does not depend on it)."""
    digest = "" if key or source_id else row_hash(ident)
    return Prepared(
        key or record_key(kind, source_id, digest),
        digest,
        ident,
        kind,
        labels.source_name,
        location,
        labels.machine,
        output,
    )


_CANONICAL_TS = re.compile(r"(\d{4}-\d\d-\d\d)T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.(\d{1,6}))?Z")
_DAY_OK: dict[str, bool] = {}  # "YYYY-MM-DD" -> a real day inside the ledger's years


# the last time read and its answer (one tuple, replaced whole): a Claude Code message's
# lines share their time
_LAST_TS: tuple[str, str | None] = ("", None)


def canonical_ts(value: Any) -> str | None:
    """A canonical UTC time (``...T03:04:05[.ffffff]Z``) as the ledger stores it, else None."""
    global _LAST_TS
    if type(value) is not str:
        return None
    last = _LAST_TS
    if value == last[0]:
        return last[1]
    out = _canonical_ts(value)
    _LAST_TS = (value, out)
    return out


def _canonical_ts(value: str) -> str | None:
    m = _CANONICAL_TS.fullmatch(value)
    if m is None:
        return None
    day, _, frac = m.groups()
    ok = _DAY_OK.get(day)
    if ok is None:
        try:
            ok = TS_MIN.year <= int(day[:4]) < TS_MAX.year and bool(
                datetime.strptime(day, "%Y-%m-%d")
            )
        except ValueError:
            ok = False
        if len(_DAY_OK) < 100_000:
            _DAY_OK[day] = ok
    if not ok:
        return None
    if frac is None:
        return f"{value[:-1]}.000000Z"
    return value if len(frac) == 6 else f"{value[:-1]}{'0' * (6 - len(frac))}Z"


def cost_text(value: Any) -> Any:
    """A cost given as a number or decimal text, as the ledger stores it (``to_decimal``'s
    value, written out); None for none; False when in doubt."""
    if value is None:
        return None
    if type(value) is int or type(value) is Decimal:
        amount = Decimal(value)
    elif type(value) is str and 0 < len(value) <= 100:
        try:
            amount = Decimal(value)
        except ArithmeticError:
            return False
    else:
        return False
    if not amount.is_finite() or (
        amount and not MONEY_MIN_EXP <= amount.adjusted() < MONEY_MAX_EXP
    ):
        return False
    return format(amount, "f")


# The nesting a lean path takes: the standard decoder and msgspec both read as many levels as
# Python's stack has left (about 990), which depends on where they are called from, so a line
# nested deeper than this is the full path's.
MAX_DEPTH = 100

# Lean paths decode with msgspec, reading each float literal through the standard decoder's
# own hook (``common.float_literal``): the same exact Decimal, or the same refusal of an absurd
# number. It reads every integer, where the standard decoder refuses one of more than
# INT_DIGITS digits: a line with such a run of digits anywhere is the full path's.
_DECODER = msgspec.json.Decoder(float_hook=float_literal)
_DIGITS_AND_OPENINGS = bytes(
    0x30 if 0x30 <= i <= 0x39 else 0x7B if i in (0x5B, 0x7B) else 0x20 for i in range(256)
)
_LONG_RUN = b"0" * (INT_DIGITS + 1)
# What a msgspec decoder raises on a line the full path is left to read (in msgspec 0.19 its
# DecodeError is no ValueError, and a hook's ValueError need not be wrapped in one)
DECODE_ERRORS = (msgspec.DecodeError, ValueError, RecursionError)


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        kind = type(item)
        if kind is dict or kind is list:
            stack.extend((child, depth + 1) for child in (item.values() if kind is dict else item))
    return False


def decode(data: bytes) -> Any:
    """The line as msgspec decodes it, floats read by the standard decoder's hook; None when
    msgspec refuses it. Integers are not checked: a lean path that takes this instead of
    :func:`plain_loads` refuses every integer it meets beyond :data:`INT_LIMIT`."""
    try:
        return _DECODER.decode(data)
    except DECODE_ERRORS:
        return None


INT_LIMIT = 10**INT_DIGITS  # an integer the standard decoder reads is below this, in size


def plain_loads(data: bytes) -> Any:
    """The line decoded as the standard decoder (``common.loads``) decodes it (floats as exact
    Decimals), or None when it might not: msgspec refuses it (NaN, a lone surrogate, which
    the standard decoder reads; or what both refuse), it is nested more than MAX_DEPTH
    levels, or it holds a run of digits that may be an integer the standard decoder refuses."""
    try:
        obj = _DECODER.decode(data)
    except DECODE_ERRORS:
        return None
    shape = data.translate(_DIGITS_AND_OPENINGS)
    if _LONG_RUN in shape:
        return None
    # each level opens with one of these: only a line with many can be deep
    if shape.count(b"{") > MAX_DEPTH and _deeper_than(obj, MAX_DEPTH):
        return None
    return obj
