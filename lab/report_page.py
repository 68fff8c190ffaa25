"""The report's pages as data and HTML: each chapter's result, the index (summary, environment, checkpoint
table — a failed row shows what was measured and the fix), and `summary.json`."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

from . import checks


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
    """What an exercise's check verified (each part ✅/❌), and the hint when it is wrong."""
    parts = "; ".join(f"{'✅' if p['ok'] else '❌'} {p['text']}" for p in e["parts"]) or e.get("message", "")
    return parts + (f" — hint: {e['hint']}" if e["status"] == "wrong" and e.get("hint") else "")


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
<html lang="en"><head><meta charset="utf-8"><title>Redis Cache Workbook — report of {html.escape(author)}</title>
<style>{INDEX_CSS}</style></head><body>
{body}
</body></html>
"""


INDEX_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222 }
table { border-collapse: collapse; width: 100% } th, td { border: 1px solid #ddd; padding: .3rem .5rem; text-align: left }
tr.bad td { background: #fff0f0 } tr.skip td, tr.todo td { background: #f6f8fa } td:nth-child(3) { white-space: nowrap }
code { font-size: .9em }
.verdict { font-size: 1.3rem; margin: 1rem 0 }
"""


def index_body(results: list[ChapterResult], author: str, mode: str, env: dict[str, str], link) -> str:
    """The report's header: author, verdict, environment, the checkpoint and exercise table, the chapters."""
    esc = html.escape
    passed = sum(r.ok for r in results)
    mark = {
        "ok": "✅ pass",
        "bad": "❌ fail",
        "skip": "⏭️ skipped",
        "todo": "⬜ to do",
    }  # words: not every browser has emoji
    kind_of = {"done": "ok", "wrong": "bad", "todo": "todo"}

    def row(first: str, kind: str, name: str, detail: str) -> str:
        return f'<tr class="{kind}"><td>{first}</td><td>{esc(name)}</td><td>{mark[kind]}</td><td>{detail}</td></tr>'

    rows = []
    for r in results:
        anchor = f'<a href="{esc(link(r))}">{esc(r.name)}</a>'
        if r.skipped:
            rows.append(row(anchor, "skip", "chapter", esc(r.skipped)))
            continue
        if r.error:
            rows.append(row(anchor, "bad", "chapter ran to the end", f"<code>{esc(r.error)}</code>"))
        if not r.checks and not r.error:
            rows.append(row(anchor, "bad", "checkpoints", "no checkpoint was shown"))
        rows += [row(anchor, "ok" if c.ok else "bad", c.name, detail_cell(c)) for c in r.checks]
        rows += [row(anchor, kind_of[e["status"]], f"exercise {e['exercise']}", esc(exercise_detail(e)))
                 for e in r.exercises]  # fmt: skip
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in env.items())
    chapters_list = "".join(
        f'<li><a href="{esc(link(r))}">{esc(r.name)}</a> — {"⏭️" if r.skipped else "✅" if r.ok else "❌"} {r.seconds:.1f} s</li>'
        for r in results
    )
    skipped = sum(bool(r.skipped) for r in results)
    to_do = sum(r.to_do for r in results)
    verdict = (
        "✅ every chapter passed" + (f" ({skipped} skipped: they need the lab's own servers)" if skipped else "")
        if passed == len(results)
        else f"❌ {len(results) - passed} chapter(s) need attention"
    ) + (f" · ⬜ {to_do} exercise(s) still to do" if to_do else "")
    return f"""<h1>Redis Cache Workbook — report</h1>
<p><b>{esc(author)}</b> · {dt.datetime.now().strftime("%Y-%m-%d %H:%M")} · {esc(mode)} mode</p>
<p class="verdict">{verdict} ({passed}/{len(results)})</p>
<table>{facts}</table>
<h2>Checkpoints</h2>
<table><tr><th>chapter</th><th>checkpoint</th><th></th><th>detail / fix</th></tr>{"".join(rows)}</table>
<h2>Chapters</h2><ol>{chapters_list}</ol>
"""
