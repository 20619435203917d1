from __future__ import annotations

from decimal import Decimal

import pytest

from llmaudit.render import Column, Format, Table, render_text
from llmaudit.render.json import render_json

TABLE = Table(
    "Spend",
    [Column("feature", "feature"), Column("cost", "cost", "right", lambda v: f"${v}")],
    [{"feature": "chat|search\nv2", "cost": Decimal("0.004")}, {"feature": None, "cost": 1}],
)


@pytest.mark.parametrize("fmt", [f for f in Format if f not in (Format.TABLE, Format.HTML)])
def test_every_text_format_renders(fmt):
    assert render_text(fmt, [TABLE], {"rows": TABLE.rows})


def test_table_format_needs_a_console():
    with pytest.raises(ValueError):
        render_text(Format.TABLE, [TABLE], {})


def test_markdown_escapes_pipes_and_newlines():
    assert render_text(Format.MARKDOWN, [TABLE], {}) == (
        "### Spend\n\n| feature | cost |\n|---|---:|\n| chat\\|search v2 | $0.004 |\n|  | $1 |"
    )


def test_csv_keeps_raw_values():
    assert render_text(Format.CSV, [TABLE], {}) == 'feature,cost\n"chat|search\nv2",0.004\n,1'


def test_json_is_one_object_with_version_and_exact_decimals():
    assert render_json({"cost": Decimal("0.00000123")}) == (
        '{\n  "version": 1,\n  "cost": "0.00000123"\n}'
    )
