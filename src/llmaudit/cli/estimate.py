"""``llmaudit estimate`` and ``llmaudit check``: what a prompt costs before it ships."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from llmaudit.cli.app import App
from llmaudit.cli.options import format_option
from llmaudit.errors import ConfigError, Findings, UsageError
from llmaudit.estimate.tokens import exact_settings
from llmaudit.render import Format
from llmaudit.render.estimate import (
    check_markdown,
    check_table,
    estimate_csv,
    estimate_tables,
    github_annotations,
)

PROJECT_FILE = "llmaudit.toml"


def _project(path: str | None) -> dict[str, Any]:
    """The project config (``llmaudit.toml`` in the current directory, or --project)."""
    from llmaudit.config import load_config

    file = Path(path) if path else Path(PROJECT_FILE)
    if path and not file.exists():
        raise UsageError(f"--project: {path}: no such file")
    project = load_config(file) if file.exists() else {}
    _check_project(project, file.name)
    return project


PROJECT_KEYS = {
    "estimate": ("models", "output_tokens", "cache_hit", "requests", "per", "prompts", "vars"),
    "check": ("max_increase", "max_increase_usd", "warn_increase", "warn_increase_usd", "baseline"),
}


def _check_project(project: dict[str, Any], name: str) -> None:
    """llmaudit.toml strictly: a misspelt key would otherwise be a setting silently not set."""
    import difflib

    def unknown(key: str, known: tuple[str, ...] | list[str]) -> ConfigError:
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
        return ConfigError(f"{name}: {key}: unknown key{hint}")

    for section, value in project.items():
        if section not in PROJECT_KEYS:
            raise unknown(section, list(PROJECT_KEYS))
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: [{section}] must be a table")
        for key, item in value.items():
            if key not in PROJECT_KEYS[section]:
                raise unknown(f"{section}.{key}", [f"{section}.{k}" for k in PROJECT_KEYS[section]])
            where = f"{name}: {section}.{key}"
            if key == "prompts" and (
                not isinstance(item, list) or not all(isinstance(p, str) for p in item)
            ):
                raise ConfigError(f"{where}: must be a list of files or folders")
            if key == "vars" and (
                not isinstance(item, dict)
                or not all(isinstance(v, (str, int, float)) for v in item.values())
            ):
                raise ConfigError(f"{where}: must be a table of NAME = value")
            if key == "baseline" and not isinstance(item, str):
                raise ConfigError(f"{where}: must be a file path")
            if (
                section == "check"
                and key != "baseline"
                and (isinstance(item, bool) or not isinstance(item, (str, int, float)))
            ):
                raise ConfigError(f'{where}: must be a percentage or an amount, such as "10%"')


def _section(project: dict[str, Any], name: str) -> dict[str, Any]:
    value = project.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{PROJECT_FILE}: [{name}] must be a table")
    return value


def _settings(app: App, project: dict, models, output_tokens, cache_hit, requests, per, feature):
    from llmaudit.estimate.estimate import DEFAULT_MODELS, Settings, checked_setting

    conf = _section(project, "estimate")

    def get(name: str) -> Any:
        return checked_setting(name, conf.get(name), "llmaudit.toml: [estimate]")

    chosen = tuple(models) or get("models") or DEFAULT_MODELS
    out = output_tokens if output_tokens is not None else get("output_tokens")
    if out is None and feature:
        out = _median_output(app, feature, chosen)
    hit = cache_hit if cache_hit is not None else (get("cache_hit") or 0.0)
    if not 0 <= float(hit) <= 1:
        raise UsageError("--cache-hit: a share between 0 and 1, such as 0.6")
    return Settings(
        models=chosen,
        output_tokens=int(out or 0),
        cache_hit=float(hit),
        requests=requests if requests is not None else get("requests"),
        per=per or get("per") or "month",
    )


def _median_output(app: App, feature: str, models: tuple[str, ...]) -> int:
    """The median output tokens a request of FEATURE over the last 30 days of the ledger."""
    with app.open_ledger(create=False) as ledger:
        rows = ledger.outputs_per_request(feature, days=30)
    if not rows:
        raise UsageError(
            f"--feature: no requests of feature {feature!r} in the ledger",
            hint="pass --output-tokens N instead",
        )
    return int(rows[len(rows) // 2])


def run_estimates(app: App, files: list[str], variables: dict[str, str], settings) -> dict:
    from llmaudit.estimate import prompts
    from llmaudit.estimate.estimate import estimate

    table = app.price_table
    results = [estimate(prompts.load(p, variables), table, settings) for p in prompts.find(files)]
    return {"settings": settings.as_dict(), "estimates": results}


var_option = click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Fill a template variable ({{name}} or {name}); NAME=@FILE reads a file.",
)
project_option = click.option(
    "--project", metavar="FILE", help=f"Project config (default ./{PROJECT_FILE})."
)


@click.command()
@click.argument("files", nargs=-1)
@click.option("--model", "models", multiple=True, help="Price on this model (repeatable).")
@click.option(
    "--output-tokens",
    type=click.IntRange(min=0),
    help="Output tokens a call (default 0, or the median of --feature in the ledger).",
)
@click.option("--feature", help="Take output tokens from this feature's recent history.")
@click.option("--cache-hit", type=float, help="Share of the prompt served from cache (0-1).")
@click.option("--requests", type=click.IntRange(min=1), help="Volume: calls a --per period.")
@click.option("--per", type=click.Choice(["day", "month"]), help="The period of --requests.")
@var_option
@project_option
@click.option(
    "--exact",
    is_flag=True,
    help="Count Anthropic and Gemini models with the provider's count-tokens endpoint "
    "(needs ANTHROPIC_API_KEY and/or GEMINI_API_KEY; the only option here that uses the "
    "network).",
)
@format_option
@click.pass_obj
def estimate(
    app: App,
    files,
    models,
    output_tokens,
    feature,
    cache_hit,
    requests,
    per,
    variables,
    project,
    exact,
    fmt: Format | None,
) -> None:
    """Tokens and cost of prompt FILES (text, Markdown, chat JSON, directories), per call, per
    1,000 calls and per period, on each model. Offline: OpenAI counts are exact (tiktoken with
    bundled encodings), other providers' are estimates shown with their error band.

    Save a baseline for 'llmaudit check' with: llmaudit estimate ... --format json > FILE
    """
    from llmaudit.estimate.prompts import parse_vars

    proj = _project(project)
    conf = _section(proj, "estimate")
    files = list(files) or list(conf.get("prompts", []))
    if not files:
        raise UsageError(
            f"no prompt files given (or list them under [estimate] prompts in {PROJECT_FILE})"
        )
    settings = _settings(app, proj, models, output_tokens, cache_hit, requests, per, feature)
    if exact:
        settings.exact = exact_settings(app.debug)
    data = run_estimates(app, files, {**conf.get("vars", {}), **parse_vars(variables)}, settings)
    app.emit(fmt, estimate_tables(data), data, csv_table=estimate_csv(data))
    for e in data["estimates"]:
        if e["unfilled_variables"]:
            app.warn(
                f"{e['file']}: template variables left unfilled: "
                f"{', '.join(e['unfilled_variables'])} (fill with --var NAME=VALUE)"
            )
        for r in e["rows"]:
            if not r["priced"]:
                app.warn(f"{e['file']}: {r['model']}: unestimated ({r['note']}){_closest(app, r)}")


@click.command()
@click.argument("files", nargs=-1)
@click.option("--baseline", metavar="FILE", help="Baseline from 'estimate --format json'.")
@click.option("--max-increase", metavar="PCT", help="Fail above this increase, e.g. 10%.")
@click.option(
    "--max-increase-usd",
    metavar="USD",
    help="Fail above this increase in $ a month (at the stated volume).",
)
@click.option("--warn-increase", metavar="PCT", help="Warn above this increase.")
@click.option("--warn-increase-usd", metavar="USD", help="Warn above this $ increase a month.")
@var_option
@project_option
@click.option(
    "--ledger",
    "from_ledger",
    is_flag=True,
    help="Compare real usage instead: cost per 1k requests per feature and model in "
    "the last --window against the window before.",
)
@click.option(
    "--window", default="7d", show_default=True, metavar="Nd", help="--ledger: the window, in days."
)
@click.option(
    "--base-ref",
    metavar="REF",
    help="Compare with the same prompt files as they are at this git ref (a base branch, a "
    "tag), read through git: no baseline file needed. Added, removed and renamed prompts are "
    "shown as such.",
)
@click.option(
    "--markdown",
    "markdown_file",
    metavar="FILE",
    help="Also write the PR comment's Markdown to FILE, whatever --format prints.",
)
@click.option(
    "--allow-unpriced",
    is_flag=True,
    help="Pass although a model or prompt cannot be estimated (by default that fails the gate: "
    "a mistyped model name must not pass forever).",
)
@format_option
@click.pass_obj
def check(
    app: App,
    files,
    baseline,
    max_increase,
    max_increase_usd,
    warn_increase,
    warn_increase_usd,
    variables,
    project,
    from_ledger,
    window,
    base_ref: str | None,
    markdown_file: str | None,
    allow_unpriced: bool,
    fmt: Format | None,
) -> None:
    """The CI cost gate: re-estimate the prompts and compare with a baseline.

    Exit 0 when every prompt is within the thresholds, 1 when one is over (findings), 2 or 3
    for usage and data errors. Settings and thresholds may live in ./llmaudit.toml, so the CI
    step is just 'llmaudit check'. A model or prompt that cannot be estimated (an unknown
    model, named with the closest known ones) fails the gate unless --allow-unpriced.
    GitHub annotations go to stderr, so a data format on stdout always parses.
    """
    from llmaudit.estimate.check import compare, limits_from, load_baseline, usage_regression
    from llmaudit.estimate.prompts import parse_vars

    proj = _project(project)
    conf, est = _section(proj, "check"), _section(proj, "estimate")
    limits = limits_from(
        conf,
        max_increase=max_increase,
        max_increase_usd=max_increase_usd,
        warn_increase=warn_increase,
        warn_increase_usd=warn_increase_usd,
    )
    if from_ledger:
        from llmaudit.model.timespec import parse_span

        bare = window.strip().isdigit()  # "7" has always meant 7 days here
        days = parse_span(window + "d" if bare else window, option="--window", units="d").days
        with app.open_ledger(create=False) as ledger:
            result = usage_regression(ledger, app.price_table, days, limits)
        _report_check(app, result, limits, fmt, allow_unpriced, markdown_file)
        return
    if base_ref:
        values = {**est.get("vars", {}), **parse_vars(variables)}
        old, new = _against_ref(app, proj, base_ref, list(files) or est.get("prompts", []), values)
        _report_check(app, compare(old, new, limits), limits, fmt, allow_unpriced, markdown_file)
        return
    base, settings = load_baseline(
        Path(baseline or conf.get("baseline") or "llmaudit-baseline.json"), est.get("models")
    )
    files = (
        list(files)
        or list(est.get("prompts", []))
        or sorted({e["file"] for e in base.get("estimates", [])})
    )
    current = run_estimates(app, files, {**est.get("vars", {}), **parse_vars(variables)}, settings)
    _report_check(app, compare(base, current, limits), limits, fmt, allow_unpriced, markdown_file)


def _against_ref(
    app: App, project: dict, ref: str, files: list[str], variables: dict[str, str]
) -> tuple[dict, dict]:
    """(the estimates of the prompt files at REF, today's), the same settings for both."""
    import tempfile

    from llmaudit.estimate.gitref import snapshot

    if not files:
        raise UsageError(
            "--base-ref: name the prompt files, or list them in llmaudit.toml "
            '([estimate] prompts = ["prompts/"])'
        )
    settings = _settings(app, project, (), None, None, None, None, None)
    current = run_estimates(app, [str(f) for f in files if Path(f).exists()], variables, settings)
    with tempfile.TemporaryDirectory() as tmp:
        snap = snapshot(ref, [str(f) for f in files], Path(tmp))
        old = run_estimates(app, [str(Path(tmp) / f) for f in snap.files], variables, settings)
    at_ref = {path: new for new, path in snap.renamed.items()}
    for e in old["estimates"]:
        name = str(Path(e["file"]).relative_to(tmp))
        e["file"] = at_ref.get(name, name)  # a renamed prompt compares with its old self
    for e in current["estimates"]:
        if e["file"] in snap.renamed:
            for row in e["rows"]:
                row["renamed_from"] = snap.renamed[e["file"]]
    return old, current


def _report_check(
    app: App,
    result: dict,
    limits,
    fmt: Format | None,
    allow_unpriced: bool = False,
    markdown_file: str | None = None,
) -> None:
    """Print the result (table, JSON or Markdown), write the CI extras, exit 1 on a breach."""
    limits_text = ", ".join(
        f"{name} {value}"
        for name, value in (
            ("max", f"{limits.max_increase * 100:g}%" if limits.max_increase is not None else None),
            ("max $", limits.max_increase_usd),
            (
                "warn",
                f"{limits.warn_increase * 100:g}%" if limits.warn_increase is not None else None,
            ),
        )
        if value is not None
    )
    for r in result["rows"]:  # what a person reads: a renamed prompt says so
        was = r.get("renamed_from")
        r["prompt"] = f"{r['file']} (renamed from {was})" if was else r["file"]
        if r["status"] == "unestimated":
            r["suggestion"] = _closest(app, r).removeprefix("; ") or None
    markdown = check_markdown(result, limits_text)
    if markdown_file:
        try:
            Path(markdown_file).write_text(markdown + "\n", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--markdown: cannot write {markdown_file}: {exc.strerror}") from None
    chosen = fmt or app.default_format()
    if chosen is Format.MARKDOWN:
        sys.stdout.write(markdown + "\n")
    else:
        app.emit(chosen, [check_table(result["rows"])], {"check": result})
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # stderr: the runner reads workflow commands there too, and stdout stays data
        sys.stderr.writelines(line + "\n" for line in github_annotations(result["rows"]))
    for r in result["rows"]:
        if r["status"] == "unestimated":
            app.warn(f"{r['file']}: {r['model']}: unestimated ({r.get('note')}){_closest(app, r)}")
    if not result["passed"]:
        raise Findings(
            f"cost check failed: {result['failed']} prompt/model pair(s) over "
            f"the limit ({limits_text})"
        )
    if result["unestimated"] and not allow_unpriced:
        raise Findings(
            f"cost check failed: {result['unestimated']} prompt/model pair(s) cannot be "
            "estimated (fix the model name, add its price, or pass --allow-unpriced)"
        )


def _closest(app: App, row: dict) -> str:
    from llmaudit.pricing.match import match, suggest

    model = row.get("model") or ""
    if not model or match(app.price_table, model) is not None:
        return ""
    close = suggest(app.price_table, model)
    return f"; did you mean {', '.join(close)}?" if close else ""


@click.group()
def comment() -> None:
    """Post the cost check as one pull-request comment, updated on every run."""


def _comment_options(fn):
    fn = click.option(
        "--behavior",
        type=click.Choice(["update", "new", "delete-and-new"]),
        default="update",
        show_default=True,
        help="update: edit llmaudit's comment in place (or create it); new: always add one; "
        "delete-and-new: delete llmaudit's comments, then add one.",
    )(fn)
    fn = click.option("--pr", "number", type=click.IntRange(min=1), help="The PR / MR number.")(fn)
    return click.argument("body", type=click.File("r", encoding="utf-8"))(fn)


def _posted(app: App, posted) -> None:
    app.info(f"comment {posted.action}" + (f": {posted.url}" if posted.url else ""))
    if posted.url:
        sys.stdout.write(posted.url + "\n")
    output = os.environ.get("GITHUB_OUTPUT")
    if output and posted.url:
        with open(output, "a", encoding="utf-8") as fh:
            fh.write(f"comment_url={posted.url}\n")


@comment.command("github")
@_comment_options
@click.option("--repo", metavar="OWNER/NAME", help="Default: GITHUB_REPOSITORY.")
@click.pass_obj
def comment_github(app: App, body, number, behavior, repo) -> None:
    """Create or update the comment on a GitHub pull request (GITHUB_TOKEN; GITHUB_API_URL for
    GitHub Enterprise). BODY is the Markdown of 'llmaudit check --format markdown' (- for
    stdin); the comment is found again by its hidden marker."""
    from llmaudit.estimate.comment import github

    _posted(app, github(body.read(), repo=repo, number=number, behavior=behavior, debug=app.debug))


@comment.command("gitlab")
@_comment_options
@click.option("--project", metavar="ID", help="Default: CI_PROJECT_ID.")
@click.pass_obj
def comment_gitlab(app: App, body, number, behavior, project) -> None:
    """Create or update the note on a GitLab merge request (GITLAB_TOKEN with api scope, or
    CI_JOB_TOKEN; CI_API_V4_URL for self-managed GitLab)."""
    from llmaudit.estimate.comment import gitlab

    _posted(
        app,
        gitlab(body.read(), project=project, number=number, behavior=behavior, debug=app.debug),
    )
