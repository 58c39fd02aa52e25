"""The house's rules, checked on the source: no import cycles, no module over ~600 lines,
``kernels/`` imports nothing from ``engine/``, only ``engine/backends`` touches a solver,
components never import each other, and every component module states its equations."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: "No module over ~600 lines" (DESIGN.md): the tolerance of the "~".
MAX_LINES = 620


def _modules(package: str) -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _in_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``path`` imports anywhere (functions included), except
    under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or _in_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            if node.level or node.module is None:
                continue
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        out.update(n for n in names if n in known)
    return out


def _graph(*packages: str) -> dict[str, set[str]]:
    mods: dict[str, Path] = {}
    for p in packages:
        mods.update(_modules(p))
    return {m: _imports(path, set(mods)) - {m} for m, path in mods.items()}


def test_no_import_cycles():
    graph = _graph("engine", "kernels")
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_kernels_import_nothing_from_engine():
    for name, path in _modules("kernels").items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            mod = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [mod or ""]
            assert not any(n == "engine" or n.startswith("engine.") for n in names), name


def test_only_backends_touch_a_solver():
    for name, path in _modules("engine").items():
        if name.startswith("engine.backends"):
            continue
        text = path.read_text()
        assert "import highspy" not in text and "pyomo.environ" not in text, name


def test_components_never_import_each_other():
    graph = _graph("engine")
    components = {m for m in graph if m.startswith("engine.components.")
                  and m.rsplit(".", 1)[1] not in ("base",) and not m.rsplit(".", 1)[1].startswith("_")}
    for m in components:
        assert not graph[m] & components, f"{m} imports {sorted(graph[m] & components)}"


@pytest.mark.parametrize("package", ["engine", "kernels", "benchmarks"])
def test_no_module_over_600_lines(package):
    long = {name: n for name, path in _modules(package).items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_each_component_states_its_equations_and_is_registered():
    from engine.components import COMPONENTS

    registered = {c.name for c in COMPONENTS}
    for name, path in _modules("engine").items():
        if not name.startswith("engine.components.") or name.rsplit(".", 1)[1] in ("base",) \
                or name.rsplit(".", 1)[1].startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        # an equation: a relation written out in the docstring
        assert any(op in doc for op in ("<=", ">=", " = ")), f"{name}: no equations in docstring"
        assert "COMPONENT = Component(" in path.read_text(), f"{name}: no Component record"
    assert registered >= {"pv", "wind", "hydro", "battery", "grid", "jobs", "datacenter"}


def test_network_package_imports_no_scenario_results_or_api():
    """The network concern takes duck-typed scenarios and results: it imports none of the
    modules that import it (not even inside functions)."""
    forbidden = ("engine.scenario", "engine.results", "engine.api", "engine.components")
    known = set(_modules("engine"))
    bad = [f"{name} imports {m}" for name, path in _modules("engine").items()
           if name.startswith("engine.network") for m in _imports(path, known)
           if any(m == f or m.startswith(f + ".") for f in forbidden)]
    assert not bad, "\n".join(bad)


def test_layout_checker_sees_function_imports_and_skips_type_checking(tmp_path):
    src = ("from typing import TYPE_CHECKING\n"
           "if TYPE_CHECKING:\n    from engine.results import Result\n"
           "def f():\n    from engine.scenario import Scenario\n"
           "from engine import api\n")
    path = tmp_path / "m.py"
    path.write_text(src)
    found = _imports(path, {"engine.scenario", "engine.results", "engine.api", "engine"})
    assert found == {"engine.scenario", "engine.api", "engine"}
