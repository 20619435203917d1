from __future__ import annotations

import gzip
import json
import shutil
import textwrap

import pytest

from conftest import DATA

pytestmark = pytest.mark.both_engines


def info(run, db="t.db"):
    result = run("--db", db, "ledger", "info", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["ledger"]


def test_reingesting_the_same_file_adds_nothing(run, tmp_path):
    shutil.copy(DATA / "sample.jsonl", tmp_path)
    first = run("--db", "t.db", "ingest", "sample.jsonl", "--format", "llmaudit")
    assert first.exit_code == 0, first.stderr
    assert first.stderr == "sample.jsonl: 3 added, 0 updated, 0 duplicate, 0 rejected\n"
    before = info(run)
    second = run("--db", "t.db", "ingest", "sample.jsonl", "--format", "llmaudit")
    assert second.exit_code == 0
    assert second.stderr == "sample.jsonl: unchanged since the last ingest\n"
    # The same content under another name is read, and every record is a duplicate.
    shutil.copy(tmp_path / "sample.jsonl", tmp_path / "copy.jsonl")
    third = run("--db", "t.db", "ingest", "copy.jsonl", "--format", "llmaudit")
    assert third.stderr == "copy.jsonl: 0 added, 0 updated, 3 duplicate, 0 rejected\n"
    after = info(run)
    for key in ("records", "requests", "first_ts", "last_ts", "rejects"):
        assert after[key] == before[key]
    assert after["records"] == 3
    assert after["requests"] == 6  # 1 + 1 + 4
    assert after["first_ts"] == "2026-11-01T09:05:00.000000Z"
    assert after["last_ts"] == "2026-11-01T11:00:00.000000Z"
    assert after["ingests"] == 2  # the unchanged run read nothing
    assert after["sources"][0]["kind"] == "llmaudit"
    assert after["sources"][0]["name"] == "test-machine"


def test_bad_lines_are_reported_stored_and_exit_3(run, tmp_path):
    shutil.copy(DATA / "mixed.jsonl", tmp_path)
    result = run("--db", "t.db", "ingest", "mixed.jsonl", "--format", "llmaudit")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == textwrap.dedent(
        """\
        mixed.jsonl:2: input_tokens: must not be negative, got -5
        mixed.jsonl:5: ts: '2026-11-02 08:03:00' has no time zone offset; add Z or +HH:MM
        mixed.jsonl: 3 added, 0 updated, 0 duplicate, 2 rejected
        llmaudit: error: 2 line(s) rejected (the rest was ingested; see 'llmaudit ledger rejects')
        """
    )
    assert info(run)["records"] == 3
    rejects = run("--db", "t.db", "ledger", "rejects", "--format", "json")
    assert rejects.exit_code == 0
    rows = json.loads(rejects.stdout)["rejects"]
    assert [(r["location"], r["line"], r["field"]) for r in rows] == [
        ("mixed.jsonl", 2, "input_tokens"),
        ("mixed.jsonl", 5, "ts"),
    ]
    table = run("--db", "t.db", "ledger", "rejects", "--format", "table")
    assert "mixed.jsonl:2" in table.stdout
    assert "must not be negative, got -5" in table.stdout
    # Ingesting the same lines again stores no second copy of the rejects.
    shutil.copy(tmp_path / "mixed.jsonl", tmp_path / "mixed-again.jsonl")
    assert run("--db", "t.db", "ingest", "mixed-again.jsonl").exit_code == 3
    assert info(run)["rejects"] == 4  # same lines, another file: their own file:line
    (tmp_path / "mixed.jsonl").touch()
    assert run("--db", "t.db", "ingest", "mixed.jsonl").exit_code == 0  # nothing new appended


def test_auto_detection_gzip_directories_and_stdin(run, tmp_path):
    logs = tmp_path / "logs" / "nested"
    logs.mkdir(parents=True)
    with gzip.open(logs / "a.jsonl.gz", "wb") as fh:
        fh.write((DATA / "sample.jsonl").read_bytes())
    (logs / "README.md").write_text("not a log")
    result = run("--db", "t.db", "ingest", "logs")
    assert result.exit_code == 0, result.stderr
    assert "logs/nested/a.jsonl.gz: 3 added, 0 updated, 0 duplicate, 0 rejected\n" in result.stderr
    assert "skipped 1 file(s)" in result.stderr
    piped = run("--db", "t.db", "ingest", "-", input=(DATA / "mixed.jsonl").read_bytes())
    assert piped.exit_code == 3
    assert "-:2: input_tokens: must not be negative" in piped.stderr
    assert "-: 3 added, 0 updated, 0 duplicate, 2 rejected" in piped.stderr
    assert info(run)["records"] == 6


def test_unrecognised_file_is_counted_not_ignored(run, tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    result = run("--db", "t.db", "ingest", "notes.txt")
    assert result.exit_code == 3
    assert "notes.txt: format not recognised; name it with --format" in result.stderr
    assert "1 input(s) not read" in result.stderr


def test_usage_errors_exit_2(run, tmp_path):
    missing = run("--db", "t.db", "ingest", "nope.jsonl")
    assert missing.exit_code == 2
    assert missing.stderr == "llmaudit: error: nope.jsonl: no such file or directory\n"
    assert run("--db", "t.db", "ingest").exit_code == 2
    unknown = run("--db", "t.db", "ingest", "x", "--format", "yaml")
    assert unknown.exit_code == 2
    assert "unknown format 'yaml'" in unknown.stderr


def test_list_formats(run):
    result = run("ingest", "--list-formats")
    assert result.exit_code == 0
    from llmaudit.sources.registry import FORMATS

    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(FORMATS)
    assert "llmaudit JSONL, the interchange format" in lines[0]


@pytest.mark.sqlite_only  # the SQLite file itself
def test_default_ledger_lives_in_the_data_dir(run, tmp_path):
    shutil.copy(DATA / "sample.jsonl", tmp_path)
    assert run("ingest", "sample.jsonl").exit_code == 0
    assert (tmp_path / "data" / "llmaudit.db").exists()
    assert info(run, str(tmp_path / "data" / "llmaudit.db"))["records"] == 3


def test_ledger_info_table_fits_80_columns(run, tmp_path):
    shutil.copy(DATA / "sample.jsonl", tmp_path)
    run("--db", "t.db", "ingest", "sample.jsonl")
    result = run("--db", "t.db", "ledger", "info", "--format", "table")
    assert result.exit_code == 0
    assert "records" in result.stdout
    assert "2026-11-01 09:05:00 UTC" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_ingest_with_no_path_finds_the_agent_logs_on_this_machine(run, tmp_path, monkeypatch):
    import shutil

    from conftest import DATA

    home = tmp_path / "home"
    claude = home / ".claude" / "projects" / "-Users-dana-src-billing-api"
    claude.mkdir(parents=True)
    shutil.copy(
        DATA / "logs" / "claude_code_session_v2.jsonl",
        claude / "7c1e9a52-3b4d-4f6e-8a9b-0c1d2e3f4a5b.jsonl",
    )
    codex = tmp_path / "codex-home" / "sessions" / "2026" / "08" / "18"
    codex.mkdir(parents=True)
    shutil.copy(DATA / "logs" / "codex_rollout.jsonl", codex / "rollout-2026-08-18T14-00-00.jsonl")
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex-home"))
    gemini = home / ".gemini" / "tmp" / "7d8e3f1a" / "chats"
    gemini.mkdir(parents=True)
    shutil.copy(DATA / "logs" / "gemini_cli_session.jsonl", gemini / "session-2026-08-18.jsonl")
    llm = home / ".config" / "io.datasette.llm"
    llm.mkdir(parents=True)
    shutil.copy(DATA / "logs" / "llm_logs.sqlite", llm / "logs.db")

    res = run("--db", "t.db", "ingest", "--json")
    assert res.exit_code == 3, res.stderr  # logs.db holds one row its README rejects
    assert f"found Claude Code logs: {home / '.claude' / 'projects'}" in res.stderr
    assert f"found Codex CLI logs: {tmp_path / 'codex-home' / 'sessions'} (from CODEX_HOME)" in (
        res.stderr
    )
    assert f"found Gemini CLI logs: {gemini}" in res.stderr
    assert f"found llm logs: {llm / 'logs.db'}" in res.stderr
    formats = {i["format"] for i in json.loads(res.stdout)["inputs"]}
    assert formats == {"claude-code", "codex", "gemini-cli", "llm"}


def test_ingest_with_no_path_and_no_logs_says_where_it_looked(run):
    res = run("--db", "t.db", "ingest")
    assert res.exit_code == 2
    assert "no agent logs found on this machine (looked in $CLAUDE_CONFIG_DIR/projects" in (
        res.stderr
    )
