"""Incremental ingest, bad input of every kind, mapping, tags."""

from __future__ import annotations

import json

import pytest

from conftest import DATA, ledger_totals, open_ledger

pytestmark = pytest.mark.both_engines


LINE = (
    '{{"logged_at": "2026-08-18T09:{m:02d}:00Z", "attrs": {{"feature": "f{n}"}}, "response": '
    '{{"id": "chatcmpl-{n}", "object": "chat.completion", "model": "gpt-4o-mini", '
    '"usage": {{"prompt_tokens": {n}00, "completion_tokens": {n}}}}}}}\n'
)


def lines(start, stop):
    return "".join(LINE.format(n=n, m=n % 60) for n in range(start, stop))


def count(tmp_path, db="d.db"):
    with open_ledger(tmp_path / db) as led:
        return led.info()["records"]


def test_appending_10_lines_adds_10(run, tmp_path):
    log = tmp_path / "app.jsonl"
    log.write_text(lines(1, 6))
    first = run("--db", "d.db", "ingest", "app.jsonl")
    assert first.stderr == "app.jsonl: 5 added, 0 updated, 0 duplicate, 0 rejected\n"
    unchanged = run("--db", "d.db", "ingest", "app.jsonl")
    assert unchanged.stderr == "app.jsonl: unchanged since the last ingest\n"
    with log.open("a") as fh:
        fh.write(lines(6, 15))
        fh.write("{not json}\n")  # line 15
    grown = run("--db", "d.db", "ingest", "app.jsonl")
    assert grown.exit_code == 3
    assert grown.stderr.splitlines()[:2] == [
        "app.jsonl:15: invalid JSON: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)",
        "app.jsonl: 9 added, 0 updated, 0 duplicate, 1 rejected (appended lines only)",
    ]
    with log.open("a") as fh:
        fh.write(lines(15, 16))
    assert "app.jsonl: 1 added" in run("--db", "d.db", "ingest", "app.jsonl").stderr
    assert count(tmp_path) == 15


def test_a_directory_twice_adds_nothing(run, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in (
        "middleware_anthropic.jsonl",
        "codex_rollout.jsonl",
        "langfuse_observations.json",
        "litellm_spendlogs.csv",
        "llm_logs.sqlite",
    ):
        (logs / name).write_bytes((DATA / "logs" / name).read_bytes())
    first = run("--db", "d.db", "ingest", "logs", "--json")
    before = count(tmp_path)
    second = run("--db", "d.db", "ingest", "logs", "--json")
    assert json.loads(second.stdout)["totals"]["added"] == 0
    assert {i["mode"] for i in json.loads(second.stdout)["inputs"]} == {"unchanged"}
    assert count(tmp_path) == before == json.loads(first.stdout)["totals"]["added"]


def test_rewritten_or_truncated_files_are_read_again(run, tmp_path):
    log = tmp_path / "app.jsonl"
    log.write_text(lines(1, 11))
    run("--db", "d.db", "ingest", "app.jsonl")
    log.write_text(lines(20, 23))  # rotated: new content, shorter
    result = run("--db", "d.db", "ingest", "app.jsonl")
    assert result.stderr == (
        "app.jsonl: 3 added, 0 updated, 0 duplicate, 0 rejected "
        "(changed since the last run: read again from the start)\n"
    )
    # same size, different first bytes: read from the start, old lines are duplicates
    log.write_text(lines(20, 23).replace("f20", "g20"))
    again = run("--db", "d.db", "ingest", "app.jsonl")
    assert "0 added, 1 updated, 2 duplicate" in again.stderr


def test_an_incomplete_last_line_waits_for_the_next_run(run, tmp_path):
    log = tmp_path / "app.jsonl"
    full = lines(1, 4)
    log.write_text(full[: len(full) - 30])  # the writer is mid-line
    result = run("--db", "d.db", "ingest", "app.jsonl")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "app.jsonl: 2 added, 0 updated, 0 duplicate, 0 rejected",
        "app.jsonl: the last line is incomplete; it will be read next run",
    ]
    log.write_text(full)
    done = run("--db", "d.db", "ingest", "app.jsonl")
    assert (
        done.stderr
        == "app.jsonl: 1 added, 0 updated, 0 duplicate, 0 rejected (appended lines only)\n"
    )
    # a complete last line without a newline is read at once
    log2 = tmp_path / "b.jsonl"
    log2.write_text(lines(7, 9).rstrip("\n"))
    assert "b.jsonl: 2 added" in run("--db", "d.db", "ingest", "b.jsonl").stderr


