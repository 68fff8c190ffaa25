"""Reading back what a chapter displayed: its marks — checkpoints, exercises, why it stopped — all one MIME type
(`lab.core.marks.MIME`), read in one loop. A mark a cell made up itself, or broke, is read as a failure that says
so — never a crash of the report."""

from __future__ import annotations

from ..core.marks import MIME, Mark
from ..grading.exercises import EXERCISES


def collected(nb, chapter: str) -> list[Mark]:
    """Every mark chapter `chapter` ("03") displayed, in order; a chapter's stop carries the chapter's id."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                found.append(_mark(data[MIME], chapter))
    return found


def _mark(data: object, chapter: str) -> Mark:
    try:
        mark = Mark.from_dict(data)
    except (ValueError, TypeError):
        return _malformed(chapter, "a cell displayed a malformed mark")
    if mark.kind == "chapter":
        return Mark(chapter, "chapter", mark.status, mark.title, mark.figure)
    if mark.chapter != chapter or (mark.kind == "exercise" and mark.id not in EXERCISES):
        return _malformed(chapter, f"a cell displayed a mark of another chapter or exercise ({mark.id[:40]})")
    return mark


def _malformed(chapter: str, why: str) -> Mark:
    return Mark(f"{chapter}.unreadable", "checkpoint", "fail", "A mark the report can read", why,
                "run the chapter's own cells, unchanged")  # fmt: skip


def stopped(nb, chapter: str, error: str) -> Mark:
    """Why the chapter stopped: the mark the lab displayed, or Python's error (the last output that is one)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                mark = _mark(data[MIME], chapter)
                if mark.kind == "chapter":
                    return mark
            if output.get("output_type") == "error":
                return Mark(chapter, "chapter", "fail", "the chapter ran to the end",
                            f"{output.get('ename')}: {output.get('evalue')}")  # fmt: skip
    return Mark(chapter, "chapter", "fail", "the chapter ran to the end", error)
