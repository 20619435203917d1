"""Budgets, burn rate, alerts, anomalies, the webhook, Prometheus output and maturity.

gpt-4o input costs $2.50 per million tokens, so 400,000 input tokens cost exactly $1.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

pytestmark = pytest.mark.both_engines


DOLLAR = 400_000  # gpt-4o input tokens worth $1


def ingest(run, tmp_path, lines, db="b.db"):
    (tmp_path / "u.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert run("--db", db, "ingest", "u.jsonl").exit_code == 0


def spend(ts, dollars, feature="chat", requests=1):
    return {
        "ts": ts,
        "model": "gpt-4o",
        "input_tokens": int(dollars * DOLLAR),
        "output_tokens": 0,
        "feature": feature,
        "requests": requests,
    }


@pytest.mark.parametrize(("dollars", "level"), [(79, "ok"), (80, "warning"), (100, "critical")])
def test_budget_levels(run, tmp_path, dollars, level):
    ingest(run, tmp_path, [spend("2026-11-05T10:00:00Z", dollars)])
    assert run("budget", "set", "org", "--amount", "100", "--period", "month").exit_code == 0
    out = run(
        "--db", "b.db", "budget", "status", "--at", "2026-11-10T00:00:00Z", "--format", "json"
    )
    (b,) = json.loads(out.stdout)["budgets"]
    assert (b["spent_usd"], b["level"]) == (str(dollars), level)
    fired = run(
        "--db",
        "b.db",
        "alerts",
        "--at",
        "2026-11-10T00:00:00Z",
        "--fail-on",
        "warning",
        "--format",
        "json",
    )
    assert fired.exit_code == (0 if level == "ok" else 1)
    assert [a["level"] for a in json.loads(fired.stdout)["alerts"]] == (
        [] if level == "ok" else [level]
    )


def test_burn_rate_projection_and_exhaustion(run, tmp_path):
    # $40 on 2 November, $24 in the last 24 hours; now = 10 November 00:00 UTC
    ingest(
        run,
        tmp_path,
        [
            spend("2026-11-02T10:00:00Z", 40),
            spend("2026-11-09T12:00:00Z", 24),
            spend("2026-11-09T13:00:00Z", 5, feature="other"),
        ],
    )
    run("budget", "set", "chat", "--amount", "100", "--where", "feature=chat")
    (b,) = json.loads(
        run(
            "--db", "b.db", "budget", "status", "--at", "2026-11-10T00:00:00Z", "--format", "json"
        ).stdout
    )["budgets"]
    assert b["spent_usd"] == "64"
    assert b["consumed"] == 0.64
    assert (b["burn_per_hour_usd"], b["burn_per_day_usd"]) == ("1", "24")
    # 504 hours left in November at $1 an hour
    assert b["projected_usd"] == "568"
    # $36 left at $1 an hour: 36 hours -> 11 November, 12:00
    assert b["runs_out"] == "2026-11-11"
    assert b["period_start"] == "2026-11-01T00:00:00+00:00"
    listed = json.loads(run("budget", "list", "--format", "json").stdout)["budgets"]
    assert listed[0]["where"] == "feature=chat"
    assert run("budget", "rm", "chat").exit_code == 0
    assert run("budget", "rm", "chat").exit_code == 2


def steady_week(extra):
    """7 quiet days: each day 14:00-15:00 UTC, 10 requests of 1,000 tokens ($0.025)."""
    lines = [
        {
            "ts": f"2026-11-0{d}T14:30:00Z",
            "model": "gpt-4o",
            "input_tokens": 10_000,
            "output_tokens": 0,
            "feature": "chat",
            "requests": 10,
        }
        for d in range(1, 8)
    ]
    return lines + extra


@pytest.mark.parametrize(
    ("today", "cause"),
    [
        # same 10 requests, 3,000 tokens each: a prompt regression
        ({"input_tokens": 30_000, "requests": 10}, "tokens per request"),
        # three times the requests at the usual size: traffic
        ({"input_tokens": 30_000, "requests": 30}, "traffic"),
        # a quiet day: nothing fires
        ({"input_tokens": 10_000, "requests": 10}, None),
    ],
)
def test_anomalies(run, tmp_path, today, cause):
    line = {
        "ts": "2026-11-08T14:30:00Z",
        "model": "gpt-4o",
        "output_tokens": 0,
        "feature": "chat",
        **today,
    }
    ingest(run, tmp_path, steady_week([line]))
    out = run(
        "--db",
        "b.db",
        "alerts",
        "--at",
        "2026-11-08T15:00:00Z",
        "--window",
        "1h",
        "--format",
        "json",
    )
    alerts = json.loads(out.stdout)["alerts"]
    if cause is None:
        assert alerts == [] and out.exit_code == 0
        return
    assert out.exit_code == 1
    assert {(a["details"]["dimension"], a["details"]["key"]) for a in alerts} == {
        ("feature", "chat"),
        ("model", "gpt-4o"),
    }
    for a in alerts:
        assert a["details"]["cause"] == cause
        assert a["details"]["ratio"] == 3.0
        assert a["details"]["cost_usd"] == "0.075" and a["details"]["baseline_usd"] == "0.025"


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list] = []
    fail_first = 0
    delay = 0.0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        time.sleep(type(self).delay)
        status = 500 if type(self).fail_first > 0 else 200
        type(self).fail_first -= 1
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    Hook.received, Hook.fail_first, Hook.delay = [], 0, 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_webhook_payload_retry_and_state(run, tmp_path, hook):
    ingest(run, tmp_path, [spend("2026-11-05T10:00:00Z", 90)])
    run("budget", "set", "org", "--amount", "100")
    run("config", "set", "providers.openai.admin_key", "sk-admin-SECRET-never-sent-0000")
    Hook.fail_first = 1  # a 500 first: the one retry delivers
    args = [
        "--db",
        "b.db",
        "alerts",
        "--at",
        "2026-11-10T00:00:00Z",
        "--notify",
        hook,
        "--state",
        "state.json",
        "--fail-on",
        "critical",
        "--format",
        "json",
    ]
    first = run(*args)
    assert first.exit_code == 0, first.stderr  # a warning does not fail --fail-on critical
    assert len(Hook.received) == 2
    payload = Hook.received[-1]
    assert payload["text"] == "[warning] budget org: $90.00 of $100.00 a month (90%)"
    assert payload["alerts"][0]["details"]["spent_usd"] == "90"
    assert "key" not in payload["alerts"][0]
    assert "SECRET" not in json.dumps(payload)
    again = run(*args)
    assert again.exit_code == 0
    assert len(Hook.received) == 2  # already fired: not sent again


def test_webhook_timeout(run, tmp_path, hook):
    ingest(run, tmp_path, [spend("2026-11-05T10:00:00Z", 90)])
    run("budget", "set", "org", "--amount", "100")
    run("config", "set", "alerts.timeout", "0.3")
    Hook.delay = 1.0
    result = run("--db", "b.db", "alerts", "--at", "2026-11-10T00:00:00Z", "--notify", hook)
    assert result.exit_code == 4
    assert "could not deliver the alerts (ReadTimeout)" in result.stderr
    assert len(Hook.received) == 2  # the first try and one retry


def test_prometheus_rules_and_openmetrics(run, tmp_path):
    import yaml
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    ingest(
        run,
        tmp_path,
        [
            spend("2026-11-05T10:00:00Z", 2, feature="search"),
            {
                "ts": "2026-11-05T11:00:00Z",
                "model": "mystery",
                "input_tokens": 5,
                "feature": "search",
            },
        ],
    )
    run(
        "budget", "set", "search", "--amount", "50", "--period", "week", "--where", "feature=search"
    )
    rules = yaml.safe_load(run("export", "prometheus-rules").stdout)
    by_name = {r["alert"]: r for r in rules["groups"][0]["rules"]}
    assert set(by_name) == {
        "LlmauditBudgetWarning_search",
        "LlmauditBudgetCritical_search",
        "LlmauditBudgetForecast_search",
        "LlmauditSpendAnomaly",
        "LlmauditTokenAnomaly",
    }
    # the budget's calendar week so far (a gauge llmaudit exports), not a rolling 7 days
    assert by_name["LlmauditBudgetWarning_search"]["expr"] == (
        'max(llmaudit_budget_spent_usd{budget="search"}) >= 40'
    )
    assert by_name["LlmauditBudgetForecast_search"]["expr"] == (
        'max(llmaudit_budget_projected_usd{budget="search"}) > 50 and '
        'max(llmaudit_budget_spent_usd{budget="search"}) < 40'
    )
    assert by_name["LlmauditBudgetCritical_search"]["labels"]["severity"] == "critical"
    text = run("--db", "b.db", "export", "openmetrics").stdout
    families = {f.name: f for f in text_string_to_metric_families(text)}
    (cost,) = families["llmaudit_cost_usd"].samples
    assert (cost.value, cost.labels["feature"], cost.labels["model"]) == (2.0, "search", "gpt-4o")
    (unpriced,) = families["llmaudit_unpriced_requests"].samples
    assert unpriced.labels["model"] == "mystery"
    tokens = {
        s.labels["type"]: s.value
        for s in families["llmaudit_tokens"].samples
        if s.labels["model"] == "gpt-4o"
    }
    assert tokens["input_uncached"] == 800_000


def test_maturity_on_the_demo_ledger(run):
    run("--db", "demo.db", "demo", "--format", "json")
    out = json.loads(
        run(
            "--db", "demo.db", "maturity", "--at", "2026-11-01T06:00:00Z", "--format", "json"
        ).stdout
    )["maturity"]
    assert (out["level"], out["name"]) == (2, "feature attribution")
    measured = {c["criterion"]: c["measured"] for c in out["criteria"]}
    assert measured["usage data in the ledger (last 30 days)"] == 16134
    assert measured["share of spend with a feature tag"] == 1.0
    assert measured["budgets configured"] == 0
    assert measured["data fresher than a day"] == 8.0
    assert 0 < measured["cache hit rate (tokens)"] < 0.5
    assert out["next_step"].startswith("set a budget")
    csv = run(
        "--db", "demo.db", "maturity", "--at", "2026-11-01T06:00:00Z", "--format", "csv"
    ).stdout.splitlines()
    assert csv[0] == "level,criterion,target,measured,unit,passed,next_step"
    assert csv[1] == "1,usage data in the ledger (last 30 days),some requests,16134,count,true,"


def _alert_args(hook, state="state.json"):
    return ["--db", "b.db", "alerts", "--at", "2026-11-10T00:00:00Z", "--notify", hook,
            "--state", state]  # fmt: skip


def test_an_alert_the_webhook_refused_is_sent_again_next_run(run, tmp_path, hook):
    ingest(run, tmp_path, [spend("2026-11-05T10:00:00Z", 90)])
    run("budget", "set", "org", "--amount", "100")
    Hook.fail_first = 2  # both tries of the first run fail
    failed = run(*_alert_args(hook))
    assert failed.exit_code == 4
    assert not (tmp_path / "state.json").exists()  # nothing remembered as sent
    delivered = run(*_alert_args(hook))
    assert delivered.exit_code == 0, delivered.stderr
    assert len(Hook.received) == 3
    fired = json.loads((tmp_path / "state.json").read_text())["fired"]
    assert fired == ["budget:org:2026-11-01T00:00:00+00:00:warning"]


def test_a_state_file_that_is_not_ours_is_an_error_and_kept(run, tmp_path, hook):
    ingest(run, tmp_path, [spend("2026-11-05T10:00:00Z", 90)])
    run("budget", "set", "org", "--amount", "100")
    (tmp_path / "notes.txt").write_text("my notes\n")
    res = run(*_alert_args(hook, "notes.txt"))
    assert res.exit_code == 3
    assert "--state notes.txt: not an llmaudit alert state file" in res.stderr
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"
    assert Hook.received == []
    special = run(*_alert_args(hook, "/dev/full"))
    assert special.exit_code == 2
    assert "--state /dev/full: not a regular file" in special.stderr


@pytest.mark.parametrize("url", ["hooks.example.com/x", "ftp://x/y", "http://", "http://h:99999/"])
def test_a_malformed_notify_url_is_a_usage_error(run, tmp_path, url):
    ingest(run, tmp_path, [spend("2026-11-05T10:00:00Z", 90)])
    res = run("--db", "b.db", "alerts", "--notify", url)
    assert res.exit_code == 2
    assert "--notify:" in res.stderr and "is not an http(s) URL" in res.stderr


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("alerts.warning", '"eighty"', "config key alerts.warning: must be a number, got 'eighty'"),
        ("alerts.critical", "1e308", "config key alerts.critical: must be between 0 and 100"),
        ("alerts.timeout", "0", "config key alerts.timeout: must be between 0.1 and 600"),
    ],
)
def test_bad_alert_config_values_name_the_key(run, tmp_path, hook, key, value, message):
    ingest(run, tmp_path, [spend("2026-11-05T10:00:00Z", 90)])
    run("budget", "set", "org", "--amount", "100")
    assert run("config", "set", key, value).exit_code == 0
    res = run(*_alert_args(hook))
    assert res.exit_code == 3
    assert message in res.stderr
