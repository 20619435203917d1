"""What the lean paths of sources share (see ``Source.lean``): decoding a line with orjson
when that gives exactly what the standard decoder would, and the values a lean path takes as
they are (canonical times, costs as decimal text). Each returns None (or False) when in doubt:
the line then takes the full path."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from llmaudit.ledger.writes import Prepared
from llmaudit.model.record import record_key, row_hash
from llmaudit.model.values import MONEY_MAX_EXP, MONEY_MIN_EXP, TS_MAX, TS_MIN
from llmaudit.sources.base import InputFile, Labels
from llmaudit.sources.common import LINE_ERRORS, TAIL, json_line

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
    key (``key``, else the one the source's id gives, else the hash's), as ``prepare`` has them."""
    digest = row_hash(ident)
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
_BIG = float(2**63)
_DAY_OK: dict[str, bool] = {}  # "YYYY-MM-DD" -> a real day inside the ledger's years


def canonical_ts(value: Any) -> str | None:
    """A canonical UTC time (``...T03:04:05[.ffffff]Z``) as the ledger stores it, else None."""
    if type(value) is not str:
        return None
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
    """A cost given as decimal text or an integer, as the ledger stores it; None for none;
    False when in doubt (a float's exact digits are the full path's to read)."""
    if value is None:
        return None
    if type(value) is int:
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


def _floats(value: Any) -> Iterator[float]:
    """The floats a decoded value holds, anywhere in it (where the two decoders differ)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            yield item


# The nesting a lean path takes: orjson reads 1,024 levels, the standard decoder as many as
# Python's stack has left (about 990), so a line nested deeper than this is the full path's.
MAX_DEPTH = 100


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


def plain_loads(data: bytes) -> tuple[Any, bool]:
    """The line decoded by orjson, or None when the standard decoder (``common.loads``) might
    read it otherwise: orjson refuses it, it is nested more than MAX_DEPTH levels, or it holds
    a float that may be something else there (0.0, which may be 1e-500, refused there; 2**63
    or more, which may be an integer beyond 64 bits, which orjson makes a float). A float it
    keeps is a float literal, which the standard decoder reads as a Decimal: it must not be
    used where the two differ. With it, whether the value holds any float at all (so that a
    caller need not look again)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None, True
    # each level opens with one of these: only a line with many can be deep
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH and _deeper_than(obj, MAX_DEPTH):
        return None, True
    seen = False
    stack = [obj]  # _floats' walk, inlined: a tenth less time on every line
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            continue
        if kind is dict:
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is float:
            if not item or not -_BIG < item < _BIG:
                return None, True
            seen = True
    return obj, seen


def has_float(value: Any) -> bool:
    """Whether a decoded value holds a float anywhere (where the two decoders differ)."""
    return next(_floats(value), None) is not None
