"""``llmaudit export``: every record with its cost, for spreadsheets, warehouses and merges."""

from __future__ import annotations

from typing import Any

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


def _budget_statuses(app: App, ledger: Any) -> list[dict[str, Any]]:
    """Each configured budget's standing now (its calendar period so far)."""
    from datetime import datetime, timezone

    from llmaudit.analysis.budgets import budget_status, budgets_from_config
    from llmaudit.config import alert_thresholds

    warning, critical = alert_thresholds(app.config)
    now = datetime.now(timezone.utc)
    return [
        budget_status(ledger, app.price_table, b, now, warning, critical)
        for b in budgets_from_config(app.config)
    ]


@export.command("openmetrics")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here.")
@click.pass_obj
def export_openmetrics(app: App, output) -> None:
    """Cost, request and token counters with labels, and each budget's period so far, in
    OpenMetrics text format (for a scraper that asks for OpenMetrics).

    node_exporter's textfile collector and the Pushgateway read 'export prometheus'.
    """
    from llmaudit.analysis.metrics import openmetrics

    with app.open_ledger(create=False) as ledger:
        output.write(openmetrics(ledger, app.price_table, _budget_statuses(app, ledger)))


@export.command("prometheus")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here.")
@click.pass_obj
def export_prometheus(app: App, output) -> None:
    """The same metrics in Prometheus's classic text format (HELP and TYPE on every metric):
    for node_exporter's textfile collector (a .prom file) or a Pushgateway."""
    from llmaudit.analysis.metrics import prometheus_text

    with app.open_ledger(create=False) as ledger:
        output.write(prometheus_text(ledger, app.price_table, _budget_statuses(app, ledger)))


@export.command("grafana")
@click.option("-o", "--output", type=click.File("w"), default="-", help="Write here.")
def export_grafana(output) -> None:
    """A Grafana dashboard (JSON) over the exported metrics, to import in Grafana: it asks for
    your Prometheus data source on import."""
    from llmaudit.render.grafana import dashboard_json

    output.write(dashboard_json())


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
