"""Parsing an input in a second process (LLMAUDIT_INGEST_WORKER) gives exactly the ledger that
parsing it in the writing process gives: the same rows and keys, the same rejects, the same
daily rollup, the same summary; and a failing or dying parser is reported, never lost."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DATA, ledger_state

LOGS = sorted(p.name for p in (DATA / "logs").iterdir() if p.name != "README.md")


def _both(run, monkeypatch, tmp_path, *args: str):
    """Ingest ``args`` into a ledger parsing here and into one parsing in a child."""
    out = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        result = run("--db", f"{mode}.db", "ingest", "--json", *args)
        summary = json.loads(result.stdout) if result.stdout.strip() else None
        out[mode] = (
            result.exit_code,
            summary,
            result.stderr,
            ledger_state(tmp_path / f"{mode}.db"),
        )
    return out["never"], out["always"]


@pytest.mark.parametrize("name", LOGS)
def test_every_fixture_gives_the_same_ledger_from_a_child(run, monkeypatch, tmp_path, name):
    shutil.copyfile(DATA / "logs" / name, tmp_path / name)
    extra = ("--ts", "2026-11-01T00:00:00Z") if "embeddings" in name else ()
    here, child = _both(run, monkeypatch, tmp_path, name, *extra)
    assert child == here
    state = here[3]
    assert state["records"] or state["rejects"] or here[1]["inputs"][0]["skipped_lines"], (
        "a fixture that gives nothing compares nothing"
    )


def test_a_folder_of_every_fixture_and_small_batches(run, monkeypatch, tmp_path):
    """Batches of 3 (many sends), every format at once, then an append read from the child."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 3)
    shutil.copytree(DATA / "logs", tmp_path / "logs")
    here, child = _both(run, monkeypatch, tmp_path, "logs")
    assert child == here
    assert len(here[3]["records"]) == 101  # what the folder holds, as both ledgers must
    log = tmp_path / "logs" / "middleware_openai_chat.jsonl"
    with log.open("a") as fh:
        fh.write("{broken\n")
        fh.write('{"half": ')  # a write in progress: left for the next run
    here, child = _both(run, monkeypatch, tmp_path, "logs")
    assert child == here
    mine = [i for i in here[1]["inputs"] if i["path"].endswith("middleware_openai_chat.jsonl")]
    assert mine[0]["mode"] == "appended" and mine[0]["pending_tail"] is True
    assert mine[0]["rejected"] == 1


