"""The shape DESIGN.md promises: folders that are layers (each a short list of modules, each importing only the
layers below it — function-level imports included), no import circle, small modules, settings as the one home
of every LAB_ variable, pure plots."""

from __future__ import annotations

import ast
import re

from lab import settings

from .conftest import REPO

LAB = REPO / "lab"
LAYERS = ["cli", "report", "grading", "lessons", "cache", "servers", "state", "core"]  # top to bottom


def _modules() -> dict[str, object]:
    """Every module of the lab by its dotted name inside the package ("servers.pair"), and its path."""
    found = {}
    for path in sorted(LAB.rglob("*.py")):
        parts = path.relative_to(LAB).with_suffix("").parts
        found[".".join(p for p in parts if p != "__init__") or "lab"] = path
    return found


def _imports(name: str, path) -> set[str]:
    """The lab modules `name` imports, anywhere in it (top level or inside a function), as dotted names."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    modules = set(_modules())
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            stem = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                candidate = f"{stem}.{alias.name}" if stem else alias.name
                found.add(candidate if candidate in modules else stem)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("lab.") for a in node.names if a.name.startswith("lab."))
    return {m for m in found if m in modules and m != name}


def _layer(name: str) -> str:
    return name.split(".")[0]


def test_every_folder_is_a_layer_of_a_dozen_modules_at_most_and_only_entry_points_on_top():
    top = sorted(p.name for p in LAB.glob("*.py"))
    assert top == ["__init__.py", "__main__.py"], top
    folders = sorted(p.name for p in LAB.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(LAYERS), folders
    for layer in LAYERS:
        modules = [p for p in (LAB / layer).glob("*.py") if p.name != "__init__.py"]
        assert 1 <= len(modules) <= 12, (layer, len(modules))
        docstring = ast.get_docstring(ast.parse((LAB / layer / "__init__.py").read_text()))
        assert docstring and all(p.stem in docstring for p in modules), f"lab/{layer}'s docstring names its modules"
        for path in modules:
            assert ast.get_docstring(ast.parse(path.read_text())), f"{layer}/{path.name} has no docstring"


def test_imports_run_one_way_down_the_layers():
    upward = []
    for name, path in _modules().items():
        if name in ("lab", "__main__"):
            continue
        for other in _imports(name, path):
            if other in ("lab", "__main__"):
                upward.append(f"{name} imports the package's top")
            elif LAYERS.index(_layer(other)) < LAYERS.index(_layer(name)):
                upward.append(f"{name} → {other}")
    assert upward == [], "\n".join(upward)


def test_no_import_circle_anywhere_in_lab():
    graph = {name: _imports(name, path) for name, path in _modules().items() if "." in name}
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
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert max(sizes.values()) <= 400, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_chapters_keep_their_short_import_paths():
    import lab
    from lab.cache import CacheAside, CacheForm, KeySchema, SlowDB  # noqa: F401

    assert callable(lab.up) and callable(lab.checkpoint) and lab.exercises.check and lab.replication.stale_reads
    for name in lab.MODULES:
        assert getattr(lab, name).__name__.startswith("lab."), name


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
    for name, path in _modules().items():
        if name == "state.settings":
            continue
        reads = _environment_reads(ast.parse(path.read_text()))
        if name == "core.i18n":  # the language is needed below settings (core's own sentences): LAB_LANG and the
            reads = [r for r in reads if r not in ("LAB_LANG", "<variable>")]  # locale's LANGUAGE, LC_ALL...
        bad = [r for r in reads if r.startswith(("LAB_", "<"))]
        assert not bad, f"{name} reads {bad} from the environment: settings is their one home"


def test_readme_settings_table_matches_settings():
    readme = (REPO / "README.md").read_text()
    table = dict(re.findall(r"^\| `(LAB_[A-Z_]+)` \| ([^|]+) \|", readme, flags=re.M))
    assert set(table) == set(settings.VARIABLES), set(table) ^ set(settings.VARIABLES)
    for name, (default, _) in settings.VARIABLES.items():
        assert table[name].strip() == default, (name, table[name].strip(), default)


def test_plots_take_frames_and_return_figures_only():
    path = LAB / "lessons" / "plots.py"
    assert _imports("lessons.plots", path) <= {"core.i18n"}, "plots imports another lab module (its words aside)"
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
            assert all(isinstance(r.value, ast.Name) and r.value.id == "fig" for r in returns), node.name


def test_no_module_imports_another_modules_private_names():
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "_"]  # (gettext's _)
                assert not private, f"{name} imports {private} from {node.module}"


def test_no_code_cell_over_25_lines():
    import nbformat

    for path in sorted((REPO / "notebooks").rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert len(cell.source.splitlines()) <= 25, (path.name, cell.source[:80])
