from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets its own config and data dir, no colour, 80 columns, a fixed machine id."""
    monkeypatch.setenv("LLMAUDIT_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("LLMAUDIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLMAUDIT_MACHINE_ID", "test-machine")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    for name in ("LLMAUDIT_DB", "LLMAUDIT_DEBUG", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    # `ingest` with no path looks for agent logs in the home folder: never the real one
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "LLM_USER_PATH", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    # retries wait for nothing (what they would have waited is still computed and bounded)
    from llmaudit import http

    monkeypatch.setattr(http, "pause", lambda seconds: None)
    return tmp_path


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys, monkeypatch):
    """Run the real entry point (``llmaudit.cli.main``) and capture exit code, stdout, stderr."""
    from llmaudit.cli.main import main

    def invoke(*args: str, input: bytes | str | None = None) -> Result:
        if input is not None:
            data = input.encode() if isinstance(input, str) else input
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke
