"""``llmaudit pull``, ``llmaudit reconcile`` and ``llmaudit attribute``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import format_option
from llmaudit.config import get_key
from llmaudit.errors import Findings, UsageError
from llmaudit.model.money import usd
from llmaudit.render import Column, Format, Table

PROVIDER_CHOICES = ("openai", "anthropic", "openrouter", "all")


def _when(value: str | None, option: str, end: bool = False) -> datetime | None:
    if not value:
        return None
    from llmaudit.model.timespec import parse_bound, zone

    moment, _ = parse_bound(
        value, option=option, tz=zone(None), now=datetime.now(timezone.utc), end=end
    )
    return moment


@click.command()
@click.argument("provider", type=click.Choice(PROVIDER_CHOICES))
@click.option("--since", metavar="WHEN", help="Start (a date or a span such as 30d). Default 30d.")
@click.option("--until", metavar="WHEN", help="End (default now).")
@click.option("--bucket", type=click.Choice(["1d", "1h"]), default="1d", show_default=True)
@click.option(
    "--base-url",
    metavar="URL",
    help="API base URL (proxies, tests); also "
    "LLMAUDIT_OPENAI_BASE_URL, LLMAUDIT_ANTHROPIC_BASE_URL and "
    "LLMAUDIT_OPENROUTER_BASE_URL.",
)
@click.option("--full", is_flag=True, help="Fetch the whole window again, not just what is new.")
@click.option("--rebuild", is_flag=True, help="Re-parse the stored raw pages; fetch nothing.")
@click.pass_obj
def pull(
    app: App,
    provider: str,
    since: str | None,
    until: str | None,
    bucket: str,
    base_url: str | None,
    full: bool,
    rebuild: bool,
) -> None:
    """Pull usage and billed costs from provider APIs into the ledger (incremental).

    Keys come from OPENAI_ADMIN_KEY, ANTHROPIC_ADMIN_KEY and OPENROUTER_API_KEY (or the config's
    providers.NAME.admin_key / api_key); they are never stored or printed.
    """
    from llmaudit.sources import pull as core

    providers = ["openai", "anthropic", "openrouter"] if provider == "all" else [provider]
    if base_url and provider == "all":
        raise UsageError("--base-url needs one provider, not all")
    with app.open_ledger() as ledger:
        if rebuild:
            results = core.rebuild(ledger, providers)
            ledger.refresh_rollup()
        else:
            now = datetime.now(timezone.utc)
            start, end = core.window(_when(since, "--since"), _when(until, "--until", True), now)
            with _progress(app) as progress:
                request = core.request_for(
                    lambda name: get_key(app.config, name),
                    providers,
                    start,
                    end,
                    bucket=bucket,
                    base_url=base_url,
                    full=full,
                    debug=app.debug,
                    on_page=progress,
                )
                results = core.pull(ledger, request)
            ledger.refresh_rollup()
    _summarise(app, results)


def _summarise(app: App, results) -> None:
    failed = []
    for r in results:
        if r.skipped or r.note:
            app.info(f"{r.provider} {r.endpoint}: " + (r.note or f"skipped ({r.skipped})"))
            continue
        rejected = f", {r.rejected} rejected" if r.rejected else ""
        app.info(
            f"{r.provider} {r.endpoint}: {r.pages} page(s), {r.buckets} bucket(s), "
            f"{r.written} row(s) written, {r.replaced} replaced{rejected}"
        )
        if r.error:
            failed.append(r)
            app.info(f"{r.provider} {r.endpoint}: {r.error}")
    if failed:
        from llmaudit.errors import ProviderError

        raise ProviderError(f"{len(failed)} endpoint(s) failed; what was pulled before is kept")
    rejected = sum(r.rejected for r in results)
    if rejected:  # as for ingest: the rest is kept, and the exit says something was not
        from llmaudit.errors import RejectedInput

        raise RejectedInput(
            f"{rejected} bucket row(s) rejected",
            hint="the rest was pulled; see 'llmaudit ledger rejects'",
        )


class _progress:
    """Pages and buckets so far, one line per endpoint (see render/progress.py)."""

    def __init__(self, app: App) -> None:
        from llmaudit.render.progress import LiveProgress

        self.live = LiveProgress(app.err, "pages")

    def __enter__(self) -> Callable[[str, str, int, int], None]:
        self.live.__enter__()
        return self.update

    def update(self, provider: str, endpoint: str, pages: int, buckets: int) -> None:
        self.live.update(
            (provider, endpoint), f"{provider} {endpoint}", pages=pages, buckets=buckets
        )

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__()


@click.command()
@click.option("--since", metavar="WHEN", help="Start (default 30d).")
@click.option("--until", metavar="WHEN", help="End (default now).")
@click.option("--provider", "providers", multiple=True, type=click.Choice(["openai", "anthropic"]))
@click.option(
    "--by", type=click.Choice(["day", "model", "project"]), default="day", show_default=True
)
@click.option(
    "--tolerance",
    default="1%",
    show_default=True,
    metavar="PCT",
    help="Exit 1 when the total difference is larger.",
)
@click.option(
    "--logs",
    is_flag=True,
    help="Compare the cost your logs carry (LiteLLM spend, Helicone cost, llm.cost_usd, ...) "
    "with llmaudit's list price, per model and feature, instead of the provider's bill.",
)
@click.option(
    "--billed",
    "billed_files",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False),
    help="A console's cost export (OpenAI's usage dashboard cost CSV, the Claude Console's "
    "Cost page CSV): its lines are that provider's bill, instead of the pulled cost report.",
)
@format_option
@click.pass_obj
def reconcile(
    app: App,
    since,
    until,
    providers,
    by,
    tolerance,
    logs: bool,
    billed_files: tuple[str, ...],
    fmt: Format | None,
) -> None:
    """llmaudit's offline cost of the usage (pulled, or ingested from a console's usage
    export) against the provider's billed cost, with the likely cause of each difference;
    with --logs, the cost your own logs carry against llmaudit's list price (a stale price
    table in your app shows up here)."""
    from llmaudit.analysis.reconcile import reconcile as run
    from llmaudit.estimate.check import parse_share
    from llmaudit.sources.pull import window

    limit = parse_share(tolerance, "--tolerance") or Decimal(0)
    start, end = window(
        _when(since, "--since"), _when(until, "--until", True), datetime.now(timezone.utc)
    )
    if logs:
        _reconcile_logs(app, start, end, limit, tolerance, fmt)
        return
    billed = _billed(billed_files) if billed_files else None
    with app.open_ledger(create=False) as ledger:
        result = run(
            ledger,
            app.price_table,
            start,
            end,
            list(providers) or ["openai", "anthropic"],
            by,
            limit,
            billed,
        )
    fields = {
        "day": ["provider", "day", "model"],
        "model": ["provider", "model"],
        "project": ["provider", "project"],
    }[by]
    pct = lambda v: "-" if v is None else f"{v * 100:+.2f}%"  # noqa: E731
    rows = [*result["rows"], {fields[-1]: "total", **result["total"], "cause": None}]
    table = Table(
        "Reconciliation: computed offline vs. billed",
        [
            *(Column(f, f, priority=2 if f == "provider" else 0) for f in fields),
            Column("computed", "computed_usd", "right", usd),
            Column("billed", "billed_usd", "right", usd),
            Column("diff", "difference", "right", pct),
            Column("likely cause", "cause"),
        ],
        rows,
    )
    app.emit(fmt, [table], {"reconcile": result})
    if not result["within_tolerance"]:
        raise Findings(
            f"computed and billed differ by {pct(result['total']['difference'])} "
            f"overall (tolerance {tolerance})"
        )


@click.group()
def attribute() -> None:
    """Name provider ids (projects, API keys, users) with teams, features, customers."""


@attribute.command("set")
@click.argument("kind", type=click.Choice(["project", "api_key", "user"]))
@click.argument("ident")
@click.argument("names", nargs=-1, required=True, metavar="DIM=VALUE...")
@click.pass_obj
def attribute_set(app: App, kind: str, ident: str, names: tuple[str, ...]) -> None:
    """Attribute KIND IDENT (e.g. project proj_abc) to team=..., feature=..., customer=...

    Applied when reports are computed: a changed map re-attributes history.
    """
    from llmaudit import config as cfg
    from llmaudit.ledger.filters import MAPPED

    data = dict(app.config)
    for pair in names:
        dim, sep, value = pair.partition("=")
        if not sep or dim not in MAPPED or dim == kind:
            raise UsageError(
                f"{pair!r}: use DIM=VALUE with DIM one of "
                f"{', '.join(d for d in MAPPED if d != kind)}"
            )
        cfg.set_key(data, f"attribution.{kind}.{ident}.{dim}", value)
    cfg.save_config(app.config_path, data)
    app.info(f"{kind} {ident}: {', '.join(names)}")


@attribute.command("list")
@format_option
@click.pass_obj
def attribute_list(app: App, fmt: Format | None) -> None:
    """The attribution map."""
    from llmaudit.config import get_attribution

    rows = [
        {"kind": kind, "id": ident, "names": ", ".join(f"{k}={v}" for k, v in names.items())}
        for kind, idents in (get_attribution(app.config) or {}).items()
        for ident, names in idents.items()
    ]
    app.emit(
        fmt,
        [
            Table(
                None,
                [Column("kind", "kind"), Column("id", "id"), Column("attributed to", "names")],
                rows,
            )
        ],
        {"attribution": rows},
    )


@attribute.command("rm")
@click.argument("kind", type=click.Choice(["project", "api_key", "user"]))
@click.argument("ident")
@click.pass_obj
def attribute_rm(app: App, kind: str, ident: str) -> None:
    """Remove KIND IDENT from the attribution map."""
    from llmaudit import config as cfg

    data = dict(app.config)
    if not cfg.unset_key(data, f"attribution.{kind}.{ident}"):
        raise UsageError(f"{kind} {ident} is not in the attribution map")
    cfg.save_config(app.config_path, data)
    app.info(f"removed {kind} {ident}")


def _billed(paths: tuple[str, ...]) -> dict[str, list]:
    """The bill read from the consoles' cost exports, by provider."""
    from llmaudit.sources import anthropic_console, openai_export
    from llmaudit.sources.base import InputFile
    from llmaudit.sources.documents import csv_columns

    bill: dict[str, list] = {}
    for path in paths:
        inp = InputFile.from_path(Path(path))
        columns = csv_columns(inp.head(4096).replace("\t", ","))
        if set(anthropic_console.COST) <= columns:
            bill.setdefault("anthropic", []).extend(anthropic_console.billed_lines(inp))
        else:  # OpenAI's, or an error that names the columns it needs
            bill.setdefault("openai", []).extend(openai_export.billed_lines(inp))
    return bill


def _reconcile_logs(app: App, start, end, limit, tolerance: str, fmt: Format | None) -> None:
    from llmaudit.analysis.reconcile import reconcile_logs

    with app.open_ledger(create=False) as ledger:
        records = ledger.records_with_reported_cost(start, end)
        result = reconcile_logs(records, app.price_table, start, end, limit)
    pct = lambda v: "-" if v is None else f"{v * 100:+.2f}%"  # noqa: E731
    rows = [*result["rows"], {"model": "total", **result["total"], "cause": None}]
    table = Table(
        "Your logs' cost vs. the list price",
        [
            Column("model", "model"),
            Column("feature", "feature"),
            Column("logged", "logged_usd", "right", usd),
            Column("list price", "computed_usd", "right", usd),
            Column("diff", "difference", "right", pct),
            Column("likely cause", "cause"),
        ],
        rows,
    )
    app.emit(fmt, [table], {"reconcile_logs": result})
    if not result["rows"]:
        app.info("no records carry a cost of their own in this window")
    if not result["within_tolerance"]:
        raise Findings(f"logged costs differ from the list price by more than {tolerance}")
