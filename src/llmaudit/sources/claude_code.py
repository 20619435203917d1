"""Claude Code transcripts (``~/.claude/projects/**/*.jsonl``).

Claude Code writes one line per content block of an assistant message, all with the same
``message.id`` and ``requestId`` and with a placeholder ``output_tokens`` on all but the last:
llmaudit keeps, per (message id, request id), the line with the largest output (ties: the
first), across files too; the others count as duplicates. A sidechain line that replays a
main-chain message (same message id, another request id) is dropped. Anthropic usage:
``input_tokens`` excludes cache reads and writes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.ledger.writes import Prepared
from llmaudit.model.record import UsageRecord, check_plausible, tags_text
from llmaudit.model.reject import Reject
from llmaudit.model.values import MAX_COUNT, MAX_DURATION_MS, MAX_TEXT, parse_ts, to_decimal
from llmaudit.sources import providers
from llmaudit.sources.base import Chained, InputFile, Labels, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    first_json_objects,
    json_lines,
    line_reject,
    loads,
    text,
)
from llmaudit.sources.lean import (
    PASS,
    canonical_ts,
    cost_text,
    lean_lines,
    lean_prepared,
    plain_loads,
)

KIND = "claude-code"


# Lines Claude Code writes that carry no usage. Seen in transcripts of 1.0.x to 2.1.x; the
# ones with a sessionId say by themselves that the file is Claude Code's.
BOOKKEEPING = frozenset(
    {
        "summary",
        "file-history-snapshot",
        "queue-operation",
        "progress",
        "system",
        "attachment",
        "custom-title",
        "ai-title",
        "last-prompt",
        "permission-mode",
        "mode",
        "worktree-state",
        "pr-link",
    }
)
CONVERSATION = frozenset({"user", "assistant", "system", "progress"})
DETECT_LINES = 10_000
DETECT_BYTES = 32 * 1024 * 1024


def _line_verdict(obj: Any) -> bool | None:
    """True: a Claude Code conversation line; None: a bookkeeping line, look further;
    False: not Claude Code."""
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    if not isinstance(kind, str):
        return False
    if kind in CONVERSATION and "sessionId" in obj and ("uuid" in obj or "version" in obj):
        return True
    if kind in BOOKKEEPING:
        return None
    return False


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
    tags: dict[str, str] = {}
    for key, name in (
        ("gitBranch", "git_branch"),
        ("version", "claude_code_version"),
        ("cwd", "cwd"),
    ):
        value = text(obj.get(key))
        if value:
            tags[name] = value
    if obj.get("isSidechain"):
        tags["sidechain"] = "true"
    cwd = text(obj.get("cwd"))
    cost = obj.get("costUSD")
    duration = obj.get("durationMs")
    tier = {"priority": "priority", "batch": "batch"}.get(
        str(usage.get("service_tier")), "standard"
    )
    rec = UsageRecord(
        ts=ts,
        provider="anthropic",
        model=model,
        service_tier=tier,
        session=text(obj.get("sessionId")),
        project=_project(cwd) if cwd else None,
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
    # (always within bounds: every count went through count(); checked here, not by
    # Source.items, so that a record whose keeping waits for its mark is checked too)
    check_plausible(rec)
    return rec


@functools.lru_cache(maxsize=4096)
def _project(cwd: str) -> str:
    """The project a session ran in: its working folder's name (parsed once per folder)."""
    return PurePath(cwd).name


def _why_skipped(obj: Any) -> str:
    if not isinstance(obj, dict):
        return "not an object"
    kind = obj.get("type")
    if not isinstance(kind, str):
        return "lines of other types"
    if kind == "assistant":
        return "assistant without usage (synthetic or API error)"
    if kind in BOOKKEEPING or kind == "user":
        return f"{kind} lines"
    return "lines of other types"


