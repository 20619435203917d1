"""``llmaudit pricing``: the price table, how a model name is matched, and importing prices."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import format_option
from llmaudit.errors import UsageError
from llmaudit.model.money import price
from llmaudit.render import Column, Format, Table

RATE_COLUMNS = (
    ("input", "input", 0),
    ("cache read", "cache_read", 1),
    ("write 5m", "cache_write_5m", 3),
    ("write 1h", "cache_write_1h", 4),
    ("output", "output", 0),
)


@click.group()
def pricing() -> None:
    """Look at and check the price table (USD per million tokens)."""


def _at(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    from llmaudit.model.timespec import parse_bound, zone

    moment, _ = parse_bound(value, option="--at", tz=zone(None), now=datetime.now(timezone.utc))
    return moment


def _period_row(model, period) -> dict:
    row = {"id": model.id, "provider": model.provider, "price_id": model.price_id(period)}
    row.update(period.rates.as_dict())
    row["long_context"] = f">{period.long_context.above:,}" if period.long_context else None
    row["from"] = period.start.date().isoformat() if period.start else None
    row["until"] = period.end.date().isoformat() if period.end else None
    return row


@pricing.command("list")
@click.option("--provider", "providers", multiple=True, help="Only this provider (repeatable).")
@click.option("--at", "at", metavar="DATE", help="Prices in force at DATE (default: now).")
@click.option("--all", "show_all", is_flag=True, help="Include retired models.")
@format_option
@click.pass_obj
def pricing_list(
    app: App, providers: tuple[str, ...], at: str | None, show_all: bool, fmt: Format | None
) -> None:
    """List priced models with the prices in force now (or --at DATE)."""
    table = app.price_table
    when = _at(at)
    rows = []
    for model in sorted(table.models.values(), key=lambda m: (m.provider, m.id)):
        if providers and model.provider not in providers:
            continue
        if model.retired and not show_all:
            continue
        period = model.period_at(when)
        if period is None:
            continue
        row = _period_row(model, period)
        row["checked"] = model.checked.isoformat() if model.checked else None
        rows.append(row)
    columns = [
        Column("model", "id"),
        Column("provider", "provider", priority=2),
        *(Column(h, k, "right", price, p) for h, k, p in RATE_COLUMNS),
        Column("long ctx", "long_context", "right", priority=5),
        Column("checked", "checked", priority=6),
    ]
    title = f"Prices in force at {when.date().isoformat()} (USD per 1M tokens)"
    app.emit(fmt, [Table(title, columns, rows)], {"at": when.isoformat(), "models": rows})
    built = f" (prices as of {table.generated.isoformat()})" if table.generated else ""
    app.info(f"{len(rows)} models from {', '.join(table.files)}{built}")


def _require_match(app: App, name: str):
    from llmaudit.pricing.match import match, suggest

    found = match(app.price_table, name)
    if found is None:
        near = suggest(app.price_table, name)
        hint = f"closest: {', '.join(near)}" if near else "see 'llmaudit pricing list'"
        raise UsageError(f"{name!r} matches no price entry", hint=hint)
    return found


@pricing.command("show")
@click.argument("model")
@format_option
@click.pass_obj
def pricing_show(app: App, model: str, fmt: Format | None) -> None:
    """Every price period of MODEL (any name that matches an entry)."""
    found = _require_match(app, model)
    entry = found.model
    rows = []
    for period in entry.periods:
        row = _period_row(entry, period)
        if period.long_context:
            row["long_context_rates"] = period.long_context.rates.as_dict()
        row["service_tiers"] = {
            k: (v if not hasattr(v, "as_dict") else v.as_dict())
            for k, v in period.service_tiers.items()
        }
        row["per_request"] = period.per_request
        row["web_search_per_1k"] = period.web_search_per_1k
        rows.append(row)
    info = {
        "id": entry.id,
        "provider": entry.provider,
        "name": entry.name,
        "aliases": list(entry.aliases),
        "unit": entry.unit,
        "source": entry.source,
        "checked": entry.checked.isoformat() if entry.checked else None,
        "notes": entry.notes,
        "retired": entry.retired,
        "file": entry.origin,
        "matched_by": found.rule,
        "periods": rows,
    }
    facts = Table(
        f"{entry.id} ({entry.name})",
        [Column("", "k"), Column("", "v")],
        [
            {"k": k, "v": v if not isinstance(v, list) else ", ".join(v) or "-"}
            for k, v in info.items()
            if k not in ("periods", "id", "name") and v not in (None, [], False)
        ],
        show_header=False,
    )
    periods = Table(
        "Price periods (USD per 1M tokens)",
        [
            Column("from", "from", fmt=str),
            Column("until", "until", fmt=str),
            *(Column(h, k, "right", price, p) for h, k, p in RATE_COLUMNS),
            Column("long ctx", "long_context", "right", priority=5),
        ],
        rows,
    )
    app.emit(fmt, [facts, periods], {"model": info}, csv_table=periods)


@pricing.command("explain")
@click.argument("model")
@click.option(
    "--at", "at", metavar="DATE", help="Explain the price in force at DATE (default: now)."
)
@click.option(
    "--provider",
    metavar="NAME",
    help="The provider the request went through, as logs name it (groq, bedrock, azure...).",
)
@format_option
@click.pass_obj
def pricing_explain(
    app: App, model: str, at: str | None, provider: str | None, fmt: Format | None
) -> None:
    """Which entry and rule price MODEL, and why; for an unmatched name, the closest ones.

    Prints text (also when piped); --format json gives the same facts as an object.
    """
    from llmaudit.pricing.explain import explain

    result = explain(app.price_table, model, _at(at), provider)
    if fmt in (None, Format.TABLE):
        sys.stdout.write("\n".join(result["lines"]) + "\n")
        return
    app.emit(
        fmt,
        [
            Table(
                None, [Column("explanation", "line")], [{"line": line} for line in result["lines"]]
            )
        ],
        {"explain": {k: v for k, v in result.items() if k != "lines"}},
    )


@pricing.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def pricing_check(app: App, files: tuple[Path, ...]) -> None:
    """Validate the price table: the bundled file, your layers, and FILES if given.

    Exits 3 naming the file, key and reason on the first error (unknown keys, bad numbers,
    overlapping periods, a name or prefix claimed by two entries in one file).
    """
    from llmaudit.pricing.explain import check_warnings
    from llmaudit.pricing.table import load_table

    table = load_table([*app.pricing_layers(), *files])
    periods = sum(len(m.periods) for m in table.models.values())
    for warning in check_warnings(table):
        app.warn(warning)
    built = f" (prices as of {table.generated.isoformat()})" if table.generated else ""
    click.echo(
        f"ok: {len(table.models)} models, {periods} price periods, "
        f"{len(table.providers)} providers from {', '.join(table.files)}{built}"
    )


@pricing.command("update")
@click.argument("source", metavar="FILE|URL")
@click.option("--yes", is_flag=True, help="Write the changes (without it, only show them).")
@click.pass_obj
def pricing_update(app: App, source: str, yes: bool) -> None:
    """Bring newer prices in from genai-prices' data.json or LiteLLM's price JSON (a file, or
    an http(s) URL), keeping history.

    A model whose price changed gets a new period from the date the data gives (or today);
    its earlier periods stay. Models the table lacks are added. Shows the changes; --yes writes
    them to the updates file in llmaudit's data folder, which every command then reads over
    the bundled table. For example, genai-prices' current data:
    https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/data.json
    """
    from datetime import date

    from llmaudit.pricing.table import load_table
    from llmaudit.pricing.update import entry_dict, plan_update, read_source
    from llmaudit.pricing.writer import dumps_table

    data = _fetch(app, source)
    fmt, entries = read_source(data, source)
    table = app.price_table
    plan = plan_update(table, entries, fmt, date.today())
    for change in plan.changes:
        sys.stdout.write(change.line + "\n")
    new = sum(c.kind == "new" for c in plan.changes)
    changed = len(plan.changes) - new
    summary = f"{fmt} data from {source}: {changed} changed price(s), {new} new model(s)"
    if plan.skipped:
        names = ", ".join(sorted(plan.skipped))
        app.info(
            f"left out {sum(plan.skipped.values())} model(s) of providers the table does not "
            f"price: {names}"
        )
    if not plan.changes:
        app.info(f"{summary}: the table is up to date")
        return
    target = app.updates_path
    if not yes:
        app.info(f"{summary}; run again with --yes to write them to {target}")
        return
    kept = {}
    if target.is_file():
        mine = load_table([target], bundled=False)
        kept = {mid: entry_dict(m) for mid, m in mine.models.items()}
    kept.update(plan.entries)
    header = [
        "Prices brought in by 'llmaudit pricing update', over the bundled table.",
        f"Last update: {fmt} data from {source} on {date.today().isoformat()}.",
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(dumps_table(sorted(kept.values(), key=lambda m: m["id"]), header=header) + "\n")
    load_table([tmp])  # what was written must load, or nothing is replaced
    tmp.replace(target)
    app.info(f"{summary}; wrote {len(kept)} model(s) to {target}")


def _fetch(app: App, source: str) -> Any:
    """A price data file's JSON: a path, or an http(s) URL through llmaudit's HTTP client."""
    import json

    from llmaudit.errors import DataError

    if source.startswith(("http://", "https://")):
        from llmaudit.http import Client

        client = Client(source, {}, provider="pricing update", key_env=None, secrets=[],
                        debug=app.debug)  # fmt: skip
        try:
            data, _ = client.get_json(source, [])
        finally:
            client.close()
        return data
    try:
        text = Path(source).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{source}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataError(f"{source}: not a UTF-8 text file") from None
    try:
        return json.loads(text, parse_float=str)
    except ValueError as exc:
        raise DataError(f"{source}: not JSON ({exc})") from None


@pricing.command("import-litellm")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (default stdout).",
)
@click.option(
    "--provider",
    "providers",
    multiple=True,
    help="Only this provider (llmaudit's name: openai, anthropic, google, bedrock, ...).",
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    help="LiteLLM modes to keep (default: chat, completion, responses, embedding).",
)
@click.pass_obj
def pricing_import_litellm(
    app: App, file: Path, output: Path | None, providers: tuple[str, ...], modes: tuple[str, ...]
) -> None:
    """Convert a LiteLLM-format price JSON into pricing.toml entries.

    Use the result as your own price file (config pricing.path, or --pricing FILE); it is
    layered over the bundled prices, so its entries win where names collide.
    """
    from llmaudit.pricing import litellm
    from llmaudit.pricing.writer import dumps_table

    kwargs = {"providers": providers}
    if modes:
        kwargs["modes"] = modes
    models = litellm.load(file, **kwargs)
    text = dumps_table(
        models, header=[f"Imported from {file.name} by llmaudit pricing import-litellm"]
    )
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    app.info(f"converted {len(models)} models from {file}")
