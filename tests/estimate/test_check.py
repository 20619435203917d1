"""The CI gate: baseline, growth, thresholds, exit codes, Markdown, GitHub step summary."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

pytestmark = pytest.mark.both_engines


BASE_TEXT = "You are a helpful assistant. Answer briefly and cite the policy. " * 20


@pytest.fixture
def prompts(tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "answer.txt").write_text(BASE_TEXT)
    return tmp_path / "prompts" / "answer.txt"


def baseline(run, models=("gpt-4o-mini",), output=0):
    args = [
        "estimate",
        "prompts",
        "--requests",
        "1000",
        "--per",
        "day",
        "--output-tokens",
        str(output),
        "--format",
        "json",
    ]
    for m in models:
        args += ["--model", m]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_estimate_costs_by_hand(run, prompts):
    data = json.loads(baseline(run, output=100))
    (row,) = data["estimates"][0]["rows"]
    # gpt-4o-mini: $0.15 in / $0.60 out per 1M; the prompt plus 3 + 1 ("user") + 3 framing
    n = row["input_tokens"]
    per_call = Decimal(n) * Decimal("0.15") / 10**6 + 100 * Decimal("0.6") / 10**6
    assert Decimal(row["cost_per_call_usd"]) == per_call
    assert Decimal(row["cost_per_period_usd"]) == per_call * 1000
    assert Decimal(row["cost_per_month_usd"]) == per_call * 1000 * 30
    assert row["exact"] is True


def test_growth_of_30_percent_fails(run, prompts, tmp_path):
    (tmp_path / "base.json").write_text(baseline(run))
    prompts.write_text(BASE_TEXT + BASE_TEXT[: len(BASE_TEXT) * 3 // 10])  # 30% longer
    result = run(
        "check", "--baseline", "base.json", "--max-increase", "10%", "--format", "markdown"
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "<!-- llmaudit-check -->"
    assert "| prompt | model | tokens | $ a call | $ a period | change | status |" in lines
    row = next(line for line in lines if line.startswith("| prompts/answer.txt | gpt-4o-mini"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4].endswith("a month") and cells[6] == "fail"
    assert cells[5].startswith("+2") and cells[5].endswith("%")  # about +29%
    old, new = (int(t.replace(",", "")) for t in cells[2].split(" -> "))
    assert new > old
    # the total and, in words, what changed
    assert any(line.startswith("Total: $") and "a month" in line for line in lines)
    assert f"- prompts/answer.txt: {new - old:+,} tokens" in "\n".join(lines)
    assert "cost check failed" in result.stderr


def test_growth_of_5_percent_passes(run, prompts, tmp_path):
    (tmp_path / "base.json").write_text(baseline(run))
    prompts.write_text(BASE_TEXT + BASE_TEXT[: len(BASE_TEXT) // 20])
    result = run("check", "--baseline", "base.json", "--max-increase", "10%", "--format", "json")
    assert result.exit_code == 0, result.stdout
    (row,) = json.loads(result.stdout)["check"]["rows"]
    assert row["status"] == "pass"
    assert 0 < row["delta"] < 0.1


def test_dollar_threshold_and_warn_level(run, prompts, tmp_path):
    (tmp_path / "base.json").write_text(baseline(run))
    prompts.write_text(BASE_TEXT * 2)
    warn = run(
        "check",
        "--baseline",
        "base.json",
        "--max-increase",
        "500%",
        "--warn-increase",
        "50%",
        "--format",
        "json",
    )
    assert warn.exit_code == 0
    assert json.loads(warn.stdout)["check"]["rows"][0]["status"] == "warn"
    over = run("check", "--baseline", "base.json", "--max-increase-usd", "0.01", "--format", "json")
    assert over.exit_code == 1
    cheaper = tmp_path / "prompts" / "answer.txt"
    cheaper.write_text(BASE_TEXT[:100])
    down = run("check", "--baseline", "base.json", "--format", "json")
    assert down.exit_code == 0
    assert json.loads(down.stdout)["check"]["rows"][0]["status"] == "cheaper"


def test_unknown_model_is_unestimated_not_zero(run, prompts, tmp_path):
    (tmp_path / "base.json").write_text(baseline(run, ("gpt-4o-mini", "gpt-9")))
    result = run("check", "--baseline", "base.json", "--format", "json")
    # an unestimated pair fails the gate (a mistyped model must not pass forever)...
    assert result.exit_code == 1
    rows = {r["model"]: r for r in json.loads(result.stdout)["check"]["rows"]}
    assert rows["gpt-9"]["status"] == "unestimated"
    assert rows["gpt-9"]["new_usd"] is None
    assert "gpt-9: unestimated" in result.stderr
    assert "1 prompt/model pair(s) cannot be estimated" in result.stderr
    # ...unless the team says it may
    allowed = run("check", "--baseline", "base.json", "--format", "json", "--allow-unpriced")
    assert allowed.exit_code == 0, allowed.stderr


def test_a_mistyped_model_fails_the_gate_with_the_closest_names(run, prompts, tmp_path):
    (tmp_path / "llmaudit.toml").write_text('[estimate]\nmodels = ["gpt-4o-mni"]\n')
    made = run("estimate", "prompts", "--format", "json")
    assert "gpt-4o-mni: unestimated" in made.stderr and "did you mean gpt-4o-mini" in made.stderr
    (tmp_path / "llmaudit-baseline.json").write_text(made.stdout)
    prompts.write_text(BASE_TEXT * 50)
    result = run("check", "prompts", "--markdown", "comment.md")
    assert result.exit_code == 1
    assert "did you mean gpt-4o-mini" in result.stderr
    # the PR comment says it too
    assert "unestimated (did you mean gpt-4o-mini" in (tmp_path / "comment.md").read_text()


def test_json_output_parses_on_github_actions(run, prompts, tmp_path, monkeypatch):
    (tmp_path / "base.json").write_text(baseline(run))
    prompts.write_text(BASE_TEXT * 2)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run("check", "--baseline", "base.json", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["check"]["failed"] == 1  # nothing else on stdout
    assert "::error file=prompts/answer.txt::gpt-4o-mini: cost +" in result.stderr


def test_step_summary_annotations_and_project_file(run, prompts, tmp_path, monkeypatch):
    (tmp_path / "llmaudit-baseline.json").write_text(baseline(run))
    (tmp_path / "llmaudit.toml").write_text(
        '[estimate]\nprompts = ["prompts"]\n\n[check]\nmax_increase = "10%"\n'
    )
    prompts.write_text(BASE_TEXT * 2)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = run("check", "--format", "markdown")
    assert result.exit_code == 1
    assert summary.read_text().startswith("<!-- llmaudit-check -->\n### llmaudit cost check")
    assert "::error file=prompts/answer.txt::gpt-4o-mini: cost +" in result.stderr
    assert "::error" not in result.stdout  # the PR comment holds no workflow command


def test_missing_baseline_is_a_usage_error(run, prompts):
    result = run("check", "--baseline", "nope.json")
    assert result.exit_code == 2
    assert "make one with: llmaudit estimate" in result.stderr


def _set(path: tuple, value):
    def change(base: dict) -> None:
        at = base
        for step in path[:-1]:
            at = at[step]
        if value is _GONE:
            del at[path[-1]]
        else:
            at[path[-1]] = value

    return change


_GONE = object()
_ROW = ("estimates", 0, "rows", 0)
DAMAGED = {
    "a cost as text": (
        _set((*_ROW, "cost_per_month_usd"), "abc"),
        "estimates[0].rows[0].cost_per_month_usd: must be an amount of USD, got 'abc'",
    ),
    "a cost beyond a Decimal's exponent": (
        _set((*_ROW, "cost_per_1k_calls_usd"), "1e2345678901234567890123456789"),
        "estimates[0].rows[0].cost_per_1k_calls_usd: must be an amount of USD",
    ),
    "a cost of NaN": (
        _set((*_ROW, "cost_per_call_usd"), "NaN"),
        "estimates[0].rows[0].cost_per_call_usd: must be a finite amount under $1e12, got 'NaN'",
    ),
    "a cost as a list": (
        _set((*_ROW, "cost_per_month_usd"), [1]),
        "estimates[0].rows[0].cost_per_month_usd: must be an amount of USD, got [1]",
    ),
    "no model": (
        _set((*_ROW, "model"), _GONE),
        "estimates[0].rows[0].model: must be a model's name, got None",
    ),
    "a model as a list": (
        _set((*_ROW, "model"), ["gpt-4o"]),
        "estimates[0].rows[0].model: must be a model's name, got ['gpt-4o']",
    ),
    "tokens as text": (
        _set((*_ROW, "input_tokens"), "many"),
        "estimates[0].rows[0].input_tokens: must be a count of tokens, got 'many'",
    ),
    "no file": (
        _set(("estimates", 0, "file"), _GONE),
        "estimates[0].file: must be the prompt file's name, got None",
    ),
    "rows as text": (
        _set(("estimates", 0, "rows"), "x"),
        "estimates[0].rows: must be a list, got 'x'",
    ),
    "a row that is a number": (
        _set(("estimates", 0, "rows"), [5]),
        "estimates[0].rows[0]: must be an object, got 5",
    ),
    "an estimate that is a number": (
        _set(("estimates",), [5]),
        "estimates[0]: must be an object, got 5",
    ),
    "no estimates": (
        _set(("estimates",), _GONE),
        "not an 'llmaudit estimate --format json' file (no list of estimates)",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_baseline_edited_by_hand_is_exit_3_naming_the_field(run, prompts, tmp_path, case):
    """The CI gate's baseline, damaged or edited by hand: one line naming the file and the
    field, exit 3 (each of these ended with exit 70 before)."""
    change, message = DAMAGED[case]
    base = json.loads(baseline(run))
    change(base)
    (tmp_path / "base.json").write_text(json.dumps(base))
    result = run("check", "--baseline", "base.json")
    assert result.exit_code == 3, result.stderr
    assert f"base.json: {message}" in result.stderr
    assert "internal error" not in result.stderr


def test_a_baseline_row_without_tokens_still_compares(run, prompts, tmp_path):
    """A hand-made baseline may leave out input_tokens: the costs are compared, tokens shown
    as unknown."""
    base = json.loads(baseline(run))
    del base["estimates"][0]["rows"][0]["input_tokens"]
    (tmp_path / "base.json").write_text(json.dumps(base))
    result = run("check", "--baseline", "base.json", "--format", "json")
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)["check"]["rows"]
    assert (row["status"], row["old_tokens"], row["delta_usd"]) == ("pass", None, "0")


def test_template_variables(run, tmp_path):
    (tmp_path / "t.md").write_text('Hi {{name}}, about {topic}: {{ body }}. JSON {"a": 1}')
    (tmp_path / "body.txt").write_text("a long body")
    result = run(
        "estimate",
        "t.md",
        "--var",
        "name=Dana",
        "--var",
        "body=@body.txt",
        "--model",
        "gpt-4o",
        "--format",
        "json",
    )
    e = json.loads(result.stdout)["estimates"][0]
    assert e["filled_variables"] == ["name", "body"]
    assert e["unfilled_variables"] == ["topic"]
    assert "t.md: template variables left unfilled: topic" in result.stderr


def test_usage_level_regression_from_the_ledger(run, tmp_path):
    # chat on gpt-4o: 1,000 input tokens a request the first week, 2,000 the second
    lines = []
    for day in range(1, 15):
        size = 1000 if day <= 7 else 2000
        lines.append(
            json.dumps(
                {
                    "ts": f"2026-11-{day:02d}T12:00:00Z",
                    "model": "gpt-4o",
                    "input_tokens": size * 10,
                    "output_tokens": 0,
                    "feature": "chat",
                    "requests": 10,
                }
            )
        )
    (tmp_path / "u.jsonl").write_text("\n".join(lines) + "\n")
    run("--db", "u.db", "ingest", "u.jsonl")
    result = run("--db", "u.db", "check", "--ledger", "--window", "7d", "--format", "json")
    assert result.exit_code == 1
    (row,) = json.loads(result.stdout)["check"]["rows"]
    # $2.50 per 1M input: 1000 x 2.5 / 1e6 x 1000 requests = $2.50 per 1k, then $5
    assert (row["file"], row["old_usd"], row["new_usd"], row["delta"], row["status"]) == (
        "chat",
        "2.5",
        "5",
        1.0,
        "fail",
    )
    ok = run("--db", "u.db", "check", "--ledger", "--max-increase", "150%", "--format", "json")
    assert ok.exit_code == 0


def test_estimate_csv_has_every_file_in_one_table(run, tmp_path):
    """gpt-4o, $2.50 input and $10 output per million. A plain-text prompt is one user
    message: 3 tokens of framing + "user" (1) + the text + 3 to prime the reply.
    a.txt "Hello there" (2 tokens) -> 9 input; b.txt "Hello there, world" (4) -> 11 input.
    With 10 output tokens: 9 x 2.5 + 10 x 10 = 122.5 -> $0.0001225 a call; 11 -> $0.0001275."""
    (tmp_path / "a.txt").write_text("Hello there")
    (tmp_path / "b.txt").write_text("Hello there, world")
    result = run(
        "estimate", "a.txt", "b.txt", "--model", "gpt-4o", "--output-tokens", "10",
        "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "file,model,price_id,input_tokens,exact,error_band,method,cache_read_tokens,"
        "output_tokens,cost_per_call_usd,cost_per_1k_calls_usd"
    )
    assert lines[1:] == [
        "a.txt,gpt-4o,gpt-4o@2024-10-02,9,true,0.0,o200k_base,0,10,0.0001225,0.1225",
        "b.txt,gpt-4o,gpt-4o@2024-10-02,11,true,0.0,o200k_base,0,10,0.0001275,0.1275",
    ]


def _git(cwd, *args):
    import subprocess

    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_check_against_a_base_ref_in_a_real_git_repository(run, tmp_path):
    """A base commit, then a PR commit that grows one prompt, adds one, removes one and renames
    one: `check --base-ref` compares through git, without a baseline file or a checkout."""
    policy = "Policy: refunds within 30 days; exchanges within 60 days.\n" * 20
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "answer.txt").write_text("Answer using the policy below.\n" + policy)
    (tmp_path / "prompts" / "summarise.md").write_text("Summarise the thread in 3 bullets.\n")
    (tmp_path / "prompts" / "old.txt").write_text("Classify the ticket.\n")
    (tmp_path / "llmaudit.toml").write_text(
        '[estimate]\nmodels = ["gpt-4o-mini"]\nprompts = ["prompts"]\nrequests = 10000\n'
        'per = "day"\n[check]\nmax_increase = "10%"\n'
    )
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    base = json.loads(run("estimate", "prompts", "--format", "json").stdout)
    before = {e["file"]: e["rows"][0] for e in base["estimates"]}
    _git(tmp_path, "checkout", "-q", "-b", "pr")
    _git(tmp_path, "mv", "prompts/summarise.md", "prompts/summary.md")
    _git(tmp_path, "rm", "-q", "prompts/old.txt")
    grown = (
        (tmp_path / "prompts" / "answer.txt").read_text() + "Context:\n" + "Order shipped.\n" * 40
    )
    (tmp_path / "prompts" / "answer.txt").write_text(grown)
    (tmp_path / "prompts" / "new.txt").write_text("Write a polite apology.\n")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "pr")
    after = json.loads(run("estimate", "prompts", "--format", "json").stdout)
    now = {e["file"]: e["rows"][0] for e in after["estimates"]}

    res = run("check", "--base-ref", "main", "--format", "json")
    assert res.exit_code == 1, res.stderr
    rows = {r["file"]: r for r in json.loads(res.stdout)["check"]["rows"]}
    answer = rows["prompts/answer.txt"]
    assert answer["status"] == "fail"
    # the same figures as estimating each version on its own
    assert answer["old_tokens"] == before["prompts/answer.txt"]["input_tokens"]
    assert answer["new_tokens"] == now["prompts/answer.txt"]["input_tokens"]
    assert answer["old_tokens"] < answer["new_tokens"]
    assert rows["prompts/new.txt"]["status"] == "new"
    assert rows["prompts/old.txt"]["status"] == "removed"
    assert rows["prompts/summary.md"]["status"] == "pass"
    assert rows["prompts/summary.md"]["renamed_from"] == "prompts/summarise.md"
    # the working tree was not touched
    assert (tmp_path / "prompts" / "answer.txt").read_text() == grown
    missing = run("check", "--base-ref", "nope")
    assert missing.exit_code == 2
    assert "--base-ref: 'nope' is not a commit in this clone" in missing.stderr


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[estimate]\nmodel = ["gpt-4o"]\n',
            "estimate.model: unknown key; did you mean 'estimate.models'?",
        ),
        ("[chek]\nmax_increase = '10%'\n", "chek: unknown key; did you mean 'check'?"),
        ("[check]\nmax_increse = '10%'\n", "check.max_increse: unknown key; did you mean"),
        (
            '[estimate]\nprompts = "prompts"\n',
            "estimate.prompts: must be a list of files or folders",
        ),
        ("[check]\nmax_increase = true\n", "check.max_increase: must be a percentage or an amount"),
    ],
)
def test_llmaudit_toml_is_validated_strictly(run, prompts, tmp_path, toml, message):
    (tmp_path / "llmaudit.toml").write_text(toml)
    res = run("estimate", "prompts")
    assert res.exit_code == 3, res.stderr
    assert f"llmaudit.toml: {message}" in res.stderr
