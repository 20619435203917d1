"""OpenAI Batch API output files: one ``BatchRequestOutput`` per line, each holding a normal
chat completion / response / embedding body. Priced at batch rates. Failed requests (HTTP >= 400,
or ``response: null`` with an ``error``) carry no usage and are not billed: they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmaudit.ledger.store import Reject
from llmaudit.sources.base import InputFile, Item, Options, Source
from llmaudit.sources.common import LINE_ERRORS, first_json_objects, json_lines, line_error
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
            status = response.get("status_code") if isinstance(response, dict) else None
            if not has_usage(body):
                if obj.get("error") or (isinstance(status, int) and status >= 400):
                    continue  # a failed request: no usage, not billed
                yield Reject(
                    inp.location, lineno, "no usage in response.body", "response.body", raw
                )
                continue
            envelope = {"custom_id": obj.get("custom_id")}
            try:
                yield response_record(
                    body,
                    envelope,
                    kind=KIND,
                    location=f"{inp.location}:{lineno}",
                    service_tier="batch",
                )
            except LINE_ERRORS as err:
                exc = line_error(err)
                yield Reject(inp.location, lineno, exc.reason, exc.field, raw)
