"""The Prometheus path as Prometheus itself reads it: the classic text format that node_exporter's
textfile collector and the Pushgateway parse (`promtool check metrics`), the rules
(`promtool check rules`, and `promtool test rules` with a unit test of their alerts), and a
Grafana dashboard that imports (`__inputs` and a data source on every panel).

promtool comes from the distribution's `prometheus` package, which `.ci/run` installs; where
it is missing these tests skip, unless LLMAUDIT_REQUIRE_TOOLS=1 (set by `.ci/run`) makes that a
failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timezone

import pytest

pytestmark = pytest.mark.both_engines


DOLLAR = 400_000  # gpt-4o input tokens worth $1 ($2.50 per million)


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("LLMAUDIT_REQUIRE_TOOLS"):
            pytest.fail("promtool is required here (the distribution's prometheus package)")
        pytest.skip("promtool not installed (the distribution's prometheus package)")
    return path


@pytest.fixture
def ledger(run, tmp_path):
    """This month: $30 for feature search (gpt-4o) and one unpriced request; a $50 month
    budget on search."""
    day = datetime.now(timezone.utc).strftime("%Y-%m-01T00:30:00Z")
    lines = [
        {"ts": day, "model": "gpt-4o", "input_tokens": 30 * DOLLAR, "feature": "search"},
        {"ts": day, "model": "mystery-model", "input_tokens": 5, "feature": "search"},
    ]
    (tmp_path / "u.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert run("--db", "p.db", "ingest", "u.jsonl").exit_code == 0
    assert (
        run("budget", "set", "search", "--amount", "50", "--where", "feature=search").exit_code == 0
    )
    return "p.db"


def test_the_classic_text_format_has_help_and_type_and_parses(run, ledger):
    from prometheus_client.parser import text_string_to_metric_families

    text = run("--db", ledger, "export", "prometheus").stdout
    assert "# EOF" not in text and "# UNIT" not in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # the classic parser names a counter without _total; every family typed, none untyped
    assert {n: f.type for n, f in families.items()} == {
        "llmaudit_cost_usd": "counter",
        "llmaudit_requests": "counter",
        "llmaudit_unpriced_requests": "counter",
        "llmaudit_tokens": "counter",
        "llmaudit_budget_spent_usd": "gauge",
        "llmaudit_budget_amount_usd": "gauge",
        "llmaudit_budget_projected_usd": "gauge",
    }
    assert all(f.documentation for f in families.values())
    (cost,) = families["llmaudit_cost_usd"].samples
    assert (cost.name, cost.value, cost.labels["model"]) == (
        "llmaudit_cost_usd_total",
        30.0,
        "gpt-4o",
    )
    (spent,) = families["llmaudit_budget_spent_usd"].samples
    assert (spent.labels, spent.value) == ({"budget": "search", "period": "month"}, 30.0)
    (amount,) = families["llmaudit_budget_amount_usd"].samples
    assert amount.value == 50.0


def test_openmetrics_carries_the_budget_gauges_too(run, ledger):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    text = run("--db", ledger, "export", "openmetrics").stdout
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["llmaudit_budget_spent_usd"].type == "gauge"
    assert families["llmaudit_budget_spent_usd"].unit == "usd"
    (spent,) = families["llmaudit_budget_spent_usd"].samples
    assert spent.value == 30.0


def test_promtool_checks_the_metrics(run, ledger, tmp_path):
    promtool = _promtool()
    text = run("--db", ledger, "export", "prometheus").stdout
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # no lint finding at all (a counter without _total, a missing HELP, ...)
    assert done.stdout.strip() == "" and done.stderr.strip() == ""


RULE_TESTS = """
rule_files:
  - rules.yml
evaluation_interval: 1m
tests:
  # $45 of the $50 month budget: 90%, over the 80% warning, under critical
  - interval: 1m
    input_series:
      - series: 'llmaudit_budget_spent_usd{budget="search",period="month"}'
        values: '45x20'
      - series: 'llmaudit_budget_projected_usd{budget="search",period="month"}'
        values: '48x20'
    alert_rule_test:
      - eval_time: 10m
        alertname: LlmauditBudgetWarning_search
        exp_alerts:
          - exp_labels: {severity: warning, budget: search}
            exp_annotations:
              summary: "LLM budget search at 80% or more"
              description: "Spend this month is 45.00 USD of 50 USD."
      - eval_time: 10m
        alertname: LlmauditBudgetCritical_search
        exp_alerts: []
      - eval_time: 10m
        alertname: LlmauditBudgetForecast_search
        exp_alerts: []
  # $20 so far (40%) but on course for $80: the forecast fires after its hour
  - interval: 5m
    input_series:
      - series: 'llmaudit_budget_spent_usd{budget="search",period="month"}'
        values: '20x30'
      - series: 'llmaudit_budget_projected_usd{budget="search",period="month"}'
        values: '80x30'
    alert_rule_test:
      - eval_time: 30m
        alertname: LlmauditBudgetForecast_search
        exp_alerts: []
      - eval_time: 90m
        alertname: LlmauditBudgetForecast_search
        exp_alerts:
          - exp_labels: {severity: warning, budget: search}
            exp_annotations:
              summary: "LLM budget search is on course to pass its amount"
              description: "At the last day's pace this month ends at 80.00 USD, over 50 USD."
      - eval_time: 90m
        alertname: LlmauditBudgetWarning_search
        exp_alerts: []
"""


def test_promtool_checks_and_unit_tests_the_rules(run, ledger, tmp_path):
    promtool = _promtool()
    (tmp_path / "rules.yml").write_text(run("export", "prometheus-rules").stdout)
    (tmp_path / "rules_test.yml").write_text(RULE_TESTS)
    check = subprocess.run(
        [promtool, "check", "rules", "rules.yml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 5 rules found" in check.stdout
    test = subprocess.run(
        [promtool, "test", "rules", "rules_test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout


def test_the_grafana_dashboard_imports(run):
    """Grafana's import reads __inputs and asks for each data source; every panel, target and
    variable must then name it, and every query must use a metric llmaudit exports."""
    import re

    dash = json.loads(run("export", "grafana").stdout)
    (source,) = dash["__inputs"]
    assert (source["name"], source["type"], source["pluginId"]) == (
        "DS_PROMETHEUS",
        "datasource",
        "prometheus",
    )
    ref = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    assert dash["id"] is None and dash["uid"] == "llmaudit-cost"
    assert all(v["datasource"] == ref for v in dash["templating"]["list"])
    exported = {
        "llmaudit_cost_usd_total",
        "llmaudit_requests_total",
        "llmaudit_unpriced_requests_total",
        "llmaudit_tokens_total",
        "llmaudit_budget_spent_usd",
        "llmaudit_budget_amount_usd",
        "llmaudit_budget_projected_usd",
    }
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) == 5
    for panel in dash["panels"]:
        assert panel["datasource"] == ref, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == ref and target["refId"]
            used = set(re.findall(r"llmaudit_[a-z_]+", target["expr"]))
            assert used and used <= exported, target["expr"]
