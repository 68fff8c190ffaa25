"""`./workbook report`: execute every chapter with parameters and export an offline HTML report.

A pipeline: a run's description (`Run`: chapters, mode, author, language) → each chapter executed in its own
kernel → its result (the marks it displayed) → every page published through one writer that redacts secrets
(`Writer`). Parameters follow the papermill convention: the chapter's `parameters`-tagged cell keeps its
defaults (the class values) and an `injected-parameters` cell after it overrides some of them — with `--quick`,
the values the chapter itself keeps in that cell's metadata (`"quick"`). The report is written into a temporary
folder and moved into place at the end: an interrupted run never leaves a half report.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import N_, _, ngettext, thousands
from ..state import credentials, settings
from ..state.private import UMASK
from . import execute, sanitize
from .chapters import find_chapters, path_of, runs_alongside
from .execute import fill_solutions, inject_parameters, parameter_names, quick_values  # noqa: F401 - lab.report's names
from .handin import handin_html, print_pdf
from .kernels import Kernels, watch_interrupts
from .report_page import ChapterResult, index_body, index_page, summary

MARKER = ".workbook-report"
HANDIN = "handin.html"  # the one file to hand in
PATH_WORDS = {
    "full": N_("every chapter"),
    "core": N_("the 3-hour core path only (`--core`)"),
    "some": N_("chosen chapters"),
}


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


class Writer:
    """The one way a page of the report is written: every secret replaced by *** first, into the folder the
    report is built in."""

    def __init__(self, folder: Path, secrets: tuple[str, ...]):
        self.folder, self.secrets = folder, secrets

    def redact(self, text: str) -> str:
        return _redact(text, self.secrets)

    def write(self, name: str, text: str) -> None:
        (self.folder / name).write_text(self.redact(text), encoding="utf-8")


@dataclass(frozen=True)
class Run:
    """What one report runs: which chapters, in which mode, for whom, in which language, and where it goes."""

    chapters: tuple[Path, ...]
    out: Path
    author: str
    quick: bool = False
    solutions: bool = False
    pdf: bool = False
    language: str = "en"

    @property
    def path(self) -> str:
        """ "full", "core" (the 3-hour path) or "some" chapters."""
        return path_of(list(self.chapters))

    @property
    def mode(self) -> str:
        return ("quick" if self.quick else "class") + (" with the solutions" if self.solutions else "")


def _environment() -> dict[str, str]:
    from ..servers.health import status
    from ..state import platform

    rows = status()
    master = rows[0]
    return {
        "Platform": platform.detect().name,
        "Python": sys.version.split()[0],
        "Redis": f"{master.version or '?'} ({master.binary or 'not running'})",
        "Ports": _("master {master}, replica {replica}").format(master=rows[0].port, replica=rows[1].port),
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
    language: str = "en",
    core: bool = False,
) -> int:
    """Run the chapters (`core`: the core path's), write the report; 0 if every chapter and checkpoint passed,
    1 otherwise."""
    paths = find_chapters(chapters, core=core, language=language)
    if out is not None and not str(out).strip():
        raise LabError("--out is empty; give the folder to write the report into, e.g. --out report.")
    target = Path(out or settings.REPO_ROOT / "report").expanduser().resolve()
    run = Run(tuple(paths), target, author or settings.load().author, quick, solutions, pdf, language)
    tmp = _prepare_out(target)
    saved = os.umask(UMASK)  # the report holds the student's answers: readable by them alone (0700 / 0600)
    try:
        with watch_interrupts() as interrupted:
            return _report(run, tmp, interrupted)
    finally:
        os.umask(saved)


def _report(run: Run, tmp: Path, interrupted) -> int:
    """The pipeline: the lab up → every chapter executed → every page published → the folder moved in place."""
    from ..servers.pair import up

    started = time.monotonic()
    try:
        for note in up().notes:  # (a lab that moved off a classmate's ports says so here too)
            print(note)
        writer = Writer(tmp, _secrets())
        executed = _execute_all(run, writer, interrupted)
        _publish_pages(run, executed, writer)
        _publish(tmp, run.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if run.pdf and not _print(run.out):
        return 1
    results = [result for result, _ in executed]
    failed = [r.name for r in results if not r.ok]
    to_do = sum(r.to_do for r in results)
    print(
        _("report: {path}  ({seconds} s)").format(
            path=run.out / "index.html", seconds=thousands(f"{time.monotonic() - started:.1f}")
        )
        + (f" — ❌ {', '.join(failed)}" if failed else " — ✅ " + _("all chapters passed"))
        + (
            _("; {to_do}").format(  # (French puts a space before the semicolon)
                to_do="⬜ "
                + ngettext(
                    "{count} exercise still to do (the lab itself works)",
                    "{count} exercises still to do (the lab itself works)",
                    to_do,
                ).format(count=to_do)
            )
            if to_do
            else ""
        )
    )
    return 1 if failed else 0


def _execute_all(run: Run, writer: Writer, interrupted) -> list[tuple[ChapterResult, str]]:
    """Each chapter in its own kernel, exported to HTML as soon as it ends: (result, page) per chapter, in order.
    A chapter that runs on servers of its own (`"alongside"` in its metadata: the cluster) runs beside the one
    before it, which waits on its servers far more than it computes (the failovers)."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    exporter = pool.submit(execute.exporter)  # (importing nbconvert takes ~1.5 s)
    pool.shutdown(wait=False)  # its one thread ends with that task
    kernels = Kernels(run.language)
    chapters = list(run.chapters)
    beside = {i for i, path in enumerate(chapters) if i and runs_alongside(path)}
    sequence = [i for i in range(len(chapters)) if i not in beside]
    executed = []

    def page(index: int, nb, result: ChapterResult) -> None:
        sanitize.static_widgets(nb)
        exporter.result().language_code = run.language  # (<html lang="…">: nbconvert sets it from this)
        sanitize.outputs(nb)
        stem = chapters[index].stem
        body, _resources = exporter.result().from_notebook_node(nb, resources={"metadata": {"name": stem},
                                                             "lab_csp": sanitize.CSP, "language_code": run.language})  # fmt: skip
        result.html_file = f"{stem}.html"
        executed.append((result, body))
        print(_one_line(result), flush=True)

    def alongside(path: Path, km):
        try:
            return execute.chapter(path, km, run.quick, run.solutions, writer.redact, in_thread=True)
        finally:
            kernels.stop(km, now=True)

    try:
        following = kernels.start()
        for position, index in enumerate(sequence):
            _announce(index, chapters)
            km, ahead = following, []
            more = position + 1 < len(sequence)
            other = _in_background(alongside, chapters[index + 1], kernels.start()) if index + 1 in beside else None

            def boot_the_next(more=more, ahead=ahead) -> None:
                # The next chapter's kernel boots (and imports pandas and matplotlib) while this chapter's
                # last cell shows its checkpoints, then while it is exported: never while a chapter measures,
                # whose timed loops it would slow down.
                if more and not ahead:
                    ahead.append(kernels.start())

            try:
                page(index, *execute.chapter(chapters[index], km, run.quick, run.solutions, writer.redact,
                                             boot_the_next))  # fmt: skip
                if other is not None:
                    _announce(index + 1, chapters)
                    page(index + 1, *other.result())
            except Exception:
                if interrupted.is_set():  # Ctrl-C while nbclient waits on the kernel: its cleanup raises instead
                    raise KeyboardInterrupt from None
                raise
            finally:
                boot_the_next()  # (a chapter that stopped early never reached its last cell)
                following = ahead[0] if ahead else None
                kernels.stop(km, now=True)  # the finished one has nothing to save: it is ended at once
    finally:
        kernels.close()  # (a chapter still running beside another stops with its kernel)
    return executed


def _in_background(function, *args) -> concurrent.futures.Future:
    """`function(*args)` in a daemon thread: an interrupted report exits without waiting for it (nbclient would
    wait on the kernel it was running, which the report has already ended)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the result
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def _announce(index: int, chapters: list[Path]) -> None:
    print(f"[{index + 1}/{len(chapters)}] {chapters[index].stem} ...", end=" ", flush=True)


def _publish_pages(run: Run, executed: list[tuple[ChapterResult, str]], writer: Writer) -> None:
    """Every page of the report, through the one writer: the chapters, the index, summary.json, the hand-in."""
    results = [result for result, _ in executed]
    for result, body in executed:
        writer.write(result.html_file, body)
    env = {**_environment(), "Path": PATH_WORDS[run.path]}
    writer.write("index.html", index_page(results, run.author, run.mode, env))
    data = summary(results, run.author, run.mode, env, run.language, run.path)
    writer.write("summary.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    header = index_body(results, run.author, run.mode, env, link=lambda r: f"#{r.name}")
    pages = [(result.name, body) for result, body in executed]
    writer.write(HANDIN, handin_html(pages, header, data, run.author))


def _one_line(result: ChapterResult) -> str:
    if result.skipped:
        return "⏭️ " + _("skipped — {reason}").format(reason=result.skipped)
    checks = result.checkpoints
    passed = sum(m.status == "pass" for m in checks)
    return (f"{'✅' if result.ok else '❌'} " + _("{passed}/{count} checkpoints, ").format(passed=passed, count=len(checks))
            + _exercise_counts(result) + thousands(f"{result.seconds:.1f}") + " s"
            + (f" — {result.error}" if result.error else ""))  # fmt: skip


def _print(target: Path) -> bool:
    """handin.pdf beside handin.html; False (and one sentence) if it could not be printed."""
    try:
        pages, seconds = print_pdf(target / HANDIN, target / "handin.pdf")
    except LabError as exc:
        print(f"❌ {exc}", file=sys.stderr)
        return False
    print(_("handin: {path} ({pages} pages, printed in {seconds} s)").format(
        path=target / "handin.pdf", pages=pages, seconds=thousands(f"{seconds:.1f}")))  # fmt: skip
    return True


def _exercise_counts(result: ChapterResult) -> str:
    if not result.exercises:
        return ""
    counts = {s: sum(m.status == s for m in result.exercises) for s in ("pass", "fail", "todo")}
    return _("exercises {passed} passed, {failed} failed, {todo} to do, ").format(
        passed=counts["pass"], failed=counts["fail"], todo=counts["todo"])  # fmt: skip