@pytest.mark.sqlite_only  # reads the ledger's records table
def test_every_record_is_stored_with_its_identity_rows_hash(run, monkeypatch, tmp_path):
    """A record whose key is its source's id gets its content hash only when it meets a
    stored record of its key: whichever path wrote it (one process, a child that stages its
    rows, small batches of repeats), the ledger holds "" for it, and the h1 hash of its
    identity row for a record keyed by that hash; a re-read of the same lines (a copy),
    which works out the hashes left until then from the stored columns, finds every record
    unchanged but the 10 that two files each hold in another form (a Codex session and its
    fork, 2 + 2; the same 3 requests in a Datadog and an Elasticsearch export, 3 + 3), where
    the file read last wins."""
    import sqlite3

    import llmaudit.sources.worker as worker_mod
    from llmaudit.model.record import IDENTITY_COLUMNS, row_hash

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 3)
    shutil.copytree(DATA / "logs", tmp_path / "logs")
    for mode in ("never", "always"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        assert run("--db", f"{mode}.db", "ingest", "logs").exit_code in (0, 3)
        with sqlite3.connect(tmp_path / f"{mode}.db") as conn:
            rows = conn.execute(
                f"SELECT dedupe_key, content_hash, {', '.join(IDENTITY_COLUMNS)} FROM records"
            ).fetchall()
        assert len(rows) == 101
        hashed = [(key, stored, tuple(ident)) for key, stored, *ident in rows if ":h1:" in key]
        assert all(stored == row_hash(ident) for _, stored, ident in hashed)
        assert all(key.endswith(stored) for key, stored, _ in hashed)
        by_id = [stored for key, stored, *_ in rows if ":h1:" not in key]
        assert len(by_id) > 80 and set(by_id) == {""}  # keyed by their sources' ids
        shutil.copytree(tmp_path / "logs", tmp_path / f"copy-{mode}")
        again = run("--db", f"{mode}.db", "ingest", "--json", f"copy-{mode}")
        totals = json.loads(again.stdout)["totals"]
        assert (totals["added"], totals["updated"], totals["duplicate"]) == (0, 10, 131)


_GOOD = st.fixed_dictionaries(
    {
        "ts": st.sampled_from(
            ["2026-10-01T00:00:00Z", "2026-10-02T23:59:59.5+02:00", "2026-10-03T12:00:00Z"]
        ),
        "model": st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "my-own-model"]),
        "input_tokens": st.integers(0, 10**6),
        "output_tokens": st.integers(0, 10**5),
        "latency_ms": st.one_of(st.none(), st.integers(0, 10**5)),
        "request_id": st.one_of(st.none(), st.sampled_from(["r1", "r2", "r3"])),
        "feature": st.one_of(st.none(), st.text(max_size=5)),
    }
)
_LINE = st.one_of(
    _GOOD.map(lambda o: json.dumps({k: v for k, v in o.items() if v is not None})),
    st.sampled_from(["{broken", '{"ts": "2026-10-01T00:00:00Z"}', "[]", '"x"', ""]),
    st.text(max_size=20),
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(lines=st.lists(_LINE, max_size=40))
def test_generated_inputs_give_the_same_ledger(run, monkeypatch, tmp_path, lines):
    """Any mix of records, repeats, corrections (the same request id again) and bad lines."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 4)
    for name in ("never.db", "always.db"):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(tmp_path / (name + suffix)):
                os.remove(tmp_path / (name + suffix))
    (tmp_path / "gen.jsonl").write_text("".join(line.replace("\n", " ") + "\n" for line in lines))
    here, child = _both(run, monkeypatch, tmp_path, "gen.jsonl", "--format", "llmaudit")
    assert child == here


def test_an_error_in_the_child_is_the_error_of_the_ingest(run, monkeypatch, tmp_path):
    """A whole-input error raised while the child parses (a --map path no row has) ends the
    ingest exactly as it does when parsing here: the same message and exit status."""
    (tmp_path / "m.jsonl").write_text('{"when": "2026-10-01T00:00:00Z", "llm": "gpt-4o"}\n')
    args = ("ingest", "m.jsonl", "--map", "ts=when", "--map", "model=llm", "--map", "user=who.id")
    results = []
    for mode in ("never", "always"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        results.append(run("--db", f"{mode}.db", *args))
    assert results[0].exit_code == results[1].exit_code == 3
    assert results[1].stderr == results[0].stderr
    assert "who.id" in results[1].stderr


def test_a_child_that_dies_is_reported_and_what_it_sent_is_kept(run, monkeypatch, tmp_path):
    import llmaudit.sources.llmaudit_jsonl as jsonl
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 2)
    monkeypatch.setattr(worker_mod, "LEAN", False)  # every line through record_from_object
    monkeypatch.setattr(worker_mod, "CLAIMED", False)  # who parses which chunk is known:
    assert sorted(worker_mod.CHILD_CHUNKS) == [0, 1]  # of every 3 chunks (STRIPE_PERIOD)
    assert worker_mod.STRIPE_PERIOD == 3
    real = jsonl.record_from_object

    def dies_on_the_seventh(obj, location=None):  # in its own chunk (lines 7-8)
        if location and location.endswith(":7"):
            os._exit(9)  # as if killed (out of memory, say)
        return real(obj, location)

    monkeypatch.setattr(jsonl, "record_from_object", dies_on_the_seventh)
    line = '{{"ts": "2026-10-01T00:00:0{n}Z", "model": "gpt-4o", "request_id": "r{n}"}}\n'
    (tmp_path / "a.jsonl").write_text("".join(line.format(n=n) for n in range(1, 8)))
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "always")
    result = run("--db", "d.db", "ingest", "a.jsonl")
    assert result.exit_code == 3
    assert "a.jsonl: the process parsing it stopped (exit status 9); what it sent" in result.stderr
    assert "LLMAUDIT_INGEST_WORKER=never" in result.stderr
    conn = sqlite3.connect(tmp_path / "d.db")
    keys = [k for (k,) in conn.execute("SELECT dedupe_key FROM records ORDER BY dedupe_key")]
    # the batches it sent before it died are kept (lines 1-2: the batch of lines 3-4 was to
    # go when line 7 was read), nothing after them, not even lines 5-6, which this process
    # parsed; the file is read again next time
    assert keys == ["llmaudit:r1", "llmaudit:r2"]
    assert conn.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0
    monkeypatch.setattr(jsonl, "record_from_object", real)
    again = run("--db", "d.db", "ingest", "a.jsonl")
    assert again.exit_code == 0
    assert again.stderr.startswith("a.jsonl: 5 added, 0 updated, 2 duplicate, 0 rejected")


def test_a_bad_setting_is_a_usage_error(run, monkeypatch, tmp_path):
    (tmp_path / "a.jsonl").write_text('{"ts": "2026-10-01T00:00:00Z", "model": "gpt-4o"}\n')
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "sometimes")
    result = run("--db", "d.db", "ingest", "a.jsonl")
    assert result.exit_code == 2
    assert "LLMAUDIT_INGEST_WORKER='sometimes': must be one of auto, never, always" in result.stderr


def test_two_stripes_hand_out_every_line_once(tmp_path):
    from llmaudit.sources.base import FixedStripe, InputFile

    path = tmp_path / "l.jsonl"
    path.write_bytes(b"".join(b"line %d\n" % n for n in range(1, 24)) + b"tail")
    seen = []
    for owned in (frozenset({0, 1, 2}), frozenset({3})):
        inp = InputFile.from_path(path)
        inp.stripe = FixedStripe(owned, 4, 2)
        got = list(inp.lines())
        assert all(data == b"line %d" % n or data == b"tail" for n, data, _ in got)
        assert (inp.consumed, inp.lines_read) == (path.stat().st_size, 24)
        seen.append([n for n, _, _ in got])
    assert seen[0] == [1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 17, 18, 19, 20, 21, 22]
    assert seen[1] == [7, 8, 15, 16, 23, 24]


class _AskedStripe:
    """A fixed stripe that notes each chunk it is asked about."""

    def __init__(self, owned, period, size):
        from llmaudit.sources.base import FixedStripe

        self.fixed, self.size, self.asked = FixedStripe(owned, period, size), size, []

    def owns(self, chunk):
        self.asked.append(chunk)
        return self.fixed.owns(chunk)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    lengths=st.lists(st.integers(0, 5), max_size=40),
    ending=st.sampled_from([b"\n", b"\r\n"]),
    tail=st.booleans(),
    size=st.integers(1, 5),
    owned=st.frozensets(st.integers(0, 2)),
    start=st.integers(0, 12),
)
def test_a_stripe_hands_out_its_chunks_lines_as_they_are_read(
    tmp_path_factory, lengths, ending, tail, size, owned, start
):
    """Any file, chunk size and share, read from the start or resumed at any line: the lines
    of the owned chunks, each with its number, whether it ended, and the reader's position
    (lines read, bytes consumed) just after it; each chunk asked about once, in turn, only
    when it has a line; and the whole file counted at the end."""
    from llmaudit.sources.base import InputFile

    lines = [b"x" * n + ending for n in lengths]
    if tail and lines:  # a last line without its line break (none at all, if it was empty)
        lines[-1:] = [last] if (last := lines[-1].rstrip(b"\r\n")) else []
    path = tmp_path_factory.mktemp("stripe") / "l.jsonl"
    path.write_bytes(b"".join(lines))
    start = min(start, len(lines))
    inp = InputFile.from_path(path)
    inp.start_line, inp.start_offset = start, sum(map(len, lines[:start]))
    inp.stripe = stripe = _AskedStripe(owned, 3, size)
    got = [(n, data, ended, inp.lines_read, inp.consumed) for n, data, ended in inp.lines()]
    expected = [
        (n, line.rstrip(b"\r\n"), line.endswith(b"\n"), n, sum(map(len, lines[:n])))
        for n, line in enumerate(lines, 1)
        if n > start and (n - 1) // size % 3 in owned
    ]
    assert got == expected
    assert stripe.asked == sorted({(n - 1) // size for n in range(start + 1, len(lines) + 1)})
    assert (inp.lines_read, inp.consumed) == (len(lines), path.stat().st_size)


def test_claimed_chunks_go_to_whoever_comes_to_them_first():
    """Worked by hand: two readers share a counter; each claims the next chunk nobody has
    when it is past its own, and a reader that starts mid-input claims from there."""
    import multiprocessing

    from llmaudit.sources.worker import Claims

    counter = multiprocessing.get_context("fork").Value("q", 0)
    a, b = Claims(10, counter), Claims(10, counter)
    assert a.owns(0) is True  # a claims 0
    assert b.owns(0) is False  # b, at chunk 0, claims 1 and skips 0
    assert b.owns(1) is True
    assert a.owns(1) is False  # a, done with 0, claims 2 and skips 1
    assert (b.owns(2), b.mine) == (False, 3)  # b, done with 1, claims 3
    assert a.owns(2) is True
    assert a.owns(3) is False and a.mine == 4  # a claims 4
    assert b.owns(3) is True and b.owns(4) is False and b.mine == 5
    assert counter.value == 6
    resumed = multiprocessing.get_context("fork").Value("q", 0)
    late, other = Claims(10, resumed), Claims(10, resumed)
    assert late.owns(7) is True  # a run resumed at chunk 7 starts there
    assert other.owns(7) is False and other.mine == 8
    assert late.owns(8) is False and late.mine == 9


def _chunks(*numbers: int):
    from llmaudit.sources.worker import Batch

    return [Batch(chunk=n) for n in numbers]


def test_the_writer_parses_ahead_while_the_childs_batch_is_not_there():
    """Worked by hand: while the child's next batch is not ready, this process parses its own
    until PARSE_AHEAD of them wait (pulled from its stream), and still gives every batch in
    chunk order; when the child's batches are always there, it holds one at a time, as
    before."""
    from llmaudit.sources.worker import PARSE_AHEAD, _in_order

    assert PARSE_AHEAD == 2
    pulled: list[int] = []

    def own(numbers):
        for batch in _chunks(*numbers):
            pulled.append(batch.chunk)
            yield batch

    merged = _in_order(iter(_chunks(0, 2, 6, 7)), own([1, 3, 4, 5, 8]), lambda: False)
    first = next(merged)  # own 1 pulled first, then 3 while the child's 0 is not there
    assert (first.chunk, pulled) == (0, [1, 3])
    assert [b.chunk for b in merged] == [1, 2, 3, 4, 5, 6, 7, 8]
    pulled.clear()
    merged = _in_order(iter(_chunks(0, 2, 6, 7)), own([1, 3, 4, 5, 8]), lambda: True)
    assert next(merged).chunk == 0 and pulled == [1]
    assert [b.chunk for b in merged] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [b.chunk for b in _in_order(iter(_chunks(0, 1)), iter([]), lambda: False)] == [0, 1]
    assert [b.chunk for b in _in_order(iter([]), iter(_chunks(0, 1)), lambda: False)] == [0, 1]


def test_an_error_parsing_ahead_is_raised_where_it_would_be_without():
    """This process's chunk after 3 fails while parsed ahead: the error is raised where it
    is without parsing ahead, once own 3 is taken (the child's 4 is not given either way)."""
    from llmaudit.sources.worker import _in_order

    def own():
        yield from _chunks(1, 3)
        raise OSError("disk gone")

    merged = _in_order(iter(_chunks(0, 2, 4, 6)), own(), lambda: False)
    got = []
    with pytest.raises(OSError, match="disk gone"):
        for batch in merged:
            got.append(batch.chunk)
    assert got == [0, 1, 2, 3]
    merged = _in_order(iter(_chunks(0, 2, 4, 6)), own(), lambda: True)  # not parsing ahead
    got = []
    with pytest.raises(OSError, match="disk gone"):
        for batch in merged:
            got.append(batch.chunk)
    assert got == [0, 1, 2, 3]


def test_an_interrupt_while_parsing_ahead_stops_at_once():
    """Ctrl-C is not an error of a chunk, to be raised in its turn: it stops the merge before
    anything more is given."""
    from llmaudit.sources.worker import _in_order

    def own():
        yield from _chunks(1)
        raise KeyboardInterrupt

    merged = _in_order(iter(_chunks(0, 2)), own(), lambda: False)
    got = []
    with pytest.raises(KeyboardInterrupt):
        for batch in merged:
            got.append(batch.chunk)
    assert got == []


def test_claimed_chunks_hand_out_every_line_once(tmp_path):
    """Two readers of one file sharing a counter, read in turns at an uneven pace: every line
    goes to exactly one of them, and each reads the whole file."""
    import multiprocessing

    from llmaudit.sources.base import InputFile
    from llmaudit.sources.worker import Claims

    path = tmp_path / "l.jsonl"
    path.write_bytes(b"".join(b"line %d\n" % n for n in range(1, 60)) + b"tail")
    counter = multiprocessing.get_context("fork").Value("q", 0)
    readers = []
    for _ in range(2):
        inp = InputFile.from_path(path)
        inp.stripe = Claims(4, counter)
        readers.append((inp, inp.lines()))
    seen: list[list[int]] = [[], []]
    pace = [3, 1]  # lines a turn: the first reads three times as fast
    done = [False, False]
    while not all(done):
        for i, (_, lines) in enumerate(readers):
            for _ in range(pace[i]):
                got = next(lines, None)
                if got is None:
                    done[i] = True
                    break
                seen[i].append(got[0])
    assert sorted(seen[0] + seen[1]) == list(range(1, 61))
    assert len(seen[0]) > len(seen[1]) > 0  # the faster reader claimed more
    for inp, _ in readers:
        assert (inp.consumed, inp.lines_read) == (path.stat().st_size, 60)


def test_a_folder_read_two_files_at_a_time_gives_the_same_ledger(run, monkeypatch, tmp_path):
    """auto, as on a machine with two cores: a second process parses files ahead while this
    one writes; the results, in input order, and the ledger are those of one process, with
    decoys, an empty file and a file named twice (its second reading sees the first)."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "PAIR_MIN_BYTES", 0)
    monkeypatch.setattr(worker_mod, "_cores", lambda: 2)
    started = []
    real_hand = worker_mod.ParserProcess.hand

    def counted(self, inp, *args):
        started.append(inp.location)
        return real_hand(self, inp, *args)

    monkeypatch.setattr(worker_mod.ParserProcess, "hand", counted)
    shutil.copytree(DATA / "logs", tmp_path / "logs")
    (tmp_path / "logs" / "empty.jsonl").write_text("")
    (tmp_path / "logs" / "notes.json").write_text('{"not": "usage"}')
    twice = "logs/middleware_openai_chat.jsonl"
    out = {}
    for mode in ("never", "auto"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        result = run("--db", f"{mode}.db", "ingest", "--json", twice, "logs", twice)
        out[mode] = (
            result.exit_code,
            json.loads(result.stdout),
            result.stderr,
            ledger_state(tmp_path / f"{mode}.db"),
        )
    assert out["auto"] == out["never"]
    # most files of the folder went to the parsing process (so this compared something)
    assert len(started) >= 20
    modes = [i["mode"] for i in out["never"][1]["inputs"] if i["path"].endswith("chat.jsonl")]
    assert modes == ["full", "unchanged", "unchanged"]


def _never_and_auto(run, monkeypatch, tmp_path, *paths: str) -> dict:
    """``ingest --json paths`` in one process and in auto: exit code, summary, standard
    error and ledger of each."""
    out = {}
    for mode in ("never", "auto"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        result = run("--db", f"{mode}.db", "ingest", "--json", *paths)
        out[mode] = (
            result.exit_code,
            json.loads(result.stdout),
            result.stderr,
            ledger_state(tmp_path / f"{mode}.db"),
        )
    return out


def _parsing_ahead(monkeypatch):
    """auto, as on two cores, with the parsing process never ready when the writer comes to
    its input: the writer parses its own next input each time. What it parses ahead, listed."""
    import llmaudit.sources.ingest as ingest_mod
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "PAIR_MIN_BYTES", 0)
    monkeypatch.setattr(worker_mod, "_cores", lambda: 2)
    monkeypatch.setattr(worker_mod.Handed, "ready", lambda self: False)
    ahead = []
    real = ingest_mod.parse_batches

    def listed(inp, *args):
        if any(f.function == "_parse_ahead" for f in __import__("inspect").stack()[1:3]):
            ahead.append(inp.path.name)
        return real(inp, *args)

    monkeypatch.setattr(ingest_mod, "parse_batches", listed)
    return ahead


def test_the_writer_parses_its_next_file_while_the_parsing_process_is_not_ready(
    run, monkeypatch, tmp_path
):
    """In a folder, when the parsing process has not sent the input the writer comes to, the
    writer parses its own next input meanwhile: results, rejects, summary and ledger are
    those of one process."""
    ahead = _parsing_ahead(monkeypatch)
    shutil.copytree(DATA / "logs", tmp_path / "logs")
    out = _never_and_auto(run, monkeypatch, tmp_path, "logs")
    assert out["auto"] == out["never"]
    # the files this process parses (the first, then one in three), all but the first ahead
    mine = LOGS[3::3]
    assert sorted(ahead) == sorted(mine) and len(mine) >= 10


def test_an_error_in_a_file_parsed_ahead_is_that_files_in_its_turn(run, monkeypatch, tmp_path):
    """A file whose reading fails after its first batch, parsed ahead: that batch is written,
    the error is the file's own, said in its turn, and the files after it are read as
    without parsing ahead."""
    import llmaudit.sources.ingest as ingest_mod
    from llmaudit.errors import DataError

    ahead = _parsing_ahead(monkeypatch)
    listed = ingest_mod.parse_batches

    def failing(inp, *args):
        batches = listed(inp, *args)
        if inp.path.name != "f3.jsonl":
            return batches

        def first_then_fail():
            yield next(batches)
            raise DataError(f"{inp.location}: cannot read: gone")

        return first_then_fail()

    monkeypatch.setattr(ingest_mod, "parse_batches", failing)
    logs = tmp_path / "logs"
    logs.mkdir()
    middleware = (DATA / "logs" / "middleware_openai_chat.jsonl").read_text()
    for n in range(7):  # other request ids in each file
        (logs / f"f{n}.jsonl").write_text(middleware.replace("chatcmpl-", f"chatcmpl-{n}"))
    out = _never_and_auto(run, monkeypatch, tmp_path, "logs")
    assert out["auto"] == out["never"]
    assert ahead == ["f3.jsonl", "f6.jsonl"]
    code, summary, _, _ = out["never"]
    assert code == 3
    got = [(i["path"].rsplit("/", 1)[-1], i["added"], i["error"]) for i in summary["inputs"]]
    assert [g for g in got if g[2]] == [("f3.jsonl", 0, "logs/f3.jsonl: cannot read: gone")]
    others = {added for _, added, error in got if not error}
    assert len(got) == 7 and len(others) == 1 and others.pop() > 0  # each: all its records


def test_one_file_at_a_time_is_parsed_ahead_and_never_a_large_one(monkeypatch, tmp_path):
    """What is parsed ahead is held in memory: the writer's next file only, and only one it
    would parse alone (no larger than a file two processes share)."""
    from pathlib import Path

    import llmaudit.sources.ingest as ingest_mod
    import llmaudit.sources.worker as worker_mod
    from llmaudit.sources.base import InputFile, Labels

    monkeypatch.setattr(worker_mod, "_cores", lambda: 2)
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "auto")
    path = Path(DATA / "logs" / "middleware_openai_chat.jsonl")

    def job(batches=None):
        inp = InputFile.from_path(path)
        return ingest_mod._Job(inp, ingest_mod.detect(inp), None, "full", batches)

    request = ingest_mod.IngestRequest(paths=[])
    label = Labels("s", "m", {})
    handed = object()  # stands for an input handed to the parsing process
    window = [job(handed), job(), job()]
    ingest_mod._parse_ahead(window, request, label)
    assert isinstance(window[1].batches, ingest_mod._ParsedAhead) and window[2].batches is None
    assert sum(len(b.records) for b in window[1].batches) == 3  # the fixture's 3 calls
    ingest_mod._parse_ahead(window, request, label)
    assert window[2].batches is None  # one ahead at a time
    monkeypatch.setattr(worker_mod, "WORKER_MIN_BYTES", 0)  # every file large
    window = [job(handed), job()]
    ingest_mod._parse_ahead(window, request, label)
    assert window[1].batches is None


@pytest.mark.both_engines
def test_a_folder_from_children_exports_the_same_on_either_engine(run, monkeypatch, tmp_path):
    """The parent keeps its ledger connection (a SQLite file, or HTTP to ClickHouse) while
    children parse: what it exports is what one process ingests."""
    shutil.copytree(DATA / "logs", tmp_path / "logs")
    exports = {}
    for mode in ("never", "always"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        ingested = run("--db", f"{mode}.db", "ingest", "logs")
        assert ingested.exit_code == 3, ingested.stderr  # the fixtures hold rejects
        exported = run("--db", f"{mode}.db", "export", "--format", "jsonl")
        assert exported.exit_code == 0, exported.stderr
        exports[mode] = sorted(exported.stdout.splitlines())
    assert exports["always"] == exports["never"]
    assert len(exports["never"]) == 101


def test_the_parsing_process_takes_two_files_in_three(run, monkeypatch, tmp_path):
    """Of a folder's files, the parsing process takes two in every three, in input order, and
    every file whose lean path parses faster than the ledger writes (llmaudit JSONL); the
    first file is parsed here at once. The ledger is that of one process."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "PAIR_MIN_BYTES", 0)
    monkeypatch.setattr(worker_mod, "_cores", lambda: 2)
    started = []
    real_hand = worker_mod.ParserProcess.hand

    def counted(self, inp, *args):
        started.append(inp.path.name)
        return real_hand(self, inp, *args)

    monkeypatch.setattr(worker_mod.ParserProcess, "hand", counted)
    logs = tmp_path / "logs"
    logs.mkdir()
    middleware = (DATA / "logs" / "middleware_openai_chat.jsonl").read_text()
    for n in range(1, 7):  # the same calls in each: all but the first file's are duplicates
        (logs / f"a{n}.jsonl").write_text(middleware)
    jsonl = '{{"ts": "2026-10-01T00:00:0{n}Z", "model": "gpt-4o", "request_id": "j{n}"}}\n'
    for n in range(1, 4):
        (logs / f"b{n}.jsonl").write_text(jsonl.format(n=n))
    states = {}
    for mode in ("never", "auto"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        result = run("--db", f"{mode}.db", "ingest", "logs")
        assert result.exit_code in (0, 3), result.stderr
        states[mode] = (result.exit_code, result.stderr, ledger_state(tmp_path / f"{mode}.db"))
    # llmaudit JSONL's files too: the parsing process stages its rows for this SQLite ledger,
    # which the writer then copies in a third of the time it takes to write them
    assert started == ["a2.jsonl", "a3.jsonl", "a5.jsonl", "a6.jsonl", "b2.jsonl", "b3.jsonl"]
    assert states["auto"] == states["never"]


def test_a_lean_path_faster_than_the_writer_takes_every_file_unless_staged(tmp_path):
    """llmaudit JSONL's lean path parses faster than the ledger writes rows sent through the
    pipe: its files all go to the parsing process, unless that process stages them."""
    from llmaudit.sources.base import InputFile, Labels, Options
    from llmaudit.sources.llmaudit_jsonl import LlmauditJsonl
    from llmaudit.sources.middleware import Middleware
    from llmaudit.sources.worker import parses_alone

    path = tmp_path / "a.jsonl"
    path.write_text('{"ts": "2026-10-01T00:00:00Z", "model": "gpt-4o"}\n')
    inp, labels = InputFile.from_path(path), Labels("vm", "vm", {})
    assert parses_alone(inp, LlmauditJsonl(), Options(), labels) is True
    assert parses_alone(inp, LlmauditJsonl(), Options(), labels, staged=True) is False
    assert parses_alone(inp, Middleware(), Options(), labels) is False


def test_a_file_named_twice_within_the_inputs_planned_ahead(run, monkeypatch, tmp_path):
    """x, y, x: the second x is among the inputs planned while the first is written, so it is
    planned when its turn comes and finds the first reading's state (unchanged)."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "PAIR_MIN_BYTES", 0)
    monkeypatch.setattr(worker_mod, "_cores", lambda: 2)
    middleware = (DATA / "logs" / "middleware_openai_chat.jsonl").read_text()
    (tmp_path / "x.jsonl").write_text(middleware)
    (tmp_path / "y.jsonl").write_text(middleware.replace("chatcmpl-", "other-"))
    out = {}
    for mode in ("never", "auto"):
        monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", mode)
        result = run("--db", f"{mode}.db", "ingest", "--json", "x.jsonl", "y.jsonl", "x.jsonl")
        inputs = json.loads(result.stdout)["inputs"]
        out[mode] = (result.exit_code, inputs, ledger_state(tmp_path / f"{mode}.db"))
    assert out["auto"] == out["never"]
    assert [i["mode"] for i in out["never"][1]] == ["full", "full", "unchanged"]


def test_a_parsing_process_that_dies_fails_its_file_only(run, monkeypatch, tmp_path):
    """In a folder, the file the parsing process was reading when it died is reported (exit
    3) and read again next time; the files after it, handed to it or not, are parsed here,
    and nothing is lost."""
    import llmaudit.sources.llmaudit_jsonl as jsonl
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "PAIR_MIN_BYTES", 0)
    monkeypatch.setattr(worker_mod, "_cores", lambda: 2)
    monkeypatch.setattr(worker_mod, "LEAN", False)  # every line through record_from_object
    parent = os.getpid()
    real = jsonl.record_from_object

    def dies_in_the_child_on_b(obj, location=None):
        if os.getpid() != parent and location and "b.jsonl" in location:
            os._exit(9)
        return real(obj, location)

    monkeypatch.setattr(jsonl, "record_from_object", dies_in_the_child_on_b)
    line = '{{"ts": "2026-10-01T00:00:0{n}Z", "model": "gpt-4o", "request_id": "{f}{n}"}}\n'
    (tmp_path / "logs").mkdir()
    for name in ("a", "b", "c", "d"):
        text = "".join(line.format(n=n, f=name) for n in range(1, 4))
        (tmp_path / "logs" / f"{name}.jsonl").write_text(text)
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "auto")
    result = run("--db", "d.db", "ingest", "logs")
    assert result.exit_code == 3
    assert "b.jsonl: the process parsing it stopped (exit status 9)" in result.stderr
    for name in ("a", "c", "d"):
        assert f"{name}.jsonl: 3 added, 0 updated, 0 duplicate, 0 rejected" in result.stderr
    monkeypatch.setattr(jsonl, "record_from_object", real)
    again = run("--db", "d.db", "ingest", "logs")
    assert again.exit_code == 0
    assert "b.jsonl: 3 added, 0 updated, 0 duplicate, 0 rejected" in again.stderr
    assert "a.jsonl: unchanged since the last ingest" in again.stderr


def test_a_parsing_process_gone_between_files_takes_no_more(tmp_path):
    """Handing a file to a parsing process that is gone (killed while idle) gives None: the
    ingest parses that file itself instead of failing."""
    from llmaudit.sources.base import InputFile, Options
    from llmaudit.sources.registry import FORMATS
    from llmaudit.sources.worker import Labels, ParserProcess

    path = tmp_path / "a.jsonl"
    path.write_text('{"ts": "2026-10-01T00:00:00Z", "model": "gpt-4o"}\n')
    parser = ParserProcess()
    try:
        handed = parser.hand(
            InputFile.from_path(path), FORMATS["llmaudit"], Options(), Labels("s", "m", {})
        )
        assert handed is not None
        assert [len(b.records) for b in handed] == [1]
        parser.proc.kill()
        parser.proc.join()
        again = parser.hand(
            InputFile.from_path(path), FORMATS["llmaudit"], Options(), Labels("s", "m", {})
        )
        assert again is None and parser.usable is False
    finally:
        parser.close()


def test_inputs_handed_after_the_one_a_parsing_process_died_on_are_orphaned(monkeypatch, tmp_path):
    """Two inputs handed; the process dies on the first: reading the first fails (it was being
    parsed), the second is orphaned (never reached: the ingest parses it itself). Dead before
    a third is handed: that one is not handed at all, and the first still fails when read."""
    import llmaudit.sources.llmaudit_jsonl as jsonl
    import llmaudit.sources.worker as worker_mod
    from llmaudit.errors import DataError
    from llmaudit.sources.base import InputFile, Options
    from llmaudit.sources.registry import FORMATS
    from llmaudit.sources.worker import Labels, ParserProcess

    monkeypatch.setattr(worker_mod, "LEAN", False)
    real = jsonl.record_from_object

    def dies_on_b(obj, location=None):
        if location and "b.jsonl" in location:
            os._exit(9)
        return real(obj, location)

    monkeypatch.setattr(jsonl, "record_from_object", dies_on_b)
    for name in "bcd":
        (tmp_path / f"{name}.jsonl").write_text('{"ts": "2026-10-01T00:00:00Z", "model": "x"}\n')

    def hand(parser, name):
        inp = InputFile.from_path(tmp_path / f"{name}.jsonl")
        return parser.hand(inp, FORMATS["llmaudit"], Options(), Labels("s", "m", {}))

    parser = ParserProcess()
    try:
        b, c = hand(parser, "b"), hand(parser, "c")
        assert b is not None and c is not None and not c.orphaned
        with pytest.raises(DataError, match="the process parsing it stopped"):
            list(b)
        assert (b.orphaned, c.orphaned, parser.usable) == (False, True, False)
    finally:
        parser.close()
    parser = ParserProcess()
    try:
        b = hand(parser, "b")
        parser.proc.join()  # it died on b
        assert hand(parser, "d") is None
        assert b is not None and not b.orphaned
        with pytest.raises(DataError, match="the process parsing it stopped"):
            list(b)
    finally:
        parser.close()


def _cc_line(msg: int, req: str, sidechain: bool, out: int, ts: str) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "timestamp": ts,
            "sessionId": "s1",
            "isSidechain": sidechain,
            "requestId": req,
            "message": {
                "id": f"msg_{msg}",
                "model": "claude-haiku-4-5",
                "usage": {"input_tokens": 3, "output_tokens": out},
            },
        }
    )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 3),  # which message
            st.integers(-1, 500),  # its output (-1: a reject)
            st.sampled_from(["2026-10-01T00:00:00.5Z", "2026-10-01T00:00:01+02:00", "x"]),
        ),
        min_size=6,
        max_size=40,
    )
)
def test_claude_code_lines_shared_by_two_processes_keep_the_sidechain_rule(
    run, monkeypatch, tmp_path, steps
):
    """Claude Code's lines are shared out in chunks of 3 between the two processes: the
    sidechain rule (a sidechain line replaying a main-chain message seen before is dropped) is
    applied by the writer in line order, so the ledger is that of one process. Every third
    line is a sidechain replay (its own request id), after user lines and broken ones."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 3)
    for name in ("never.db", "always.db"):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(tmp_path / (name + suffix)):
                os.remove(tmp_path / (name + suffix))
    lines = []
    for i, (msg, out, ts) in enumerate(steps):
        side = i % 3 == 2
        lines.append(_cc_line(msg, f"req_side_{i}" if side else f"req_{msg}", side, out, ts))
        if i % 5 == 4:
            lines.append('{"type": "user", "sessionId": "s1", "uuid": "u", "message": {}}')
        if i % 7 == 6:
            lines.append("{broken")
    (tmp_path / "t.jsonl").write_text("".join(line + "\n" for line in lines))
    here, child = _both(run, monkeypatch, tmp_path, "t.jsonl", "--format", "claude-code")
    assert child == here


def _assistant_line(msg: str, req: str, side: bool, out: int) -> str:
    """A Claude Code assistant line with usage, on the main chain or a sidechain."""
    return json.dumps(
        {
            "type": "assistant",
            "timestamp": "2026-10-01T00:00:00Z",
            "sessionId": "s",
            "isSidechain": side,
            "requestId": req,
            "message": {"id": msg, "model": "claude-haiku-4-5", "usage": {"output_tokens": out}},
        }
    )


def test_a_claude_code_replay_in_the_other_process_chunk_is_dropped(run, monkeypatch, tmp_path):
    """Worked by hand: the main-chain message is in the child's first chunk, its sidechain
    replay in the writer's chunk (the third): dropped, as one process drops it."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 1)
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "always")
    monkeypatch.setattr(worker_mod, "CLAIMED", False)  # who parses which chunk is known:
    assert sorted(worker_mod.CHILD_CHUNKS) == [0, 1]  # of every 3 chunks (STRIPE_PERIOD)
    assert worker_mod.STRIPE_PERIOD == 3

    line = _assistant_line

    lines = [
        line("msg_1", "req_1", False, 10),  # chunk 0: the child's
        line("msg_2", "req_2", False, 20),  # chunk 1: the child's
        line("msg_1", "req_9", True, 99),  # chunk 2: this process's; a replay: dropped
        line("msg_3", "req_3", False, 30),  # chunk 3: the child's again
    ]
    (tmp_path / "t.jsonl").write_text("".join(x + "\n" for x in lines))
    result = run("--db", "d.db", "ingest", "t.jsonl", "--format", "claude-code")
    assert result.exit_code == 0, result.stderr
    conn = sqlite3.connect(tmp_path / "d.db")
    rows = conn.execute("SELECT dedupe_key, output FROM records ORDER BY dedupe_key").fetchall()
    assert rows == [
        ("claude-code:msg_1:req_1", 10),
        ("claude-code:msg_2:req_2", 20),
        ("claude-code:msg_3:req_3", 30),
    ]


def test_a_replay_in_a_staged_chunk_is_dropped_by_the_writer(run, monkeypatch, tmp_path):
    """Worked by hand: the main-chain message is in this process's chunk (the third), its
    sidechain replay in the child's next chunk, which the child stages with all its records:
    the writer drops it, as one process does, and writes the rest of that chunk."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 5)
    monkeypatch.setattr(worker_mod, "CLAIMED", False)
    copied = _staged_rows(monkeypatch)

    line = _assistant_line

    lines = [
        line("msg_2", "req_2", False, 20),  # chunk 0: the child's
        line("msg_2", "req_2", False, 25),  # (the same message streamed again: more output)
        line("msg_3", "req_3", False, 30),
        line("msg_4", "req_4", True, 40),
        line("msg_13", "req_13", False, 13),
        line("msg_7", "req_7", False, 70),  # chunk 1: the child's
        line("msg_7", "req_7", False, 65),  # (again, with less output)
        line("msg_9", "req_9", False, 90),
        line("msg_10", "req_10", True, 11),
        line("msg_14", "req_14", False, 14),
        line("msg_1", "req_1", False, 10),  # chunk 2: this process's
        line("msg_5", "req_5", False, 50),
        line("msg_8", "req_8", False, 80),
        line("msg_11", "req_11", False, 12),
        line("msg_15", "req_15", False, 15),
        line("msg_12", "req_12", False, 33),  # chunk 3: the child's; never dropped (main)
        line("msg_6", "req_6", True, 60),  # a sidechain message
        line("msg_1", "req_9", True, 99),  # a replay of msg_1: dropped
        line("msg_12", "req_12", False, 34),  # msg_12 again, more output: the one kept
        line("msg_6", "req_6", True, 61),  # msg_6 again, more output: the one kept
    ]
    (tmp_path / "t.jsonl").write_text("".join(x + "\n" for x in lines))
    here, child = _both(run, monkeypatch, tmp_path, "t.jsonl", "--format", "claude-code")
    assert child == here
    # rows staged of chunks 0, 1 and 3 (a key's repeats once); chunk 3 is then put back
    # together from its rows and msg_6's first line, sent aside since it might be dropped
    assert copied == [4, 4, 3]
    keys = [(r[0], r[11]) for r in here[3]["records"]]  # (dedupe key, output)
    assert sorted(keys, key=lambda k: int(k[0].split("_")[1].split(":")[0])) == [
        ("claude-code:msg_1:req_1", 10),
        ("claude-code:msg_2:req_2", 25),
        ("claude-code:msg_3:req_3", 30),
        ("claude-code:msg_4:req_4", 40),
        ("claude-code:msg_5:req_5", 50),
        ("claude-code:msg_6:req_6", 61),
        ("claude-code:msg_7:req_7", 70),
        ("claude-code:msg_8:req_8", 80),
        ("claude-code:msg_9:req_9", 90),
        ("claude-code:msg_10:req_10", 11),
        ("claude-code:msg_11:req_11", 12),
        ("claude-code:msg_12:req_12", 34),
        ("claude-code:msg_13:req_13", 13),
        ("claude-code:msg_14:req_14", 14),
        ("claude-code:msg_15:req_15", 15),
    ]
    summary = here[1]["inputs"][0]
    assert (summary["added"], summary["duplicate"]) == (15, 4)
    # and in the same order: a key's row where the key was first seen
    in_order = [
        sqlite3.connect(tmp_path / f"{mode}.db")
        .execute("SELECT dedupe_key FROM records ORDER BY id")
        .fetchall()
        for mode in ("never", "always")
    ]
    assert in_order[0] == in_order[1]


def _staged_rows(monkeypatch) -> list[int]:
    """How many rows each staged write copied (the writer is this process)."""
    from llmaudit.ledger.writes import Writes

    copied: list[int] = []
    real = Writes.write_staged

    def counted(self, staged, *args, **kwargs):
        copied.append(staged.rows)
        return real(self, staged, *args, **kwargs)

    monkeypatch.setattr(Writes, "write_staged", counted)
    return copied


def _big_jsonl(path, n: int) -> None:
    line = (
        '{{"ts": "2026-10-{d:02d}T00:00:{s:02d}Z", "model": "gpt-4o", "input_tokens": {i}, '
        '"output_tokens": 7, "request_id": "r{r}", "feature": "f{f}"}}\n'
    )
    with path.open("w") as fh:
        for i in range(n):
            # every 50th line from the 150th repeats a call of an earlier chunk of lines,
            # with other counts: an update
            r = i - 137 if i % 50 == 49 and i > 137 else i
            fh.write(line.format(d=1 + i % 5, s=i % 60, i=i, r=r, f=i % 3))
        fh.write("{not json\n")


def test_a_large_file_is_staged_by_the_parsing_process(run, monkeypatch, tmp_path):
    """Two chunks of lines in three are parsed and staged by the child, the third parsed and
    written here; the ledger is that of one process, and the staging folder is gone after."""
    import llmaudit.sources.worker as worker_mod

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 100)
    monkeypatch.setattr(worker_mod, "CLAIMED", False)  # the child's chunks are known
    monkeypatch.setattr(worker_mod, "STAGE_AHEAD", 250)  # the child waits for the writer
    monkeypatch.setattr(worker_mod.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    _big_jsonl(tmp_path / "big.jsonl", 3000)
    copied = _staged_rows(monkeypatch)
    here, child = _both(run, monkeypatch, tmp_path, "big.jsonl")
    assert child == here
    assert here[0] == 3  # the broken line
    summary = here[1]["inputs"][0]
    assert (summary["added"], summary["updated"], summary["rejected"]) == (2942, 58, 1)
    # chunks 0, 1, 3, 4, ... of 100 lines: 20 of the 30 (the 31st holds the broken line only);
    # their updates were staged too, then took the writer's own way
    assert copied == [100] * 20
    assert list((tmp_path / "tmp").iterdir()) == []


def test_rows_that_cannot_be_staged_go_through_the_pipe(run, monkeypatch, tmp_path):
    """A staging file that fails (a full disk, say) leaves the rest of the input to the pipe:
    the ledger is the same."""
    import llmaudit.sources.worker as worker_mod
    from llmaudit.errors import StoreError
    from llmaudit.ledger.stage import StageWriter

    monkeypatch.setattr(worker_mod, "BATCH_SIZE", 100)
    monkeypatch.setattr(worker_mod, "CLAIMED", False)
    real_put = StageWriter.put

    def failing(self, records, keep, droppable=None):
        if self.last >= 300:
            raise StoreError("cannot stage rows: disk full")
        return real_put(self, records, keep, droppable)

    monkeypatch.setattr(StageWriter, "put", failing)
    _big_jsonl(tmp_path / "big.jsonl", 3000)
    copied = _staged_rows(monkeypatch)
    here, child = _both(run, monkeypatch, tmp_path, "big.jsonl")
    assert child == here
    assert copied == [100, 100, 100]  # three chunks staged, then none


def test_a_child_waiting_to_stage_stops_when_the_writer_closes(tmp_path, monkeypatch):
    import llmaudit.sources.worker as worker_mod
    from llmaudit.ledger.stage import StageWriter

    stager = worker_mod.Stager()
    try:
        stager.writer = StageWriter(tmp_path / "stage.db")
        stager.writer.last = worker_mod.STAGE_AHEAD + 1  # far ahead of the writer
        stager.taken.value = 0
        stager.parent = os.getppid()  # as in the child, whose parent is the writer
        waits = []
        monkeypatch.setattr(worker_mod.time, "sleep", lambda s: waits.append(s) or stager.close())
        assert stager._wait() is False
        assert waits == [0.001]
        assert stager.taken.value == -1
        stager.writer.close()
    finally:
        stager.close()
    assert not os.path.exists(stager.dir)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "", "msg_1", "msg_2"]),
            st.sampled_from([None, "req_1", "req_2"]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_claude_code_drops_only_what_it_says_it_may_drop(marks):
    """A record whose mark is not droppable is counted by its parser at once: the sidechain
    rule must never drop one."""
    from llmaudit.sources.claude_code import ClaudeCode

    source = ClaudeCode()
    keep = source.keep_in_order()
    for mark in marks:
        assert keep(mark) or source.droppable(mark), mark


@pytest.mark.sqlite_only  # reads the ledger's reading states
def test_files_parsed_in_the_parsing_process_are_hashed_there(run, monkeypatch, tmp_path):
    """The hash kept with a file's reading state (of every byte read) is worked out by the
    process that parsed the file, once it read it to its end, so the writer does not read
    the file again for it: here only the files it parsed itself (the first, and a third of
    the rest). Each hash is that of the bytes read, a last line still being written left
    out, so that the next run finds each file unchanged, or appended to."""
    import hashlib

    import llmaudit.sources.worker as worker_mod
    from llmaudit.sources.base import InputFile

    monkeypatch.setattr(worker_mod, "PAIR_MIN_BYTES", 0)
    monkeypatch.setattr(worker_mod, "_cores", lambda: 2)
    hashed_here = []
    real_hash = InputFile.prefix_hash

    def noted(self, length):
        if length not in self.hashed:
            hashed_here.append(self.path.name)
        return real_hash(self, length)

    monkeypatch.setattr(InputFile, "prefix_hash", noted)
    logs = tmp_path / "logs"
    logs.mkdir()
    line = '{{"ts": "2026-10-01T00:00:0{n}Z", "model": "gpt-4o", "request_id": "j{n}"}}\n'
    for n in range(1, 7):
        (logs / f"b{n}.jsonl").write_text(line.format(n=n) + '{"ts": "2026-10-0')  # half a line
    monkeypatch.setenv("LLMAUDIT_INGEST_WORKER", "auto")
    first = run("--db", "l.db", "ingest", "--json", "logs")
    assert first.exit_code == 0, first.stderr
    assert sorted(hashed_here) == ["b1.jsonl", "b4.jsonl"]  # the child parsed the others
    with sqlite3.connect(tmp_path / "l.db") as conn:
        states = conn.execute("SELECT path, offset, head_len, head_hash FROM files").fetchall()
    assert len(states) == 6
    for path, offset, head_len, head_hash in states:
        whole = (logs / path.rsplit("/", 1)[-1]).read_bytes()
        assert offset == head_len == len(whole) - len(b'{"ts": "2026-10-0')
        assert head_hash == hashlib.sha256(whole[:offset]).hexdigest()
    for n in range(1, 7):  # the last lines are written out
        with (logs / f"b{n}.jsonl").open("a") as fh:
            fh.write(f'1T00:00:00Z", "model": "gpt-4o", "request_id": "k{n}"}}\n')
    again = run("--db", "l.db", "ingest", "--json", "logs")
    summary = json.loads(again.stdout)
    assert [i["mode"] for i in summary["inputs"]] == ["appended"] * 6
    assert (summary["totals"]["added"], summary["totals"]["duplicate"]) == (6, 0)
