"""The command line: the root group and ``main()``, which maps errors to exit codes."""

from __future__ import annotations

import os
import sys

import click

from llmaudit import __version__
from llmaudit.cli.app import App
from llmaudit.constants import ENV_CONFIG, ENV_DB, ENV_DEBUG, ENV_PRICING
from llmaudit.errors import ExitStatus, LlmauditError
from llmaudit.render import printable

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_DEBUG = False


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="llmaudit")
@click.option(
    "--db",
    metavar="PATH",
    envvar=ENV_DB,
    help=f"The ledger file (env {ENV_DB}). Default: llmaudit.db in the user data dir.",
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
    ctx.obj = App(
        config_path=config_path,
        db=db,
        pricing_path=pricing_path,
        debug=debug,
        color=not no_color,
    )


def _register() -> None:
    from llmaudit.cli.budget import alerts, budget
    from llmaudit.cli.config_cmd import config
    from llmaudit.cli.estimate import check, comment, estimate
    from llmaudit.cli.export import export
    from llmaudit.cli.ingest import ingest
    from llmaudit.cli.ledger import ledger
    from llmaudit.cli.maturity import maturity
    from llmaudit.cli.pricing import pricing
    from llmaudit.cli.pull import attribute, pull, reconcile
    from llmaudit.cli.report import demo, report
    from llmaudit.cli.whatif import whatif

    cli.add_command(config)
    cli.add_command(export)
    cli.add_command(ingest)
    cli.add_command(ledger)
    cli.add_command(pricing)
    cli.add_command(report)
    cli.add_command(demo)
    cli.add_command(whatif)
    cli.add_command(estimate)
    cli.add_command(check)
    cli.add_command(comment)
    cli.add_command(budget)
    cli.add_command(alerts)
    cli.add_command(maturity)
    cli.add_command(pull)
    cli.add_command(reconcile)
    cli.add_command(attribute)


_register()


def _debug_enabled(argv: list[str]) -> bool:
    return _DEBUG or "--debug" in argv or os.environ.get(ENV_DEBUG, "") not in ("", "0", "false")


def main(argv: list[str] | None = None) -> None:
    """Run the command line; the one place errors become a message and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = cli.main(args=args, prog_name="llmaudit", standalone_mode=False)
    except click.exceptions.Abort:  # click has already ended the line
        sys.stderr.write("llmaudit: interrupted\n")
        sys.exit(ExitStatus.INTERRUPTED)
    except KeyboardInterrupt:
        sys.stderr.write("\nllmaudit: interrupted\n")
        sys.exit(ExitStatus.INTERRUPTED)
    except click.ClickException as exc:
        # every click error is about the command line (a bad option, a file it names that
        # cannot be opened): exit 2, never 1, which means findings
        exc.show()
        sys.exit(ExitStatus.USAGE)
    except LlmauditError as exc:
        if _debug_enabled(args):
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"llmaudit: error: {printable(str(exc))}\n")
        sys.exit(exc.exit_status)
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(ExitStatus.OK)
    except Exception as exc:
        if _debug_enabled(args):
            raise
        sys.stderr.write(
            f"llmaudit: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; rerun with --debug for a traceback and report it)\n"
        )
        sys.exit(ExitStatus.INTERNAL)
    sys.exit(rv if isinstance(rv, int) else ExitStatus.OK)
