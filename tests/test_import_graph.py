"""No import cycles: the module-level relative imports of mock_server form a DAG, and so do the
behaviour modules' imports, lazy ones inside functions included (they build on storage / hosts
/ mutations, never on each other in a circle). A module importing its own package is not a
cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "mock_server"
HARNESS = PKG.parent / "contract_tests"


def _module(path: Path, pkg: Path = PKG) -> str:
    parts = path.relative_to(pkg.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(lazy: bool = False, pkg: Path = PKG) -> dict[str, set[str]]:
    """module -> the modules of `pkg` it imports (module-level imports; with `lazy`, those
    inside functions too)."""
    files = {_module(p, pkg): p for p in pkg.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        deps = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in (ast.walk(tree) if lazy else tree.body):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = package[:len(package) - (node.level - 1)]
            names = [f"{node.module}"] if node.module else [a.name for a in node.names]
            for name in names:
                target = ".".join(base + name.split("."))
                while target and target not in files:          # a name inside a module: the module
                    target = target.rpartition(".")[0]
                if target and target != mod and not mod.startswith(target + "."):
                    deps.add(target)        # (a module's own package, `from . import Ctx`, is not a cycle)
        graph[mod] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}          # 1 on the stack, 2 done

    def visit(node, stack):
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, stack + [dep])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_cycles():
    graph = import_graph()
    assert "mock_server.behaviour.vm" in graph and "mock_server.behaviour.nics" in graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_no_cycles_anywhere_even_through_lazy_imports():
    """The whole package, imports inside functions included (the dispatcher once imported the
    app for its body parsers, and the app imports the admin API, which imports the dispatcher)."""
    graph = import_graph(lazy=True)
    assert "mock_server.request_body" in graph["mock_server.dispatch"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_behaviour_modules_have_no_cycles_even_through_lazy_imports():
    """nics.py once imported vm.py at module level while vm.py imported nics.py inside its
    functions; a function-level import is still a cycle of the design."""
    prefix = "mock_server.behaviour."
    graph = {m: {d for d in deps if d.startswith(prefix)}
             for m, deps in import_graph(lazy=True).items() if m.startswith(prefix)}
    assert len(graph) > 10
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


@pytest.mark.parametrize("prefix", ["mock_server.query.", "mock_server.contract.", "mock_server.vnc."])
def test_split_packages_have_no_cycles_even_through_lazy_imports(prefix):
    """The query engine, the contract and the consoles were split into modules with one job
    each; none reaches back into another through a function-level import (the code generator
    once imported the engine inside a function, the engine imported the code generator)."""
    graph = {m: {d for d in deps if d.startswith(prefix)}
             for m, deps in import_graph(lazy=True).items() if m.startswith(prefix)}
    assert len(graph) > 5
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_harness_has_no_cycles_even_through_lazy_imports():
    """contract_tests' modules (suites, probes, the target, the state machine's parts) build on
    each other in one direction, lazy imports inside functions included."""
    graph = import_graph(lazy=True, pkg=HARNESS)
    assert "contract_tests.stateful_run" in graph["contract_tests.stateful"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_checker_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
