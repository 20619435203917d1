"""``llmaudit ledger``: what the ledger holds, and what was rejected on the way in."""

from __future__ import annotations

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import format_option
from llmaudit.render import Column, Format, Table


@click.group()
def ledger() -> None:
    """Inspect the ledger."""


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError


def _when(ts: str | None) -> str:
    """``2026-11-01T09:05:00.000000Z`` -> ``2026-11-01 09:05:00 UTC`` for people."""
    return f"{ts[:10]} {ts[11:19]} UTC" if ts else "-"


@ledger.command("info")
@format_option
@click.pass_obj
def ledger_info(app: App, fmt: Format | None) -> None:
    """Path, size, schema version, counts, time range and sources of the ledger."""
    with app.open_ledger(create=False) as led:
        info = led.info()
    overview = Table(
        None,
        [Column("", "name"), Column("", "value")],
        [
            {"name": "path", "value": info["path"]},
            {"name": "size", "value": _size(info["size_bytes"])},
            {
                "name": "schema",
                "value": f"{info['schema_version']} ({info['schema_migration']})",
            },
            {"name": "records", "value": f"{info['records']:,}"},
            {"name": "requests", "value": f"{info['requests']:,}"},
            {"name": "from", "value": _when(info["first_ts"])},
            {"name": "to", "value": _when(info["last_ts"])},
            {"name": "ingests", "value": f"{info['ingests']:,}"},
            {"name": "rejects", "value": f"{info['rejects']:,}"},
        ],
        show_header=False,
    )
    sources = Table(
        "Sources",
        [
            Column("kind", "kind"),
            Column("name", "name"),
            Column("records", "records", "right", lambda v: f"{v:,}"),
            Column("ingests", "ingests", "right", lambda v: f"{v:,}"),
            Column("last seen", "last_seen", priority=1),
        ],
        info["sources"],
    )
    app.emit(fmt, [overview, sources], {"ledger": info}, csv_table=sources)


@ledger.command("rejects")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N rejects.")
@format_option
@click.pass_obj
def ledger_rejects(app: App, limit: int | None, fmt: Format | None) -> None:
    """List input that could not be ingested, with file:line and the reason."""
    with app.open_ledger(create=False) as led:
        rows = led.rejects(limit)
    for row in rows:
        row["where"] = f"{row['location']}:{row['line']}" if row["line"] else row["location"]
        raw = (row["raw"] or "").replace("\n", " ")
        row["excerpt"] = raw if len(raw) <= 40 else raw[:39] + "…"
    table = Table(
        None,
        [
            Column("where", "where"),
            Column("field", "field"),
            Column("reason", "reason"),
            Column("input", "excerpt", priority=1),
        ],
        rows,
    )
    if not rows and (fmt or app.default_format()) is Format.TABLE:
        app.info("no rejects")
        return
    app.emit(
        fmt, [table], {"rejects": [{k: v for k, v in r.items() if k != "excerpt"} for r in rows]}
    )


@ledger.command("copy")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="DB",
    help="The ledger to copy into: a file, or clickhouse://USER@HOST:PORT/DATABASE.",
)
@click.pass_obj
def ledger_copy(app: App, target: str) -> None:
    """Copy every record and reject of the ledger (--db) into another one.

    Moves a SQLite ledger to ClickHouse (or back). Records keep their keys, so copying again,
    or copying into a ledger that ingested some of the same logs, adds nothing twice. Billed
    cost lines and pull state stay behind: run `llmaudit pull` against the new ledger.
    """
    from llmaudit.ledger.copy import copy_ledger

    with app.open_ledger(create=False) as source, app.open_target(target) as dest:
        if str(dest.path) == str(source.path):
            from llmaudit.errors import UsageError

            raise UsageError(f"--to: {target} is the ledger being copied")
        summary = copy_ledger(source, dest)
    c = summary.counts
    rejects = f", {summary.rejects} reject{'s' if summary.rejects != 1 else ''}"
    app.info(
        f"copied {summary.records} records ({c.added} added, "
        f"{c.duplicate + c.updated} already there)"
        f"{rejects if summary.rejects else ''} into {dest.path}"
    )