def test_mixed_bad_lines_are_all_rejected_with_file_line_reason(run, tmp_path):
    good = LINE.format(n=1, m=1)
    bad = [
        "{this is not json\n",
        good.replace('"prompt_tokens": 100', '"prompt_tokens": "lots"'),
        good.replace('"completion_tokens": 1', '"completion_tokens": -4'),
        '{"hello": "world"}\n',
        good.replace('"logged_at": "2026-08-18T09:01:00Z", ', ""),
        b"\xff\xfe broken bytes\n".decode("latin-1"),
    ]
    (tmp_path / "mixed.jsonl").write_bytes(
        (good + "".join(bad) + LINE.format(n=2, m=2)).encode("latin-1")
    )
    result = run("--db", "d.db", "ingest", "mixed.jsonl", "--format", "middleware")
    assert result.exit_code == 3
    assert "mixed.jsonl: 2 added, 0 updated, 0 duplicate, 6 rejected" in result.stderr
    rows = json.loads(run("--db", "d.db", "ledger", "rejects", "--format", "json").stdout)
    got = [(r["line"], r["field"], r["reason"]) for r in rows["rejects"]]
    assert [g[0] for g in got] == [2, 3, 4, 5, 6, 7]
    assert got[0][2].startswith("invalid JSON")
    assert got[1][1:] == ("usage.prompt_tokens", "must be an integer, got 'lots'")
    assert got[2][1:] == ("usage.completion_tokens", "must not be negative, got -4")
    assert got[3][1:] == ("usage", "no provider response with usage in this line")
    assert got[4][1] == "ts"
    assert got[5][2] == "line is not valid UTF-8"


