"""Random bytes and random JSON thrown at every parser: nothing but records and rejects comes out."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmaudit.errors import InputError
from llmaudit.model.record import UsageRecord
from llmaudit.model.reject import Reject
from llmaudit.sources.base import InputFile, Options
from llmaudit.sources.registry import FORMATS

OPTIONS = Options(mapping={"ts": "ts", "model": "model", "input_tokens": "usage.in", "user": "who"})
# CI runs a fixed set of examples (derandomized) so that a red build always reproduces; set
# LLMAUDIT_FUZZ_EXAMPLES to hunt locally with fresh random examples.
_HUNT = os.environ.get("LLMAUDIT_FUZZ_EXAMPLES")
SETTINGS = settings(
    max_examples=int(_HUNT or 60),
    derandomize=not _HUNT,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "usage",
                    "model",
                    "ts",
                    "id",
                    "type",
                    "message",
                    "payload",
                    "tokens",
                    "response",
                    "prompt_tokens",
                    "input_tokens",
                    "output_tokens",
                    "timestamp",
                    "resourceSpans",
                    "sessionId",
                    "custom_id",
                    "data",
                    "usageDetails",
                    "startTime",
                    "traceId",
                    "who",
                    "in",
                    # billing exports and gateways
                    "sku",
                    "service",
                    "description",
                    "usage_start_time",
                    "cost",
                    "currency",
                    "currency_conversion_rate",
                    "amount",
                    "unit",
                    "labels",
                    "ai_model",
                    "ai_org",
                    "req_units",
                    "res_units",
                    "created_at",
                    "metadata",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


def run_parser(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input"
        path.write_bytes(data)
        inp = InputFile.from_path(path)
        try:
            for item in FORMATS[name].items(inp, OPTIONS):
                assert isinstance(item, (UsageRecord, Reject)), item
        except InputError as exc:  # a --map path no row has: the whole input is refused
            assert name == "mapped" and "no row has" in exc.message


@pytest.mark.parametrize("name", list(FORMATS))
@SETTINGS
@given(data=st.binary(max_size=600))
def test_random_bytes(name, data):
    run_parser(name, data)


@pytest.mark.parametrize("name", list(FORMATS))
@SETTINGS
@given(objs=st.lists(json_values, max_size=5))
def test_random_json_lines(name, objs):
    run_parser(name, "\n".join(json.dumps(o) for o in objs).encode())


@pytest.mark.parametrize("name", list(FORMATS))
@SETTINGS
@given(doc=json_values)
def test_random_json_document(name, doc):
    run_parser(name, json.dumps({"data": [doc, doc], "messages": [doc]}).encode())


# The CSV exports, each with its real header: random cells under it (and a ragged row now and
# then) give records and rejects, never an exception.
CSV_HEADERS = {
    "openrouter-export": "generation_id,created_at,cost_total,cost_web_search,cost_cache,"
    "cost_file_processing,byok_usage_inference,tokens_prompt,tokens_completion,"
    "tokens_reasoning,tokens_cached,model_permaslug,provider_name,variant,cancelled,streamed,"
    "user,finish_reason_raw,finish_reason_normalized,generation_time_ms,"
    "time_to_first_token_ms,api_key_disabled,api_key_name,app_name",
    "anthropic-console": "usage_date_utc,model_version,api_key,workspace,usage_type,"
    "context_window,usage_input_tokens_no_cache,usage_input_tokens_cache_write_5m,"
    "usage_input_tokens_cache_write_1h,usage_input_tokens_cache_read,usage_output_tokens,"
    "web_search_count,inference_geo,speed",
    "openai-export": "start_time,end_time,start_time_iso,end_time_iso,project_id,"
    "num_model_requests,user_id,api_key_id,model,batch,service_tier,input_tokens,output_tokens,"
    "input_cached_tokens,input_uncached_tokens",
    "gcp-billing": "service.description,sku.description,usage_start_time,usage_end_time,"
    "project.id,cost,currency,currency_conversion_rate,usage.amount,usage.unit",
}
cells = (
    st.integers(-5, 10**13).map(str)
    | st.floats(allow_nan=True, allow_infinity=True).map(str)
    | st.sampled_from(
        [
            "",
            "TRUE",
            "false",
            "2026-11-20",
            "2026-11-20 09:14:03.401",
            "2026-11-20 07:00:00 UTC",
            "≤ 200k",
            "> 200k",
            "Gemini API",
            "Generate content input token count gemini 2.5 flash short input text",
            "count",
            "EUR",
            "gpt-4o-mini",
        ]
    )
    | st.text(max_size=12)
)


@pytest.mark.parametrize("name", list(CSV_HEADERS))
@SETTINGS
@given(data=st.data())
def test_random_csv_rows(name, data):
    header = CSV_HEADERS[name]
    width = header.count(",") + 1
    rows = data.draw(st.lists(st.lists(cells, min_size=width - 1, max_size=width + 1), max_size=5))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    run_parser(name, (header + "\n" + out.getvalue()).encode("utf-8", "surrogatepass"))
