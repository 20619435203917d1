"""The GitHub Action (action.yml): its inputs, outputs and steps refer to what exists, and its
check step, run as the runner would run it, gives the outputs the workflow reads."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from llmaudit.cli.main import cli

ROOT = Path(__file__).parent.parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def _options(*path: str) -> set[str]:
    import click

    command = cli
    for name in path:  # the group's own lookup: its commands load when asked for
        command = command.get_command(click.Context(command), name)
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def _runs() -> str:
    return "\n".join(step.get("run", "") for step in ACTION["runs"]["steps"])


def _expressions(text: str) -> set[str]:
    """The inputs named inside the ${{ }} expressions of a text."""
    names: set[str] = set()
    for expression in re.findall(r"\$\{\{(.*?)\}\}", text):
        names.update(re.findall(r"inputs\.([\w-]+)", expression))
    return names


def test_every_input_is_declared_and_used():
    text = (ROOT / "action.yml").read_text()
    declared = set(ACTION["inputs"])
    used = _expressions(text)
    assert used <= declared, used - declared
    assert declared <= used, declared - used  # no input that does nothing
    for name, spec in ACTION["inputs"].items():
        assert spec["description"], name


def test_outputs_come_from_steps_that_write_them():
    steps = {s.get("id"): s for s in ACTION["runs"]["steps"] if s.get("id")}
    assert set(ACTION["outputs"]) == {"status", "increase_usd", "increase_pct", "comment_url"}
    for name, spec in ACTION["outputs"].items():
        step_id, output = re.fullmatch(
            r"\$\{\{ steps\.([\w-]+)\.outputs\.(\w+) \}\}", spec["value"]
        ).groups()
        assert step_id in steps, name
        run = steps[step_id]["run"]
        # written by the step's script, or by `llmaudit comment` (comment_url to GITHUB_OUTPUT)
        assert f"{output}=" in run or ("llmaudit comment github" in run and output == "comment_url")


def test_the_steps_use_real_options_and_install_from_the_action():
    runs = _runs()
    assert 'pip install --quiet "${{ github.action_path }}"' in runs
    assert "pip install llmaudit" not in runs
    check = _options("check")
    comment = _options("comment", "github")
    for opt in set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", runs)):
        if opt in ("--quiet", "--depth"):  # pip's and git's own
            continue
        assert opt in check | comment, opt


def test_the_docs_use_the_actions_real_inputs():
    docs = (ROOT / "docs" / "ci.md").read_text()
    block = docs[docs.index("uses: OWNER/llmaudit@") :]
    with_keys = re.findall(r"^\s{10}([\w-]+):", block.split("```")[0], re.M)
    assert with_keys and set(with_keys) <= set(ACTION["inputs"])
    for output in re.findall(r"steps\.cost\.outputs\.(\w+)", docs):
        assert output in ACTION["outputs"]


def _git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_the_check_step_runs_as_on_a_runner(tmp_path):
    """The check step's script in a pull-request checkout whose origin has the base branch:
    it fetches the base, compares, writes the comment's Markdown and the step's outputs."""
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    work.mkdir()
    (work / "prompts").mkdir()
    (work / "prompts" / "answer.txt").write_text("Answer with the policy.\n" + "Rule.\n" * 50)
    (work / "llmaudit.toml").write_text(
        '[estimate]\nmodels = ["gpt-4o-mini"]\nrequests = 1000\nper = "day"\n'
    )
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "base")
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(origin))
    _git(work, "remote", "add", "origin", str(origin))
    _git(work, "checkout", "-q", "-b", "feature")
    (work / "prompts" / "answer.txt").write_text("Answer with the policy.\n" + "Rule.\n" * 100)
    _git(work, "commit", "-qam", "grow")

    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "check")
    output, temp = tmp_path / "github_output", tmp_path / "runner_temp"
    temp.mkdir()
    inputs = {
        "prompts": "prompts",
        "base-ref": "main",
        "baseline": "",
        "max-increase": "10%",
        "max-increase-usd": "",
        "warn-increase": "",
        "warn-increase-usd": "",
        "allow-unpriced": "false",
    }
    env = {
        **os.environ,
        "GITHUB_OUTPUT": str(output),
        "RUNNER_TEMP": str(temp),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    for key, value in step["env"].items():
        name = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", value).group(1)
        env[key] = inputs[name]
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "LLMAUDIT_DB"):
        env.pop(name, None)
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr  # the step records the exit; the last step fails
    got = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert got["exit_code"] == "1" and got["status"] == "failed"
    assert float(got["increase_pct"]) > 10
    assert float(got["increase_usd"]) > 0
    comment = (temp / "llmaudit-check.md").read_text()
    assert comment.startswith("<!-- llmaudit-check -->")
    assert "- prompts/answer.txt: +" in comment
