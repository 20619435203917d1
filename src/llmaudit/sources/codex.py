"""OpenAI Codex CLI rollouts (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``).

Token counts are cumulative per session (``total_token_usage``): each call is the delta from
the previous count, and re-emitted counts that did not advance add nothing. ``input_tokens``
includes cached input; ``output_tokens`` includes reasoning. The model is the one of the latest
``turn_context``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath

from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import parse_ts
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    count,
    dig,
    first_json_objects,
    json_lines,
    line_reject,
    text,
)

KIND = "codex"
FALLBACK_MODEL = "gpt-5"
FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
)


def _usage(obj: dict | None, where: str) -> dict[str, int] | None:
    if not isinstance(obj, dict):
        return None
    return {f: count(obj.get(f), f"{where}.{f}") for f in FIELDS}


class CodexRollout(Source):
    name = KIND
    summary = "OpenAI Codex CLI rollouts (~/.codex/sessions/**/rollout-*.jsonl), cumulative deltas"
    extensions = (".jsonl",)

    def sniff(self, head: str) -> bool:
        objs = first_json_objects(head, 3)
        return (
            bool(objs)
            and all(
                isinstance(o, dict) and {"timestamp", "type", "payload"} <= set(o) for o in objs
            )
            and objs[0].get("type")
            in ("session_meta", "turn_context", "response_item", "event_msg", "compacted")
        )

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        session = provider = cwd = branch = parent = None
        model = None
        previous: dict[str, int] | None = None
        for lineno, raw, obj in json_lines(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            if not isinstance(obj, dict):
                yield Reject(inp.location, lineno, "not a JSON object", None, raw)
                continue
            kind, payload = obj.get("type"), obj.get("payload")
            if not isinstance(payload, dict):
                inp.skipped["lines without a payload"] += 1
                continue
            if kind == "session_meta":
                session = text(payload.get("id"))
                provider = providers.provider_name(payload.get("model_provider"))
                cwd = text(payload.get("cwd"))
                branch = text(dig(payload, "git", "branch"))
                # a fork (branch) replays its parent's token counts, then goes on from there
                parent = text(payload.get("forked_from_id"))
                continue
            if kind == "turn_context":
                model = text(payload.get("model")) or model
                continue
            if kind != "event_msg" or payload.get("type") != "token_count":
                known = kind in ("response_item", "event_msg", "compacted")
                inp.skipped[f"{kind} lines" if known else "lines of other types"] += 1
                continue
            info = payload.get("info")
            if not isinstance(info, dict):
                inp.skipped["token counts without usage (rate-limit refreshes)"] += 1
                continue
            try:
                total = _usage(info.get("total_token_usage"), "info.total_token_usage")
                last = _usage(info.get("last_token_usage"), "info.last_token_usage")
                if total is not None:
                    if previous is not None and total["total_tokens"] <= previous["total_tokens"]:
                        if total["total_tokens"] == previous["total_tokens"]:
                            continue  # re-emitted: nothing new
                        delta = last  # the counter went back (a new thread): trust last
                    elif previous is None:
                        delta = total
                    else:
                        delta = {f: total[f] - previous[f] for f in FIELDS}
                    previous = total
                else:
                    delta = last
                if delta is None:
                    continue
                # the model of this count when it says; else the last turn_context's
                named = text(info.get("model")) or model
                assumed = not named
                # rollouts of before turn_context (Codex CLI of summer 2025) ran gpt-5
                this_model = named or FALLBACK_MODEL
                if assumed:
                    inp.notes[
                        f"no turn_context with a model: priced as {FALLBACK_MODEL}, the "
                        "Codex CLI's model then (tag model_assumed)"
                    ] += 1
                tokens = providers.inclusive(
                    delta["input_tokens"],
                    delta["cached_input_tokens"],
                    0,
                    delta["output_tokens"],
                    delta["reasoning_output_tokens"],
                    field="input_tokens",
                )
                ts = parse_ts(obj.get("timestamp"), "timestamp")
            except LINE_ERRORS as err:
                yield line_reject(err, inp.location, lineno, raw)
                continue
            # a count's key is the session's running total (previous is now that total)
            marker = total["total_tokens"] if total is not None else f"line{lineno}"
            tags = {k: v for k, v in (("cwd", cwd), ("git_branch", branch)) if v}
            if parent:
                tags["forked_from"] = parent
            if assumed:
                tags["model_assumed"] = "true"
            # Keyed by the cumulative total in the parent's session for a fork: its replayed
            # counts are the parent's own records, and only its growth is new.
            yield UsageRecord(
                ts=ts,
                provider=provider or "openai",
                model=this_model,
                session=session,
                project=PurePath(cwd).name if cwd else None,
                tags=tags,
                source_kind=KIND,
                source_location=f"{inp.location}:{lineno}",
                source_id=f"{parent or session or inp.location}:{marker}",
                **tokens.fields(),
            )
