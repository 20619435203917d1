"""``llmaudit ingest``: read log files into the ledger."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import click

from llmaudit.cli.app import App
from llmaudit.errors import RejectedInput, UsageError

MAX_REJECTS_SHOWN = 20


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option}: {value!r} is not KEY=VALUE")
        out[key.strip()] = val.strip()
    return out


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
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="KEY=VALUE",
    help="Add a tag to every record (an attribution name such as environment fills "
    "that field where the record has none). Repeatable.",
)
@click.option(
    "--response-key",
    metavar="KEY",
    help="middleware: the dotted key under which each line holds the provider response.",
)
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=PATH",
    help="mapped: take FIELD (ts, model, input_tokens, user, ...) from PATH (dotted).",
)
@click.option(
    "--mapping", metavar="NAME", help="mapped: use the mapping saved in config under mappings.NAME."
)
@click.option(
    "--ts",
    "default_ts",
    metavar="WHEN",
    help="The time of records that carry none (OpenAI Batch embeddings results), ISO-8601 "
    "with an offset; default: the file's modification time, and the summary says so.",
)
@click.option(
    "--tz",
    "naive_tz",
    metavar="ZONE",
    help="LiteLLM and OpenRouter's export: the time zone of times written without an offset "
    "(default UTC, as both write them); an IANA name such as Europe/Paris.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("--list-formats", is_flag=True, help="List the formats llmaudit reads, and exit.")
@click.pass_obj
def ingest(
    app: App,
    paths: tuple[str, ...],
    fmt: str,
    source_name: str | None,
    tags: tuple[str, ...],
    response_key: str | None,
    maps: tuple[str, ...],
    mapping: str | None,
    as_json: bool,
    list_formats: bool,
    default_ts: str | None,
    naive_tz: str | None,
) -> None:
    """Ingest usage logs (files, directories, .gz, or - for stdin) into the ledger.

    With no PATH, finds the logs that coding agents keep on this machine (Claude Code, Codex
    CLI, Gemini CLI, and llm's logs.db) and ingests them.

    Re-running reads only what was appended since the last run, and re-ingesting the same
    input changes nothing. Lines that cannot be read are reported with file:line and reason,
    kept in the ledger ('llmaudit ledger rejects'), and make the command exit with 3; the good
    lines are ingested all the same.
    """
    from llmaudit.sources.registry import FORMATS

    if list_formats:
        width = max(len(n) for n in FORMATS)
        for name, source in FORMATS.items():
            click.echo(f"{name:<{width}}  {source.summary}")
        return
    if not paths:
        from llmaudit.sources.discover import discover, places

        found = discover()
        if not found:
            raise UsageError(
                "no input given, and no agent logs found on this machine (looked in "
                f"{places()}): name files or directories, or - for stdin"
            )
        for item in found:
            how = "" if item.why == "default" else f" (from {item.why})"
            app.info(f"found {item.what} logs: {item.path}{how}")
        paths = tuple(str(item.path) for item in found)
    if fmt != "auto" and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose from auto, {', '.join(FORMATS)}")

    from llmaudit.sources.base import Options
    from llmaudit.sources.ingest import IngestRequest
    from llmaudit.sources.ingest import ingest as run_ingest

    field_map = _mapping(app, mapping, maps)
    if field_map:
        from llmaudit.sources.mapped import check_mapping

        # for the structured reader, --map overrides single fields of what it infers
        check_mapping(field_map, complete=fmt != "structured")
        if fmt == "auto":
            fmt = "mapped"
    request = IngestRequest(
        paths=list(paths),
        fmt=fmt,
        source_name=source_name,
        tags=_pairs(tags, "--tag"),
        options=Options(
            response_key=response_key,
            mapping=field_map,
            default_ts=_default_ts(default_ts),
            naive_tz=_zone(naive_tz),
        ),
    )
    shown = 0

    def report(result) -> None:  # called as each input finishes
        nonlocal shown
        for rj in result.rejects:
            if shown < MAX_REJECTS_SHOWN:
                field = f"{rj.field}: " if rj.field else ""
                app.info(f"{rj.where()}: {field}{rj.reason}")
            shown += 1
        c = result.counts
        if result.error:
            return
        if result.mode == "unchanged":
            app.info(f"{result.location}: unchanged since the last ingest")
            return
        if result.mode == "empty":
            app.info(f"{result.location}: empty, nothing to read")
            return
        note = {
            "appended": " (appended lines only)",
            "rewritten": " (changed since the last run: read again from the start)",
        }.get(result.mode, "")
        skipped = ""
        if result.skipped:
            lines = sum(result.skipped.values())
            why = ", ".join(f"{n:,} {reason}" for reason, n in result.skipped.items())
            skipped = f"; {lines:,} line(s) skipped: {why}"
        app.info(
            f"{result.location}: {c.added} added, {c.updated} updated, "
            f"{c.duplicate} duplicate, {c.rejected} rejected{note}{skipped}"
        )
        for note, n in result.notes.items():
            app.info(f"{result.location}: {n:,} record(s): {note}")
        if result.skipped and not (c.added or c.updated or c.duplicate or c.rejected):
            # nothing was usage: say so plainly
            app.info(f"{result.location}: no usage in it (see the lines skipped above)")
        if result.pending_tail:
            app.info(f"{result.location}: the last line is incomplete; it will be read next run")

    request.on_input = report
    with app.open_ledger() as ledger, _progress(app) as progress:
        request.on_progress = progress
        summary = run_ingest(ledger, request)
        ledger.refresh_rollup()
    _finish(app, summary, shown, as_json)


def _zone(name: str | None):
    if name is None:
        return None
    from llmaudit.model.timespec import zone

    return zone(name)


def _default_ts(text: str | None):
    if text is None:
        return None
    from llmaudit.errors import RecordError
    from llmaudit.model.values import parse_ts

    try:
        return parse_ts(text, "--ts")
    except RecordError as exc:
        raise UsageError(f"--ts: {exc.reason}") from None


def _mapping(app: App, name: str | None, maps: tuple[str, ...]) -> dict[str, str] | None:
    from llmaudit.config import get_key

    field_map: dict[str, str] = {}
    if name:
        saved = get_key(app.config, f"mappings.{name}")
        if not isinstance(saved, dict):
            raise UsageError(
                f"--mapping: no mapping named {name!r} in {app.config_path} "
                f"(set one with: llmaudit config set mappings.{name}.model resp.model)"
            )
        field_map.update({str(k): str(v) for k, v in saved.items()})
    field_map.update(_pairs(maps, "--map"))
    return field_map or None


class _progress:
    """Bytes read and records so far, per input (see render/progress.py)."""

    def __init__(self, app: App) -> None:
        from llmaudit.render.progress import LiveProgress

        self.live = LiveProgress(app.err, "bytes")

    def __enter__(self) -> Callable[[str, int, int | None, int], None]:
        self.live.__enter__()
        return self.update

    def update(self, location: str, done: int, total: int | None, records: int) -> None:
        self.live.update(location, location[-40:], completed=done, total=total, records=records)

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__()


def _finish(app: App, summary, shown: int, as_json: bool) -> None:
    for warning in summary.warnings:
        app.info(warning)
    for failed in summary.failed:
        app.info(f"{failed.location}: {failed.error}")
    for name, why in summary.unrecognised:
        app.info(f"{name}: skipped: {why}")
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
    _say_unpriced(app, summary)
    if as_json:
        body = {
            "version": 1,
            "inputs": [r.as_dict() for r in summary.inputs],
            "skipped": summary.skipped + [name for name, _ in summary.unrecognised],
            "warnings": summary.warnings,
            "totals": {
                "added": total.added,
                "updated": total.updated,
                "duplicate": total.duplicate,
                "rejected": total.rejected,
                "failed_inputs": len(summary.failed),
            },
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    if total.rejected or summary.failed:
        problems = []
        if total.rejected:
            problems.append(f"{total.rejected} line(s) rejected")
        if summary.failed:
            problems.append(f"{len(summary.failed)} input(s) not read")
        raise RejectedInput(
            ", ".join(problems), hint="the rest was ingested; see 'llmaudit ledger rejects'"
        )


def _say_unpriced(app: App, summary) -> None:
    """Never a silent $0: name the models read that no price entry prices."""
    from llmaudit.pricing.match import has_price

    models = summary.models
    if not models:
        return
    table = app.price_table
    unpriced: dict[str, int] = {}
    for (provider, model), tokens in models.items():
        if not has_price(table, provider, model):
            unpriced[model] = unpriced.get(model, 0) + tokens
    if unpriced:
        names = ", ".join(f"{m} ({t:,} tokens)" for m, t in sorted(unpriced.items()))
        app.info(
            f"unpriced: {names}: their cost is unknown, never $0 "
            "(see 'llmaudit pricing explain MODEL')"
        )
