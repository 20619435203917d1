"""Claude Code transcripts (``~/.claude/projects/**/*.jsonl``).

Claude Code writes one line per content block of an assistant message, all with the same
``message.id`` and ``requestId`` and with a placeholder ``output_tokens`` on all but the last:
llmaudit keeps, per (message id, request id), the line with the largest output (ties: the
first), across files too; the others count as duplicates. A sidechain line that replays a
main-chain message (same message id, another request id) is dropped. Anthropic usage:
``input_tokens`` excludes cache reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.ledger.record import UsageRecord, parse_ts, to_decimal
from llmaudit.ledger.store import Reject
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import LINE_ERRORS, first_json_objects, json_lines, line_error, text

KIND = "claude-code"


def _billable(obj: Any) -> bool:
    if not isinstance(obj, dict) or obj.get("type") != "assistant":
        return False
    message = obj.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
        return False
    return message.get("model") != "<synthetic>" and not obj.get("isApiErrorMessage")


def _record(obj: dict, location: str) -> UsageRecord:
    message = obj["message"]
    usage = message["usage"]
    tokens = providers.anthropic(usage)
    model = text(message.get("model"))
    if not model:
        raise RecordError("is missing", field="message.model")
    if obj.get("timestamp") is None:
        raise RecordError("is missing", field="timestamp")
    ts = parse_ts(obj["timestamp"], "timestamp")
    msg_id, req_id = text(message.get("id")), text(obj.get("requestId"))
    tags = {}
    for key, name in (
        ("gitBranch", "git_branch"),
        ("version", "claude_code_version"),
        ("cwd", "cwd"),
    ):
        if text(obj.get(key)):
            tags[name] = text(obj[key])
    if obj.get("isSidechain"):
        tags["sidechain"] = "true"
    cwd = text(obj.get("cwd"))
    cost = obj.get("costUSD")
    duration = obj.get("durationMs")
    tier = {"priority": "priority", "batch": "batch"}.get(
        str(usage.get("service_tier")), "standard"
    )
    return UsageRecord(
        ts=ts,
        provider="anthropic",
        model=model,
        service_tier=tier,
        session=text(obj.get("sessionId")),
        project=PurePath(cwd).name if cwd else None,
        tags=tags,
        latency_ms=float(duration)
        if isinstance(duration, (int, float)) and duration >= 0
        else None,
        request_id=req_id or msg_id,
        reported_cost_usd=to_decimal(cost, "costUSD") if cost is not None else None,
        source_kind=KIND,
        source_location=location,
        source_id=f"{msg_id}:{req_id}" if msg_id and req_id else msg_id,
        **tokens.fields(),
    )


class ClaudeCode(Source):
    name = KIND
    summary = "Claude Code transcripts (~/.claude/projects/**/*.jsonl), de-duplicated per message"
    extensions = (".jsonl",)
    keep = "max_output"

    def sniff(self, head: str) -> bool:
        for obj in first_json_objects(head, 5):
            if not isinstance(obj, dict):
                return False
            if obj.get("type") == "summary" and "leafUuid" in obj:
                continue
            return (
                "sessionId" in obj
                and "uuid" in obj
                and obj.get("type") in ("user", "assistant", "system")
            )
        return False

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        # Streams: the ledger keeps the largest output per key (keep = "max_output"), so only
        # the main chain's message ids are held here, for the sidechain-replay rule.
        main_chain: dict[str, str | None] = {}
        for lineno, raw, obj in json_lines(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            if not _billable(obj):
                continue
            try:
                rec = _record(obj, f"{inp.location}:{lineno}")
            except LINE_ERRORS as err:
                exc = line_error(err)
                yield Reject(inp.location, lineno, exc.reason, exc.field, raw)
                continue
            msg_id = text(obj["message"].get("id"))
            req_id = text(obj.get("requestId"))
            if msg_id and not obj.get("isSidechain"):
                main_chain.setdefault(msg_id, req_id)
            elif msg_id in main_chain and main_chain[msg_id] != req_id:
                continue  # a sidechain replay of a main-chain message
            yield rec
