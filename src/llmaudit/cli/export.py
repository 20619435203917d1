"""``llmaudit export``: every record with its cost, for spreadsheets, warehouses and merges."""

from __future__ import annotations

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import build_filters, filter_options


@click.group(invoke_without_command=True)
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
@click.pass_context
def export(ctx: click.Context, fmt: str, output, **kwargs) -> None:
    """Write the ledger's records with their costs, one row per record.

    Rows use the interchange format's fields (docs/format.md) plus cost_usd (empty when the
    model is unpriced), its parts, price_id and priced. Money is an exact decimal string.
    Subcommands write the Prometheus path instead: 'export openmetrics' and
    'export prometheus-rules'.
    """
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    from llmaudit.model.interchange import record_to_object
    from llmaudit.pricing.kernel import CostTotals, price_record
    from llmaudit.render.export import cost_fields, csv_lines, jsonl_lines

    filters = build_filters(kwargs)
    table = app.price_table
    totals = CostTotals()

    def rows():
        with app.open_ledger(create=False) as ledger:
            for record in ledger.iter_records(filters):
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
    ctx.obj.info(f"exported {totals.records} records, ${totals.total.normalize():f} priced{note}")


@export.command("openmetrics")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here.")
@click.pass_obj
def export_openmetrics(app: App, output) -> None:
    """Cost, request and token counters with labels, in OpenMetrics text format.

    For node_exporter's textfile collector (write to a .prom file) or a Pushgateway.
    """
    from llmaudit.analysis.metrics import openmetrics

    with app.open_ledger(create=False) as ledger:
        output.write(openmetrics(ledger, app.price_table))


@export.command("prometheus-rules")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here.")
@click.pass_obj
def export_prometheus_rules(app: App, output) -> None:
    """Prometheus alerting rules (warning, critical, anomaly) from the configured budgets."""
    from llmaudit.analysis.budgets import budgets_from_config
    from llmaudit.analysis.metrics import prometheus_rules
    from llmaudit.config import alert_thresholds

    warning, critical = alert_thresholds(app.config)
    output.write(prometheus_rules(budgets_from_config(app.config), warning, critical))
