"""OpenAI Batch API output files: one ``BatchRequestOutput`` per line, each holding a normal
chat completion / response / embedding body. Priced at batch rates. Failed requests (HTTP >= 400,
or ``response: null`` with an ``error``) carry no usage and are not billed: they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone

from llmaudit.errors import RecordError
from llmaudit.model.reject import Reject
from llmaudit.model.values import format_ts
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import (
    LINE_ERRORS,
    first_json_objects,
    json_lines,
    line_reject,
    text,
)
from llmaudit.sources.middleware import has_usage, response_record

KIND = "openai-batch"


class OpenAIBatch(Source):
    name = KIND
    summary = "OpenAI Batch API output files (batch_req_... lines), priced at batch rates"
    extensions = (".jsonl",)
    appendable = True

    def sniff(self, head: str) -> bool:
        objs = first_json_objects(head, 1)
        return (
            bool(objs)
            and isinstance(objs[0], dict)
            and "custom_id" in objs[0]
            and ("response" in objs[0])
        )

    def parse(self, inp: InputFile, opts: Options) -> Iterator[Item]:
        for lineno, raw, obj in json_lines(inp):
            if isinstance(obj, Reject):
                yield obj
                continue
            if not isinstance(obj, dict) or "custom_id" not in obj:
                yield Reject(
                    inp.location, lineno, "not a batch output line (no custom_id)", "custom_id", raw
                )
                continue
            response = obj.get("response")
            body = response.get("body") if isinstance(response, dict) else None
            if not isinstance(body, dict):
                body = None
            status = response.get("status_code") if isinstance(response, dict) else None
            if body is None or not has_usage(body):
                if obj.get("error") or (isinstance(status, int) and status >= 400):
                    inp.skipped["failed requests (not billed)"] += 1
                    continue
                yield Reject(
                    inp.location, lineno, "no usage in response.body", "response.body", raw
                )
                continue
            envelope = {"custom_id": obj.get("custom_id")}
            if body.get("created") is None and body.get("created_at") is None:
                # Embeddings results carry no time: --ts, else the file's modification time
                when, said = _fallback_time(inp, opts)
                envelope["ts"] = when
                inp.notes[f"no 'created' in the response: timed by {said}"] += 1
            try:
                rec = response_record(
                    body,
                    envelope,
                    kind=KIND,
                    location=f"{inp.location}:{lineno}",
                    service_tier="batch",
                )
                if rec.source_id is None and text(obj.get("id")):
                    # no response id (embeddings): the batch request's own id is the identity
                    rid = text(response.get("request_id")) if isinstance(response, dict) else None
                    rec = replace(rec, source_id=text(obj["id"]), request_id=rid)
                yield rec
            except LINE_ERRORS as err:
                yield line_reject(err, inp.location, lineno, raw)


def _fallback_time(inp: InputFile, opts: Options) -> tuple[str, str]:
    if opts.default_ts is not None:
        return format_ts(opts.default_ts), f"--ts {format_ts(opts.default_ts)}"
    if inp.mtime is not None:
        when = format_ts(datetime.fromtimestamp(inp.mtime, timezone.utc))
        return when, f"the file's modification time, {when} (set --ts to choose)"
    raise RecordError("no 'created' in the response and no --ts to time it by", field="ts")
