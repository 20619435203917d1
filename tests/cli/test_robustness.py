"""Regression cases of the robustness rules (issue 12): each example found by an attack on
the command line is tested here with the exit code and message it must give now."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from conftest import DATA, ledger_totals

pytestmark = pytest.mark.both_engines

GOOD = '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o","input_tokens":%d,"output_tokens":5}'


def _file(tmp_path, name, *lines) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _tokens(db) -> tuple[int, int | None]:
    return ledger_totals(db)


# -- rule 1: one bad line is one reject -------------------------------------------------------
BAD_LINES = {
    "surrogate": (
        '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o","input_tokens":1,"user":"\\ud800"}',
        "user: is not valid Unicode text",
    ),
    "year 1 with an offset": (
        '{"ts":"0001-01-01T00:00:00+05:00","model":"gpt-4o","input_tokens":1}',
        "ts: '0001-01-01T00:00:00+05:00' is not a valid time",
    ),
    "year 9999 with an offset": (
        '{"ts":"9999-12-31T23:59:59-05:00","model":"gpt-4o","input_tokens":1}',
        "ts: '9999-12-31T23:59:59-05:00' is not a valid time",
    ),
    "year 9999": (
        '{"ts":"9999-12-31T00:00:00Z","model":"gpt-4o","input_tokens":1}',
        "ts: 9999-12-31T00:00:00+00:00 is outside the years 1970..2100",
    ),
    "1e400 tokens": (
        '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o","input_tokens":1e400}',
        "invalid JSON: number 1e400 is out of range",
    ),
    "1E+999999999 tokens": (
        '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o","input_tokens":1E+999999999}',
        "invalid JSON: number 1E+999999999 is out of range",
    ),
    "an exponent beyond a Decimal's": (
        '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o","input_tokens":1,'
        '"latency_ms":5e234567890123456789012345678901234567890}',
        "invalid JSON: number 5e2345678901234567890123... is out of range",
    ),
    "a cost of 1e999999999": (
        '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o","input_tokens":1,'
        '"reported_cost_usd":"1e999999999"}',
        "reported_cost_usd: is out of range (amounts from 1e-18 to 1e9 dollars)",
    ),
    "2^53 tokens": (
        '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o","input_tokens":9007199254740992}',
        "input_tokens: is implausibly large (9.007e+15)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_one_bad_line_is_one_reject_and_keeps_its_neighbours(run, tmp_path, case):
    bad, message = BAD_LINES[case]
    path = _file(tmp_path, "in.jsonl", GOOD % 10, bad, GOOD % 20)
    res = run("--db", "l.db", "ingest", path)
    assert res.exit_code == 3, res.stderr
    assert f"in.jsonl:2: {message}" in res.stderr
    assert "in.jsonl: 2 added, 0 updated, 0 duplicate, 1 rejected" in res.stderr
    assert _tokens(tmp_path / "l.db") == (2, 30)
    # and nothing accepted breaks a later command
    assert run("--db", "l.db", "report", "--format", "json").exit_code == 0


def test_otlp_array_value_without_values_is_an_empty_array(run, tmp_path):
    lines = (DATA / "logs" / "otel_genai_spans.otlp.json").read_text().splitlines()
    doc = json.loads(lines[0])
    attrs = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    attrs.append({"key": "llm.tags", "value": {"arrayValue": {"values": None}}})
    attrs.append({"key": "llm.meta", "value": {"kvlistValue": None}})
    path = _file(tmp_path, "spans.json", json.dumps(doc), *lines[1:])
    res = run("--db", "l.db", "ingest", "--format", "otel", path)
    assert res.exit_code == 0, res.stderr
    # the fixture gives 5 records (tests/sources/test_fixtures.py), the odd attributes change none
    assert "spans.json: 5 added, 0 updated, 0 duplicate, 0 rejected" in res.stderr


def test_a_non_utf8_csv_field_is_one_reject(run, tmp_path):
    rows = (DATA / "logs" / "helicone_export.csv").read_bytes().split(b"\n")
    rows[1] = rows[1].replace(b"u_", b"u\xff\xfe_", 1)
    (tmp_path / "h.csv").write_bytes(b"\n".join(rows))
    res = run("--db", "l.db", "ingest", "h.csv")
    assert res.exit_code == 3
    assert "h.csv:2: user: is not valid Unicode text" in res.stderr
    assert "h.csv: 2 added, 0 updated, 0 duplicate, 1 rejected" in res.stderr


def test_a_jsonl_first_line_longer_than_the_head_is_still_jsonl(run, tmp_path):
    lines = (DATA / "logs" / "helicone_export.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["request_properties"]["Padding"] = "p" * 10_000
    lines[0] = json.dumps(first)
    path = _file(tmp_path, "h.jsonl", *lines)
    res = run("--db", "l.db", "ingest", path)
    assert res.exit_code == 0, res.stderr
    assert "h.jsonl: 3 added" in res.stderr


# -- rule 3: nothing is silently nothing ----------------------------------------------------
def test_a_map_path_that_never_occurs_is_an_error_naming_what_exists(run, tmp_path):
    (tmp_path / "m.csv").write_text("when,m,in\n2026-01-01T00:00:00Z,gpt-4o,5\n")
    res = run(
        "--db", "l.db", "ingest", "m.csv", "--map", "ts=when", "--map", "model=m",
        "--map", "input_tokens=inn",
    )  # fmt: skip
    assert res.exit_code == 3
    assert "m.csv: --map input_tokens=inn: no row has 'inn'; the first row has: when, m, in" in (
        res.stderr
    )
    # nothing was stored, and the corrected mapping reads the same file at once
    fixed = run(
        "--db", "l.db", "ingest", "m.csv", "--map", "ts=when", "--map", "model=m",
        "--map", "input_tokens=in",
    )  # fmt: skip
    assert fixed.exit_code == 0
    assert "m.csv: 1 added" in fixed.stderr
    assert _tokens(tmp_path / "l.db") == (1, 5)


def test_a_nested_map_path_lists_the_dotted_paths(run, tmp_path):
    path = _file(
        tmp_path, "m.jsonl", '{"t":"2026-01-01T00:00:00Z","r":{"model":"gpt-4o","usage":{"in":3}}}'
    )
    res = run(
        "--db", "l.db", "ingest", path, "--map", "ts=t", "--map", "model=r.model",
        "--map", "input_tokens=r.usage.input",
    )  # fmt: skip
    assert res.exit_code == 3
    assert "no row has 'r.usage.input'; the first row has: t, r.model, r.usage.in" in res.stderr


def test_an_empty_file_is_fine_every_time(run, tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    for _ in range(2):
        res = run("--db", "l.db", "ingest", "empty.jsonl")
        assert res.exit_code == 0, res.stderr
        assert "empty.jsonl:" in res.stderr
        assert "not recognised" not in res.stderr
    (tmp_path / "empty.jsonl").write_text(GOOD % 7 + "\n")
    res = run("--db", "l.db", "ingest", "empty.jsonl")
    assert "empty.jsonl: 1 added" in res.stderr


def test_special_files_in_a_directory_are_skipped_with_a_warning(run, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text(GOOD % 1 + "\n")
    os.mkfifo(logs / "pipe.jsonl")
    (logs / "loop.jsonl").symlink_to(logs / "loop.jsonl")
    res = run("--db", "l.db", "ingest", str(logs))
    assert res.exit_code == 0, res.stderr
    assert "pipe.jsonl: skipped: a FIFO, not a regular file" in res.stderr
    assert "loop.jsonl: skipped: Too many levels of symbolic links" in res.stderr
    assert "a.jsonl: 1 added" in res.stderr


def test_a_fifo_named_on_its_own_is_read_once(run, tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "w") as fh:
            fh.write(GOOD % 4 + "\n")

    writer = threading.Thread(target=feed)
    writer.start()
    res = run("--db", "l.db", "ingest", str(fifo))
    writer.join(5)
    assert res.exit_code == 0, res.stderr
    assert _tokens(tmp_path / "l.db") == (1, 4)


def test_an_unreadable_subdirectory_is_reported(run, tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    (logs / "locked").mkdir(parents=True)
    (logs / "a.jsonl").write_text(GOOD % 1 + "\n")
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    res = run("--db", "l.db", "ingest", str(logs))
    assert res.exit_code == 3
    assert "locked: cannot read: Permission denied" in res.stderr
    assert "a.jsonl: 1 added" in res.stderr


# -- rule 8: secrets and terminals ------------------------------------------------------------
HOSTILE_TEXT = (
    '{"ts":"2026-01-01T00:00:00Z","model":"gpt-4o\\u001b]0;pwned\\u0007","input_tokens":10,'
    '"feature":"\\u001b[31mred\\u001b[0m","user":"=HYPERLINK(\\"http://x\\")","team":"\\u009b2J"}'
)


def test_escape_sequences_from_logs_never_reach_the_terminal(run, tmp_path):
    path = _file(tmp_path, "esc.jsonl", HOSTILE_TEXT, '{"ts":"\\u001b[2J"}')
    res = run("--db", "l.db", "ingest", path)
    assert res.exit_code == 3
    outputs = [res.stderr]
    for args in (
        ["report", "--by", "feature", "--format", "table"],
        ["report", "--by", "team", "--format", "markdown"],
        ["report", "--by", "feature", "--format", "csv"],
        ["report", "--format", "json"],
        ["export"],
        ["export", "--format", "csv"],
        ["ledger", "rejects"],
    ):
        out = run("--db", "l.db", *args)
        assert out.exit_code == 0, (args, out.stderr)
        outputs += [out.stdout, out.stderr]
    for text in outputs:
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    markdown = outputs[3]
    assert "\\\\x9b2J" in markdown  # shown, escaped, not executed
    assert "\\x1b[31mred\\x1b[0m" in outputs[1]  # the terminal table


def test_csv_cells_that_look_like_formulas_are_neutralised(run, tmp_path):
    path = _file(tmp_path, "f.jsonl", HOSTILE_TEXT)
    run("--db", "l.db", "ingest", path)
    import csv
    import io

    rows = list(
        csv.DictReader(io.StringIO(run("--db", "l.db", "export", "--format", "csv").stdout))
    )
    assert rows[0]["user"] == '\'=HYPERLINK("http://x")'
    by_user = run("--db", "l.db", "report", "--by", "user", "--format", "csv").stdout
    assert "'=HYPERLINK" in by_user
    assert ",=HYPERLINK" not in by_user


# -- rule 10: honest exits --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--since", "0001-01-01"], "--since: '0001-01-01' is outside the years"),
        (["report", "--until", "9999-12-31"], "--until: '9999-12-31' is outside the years"),
        (["report", "--since", "999999999999d"], "--since: '999999999999d' is outside the years"),
        (["alerts", "--window", "999999999999d"], "--window: '999999999999d' is longer than"),
        (["check", "--ledger", "--window", "99999999999d"], "--window: '99999999999d' is longer"),
        (["budget", "set", "x", "--amount", "NaN"], "--amount: 'NaN' must be more than 0"),
        (["budget", "set", "x", "--amount", "1e400"], "--amount: '1e400' must be more than 0"),
        (["export", "-o", "no/such/dir/x.jsonl"], "Could not open file"),
    ],
)
def test_absurd_command_line_values_are_usage_errors(run, tmp_path, args, message):
    run("--db", "l.db", "ingest", _file(tmp_path, "in.jsonl", GOOD % 1))
    res = run("--db", "l.db", *args)
    assert res.exit_code == 2, res.stderr
    assert message in res.stderr


# -- rule 11: CI gate inputs are validated ----------------------------------------------------
def test_estimate_settings_in_llmaudit_toml_are_validated(run, tmp_path):
    (tmp_path / "p.txt").write_text("Summarise this.\n")
    (tmp_path / "llmaudit.toml").write_text('[estimate]\nmodels = ["gpt-4o-mini"]\nper = "daily"\n')
    res = run("estimate", "p.txt")
    assert res.exit_code == 3
    assert "llmaudit.toml: [estimate].per: must be 'day' or 'month', got 'daily'" in res.stderr


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("per", "year", "settings.per: must be 'day' or 'month', got 'year'"),
        ("requests", -5, "settings.requests: must be a whole number from 1 to 10^12, got -5"),
        ("output_tokens", "x", "settings.output_tokens: must be a whole number from 0 to 10^12"),
        ("models", "gpt-4o", "settings.models: must be a list of model names"),
    ],
)
def test_a_baseline_with_bad_settings_is_an_error(run, tmp_path, key, value, message):
    (tmp_path / "p.txt").write_text("Summarise this.\n")
    made = run("estimate", "p.txt", "--model", "gpt-4o-mini", "--format", "json")
    base = json.loads(made.stdout)
    base["settings"][key] = value
    (tmp_path / "base.json").write_text(json.dumps(base))
    res = run("check", "p.txt", "--baseline", "base.json")
    assert res.exit_code == 3, res.stderr
    assert f"base.json: {message}" in res.stderr


@pytest.mark.sqlite_only  # the SQLite file itself
def test_a_full_disk_is_exit_3_and_says_so(run, tmp_path, monkeypatch):
    from llmaudit.ledger import store

    real_open = store.Ledger.open.__func__

    def small(cls, path):
        led = real_open(cls, path)
        pages = led.conn.execute("PRAGMA page_count").fetchone()[0]
        led.conn.execute(f"PRAGMA max_page_count = {pages + 3}")  # SQLITE_FULL soon after
        return led

    monkeypatch.setattr(store.Ledger, "open", classmethod(small))
    big = "\n".join(GOOD % n for n in range(1, 5001))
    res = run("--db", "l.db", "ingest", _file(tmp_path, "big.jsonl", big))
    assert res.exit_code == 3, res.stderr
    assert "disk full: cannot write to the ledger (database or disk is full)" in res.stderr
    assert "internal error" not in res.stderr


@pytest.mark.sqlite_only  # the SQLite file itself
def test_a_killed_ingest_is_not_left_running(run, tmp_path):
    import subprocess
    import sys

    run("--db", "l.db", "ingest", _file(tmp_path, "a.jsonl", GOOD % 1))
    # a process that starts an ingest and dies without finishing it (as kill -9 would)
    code = (
        "import os; from llmaudit.ledger.store import Ledger\n"
        f"led = Ledger.open({str(tmp_path / 'l.db')!r})\n"
        "led.begin_ingest(kind='llmaudit', source_name='x', location='x', size=0, mtime=None,"
        " machine_id=None)\n"
        "os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    with sqlite3.connect(tmp_path / "l.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM ingests WHERE status = 'running'").fetchone() == (
            1,
        )
    run("--db", "l.db", "ingest", _file(tmp_path, "b.jsonl", GOOD % 2))
    with sqlite3.connect(tmp_path / "l.db") as conn:
        statuses = [s for (s,) in conn.execute("SELECT status FROM ingests ORDER BY id")]
    assert statuses == ["ok", "interrupted", "ok"]


def test_many_records_at_the_token_bound_never_overflow_a_report(run, tmp_path):
    # 1,100 records of 2^53 tokens overflowed the rollup before; at the bound they sum safely
    big = "\n".join(
        f'{{"ts":"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z","model":"gpt-4o",'
        '"input_tokens":1000000000000}'
        for n in range(1100)
    )
    res = run("--db", "l.db", "ingest", _file(tmp_path, "big.jsonl", big))
    assert res.exit_code == 0, res.stderr
    assert _tokens(tmp_path / "l.db") == (1100, 1100 * 10**12)
    for args in (["report", "--format", "json"], ["export"], ["openmetrics"]):
        args = ["export", "openmetrics"] if args == ["openmetrics"] else args
        out = run("--db", "l.db", *args)
        assert out.exit_code == 0, (args, out.stderr)
    summary = json.loads(run("--db", "l.db", "report", "summary", "--format", "json").stdout)
    assert "1100000000000000" in json.dumps(summary)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe garbage", "bad.toml: not a UTF-8 text file (byte 0)"),
        (
            b'[[models]]\nid = "gpt-4o"\nprovider = "openai"\n[[models.prices]]\n'
            b"input = 1e300\noutput = 10\n",
            "models[0] (gpt-4o).prices[0].input: 1E+300 is implausibly large (the limit is 100000)",
        ),
        (
            b'[[discounts]]\nprovider = "openai"\nmultiplier = 1e308\n',
            "discounts[0].multiplier: 1E+308 is implausibly large (the limit is 100)",
        ),
        (  # an exponent beyond what a Decimal holds
            b'[[models]]\nid = "gpt-4o"\nprovider = "openai"\n[[models.prices]]\n'
            b"input = 1e2345678901234567890123456789\noutput = 10\n",
            "bad.toml: invalid TOML: number 1e2345678901234567890123... is out of range",
        ),
    ],
)
def test_pricing_check_flags_a_broken_price_file(run, tmp_path, content, message):
    (tmp_path / "bad.toml").write_bytes(content)
    res = run("--pricing", "bad.toml", "pricing", "check")
    assert res.exit_code == 3
    assert message in res.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[pricing]\npath = 7\n", "config key pricing.path: must be a file path, got 7"),
        ("attribution = 5\n", "config key attribution: must be a table"),
        (
            "[attribution.project]\nproj_1 = 5\n",
            "config key attribution.project.proj_1: must be a table such as",
        ),
        ("[attribution.team.x]\nteam = 'a'\n", "config key attribution.team: unknown"),
    ],
)
def test_bad_config_values_name_the_key(run, tmp_path, config, message):
    import os

    run("--db", "l.db", "ingest", _file(tmp_path, "in.jsonl", GOOD % 1))
    cfg = tmp_path / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(config)
    os.chmod(cfg, 0o600)
    res = run("--db", "l.db", "report", "--format", "json")
    assert res.exit_code == 3, res.stderr
    assert message in res.stderr


@pytest.mark.sqlite_only  # the ledger named by the config, not by --db
@pytest.mark.parametrize("value", ["7", "''", "['l.db']"])
def test_a_ledger_path_in_the_config_that_is_no_path_is_an_error(run, tmp_path, monkeypatch, value):
    """Never the default ledger in its place: exit 3 naming the key, and no ledger made."""
    import os

    monkeypatch.delenv("LLMAUDIT_DB", raising=False)
    cfg = tmp_path / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f"[ledger]\npath = {value}\n")
    os.chmod(cfg, 0o600)
    res = run("--config", str(cfg), "ingest", _file(tmp_path, "in.jsonl", GOOD % 1))
    assert res.exit_code == 3, res.stderr
    assert "config key ledger.path: must be a file path or a clickhouse:// address, got " in (
        res.stderr
    )
    assert not list(tmp_path.rglob("*.db"))


@pytest.mark.sqlite_only  # the SQLite file itself
def test_a_ledger_that_cannot_be_written_says_why(run):
    """/dev/null as the ledger: SQLite's own error, not the failed rollback after it."""
    res = run("--db", "/dev/null", "report")
    assert res.exit_code == 3
    assert res.stderr == "llmaudit: error: /dev/null: migration m001_init failed: disk I/O error\n"


