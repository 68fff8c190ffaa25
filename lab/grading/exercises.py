"""Exercises: the student writes the code, the workbook checks it on their own Redis.

    from lab import exercises
    def answer(r, db, key, ttl): ...            # the cell the student fills
    exercises.check("03.lookup", answer)         # ✅ done, ❌ wrong (what failed, a hint), ⬜ to do

A check runs the answer against the live lab — its own keys under a fresh prefix, deleted after, through a
user that may touch only those keys — or against scratch servers it starts and stops itself (when the task
needs admin commands: the student's code is never handed a client of the lab's own servers as admin). It is
bounded in time, shows an exception as the ❌ with its line, and says exactly which parts it checked.
"Predict, then observe" exercises record a prediction (`exercises.predict`) before the cell that measures.
The solutions are files in `notebooks/solutions/`, loaded on demand: `%load solutions/03.lookup.py`.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

from ..core import marks
from ..core.errors import LabError
from . import exercise_checks
from .exercise_checks import SPECS, NoPrediction, ttl_after
from .exercise_runner import AnswerFailed, Checker, Part, Wrong, is_stub, observe, record_prediction

EXERCISES = tuple(SPECS)  # ordered: "NN.name", NN the chapter
__all__ = ["EXERCISES", "check", "predict", "observe", "show", "Result", "ttl_after"]

MIME = "application/vnd.redis-workbook.exercise+json"
TIME_LIMIT = 10.0  # seconds an answer may run


@dataclass
class Result:
    """The outcome of one exercise: `status` done / wrong / todo, each part checked, and a hint if wrong."""

    exercise: str
    status: str
    parts: list[Part] = field(default_factory=list)
    hint: str = ""
    message: str = ""
    printed: str = ""  # what the answer printed (capped): shown under the parts, as text

    @property
    def ok(self) -> bool:
        return self.status == "done"

    def lines(self) -> list[str]:
        head = f"{marks.plain(self.status)} exercise {self.exercise}" + (f" — {self.message}" if self.message else "")
        body = [f"   {marks.plain(p.word)} {p.text}" for p in self.parts]
        printed = [f"   your code printed: {line}" for line in self.printed.splitlines()[:20]]
        return [head, *body] + ([f"   hint: {self.hint}"] if self.status == "wrong" and self.hint else []) + printed

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        items = "".join(f'<li style="color:{marks.colour(p.word)};list-style:none">{marks.badge(p.word)} '
                        f"{html.escape(p.text)}</li>" for p in self.parts)  # fmt: skip
        hint = (
            f"<div><small>hint: {html.escape(self.hint)}</small></div>" if self.status == "wrong" and self.hint else ""
        )
        message = f" — {html.escape(self.message)}" if self.message else ""
        if self.printed:
            hint += f"<div><small>your code printed:</small><pre>{html.escape(self.printed)}</pre></div>"
        return {
            "text/plain": "\n".join(self.lines()),
            "text/html": f'<div class="lab-exercise">{marks.badge(self.status)} <b style="color:'
            f'{marks.colour(self.status)}">exercise {html.escape(self.exercise)}</b>{message}<ul>{items}</ul>{hint}'
            "</div>",
            MIME: {**asdict(self), "ok": self.ok},
        }


def predict(exercise_id: str, value: object) -> None:
    """Record a prediction before the cell that measures it (a prediction made afterwards does not count);
    whatever its value, it counts: the surprise is the lesson."""
    if not _spec(exercise_id).prediction:
        raise LabError(f"{exercise_id} is not a prediction; its check is `exercises.check({exercise_id!r}, answer)`.")
    if value is None:
        print(f"⬜ {exercise_id}: write your prediction in place of None, then run this cell.")
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or abs(value) == float("inf"):
        print(f"⬜ {exercise_id}: a prediction is a number (e.g. my_prediction = 10), not {value!r}; "
              "write one, then run this cell again.")  # fmt: skip
        return
    record_prediction(exercise_id, float(value))
    print(f"prediction recorded for {exercise_id}: {value!r}")


def _spec(exercise_id: str) -> exercise_checks.Spec:
    if exercise_id not in SPECS:
        raise LabError(f"Unknown exercise {exercise_id!r}; the exercises are: {', '.join(SPECS)}.")
    return SPECS[exercise_id]


def check(exercise_id: str, answer: object = None, limit: float | None = None) -> Result:
    """Check one exercise: run `answer` (a function, or a prediction's observation) against the lab."""
    spec = _spec(exercise_id)
    if not spec.prediction and is_stub(answer):
        return Result(exercise_id, "todo", message="the cell above is still the stub: write your code there")
    if not spec.prediction and not callable(answer):
        if answer is None:
            return Result(exercise_id, "todo", message="fill in the cell above, then run this one")
        return Result(exercise_id, "wrong", message=f"the answer must be a function (got {type(answer).__name__})",
                      hint=spec.hint)  # fmt: skip
    checker = Checker(exercise_id, answer, limit or spec.limit)
    result = _checked(spec, checker, exercise_id)
    result.printed = "\n".join(checker.printed)
    return result


def _checked(spec: exercise_checks.Spec, checker: Checker, exercise_id: str) -> Result:
    try:
        spec.check(checker)
    except NotImplementedError:
        return Result(exercise_id, "todo", message="the cell above is still the stub: write your code there")
    except Wrong:
        return Result(exercise_id, "wrong", checker.parts, spec.hint)
    except AnswerFailed as exc:
        checker.parts.append(Part(False, str(exc)))
        return Result(exercise_id, "wrong", checker.parts, spec.hint)
    except NoPrediction as exc:
        return Result(exercise_id, "todo", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - the answer left Redis in a state the check could not verify
        checker.parts.append(Part(False, f"after your code, the check met {type(exc).__name__}: {exc}"))
        return Result(exercise_id, "wrong", checker.parts, spec.hint)
    return Result(exercise_id, "done", checker.parts)


def show(result: Result) -> None:
    """Display a result in a notebook (the report collects it), or print it elsewhere (returns nothing, so that
    it is not displayed twice)."""
    import sys

    if "IPython" in sys.modules:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display(result)
            return
    print("\n".join(result.lines()))
