"""The instructor's view of a class: many hand-ins in, one table and one page out.

    ./workbook class reports/*/ handins/*.html [--out class]

Each PATH is a report folder, a `summary.json`, or a `handin.html` (its summary is embedded). `class.csv` has a
row per student and a column per mark — a checkpoint, an exercise, a chapter's skip — keyed by its id
("04.hit_vs_get"), never by its sentence, so hand-ins in two languages make one table (pass / fail / todo /
skipped) with totals;
`index.html` shows the pass rate of each as a bar, the students who need help, and who ran which mode. A file
it cannot read is named on stderr and skipped; two hand-ins by the same author are flagged.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import sys
import unicodedata
from collections import Counter
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import N_, _, current, thousands
from ..core.marks import Mark
from ..state.private import write_private
from .handin import embedded_summary
from .report_page import SUMMARY_VERSION
from .sanitize import CSP_META

MAX_BYTES = 64 * 1024 * 1024  # a hand-in with its plots is a few MB; anything much larger is not one


class Unreadable(Exception):
    """A path that is not a hand-in this version can read: the sentence says why."""


WORST = ["pass", "skipped", "todo", "fail"]  # a later one wins when a hand-in holds a row twice
PATHS = {"full": N_("every chapter"), "core": N_("core path (3 hours)"), "some": N_("some chapters")}
TEXT_FIELDS = ("author", "mode", "created", "language", "path")  # each a string, if present
MAX_TEXT = 4_000  # characters of one field of a mark: a real one has a sentence or two


def read_summary(path: Path) -> dict:
    """The summary of one hand-in (a report folder, a summary.json, a handin.html), or Unreadable. Only regular
    files are opened (never a FIFO or a device), never more than MAX_BYTES are read, and the data is checked for
    its shape: a hand-in is data a student wrote, trusted for nothing."""
    if path.is_dir():
        path = path / "summary.json"
    text = _read_bounded(path)
    try:
        data = embedded_summary(text) if path.suffix.lower() in (".html", ".htm") else json.loads(text)
    except (ValueError, RecursionError, MemoryError):
        data = None
    if not isinstance(data, dict) or not isinstance(
        data.get("marks", data.get("checkpoints")), list
    ):  # (v1: checkpoints)
        raise Unreadable(f"{path}: not a workbook hand-in (no summary in it); skipped")
    if data.get("version", SUMMARY_VERSION) != SUMMARY_VERSION:
        raise Unreadable(f"{path}: written by another version of the workbook (summary version "
                         f"{str(data.get('version'))[:20]!r}, this one reads {SUMMARY_VERSION}); skipped")  # fmt: skip
    problem = _shape_problem(data) if isinstance(data.get("marks"), list) else "it holds no list of marks"
    if problem:
        raise Unreadable(f"{path}: {problem}; skipped")
    data["marks"] = [Mark.from_dict(m) for m in data["marks"]]
    data["source"] = str(path)
    return data


def _read_bounded(path: Path) -> str:
    import stat

    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path}: not a regular file (a folder without summary.json, a pipe, a device); skipped")
        if info.st_size > MAX_BYTES:
            raise Unreadable(f"{path}: {info.st_size // 2**20} MB is too large for a hand-in; skipped")
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise Unreadable(f"{path}: no such file (a report folder holds summary.json); skipped") from None
    except OSError as exc:
        raise Unreadable(f"{path}: cannot be read ({exc.strerror}); skipped") from None
    if len(raw) > MAX_BYTES:
        raise Unreadable(f"{path}: grew past {MAX_BYTES // 2**20} MB while it was read; skipped")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(f"{path}: not a text file (a binary?); skipped") from None


MAX_ENTRIES = 2_000  # marks of one hand-in: a real one has about sixty


def _shape_problem(data: dict) -> str | None:
    """What is wrong with a summary's shape, in a few words, or None."""
    if len(data["marks"]) > MAX_ENTRIES:
        return f"{len(data['marks'])} marks, where a hand-in has about sixty"
    for name in TEXT_FIELDS:
        if name in data and not isinstance(data[name], str):
            return f"its {name!r} is not text"
    for number, entry in enumerate(data["marks"], 1):
        try:
            mark = Mark.from_dict(entry)
        except (ValueError, TypeError):
            return f"mark {number} is not a mark (an id, a kind, a status of pass, fail, todo or skipped, a title)"
        if any(len(text) > MAX_TEXT for text in (mark.title, mark.figure, mark.hint, mark.message, mark.printed)):
            return f"mark {number} ({mark.id[:40]}) holds more than {MAX_TEXT} characters in one field"
    return None


