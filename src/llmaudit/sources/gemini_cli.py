"""Gemini CLI chat recordings (``~/.gemini/tmp/<project>/chats/session-*.jsonl``, or the older
single ``.json`` conversation record).

A message is appended again with the same id when its tokens arrive: the last record of an id
wins. ``tokens.input`` includes cached tokens; output billed = ``output + thoughts``;
``tool`` (tool-use prompt) is billed as input. Rewinds (``$rewindTo``) are ignored: rewound turns
were paid for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import parse_ts
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    count,
    first_json_objects,
    json_lines,
    line_reject,
    loads,
    text,
    whole_json,
)

KIND = "gemini-cli"


def _record(msg: dict, session: str | None, location: str) -> UsageRecord:
    tokens = msg["tokens"]
    model = text(msg.get("model"))
    if not model:
        raise RecordError("is missing", field="model")
    input_total = count(tokens.get("input"), "tokens.input") + count(
        tokens.get("tool"), "tokens.tool"
    )
    thoughts = count(tokens.get("thoughts"), "tokens.thoughts")
    split = providers.inclusive(
        input_total,
        count(tokens.get("cached"), "tokens.cached"),
        0,
        count(tokens.get("output"), "tokens.output") + thoughts,
        thoughts,
        field="tokens.input",
    )
    return UsageRecord(
        ts=parse_ts(msg.get("timestamp"), "timestamp"),
        provider="google",
        model=model,
        session=session,
        request_id=text(msg.get("id")),
        source_kind=KIND,
        source_location=location,
        source_id=f"{session}:{msg.get('id')}" if session and msg.get("id") else None,
        **split.fields(),
    )


class GeminiCli(Source):
    name = KIND
    summary = "Gemini CLI chat recordings (~/.gemini/tmp/*/chats/session-*.jsonl or .json)"
    extensions = (".jsonl", ".json")

    def sniff(self, head: str) -> bool:
        objs = first_json_objects(head, 1) or [whole_json(head)]
        obj = objs[0]
        return isinstance(obj, dict) and "sessionId" in obj and "projectHash" in obj

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        whole = None
        if inp.head(65536).lstrip().startswith("{") and "\n{" not in inp.head(65536).strip():
            with inp.open_text() as fh:
                try:
                    whole = loads(fh.read())
                except ValueError:
                    whole = None
        if isinstance(whole, dict) and isinstance(whole.get("messages"), list):
            entries: Iterable[tuple[int, str, Any]] = [
                (i, json.dumps(m, default=str), m) for i, m in enumerate(whole["messages"], 1)
            ]
            session = text(whole.get("sessionId"))
        else:
            entries = json_lines(inp)
            session = None
        last: dict[str, tuple[int, str, dict]] = {}
        for lineno, raw, obj in entries:
            if isinstance(obj, Reject):
                yield obj
                continue
            if not isinstance(obj, dict):
                yield Reject(inp.location, lineno, "not a JSON object", None, raw)
                continue
            if "sessionId" in obj and "projectHash" in obj:
                session = text(obj.get("sessionId")) or session
                continue
            if obj.get("type") != "gemini" or not isinstance(obj.get("tokens"), dict):
                kind = obj.get("type")
                known = kind in ("user", "gemini", "info", "error", "warning")
                inp.skipped[f"{kind} messages" if known else "messages of other types"] += 1
                continue
            key = str(obj.get("id") or f"line{lineno}")
            last.pop(key, None)
            last[key] = (lineno, raw, obj)
        for lineno, raw, obj in last.values():
            try:
                yield _record(obj, session, f"{inp.location}:{lineno}")
            except LINE_ERRORS as err:
                yield line_reject(err, inp.location, lineno, raw)
