"""The report's pages as data and HTML: each chapter's result, the index (summary, environment, checkpoint
table — a failed row shows what was measured and the fix), and `summary.json`."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

from ..grading import checks
from ..core import marks
from .sanitize import CSP_META
from ..core.text import plural


@dataclass
class ChapterResult:
    """One executed chapter: its checkpoints, its error if it raised, its HTML file."""

    name: str
    seconds: float = 0.0
    checks: list[checks.Check] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # why, when the chapter needs the lab's own servers and an endpoint is set
    html_file: str = ""
    exercises: list[dict] = field(default_factory=list)  # each exercise's result: exercise, status, parts, hint

    @property
    def ok(self) -> bool:
        if self.skipped:
            return True
        wrong = any(e["status"] == "wrong" for e in self.exercises)
        return self.error is None and bool(self.checks) and all(c.ok for c in self.checks) and not wrong

    @property
    def to_do(self) -> int:
        return sum(e["status"] == "todo" for e in self.exercises)


EXERCISE_STATUS = {"done": "pass", "wrong": "fail", "todo": "todo"}


def exercise_detail(e: dict) -> str:
    """What an exercise's check verified (each part with its word), and the hint when it is wrong."""
    parts = "; ".join(f"{marks.word(_part_status(p))}: {p['text']}" for p in e["parts"]) or e.get("message", "")
    return parts + (f" — hint: {e['hint']}" if e["status"] == "wrong" and e.get("hint") else "")


def exercise_summary(e: dict) -> str:
    """One line for the exercise table a teacher reads first: how many checks passed, the first that failed
    (with the hint), or what is still to do; a prediction's gap. The chapter holds every part."""
    checked = [p for p in e["parts"] if not p.get("note")]
    notes = [p["text"] for p in e["parts"] if p.get("note")]
    failed = [p["text"] for p in checked if not p["ok"]]
    if e["status"] == "todo" or not e["parts"]:
        return e.get("message", "")
    if failed:
        return f"fail: {failed[0]}" + (f" — hint: {e['hint']}" if e.get("hint") else "")
    return f"{sum(p['ok'] for p in checked)} of {plural(len(checked), 'check')} passed" + (
        f"; {notes[0]}" if notes else ""
    )


def _part_status(part: dict) -> str:
    return "note" if part.get("note") else "pass" if part["ok"] else "fail"


def detail_cell(c: checks.Check) -> str:
    """What was measured, and for a failed checkpoint the fix too: a teacher sees why, a student what to do."""
    text = html.escape(c.detail)
    if not c.ok and c.hint:
        text += f"{'<br>' if text else ''}<small>fix: <code>{html.escape(c.hint)}</code></small>"
    return text


def summary(results: list[ChapterResult], author: str, mode: str, env: dict[str, str]) -> dict:
    """The report as data (`summary.json`): one entry per checkpoint, with what it measured."""
    entries = []
    for r in results:
        if r.skipped:
            entries.append({"chapter": r.name, "name": "chapter", "status": "skipped", "detail": r.skipped, "hint": ""})
            continue
        if r.error:
            entries.append({"chapter": r.name, "name": "chapter ran to the end", "status": "fail", "detail": r.error,
                            "hint": ""})  # fmt: skip
        entries += [{"chapter": r.name, "name": c.name, "status": "pass" if c.ok else "fail", "detail": c.detail,
                     "hint": c.hint} for c in r.checks]  # fmt: skip
        entries += [{"chapter": r.name, "name": f"exercise {e['exercise']}", "status": EXERCISE_STATUS[e["status"]],
                     "detail": exercise_detail(e), "hint": e.get("hint", "")} for e in r.exercises]  # fmt: skip
    return {
        "version": SUMMARY_VERSION,
        "author": author,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": mode,
        "environment": env,
        "chapters": [{"name": r.name, "seconds": round(r.seconds, 1), "ok": r.ok} for r in results],
        "checkpoints": entries,
    }


SUMMARY_VERSION = 1  # `summary.json`'s shape: the class view refuses another


