"""What ``estimate`` and ``check`` show: estimate tables, the check table, the PR comment in
Markdown and GitHub's workflow annotations."""

from __future__ import annotations

from typing import Any

from llmaudit.estimate.check import MARKER
from llmaudit.model.money import usd
from llmaudit.render import Column, Table


def _tokens_cell(row: dict) -> str:
    if row["exact"]:
        return f"{row['input_tokens']:,}"
    return f"~{row['input_tokens']:,} ±{row['error_band'] * 100:.0f}%"


def estimate_tables(data: dict[str, Any]) -> list[Table]:
    per = data["settings"]["per"]
    volume = data["settings"]["requests"]
    out = []
    for e in data["estimates"]:
        cols = [
            Column("model", "model"),
            Column("input tokens", "tokens", "right"),
            Column(
                "$/call",
                "cost_per_call_usd",
                "right",
                lambda v: "unpriced" if v is None else usd(v),
                fmt_none=True,
            ),
            Column("$/1k calls", "cost_per_1k_calls_usd", "right", usd, 2),
        ]
        if volume:
            cols.append(
                Column(f"$/{per} ({volume:,}/{per})", "cost_per_period_usd", "right", usd, 1)
            )
        notes = [f"{data['settings']['output_tokens']:,} output tokens a call"]
        if e["unfilled_variables"]:
            notes.append(f"unfilled: {', '.join(e['unfilled_variables'])}")
        title = f"{e['file']} ({'; '.join(notes)})"
        rows = [{**r, "tokens": _tokens_cell(r)} for r in e["rows"]]
        out.append(Table(title, cols, rows))
    return out


def estimate_csv(data: dict) -> Table:
    """Every file's rows in one table of raw values (CSV has one header row)."""
    keys = [
        "file",
        "model",
        "price_id",
        "input_tokens",
        "exact",
        "error_band",
        "method",
        "cache_read_tokens",
        "output_tokens",
        "cost_per_call_usd",
        "cost_per_1k_calls_usd",
    ]
    if data["settings"]["requests"]:
        keys += ["cost_per_period_usd", "cost_per_month_usd"]
    rows = [{"file": e["file"], **r} for e in data["estimates"] for r in e["rows"]]
    return Table(None, [Column(k, k) for k in keys], rows)


def _pct(v) -> str:
    return "-" if v is None else f"{v * 100:+.1f}%"


def check_markdown(result: dict, limits_text: str) -> str:
    """A PR comment; the hidden marker lets a bot find and update its own comment."""
    lines = [MARKER, "### llmaudit cost check", ""]
    verdict = "failed" if not result["passed"] else "passed"
    lines.append(
        f"**{verdict}**: {result['failed']} over the limit, {result['warned']} "
        f"warning(s), {result['unestimated']} unestimated ({limits_text})"
    )
    total = result.get("total")
    if total and (total["old_usd"] or total["new_usd"]):
        lines.append("")
        lines.append(
            f"Total: {usd(total['old_usd'])} -> {usd(total['new_usd'])} a {total['basis']} "
            f"({'+' if total['increase_usd'] >= 0 else '-'}{usd(abs(total['increase_usd']))}, "
            f"{_pct(total['increase'])})"
        )
    changed = _what_changed(result["rows"])
    if changed:
        lines += ["", "What changed:", *changed]
    lines.append("")
    lines.append("| prompt | model | tokens | $ a call | $ a period | change | status |")
    lines.append("|---|---|---:|---:|---:|---:|---|")
    for r in result["rows"]:
        cells = [
            r.get("prompt") or r["file"],
            r["model"],
            _arrow(r.get("old_tokens"), r.get("new_tokens"), lambda v: f"{v:,}"),
            _arrow(r.get("old_per_call_usd"), r.get("new_per_call_usd"), usd),
            _arrow(r["old_usd"], r["new_usd"], usd)
            + (f" a {r['basis']}" if r.get("basis") else ""),
            _pct(r["delta"]),
            r["status"] + (f" ({r['suggestion']})" if r.get("suggestion") else ""),
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _arrow(old, new, show) -> str:
    if old is None and new is None:
        return "-"
    if old is None:
        return f"new: {show(new)}"
    if new is None:
        return f"was {show(old)}"
    return show(new) if old == new else f"{show(old)} -> {show(new)}"


def _what_changed(rows: list[dict]) -> list[str]:
    """One line a prompt, in words: "prompts/summarise.md: +2,140 tokens (+38%)"."""
    out: dict[str, str] = {}
    for r in rows:
        name = r["file"]
        if name in out:
            continue
        old, new = r.get("old_tokens"), r.get("new_tokens")
        if r["status"] == "new":
            out[name] = f"- {name}: added ({new:,} tokens)" if new else f"- {name}: added"
        elif r["status"] == "removed":
            out[name] = f"- {name}: removed"
        elif old is not None and new is not None and old != new:
            share = f" ({(new - old) / old * 100:+.0f}%)" if old else ""
            out[name] = f"- {name}: {new - old:+,} tokens{share}"
        if r.get("renamed_from"):
            out[name] = (
                out.get(name, f"- {name}: unchanged") + f", renamed from {r['renamed_from']}"
            )
    return list(out.values())


def check_table(rows: list[dict[str, Any]]) -> Table:
    return Table(
        "Cost check",
        [
            Column("prompt", "prompt"),
            Column("model", "model"),
            Column("old", "old_usd", "right", usd),
            Column("new", "new_usd", "right", usd),
            Column("delta", "delta_usd", "right", usd, 2),
            Column("%", "delta", "right", _pct),
            Column("status", "status"),
        ],
        rows,
    )


def github_annotations(rows: list[dict[str, Any]]) -> list[str]:
    """GitHub workflow commands (``::error file=...::``) for each failed or warned row."""
    out = []
    for r in rows:
        if r["status"] in ("fail", "warn"):
            level = "error" if r["status"] == "fail" else "warning"
            out.append(
                f"::{level} file={r['file']}::{r['model']}: cost "
                f"{_pct(r['delta'])} ({usd(r['delta_usd'])} a {r['basis']})"
            )
    return out
