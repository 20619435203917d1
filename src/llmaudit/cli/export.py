"""``llmaudit export``: every record with its cost, for spreadsheets, warehouses and merges."""

from __future__ import annotations

import sys

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import build_filters, filter_options


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    default="jsonl",
    show_default=True,
    help="jsonl re-ingests with 'llmaudit ingest --format llmaudit'.",
)
@click.option(
    "-o", "--output", type=click.File("w"), default="-", help="Write here (default stdout)."
)
@filter_options
@click.pass_obj
def export(app: App, fmt: str, output, **kwargs) -> None:
    """Write the ledger's records with their costs, one row per record.

    Rows use the interchange format's fields (docs/format.md) plus cost_usd (empty when the
    model is unpriced), its parts, price_id and priced. Money is an exact decimal string.
    """
    from llmaudit.pricing.kernel import CostTotals, price_record
    from llmaudit.render.export import cost_fields, csv_lines, jsonl_lines
    from llmaudit.sources.llmaudit_jsonl import record_to_object

    filters = build_filters(kwargs)
    table = app.price_table
    totals = CostTotals()

    def rows():
        where, params = filters.sql()
        with app.open_ledger() as ledger:
            for record in ledger.iter_records(where, params):
                cost = price_record(record, table)
                totals.add(record, cost)
                yield {**record_to_object(record), **cost_fields(cost)}

    lines = jsonl_lines(rows()) if fmt == "jsonl" else csv_lines(rows())
    for line in lines:
        output.write(line + "\n")
    output.flush()
    unpriced = totals.records - totals.priced_records
    note = (
        f", {unpriced} unpriced ({', '.join(sorted(totals.unpriced_models))})" if unpriced else ""
    )
    print(
        f"exported {totals.records} records, ${totals.total.normalize():f} priced{note}",
        file=sys.stderr,
    )