class ClaudeCode(Source):
    name = KIND
    summary = "Claude Code transcripts (~/.claude/projects/**/*.jsonl), de-duplicated per message"
    extensions = (".jsonl",)
    keep = "max_output"

    def sniff(self, head: str) -> bool:
        verdict = None
        for obj in first_json_objects(head, 5):
            verdict = _line_verdict(obj)
            if verdict is not None:
                return verdict
        return False

    def detect(self, inp: InputFile, head: str) -> bool:
        """Claude Code 2.x files may open with any number of ``progress``,
        ``file-history-snapshot``, ``queue-operation``, ``summary`` or ``system`` lines (a
        snapshot line alone can be larger than the head): read lines until one says what the
        file is. A file of bookkeeping lines only (``summary`` lines, say) is a transcript
        without usage."""
        if not head.lstrip().startswith("{"):
            return False
        bookkeeping = 0
        for n, (_, data, _) in enumerate(inp.lines()):
            if n >= DETECT_LINES or inp.consumed > DETECT_BYTES:
                break
            if not data.strip():
                continue
            try:
                obj = loads(data.decode("utf-8"))
            except (ValueError, RecursionError):
                return False
            verdict = _line_verdict(obj)
            if verdict is not None:
                return verdict
            bookkeeping += 1
        return bookkeeping > 0

    # Two processes may share a file's lines: the sidechain rule is then applied by the ingest,
    # in line order, to the (message id, request id, sidechain) mark of each record.
    kept_in_order = True

    def keep_in_order(self) -> Callable[[Any], bool]:
        return MainChain().keep

    def droppable(self, mark: Any) -> bool:
        return MainChain.droppable(mark)

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Any]:
        # Streams: the ledger keeps the largest output per key (keep = "max_output"), so only
        # the main chain's message ids are held here, for the sidechain-replay rule.
        keep = None if inp.stripe is not None else MainChain().keep
        for lineno, raw, obj in json_lines(inp):
            item = _item(inp, keep, lineno, raw, obj)
            if item is not None:
                yield item

    def lean(self, inp: InputFile, opts: Options, labels: Labels) -> Iterator[Any] | None:
        if labels.tags:  # --tag labels: the full path applies them
            return None
        return self._lean(inp, labels)

    def _lean(self, inp: InputFile, labels: Labels) -> Iterator[Any]:
        keep = None if inp.stripe is not None else MainChain().keep

        def take(data: bytes, where: str) -> Any:
            obj = plain_loads(data)
            if type(obj) is not dict:
                return None
            if not _billable(obj):
                inp.skipped[_why_skipped(obj)] += 1
                return PASS
            got = lean_row_and_mark(obj, where, labels)
            if got is None:
                return None
            row, mark = got
            if keep is None:
                return Chained(row, mark)
            return row if keep(mark) else PASS

        return lean_lines(inp, take, functools.partial(_item, inp, keep))


def _item(
    inp: InputFile, keep: Callable[[Any], bool] | None, lineno: int, raw: str, obj: Any
) -> Any:
    """One decoded line by the full path: a record (or, with no ``keep`` to decide, the record
    with its mark), a reject, or None (skipped and counted, or a sidechain replay)."""
    if isinstance(obj, Reject):
        return obj
    if not _billable(obj):
        inp.skipped[_why_skipped(obj)] += 1
        return None
    try:
        rec = _record(obj, f"{inp.location}:{lineno}")
    except LINE_ERRORS as err:
        return line_reject(err, inp.location, lineno, raw)
    if keep is None:
        return Chained(rec, _mark(obj))
    return rec if keep(_mark(obj)) else None


def _mark(obj: dict) -> tuple[str | None, str | None, bool]:
    """What the sidechain rule looks at: message id, request id, on a sidechain or not."""
    return text(obj["message"].get("id")), text(obj.get("requestId")), bool(obj.get("isSidechain"))


class MainChain:
    """The sidechain rule over one file, line by line: a sidechain line replaying a main-chain
    message seen before (same message id, another request id) is dropped."""

    def __init__(self) -> None:
        self.ids: dict[str, str | None] = {}  # main-chain message id -> its request id

    @staticmethod
    def droppable(mark: tuple[str | None, str | None, bool]) -> bool:
        """Only a sidechain line with a message id is ever dropped."""
        return bool(mark[0]) and mark[2]

    def keep(self, mark: tuple[str | None, str | None, bool]) -> bool:
        msg_id, req_id, sidechain = mark
        if msg_id and not sidechain:
            self.ids.setdefault(msg_id, req_id)
        elif msg_id in self.ids and self.ids[msg_id] != req_id:
            return False
        return True


# -- the lean path ----------------------------------------------------------------------------
# A billable line with plain values (ASCII text, a canonical UTC timestamp) becomes the row a
# write needs without a record in between: the same key, hash and identity row that _record
# and prepare give. Anything else returns None and the line takes the full path.
# tests/sources/test_lean.py holds the two paths to the same rows.

_DOUBT: Any = object()
_TAGGED = (("gitBranch", "git_branch"), ("version", "claude_code_version"), ("cwd", "cwd"))
_CONTEXT_KEYS = ("sessionId", *(key for key, _ in _TAGGED), "isSidechain")


def _plain(value: Any) -> Any:
    """``text(value)`` when it is plain ASCII text or absent, else _DOUBT."""
    if value is None:
        return None
    if type(value) is not str or not value.isascii() or len(value) > MAX_TEXT:
        return _DOUBT
    return value.strip() or None