def _inert(value: object) -> object:
    """A CSV cell a spreadsheet will not run: on one line, and text starting with = + - @ (or a tab) gets a quote."""
    if not isinstance(value, str):
        return value
    value = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in value)
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def build(paths: list[str], out: str = "class") -> Path:
    """Read every hand-in, write `class.csv` and `index.html` into `out`; the folder."""
    students, problems = [], []
    for raw in paths:
        try:
            students.append(read_summary(Path(raw)))
        except Unreadable as exc:
            problems.append(str(exc))
            print(f"⚠️ {exc}", file=sys.stderr)
    if not students:
        raise LabError("No hand-in could be read; give report folders, summary.json or handin.html files "
                       "written by `./workbook report`.")  # fmt: skip
    authors = Counter(s.get("author", "?") for s in students)
    twice = sorted(a for a, n in authors.items() if n > 1)
    for author in twice:
        print(f"⚠️ {author!r} handed in {authors[author]} reports: each is listed, flagged", file=sys.stderr)
    columns = sorted({m.id for s in students for m in s["marks"]}, key=_order)
    # each mark's title as a hand-in in the instructor's language says it (any other's words if none is)
    titles = {m.id: m.title for s in reversed(students) for m in s["marks"]}  # (the first hand-in's words win, and
    titles.update(
        {m.id: m.title for s in reversed(students) if s.get("language") == current() for m in s["marks"]}
    )  # one in the reader's language first)
    rows = []
    for s in students:
        status: dict[str, str] = {}
        for m in s["marks"]:  # a mark given twice counts at its worst (a forged "pass" after a "fail")
            status[m.id] = max(status.get(m.id, m.status), m.status, key=WORST.index)
        counts = Counter(status.values())
        path = s.get("path", "full") if s.get("path", "full") in PATHS else "?"  # (said by the hand-in: data only)
        rows.append({"author": s.get("author", "?"), "path": path, "mode": s.get("mode", "?"),
                     "created": s.get("created", ""),
                     "source": s["source"], **{c: status.get(c, "") for c in columns},
                     "passed": counts["pass"], "failed": counts["fail"], "to do": counts["todo"],
                     "twice": "yes" if s.get("author") in twice else ""})  # fmt: skip
    folder = _out_folder(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        table = io.StringIO(newline="")
        writer = csv.DictWriter(table, fieldnames=[_inert(k) for k in rows[0]])
        writer.writeheader()
        writer.writerows({_inert(k): _inert(v) for k, v in row.items()} for row in rows)
        # each file new, then renamed over the old name: a link planted there is replaced, never followed
        for name, text in ((MARKER, "written by ./workbook class\n"), ("class.csv", table.getvalue()),
                           ("index.html", _page(rows, columns, titles, problems))):  # fmt: skip
            write_private(folder / name, text)
    except OSError as exc:
        raise LabError(f"Cannot write the class view into {folder} ({exc.strerror}); choose another --out.") from None
    return folder


MARKER = ".workbook-class"  # a folder `class` wrote: the only kind it writes into again


def _out_folder(out: str) -> Path:
    """`--out`, from the folder the command was run in; never a folder this command did not make (a report,
    someone's files), never nothing."""
    if not str(out).strip():
        raise LabError("--out is empty; give the folder to write the class view into, e.g. --out class.")
    folder = Path(out).expanduser().absolute()
    if folder.is_symlink():
        raise LabError(f"--out {folder} is a link; give a folder of your own (a link could point anywhere).")
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise LabError(f"--out {folder} is a file; give a folder (it is created if missing).")
    if folder.is_dir() and folder.stat().st_uid != os.geteuid():
        raise LabError(f"--out {folder} belongs to another user; give a folder of your own.")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MARKER).is_file():
        raise LabError(f"--out {folder} already holds files that `./workbook class` did not write; give an empty or "
                       "new folder: nothing there is overwritten.")  # fmt: skip
    return folder


