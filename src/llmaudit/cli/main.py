"""The command line: the root group and ``main()``, which maps errors to exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from llmaudit import __version__
from llmaudit.constants import ENV_CONFIG, ENV_DB, ENV_DEBUG, ENV_PRICING
from llmaudit.errors import ExitStatus, LlmauditError

MAX_HELP_WIDTH = 100
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": MAX_HELP_WIDTH}
_DEBUG = False

# Each command: (module, attribute, its one-line help). A command's module is imported only
# when the command runs, so `llmaudit --help` and every command start without importing the
# other fifteen (tests/test_help.py checks that each line here is the command's own).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "config": (
        "config_cmd",
        "config",
        "Show and change the config file (TOML, mode 0600).",
    ),
    "export": (
        "export",
        "export",
        "Write the ledger's records with their costs, one row per record.",
    ),
    "ingest": (
        "ingest",
        "ingest",
        "Ingest usage logs (files, directories, .gz, or - for stdin) into the ledger.",
    ),
    "ledger": (
        "ledger",
        "ledger",
        "Inspect the ledger.",
    ),
    "pricing": (
        "pricing",
        "pricing",
        "Look at and check the price table (USD per million tokens).",
    ),
    "report": (
        "report",
        "report",
        "Where the money goes: summary, spend, models, ratios, cache, latency and trend.",
    ),
    "demo": (
        "report",
        "demo",
        "Build a month of realistic traffic for a fictional product and report on it.",
    ),
    "whatif": (
        "whatif",
        "whatif",
        "What the same traffic would have cost on another model (same tokens, same times).",
    ),
    "estimate": (
        "estimate",
        "estimate",
        "Tokens and cost of prompt FILES (text, Markdown, chat JSON, directories), per "
        "call, per 1,000 calls and per period, on each model.",
    ),
    "check": (
        "estimate",
        "check",
        "The CI cost gate: re-estimate the prompts and compare with a baseline.",
    ),
    "comment": (
        "estimate",
        "comment",
        "Post the cost check as one pull-request comment, updated on every run.",
    ),
    "budget": (
        "budget",
        "budget",
        "Spending budgets (stored in the config file) and where they stand.",
    ),
    "alerts": (
        "budget",
        "alerts",
        "Evaluate every budget and the anomaly detector; print what fires.",
    ),
    "maturity": (
        "maturity",
        "maturity",
        "Level 0-4 (no visibility ... automated cost control), each criterion with its "
        "measured value, and the next concrete step.",
    ),
    "pull": (
        "pull",
        "pull",
        "Pull usage and billed costs from provider APIs into the ledger (incremental).",
    ),
    "reconcile": (
        "pull",
        "reconcile",
        "llmaudit's offline cost of the usage (pulled, or ingested from a console's usage "
        "export) against the provider's billed cost, with the likely cause of each "
        "difference; with --logs, the cost your own logs carry against llmaudit's list price "
        "(a stale price table in your app shows up here).",
    ),
    "attribute": (
        "pull",
        "attribute",
        "Name provider ids (projects, API keys, users) with teams, features, customers.",
    ),
}


class OutputClosed(Exception):
    """Standard output was closed by its reader (``llmaudit export | head``). Raised in place
    of the BrokenPipeError, which click would turn into exit 1 before main sees it."""


class LazyGroup(click.Group):
    """A group whose commands are imported when they run (or when their help is asked for)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise OutputClosed from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import importlib

            module, attr, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"llmaudit.cli.{module}"), attr)
            self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the one-line helps above, without importing a command."""
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                text = self.commands[name].get_short_help_str(limit)
            else:
                # a stand-in with the command's help: click shortens it as it would the command's
                text = click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="llmaudit")
@click.option(
    "--db",
    metavar="PATH|URL",
    envvar=ENV_DB,
    help=f"The ledger file, or clickhouse://USER@HOST:PORT/DATABASE (env {ENV_DB}). "
    "Default: llmaudit.db in the user data dir.",
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar=ENV_CONFIG,
    help=f"The config file (env {ENV_CONFIG}). Default: config.toml in the user config dir.",
)
@click.option(
    "--pricing",
    "pricing_path",
    metavar="FILE",
    envvar=ENV_PRICING,
    help=f"A price file layered over the bundled prices and pricing.path (env {ENV_PRICING}).",
)
@click.option(
    "--debug",
    is_flag=True,
    envvar=ENV_DEBUG,
    help=f"Show tracebacks and diagnostic detail (env {ENV_DEBUG}).",
)
@click.option("--no-color", is_flag=True, help="No colour in output (also env NO_COLOR).")
@click.pass_context
def cli(
    ctx: click.Context,
    db: str | None,
    config_path: str | None,
    pricing_path: str | None,
    debug: bool,
    no_color: bool,
) -> None:
    """llmaudit: where does every LLM dollar go?

    Ingest provider usage and your own logs into a local ledger, price it offline, and
    report spend, caching, budgets and regressions.
    """
    global _DEBUG
    _DEBUG = debug
    # imported here, not at the top: `llmaudit --help` needs neither config nor rendering
    from llmaudit.cli.app import App

    ctx.obj = App(
        config_path=config_path,
        db=db,
        pricing_path=pricing_path,
        debug=debug,
        color=not no_color,
    )


def _debug_enabled(argv: list[str]) -> bool:
    return _DEBUG or "--debug" in argv or os.environ.get(ENV_DEBUG, "") not in ("", "0", "false")


def help_width() -> int:
    """The width click gives help text (the terminal's, within 50 to max_content_width - 2),
    by shutil.get_terminal_size's rule, without importing shutil (and with it bz2 and lzma:
    2 ms of a 50 ms `llmaudit --help`)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    columns = columns or 80
    return max(min(columns, MAX_HELP_WIDTH) - 2, 50)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; the one place errors become a message and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cli.main(
            args=args, prog_name="llmaudit", standalone_mode=False, terminal_width=help_width()
        )
    except click.exceptions.Abort:  # click has already ended the line
        _say("llmaudit: interrupted\n")
        sys.exit(ExitStatus.INTERRUPTED)
    except KeyboardInterrupt:
        _say("\nllmaudit: interrupted\n")
        sys.exit(ExitStatus.INTERRUPTED)
    except click.ClickException as exc:
        # every click error is about the command line (a bad option, a file it names that
        # cannot be opened): exit 2, never 1, which means findings
        _say(exc.show)
        sys.exit(ExitStatus.USAGE)
    except LlmauditError as exc:
        if _debug_enabled(args):
            import traceback

            _say(traceback.print_exc)
        from llmaudit.render import printable

        _say(f"llmaudit: error: {printable(str(exc))}\n")
        sys.exit(exc.exit_status)
    except (BrokenPipeError, OutputClosed):
        # Output piped into `head` and the like: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(ExitStatus.OK)
    except Exception as exc:
        if _debug_enabled(args):
            raise
        _say(
            f"llmaudit: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; rerun with --debug for a traceback and report it)\n"
        )
        sys.exit(ExitStatus.INTERNAL)
    sys.exit(rv if isinstance(rv, int) else ExitStatus.OK)


def _say(what: str | Callable[[], None]) -> None:
    """The last words on standard error (a text, or what writes them): when nobody reads it
    any more (``2>&1 | head``), they are lost, not the exit status they come with."""
    try:
        if callable(what):
            what()
        else:
            sys.stderr.write(what)
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # (ValueError: standard error was closed)
        # so that Python's own flush at exit has nothing to complain about
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