# A session's lines carry the same few contexts (session, branch, version, folder, sidechain
# or not): each one's session, tags as the ledger stores them, and project; _DOUBT for one the
# lean path leaves to the full path. Equal values give equal answers, whatever their types.
_CONTEXTS: dict[tuple[Any, ...], Any] = {}


def _context(context: tuple[Any, ...]) -> Any:
    session = _plain(context[0])
    if session is _DOUBT:
        return _DOUBT
    tags: dict[str, str] = {}
    for (_, name), raw in zip(_TAGGED, context[1:4], strict=True):
        value = _plain(raw)
        if value is _DOUBT:
            return _DOUBT
        if value:
            tags[name] = value
    if context[4]:
        tags["sidechain"] = "true"
    cwd = tags.get("cwd")  # plain ASCII text, and so is its last part, the project
    return session, tags_text(tags), _project(cwd) if cwd else None


def lean_row(obj: dict, location: str, labels: Labels) -> Prepared | None:
    """``prepare(labels(_record(obj, location)))`` for a plain billable line, or None. ``obj``
    is the standard decoder's object (as plain_loads gives it): floats are exact Decimals."""
    got = lean_row_and_mark(obj, location, labels)
    return None if got is None else got[0]


def _plain_tokens(usage: dict) -> providers.Tokens | None:
    """``providers.anthropic(usage)`` when the four counts are there, each a plain int in
    bounds, the cache writes' split (if given) adds up to their total, and there are no
    thinking tokens, as Claude Code writes them; else None, and it is asked instead."""
    get = usage.get
    uncached, read, written, output = (
        get("input_tokens"),
        get("cache_read_input_tokens"),
        get("cache_creation_input_tokens"),
        get("output_tokens"),
    )
    split = get("cache_creation")
    if type(split) is dict:
        w5, w1 = split.get("ephemeral_5m_input_tokens"), split.get("ephemeral_1h_input_tokens")
    else:
        w5, w1 = written, 0
    if (
        type(uncached) is int
        and type(read) is int
        and type(written) is int
        and type(output) is int
        and type(w5) is int
        and type(w1) is int
        and min(uncached, read, output, w5, w1) >= 0
        and max(uncached, read, written, output) <= MAX_COUNT
        and w5 + w1 == written
        and get("output_tokens_details") is None
    ):
        return providers.Tokens(uncached, read, w5, w1, output, 0)
    return None


def lean_row_and_mark(
    obj: dict, location: str, labels: Labels
) -> tuple[Prepared, tuple[str | None, str | None, bool]] | None:
    """:func:`lean_row`, and the line's mark (``_mark(obj)``, from the values it read)."""
    message = obj["message"]
    usage = message["usage"]
    tokens = _plain_tokens(usage)
    if tokens is None:
        try:
            tokens = providers.anthropic(usage)
        except LINE_ERRORS:
            return None
        if min(tokens) < 0 or max(tokens) > MAX_COUNT or tokens.reasoning > tokens.output:
            return None
    model = _plain(message.get("model"))
    ts = canonical_ts(obj.get("timestamp"))
    if model is None or model is _DOUBT or ts is None:
        return None
    msg_id, req_id = _plain(message.get("id")), _plain(obj.get("requestId"))
    if msg_id is _DOUBT or req_id is _DOUBT:
        return None
    context = tuple(map(obj.get, _CONTEXT_KEYS))
    try:
        known = _CONTEXTS.get(context)
    except TypeError:  # a list or an object among them
        return None
    if known is None:
        known = _context(context)
        if len(_CONTEXTS) < 4096:
            _CONTEXTS[context] = known
    if known is _DOUBT:
        return None
    session, tags_json, project = known
    cost = cost_text(obj.get("costUSD"))
    duration = obj.get("durationMs")
    latency = None
    # an int (or bool) is a duration; a float literal is a Decimal there, and no duration
    if (type(duration) is int or type(duration) is bool) and duration >= 0:
        latency = float(duration)
        if latency > MAX_DURATION_MS:
            return None
    if cost is False:
        return None
    tier = {"priority": "priority", "batch": "batch"}.get(
        str(usage.get("service_tier")), "standard"
    )
    request_id = req_id or msg_id
    source_id = f"{msg_id}:{req_id}" if msg_id and req_id else msg_id
    ident = (
        ts,
        None,
        "anthropic",
        model,
        1,
        *tokens,
        tier,
        "ok",
        None,
        None,
        None,
        None,
        project,
        None,
        session,
        None,
        tags_json,
        latency,
        None,
        request_id,
        cost,
    )
    row = lean_prepared(ident, KIND, source_id, location, labels, tokens.output)
    return row, (msg_id, req_id, bool(context[4]))
