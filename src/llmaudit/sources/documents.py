"""Reading inputs that are either one JSON document (an array, or an API page with ``data``) or
JSON lines, as (position, raw text, object) triples like ``json_lines``."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from llmaudit.errors import DataError
from llmaudit.model.reject import Reject
from llmaudit.sources.base import _TRAILING_COMMA, InputFile
from llmaudit.sources.common import LINE_ERRORS, Skip, json_lines, line_reject, loads

LIST_KEYS = ("data", "results", "result", "items", "rows", "observations", "logs")


def rows(inp: InputFile) -> Iterator[tuple[int, str, Any]]:
    start = inp.head(4096).lstrip()
    if start.startswith("["):
        yield from _document(inp)
        return
    if start.startswith("{"):
        # One pretty-printed document, or JSON lines? A document's first line is not JSON.
        # (Read the whole first line: it may be far longer than the head.)
        first = _first_line(inp)
        try:
            json.loads(first)
        except (ValueError, RecursionError):
            yield from _document(inp)
            return
        objs = list(_peek_two(inp))
        if len(objs) == 1 and isinstance(objs[0], dict) and _list_in(objs[0]) is not None:
            yield from _document(inp)
            return
    yield from json_lines(inp)


def loads_document_exact(text: str) -> Any:
    """A whole document with exact decimals; Helicone's trailing comma before ``]`` allowed."""
    try:
        return loads(text)
    except ValueError:
        fixed, n = _TRAILING_COMMA.subn("]", text)
        if not n:
            raise
        return loads(fixed)


def _first_line(inp: InputFile) -> str:
    for _, data, _ in inp.lines():
        if data.strip():
            return data.decode("utf-8", "replace").lstrip("\ufeff")
    return ""


def _peek_two(inp: InputFile) -> Iterator[Any]:
    for n, (_, _, obj) in enumerate(json_lines(inp)):
        if n >= 2:
            return
        yield obj


def _list_in(obj: dict) -> list | None:
    for key in LIST_KEYS:
        if isinstance(obj.get(key), list):
            return obj[key]
    return None


def _document(inp: InputFile) -> Iterator[tuple[int, str, Any]]:
    with inp.open_text() as fh:
        try:
            doc = loads_document_exact(fh.read())
        except (ValueError, UnicodeDecodeError) as exc:
            yield 1, "", Reject(inp.location, None, f"invalid JSON document: {exc}", None, None)
            return
    items = doc if isinstance(doc, list) else (_list_in(doc) if isinstance(doc, dict) else None)
    if items is None:
        items = [doc]
    for i, item in enumerate(items, 1):
        yield i, json.dumps(item, default=str)[:4096], item


def csv_columns(head: str, delimiter: str = ",") -> set[str]:
    """The column names of a CSV's header line, for sniffing (quotes and a BOM removed)."""
    first = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    return {c.strip().strip('"') for c in first.split(delimiter)}


def csv_rows(
    inp: InputFile, delimiter: str = ","
) -> Iterator[tuple[int, str, dict[str, str] | Reject]]:
    """A CSV with a header, as (line, raw text, row) triples; a row whose number of cells is
    not the header's is a Reject in its place."""
    with inp.open_text() as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        for row in reader:
            raw = ",".join(v for v in row.values() if isinstance(v, str))[:4096]
            if None in row or any(v is None for v in row.values()):
                yield (
                    reader.line_num,
                    raw,
                    Reject(
                        inp.location,
                        reader.line_num,
                        "row has a different number of columns than the header",
                        None,
                        raw,
                    ),
                )
            else:
                yield reader.line_num, raw, row


def items(
    inp: InputFile,
    source: Iterable[tuple[int, str, Any]],
    build: Callable[[Any, str], Any],
    accept: Callable[[Any], bool] | None = None,
    other: str = "items of another kind",
) -> Iterator[Any]:
    """Records from ``source``'s (position, raw text, item) triples: ``build(item, location)``
    for each item ``accept`` takes (others counted as skipped under ``other``); an item that
    fails becomes a reject naming its position, one that raises ``Skip`` a skipped count."""
    for pos, raw, obj in source:
        if isinstance(obj, Reject):
            yield obj
        elif accept is not None and not accept(obj):
            inp.skipped[other] += 1
        else:
            try:
                yield build(obj, f"{inp.location}:{pos}")
            except Skip as skip:
                inp.skipped[skip.reason] += 1
            except LINE_ERRORS as err:
                yield line_reject(err, inp.location, pos, raw)


def all_or_nothing(
    inp: InputFile, source: Iterable[tuple[int, str, Any]], build: Callable[[Any], list[Any]]
) -> list[Any]:
    """Everything ``build`` makes of ``source``'s items, or a DataError naming the input, the
    first bad item's position and its field: for a file read whole as a bill, where a part of
    it would mislead (ingest's rule, one bad line rejected and the rest read, is for usage)."""
    out: list[Any] = []
    for pos, _raw, obj in source:
        if isinstance(obj, Reject):
            raise DataError(f"{inp.location}:{pos}: {obj.reason}")
        try:
            out += build(obj)
        except LINE_ERRORS as err:
            raise DataError(f"{inp.location}:{pos}: {err}") from None
    return out
