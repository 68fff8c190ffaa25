"""One chapter executed for the report: its parameters (the papermill convention: the `parameters` cell keeps
the class values, an `injected-parameters` cell after it overrides some — with `--quick`, the values the chapter
keeps in that cell's metadata), the solutions filled in for a preview, the notebook run in a kernel, the marks
it displayed collected; and nbconvert's exporter that turns it into an offline page."""

from __future__ import annotations

import ast
import html
import time
from pathlib import Path

from ..core.marks import Mark
from ..state import settings
from . import sanitize
from .bundles import collected, stopped
from .report_page import ChapterResult

CELL_TIMEOUT = 600
TEMPLATES = Path(__file__).parent / "templates"
SOLUTIONS = settings.NOTEBOOKS_DIR / "solutions"


def parameter_names(source: str) -> list[str]:
    """The names a parameters cell assigns."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


def quick_values(nb) -> dict:
    """The values a chapter runs with in `--quick` mode: its own, in its parameters cell's metadata."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return dict(cell.metadata.get("quick", {}))
    return {}


def inject_parameters(nb, values: dict | None = None) -> dict:
    """Insert an `injected-parameters` cell after the `parameters` cell (`values`, default: the chapter's quick
    values); the values actually injected (only names the parameters cell assigns)."""
    import nbformat

    values = quick_values(nb) if values is None else values
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            names = parameter_names(cell.source)
            used = {k: v for k, v in values.items() if k in names}
            if used:
                source = "# Injected by `./workbook report`\n" + "".join(f"{k} = {v!r}\n" for k, v in used.items())
                new = nbformat.v4.new_code_cell(source.rstrip("\n"), metadata={"tags": ["injected-parameters"]})
                nb.cells.insert(index + 1, new)
            return used
    return {}


def fill_solutions(nb) -> int:
    """Put each exercise's solution (`notebooks/solutions/<id>.py`) into its stub cell; how many were filled."""
    filled = 0
    for cell in nb.cells:
        exercise = cell.metadata.get("exercise") if cell.cell_type == "code" else None
        if exercise:
            cell.source = (SOLUTIONS / f"{exercise}.py").read_text().rstrip("\n")
            filled += 1
    return filled


def chapter(
    path: Path, km, quick: bool, solutions: bool, redact, at_last_cell=None, in_thread: bool = False
) -> tuple[object, ChapterResult]:
    """Run one chapter in the kernel `km` (already started); its notebook with outputs, and its result (a
    stopped chapter's sentence passed through `redact`). `in_thread`: run from a thread other than the main one
    (a chapter beside another), whose kernel the report ends itself if it is interrupted.
    `at_last_cell` is called as the chapter's last code cell (its checkpoints, which time nothing) starts."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    chapter = path.stem[:2]
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (OSError, ValueError, nbformat.ValidationError) as exc:  # a merge conflict, a hand-edited file
        reason = (f"{path.name} is not a notebook Jupyter can read ({type(exc).__name__}: "
                  f"{str(exc).splitlines()[0][:120]}); `git checkout {path.name}` in notebooks/ restores it (your "
                  "changes to it are lost), or fix it in an editor")  # fmt: skip
        result = ChapterResult(
            path.stem, marks=[Mark(chapter, "chapter", "fail", "the chapter ran to the end", reason)]
        )
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(html.escape(reason))]), result
    inject_parameters(nb, None if quick else {})
    if solutions:
        fill_solutions(nb)
    start = time.monotonic()
    last = max((i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), default=-1)

    def on_cell_start(cell, cell_index):  # noqa: ARG001 - nbclient's hook signature
        if cell_index == last and at_last_cell is not None:
            at_last_cell()

    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(path.parent)}},
                            on_cell_start=on_cell_start)  # fmt: skip
    if in_thread:  # nbclient's exit hook would wait forever on this thread's blocked poll of a kernel already ended
        client._cleanup_kernel = lambda: None
    stop = None
    try:
        client.execute()
    except CellExecutionError as exc:
        stop = stopped(nb, chapter, str(exc).strip().splitlines()[-1])
    except (CellTimeoutError, DeadKernelError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        stop = Mark(chapter, "chapter", "fail", "the chapter ran to the end", f"{type(exc).__name__}: {first}")
    except Exception:
        # Ctrl-C or SIGTERM while a cell runs: nbclient's own signal handler shuts the kernel down, then its
        # poll fails on the missing client (an AssertionError). That is an interrupt, not an error.
        if getattr(client, "_async_cleanup_kernel_future", None) is not None:
            raise KeyboardInterrupt from None
        raise
    marks = [m for m in collected(nb, chapter) if m.kind != "chapter"]
    if stop is not None:
        stop = Mark(stop.id, stop.kind, stop.status, stop.title, redact(stop.figure))
    return nb, ChapterResult(path.stem, time.monotonic() - start, marks + ([stop] if stop else []))


def exporter():
    """nbconvert's HTML exporter with the offline template: outputs and Markdown sanitized (the lab's own
    `clean_html`), a Content-Security-Policy in every page."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="offline", sanitize_html=True)
    exporter.register_filter("clean_html", sanitize.clean_html)
    return exporter
