"""Every report section on a small ledger whose answers were worked out by hand.

Prices (bundled pricing.toml, November 2026), USD per million tokens:
gpt-4o: input 2.50, cached input 1.25, output 10.
claude-sonnet-4-5: input 3, cache read 0.30, 5m write 3.75, 1h write 6, output 15.
mystery-model: no price (unpriced).

R1 11-01 10:00 gpt-4o chat alice: 1000 in (800 cached), 100 out
   200 x 2.5 + 800 x 1.25 + 100 x 10 = 500 + 1000 + 1000 -> $0.0025
   all input uncached would cost 1000 x 2.5 + 1000 -> $0.0035: the read saved $0.001
R2 11-01 11:00 claude search bob: 10000 in, all a 1-hour cache write, 200 out
   10000 x 6 + 200 x 15 = 60000 + 3000 -> $0.063
   the write as plain input: 10000 x 3 + 3000 -> $0.033: the write cost $0.03 more
R3 11-02 09:00 claude search bob: 12000 in (10000 cache read), 300 out
   2000 x 3 + 10000 x 0.3 + 300 x 15 = 6000 + 3000 + 4500 -> $0.0135
   all uncached: 12000 x 3 + 4500 -> $0.0405: the reads saved $0.027
R4 11-02 12:00 gpt-4o chat alice, abandoned: 3000 in, 500 out
   3000 x 2.5 + 500 x 10 = 7500 + 5000 -> $0.0125
R5 11-02 13:00 mystery-model, no feature or user, error: 500 in -> unpriced
R0 10-31 12:00 gpt-4o chat (the previous period): 1000 in, 100 out -> 2500 + 1000 -> $0.0035
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.both_engines


LINES = [
    {
        "ts": "2026-10-31T12:00:00Z",
        "model": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 100,
        "feature": "chat",
        "user": "alice",
        "team": "a",
    },
    {
        "ts": "2026-11-01T10:00:00Z",
        "model": "gpt-4o",
        "input_tokens": 1000,
        "cache_read_tokens": 800,
        "output_tokens": 100,
        "feature": "chat",
        "user": "alice",
        "team": "a",
        "latency_ms": 1000,
        "ttft_ms": 200,
    },
    {
        "ts": "2026-11-01T11:00:00Z",
        "model": "claude-sonnet-4-5",
        "input_tokens": 10000,
        "cache_write_tokens": 10000,
        "cache_write_1h_tokens": 10000,
        "output_tokens": 200,
        "feature": "search",
        "user": "bob",
        "team": "b",
        "latency_ms": 2000,
        "ttft_ms": 500,
    },
    {
        "ts": "2026-11-02T09:00:00Z",
        "model": "claude-sonnet-4-5",
        "input_tokens": 12000,
        "cache_read_tokens": 10000,
        "output_tokens": 300,
        "feature": "search",
        "user": "bob",
        "team": "b",
        "latency_ms": 3000,
        "ttft_ms": 600,
    },
    {
        "ts": "2026-11-02T12:00:00Z",
        "model": "gpt-4o",
        "input_tokens": 3000,
        "output_tokens": 500,
        "feature": "chat",
        "user": "alice",
        "team": "a",
        "status": "abandoned",
        "latency_ms": 4000,
        "ttft_ms": 300,
    },
    {
        "ts": "2026-11-02T13:00:00Z",
        "model": "mystery-model",
        "provider": "acme",
        "input_tokens": 500,
        "status": "error",
    },
]
WINDOW = ("--since", "2026-11-01", "--until", "2026-11-02")


@pytest.fixture
def ledger(run, tmp_path):
    (tmp_path / "usage.jsonl").write_text("".join(json.dumps(x) + "\n" for x in LINES))
    assert run("--db", "r.db", "ingest", "usage.jsonl").exit_code == 0
    return "r.db"


def report(run, ledger, *args):
    result = run("--db", ledger, "report", *args, *WINDOW, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["report"]


def test_window_and_summary(run, ledger):
    rep = report(run, ledger, "summary")
    assert rep["window"] == {
        "since": "2026-11-01T00:00:00.000000Z",
        "until": "2026-11-03T00:00:00.000000Z",
        "tz": "UTC",
    }
    s = rep["sections"]["summary"]
    assert s["spend_usd"] == "0.0915"  # 0.0025 + 0.063 + 0.0135 + 0.0125
    assert s["requests"] == 5
    assert s["tokens"] == {
        "input_uncached": 200 + 2000 + 3000 + 500,
        "cache_read": 10800,
        "cache_write": 10000,
        "output": 1100,
        "reasoning": 0,
    }
    assert s["priced_token_share"] == round(27100 / 27600, 6)  # all but mystery's 500
    assert s["unpriced_requests"] == 1
    assert s["unpriced_models"] == [{"model": "mystery-model", "requests": 1, "tokens": 500}]
    assert s["feature_spend_share"] == 1.0
    assert s["previous"]["spend_usd"] == "0.0035"
    # the oldest record (10-31 12:00) is inside the previous window (10-30 to 11-01): that
    # period is partial, so no percentage against it (#17)
    assert s["previous"]["partial"] is True
    assert s["previous"]["change"] is None
    assert s["previous"]["data_since"] == "2026-10-31T12:00:00.000000Z"
    table = run("--db", ledger, "report", "summary", *WINDOW, "--format", "markdown").stdout
    assert "partial: the ledger starts 2026-10-31, inside that period ($0.0035 in it)" in table
    assert "%" not in next(line for line in table.splitlines() if "previous period" in line)
    day2 = ("--since", "2026-11-02", "--until", "2026-11-02", "--format", "json")
    later = json.loads(run("--db", ledger, "report", "summary", *day2).stdout)["report"]
    assert later["sections"]["summary"]["previous"]["partial"] is False


def test_spend_by_feature_and_cross_table(run, ledger):
    s = report(run, ledger, "spend")["sections"]["spend"]
    assert s["total_usd"] == "0.0915"
    assert [
        (r["key"], r["cost_usd"], r["requests"], r["cost_per_1k_requests_usd"]) for r in s["rows"]
    ] == [
        (["search"], "0.0765", 2, "38.25"),  # 0.063 + 0.0135; 0.0765 x 1000 / 2
        (["chat"], "0.015", 2, "7.5"),
        (["(unset)"], None, 1, None),  # the unpriced request: unknown, not $0
    ]
    assert s["rows"][0]["share"] == round(0.0765 / 0.0915, 6)
    cross = report(run, ledger, "spend", "--by", "team", "--by", "model")["sections"]["spend"]
    assert [(r["key"], r["cost_usd"]) for r in cross["rows"]] == [
        (["b", "claude-sonnet-4-5"], "0.0765"),
        (["a", "gpt-4o"], "0.015"),
        (["(unset)", "mystery-model"], None),
    ]
    top1 = report(run, ledger, "spend", "--top", "1")["sections"]["spend"]
    assert top1["other"]["key"] == ["(2 more)"]
    assert top1["other"]["cost_usd"] == "0.015"
    assert top1["other"]["requests"] == 3


def test_models(run, ledger):
    rows = report(run, ledger, "models")["sections"]["models"]["rows"]
    claude, gpt, mystery = rows
    assert (claude["model"], claude["cost_usd"], claude["requests"]) == (
        "claude-sonnet-4-5",
        "0.0765",
        2,
    )
    assert (claude["mean_input_tokens"], claude["mean_output_tokens"]) == (11000.0, 250.0)
    assert claude["output_input_ratio"] == round(500 / 22000, 6)
    assert (gpt["cost_usd"], gpt["cost_per_1k_requests_usd"], gpt["output_input_ratio"]) == (
        "0.015",
        "7.5",
        0.15,
    )
    assert (mystery["model"], mystery["priced"], mystery["cost_usd"]) == (
        "mystery-model",
        False,
        None,
    )


def test_ratios_flag_growing_input(run, ledger):
    rows = report(run, ledger, "ratios")["sections"]["ratios"]["rows"]
    chat = next(r for r in rows if r["feature"] == "chat")
    # first day 1000 input a request, second day 3000: +200%
    assert (chat["input_per_request_first_half"], chat["input_per_request_second_half"]) == (
        1000.0,
        3000.0,
    )
    assert chat["input_per_request_change"] == 2.0
    assert chat["flags"] == ["input per request grew"]
    search = next(r for r in rows if r["feature"] == "search")
    assert search["input_per_request_change"] == 0.2  # 10000 -> 12000
    assert search["flags"] == []
    assert rows[0]["feature"] == "chat"  # flagged rows first


def test_cache_savings_net_of_write_premium(run, ledger):
    c = report(run, ledger, "cache")["sections"]["cache"]
    o = c["overall"]
    assert o["token_hit_rate"] == round(10800 / 26500, 6)  # cache reads / all input
    assert o["request_hit_rate"] == 0.4  # R1 and R3 of 5
    assert (o["read_saving_usd"], o["write_premium_usd"], o["net_saving_usd"]) == (
        "0.028",
        "0.03",
        "-0.002",
    )  # 0.001 + 0.027 saved, 0.03 extra for the 1h write
    by_model = {r["model"]: r for r in c["by_model"]}
    assert by_model["gpt-4o"]["net_saving_usd"] == "0.001"
    assert by_model["claude-sonnet-4-5"]["net_saving_usd"] == "-0.003"
    (losing,) = c["writes_cost_more_than_reads_save"]
    assert (losing["feature"], losing["model"], losing["net_saving_usd"]) == (
        "search",
        "claude-sonnet-4-5",
        "-0.003",
    )


def test_latency_and_wasted_spend(run, ledger):
    lat = report(run, ledger, "latency")["sections"]["latency"]
    rows = {r["model"]: r for r in lat["by_model"]}
    gpt = rows["gpt-4o"]
    # latencies 1000 and 4000: p50 2500, p95 1000 + 0.95 x 3000
    assert (gpt["latency_p50_ms"], gpt["latency_p95_ms"]) == (2500.0, 3850.0)
    assert (gpt["ttft_p50_ms"], gpt["ttft_p95_ms"]) == (250.0, 295.0)
    # inter-token: (1000 - 200) / 99 and (4000 - 300) / 499
    itl = sorted([(1000 - 200) / 99, (4000 - 300) / 499])
    assert gpt["itl_p50_ms"] == pytest.approx((itl[0] + itl[1]) / 2)
    assert rows["claude-sonnet-4-5"]["ttft_p95_ms"] == 595.0
    assert lat["abandoned"] == {"requests": 1, "cost_usd": "0.0125"}
    assert lat["failed"] == {"requests": 1, "cost_usd": "0"}  # the unpriced error
    # CSV is the main table (per model), not the last one
    csv = run("--db", ledger, "report", "latency", *WINDOW, "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("model,ttft_p50_ms,ttft_p95_ms,latency_p50_ms,latency_p95_ms")
    assert any(line.startswith("gpt-4o,250.0,295.0,2500.0,3850.0,") for line in csv)


def test_trend(run, ledger):
    t = report(run, ledger, "trend")["sections"]["trend"]
    assert [(r["bucket"], r["cost_usd"], r["requests"]) for r in t["rows"]] == [
        ("2026-11-01", "0.0655", 2),  # 0.0025 + 0.063
        ("2026-11-02", "0.026", 3),  # 0.0135 + 0.0125, and the unpriced request
    ]
    # in New York the first two requests (10:00 and 11:00 UTC) are on 1 November as well
    ny = run(
        "--db", ledger, "report", "trend", *WINDOW, "--tz", "America/New_York", "--format", "json"
    )
    rows = json.loads(ny.stdout)["report"]["sections"]["trend"]["rows"]
    assert [r["bucket"] for r in rows if r["requests"]] == ["2026-11-01", "2026-11-02"]
    # CSV: raw values and the spike flag, no bar characters
    csv = run("--db", ledger, "report", "trend", *WINDOW, "--format", "csv").stdout.splitlines()
    assert csv == [
        "bucket,cost_usd,requests,spike",
        "2026-11-01,0.0655,2,false",
        "2026-11-02,0.026,3,false",
    ]


def test_formats_agree(run, ledger):
    data = report(run, ledger)
    assert set(data["sections"]) == {
        "summary",
        "spend",
        "models",
        "ratios",
        "cache",
        "latency",
        "trend",
    }
    table = run("--db", ledger, "report", "spend", *WINDOW, "--format", "table")
    assert "$0.077" in table.stdout and "$0.015" in table.stdout and "unpriced" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    csv_one = run("--db", ledger, "report", "spend", *WINDOW, "--format", "csv").stdout
    assert csv_one.splitlines()[0] == (
        "feature,cost_usd,share,requests,cost_per_1k_requests_usd,unpriced_requests"
    )
    assert csv_one.splitlines()[1].startswith("search,0.0765,")
    csv_all = run("--db", ledger, "report", *WINDOW, "--format", "csv").stdout.splitlines()
    assert csv_all[0] == "section,item,metric,value"
    assert "summary,,spend_usd,0.0915" in csv_all
    md = run("--db", ledger, "report", "spend", *WINDOW, "--format", "markdown").stdout
    assert "| search | $0.077 |" in md


def test_whatif(run, ledger):
    result = run(
        "--db",
        ledger,
        "whatif",
        "--swap",
        "claude-sonnet-4-5=claude-haiku-4-5",
        *WINDOW,
        "--format",
        "json",
    )
    w = json.loads(result.stdout)["whatif"]
    # haiku 4.5: input 1, cache read 0.10, 1h write 2, output 5
    # R2: 10000 x 2 + 200 x 5 = 21000 -> 0.021; R3: 2000 x 1 + 10000 x 0.1 + 300 x 5 = 4500
    (row,) = w["rows"]
    assert (row["feature"], row["current_usd"], row["whatif_usd"], row["saving_usd"]) == (
        "search",
        "0.0765",
        "0.0255",
        "0.051",
    )
    assert w["total"]["saving_usd"] == "0.051"
    assert w["total"]["saving_share"] == round(0.051 / 0.0765, 6)  # a share, like the report's
    bad = run("--db", ledger, "whatif", "--swap", "gpt-4o=gpt-9")
    assert bad.exit_code == 2
    assert "'gpt-9' matches no price entry" in bad.stderr


@pytest.mark.sqlite_only
def test_empty_ledger(run, tmp_path):
    from llmaudit.ledger.store import Ledger

    Ledger.open(tmp_path / "empty.db").close()
    result = run("--db", "empty.db", "report", "--format", "table")
    assert result.exit_code == 0
    assert "the ledger is empty" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("report",),
        ("whatif", "--swap", "gpt-4o=gpt-4o-mini"),
        ("ledger", "info"),
        ("ledger", "rejects"),
        ("export",),
        ("budget", "status"),
        ("reconcile",),
    ],
    ids=lambda a: " ".join(a[:2]),
)
@pytest.mark.sqlite_only
def test_reading_a_missing_ledger_is_an_error_and_creates_nothing(run, tmp_path, args):
    if args[0] == "budget":
        run("budget", "set", "org", "--amount", "10")
    result = run("--db", "typo.db", *args)
    assert result.exit_code == 3, result.stderr
    assert "no ledger at" in result.stderr and "typo.db" in result.stderr
    assert not (tmp_path / "typo.db").exists()


def test_latency_samples_above_the_limit(run, ledger, monkeypatch):
    """Above the limit, a window of whole UTC days reads the daily histograms: every request,
    each percentile within 1%. A window the histograms cannot answer (a provider filter)
    samples every k-th request instead."""
    from llmaudit.analysis import report as report_module

    monkeypatch.setattr(report_module, "LATENCY_SAMPLE", 2)
    lat = report(run, ledger, "latency")["sections"]["latency"]
    assert (lat["method"], lat["sampled_every"]) == ("sketch", 1)
    gpt = next(r for r in lat["by_model"] if r["model"] == "gpt-4o")
    assert gpt["requests"] == 2
    assert gpt["latency_p50_ms"] == pytest.approx(2500.0, rel=0.01)
    assert gpt["latency_p95_ms"] == pytest.approx(3850.0, rel=0.01)
    assert gpt["ttft_p95_ms"] == pytest.approx(295.0, rel=0.01)
    assert gpt["latency_p50_ms"] != 2500.0  # (so it did come from the histograms)
    lat = report(
        run, ledger, "latency", "--where", "provider=openai", "--where", "provider=anthropic"
    )["sections"]["latency"]
    assert (lat["method"], lat["sampled_every"]) == ("sample", 2)  # 4 timed, at most 2
    monkeypatch.setattr(report_module, "LATENCY_SAMPLE", 1_000_000)
    lat = report(run, ledger, "latency")["sections"]["latency"]
    assert (lat["method"], lat["sampled_every"]) == ("exact", 1)


def test_the_demos_follow_up_command_reproduces_its_total(run, tmp_path, engine):
    """`demo` prints a command to explore its ledger: run as printed, it covers the same window
    and gives the same total to the cent; and the demo keeps one ledger, not one a run."""
    import shlex

    first = run("demo", "--format", "json")
    assert first.exit_code == 0, first.stderr
    report = json.loads(first.stdout)["report"]
    line = next(x for x in first.stderr.splitlines() if x.startswith("explore it: llmaudit "))
    args = shlex.split(line.removeprefix("explore it: llmaudit "))
    follow = run(*args, "--format", "json")
    assert follow.exit_code == 0, follow.stderr
    again = json.loads(follow.stdout)["report"]
    assert again["window"] == report["window"]
    assert again["sections"]["spend"]["total_usd"] == report["sections"]["summary"]["spend_usd"]
    assert report["sections"]["summary"]["spend_usd"].startswith("120.42")
    if engine == "clickhouse":
        return  # (on ClickHouse the demo writes the database named; no file to count)
    run("demo", "--format", "json")
    assert sorted(p.name for p in (tmp_path / "data").glob("demo.db*"))[0] == "demo.db"
    assert len(list((tmp_path / "data").glob("demo*.db"))) == 1


def test_top_0_means_every_row(run, tmp_path):
    assert run("--db", "d.db", "demo", "--format", "json").exit_code == 0
    some = json.loads(
        run("--db", "d.db", "report", "spend", "--by", "user", "--format", "json").stdout
    )
    every = json.loads(
        run(
            "--db", "d.db", "report", "spend", "--by", "user", "--top", "0", "--format", "json"
        ).stdout
    )
    some, every = some["report"]["sections"]["spend"], every["report"]["sections"]["spend"]
    assert len(some["rows"]) == 10 and some["other"] is not None
    assert every["other"] is None and len(every["rows"]) > 10
    assert every["total_usd"] == some["total_usd"]


def test_every_output_states_its_window(run, ledger):
    """whatif and every report table say which days they cover, by the report's own rule."""
    what = run(
        "--db", ledger, "whatif", "--swap", "gpt-4o=gpt-4o-mini", *WINDOW, "--format", "json"
    )
    assert json.loads(what.stdout)["whatif"]["window"] == report(run, ledger, "summary")["window"]
    table = run("--db", ledger, "whatif", "--swap", "gpt-4o=gpt-4o-mini", *WINDOW,
                "--format", "markdown").stdout  # fmt: skip
    assert table.startswith("### What if, 2026-11-01 to 2026-11-02 (UTC)")
    full = run("--db", ledger, "report", *WINDOW, "--format", "markdown").stdout
    titles = [line for line in full.splitlines() if line.startswith("### ")]
    assert titles[0] == "### Summary"
    assert all(t.endswith(", 2026-11-01 to 2026-11-02 (UTC)") for t in titles[1:3]), titles
    models = run("--db", ledger, "report", "models", *WINDOW, "--format", "markdown").stdout
    assert "| model | provider | spend |" in models
