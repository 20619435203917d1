from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_narrow_tables_fold_names_at_word_boundaries():
    """At 60 columns a table of long prompt and model names folds them after - / _, so no
    line of the table splits a word that a boundary could have kept whole."""
    from rich.console import Console

    from llmaudit.render.table import fold, to_rich

    assert fold("claude-sonnet-4-5-20250929", 12) == "claude-\nsonnet-4-5-\n20250929"
    assert fold("prompts/summarise_long_doc.md", 14) == "prompts/\nsummarise_\nlong_doc.md"
    assert fold("abcdefghijklmnopqrstuvwxyz", 10) == "abcdefghij\nklmnopqrst\nuvwxyz"
    table = Table(
        "Cost check",
        [
            Column("prompt", "prompt"),
            Column("model", "model"),
            Column("old", "old", "right"),
            Column("new", "new", "right"),
            Column("status", "status"),
        ],
        [
            {
                "prompt": "prompts/customer-support/escalation-summary.md",
                "model": "claude-sonnet-4-5-20250929",
                "old": "$12.40",
                "new": "$13.10",
                "status": "warn",
            }
        ],
    )
    console = Console(width=60, record=True, color_system=None)
    console.print(to_rich(table, 60))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 60
    cells = [line.split("│")[1:3] for line in text.splitlines() if line.startswith("│")]
    prompt = "".join(c[0].strip() for c in cells)
    model = "".join(c[1].strip() for c in cells)
    assert (prompt, model) == (
        "prompts/customer-support/escalation-summary.md",
        "claude-sonnet-4-5-20250929",
    )
    for first, second in cells:  # every folded line ends at a boundary or the end
        for part in (first.strip(), second.strip()):
            assert part == "" or part[-1] in "-/_" or part.endswith(("summary.md", "20250929"))


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("1234.567", "$1,234.57"),
        ("1", "$1.00"),
        ("0.054", "$0.054"),
        ("0.02", "$0.02"),
        ("0.0000234", "$0.000023"),
        ("0.000000001", "$0.000000001"),
        ("0", "$0.00"),
        ("-0.5", "-$0.50"),
    ],
)
def test_one_money_format_for_people(amount, shown):
    """Cents from $1 up; below, two significant digits, so nothing non-zero shows as $0.00."""
    from llmaudit.model.money import usd

    assert usd(Decimal(amount)) == shown


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("6.197251150000000000000000001", "6.19725115"),
        ("120.421717675", "120.421717675"),
        ("2.50", "2.5"),
        ("1E+2", "100"),
        ("0.0000000004", "0"),
        ("0.0000000005", "0.000000001"),
    ],
)
def test_json_and_csv_money_is_a_decimal_string_to_a_billionth(amount, text):
    from llmaudit.model.money import decimal_text
    from llmaudit.render.csv import render_csv
    from llmaudit.render.json import render_json

    assert decimal_text(Decimal(amount)) == text
    assert json.loads(render_json({"x": Decimal(amount)}))["x"] == text
    table = Table(None, [Column("x", "x")], [{"x": Decimal(amount)}])
    assert render_csv(table).splitlines()[1] == text


# -- export's CSV rows ------------------------------------------------------------------------

_EXPORT_COLUMNS = ["ts", "model", "user", "tags", "latency_ms", "priced", "cost_usd", "requests"]


def _export_csv_by_the_writer(rows):
    """What export's CSV is, written cell by cell by the csv module (its rules: csv_safe on
    text, tags as sorted JSON, booleans as true/false), as export_csv first wrote it."""
    import csv
    import io

    from llmaudit.render import csv_safe
    from llmaudit.render.export import CSV_COLUMNS

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    lines = [buf.getvalue().rstrip("\n")]
    for row in rows:
        buf.seek(0)
        buf.truncate()
        cells = []
        for column in CSV_COLUMNS:
            value = row.get(column)
            if value is None:
                cells.append("")
            elif isinstance(value, bool):
                cells.append("true" if value else "false")
            elif isinstance(value, dict):
                cells.append(csv_safe(json.dumps(value, ensure_ascii=False, sort_keys=True)))
            elif isinstance(value, str):
                cells.append(csv_safe(value))
            else:
                cells.append(value)
        writer.writerow(cells)
        lines.append(buf.getvalue().rstrip("\n"))
    return lines


_CELL_TEXT = st.one_of(
    st.text(max_size=6),
    st.sampled_from(
        [
            "",
            "=1+1",
            "-0.5",
            "+x",
            "@SUM",
            "\tx",
            "\rx",
            'a"b',
            "a,b",
            "a\nb",
            "\x1b[31m",
            "é ü",
            " ",
        ]
    ),
)
_CELL = st.one_of(
    st.none(),
    _CELL_TEXT,
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.dictionaries(_CELL_TEXT, _CELL_TEXT, max_size=2),
)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(rows=st.lists(st.dictionaries(st.sampled_from(_EXPORT_COLUMNS), _CELL), max_size=4))
def test_export_csv_is_what_the_csv_writer_writes(rows):
    """csv_lines writes a row that needs no quoting itself: the very text the csv module
    writes, cell for cell, and any other row by that module."""
    from llmaudit.render.export import csv_lines

    assert list(csv_lines(rows)) == _export_csv_by_the_writer(rows)


def test_export_csv_quotes_what_needs_quoting():
    from llmaudit.render.export import csv_lines

    lines = list(
        csv_lines([{"model": 'a,"b"', "user": "x\ny", "tags": {"k": "=v"}, "priced": False}])
    )
    assert lines[1].startswith(',,,"a,""b""",')
    assert '"x\ny"' in lines[1] and '"{""k"": ""=v""}"' in lines[1]
    assert lines[1].endswith(",false")
