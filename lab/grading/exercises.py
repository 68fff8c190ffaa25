"""Exercises: the student writes the code, the workbook checks it on their own Redis.

    from lab import exercises
    def answer(r, db, key, ttl): ...            # the cell the student fills
    exercises.check("03.lookup", answer)         # ✅ pass, ❌ fail (what failed, a hint), ⬜ to do

A check runs the answer against the live lab — its own keys under a fresh prefix, deleted after, through a
user that may touch only those keys — or against scratch servers it starts and stops itself (when the task
needs admin commands: the student's code is never handed a client of the lab's own servers as admin). It is
bounded in time, shows an exception as the ❌ with its line, and says exactly which parts it checked.
"Predict, then observe" exercises record a prediction (`exercises.predict`) before the cell that measures.
The solutions are files in `notebooks/solutions/`, loaded on demand: `%load solutions/03.lookup.py`.
"""

from __future__ import annotations

from ..core.errors import LabError
from ..core.i18n import N_, _
from ..core.marks import Mark
from ..core.marks import show as show_marks
from . import eviction_checks, exercise_checks
from .exercise_checks import NoPrediction, ttl_after
from .exercise_runner import AnswerFailed, Checker, Part, Wrong, is_stub, observe, record_prediction

SPECS = {**exercise_checks.SPECS, **eviction_checks.SPECS}
EXERCISES = tuple(SPECS)  # ordered: "NN.name", NN the chapter
__all__ = ["EXERCISES", "check", "predict", "observe", "show", "result", "ttl_after"]

TIME_LIMIT = 10.0  # seconds an answer may run
STUB = N_("the cell above is still the stub: write your code there")


def result(exercise_id: str, status: str, parts=(), hint: str = "", message: str = "", printed: str = "") -> Mark:
    """An exercise's mark: pass (every part held), fail (with the hint), or todo (what is left to do)."""
    title = _("exercise {id}").format(id=exercise_id)
    return Mark(exercise_id, "exercise", status, title, hint=hint if status == "fail" else "", parts=tuple(parts),
                message=message, printed=printed)  # fmt: skip


def predict(exercise_id: str, value: object) -> None:
    """Record a prediction before the cell that measures it (a prediction made afterwards does not count);
    whatever its value, it counts: the surprise is the lesson."""
    if not _spec(exercise_id).prediction:
        raise LabError(_("{id} is not a prediction; its check is `{check}`.").format(
            id=exercise_id, check=f"exercises.check({exercise_id!r}, answer)"))  # fmt: skip
    if value is None:
        print("⬜ " + _("{id}: write your prediction in place of None, then run this cell.").format(id=exercise_id))
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or abs(value) == float("inf"):
        print("⬜ " + _("{id}: a prediction is a number (e.g. my_prediction = 10), not {value}; write one, then "
                      "run this cell again.").format(id=exercise_id, value=repr(value)))  # fmt: skip
        return
    record_prediction(exercise_id, float(value))
    print(_("prediction recorded for {id}: {value}").format(id=exercise_id, value=repr(value)))


def _spec(exercise_id: str) -> exercise_checks.Spec:
    if exercise_id not in SPECS:
        raise LabError(_("Unknown exercise {id}; the exercises are: {exercises}.").format(
            id=repr(exercise_id), exercises=", ".join(SPECS)))  # fmt: skip
    return SPECS[exercise_id]


def check(exercise_id: str, answer: object = None, limit: float | None = None) -> Mark:
    """Check one exercise: run `answer` (a function, or a prediction's observation) against the lab."""
    spec = _spec(exercise_id)
    if not spec.prediction and is_stub(answer):
        return result(exercise_id, "todo", message=_(STUB))
    if not spec.prediction and not callable(answer):
        if answer is None:
            return result(exercise_id, "todo", message=_("fill in the cell above, then run this one"))
        return result(exercise_id, "fail", hint=_(spec.hint), message=_(
            "the answer must be a function (got {type})").format(type=type(answer).__name__))  # fmt: skip
    checker = Checker(exercise_id, answer, limit or spec.limit)
    status, message = _checked(spec, checker)
    return result(exercise_id, status, checker.parts, _(spec.hint), message, "\n".join(checker.printed))


def _checked(spec: exercise_checks.Spec, checker: Checker) -> tuple[str, str]:
    """(status, message) of running the check; the parts it verified are in `checker.parts`."""
    try:
        spec.check(checker)
    except NotImplementedError:
        checker.parts.clear()
        return "todo", _(STUB)
    except Wrong:
        return "fail", ""
    except AnswerFailed as exc:
        checker.parts.append(Part("fail", str(exc)))
        return "fail", ""
    except NoPrediction as exc:
        checker.parts.clear()
        return "todo", str(exc)
    except Exception as exc:  # noqa: BLE001 - the answer left Redis in a state the check could not verify
        checker.parts.append(Part("fail", _("after your code, the check met {error}: {message}").format(
            error=type(exc).__name__, message=exc)))  # fmt: skip
        return "fail", ""
    return "pass", ""


def show(mark: Mark) -> None:
    """Display an exercise's mark in a notebook (the report collects it), or print it elsewhere (returns nothing,
    so that it is not displayed twice)."""
    show_marks(mark)
