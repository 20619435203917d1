"""Every exit code of the README's table, produced through the real entry point."""

from __future__ import annotations

import click
import pytest

from llmaudit.cli.main import cli
from llmaudit.errors import (
    ConfigError,
    ExitStatus,
    Findings,
    ProviderConnectionError,
    ProviderError,
    StoreError,
    UsageError,
)

pytestmark = pytest.mark.both_engines


def test_exit_status_values_are_the_documented_ones():
    assert {s.name: int(s) for s in ExitStatus} == {
        "OK": 0,
        "FINDINGS": 1,
        "USAGE": 2,
        "DATA": 3,
        "PROVIDER": 4,
        "INTERNAL": 70,
        "INTERRUPTED": 130,
    }


@pytest.fixture
def raising_command():
    """A throwaway command that raises what the test says."""
    holder = {}

    @click.command("boom")
    def boom():
        raise holder["exc"]

    cli.add_command(boom)
    yield holder
    cli.commands.pop("boom")


@pytest.mark.parametrize(
    ("exc", "code", "stderr"),
    [
        (Findings("budget 'org' at 112%"), 1, "llmaudit: error: budget 'org' at 112%\n"),
        (UsageError("bad --since"), 2, "llmaudit: error: bad --since\n"),
        (
            ConfigError("config.toml: invalid TOML"),
            3,
            "llmaudit: error: config.toml: invalid TOML\n",
        ),
        (
            StoreError("ledger locked", hint="try later"),
            3,
            "llmaudit: error: ledger locked (try later)\n",
        ),
        (ProviderError("OpenAI said 401"), 4, "llmaudit: error: OpenAI said 401\n"),
        (ProviderConnectionError("timed out"), 4, "llmaudit: error: timed out\n"),
        (KeyboardInterrupt(), 130, "\nllmaudit: interrupted\n"),
        (
            RuntimeError("oops"),
            70,
            "llmaudit: internal error: RuntimeError: oops (this is a bug; rerun with --debug for a "
            "traceback and report it)\n",
        ),
    ],
)
def test_errors_map_to_exit_codes(run, raising_command, exc, code, stderr):
    raising_command["exc"] = exc
    result = run("boom")
    assert result.exit_code == code
    assert result.stderr == stderr


def test_debug_shows_the_traceback(run, raising_command):
    raising_command["exc"] = ConfigError("broken")
    result = run("--debug", "boom")
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.endswith("llmaudit: error: broken\n")


def test_ok_and_click_usage_errors(run):
    assert run("--version").exit_code == 0
    assert run("--help").exit_code == 0
    bad = run("--no-such-option")
    assert bad.exit_code == 2
    assert "No such option '--no-such-option'" in bad.stderr
    assert run("no-such-command").exit_code == 2