@pytest.mark.sqlite_only  # the SQLite file itself
def test_maturity_on_a_mistyped_ledger_is_exit_3_and_creates_nothing(run, tmp_path):
    res = run("--db", "typo.db", "maturity")
    assert res.exit_code == 3
    assert "typo.db" in res.stderr
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize(
    ("config", "commands", "message"),
    [
        (
            'alerts = "on"\n',
            [("maturity",), ("alerts",)],
            "config key alerts: must be a table ([alerts]), got 'on'",
        ),
        ("budgets = 5\n", [("maturity",), ("alerts",)], "budgets: must be a table of"),
        ("[budgets.b]\nperiod = 'day'\n", [("maturity",)], "budgets.b.amount: must be a number"),
    ],
)
def test_config_tables_that_are_no_tables_name_the_key(run, tmp_path, config, commands, message):
    """Found by random configs: `maturity` read these tables unchecked (exit 70), `alerts`
    took `alerts = "on"` as no setting at all."""
    import os

    run("--db", "l.db", "ingest", _file(tmp_path, "in.jsonl", GOOD % 1))
    cfg = tmp_path / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(config)
    os.chmod(cfg, 0o600)
    for command in commands:
        res = run("--config", str(cfg), "--db", "l.db", *command)
        assert res.exit_code == 3, (command, res.stderr)
        assert message in res.stderr, command


