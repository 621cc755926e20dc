"""Keep each unit small enough to hold in your head: no class or function in mock_server/,
contract_tests/ or tools/ passes MAX_LINES (the developers' guide: split a class or function
when it passes ~150 lines). Methods and nested units count on their own as well as inside
their class / function."""

from __future__ import annotations

import ast
from pathlib import Path

# Units still being split by their owners: (file, qualified name). Shrink this, never grow it.
ALLOWED: set[tuple[str, str]] = set()

MAX_LINES = 150
ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("mock_server", "contract_tests", "tools")
_UNITS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def unit_sizes(path: Path) -> dict[str, int]:
    """qualified name -> lines (decorators included) of every class and function in a file."""
    sizes: dict[str, int] = {}

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _UNITS):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                name = prefix + child.name
                sizes[name] = child.end_lineno - first + 1
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(ast.parse(path.read_text(encoding="utf-8")), "")
    return sizes


def oversized() -> dict[tuple[str, str], int]:
    out = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for name, n in unit_sizes(path).items():
                if n > MAX_LINES:
                    out[(rel, name)] = n
    return out


def test_no_unit_passes_the_limit():
    big = {k: n for k, n in oversized().items() if k not in ALLOWED}
    assert not big, "split these (lines): " + ", ".join(f"{f} {u} ({n})" for (f, u), n in sorted(big.items()))


def test_the_measure_counts_methods_nested_units_and_decorators(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(160))
    src = (f"@decorator\nclass Big:\n    def method(self):\n{body}\n\n"
           "def small():\n    return 1\n")
    (tmp_path / "m.py").write_text(src)
    sizes = unit_sizes(tmp_path / "m.py")
    assert sizes["small"] == 2
    assert sizes["Big.method"] == 161
    assert sizes["Big"] == 163           # decorator + class line + method


if __name__ == "__main__":          # python tests/test_unit_size.py: what is over, what can leave ALLOWED
    big = oversized()
    for (f, u), n in sorted(big.items(), key=lambda kv: -kv[1]):
        print(f"{n:5d}  {f} {u}{'  (allowed)' if (f, u) in ALLOWED else ''}")
    for f, u in sorted(ALLOWED - set(big)):
        print(f"   ok  {f} {u}: split, remove it from ALLOWED")
    if not big:
        print(f"no unit over {MAX_LINES} lines")