def _first(names, shown: int = 5) -> str:
    names = list(names)
    more = f" … and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _order(mark_id: str) -> tuple:
    """Chapter by chapter; in each, the chapter's own mark, then checkpoints and exercises by name."""
    return (mark_id[:2], mark_id != mark_id[:2], mark_id)


def _page(rows: list[dict], columns: list[str], titles: dict[str, str], problems: list[str]) -> str:
    esc, reader = html.escape, current()
    bars = []
    for c in columns:
        counted = [r[c] for r in rows if r[c] not in ("", "skipped")]
        rate = sum(v == "pass" for v in counted) / len(counted) if counted else 0.0
        share = _("{rate} of {count}").format(rate=thousands(f"{rate:.0%}").replace("%", "\u00a0%") if reader == "fr"
                                              else f"{rate:.0%}", count=len(counted))  # fmt: skip
        bars.append(f'<tr><td><code>{esc(c)}</code> {esc(titles.get(c, "")[:200])}</td><td><div class="bar"><div '
                    f'style="width:{rate * 100:.0f}%"></div></div></td><td>{esc(share)}</td></tr>')  # fmt: skip
    help_rows = "".join(
        f"<tr><td>{esc(r['author'])}{' ⚠️ ' + _('twice') if r['twice'] else ''}</td><td>{r['failed']}</td><td>{r['to do']}</td>"
        f"<td>{esc(_first(c for c in columns if r[c] == 'fail'))}</td></tr>"
        for r in sorted(rows, key=lambda r: (-r["failed"], -r["to do"]))
        if r["failed"] or r["to do"]
    )
    modes = Counter(r["mode"] for r in rows)
    paths = Counter(r["path"] for r in rows)
    handed = "".join(f"<tr><td>{esc(r['author'])}</td><td>{esc(_(PATHS.get(r['path'], 'unknown')))}</td><td>{esc(_(r['mode']))}</td>"
                     f"<td>{esc(r['created'])}</td></tr>" for r in sorted(rows, key=lambda r: r["author"]))  # fmt: skip
    skipped = "".join(f"<li>{esc(p)}</li>" for p in problems)
    return f"""<!DOCTYPE html>
<html lang="{reader}"><head><meta charset="utf-8">{CSP_META}<title>{
        esc(_("Redis Cache Workbook — the class ({count} students)").format(count=len(rows)))
    }</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222 }}
table {{ border-collapse: collapse; width: 100% }} th, td {{ border: 1px solid #ddd; padding: .25rem .5rem; text-align: left }}
.bar {{ background: #f0f0f0; width: 16rem; height: .9rem }} .bar div {{ background: #1a7f37; height: 100% }}
</style></head><body>
<h1>{_("Redis Cache Workbook — the class")}</h1>
<p>{
        esc(
            _("{count} hand-ins · paths: {paths} · modes: {modes} · class.csv beside this page").format(
                count=len(rows),
                paths=", ".join(f"{_(PATHS.get(p, 'unknown'))}: {n}" for p, n in paths.items()),
                modes=", ".join(f"{_(m)}: {n}" for m, n in modes.items()),
            )
        )
    }</p>
<h2>{_("Who needs help")}</h2>
<table><tr><th>{_("student")}</th><th>{_("failed")}</th><th>{_("to do")}</th><th>{_("what failed")}</th></tr>{
        help_rows or '<tr><td colspan="4">' + _("nobody: every checkpoint and exercise passed") + "</td></tr>"
    }</table>
<h2>{_("Hand-ins")}</h2>
<table><tr><th>{_("student")}</th><th>{_("path")}</th><th>{_("mode")}</th><th>{_("created")}</th></tr>{handed}</table>
<h2>{_("Pass rate per checkpoint and exercise")}</h2>
<table><tr><th>{_("checkpoint / exercise")}</th><th></th><th>{_("passed")}</th></tr>{"".join(bars)}</table>
{f"<h2>{_('Skipped files')}</h2><ul>{skipped}</ul>" if skipped else ""}
</body></html>
"""