def test_a_window_with_no_priced_token_never_shows_a_spend_of_zero(run, tmp_path):
    unknown = '{"ts":"2026-11-01T00:00:00Z","model":"gpt-9","input_tokens":1000,"output_tokens":50}'
    res = run("--db", "l.db", "ingest", _file(tmp_path, "u.jsonl", unknown))
    assert "unpriced: gpt-9 (1,050 tokens): their cost is unknown, never $0" in res.stderr
    table = run("--db", "l.db", "report", "summary", "--format", "markdown").stdout
    assert "| spend | unknown: no token in this window has a price (see 'unpriced') |" in table
    assert "$0.00" not in table
    # partly priced: the spend says which share it covers
    priced = GOOD % 1000  # gpt-4o: 1,000 x $2.50 + 5 x $10 per 1M = $0.00255
    run(
        "--db",
        "l.db",
        "ingest",
        _file(tmp_path, "p.jsonl", priced.replace("2026-01-01", "2026-11-01")),
    )
    table = run("--db", "l.db", "report", "summary", "--format", "markdown").stdout
    assert "| spend | $0.0026 for the 48.9% of tokens priced |" in table


@pytest.mark.parametrize("amount", ["nan", "inf", "-5", "0"])
def test_a_budget_amount_in_the_config_is_checked(run, tmp_path, amount):
    import os

    run("--db", "l.db", "ingest", _file(tmp_path, "in.jsonl", GOOD % 1))
    cfg = tmp_path / "config" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f'[budgets.x]\namount = {amount}\nperiod = "month"\n')
    os.chmod(cfg, 0o600)
    for cmd in (["alerts"], ["budget", "status"]):
        res = run("--db", "l.db", *cmd)
        assert res.exit_code == 3, res.stderr
        assert "budgets.x.amount: must be more than 0 and less than $1e12" in res.stderr


