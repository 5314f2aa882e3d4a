"""The package layout follows the data flow (docs/architecture.md): a module imports only from
its own folder or from folders below it, and no two modules import each other, directly or in
a circle. Imports inside functions count too: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rlviz"
# lowest first; a folder may import from itself and from any folder listed before it
FLOW = ["util", "play", "agents", "explain", "assess", "present"]
TOP = {"__init__", "cli", "bench"}  # wiring at the top: they may import anything
SIDE = {"train": 3}  # train sits beside explain: it needs play and agents only


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, name: str) -> set[str]:
    """Every rlviz module this file imports, at any depth of its code."""
    out = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("rlviz"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("rlviz"):
                out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names)
    return out


def _rank(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in TOP:
        return None
    if parts[1] in SIDE:
        return SIDE[parts[1]]
    return FLOW.index(parts[1])


@cache
def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: {i for i in _imports(p, m) if i in modules and i != m} for m, p in modules.items()}


def test_every_module_sits_in_a_known_folder():
    for module in _modules():
        parts = module.split(".")
        assert len(parts) == 1 or parts[1] in TOP or parts[1] in FLOW or parts[1] in SIDE, module


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_go_down_the_flow(module):
    rank = _rank(module)
    if rank is None:
        return
    folder = module.split(".")[1]
    for target in _graph()[module]:
        target_folder = target.split(".")[1] if "." in target else None
        if target_folder in (None, folder) or target_folder in TOP and target == "rlviz":
            continue
        assert target_folder not in TOP, f"{module} imports the wiring module {target}"
        assert _rank(target) < rank, f"{module} ({folder}) imports {target} from a folder above it"


def test_no_import_circles():
    graph = _graph()
    # a package's __init__ re-exporting its submodules is not a circle; drop package -> child edges
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    # importing "rlviz.x.y" runs "rlviz.x" first: child -> parent is not an edge either
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
