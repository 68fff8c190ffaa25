"""`./workbook report`: execute every chapter with parameters and export an offline HTML report.

Parameters follow the papermill convention: the chapter's `parameters`-tagged cell keeps its defaults
(the class values) and an `injected-parameters` cell after it overrides some of them (`--quick`).
Execution (nbclient) and export (nbconvert) run in this one process. The report is written into a
temporary folder and moved into place at the end: an interrupted run never leaves a half report.
"""

from __future__ import annotations

import ast
import html
import json
import os
import shutil
import sys
import time
from pathlib import Path

from ..state import credentials, settings
from . import sanitize
from .bundles import collected_checks, collected_exercises, why_stopped
from ..core.errors import LabError
from .handin import handin_html, print_pdf
from .kernels import Kernels, watch_interrupts
from ..state.private import UMASK
from .report_page import ChapterResult, index_body, index_page, summary
from ..core.text import plural

MARKER = ".workbook-report"
HANDIN = "handin.html"  # the one file to hand in
CELL_TIMEOUT = 600
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TEMPLATES = Path(__file__).parent / "templates"
SOLUTIONS = settings.NOTEBOOKS_DIR / "solutions"

# --quick: values that make the whole workbook run in well under a minute. A chapter takes only the
# names its own parameters cell defines.
QUICK = {
    "slow_db_delay": 0.1,
    "cache_ttl": 3,
    "short_ttl": 1,
    "hit_samples": 1000,
    "miss_samples": 30,
    "population": 50,
    "max_ttl": 1.5,
    "lag_samples": 200,
    "wait_samples": 200,
    "link_down_s": 1.0,
    "silent_s": 3.5,
    "silent_timeout": 1,
    "stampede_clients": 50,
    "workshop_misses": 1,
    "new_client_samples": 100,
    "demo_ttl": 1,
    "staggered_population": False,
    "lazy_keys": 50,
    "lazy_ttl": 0.3,
    "replica_view_ttl": 0.5,
    "failover_runs": 1,
}


def find_chapters(names: list[str] | None = None) -> list[Path]:
    """The chapters in order, or the ones named (with or without `.ipynb`)."""
    found = sorted(settings.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    by_name = {p.stem: p for p in found}
    chosen = []
    for name in names:
        stem = Path(name).stem
        match = by_name.get(stem) or next(
            (p for s, p in by_name.items() if s.startswith(stem + "_") or s[:2] == stem), None
        )
        if match is None:
            raise LabError(f"Unknown chapter {name!r}; the chapters are: {', '.join(by_name)}.")
        chosen.append(match)
    return chosen


def parameter_names(source: str) -> list[str]:
    """The names a parameters cell assigns."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


def inject_parameters(nb, values: dict) -> dict:
    """Insert an `injected-parameters` cell after the `parameters` cell; the values actually injected."""
    import nbformat

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


def _static_widgets(nb) -> None:
    """Widgets cannot run in a static page: replace each widget view with a note (snapshots follow it)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                data["text/html"] = (
                    '<div style="border:1px dashed #999;padding:6px;color:#555">interactive widget: live in '
                    "JupyterLab or <code>./workbook app</code>; its state is shown in the snapshots of this chapter</div>"
                )
                data.pop("text/plain", None)


def _secrets() -> tuple[str, ...]:
    """Every password the report must never show: the lab's, and an external endpoint's."""
    from ..state import endpoint

    s = settings.load()
    found = list(credentials.load(s.home).values()) if (s.home / credentials.FILE).exists() else []
    for role in ("master", "replica"):
        found += endpoint.passwords(endpoint.url(role, s))
    return tuple(sorted({p for p in found if p}, key=len, reverse=True))  # longest first: no partial leftovers


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _execute(
    path: Path, km, values: dict, secrets: tuple[str, ...], solutions: bool = False
) -> tuple[object, ChapterResult]:
    """Run one chapter in the kernel `km` (already started); its notebook with outputs, and its result."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except (OSError, ValueError, nbformat.ValidationError) as exc:  # a merge conflict, a hand-edited file
        result = ChapterResult(path.stem, error=f"{path.name} is not a notebook Jupyter can read "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); `git checkout {path.name}` "
                               "in notebooks/ restores it (your changes to it are lost), or fix it in an editor")  # fmt: skip
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(html.escape(result.error))]), result
    inject_parameters(nb, values)
    if solutions:
        fill_solutions(nb)
    result = ChapterResult(path.stem)
    start = time.monotonic()
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        status, reason = why_stopped(nb) or ("failed", str(exc).strip().splitlines()[-1])
        if status == "skipped":
            result.skipped = _redact(reason, secrets)
        else:
            result.error = _redact(reason, secrets)
    except (CellTimeoutError, DeadKernelError) as exc:
        result.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    except Exception:
        # Ctrl-C or SIGTERM while a cell runs: nbclient's own signal handler shuts the kernel down, then its
        # poll fails on the missing client (an AssertionError). That is an interrupt, not an error.
        if getattr(client, "_async_cleanup_kernel_future", None) is not None:
            raise KeyboardInterrupt from None
        raise
    result.seconds = time.monotonic() - start
    result.checks = collected_checks(nb)
    result.exercises = collected_exercises(nb)
    return nb, result


def _exporter():
    """nbconvert's HTML exporter with the offline template: outputs and Markdown sanitized (the lab's own
    `clean_html`), a Content-Security-Policy in every page."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="offline", sanitize_html=True)
    exporter.register_filter("clean_html", sanitize.clean_html)
    return exporter