def test_budget_estimates_are_kept_to_a_nanodollar(run, tmp_path):
    assert run("--db", "d.db", "demo", "--format", "json").exit_code == 0
    run("budget", "set", "org", "--amount", "150")
    res = run(
        "--db", "d.db", "budget", "status", "--at", "2026-10-20T00:00:00Z", "--format", "json"
    )
    (b,) = json.loads(res.stdout)["budgets"]
    for key in ("burn_per_hour_usd", "burn_per_day_usd", "projected_usd"):
        assert len(b[key].partition(".")[2]) <= 9, (key, b[key])


# -- a ledger no llmaudit wrote ---------------------------------------------------------------
@pytest.mark.sqlite_only  # the SQLite file itself
@pytest.mark.parametrize("command", [("report",), ("ingest", str(DATA / "sample.jsonl"))])
def test_another_programs_database_is_never_made_a_ledger(run, tmp_path, command):
    """llm's logs.db given as --db (it is one to ingest): exit 3, and the file is left byte for
    byte as it was (not one table added, nor its journal mode changed to WAL)."""
    import shutil

    db = tmp_path / "logs.db"
    shutil.copy(DATA / "logs" / "llm_logs.sqlite", db)
    before = db.read_bytes()
    res = run("--db", str(db), *command)
    assert res.exit_code == 3, res.stderr
    assert (
        "a SQLite database of another program (tables: conversations, messages, responses, "
        "schemas, threads and 1 more)"
    ) in res.stderr
    assert "not an llmaudit ledger" in res.stderr
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.db"]  # no -wal, no -shm


