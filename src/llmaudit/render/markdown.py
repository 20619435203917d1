from __future__ import annotations

from llmaudit.render import Table


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def render_markdown(tables: list[Table]) -> str:
    parts: list[str] = []
    for table in tables:
        lines = []
        columns = [c for c in table.columns if c.screen]
        if table.title:
            lines.append(f"### {_cell(table.title)}\n")
        lines.append("| " + " | ".join(_cell(c.header) for c in columns) + " |")
        lines.append("|" + "|".join("---:" if c.align == "right" else "---" for c in columns) + "|")
        for row in table.rows:
            lines.append("| " + " | ".join(_cell(c.show(row.get(c.key))) for c in columns) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
