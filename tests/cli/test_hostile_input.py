"""Hostile input at the command line: one bad value in one line of any format is one reject.

Every fixture of every format, one JSON value in it replaced by a hostile one (a lone
surrogate, 1e400, 1E+999999999, a year 1 or 9999 time, a wrong type...). The ingest must end
with exit 0 or 3 (never 70), and every record that the file gives without the bad line must
still be in the ledger: one bad line never loses the good lines around it.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA, open_ledger
from llmaudit.errors import StoreError
from llmaudit.sources.base import loads_document
from llmaudit.sources.registry import FORMATS

LOGS = DATA / "logs"
_HUNT = os.environ.get("LLMAUDIT_FUZZ_EXAMPLES")
SETTINGS = settings(
    max_examples=int(_HUNT or 25),
    derandomize=not _HUNT,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Raw JSON texts (not all of them expressible through json.dumps).
HOSTILE = [
    '"\\ud800"',
    "1e400",
    "1E+999999999",
    "-1E+999999999",
    '"1e999999999"',
    "-5",
    "1.5",
    "9007199254740993",
    "1" + "0" * 4000,
    "null",
    "true",
    "[]",
    "{}",
    '{"values":null}',
    '{"arrayValue":{"values":null}}',
    '"0001-01-01T00:00:00+05:00"',
    '"9999-12-31T23:59:59-05:00"',
    '"9999-12-31T00:00:00Z"',
    '"not a time"',
    '"' + "x" * 70000 + '"',
    '"\\u001b[31mred\\u001b[0m"',
]
MARK = "\u0000HOSTILE\u0000"

JSONL_FIXTURES = sorted(
    p.name
    for p in LOGS.iterdir()
    if p.suffix in (".jsonl", ".json") and p.name != "langfuse_observations.json"
)


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*path, i))
    if path:
        yield path


def _replace(obj, path):
    if len(path) == 1:
        obj[path[0]] = MARK
    else:
        _replace(obj[path[0]], path[1:])


def _keys(db) -> set[str]:
    try:
        with open_ledger(db, create=False) as led:
            return {r.key for r in led.iter_records()}
    except StoreError:  # no ledger yet
        return set()


def _fmt(path) -> str:
    from llmaudit.sources.base import InputFile
    from llmaudit.sources.ingest import detect

    return detect(InputFile.from_path(path)).name


def _parsed_keys(fmt, path) -> set[str]:
    from llmaudit.model.record import UsageRecord
    from llmaudit.sources.base import InputFile, Options
    from llmaudit.sources.registry import FORMATS

    items = FORMATS[fmt].items(InputFile.from_path(path), Options())
    return {item.dedupe_key() for item in items if isinstance(item, UsageRecord)}


@pytest.mark.parametrize("name", JSONL_FIXTURES)
@SETTINGS
@given(data=st.data())
def test_one_hostile_value_is_one_reject(run, tmp_path_factory, name, data):
    tmp = tmp_path_factory.mktemp("h")
    text = (LOGS / name).read_text()
    try:
        lines = text.splitlines()
        objs = [(i, json.loads(line)) for i, line in enumerate(lines) if line.strip()]
    except ValueError:  # one document: its items stand for the lines
        doc = loads_document(text)  # (Helicone's export tool leaves a comma before "]")
        if isinstance(doc, list):
            items, wrap = doc, (lambda item: item)
        else:  # a page: write each item back as a line of the same page shape
            key = next(
                (k for k in ("data", "events", "result") if isinstance(doc.get(k), list)), None
            )
            if key is not None:
                items = doc[key]
                wrap = lambda item, k=key: {**doc, k: [item]}  # noqa: E731
            elif isinstance(doc.get("hits"), dict):  # Elasticsearch
                items = doc["hits"]["hits"]
                wrap = lambda item: {**doc, "hits": {**doc["hits"], "hits": [item]}}  # noqa: E731
            else:
                items, wrap = [doc], (lambda item: item)
        lines = [json.dumps(wrap(item)) for item in items]
        objs = [(i, wrap(item)) for i, item in enumerate(items)]
    if len(lines) == 1 or not objs:
        pytest.skip("one document: nothing around it to keep")
    i, obj = data.draw(st.sampled_from(objs), label="line")
    leaves = list(_leaves(obj))
    path = data.draw(st.sampled_from(leaves), label="path")
    hostile = data.draw(st.sampled_from(HOSTILE), label="value")
    obj = json.loads(json.dumps(obj))
    _replace(obj, path)
    bad = json.dumps(obj).replace(json.dumps(MARK), hostile)

    without = tmp / "without" / name
    without.parent.mkdir()
    without.write_text("\n".join(line for j, line in enumerate(lines) if j != i) + "\n")
    mutated = tmp / "mutated" / name
    mutated.parent.mkdir()
    mutated.write_text("\n".join(bad if j == i else line for j, line in enumerate(lines)) + "\n")

    fmt = _fmt(LOGS / name)
    started = time.monotonic()
    res = run("--db", str(tmp / "m.db"), "ingest", "--format", fmt, str(mutated))
    assert time.monotonic() - started < 20, "no hang"
    assert res.exit_code in (0, 3), res.stderr
    assert "internal error" not in res.stderr
    if fmt not in ("codex", "gemini-cli"):  # cumulative counters: a line changes its successors
        assert _parsed_keys(fmt, without) <= _keys(tmp / "m.db")
    # whatever was accepted never breaks a later command
    later = run("--db", str(tmp / "m.db"), "report", "--format", "json")
    assert later.exit_code in (0, 3), later.stderr


FORMAT_NAMES = ["auto", *FORMATS]


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
@settings(
    max_examples=int(_HUNT or 15),
    derandomize=not _HUNT,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(blob=st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(run, tmp_path_factory, fmt, blob):
    tmp = tmp_path_factory.mktemp("b")
    path = tmp / "input.jsonl"
    path.write_bytes(blob)
    extra = ["--map", "ts=t", "--map", "model=m"] if fmt == "mapped" else []
    res = run("--db", str(tmp / "l.db"), "ingest", "--format", fmt, *extra, str(path))
    assert res.exit_code in (0, 3), res.stderr
    assert "internal error" not in res.stderr
