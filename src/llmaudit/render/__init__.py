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


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    align: str = "left"  # "left" or "right"
    fmt: Callable[[Any], str] | None = None  # display formatting (table and markdown only)
    # Lower numbers are dropped last when a terminal table is too narrow.
    priority: int = 0

    def show(self, value: Any) -> str:
        if value is None:
            return ""
        return self.fmt(value) if self.fmt else str(value)


@dataclass
class Table:
    title: str | None
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    show_header: bool = True


def render_text(fmt: Format, tables: list[Table], data: dict[str, Any]) -> str:
    """Every format but ``table`` (which needs a console): the text to write to stdout."""
    if fmt is Format.JSON:
        from llmaudit.render.json import render_json

        return render_json(data)
    if fmt is Format.CSV:
        from llmaudit.render.csv import render_csv

        return render_csv(tables[-1])
    if fmt is Format.MARKDOWN:
        from llmaudit.render.markdown import render_markdown

        return render_markdown(tables)
    raise ValueError(f"{fmt} is rendered on a console")
