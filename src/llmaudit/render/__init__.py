"""Formatters: pure functions from tables and data to text. Only ``table`` touches rich."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON_SCHEMA_VERSION = 1


class Format(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"
    HTML = "html"  # report and demo only: one self-contained page


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20))}
_CONTROL.update({c: f"\\x{c:02x}" for c in (0x7F, *range(0x80, 0xA0))})
_CONTROL_ALL = {**_CONTROL, 0x09: "\\t", 0x0A: "\\n"}


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """Text from logs made safe for a terminal: control characters (ESC and the other C0/C1
    controls that start terminal escape sequences) shown as ``\\x1b``, never sent as is."""
    if text.isprintable():
        return text
    text = text.translate(_CONTROL if keep_newlines else _CONTROL_ALL)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (undecodable bytes in a file name or line)
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: a leading ``'``), and
    without terminal control characters; numbers such as ``-0.5`` stay numbers."""
    if value.startswith(FORMULA_START):
        try:
            float(value)
        except ValueError:
            value = "'" + value
    return printable(value)


def json_safe(text: str) -> str:
    """JSON text with the C1 controls that ``ensure_ascii=False`` lets through escaped."""
    if text.isascii():
        return text
    return "".join(f"\\u{ord(c):04x}" if 0x80 <= ord(c) < 0xA0 else c for c in text)


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    align: str = "left"  # "left" or "right"
    fmt: Callable[[Any], str] | None = None  # display formatting (table and markdown only)
    # Lower numbers are dropped last when a terminal table is too narrow.
    priority: int = 0
    fmt_none: bool = False  # call fmt for a missing value too (e.g. to print "unpriced")
    csv: bool = True  # False for what only decorates a terminal table (bars, markers)
    screen: bool = True  # False for raw values only CSV carries (the marker's flag)

    def show(self, value: Any) -> str:
        if self.fmt is not None:
            text = self.fmt(value) if value is not None or self.fmt_none else ""
        else:
            text = "" if value is None else str(value)
        return printable(text)


@dataclass
class Table:
    title: str | None
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    show_header: bool = True


def window_text(window: dict[str, Any]) -> str:
    """A report window as people read it: the first and the last day it covers in its zone
    ("2026-10-01 to 2026-10-31 (UTC)"); the window's end is exclusive, so an end at midnight
    is the day before's end."""
    from datetime import datetime, timedelta

    from llmaudit.errors import UsageError
    from llmaudit.model.timespec import zone

    try:
        tz = zone(window.get("tz"))
    except UsageError:
        tz = zone(None)
    since, until = (
        datetime.fromisoformat(window[k].replace("Z", "+00:00")).astimezone(tz)
        for k in ("since", "until")
    )
    last = (until - timedelta(microseconds=1)).date()
    return f"{since.date().isoformat()} to {last.isoformat()} ({window['tz']})"


def render_text(
    fmt: Format, tables: list[Table], data: dict[str, Any], csv_table: Table | None = None
) -> str:
    """Every format but ``table`` (which needs a console): the text to write to stdout. CSV is
    one table with one header row: ``csv_table`` when the command has one, else the first (the
    main) table."""
    if fmt is Format.JSON:
        from llmaudit.render.json import render_json

        return render_json(data)
    if fmt is Format.CSV:
        from llmaudit.render.csv import render_csv

        table = csv_table or (tables[0] if tables else Table(None, []))
        return render_csv(table)
    if fmt is Format.MARKDOWN:
        from llmaudit.render.markdown import render_markdown

        return render_markdown(tables)
    raise ValueError(f"{fmt} is rendered on a console")
