"""The layout rules of DESIGN.md that a parser can check: no import cycles through the
network package."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NETWORK = ROOT / "engine" / "network"
#: What the network package must not import (they import it, or import what imports it).
FORBIDDEN = ("engine.scenario", "engine.results", "engine.api")


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import outside ``if TYPE_CHECKING:`` blocks, at any depth
    (inside functions too); relative imports resolved against ``package``."""
    out: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the else branch does run
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            # "from engine import scenario" imports engine.scenario
            out.extend((node.lineno, f"{mod}.{a.name}") for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def test_no_import_cycles_network():
    modules = sorted(NETWORK.rglob("*.py"))
    assert {p.name for p in modules} >= {"__init__.py", "matpower.py", "powerflow.py",
                                         "attach.py", "check.py", "rounds.py",
                                         "lindistflow.py"}
    bad = []
    for path in modules:
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, mod in _imports(tree, "engine.network"):
            if any(mod == f or mod.startswith(f + ".") for f in FORBIDDEN):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    assert not bad, "\n".join(bad)


def test_old_network_modules_are_gone():
    for old in ("engine/network.py", "engine/netcheck.py", "engine/formulation/network.py"):
        assert not (ROOT / old).exists(), old


def test_network_modules_are_small():
    for path in NETWORK.rglob("*.py"):
        n = len(path.read_text().splitlines())
        assert n <= 600, f"{path.relative_to(ROOT)} has {n} lines"


def test_layout_checker_sees_a_forbidden_import():
    """The checker itself: a function-level import counts, a TYPE_CHECKING one does not."""
    src = ("from typing import TYPE_CHECKING\n"
           "if TYPE_CHECKING:\n    from engine.results import Result\n"
           "def f():\n    from engine.scenario import Scenario\n"
           "from engine import api\n")
    mods = [m for _, m in _imports(ast.parse(src), "engine.network")]
    assert "engine.scenario" in mods and "engine.api" in mods
    assert "engine.results" not in mods
