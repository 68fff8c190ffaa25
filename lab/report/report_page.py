"""The report's pages as data and HTML: each chapter's marks, the index (summary, environment, the exercises'
table, the checkpoints' table — a failed row shows what was measured and the fix), `summary.json`, and the one
stylesheet of the header the index and the hand-in share."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field

from ..core import marks
from ..core.i18n import N_, _, current, ngettext, thousands
from ..core.marks import Mark
from .sanitize import CSP_META

# Words the report shows that are data in summary.json (English there, translated on the page)
SHOWN_WORDS = (N_("quick"), N_("class"), N_("quick with the solutions"), N_("class with the solutions"),
               N_("Platform"), N_("Python"), N_("Redis"), N_("Ports"), N_("Path"))  # fmt: skip


@dataclass
class ChapterResult:
    """One executed chapter: every mark it displayed (checkpoints, exercises, and why it stopped), its page."""

    name: str
    seconds: float = 0.0
    marks: list[Mark] = field(default_factory=list)
    html_file: str = ""

    @property
    def chapter(self) -> str:
        return self.name[:2]

    @property
    def stop(self) -> Mark | None:
        return next((m for m in self.marks if m.kind == "chapter"), None)

    @property
    def skipped(self) -> str | None:
        """Why the chapter was skipped (it needs the lab's own servers and an endpoint is set), or None."""
        stop = self.stop
        return stop.figure if stop is not None and stop.status == "skipped" else None

    @property
    def error(self) -> str | None:
        stop = self.stop
        return stop.figure if stop is not None and stop.status == "fail" else None

    @property
    def checkpoints(self) -> list[Mark]:
        return [m for m in self.marks if m.kind == "checkpoint"]

    @property
    def exercises(self) -> list[Mark]:
        return [m for m in self.marks if m.kind == "exercise"]

    @property
    def ok(self) -> bool:
        if self.skipped:
            return True
        return self.error is None and bool(self.checkpoints) and all(m.status != "fail" for m in self.marks)

    @property
    def to_do(self) -> int:
        return sum(m.status == "todo" for m in self.exercises)

    @property
    def status(self) -> str:
        return "skipped" if self.skipped else "pass" if self.ok else "fail"


def exercise_summary(e: Mark) -> str:
    """One line for the exercise table a teacher reads first: how many checks passed, the first that failed
    (with the hint), or what is still to do; a prediction's gap. The chapter holds every part."""
    checked = [p for p in e.parts if p.status != "note"]
    notes = [p.text for p in e.parts if p.status == "note"]
    failed = [p.text for p in checked if p.status == "fail"]
    if e.status == "todo" or not e.parts:
        return e.message
    if failed:
        return _("fail: {reason}").format(reason=failed[0]) + (
            _(" — hint: {hint}").format(hint=e.hint) if e.hint else ""
        )
    passed = sum(p.status == "pass" for p in checked)
    return ngettext("{passed} of {count} check passed", "{passed} of {count} checks passed", len(checked)).format(
        passed=passed, count=len(checked)
    ) + (f"; {notes[0]}" if notes else "")


def detail(m: Mark) -> str:
    """What was measured (an exercise: what its check verified), and for a failure the fix too: a teacher sees
    why, a student what to do — as HTML."""
    if m.kind == "exercise":
        return html.escape(exercise_summary(m))
    text = html.escape(m.figure)
    if m.status == "fail" and m.hint:
        text += f"{'<br>' if text else ''}<small>{_('fix:')} <code>{html.escape(m.hint)}</code></small>"
    return text


SUMMARY_VERSION = 2  # `summary.json`'s shape (v2: one list of marks, keyed by id): the class view refuses another


def summary(
    results: list[ChapterResult], author: str, mode: str, env: dict[str, str], language: str = "en", path: str = "full"
) -> dict:
    """The report as data (`summary.json`): every mark, by id, with what it measured."""
    return {
        "version": SUMMARY_VERSION,
        "author": author,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "mode": mode,
        "language": language,
        "path": path,
        "environment": env,
        "chapters": [{"name": r.name, "seconds": round(r.seconds, 1), "status": r.status} for r in results],
        "marks": [m.as_dict() for r in results for m in _listed(r)],
    }


def _listed(r: ChapterResult) -> list[Mark]:
    """A chapter's marks as the report lists them: a skipped chapter is its skip alone; a chapter that showed no
    checkpoint says so."""
    if r.skipped:
        return [r.stop]
    missing = [] if r.checkpoints or r.error else [
        Mark(f"{r.chapter}.checkpoints", "checkpoint", "fail", "checkpoints", "no checkpoint was shown")]  # fmt: skip
    return [*r.marks, *missing]


def index_page(results: list[ChapterResult], author: str, mode: str, env: dict[str, str]) -> str:
    """The report folder's index.html: the header below, linking to each chapter's page."""
    body = index_body(results, author, mode, env, link=lambda r: r.html_file)
    title = _("Redis Cache Workbook — report of {author}").format(author=html.escape(author))
    return f"""<!DOCTYPE html>
<html lang="{current()}"><head><meta charset="utf-8">{CSP_META}<title>{title}</title>
<style>{PAGE_CSS}{HEADER_CSS}</style></head><body><div class="workbook-header">
{body}
</div></body></html>
"""


PAGE_CSS = (
    "body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222 }\n"
)
HEADER_CSS = """
.workbook-header { font-family: system-ui, sans-serif; }
.workbook-header table { border-collapse: collapse; width: 100%; }
.workbook-header th, .workbook-header td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; }
.workbook-header tr.fail td { background: #fff0f0; }
.workbook-header tr.skipped td, .workbook-header tr.todo td { background: #f6f8fa; }
.workbook-header td:nth-child(3) { white-space: nowrap; }
.workbook-header code { font-size: .9em; }
.workbook-header .verdict { font-size: 1.3rem; margin: 1rem 0; }
"""  # the one stylesheet of the report's header: the index and the hand-in both use it


def index_body(results: list[ChapterResult], author: str, mode: str, env: dict[str, str], link) -> str:
    """The report's header: author, verdict, environment, the exercises (a short table of their own: what a
    teacher grades first), the checkpoints, the chapters. Every mark is a word on a colour (no emoji font
    needed)."""
    esc = html.escape

    def row(r: ChapterResult, m: Mark) -> str:
        return (f'<tr class="{m.status}"><td><a href="{esc(link(r))}">{esc(r.name)}</a></td><td>{esc(m.title)}</td>'
                f"<td>{marks.badge(m.status)}</td><td>{detail(m)}</td></tr>")  # fmt: skip

    listed = [(r, m) for r in results for m in _listed(r)]
    checkpoints = "".join(row(r, m) for r, m in listed if m.kind != "exercise")
    exercise_rows = "".join(row(r, m) for r, m in listed if m.kind == "exercise")
    facts = "".join(f"<tr><th>{esc(_(k))}</th><td>{esc(_(v))}</td></tr>" for k, v in env.items())
    chapters_list = "".join(
        f'<li><a href="{esc(link(r))}">{esc(r.name)}</a> {marks.badge(r.status)} {thousands(f"{r.seconds:.1f}")} s</li>'
        for r in results
    )
    counts = {s: sum(m.status == s for _m, m in listed if m.kind == "exercise") for s in ("pass", "fail", "todo")}
    exercises_table = (
        f"<h2>{_('Exercises')}</h2><p>"
        + _("{passed} passed, {failed} failed, {todo} to do").format(
            passed=counts["pass"], failed=counts["fail"], todo=counts["todo"]
        )
        + f'</p><table class="exercises"><tr><th>{_("chapter")}</th><th>{_("exercise")}</th><th></th>'
        f"<th>{_('what was checked')}</th></tr>{exercise_rows}</table>"
        if exercise_rows
        else ""
    )
    mode_words = _("{mode} mode").format(mode=_(mode))
    return f"""<h1>{_("Redis Cache Workbook — report")}</h1>
<p><b>{esc(author)}</b> · {esc(when())} · {esc(mode_words)}</p>
<p class="verdict">{_verdict(results)}</p>
<table>{facts}</table>
{exercises_table}
<h2>{_("Checkpoints")}</h2>
<table><tr><th>{_("chapter")}</th><th>{_("checkpoint")}</th><th></th><th>{_("detail / fix")}</th></tr>{checkpoints}</table>
<h2>{_("Chapters")}</h2><ol>{chapters_list}</ol>
"""


def when(moment: dt.datetime | None = None) -> str:
    """A date and time as the reader's language writes them: 2026-12-02 14:05, le 2 décembre 2026 à 14:05."""
    moment = moment or dt.datetime.now()
    if current() == "fr":
        from babel.dates import format_datetime

        return format_datetime(moment, "d MMMM y 'à' HH:mm", locale="fr_FR")
    return moment.strftime("%Y-%m-%d %H:%M")


def _verdict(results: list[ChapterResult]) -> str:
    """The headline, in words: how many chapters passed, skipped, need attention; exercises still to do."""
    passed, skipped = sum(r.ok for r in results), sum(bool(r.skipped) for r in results)
    to_do = sum(r.to_do for r in results)
    if passed == len(results):
        text = (
            marks.badge("pass")
            + " "
            + _("every chapter passed ({passed} of {count}").format(passed=passed, count=len(results))
        )
        text += _(", {skipped} skipped: they need the lab's own servers)").format(skipped=skipped) if skipped else ")"
    else:
        text = (
            marks.badge("fail")
            + " "
            + _("{failing} of {count} chapters need attention").format(
                failing=len(results) - passed, count=len(results)
            )
        )
    if to_do:
        text += f" · {marks.badge('todo')} " + ngettext(
            "{count} exercise still to do", "{count} exercises still to do", to_do
        ).format(count=to_do)
    return text
