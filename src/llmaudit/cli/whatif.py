"""``llmaudit whatif``: reprice real traffic as if it had gone to another model."""

from __future__ import annotations

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import build_filters, filter_options, format_option
from llmaudit.errors import UsageError
from llmaudit.model.money import usd
from llmaudit.render import Column, Format, Table


@click.command()
@click.option(
    "--swap",
    "swaps",
    multiple=True,
    required=True,
    metavar="FROM=TO",
    help="Reprice FROM's traffic at TO's prices (repeatable).",
)
@click.option(
    "--by",
    default="feature",
    show_default=True,
    metavar="DIM",
    help="Group the result by this dimension.",
)
@filter_options
@format_option
@click.pass_obj
def whatif(app: App, swaps: tuple[str, ...], by: str, fmt: Format | None, **kwargs) -> None:
    """What the same traffic would have cost on another model (same tokens, same times).

    For example: llmaudit whatif --swap gpt-4o=gpt-4o-mini --where feature=tagging
    """
    from llmaudit.analysis.report import resolve_window
    from llmaudit.analysis.whatif import whatif as run
    from llmaudit.ledger.filters import Filters
    from llmaudit.model.timespec import zone
    from llmaudit.model.values import format_ts
    from llmaudit.render import window_text

    pairs = []
    for swap in swaps:
        src, sep, dst = swap.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise UsageError(f"--swap: {swap!r} is not FROM=TO")
        pairs.append((src.strip(), dst.strip()))
    tz = kwargs.get("tz")
    from llmaudit.config import get_attribution

    filters = build_filters(kwargs, get_attribution(app.config))
    with app.open_ledger(create=False) as ledger:
        window = resolve_window(ledger, filters, zone(tz))
        if window is not None:
            filters = Filters(window.since, window.until, filters.where, filters.attribution)
        result = run(ledger, app.price_table, filters, pairs, by)
    # the window it repriced, as the report states its own (the same rule picks it)
    stated = (
        {"since": format_ts(window.since), "until": format_ts(window.until), "tz": tz or "UTC"}
        if window is not None
        else None
    )
    result = {"window": stated, **result}
    pct = lambda v: "-" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    rows = [*result["rows"]]
    if result["total"]:
        rows.append(
            {
                by: "total",
                "model": "",
                "to": "",
                **result["total"],
                "requests": sum(r["requests"] for r in result["rows"]),
            }
        )
    table = Table(
        f"What if, {window_text(stated)}" if stated else "What if",
        [
            Column(by, by),
            Column("model", "model", priority=2),
            Column("to", "to", priority=3),
            Column("now", "current_usd", "right", usd),
            Column("what if", "whatif_usd", "right", usd),
            Column("saving", "saving_usd", "right", usd),
            Column("", "saving_share", "right", pct),
        ],
        rows,
    )
    app.emit(fmt, [table], {"whatif": result})
    for note in result["notes"]:
        app.info(f"note: {note}")
