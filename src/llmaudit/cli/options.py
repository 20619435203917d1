"""Option decorators shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import click

from llmaudit.errors import UsageError
from llmaudit.ledger.filters import Filters, parse_where
from llmaudit.model.timespec import parse_bound, zone
from llmaudit.render import Format


def format_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice([f.value for f in Format]),
        callback=lambda _ctx, _param, value: Format(value) if value else None,
        help="Output format. Default: table on a terminal, json when piped.",
    )(fn)


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--since/--until/--tz/--where/--provider/--model, collected into ``filters``."""
    options = [
        click.option(
            "--since",
            metavar="WHEN",
            help="Start: a date (2026-11-01), date-time, span (7d, 12h), today, yesterday, mtd "
            "or last-month.",
        ),
        click.option(
            "--until",
            metavar="WHEN",
            help="End (exclusive for times; a date includes that whole day).",
        ),
        click.option(
            "--tz",
            metavar="ZONE",
            help="Time zone for dates and calendar periods (default UTC; e.g. Europe/Paris).",
        ),
        click.option(
            "--where",
            "where",
            metavar="DIM=VALUE",
            multiple=True,
            help="Only records where DIM (user, feature, team, ..., tag:KEY) is VALUE. "
            "Repeatable; the same DIM twice means either value.",
        ),
        click.option("--provider", "providers", multiple=True, help="Only this provider."),
        click.option("--model", "models", multiple=True, help="Only this model (as reported)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_filters(kwargs: dict[str, Any], attribution: dict[str, Any] | None = None) -> Filters:
    """Pop the filter options out of a command's kwargs and build the core Filters (with the
    config's [attribution] map, which names the ids provider data carries)."""
    return filters_from_options(
        attribution=attribution,
        since=kwargs.pop("since"),
        until=kwargs.pop("until"),
        tz=kwargs.pop("tz"),
        where=kwargs.pop("where"),
        providers=kwargs.pop("providers"),
        models=kwargs.pop("models"),
    )


def filters_from_options(
    *,
    since: str | None = None,
    until: str | None = None,
    tz: str | None = None,
    where: tuple[str, ...] | list[str] = (),
    providers: tuple[str, ...] | list[str] = (),
    models: tuple[str, ...] | list[str] = (),
    now: datetime | None = None,
    attribution: dict[str, Any] | None = None,
) -> Filters:
    """``--since``, ``--until``, ``--tz``, ``--where``, ``--provider``, ``--model`` -> Filters."""
    zone_info = zone(tz)
    now = now or datetime.now(timezone.utc)
    start = end = None
    if since:
        start, implied_end = parse_bound(since, option="--since", tz=zone_info, now=now)
        end = implied_end
    if until:
        end, _ = parse_bound(until, option="--until", tz=zone_info, now=now, end=True)
    if start and end and end <= start:
        raise UsageError("--until must be later than --since")
    pairs = [parse_where(w) for w in where]
    pairs += [("provider", p) for p in providers]
    pairs += [("model", m) for m in models]
    return Filters(start, end, pairs, attribution)