def _environment() -> dict[str, str]:
    from ..state import platform
    from ..servers.health import status

    rows = status()
    master = rows[0]
    return {
        "Platform": platform.detect().name,
        "Python": sys.version.split()[0],
        "Redis": f"{master.version or '?'} ({master.binary or 'not running'})",
        "Ports": f"master {rows[0].port}, replica {rows[1].port}",
    }


def _prepare_out(out: Path) -> Path:
    """Check `--out` and return the temporary folder the report is built in."""
    if out.exists() and not out.is_dir():
        raise LabError(f"--out {out} is a file; give a folder (it is created if missing).")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise LabError(
            f"--out {out} already holds other files; give an empty or new folder, nothing there is overwritten."
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(mode=0o700)
    except OSError as exc:
        raise LabError(
            f"Cannot write the report into {out} ({exc.strerror}); choose a folder you can write with --out."
        ) from None
    return tmp


def _publish(tmp: Path, out: Path) -> None:
    (tmp / MARKER).write_text("written by ./workbook report\n")
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def build(
    quick: bool = False,
    out: str | None = None,
    author: str | None = None,
    chapters: list[str] | None = None,
    solutions: bool = False,
    pdf: bool = False,
) -> int:
    """Run the chapters, write the report; 0 if every chapter and checkpoint passed, 1 otherwise."""
    paths = find_chapters(chapters)
    if out is not None and not str(out).strip():
        raise LabError("--out is empty; give the folder to write the report into, e.g. --out report.")
    target = Path(out or settings.REPO_ROOT / "report").expanduser().resolve()
    tmp = _prepare_out(target)
    author = author or settings.load().author
    values = QUICK if quick else {}
    kernels = Kernels()
    saved = os.umask(UMASK)  # the report holds the student's answers: readable by them alone (0700 / 0600)
    try:
        with watch_interrupts() as interrupted:
            return _run(paths, target, tmp, author, values, solutions, pdf, kernels, interrupted, quick)
    finally:
        os.umask(saved)


def _run(paths, target, tmp, author, values, solutions, pdf, kernels, interrupted, quick) -> int:
    from ..servers.pair import up

    try:
        up()
        secrets = _secrets()
        exporter = _exporter()
        results, executed = [], []
        started = time.monotonic()
        following = kernels.start()
        for number, path in enumerate(paths, 1):
            print(f"[{number}/{len(paths)}] {path.stem} ...", end=" ", flush=True)
            km = following
            try:
                nb, result = _execute(path, km, values, secrets, solutions)
            except Exception:
                if interrupted.is_set():  # Ctrl-C while nbclient waits on the kernel: its cleanup raises instead
                    raise KeyboardInterrupt from None
                raise
            finally:
                # The next chapter's kernel boots now, while this one is exported and shut down: never
                # during a chapter, whose timed loops it would slow down. (The finished one has nothing to
                # save: it is ended at once.)
                following = kernels.start() if number < len(paths) else None
                kernels.stop(km, now=True)
            _static_widgets(nb)
            sanitize.outputs(nb)
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem},
                                                                 "lab_csp": sanitize.CSP})  # fmt: skip
            executed.append((path.stem, body))
            result.html_file = f"{path.stem}.html"
            (tmp / result.html_file).write_text(_redact(body, secrets), encoding="utf-8")
            results.append(result)
            bad = [c for c in result.checks if not c.ok]
            if result.skipped:
                print(f"⏭️ skipped — {result.skipped}", flush=True)
            else:
                print(
                    f"{'✅' if result.ok else '❌'} {len(result.checks) - len(bad)}/{len(result.checks)} checkpoints, "
                    + _exercise_counts(result)
                    + f"{result.seconds:.1f} s"
                    + (f" — {result.error}" if result.error else ""),
                    flush=True,
                )
        env = _environment()
        mode = ("quick" if quick else "class") + (" with the solutions" if solutions else "")
        (tmp / "index.html").write_text(_redact(index_page(results, author, mode, env), secrets), encoding="utf-8")
        data = summary(results, author, mode, env)
        (tmp / "summary.json").write_text(_redact(json.dumps(data, indent=2, ensure_ascii=False), secrets) + "\n",
                                          encoding="utf-8")  # fmt: skip
        header = index_body(results, author, mode, env, link=lambda r: f"#{r.name}")
        (tmp / HANDIN).write_text(_redact(handin_html(executed, header, data, author), secrets), encoding="utf-8")
        _publish(tmp, target)
    finally:
        kernels.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if pdf and not _print(target):
        return 1
    failed = [r.name for r in results if not r.ok]
    to_do = sum(r.to_do for r in results)
    print(
        f"report: {target / 'index.html'}  ({time.monotonic() - started:.1f} s)"
        + (f" — ❌ {', '.join(failed)}" if failed else " — ✅ all chapters passed")
        + (f"; ⬜ {plural(to_do, 'exercise')} still to do (the lab itself works)" if to_do else "")
    )
    return 1 if failed else 0


def _print(target: Path) -> bool:
    """handin.pdf beside handin.html; False (and one sentence) if it could not be printed."""
    try:
        pages, seconds = print_pdf(target / HANDIN, target / "handin.pdf")
    except LabError as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return False
    print(f"handin: {target / 'handin.pdf'} ({pages} pages, printed in {seconds:.1f} s)")
    return True


def _exercise_counts(result: ChapterResult) -> str:
    if not result.exercises:
        return ""
    counts = {s: sum(e["status"] == s for e in result.exercises) for s in ("done", "wrong", "todo")}
    return f"exercises {counts['done']} done, {counts['wrong']} wrong, {counts['todo']} to do, "
