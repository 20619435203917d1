"""Option decorators shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from llmaudit.render import Format


def format_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice([f.value for f in Format]),
        callback=lambda _ctx, _param, value: Format(value) if value else None,
        help="Output format. Default: table on a terminal, json when piped.",
    )(fn)
