"""``llmaudit budget`` and ``llmaudit alerts``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import format_option
from llmaudit.errors import DataError, Findings, ProviderConnectionError, UsageError
from llmaudit.model.money import usd
from llmaudit.render import Column, Format, Table

LEVELS = {"ok": 0, "warning": 1, "critical": 2}


def _now(at: str | None) -> datetime:
    if not at:
        return datetime.now(timezone.utc)
    from llmaudit.model.timespec import parse_bound, zone

    moment, _ = parse_bound(at, option="--at", tz=zone(None), now=datetime.now(timezone.utc))
    return moment


def _thresholds(app: App) -> tuple[Decimal, Decimal]:
    from llmaudit.config import alert_thresholds

    return alert_thresholds(app.config)


@click.group()
def budget() -> None:
    """Spending budgets (stored in the config file) and where they stand."""


@budget.command("set")
@click.argument("name")
@click.option("--amount", required=True, metavar="USD", help="The budget in USD.")
@click.option(
    "--period", type=click.Choice(["day", "week", "month"]), default="month", show_default=True
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="DIM=VALUE",
    help="Scope (repeatable): feature, team, user, customer, model, provider, ...",
)
@click.option(
    "--prorated",
    is_flag=True,
    help="Alert against the share of the budget for the time elapsed, not the total.",
)
@click.pass_obj
def budget_set(
    app: App, name: str, amount: str, period: str, where: tuple[str, ...], prorated: bool
) -> None:
    """Create or replace budget NAME."""
    from llmaudit import config as cfg
    from llmaudit.analysis.budgets import Budget, validate_dims

    try:
        value = Decimal(amount.lstrip("$"))
    except InvalidOperation:
        raise UsageError(f"--amount: {amount!r} is not a number of USD") from None
    if not value.is_finite() or value <= 0 or value >= Decimal("1e12"):
        raise UsageError(f"--amount: {amount!r} must be more than 0 and less than $1e12")
    b = Budget(name, value, period, validate_dims(list(where)), "prorated" if prorated else "total")
    data = dict(app.config)
    cfg.set_key(data, f"budgets.{name}", b.as_config())
    cfg.save_config(app.config_path, data)
    scope = ", ".join(where) or "everything"
    app.info(f"budget {name}: {usd(value)} a {period} for {scope}")


@budget.command("list")
@format_option
@click.pass_obj
def budget_list(app: App, fmt: Format | None) -> None:
    """The configured budgets."""
    from llmaudit.analysis.budgets import budgets_from_config

    rows = [
        {
            "name": b.name,
            "amount_usd": b.amount,
            "period": b.period,
            "where": ", ".join(f"{d}={v}" for d, v in b.where) or "(all)",
            "basis": b.basis,
        }
        for b in budgets_from_config(app.config)
    ]
    table = Table(
        None,
        [
            Column("name", "name"),
            Column("amount", "amount_usd", "right", usd),
            Column("period", "period"),
            Column("scope", "where"),
            Column("basis", "basis"),
        ],
        rows,
    )
    app.emit(fmt, [table], {"budgets": rows})


@budget.command("rm")
@click.argument("name")
@click.pass_obj
def budget_rm(app: App, name: str) -> None:
    """Remove budget NAME."""
    from llmaudit import config as cfg

    data = dict(app.config)
    if not cfg.unset_key(data, f"budgets.{name}"):
        raise UsageError(f"no budget named {name!r}")
    cfg.save_config(app.config_path, data)
    app.info(f"removed budget {name}")


def status_table(rows: list[dict]) -> Table:
    return Table(
        "Budgets",
        [
            Column("budget", "name"),
            Column("spent", "spent_usd", "right", usd),
            Column("of", "amount_usd", "right", usd, 3),
            Column("used", "consumed", "right", lambda v: f"{v * 100:.0f}%"),
            Column("burn/day", "burn_per_day_usd", "right", usd, 2),
            Column("projected", "projected_usd", "right", usd, 1),
            Column("runs out", "runs_out", priority=2),
            Column("level", "level"),
        ],
        rows,
    )


@budget.command("status")
@click.option("--at", metavar="WHEN", help="Evaluate at this time instead of now.")
@format_option
@click.pass_obj
def budget_status(app: App, at: str | None, fmt: Format | None) -> None:
    """Spent so far this period, burn rate, projection, exhaustion date and alert level."""
    from llmaudit.analysis.budgets import budget_status as status
    from llmaudit.analysis.budgets import budgets_from_config

    budgets = budgets_from_config(app.config)
    if not budgets:
        app.info("no budgets yet: llmaudit budget set NAME --amount USD --period month")
        return
    warning, critical = _thresholds(app)
    with app.open_ledger(create=False) as ledger:
        rows = [status(ledger, app.price_table, b, _now(at), warning, critical) for b in budgets]
    app.emit(fmt, [status_table(rows)], {"budgets": rows})


@click.command()
@click.option(
    "--fail-on",
    type=click.Choice(["warning", "critical"]),
    default="critical",
    show_default=True,
    help="Exit 1 when an alert at or above this level fires.",
)
@click.option(
    "--window",
    default="1h",
    show_default=True,
    metavar="SPAN",
    help="Anomalies: the recent window compared with the same window on 7 days.",
)
@click.option(
    "--notify",
    metavar="URL",
    help="POST each new alert as JSON to this webhook (Slack incoming-webhook compatible).",
)
@click.option(
    "--state",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Remember what already fired here, so a cron job does not repeat itself.",
)
@click.option("--at", metavar="WHEN", help="Evaluate at this time instead of now.")
@format_option
@click.pass_obj
def alerts(
    app: App,
    fail_on: str,
    window: str,
    notify: str | None,
    state: Path | None,
    at: str | None,
    fmt: Format | None,
) -> None:
    """Evaluate every budget and the anomaly detector; print what fires.

    A budget warns at 80% and is critical at 100% (alerts.warning / alerts.critical in the
    config). An anomaly is spend over the last --window at 3x its median over the same window
    on the previous 7 days, per feature and per model, labelled "traffic" or "tokens per
    request" (a prompt regression).
    """
    from llmaudit.analysis.budgets import budgets_from_config, evaluate

    warning, critical = _thresholds(app)
    if notify is not None:
        _check_url(notify)
    seen = _load_state(state)
    with app.open_ledger(create=False) as ledger:
        fired = evaluate(
            ledger,
            app.price_table,
            budgets_from_config(app.config),
            _now(at),
            _span(window),
            window,
            warning,
            critical,
        )
    new = [a for a in fired if a["key"] not in seen]
    table = Table("Alerts", [Column("level", "level"), Column("alert", "message")], fired)
    if fired or (fmt or app.default_format()) is not Format.TABLE:
        app.emit(fmt, [table], {"alerts": fired, "new": [a["key"] for a in new]})
    else:
        app.info("no alerts")
    if notify and new:
        from llmaudit.config import get_number

        _post(notify, new, float(get_number(app.config, "alerts.timeout", 10.0, low=0.1, high=600)))
    # Only now, with the webhook's yes (or no webhook), are the alerts remembered as sent.
    if state is not None:
        _save_state(state, seen | {a["key"] for a in fired})
    if any(LEVELS[a["level"]] >= LEVELS[fail_on] for a in fired):
        raise Findings(f"{len(fired)} alert(s) firing")


def _span(text: str) -> timedelta:
    from llmaudit.model.timespec import parse_span

    return parse_span(text, option="--window", units="mhd")


def _check_url(url: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is not a number, a bad IPv6 literal
        ok = False
    if not ok:
        raise UsageError(f"--notify: {url!r} is not an http(s) URL such as https://hooks.example/x")


def _load_state(state: Path | None) -> set[str]:
    """What already fired. A missing file is a first run; anything else unreadable is an error
    (never overwritten: it may be somebody's file)."""
    import stat

    if state is None:
        return set()
    try:
        st = state.stat()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise DataError(f"--state {state}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"--state {state}: not a regular file")
    try:
        body = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(
            f"--state {state}: not an llmaudit alert state file ({exc}); "
            "move it away or name another file"
        ) from None
    fired = body.get("fired") if isinstance(body, dict) else None
    if not isinstance(fired, list) or not all(isinstance(k, str) for k in fired):
        raise DataError(f"--state {state}: not an llmaudit alert state file (no 'fired' list)")
    return set(fired)


def _save_state(state: Path, fired: set[str]) -> None:
    """Written to a temporary file beside it, then renamed over it: never half written."""
    import os
    import tempfile

    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{state.name}.", dir=state.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"fired": sorted(fired)}, indent=2) + "\n")
            os.replace(tmp, state)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise DataError(f"--state {state}: cannot write: {exc.strerror}") from None


def _post(url: str, new: list[dict], timeout: float) -> None:
    """One POST (Slack-compatible "text", plus the alerts), with a timeout and one retry."""
    from llmaudit.errors import ProviderError
    from llmaudit.http import Client
    from llmaudit.render.json import render_json

    body = json.loads(
        render_json(
            {
                "text": "\n".join(f"[{a['level']}] {a['message']}" for a in new),
                "alerts": [{k: v for k, v in a.items() if k != "key"} for a in new],
            }
        )
    )
    # the webhook URL is itself a secret (Slack's are): never in a message or a debug line
    client = Client(url, {}, provider="--notify", key_env=None, secrets=[url], retries=1,
                    timeout=timeout)  # fmt: skip
    try:
        client.post(url, body)
    except ProviderError:
        status = client.last_status
        if status is not None and 400 <= status < 500:
            raise ProviderConnectionError(f"--notify: the webhook answered {status}") from None
        raise ProviderConnectionError(
            f"--notify: could not deliver the alerts ({client.last_failure})"
        ) from None
    finally:
        client.close()
