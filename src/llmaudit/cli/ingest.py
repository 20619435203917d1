"""``llmaudit ingest``: read log files into the ledger."""

from __future__ import annotations

import click

from llmaudit.cli.app import App
from llmaudit.errors import RejectedInput, UsageError

MAX_REJECTS_SHOWN = 20


def _format_names() -> list[str]:
    from llmaudit.sources import FORMATS

    return ["auto", *FORMATS]


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    help="Input format; 'auto' detects it from the content. See --list-formats.",
)
@click.option("--source-name", metavar="NAME", help="Label this batch (default: the machine name).")
@click.option("--list-formats", is_flag=True, help="List the formats llmaudit reads, and exit.")
@click.pass_obj
def ingest(
    app: App, paths: tuple[str, ...], fmt: str, source_name: str | None, list_formats: bool
) -> None:
    """Ingest usage logs (files, directories, .gz, or - for stdin) into the ledger.

    Re-ingesting the same input changes nothing. Lines that cannot be read are reported with
    file:line and reason, kept in the ledger ('llmaudit ledger rejects'), and make the command
    exit with 3; the good lines are ingested all the same.
    """
    if list_formats:
        from llmaudit.sources import FORMATS

        width = max(len(n) for n in FORMATS)
        for name, source in FORMATS.items():
            click.echo(f"{name:<{width}}  {source.summary}")
        return
    if not paths:
        raise UsageError("no input given: name files or directories, or - for stdin")
    if fmt not in _format_names():
        raise UsageError(f"unknown format {fmt!r}; choose from {', '.join(_format_names())}")

    from llmaudit.sources.ingest import ingest as run_ingest

    shown = 0

    def report(result) -> None:  # called as each input finishes
        nonlocal shown
        for rj in result.rejects:
            if shown < MAX_REJECTS_SHOWN:
                field = f"{rj.field}: " if rj.field else ""
                app.info(f"{rj.where()}: {field}{rj.reason}")
            shown += 1
        c = result.counts
        app.info(
            f"{result.location}: {c.added} added, {c.updated} updated, "
            f"{c.duplicate} duplicate, {c.rejected} rejected"
        )

    with app.open_ledger() as ledger:
        summary = run_ingest(ledger, paths, fmt=fmt, source_name=source_name, on_input=report)
    for failed in summary.failed:
        app.info(f"{failed.location}: {failed.error}")
    if summary.skipped:
        app.info(f"skipped {len(summary.skipped)} file(s) no format reads (by name)")
    total = summary.counts
    if len(summary.inputs) > 1:
        app.info(
            f"total: {total.added} added, {total.updated} updated, {total.duplicate} duplicate, "
            f"{total.rejected} rejected from {len(summary.inputs)} inputs"
        )
    if shown > MAX_REJECTS_SHOWN:
        app.info(f"... and {shown - MAX_REJECTS_SHOWN} more rejects; see 'llmaudit ledger rejects'")
    if total.rejected or summary.failed:
        problems = []
        if total.rejected:
            problems.append(f"{total.rejected} line(s) rejected")
        if summary.failed:
            problems.append(f"{len(summary.failed)} input(s) not read")
        raise RejectedInput(
            ", ".join(problems), hint="the rest was ingested; see 'llmaudit ledger rejects'"
        )
