"""The house rules of docs/architecture.md, enforced: layers, no cycles, SQL only in ledger/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "llmaudit"

# Lowest first. A module may import its own group and any lower layer; within a layer, only
# the pairs in PEERS. docs/architecture.md draws the same picture.
LAYERS: list[set[str]] = [
    {"model", "errors", "constants", "__init__"},  # the domain
    {"http", "cache"},  # the one HTTP client; built things kept in the user's cache folder
    {"ledger", "pricing"},
    {"sources", "analysis", "estimate"},
    {"render"},
    {"cli", "config", "__main__"},
]
PEERS = {
    ("estimate", "analysis"),  # the CI gate's usage check prices ledger groups
    ("__main__", "cli"),
    ("cli", "config"),
    ("model", "errors"),
    ("model", "constants"),
}
# The one place outside ledger/ that opens a SQLite file: the `llm` tool's own logs.db,
# read as an input like any log file (never the ledger).
FOREIGN_SQLITE = {"llmaudit.sources.llm_db"}
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|WITH)\s", re.M)


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer(module: str) -> int:
    g = group(module)
    for i, names in enumerate(LAYERS):
        if g in names:
            return i
    raise AssertionError(f"{module}: in no layer; add its group to LAYERS and the docs")


def imports(
    module: str, path: Path, *, top_level_only: bool = False, source: str | None = None
) -> list[tuple[str, int, str]]:
    """(imported llmaudit module, line, the name imported) for each import in a module."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    known = modules()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [
                (a.name, node.lineno, "") for a in node.names if a.name.startswith("llmaudit")
            ]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if not base.startswith("llmaudit"):
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((sub if sub in known else base, node.lineno, a.name))
    return found


def test_every_module_has_a_layer():
    for name in modules():
        layer(name)


def layer_violations(extra: dict[str, str] | None = None) -> list[str]:
    """Imports against the layers; ``extra`` adds modules (name -> source) to check."""
    wrong = []
    found = {name: (path, None) for name, path in modules().items()}
    for name, text in (extra or {}).items():
        found[name] = (PACKAGE / (name.split(".", 1)[1].replace(".", "/") + ".py"), text)
    for name, (path, text) in found.items():
        for target, line, _ in imports(name, path, source=text):
            mine, theirs = group(name), group(target)
            if mine == theirs or layer(target) < layer(name):
                continue
            if layer(target) == layer(name) and (mine, theirs) in PEERS:
                continue
            wrong.append(f"{path.relative_to(SRC)}:{line}: {name} imports {target}")
    return wrong


def test_no_import_runs_against_the_layers():
    assert layer_violations() == []


def test_no_private_name_crosses_a_package():
    wrong = []
    for name, path in modules().items():
        for target, line, imported in imports(name, path):
            private = imported.startswith("_") and not imported.startswith("__")
            if group(name) != group(target) and private:
                wrong.append(f"{path.relative_to(SRC)}:{line}: {imported} from {target}")
    assert wrong == []


def test_no_import_cycle():
    """Module-level imports form no cycle (a cycle holds only by import order)."""
    known = modules()
    graph = {
        name: {
            t for t, _, _ in imports(name, path, top_level_only=True) if t in known and t != name
        }
        for name, path in known.items()
    }
    # a package imports its parent packages' __init__ on the way: those edges count too
    for name in known:
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            if parent in known and parent != name:
                graph[name].add(parent)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == [], cycles


def test_sql_lives_in_the_ledger():
    wrong = []
    for name, path in modules().items():
        if group(name) == "ledger":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if "sqlite3" in names and name not in FOREIGN_SQLITE:
                    wrong.append(f"{path.relative_to(SRC)}:{node.lineno}: imports sqlite3")
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and SQL.search(text) and name not in FOREIGN_SQLITE:
                wrong.append(f"{path.relative_to(SRC)}:{node.lineno}: {text[:40]!r}")
            if isinstance(node, ast.Attribute) and node.attr == "conn":
                wrong.append(f"{path.relative_to(SRC)}:{node.lineno}: uses a ledger connection")
    assert wrong == []


@pytest.mark.parametrize("library", ["click", "rich"])
def test_core_never_imports_the_terminal_libraries(library):
    wrong = []
    for name, path in modules().items():
        if group(name) in ("cli", "render", "__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n == library or n.startswith(library + ".") for n in names):
                wrong.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert wrong == []


def test_the_checker_sees_a_violation():
    """The layer check itself can fail: a model module importing the ledger is caught."""
    probe = {"llmaudit.model.probe": "from llmaudit.ledger.store import Ledger\n"}
    assert any("llmaudit.model.probe imports" in v for v in layer_violations(probe))


def test_the_architecture_page_names_every_group_and_query():
    """docs/architecture.md stays true: every group of the layers and every operation of the
    query API is on it."""
    import inspect

    from llmaudit.ledger.api import Queries

    page = (SRC.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    groups = {g for layer in LAYERS for g in layer} - {"__init__", "__main__"}
    missing = [g for g in sorted(groups) if f"`{g}" not in page]
    operations = [n for n, _ in inspect.getmembers(Queries, inspect.isfunction) if n[0] != "_"]
    missing += [f"Queries.{n}" for n in operations if f"`{n}`" not in page]
    assert missing == []
