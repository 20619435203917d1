"""``llmaudit report`` and ``llmaudit demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import build_filters, filter_options, format_option
from llmaudit.errors import UsageError
from llmaudit.render import Format

SECTION_NAMES = ("summary", "spend", "models", "ratios", "cache", "latency", "trend")


def emit_report(app: App, report: dict, fmt: Format | None, single: bool) -> None:
    from llmaudit.render import render_text
    from llmaudit.render.report import long_rows, tables

    fmt = fmt or app.default_format()
    if report["window"] is None:
        if fmt is Format.JSON:
            sys.stdout.write(render_text(fmt, [], {"report": report}) + "\n")
        else:
            app.info("the ledger is empty: ingest something first (or try 'llmaudit demo')")
        return
    parts = tables(report)
    if fmt is Format.CSV and not single:
        parts = [long_rows(report)]
    app.emit(fmt, parts, {"report": report})


def run_report(
    app: App, ledger, sections, by, top, bucket, tz, filters, fmt, output: str | None = None
) -> None:
    top = top or 10**9  # --top 0: every row
    from llmaudit.analysis.report import ReportOptions, build_report
    from llmaudit.model.timespec import zone

    opts = ReportOptions(
        filters=filters,
        sections=sections,
        by=tuple(by) or ("feature",),
        top=top,
        bucket=bucket,
        tz=zone(tz),
        tz_name=tz or "UTC",
    )
    report = build_report(ledger, app.price_table, opts)
    if fmt is Format.HTML:
        _write_html(app, ledger, report, opts, output)
        return
    if output:
        with _redirect(output):
            emit_report(app, report, fmt or Format.JSON, single=len(sections) == 1)
        app.info(f"wrote {output}")
        return
    emit_report(app, report, fmt, single=len(sections) == 1)


def _write_html(app: App, ledger, report: dict, opts, output: str | None) -> None:
    """The report as one HTML page, with spend by feature, team and customer and the
    anomalies at the end of the data."""
    from dataclasses import replace
    from datetime import timedelta

    from llmaudit import __version__
    from llmaudit.analysis.budgets import anomaly_lines
    from llmaudit.analysis.report import build_report
    from llmaudit.render.html import report_html

    if not output:
        raise UsageError("--format html needs -o FILE (a page is not for the terminal)")
    if report["window"] is None:
        raise UsageError("the ledger is empty: ingest something first (or try 'llmaudit demo')")
    spend_by = {}
    for dim in ("feature", "team", "customer"):
        one = build_report(ledger, app.price_table, replace(opts, sections=("spend",), by=(dim,)))
        spend_by[dim] = one["sections"]["spend"]
    _, newest = ledger.time_span()
    until = opts.filters.until or newest + timedelta(microseconds=1)
    extras = {
        "spend_by": spend_by,
        "anomalies": anomaly_lines(
            ledger, app.price_table, min(until, newest + timedelta(microseconds=1))
        ),
    }
    page = report_html(report, extras, __version__)
    try:
        Path(output).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"-o: cannot write {output}: {exc.strerror}") from None
    app.info(f"wrote {output}")


class _redirect:
    """stdout into a file for the length of a block (the renderers write to stdout)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        try:
            self.fh = open(self.path, "w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"-o: cannot write {self.path}: {exc.strerror}") from None
        self.saved = sys.stdout
        sys.stdout = self.fh

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self.saved
        self.fh.close()


def _validate_by(by: tuple[str, ...]) -> None:
    from llmaudit.ledger.filters import DIMENSIONS

    for d in by:
        if d not in DIMENSIONS and not (d.startswith("tag:") and len(d) > 4):
            raise UsageError(
                f"--by: unknown dimension {d!r}; use one of {', '.join(DIMENSIONS)} or tag:KEY"
            )


@click.command()
@click.argument("section", required=False, type=click.Choice(SECTION_NAMES))
@click.option(
    "--by",
    "by",
    multiple=True,
    metavar="DIM",
    help="spend: group by user, feature, team, customer, project, api_key, model, "
    "provider, environment or tag:KEY (repeat for a cross table). Default: feature.",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Rows per table before the rest is summed up; 0 for all.",
)
@click.option(
    "--bucket",
    type=click.Choice(["hour", "day", "week", "month"]),
    default="day",
    show_default=True,
    help="trend: the size of a bar.",
)
@filter_options
@format_option
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Write to FILE instead of the terminal (needed for --format html).",
)
@click.pass_obj
def report(
    app: App,
    section: str | None,
    by: tuple[str, ...],
    top: int,
    bucket: str,
    fmt: Format | None,
    output: str | None,
    **kwargs,
) -> None:
    """Where the money goes: summary, spend, models, ratios, cache, latency and trend.

    All sections by default, or one SECTION. Without --since, the report covers the 30 days up
    to the newest record (whole days in --tz).
    """
    _validate_by(by)
    tz = kwargs.get("tz")
    from llmaudit.config import get_attribution

    filters = build_filters(kwargs, get_attribution(app.config))
    sections = (section,) if section else SECTION_NAMES
    with app.open_ledger(create=False) as ledger:
        run_report(app, ledger, sections, by, top, bucket, tz, filters, fmt, output)


@click.command()
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed.")
@click.option("--html", "html", metavar="FILE", help="Also write the report as an HTML page.")
@format_option
@click.pass_obj
def demo(app: App, seed: int, html: str | None, fmt: Format | None) -> None:
    """Build a month of realistic traffic for a fictional product and report on it.

    No keys and no data needed. The ledger is demo.db in llmaudit's data folder, rebuilt on
    every run (one file, never one more per run), unless --db (or LLMAUDIT_DB) names one.
    """
    from datetime import timedelta

    from llmaudit.config import default_data_dir
    from llmaudit.ledger.filters import Filters
    from llmaudit.ledger.store import Ledger
    from llmaudit.sources import demo as demo_source

    where: Path | str
    if app.clickhouse:
        where = app.clickhouse
        opened = app.open_clickhouse(where)
    else:
        if app._db is None:
            where = default_data_dir() / "demo.db"
            for suffix in ("", "-wal", "-shm", "-journal"):  # a fresh demo each run
                Path(f"{where}{suffix}").unlink(missing_ok=True)
        else:
            where = app.db_path
        opened = Ledger.open(where)
    with opened as ledger:
        iid = ledger.begin_ingest(
            kind=demo_source.KIND,
            source_name="demo",
            location="llmaudit demo",
            size=None,
            mtime=None,
            machine_id="demo",
        )
        records = list(demo_source.records(seed))
        counts = ledger.write(records, ingest_id=iid, source_kind=demo_source.KIND)
        ledger.finish_ingest(iid, counts)
        ledger.refresh_rollup()
        app.info(f"demo ledger: {where} ({len(records):,} requests of Acme Helpdesk, October 2026)")
        start = demo_source.START
        until = start.replace(month=start.month + 1)
        window = Filters(start, until)
        last_day = (until - timedelta(days=1)).date().isoformat()
        # the same window the demo reports (--until is a whole day, so October 31 included)
        app.info(
            f"explore it: llmaudit --db {where} report --since {start.date().isoformat()} "
            f"--until {last_day} spend --by team --by model"
        )
        if fmt is Format.HTML:
            raise UsageError("demo: write the page with --html FILE")
        run_report(app, ledger, SECTION_NAMES, (), 8, "day", None, window, fmt)
        if html:
            run_report(app, ledger, SECTION_NAMES, (), 8, "day", None, window, Format.HTML, html)