def test_empty_files_and_huge_lines(run, tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    empty = run("--db", "d.db", "ingest", "empty.jsonl", "--format", "middleware")
    assert empty.stderr == "empty.jsonl: 0 added, 0 updated, 0 duplicate, 0 rejected\n"
    huge = LINE.format(n=1, m=1).replace('"f1"', '"' + "x" * 2_000_000 + '"')
    (tmp_path / "huge.jsonl").write_text(huge + "[" * 100_000 + "\n")
    result = run("--db", "d.db", "ingest", "huge.jsonl", "--format", "middleware")
    assert result.exit_code == 3
    assert "huge.jsonl: 1 added, 0 updated, 0 duplicate, 1 rejected" in result.stderr
    rows = json.loads(run("--db", "d.db", "ledger", "rejects", "--format", "json").stdout)
    assert len(rows["rejects"][0]["raw"].encode()) <= 4096 + 3


def test_response_key_tags_and_source_name(run, tmp_path):
    (tmp_path / "app.jsonl").write_text(
        '{"timestamp": "2026-08-18T09:00:00Z", "payload": {"inner": {"id": "msg_1", "type": "message", '
        '"model": "claude-haiku-4-5", "usage": {"input_tokens": 10, "output_tokens": 2}}}}\n'
    )
    result = run(
        "--db",
        "d.db",
        "ingest",
        "app.jsonl",
        "--format",
        "middleware",
        "--response-key",
        "payload.inner",
        "--tag",
        "environment=staging",
        "--tag",
        "host=ci-7",
        "--source-name",
        "ci",
    )
    assert result.exit_code == 0, result.stderr
    with open_ledger(tmp_path / "d.db") as led:
        (rec,) = led.iter_records()
        info = led.info()
    assert (rec.environment, rec.tags, rec.source_name) == ("staging", {"host": "ci-7"}, "ci")
    assert info["sources"][0]["name"] == "ci"


def test_mapped_csv_and_saved_mapping(run, tmp_path):
    (tmp_path / "own.csv").write_text(
        "when,engine,tok_in,cached,tok_out,who,cost\n"
        "1787044443,gpt-4o,1200,1000,300,alice,0.00475\n"
        "2026-08-18T10:00:00Z,claude-sonnet-4-5,5000,0,800,bob,\n"
        "2026-08-18T10:00:00Z,claude-sonnet-4-5,lots,0,800,bob,\n"
    )
    maps = [
        "--map",
        "ts=when",
        "--map",
        "model=engine",
        "--map",
        "input_tokens=tok_in",
        "--map",
        "cache_read_tokens=cached",
        "--map",
        "output_tokens=tok_out",
        "--map",
        "user=who",
        "--map",
        "reported_cost_usd=cost",
    ]
    result = run("--db", "d.db", "ingest", "own.csv", *maps)
    assert result.exit_code == 3
    assert "own.csv:4: input_tokens: must be an integer, got 'lots'" in result.stderr
    with open_ledger(tmp_path / "d.db") as led:
        first, second = led.iter_records()
    assert (first.model, first.input_uncached, first.cache_read, first.output, first.user) == (
        "gpt-4o",
        200,
        1000,
        300,
        "alice",
    )
    assert str(first.reported_cost_usd) == "0.00475"
    assert first.source_kind == "mapped"
    assert second.provider == "anthropic"
    for pair in [("ts", "when"), ("model", "engine"), ("input_tokens", "tok_in")]:
        run("config", "set", f"mappings.mine.{pair[0]}", pair[1])
    saved = run("--db", "e.db", "ingest", "own.csv", "--mapping", "mine")
    assert "own.csv: 2 added" in saved.stderr
    unknown = run("--db", "e.db", "ingest", "own.csv", "--map", "colour=x")
    assert unknown.exit_code == 2
    assert "--map: unknown field 'colour'" in unknown.stderr


def test_the_ledger_is_never_ingested_into_itself(run, tmp_path):
    (tmp_path / "app.jsonl").write_text(lines(1, 3))
    run("--db", "here.db", "ingest", ".")
    result = run("--db", "here.db", "ingest", ".")
    assert "here.db" not in result.stderr


def test_small_batches_keep_the_dedupe_rules_across_batches(run, tmp_path, monkeypatch):
    """Batches of 3: a re-sent response in a later batch is a duplicate, a correction (same
    id, more output) updates, every reject keeps its line, and the counts add up exactly as
    with one big batch."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 3)
    text = lines(1, 21)  # 20 responses, ids chatcmpl-1..20
    text += LINE.format(n=2, m=2)  # line 21: chatcmpl-2 again, same content
    text += "{broken\n"  # line 22
    text += LINE.format(n=4, m=4).replace('"completion_tokens": 4', '"completion_tokens": 40')
    text += "{broken again\n"  # line 24
    (tmp_path / "app.jsonl").write_text(text)
    result = run("--db", "d.db", "ingest", "app.jsonl", "--json")
    assert result.exit_code == 3
    summary = json.loads(result.stdout)
    (file,) = summary["inputs"]
    assert (file["added"], file["updated"], file["duplicate"], file["rejected"]) == (20, 1, 1, 2)
    rejects = json.loads(run("--db", "d.db", "ledger", "rejects", "--format", "json").stdout)
    assert [r["line"] for r in rejects["rejects"]] == [22, 24]
    with open_ledger(tmp_path / "d.db") as led:
        recs = list(led.iter_records())
    assert (len(recs), sum(r.output for r in recs)) == (20, sum(range(1, 21)) - 4 + 40)


def test_a_whole_file_reject_is_stored_once(run, tmp_path):
    """A document that is not JSON has no line; re-reading the changed file reports it again
    but the ledger keeps one reject."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [ broken')
    first = run("--db", "d.db", "ingest", "bad.json", "--format", "langfuse")
    assert first.exit_code == 3
    bad.write_text('{"data": [ broken ')  # changed: read again, same reason
    again = run("--db", "d.db", "ingest", "bad.json", "--format", "langfuse")
    assert "0 added, 0 updated, 0 duplicate, 1 rejected" in again.stderr
    rows = json.loads(run("--db", "d.db", "ledger", "rejects", "--format", "json").stdout)
    assert [(r["line"], r["reason"][:21]) for r in rows["rejects"]] == [
        (None, "invalid JSON document")
    ]


def _line(n: int, tokens: int) -> str:
    feature = "f" * 40 + str(n)
    return (
        f'{{"ts":"2026-01-01T00:00:{n % 60:02d}Z","model":"gpt-4o","input_tokens":{tokens},'
        f'"output_tokens":1,"feature":"{feature}"}}\n'
    )


def _sum(tmp_path) -> tuple[int, int | None]:
    return ledger_totals(tmp_path / "d.db")


def test_an_edit_past_the_first_4_kib_is_seen(run, tmp_path):
    """Rewritten in place with the same first 4 KiB and more lines: read again from the start,
    not only the tail (which would miss the edited line)."""
    log = tmp_path / "app.jsonl"
    body = [_line(n, 10) for n in range(100)]  # ~9 KiB
    log.write_text("".join(body))
    run("--db", "d.db", "ingest", "app.jsonl")
    assert _sum(tmp_path) == (100, 1000)
    body[80] = _line(80, 5000)  # an edit about 7 KiB into the file, then one line appended
    log.write_text("".join([*body, _line(100, 10)]))
    res = run("--db", "d.db", "ingest", "app.jsonl")
    assert "(changed since the last run: read again from the start)" in res.stderr
    assert "app.jsonl: 2 added, 0 updated, 99 duplicate" in res.stderr
    # the edited line's new record is in; the old one stays (no id says they are one request)
    assert _sum(tmp_path) == (102, 1000 + 5000 + 10)


def test_lines_inserted_mid_file_are_all_read(run, tmp_path):
    log = tmp_path / "app.jsonl"
    body = [_line(n, 10) for n in range(1000)]
    log.write_text("".join(body))
    run("--db", "d.db", "ingest", "app.jsonl")
    inserted = [_line(n, 7) for n in range(2000, 2499)]
    log.write_text("".join(body[:500] + inserted + body[500:]))
    res = run("--db", "d.db", "ingest", "app.jsonl")
    assert "app.jsonl: 499 added, 0 updated, 1000 duplicate" in res.stderr
    assert _sum(tmp_path) == (1499, 10_000 + 499 * 7)


def test_a_last_line_cut_inside_a_character_waits_for_the_next_run(run, tmp_path):
    log = tmp_path / "app.jsonl"
    last = _line(2, 10).replace('"feature":"', '"feature":"żółw ')
    data = (_line(1, 10) + last).encode()
    cut = data.index("ł".encode()) + 1  # inside the two bytes of ł
    log.write_bytes(data[:cut])
    first = run("--db", "d.db", "ingest", "app.jsonl")
    assert first.exit_code == 0, first.stderr
    assert "the last line is incomplete; it will be read next run" in first.stderr
    log.write_bytes(data)
    second = run("--db", "d.db", "ingest", "app.jsonl")
    assert second.exit_code == 0, second.stderr
    assert "app.jsonl: 1 added, 0 updated, 0 duplicate, 0 rejected (appended lines only)" in (
        second.stderr
    )
    assert _sum(tmp_path) == (2, 20)


def test_an_ingest_collects_cycles_less_often_and_restores_the_setting(tmp_path):
    """The cyclic collector runs every GC_ALLOCATIONS allocations during an ingest (each line
    frees its objects by their counts), and as before once it ends, or fails."""
    import gc

    from llmaudit.sources.ingest import GC_ALLOCATIONS, IngestRequest, ingest

    (tmp_path / "a.jsonl").write_bytes((DATA / "sample.jsonl").read_bytes())
    seen = []
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        with open_ledger(tmp_path / "l.db") as led:
            summary = ingest(
                led,
                IngestRequest(
                    [str(tmp_path / "a.jsonl")],
                    on_input=lambda result: seen.append(gc.get_threshold()),
                ),
            )
        assert summary.inputs[0].counts.added == 3
        assert seen == [(GC_ALLOCATIONS, 10, 10)]
        assert gc.get_threshold() == (700, 10, 10)
        with open_ledger(tmp_path / "l.db") as led, pytest.raises(ZeroDivisionError):
            ingest(
                led,
                IngestRequest([str(tmp_path / "a.jsonl")], on_input=lambda r: 1 / 0),
            )
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*before)
