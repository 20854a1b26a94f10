"""The package's import graph: no cycle (module-level and function-level imports alike), and the
lower floors never import the upper ones (experiments, the notebook layer, the quick-start)."""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import mvkit

ROOT = Path(mvkit.__file__).parent
LOWER = ("analysis", "viz", "models", "losses", "metrics", "data", "features")
UPPER = ("mvkit.experiments", "mvkit.notebook", "mvkit.quickstart", "mvkit.demo")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ModuleNotFoundError, ValueError):
        return False


def import_graph() -> dict[str, set[str]]:
    """``{module: {mvkit modules it imports anywhere in its body}}`` (parent packages implied
    by a dotted import are not edges: importing ``a.b.c`` runs ``a.b``, but depends on ``c``)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        name = _module_name(path)
        pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("mvkit")}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
                if not base.startswith("mvkit"):
                    continue
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    deps.add(sub if _is_module(sub) else base)
        deps.discard(name)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_inside_mvkit():
    assert _cycles(import_graph()) == []


def test_lower_floors_never_import_experiments_the_notebook_layer_or_the_quickstart():
    bad = {m: sorted(d for d in deps if d.startswith(UPPER))
           for m, deps in import_graph().items() if m.split(".")[1:2] and m.split(".")[1] in LOWER}
    assert {m: d for m, d in bad.items() if d} == {}


def test_the_checker_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
