"""The shape DESIGN.md promises: small modules, no import circle (function-level imports included), settings as
the one home of every LAB_ variable, pure plots."""

from __future__ import annotations

import ast
import re

from lab import settings

from .conftest import REPO

LAB = REPO / "lab"


def _imports(path) -> set[str]:
    """The lab modules a module imports, anywhere in it (top level or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("lab."))
    modules = {p.stem for p in LAB.glob("*.py")}
    return found & modules


def _graph() -> dict[str, set[str]]:
    return {p.stem: _imports(p) - {p.stem} for p in LAB.glob("*.py") if p.stem not in ("__init__", "__main__")}


def test_no_import_circle_anywhere_in_lab():
    graph = _graph()
    circles = []

    def visit(module, path):
        for other in sorted(graph.get(module, ())):
            if other == path[0]:
                circles.append(" → ".join([*path, other]))
            elif other not in path and len(path) < 12:
                visit(other, [*path, other])

    for module in sorted(graph):
        visit(module, [module])
    assert circles == [], "\n".join(sorted(set(circles))[:20])


def test_every_module_is_small_enough_to_read_in_one_sitting():
    sizes = {p.name: len(p.read_text().splitlines()) for p in LAB.glob("*.py")}
    assert max(sizes.values()) <= 400, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def _environment_reads(tree) -> list[str]:
    """What `os.environ.get(X)` / `os.environ[X]` read: constant names, or `<name>` for a variable."""
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            target, key = node.func.value, node.args[0] if node.args else None
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            target, key = node.value, node.slice
        else:
            continue
        if isinstance(target, ast.Attribute) and target.attr == "environ":
            found.append(key.value if isinstance(key, ast.Constant) else f"<{ast.unparse(key)}>")
    return found


def test_lab_variables_are_read_only_in_settings():
    for path in LAB.glob("*.py"):
        if path.name == "settings.py":
            continue
        reads = _environment_reads(ast.parse(path.read_text()))
        bad = [r for r in reads if r.startswith(("LAB_", "<"))]
        assert not bad, f"{path.name} reads {bad} from the environment: settings is their one home"


def test_readme_settings_table_matches_settings():
    readme = (REPO / "README.md").read_text()
    table = dict(re.findall(r"^\| `(LAB_[A-Z_]+)` \| ([^|]+) \|", readme, flags=re.M))
    assert set(table) == set(settings.VARIABLES), set(table) ^ set(settings.VARIABLES)
    for name, (default, _) in settings.VARIABLES.items():
        assert table[name].strip() == default, (name, table[name].strip(), default)


def test_plots_take_frames_and_return_figures_only():
    tree = ast.parse((LAB / "plots.py").read_text())
    assert _imports(LAB / "plots.py") == set(), "plots imports another lab module"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
            assert all(isinstance(r.value, ast.Name) and r.value.id == "fig" for r in returns), node.name


def test_no_module_imports_another_modules_private_names():
    for path in LAB.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_no_code_cell_over_25_lines():
    import nbformat

    for path in sorted((REPO / "notebooks").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert len(cell.source.splitlines()) <= 25, (path.name, cell.source[:80])
