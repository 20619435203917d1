"""Prompt files: plain text / Markdown (one user message), chat JSON (a list of messages or
``{"messages": [...]}``), directories of them; template variables ``{{name}}`` and ``{name}``."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmaudit.errors import DataError, UsageError

PROMPT_SUFFIXES = (".txt", ".md", ".prompt", ".json", ".jinja", ".j2", ".tmpl")
_DOUBLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SINGLE = re.compile(r"(?<![{\w])\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


@dataclass
class Prompt:
    path: str
    messages: list[dict[str, Any]]  # [{"role", "content", "name"?}], content text
    chat: bool  # True when the file gave the messages itself
    variables: list[str] = field(default_factory=list)  # still unfilled after --var
    filled: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(m["content"] for m in self.messages)


def find(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise UsageError(f"{given}: no such file or directory")
        if p.is_dir():
            out.extend(
                sorted(
                    f
                    for f in p.rglob("*")
                    if f.is_file()
                    and f.suffix.lower() in PROMPT_SUFFIXES
                    and not any(part.startswith(".") for part in f.parts)
                )
            )
        else:
            out.append(p)
    return out


def parse_vars(values: list[str] | tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var: {item!r} is not NAME=VALUE or NAME=@FILE")
        if value.startswith("@"):
            try:
                value = Path(value[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"--var {name}: cannot read {value[1:]}: {exc.strerror}") from None
        out[name.strip()] = value
    return out


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in value)
    raise DataError(f"{where}: content must be text or a list of parts")


def load(path: Path, variables: dict[str, str]) -> Prompt:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read as UTF-8 text: {exc}") from exc
    messages: list[dict[str, Any]] | None = None
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise DataError(f"{path}: invalid JSON: {exc}") from exc
        items = doc.get("messages") if isinstance(doc, dict) else doc
        if not isinstance(items, list) or not all(isinstance(m, dict) for m in items):
            raise DataError(f'{path}: expected a list of messages or {{"messages": [...]}}')
        messages = []
        for i, m in enumerate(items):
            msg = {
                "role": str(m.get("role", "user")),
                "content": _content(m.get("content", ""), f"{path}: messages[{i}]"),
            }
            if m.get("name"):
                msg["name"] = str(m["name"])
            messages.append(msg)
    chat = messages is not None
    if messages is None:
        messages = [{"role": "user", "content": raw}]
    found: list[str] = []
    for m in messages:
        for pattern in (_DOUBLE, _SINGLE):
            for name in pattern.findall(m["content"]):
                if name not in found:
                    found.append(name)
    filled = [n for n in found if n in variables]
    for m in messages:
        for name in filled:
            value = variables[name]  # a function, so backslashes in it stay literal

            def fill(_m: re.Match[str], value: str = value) -> str:
                return value

            m["content"] = re.sub(r"\{\{\s*" + name + r"\s*\}\}", fill, m["content"])
            m["content"] = re.sub(r"(?<![{\w])\{" + name + r"\}(?!\})", fill, m["content"])
    return Prompt(str(path), messages, chat, [n for n in found if n not in variables], filled)