def index_page(results: list[ChapterResult], author: str, mode: str, env: dict[str, str]) -> str:
    """The report folder's index.html: the header below, linking to each chapter's page."""
    body = index_body(results, author, mode, env, link=lambda r: r.html_file)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{CSP_META}<title>Redis Cache Workbook — report of {html.escape(author)}</title>
<style>{INDEX_CSS}</style></head><body>
{body}
</body></html>
"""


INDEX_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222 }
table { border-collapse: collapse; width: 100% } th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left }
tr.fail td, tr.wrong td { background: #fff0f0 } tr.skipped td, tr.todo td { background: #f6f8fa }
td:nth-child(3) { white-space: nowrap }
code { font-size: .9em }
.verdict { font-size: 1.3rem; margin: 1rem 0 }
"""


def index_body(results: list[ChapterResult], author: str, mode: str, env: dict[str, str], link) -> str:
    """The report's header: author, verdict, environment, the exercises (a short table of their own: what a
    teacher grades first), the checkpoints, the chapters. Every mark is a word on a colour (no emoji font
    needed)."""
    esc = html.escape

    def row(first: str, status: str, name: str, detail: str) -> str:
        return f'<tr class="{status}"><td>{first}</td><td>{esc(name)}</td><td>{marks.badge(status)}</td><td>{detail}</td></tr>'

    checkpoints, exercise_rows = [], []
    for r in results:
        anchor = f'<a href="{esc(link(r))}">{esc(r.name)}</a>'
        if r.skipped:
            checkpoints.append(row(anchor, "skipped", "chapter", esc(r.skipped)))
            continue
        if r.error:
            checkpoints.append(row(anchor, "fail", "chapter ran to the end", f"<code>{esc(r.error)}</code>"))
        if not r.checks and not r.error:
            checkpoints.append(row(anchor, "fail", "checkpoints", "no checkpoint was shown"))
        checkpoints += [row(anchor, "pass" if c.ok else "fail", c.name, detail_cell(c)) for c in r.checks]
        exercise_rows += [row(anchor, e["status"], e["exercise"], esc(exercise_summary(e))) for e in r.exercises]
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in env.items())
    chapters_list = "".join(
        f'<li><a href="{esc(link(r))}">{esc(r.name)}</a> {marks.badge(_chapter_status(r))} {r.seconds:.1f} s</li>'
        for r in results
    )
    counts = {s: sum(e["status"] == s for r in results for e in r.exercises) for s in ("done", "wrong", "todo")}
    exercises_table = (
        f"<h2>Exercises</h2><p>{counts['done']} done, {counts['wrong']} wrong, {counts['todo']} to do</p>"
        f'<table class="exercises"><tr><th>chapter</th><th>exercise</th><th></th><th>what was checked</th></tr>'
        f"{''.join(exercise_rows)}</table>"
        if exercise_rows
        else ""
    )
    return f"""<h1>Redis Cache Workbook — report</h1>
<p><b>{esc(author)}</b> · {dt.datetime.now().strftime("%Y-%m-%d %H:%M")} · {esc(mode)} mode</p>
<p class="verdict">{_verdict(results)}</p>
<table>{facts}</table>
{exercises_table}
<h2>Checkpoints</h2>
<table><tr><th>chapter</th><th>checkpoint</th><th></th><th>detail / fix</th></tr>{"".join(checkpoints)}</table>
<h2>Chapters</h2><ol>{chapters_list}</ol>
"""


def _chapter_status(r: ChapterResult) -> str:
    return "skipped" if r.skipped else "pass" if r.ok else "fail"


def _verdict(results: list[ChapterResult]) -> str:
    """The headline, in words: how many chapters passed, skipped, need attention; exercises still to do."""
    passed, skipped = sum(r.ok for r in results), sum(bool(r.skipped) for r in results)
    to_do = sum(r.to_do for r in results)
    if passed == len(results):
        text = marks.badge("pass") + f" every chapter passed ({passed} of {len(results)}"
        text += f", {skipped} skipped: they need the lab's own servers)" if skipped else ")"
    else:
        text = marks.badge("fail") + f" {len(results) - passed} of {len(results)} chapters need attention"
    if to_do:
        text += f" · {marks.badge('todo')} {plural(to_do, 'exercise')} still to do"
    return text
