"""The instructor's view of a class: many hand-ins in, one table and one page out.

    ./workbook class reports/*/ handins/*.html [--out class]

Each PATH is a report folder, a `summary.json`, or a `handin.html` (its summary is embedded). `class.csv` has a
row per student and a column per checkpoint and exercise (pass / fail / todo / skipped) with totals;
`index.html` shows the pass rate of each as a bar, the students who need help, and who ran which mode. A file
it cannot read is named on stderr and skipped; two hand-ins by the same author are flagged.
"""

from __future__ import annotations

import csv
import html
import json
import sys
from collections import Counter
from pathlib import Path

from .errors import LabError
from .handin import embedded_summary
from .report_page import SUMMARY_VERSION
from .sanitize import CSP_META

MAX_BYTES = 64 * 1024 * 1024  # a hand-in with its plots is a few MB; anything much larger is not one


class Unreadable(Exception):
    """A path that is not a hand-in this version can read: the sentence says why."""


def read_summary(path: Path) -> dict:
    """The summary of one hand-in (a report folder, a summary.json, a handin.html), or Unreadable."""
    if path.is_dir():
        path = path / "summary.json"
    try:
        if path.stat().st_size > MAX_BYTES:
            raise Unreadable(f"{path}: {path.stat().st_size // 2**20} MB is too large for a hand-in; skipped")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unreadable(f"{path}: no such file (a report folder holds summary.json); skipped") from None
    except UnicodeDecodeError:
        raise Unreadable(f"{path}: not a text file (a binary?); skipped") from None
    except OSError as exc:
        raise Unreadable(f"{path}: cannot be read ({exc.strerror}); skipped") from None
    try:
        data = embedded_summary(text) if path.suffix in (".html", ".htm") else json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("checkpoints"), list):
        raise Unreadable(f"{path}: not a workbook hand-in (no summary in it); skipped")
    if data.get("version", SUMMARY_VERSION) != SUMMARY_VERSION:
        raise Unreadable(f"{path}: written by another version of the workbook (summary version "
                         f"{data.get('version')!r}, this one reads {SUMMARY_VERSION}); skipped")  # fmt: skip
    data["source"] = str(path)
    return data


def _column(entry: dict) -> str:
    return f"{entry.get('chapter', '?')[:2]} {entry.get('name', '?')}"


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
    columns = list(dict.fromkeys(_column(e) for s in students for e in s["checkpoints"]))
    rows = []
    for s in students:
        status = {_column(e): e.get("status", "?") for e in s["checkpoints"]}
        counts = Counter(status.values())
        rows.append({"author": s.get("author", "?"), "mode": s.get("mode", "?"), "created": s.get("created", ""),
                     "source": s["source"], **{c: status.get(c, "") for c in columns},
                     "passed": counts["pass"], "failed": counts["fail"], "to do": counts["todo"],
                     "twice": "yes" if s.get("author") in twice else ""})  # fmt: skip
    folder = Path(out).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "class.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        (folder / "index.html").write_text(_page(rows, columns, problems), encoding="utf-8")
    except OSError as exc:
        raise LabError(f"Cannot write the class view into {folder} ({exc.strerror}); choose another --out.") from None
    return folder


def _first(names, shown: int = 5) -> str:
    names = list(names)
    more = f" … and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _page(rows: list[dict], columns: list[str], problems: list[str]) -> str:
    esc = html.escape
    bars = []
    for c in columns:
        counted = [r[c] for r in rows if r[c] not in ("", "skipped")]
        rate = sum(v == "pass" for v in counted) / len(counted) if counted else 0.0
        bars.append(f'<tr><td>{esc(c)}</td><td><div class="bar"><div style="width:{rate * 100:.0f}%"></div></div></td>'
                    f"<td>{rate:.0%} of {len(counted)}</td></tr>")  # fmt: skip
    help_rows = "".join(
        f"<tr><td>{esc(r['author'])}{' ⚠️ twice' if r['twice'] else ''}</td><td>{r['failed']}</td><td>{r['to do']}</td>"
        f"<td>{esc(_first(c for c in columns if r[c] == 'fail'))}</td></tr>"
        for r in sorted(rows, key=lambda r: (-r["failed"], -r["to do"]))
        if r["failed"] or r["to do"]
    )
    modes = Counter(r["mode"] for r in rows)
    skipped = "".join(f"<li>{esc(p)}</li>" for p in problems)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{CSP_META}<title>Redis Cache Workbook — the class ({
        len(rows)
    } students)</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222 }}
table {{ border-collapse: collapse; width: 100% }} th, td {{ border: 1px solid #ddd; padding: .25rem .5rem; text-align: left }}
.bar {{ background: #f0f0f0; width: 16rem; height: .9rem }} .bar div {{ background: #1a7f37; height: 100% }}
</style></head><body>
<h1>Redis Cache Workbook — the class</h1>
<p>{len(rows)} hand-ins · modes: {
        esc(", ".join(f"{m}: {n}" for m, n in modes.items()))
    } · class.csv beside this page</p>
<h2>Who needs help</h2>
<table><tr><th>student</th><th>failed</th><th>to do</th><th>what failed</th></tr>{
        help_rows or '<tr><td colspan="4">nobody: every checkpoint and exercise passed</td></tr>'
    }</table>
<h2>Pass rate per checkpoint and exercise</h2>
<table><tr><th>checkpoint / exercise</th><th></th><th>passed</th></tr>{"".join(bars)}</table>
{f"<h2>Skipped files</h2><ul>{skipped}</ul>" if skipped else ""}
</body></html>
"""
