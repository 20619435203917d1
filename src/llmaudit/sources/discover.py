"""Where coding agents and the ``llm`` tool keep their logs on this machine, as ccusage finds
Claude Code's: ``llmaudit ingest`` with no path reads what exists of these."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Found:
    what: str  # "Claude Code", "Codex CLI", ...
    path: Path
    why: str  # how it was found: the default place or the environment variable


def _claude(home: Path) -> list[Found]:
    out = []
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    if env:  # a comma-separated list, as Claude Code and ccusage accept
        for part in env.split(","):
            if part.strip():
                out.append(
                    Found("Claude Code", Path(part.strip()) / "projects", "CLAUDE_CONFIG_DIR")
                )
    out.append(Found("Claude Code", home / ".claude" / "projects", "default"))
    out.append(Found("Claude Code", home / ".config" / "claude" / "projects", "default"))
    return out


def _codex(home: Path) -> list[Found]:
    env = os.environ.get("CODEX_HOME")
    if env:
        return [Found("Codex CLI", Path(env) / "sessions", "CODEX_HOME")]
    return [Found("Codex CLI", home / ".codex" / "sessions", "default")]


def _gemini(home: Path) -> list[Found]:
    # chat recordings only: ~/.gemini/tmp/<project hash>/chats/session-*.json[l]
    tmp = home / ".gemini" / "tmp"
    if not tmp.is_dir():
        return []
    return [
        Found("Gemini CLI", d / "chats", "default") for d in sorted(tmp.iterdir()) if d.is_dir()
    ]


def _llm(home: Path) -> list[Found]:
    env = os.environ.get("LLM_USER_PATH")
    if env:
        return [Found("llm", Path(env) / "logs.db", "LLM_USER_PATH")]
    if sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return [Found("llm", base / "io.datasette.llm" / "logs.db", "default")]


def discover(home: Path | None = None) -> list[Found]:
    """Every known place that exists here, each once."""
    home = home or Path.home()
    seen: set[Path] = set()
    found = []
    for item in [*_claude(home), *_codex(home), *_gemini(home), *_llm(home)]:
        try:
            real = item.path.resolve()
            exists = item.path.exists()
        except OSError:
            continue
        if exists and real not in seen:
            seen.add(real)
            found.append(item)
    return found


def places() -> str:
    """The places looked at, for the message when none exists."""
    return (
        "$CLAUDE_CONFIG_DIR/projects, ~/.claude/projects, ~/.config/claude/projects, "
        "$CODEX_HOME/sessions or ~/.codex/sessions, ~/.gemini/tmp/*/chats, "
        "$LLM_USER_PATH/logs.db or llm's logs.db in its config folder"
    )
