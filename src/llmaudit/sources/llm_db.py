"""Simon Willison's ``llm`` logs database (``llm logs path``): the ``responses`` table (llm up to
0.31) and ``turns`` (llm 0.32+).

Token counts are plugin-specific: OpenAI rows count cached input inside ``input_tokens`` (split
in ``token_details``); llm-anthropic rows (``anthropic/...``) count input WITHOUT cache (cache in
``token_details``); llm-gemini rows count output as candidates + thoughts. Rows from before llm
0.19 have no token counts and are rejected (their cost is unknown, not zero). Naive
``datetime_utc`` values (before llm 0.20) are UTC.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from llmaudit.errors import RecordError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.model.values import infer_provider, parse_ts
from llmaudit.sources import providers
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import LINE_ERRORS, count, dig, line_error, text

KIND = "llm"
TABLES = {
    "responses": (
        "id",
        "model",
        "resolved_model",
        "conversation_id",
        "duration_ms",
        "datetime_utc",
        "input_tokens",
        "output_tokens",
        "token_details",
    ),
    "turns": (
        "id",
        "model",
        "resolved_model",
        "thread_id",
        "duration_ms",
        "datetime_utc",
        "input_tokens",
        "output_tokens",
        "token_details",
    ),
}


def _details(value: Any) -> dict:
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            raise RecordError("is not valid JSON", field="token_details") from None
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _tokens(model: str, input_n: int, output_n: int, details: dict) -> providers.Tokens:
    name = model.lower()
    if name.startswith(("anthropic/", "claude")) or "cache_creation_input_tokens" in details:
        usage = {**details, "input_tokens": input_n, "output_tokens": output_n}
        return providers.anthropic(usage)
    if (
        "candidatesTokenCount" in details
        or "cachedContentTokenCount" in details
        or name.startswith(("gemini", "gemma"))
    ):
        thoughts = count(details.get("thoughtsTokenCount"), "token_details.thoughtsTokenCount")
        cached = count(
            details.get("cachedContentTokenCount"), "token_details.cachedContentTokenCount"
        )
        return providers.inclusive(
            input_n, cached, 0, output_n, min(thoughts, output_n), field="input_tokens"
        )
    cached = count(
        dig(details, "prompt_tokens_details", "cached_tokens")
        or dig(details, "input_tokens_details", "cached_tokens"),
        "cached_tokens",
    )
    written = count(
        dig(details, "prompt_tokens_details", "cache_write_tokens")
        or dig(details, "input_tokens_details", "cache_write_tokens"),
        "cache_write_tokens",
    )
    reasoning = count(
        dig(details, "completion_tokens_details", "reasoning_tokens")
        or dig(details, "output_tokens_details", "reasoning_tokens"),
        "reasoning_tokens",
    )
    return providers.inclusive(input_n, cached, written, output_n, reasoning, field="input_tokens")


def _ts(value: Any):
    if not isinstance(value, str) or not value.strip():
        raise RecordError("is missing", field="datetime_utc")
    try:
        return parse_ts(value, "datetime_utc")
    except RecordError as exc:
        if "no time zone offset" in exc.reason:
            return parse_ts(value.strip() + "Z", "datetime_utc")  # llm < 0.20: utcnow()
        raise


def _record(table: str, row: dict, location: str) -> UsageRecord:
    if row["input_tokens"] is None and row["output_tokens"] is None:
        raise RecordError("no token counts (logged by llm before 0.19)", field="input_tokens")
    model = text(row.get("resolved_model")) or text(row.get("model"))
    if not model:
        raise RecordError("is missing", field="model")
    tokens = _tokens(
        model,
        count(row["input_tokens"], "input_tokens"),
        count(row["output_tokens"], "output_tokens"),
        _details(row["token_details"]),
    )
    plugin = model.split("/", 1)[0] if "/" in model else None
    duration = row.get("duration_ms")
    return UsageRecord(
        ts=_ts(row.get("datetime_utc")),
        provider=providers.provider_name(plugin) or infer_provider(model),
        model=model,
        session=text(row.get("conversation_id") if table == "responses" else row.get("thread_id")),
        latency_ms=float(duration)
        if isinstance(duration, (int, float)) and duration >= 0
        else None,
        request_id=text(row.get("id")),
        tags={"llm_table": table},
        source_kind=KIND,
        source_location=location,
        source_id=text(row.get("id")),
        **tokens.fields(),
    )


class LlmLogsDb(Source):
    name = KIND
    summary = "Simon Willison's llm logs.db (SQLite): responses and turns tables"
    extensions = (".db", ".sqlite", ".sqlite3")

    def sniff(self, head: str) -> bool:
        return head.startswith("SQLite format 3") and ("responses" in head or "turns" in head)

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        if inp.location == "-":
            yield Reject(
                "-", None, "an llm logs.db must be given as a file path, not stdin", None, None
            )
            return
        try:
            conn = sqlite3.connect(f"file:{inp.path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            yield Reject(inp.location, None, f"cannot open as SQLite: {exc}", None, None)
            return
        try:
            present = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if not present & set(TABLES):
                yield Reject(
                    inp.location,
                    None,
                    "no responses or turns table: not an llm logs.db",
                    None,
                    None,
                )
                return
            for table, wanted in TABLES.items():
                if table not in present:
                    continue
                have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                cols = [c if c in have else f"NULL AS {c}" for c in wanted]
                cur = conn.execute(f"SELECT rowid, {', '.join(cols)} FROM {table} ORDER BY rowid")
                for rowid, *values in cur:
                    row = dict(zip(wanted, values, strict=True))
                    where = f"{table}#{row['id'] or rowid}"
                    try:
                        yield _record(table, row, f"{inp.location}:{where}")
                    except LINE_ERRORS as err:
                        problem = line_error(err)
                        yield Reject(
                            inp.location,
                            rowid,
                            f"{table} row {row['id']}: {problem.reason}",
                            problem.field,
                            json.dumps(row, default=str)[:4096],
                        )
        except sqlite3.DatabaseError as exc:
            yield Reject(inp.location, None, f"cannot read as SQLite: {exc}", None, None)
        finally:
            conn.close()
