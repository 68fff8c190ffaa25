"""Reading back what a chapter displayed: its checkpoints, its exercises' results, why it stopped (the MIME
bundles `lab.checks`, `lab.exercises` and `lab.errors` display). A bundle a cell made up itself, or broke, is
read as a failure that says so — never a crash of the report."""

from __future__ import annotations

from ..grading import checks
from ..core.errors import CHAPTER_MIME


def collected_checks(nb) -> list[checks.Check]:
    """Every checkpoint a chapter displayed, read back from its outputs; a malformed one (a cell that displayed a
    bundle of its own making) is a failed checkpoint that says so, never a crash."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if checks.MIME in data:
                found.append(_checkpoint(data[checks.MIME]))
    return found


def _checkpoint(data: object) -> checks.Check:
    fields = {"name": str, "ok": bool, "detail": str, "hint": str}
    if isinstance(data, dict) and set(data) == set(fields) and all(isinstance(data[k], t) for k, t in fields.items()):
        return checks.Check(**data)
    return checks.Check("A checkpoint the report can read", False, "a cell displayed a malformed checkpoint",
                        "run the chapter's own cells, unchanged")  # fmt: skip


def collected_exercises(nb) -> list[dict]:
    """Every exercise result a chapter displayed, read back from its outputs (malformed ones: marked wrong)."""
    from ..grading.exercises import MIME as EXERCISE_MIME

    return [_exercise(out["data"][EXERCISE_MIME]) for cell in nb.cells for out in cell.get("outputs", [])
            if EXERCISE_MIME in out.get("data", {})]  # fmt: skip


def _exercise(data: object) -> dict:
    from ..grading.exercises import EXERCISES

    def part_ok(p: object) -> bool:
        return isinstance(p, dict) and isinstance(p.get("ok"), bool) and isinstance(p.get("text"), str)

    if (isinstance(data, dict) and data.get("exercise") in EXERCISES and data.get("status") in ("done", "wrong", "todo")
            and isinstance(data.get("parts"), list) and all(part_ok(p) for p in data["parts"])
            and all(isinstance(data.get(k, ""), str) for k in ("hint", "message", "printed"))):  # fmt: skip
        return data
    return {"exercise": str(data.get("exercise", "?"))[:40] if isinstance(data, dict) else "?", "status": "wrong",
            "parts": [{"ok": False, "text": "a cell displayed a malformed exercise result", "note": False}],
            "hint": "run the chapter's own check cells, unchanged", "message": ""}  # fmt: skip


def why_stopped(nb) -> tuple[str, str] | None:
    """(status, reason) of the cell that stopped a chapter: the bundle the lab displayed, or Python's error."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            stop = data.get(CHAPTER_MIME)
            if (
                isinstance(stop, dict)
                and stop.get("status") in ("skipped", "failed")
                and isinstance(stop.get("reason"), str)
            ):
                return stop["status"], stop["reason"]
            if output.get("output_type") == "error":
                return "failed", f"{output.get('ename')}: {output.get('evalue')}"
    return None
