"""``llmaudit maturity``: how far along is our cost monitoring, from evidence."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import format_option
from llmaudit.render import Column, Format, Table


def _value(v, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "share":
        return f"{v * 100:.1f}%"
    if unit == "hours":
        return f"{v:,.1f} h"
    if unit == "yes/no" or isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(v) or "none"
    return f"{v:,}" if isinstance(v, int) else str(v)


@click.command()
@click.option("--interactive", is_flag=True, help="Also ask what the data cannot show.")
@click.option("--at", metavar="WHEN", help="Assess as of this time instead of now.")
@format_option
@click.pass_obj
def maturity(app: App, interactive: bool, at: str | None, fmt: Format | None) -> None:
    """Level 0-4 (no visibility ... automated cost control), each criterion with its measured
    value, and the next concrete step. --format json to track the level over time."""
    from llmaudit.analysis.budgets import budgets_from_config
    from llmaudit.analysis.maturity import assess
    from llmaudit.cli.budget import _now
    from llmaudit.config import get_table

    budgets_from_config(app.config)  # the tables it counts: a ConfigError naming a bad key
    get_table(app.config, "alerts")

    answers = {}
    if interactive:
        answers["alerts_delivered"] = click.confirm(
            "Do alerts reach someone who acts on them (a channel, on-call)?", err=True
        )
        answers["monthly_review"] = click.confirm(
            "Is there a monthly review of LLM spend with the owners?", err=True
        )
    now = _now(at) if at else datetime.now(timezone.utc)
    with app.open_ledger(create=False) as ledger:  # a mistyped --db must not look like level 0
        result = assess(ledger, app.price_table, app.config, now, answers)
    rows = [
        {**c, "measured": _value(c["measured"], c["unit"]), "ok": "yes" if c["passed"] else "no"}
        for c in result["criteria"]
    ]
    table = Table(
        f"Maturity: level {result['level']} ({result['name']})",
        [
            Column("lvl", "level"),
            Column("criterion", "criterion"),
            Column("target", "target", priority=2),
            Column("measured", "measured"),
            Column("ok", "ok"),
        ],
        rows,
    )
    raw = Table(
        None,
        [
            Column(k, k)
            for k in ("level", "criterion", "target", "measured", "unit", "passed", "next_step")
        ],
        result["criteria"],
    )
    app.emit(fmt, [table], {"maturity": result}, csv_table=raw)
    if result["next_step"] and (fmt or app.default_format()) is Format.TABLE:
        app.info(f"next step: {result['next_step']}")