@pytest.mark.sqlite_only  # the SQLite file itself
@pytest.mark.parametrize(
    ("table", "column", "value", "commands", "message"),
    [
        (
            "records",
            "ts",
            "garbage",
            [("report",), ("export",)],
            "'garbage' is not an ISO-8601 timestamp",
        ),
        (
            "records",
            "tags",
            "{",
            [("export",)],
            "the ledger's record 'llmaudit:",
        ),
        (
            "records",
            "reported_cost_usd",
            "lots",
            [("export",)],
            "the ledger's record 'llmaudit:",
        ),
        (
            "records",
            "tags",
            "garbage",  # read by SQLite's JSON functions, which refuse it
            [("report", "--bucket", "hour"), ("export", "--where", "tag:team=a")],
            "the ledger's records hold tags that are no JSON",
        ),
        ("records", "status", "weird", [("export",)], "status: must be one of ok"),
        (
            "records",
            "latency_ms",
            "",  # text: a REAL column keeps it as it is
            [("report", "--since", "2020-01-01", "--until", "2030-01-01")],
            "the ledger's records hold a timing no llmaudit writes: ('', None, ",
        ),
        (
            "records",
            "output",
            "many",  # text: SQLite's CHECK (output >= 0) lets it through, SUM reads 0.0
            [("report", "--since", "2020-01-01", "--bucket", "hour"), ("export",)],
            "output",
        ),
        (
            "rollup_daily",
            "input_uncached",
            "many",
            [
                ("report", "--since", "2020-01-01", "--until", "2030-01-01"),
                ("export", "openmetrics"),
            ],
            "the ledger's daily rollup hold a value of input_uncached no llmaudit writes "
            "(reading 0.0)",
        ),
        (
            "rollup_daily",
            "day",
            "NaN",
            [("export", "openmetrics")],  # (a report's window leaves it out)
            "the ledger's daily rollup hold a value of day no llmaudit writes (reading 'NaN')",
        ),
        (
            "rollup_latency",
            "model",
            b"\xff\xfe",  # a BLOB
            [("report", "--since", "2020-01-01", "--until", "2030-01-01")],
            "the ledger's latency rollup hold a value of model no llmaudit writes",
        ),
        (
            "rollup_daily",
            "feature",
            b"\xff",
            [("report", "--by", "feature", "--since", "2020-01-01", "--until", "2030-01-01")],
            "the ledger's daily rollup hold a value of feature no llmaudit writes "
            "(reading \"b'\\\\xff'\")",
        ),
        (
            "rollup_latency",
            "bucket",
            "wide",
            [("report", "--since", "2020-01-01", "--until", "2030-01-01")],
            "the ledger's latency rollup hold a value of bucket no llmaudit writes "
            "(reading 'wide')",
        ),
    ],
)
def test_a_ledger_changed_by_hand_is_exit_3_naming_what(
    run, tmp_path, monkeypatch, table, column, value, commands, message
):
    """A value no llmaudit writes, put in the ledger by hand: each command that reads it ends
    with exit 3 and one line saying what (never an internal error, never a wrong sum)."""
    from llmaudit.ledger import reads

    if table == "rollup_latency":  # read above this many timed requests, so the test has more
        monkeypatch.setattr(reads, "EXACT_UP_TO", 0)
    db = str(tmp_path / "l.db")
    logs = (DATA / "sample.jsonl", DATA / "logs" / "middleware_openai_chat.jsonl")  # (timed)
    assert run("--db", db, "ingest", *map(str, logs)).exit_code == 0
    assert run("--db", db, "report").exit_code == 0  # the rollup is refreshed
    with sqlite3.connect(db) as conn:
        conn.execute(  # the first row holding a value there, else the first
            f"UPDATE {table} SET {column} = ? WHERE rowid = coalesce((SELECT min(rowid) "
            f"FROM {table} WHERE {column} IS NOT NULL), 1)",
            (value,),
        )
        assert conn.total_changes == 1
    for command in commands:
        res = run("--db", db, *command)
        assert res.exit_code == 3, (command, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("llmaudit: error: "), res.stderr
        assert message in lines[0]
        assert "(the ledger was changed outside llmaudit, or is damaged)" in lines[0]


def test_an_error_still_has_its_exit_status_when_nobody_reads_standard_error(tmp_path):
    """``llmaudit ... 2>&1 | head``: when standard error is gone, the last words are lost, not
    the exit status (a closed pipe made both of these exit 1)."""
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # nobody reads standard error
    try:
        no_ledger = subprocess.run(
            [sys.executable, "-m", "llmaudit", "--db", str(tmp_path / "none.db"), "report"],
            stderr=write,
            stdout=subprocess.DEVNULL,
        )
        bad_option = subprocess.run(
            [sys.executable, "-m", "llmaudit", "report", "--since", "yesterday-ish"],
            stderr=write,
            stdout=subprocess.DEVNULL,
        )
    finally:
        os.close(write)
    assert (no_ledger.returncode, bad_option.returncode) == (3, 2)


@pytest.mark.parametrize(
    "command",
    [("export",), ("export", "--format", "csv"), ("report",), ("report", "--format", "json")],
)
def test_output_whose_reader_is_gone_ends_quietly_with_exit_0(tmp_path, command):
    """``llmaudit export | head``: once the reader has what it wants, the rest has nowhere to
    go. That is no error: exit 0 and nothing on standard error (click made export's exit 1)."""
    import subprocess
    import sys

    db = str(tmp_path / "l.db")
    made = subprocess.run(
        [sys.executable, "-m", "llmaudit", "--db", db, "demo"], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    read, write = os.pipe()
    os.close(read)  # the reader has gone
    try:
        done = subprocess.run(
            [sys.executable, "-m", "llmaudit", "--db", db, *command],
            stdout=write,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, b"")
