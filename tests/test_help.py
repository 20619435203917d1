"""Every command has help text, and the package runs as ``python -m llmaudit``."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from llmaudit.cli.main import cli


def _commands(group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help(run):
    for path, cmd in _commands(cli):
        assert cmd.help, f"{' '.join(path)} has no help text"
        result = run(*path, "--help")
        assert result.exit_code == 0
        assert result.stdout.startswith(f"Usage: llmaudit {' '.join(path)}")


def test_every_command_is_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for path, _ in _commands(cli):
        assert f"llmaudit {' '.join(path)}" in readme, f"README does not mention {' '.join(path)}"


def test_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "llmaudit", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("llmaudit, version ")


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys; from llmaudit.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'tiktoken', 'rich', 'sqlite3') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_no_document_tells_users_to_pip_install_the_pypi_llmaudit():
    """PyPI's `llmaudit` is someone else's project: a recipe installing it is a supply-chain
    hole. Every document installs from the repository instead."""
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent
    docs = [root / "README.md", root / "CHANGELOG.md", *(root / "docs").glob("*.md")]
    # `pip install llmaudit`, `... llmaudit==1.0`, but not `"llmaudit @ git+https://..."`
    bad = re.compile(r"pip install (-U |--upgrade )?['\"]?llmaudit(?!\s*@)(['\"\s=<>~]|$)", re.M)
    offenders = [str(p.name) for p in docs if bad.search(p.read_text())]
    assert offenders == []


def test_the_lazy_command_list_says_what_each_command_says():
    """`llmaudit --help` lists commands without importing them, from the one-line helps in
    cli/main.py: each must be its command's own, and every command must be listed."""
    import importlib

    from llmaudit.cli.main import COMMANDS

    for name, (module, attr, short) in COMMANDS.items():
        command = getattr(importlib.import_module(f"llmaudit.cli.{module}"), attr)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == short, name


def test_help_imports_no_command_module():
    import subprocess
    import sys

    code = (
        "import sys; from llmaudit.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m.startswith(('llmaudit.cli.', 'llmaudit.config',"
        " 'llmaudit.render'))]\n"
        "print(sorted(loaded))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # not even the app (config, rendering): `--help` runs no command
    assert out.stdout.strip().splitlines()[-1] == "['llmaudit.cli.main']"


def test_help_is_as_wide_as_click_would_make_it(monkeypatch):
    """`main` hands click the help width so that click need not import shutil; it must be
    the width click's own rule gives (the terminal's, less 2, between 50 and 98)."""
    import shutil

    from llmaudit.cli.main import MAX_HELP_WIDTH, help_width

    for columns, expected in (("40", 50), ("60", 58), ("100", 98), ("200", 98), ("junk", None)):
        monkeypatch.setenv("COLUMNS", columns)
        clicks = max(min(shutil.get_terminal_size().columns, MAX_HELP_WIDTH) - 2, 50)
        assert help_width() == clicks
        if expected is not None:
            assert clicks == expected


def test_help_wraps_at_the_terminal_width():
    for columns, widest in (("60", 58), ("140", 98)):
        out = subprocess.run(
            [sys.executable, "-m", "llmaudit", "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": columns},
            check=True,
        ).stdout
        assert max(len(line) for line in out.splitlines()) == widest
