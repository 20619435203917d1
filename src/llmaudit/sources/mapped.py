"""Any other JSON / JSON-lines / CSV log, through a field mapping.

``--map FIELD=PATH`` (repeatable) or a mapping saved in config (``mappings.NAME``) says where
each record field is: ``model=resp.model``, ``user=meta.uid``, ``input_tokens=usage.in``. FIELD
is a field of the interchange format (docs/format.md; token fields follow its convention, input
including cache tokens), or ``uncached_input_tokens`` for logs that count input without cache,
or ``tag.NAME``. PATH is dotted into nested objects; for CSV it is the column name. Times may be
ISO-8601 with an offset or Unix seconds / milliseconds.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from llmaudit.errors import InputError, RecordError, UsageError
from llmaudit.model.interchange import FIELDS, TOKEN_KEYS
from llmaudit.model.reject import Reject
from llmaudit.model.values import format_ts
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import LINE_ERRORS, any_time, count, dig, line_reject
from llmaudit.sources.documents import rows
from llmaudit.sources.llmaudit_jsonl import record_from_object

KIND = "mapped"
EXTRA_FIELDS = ("uncached_input_tokens",)


def check_mapping(mapping: dict[str, str], *, complete: bool = True) -> None:
    for field in mapping:
        if field in FIELDS or field in EXTRA_FIELDS or (field.startswith("tag.") and field[4:]):
            continue
        raise UsageError(
            f"--map: unknown field {field!r}; use one of {', '.join(FIELDS)}, "
            "uncached_input_tokens or tag.NAME"
        )
    if complete and ("model" not in mapping or "ts" not in mapping):
        raise UsageError("--map: map at least ts and model (e.g. --map ts=time --map model=m)")


def _get(row: Any, path: str) -> Any:
    if isinstance(row, dict) and path in row:
        return row[path]
    return dig(row, *path.split("."))


def to_object(row: Any, mapping: dict[str, str]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    for field, path in mapping.items():
        value = _get(row, path)
        if value is None or value == "":
            continue
        if field.startswith("tag."):
            tags[field[4:]] = value if isinstance(value, (str, int, Decimal)) else str(value)
        elif field in TOKEN_KEYS or field in ("requests", "uncached_input_tokens"):
            obj[field] = count(value, field)
        elif field in ("ts", "ts_end"):
            obj[field] = format_ts(any_time(value, field))
        elif field in ("latency_ms", "ttft_ms"):
            try:
                obj[field] = Decimal(str(value))
            except ArithmeticError:
                raise RecordError(f"must be a number, got {value!r}", field=field) from None
        else:
            obj[field] = value if not isinstance(value, (int, float)) else str(value)
    uncached = obj.pop("uncached_input_tokens", None)
    if uncached is not None:
        obj["input_tokens"] = (
            uncached + obj.get("cache_read_tokens", 0) + obj.get("cache_write_tokens", 0)
        )
    if tags:
        obj["tags"] = tags
    return obj


class Mapped(Source):
    name = KIND
    summary = "any JSON / JSON-lines / CSV log, through --map FIELD=PATH or --mapping NAME"
    extensions = (".jsonl", ".json", ".csv", ".ndjson")
    appendable = False

    def sniff(self, head: str) -> bool:
        return False  # only by --map / --mapping

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        mapping = opts.mapping or {}
        check_mapping(mapping)
        _check_paths_occur(self._rows(inp), mapping, inp.location)
        for pos, raw, row in self._rows(inp):
            if isinstance(row, Reject):
                yield row
                continue
            try:
                obj = to_object(row, mapping)
                rec = record_from_object(obj, f"{inp.location}:{pos}")
            except LINE_ERRORS as err:
                yield line_reject(err, inp.location, pos, raw)
                continue
            yield _as_mapped(rec)

    def _rows(self, inp: InputFile) -> Iterator[tuple[int, str, Any]]:
        start = inp.head(512).lstrip()
        return rows(inp) if start[:1] in ("[", "{") else self._csv(inp)

    def _csv(self, inp: InputFile) -> Iterator[tuple[int, str, Any]]:
        with inp.open_text() as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                raw = ",".join(v for v in row.values() if isinstance(v, str))[:4096]
                yield reader.line_num, raw, row


def _check_paths_occur(
    source: Iterator[tuple[int, str, Any]], mapping: dict[str, str], location: str
) -> None:
    """A mapped path that no row of the input has is an error (it would read as 0 or nothing).

    Reads rows only until every path has been seen, which is usually the first one.
    """
    missing = dict(mapping)
    first: Any = None
    for _, _, row in source:
        if isinstance(row, Reject):
            continue
        if first is None:
            first = row
        for field, path in list(missing.items()):
            if _get(row, path) is not None:
                del missing[field]
        if not missing:
            return
    if first is None:
        return  # no rows at all: nothing is read, and that is said
    field, path = next(iter(missing.items()))
    known = ", ".join(_paths(first)[:30]) or "none"
    more = f" (and {len(missing) - 1} more mapped path(s) never found)" if len(missing) > 1 else ""
    raise InputError(f"--map {field}={path}: no row has {path!r}{more}; the first row has: {known}")


def _paths(row: Any, prefix: str = "", depth: int = 0) -> list[str]:
    out: list[str] = []
    if not isinstance(row, dict):
        return out
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < 3:
            out.extend(_paths(value, f"{name}.", depth + 1))
        else:
            out.append(name)
    return out


def _as_mapped(rec):
    from dataclasses import replace

    return replace(rec, source_kind=KIND)
