"""Checking a student's answer: each part a check verifies recorded, the answer run in a child process
(`sandbox`: bounded in time and memory, its exception a sentence with its line); and the predictions and
observations of "predict, then observe" exercises."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..core.marks import Part
from . import sandbox

_predictions: dict[str, Recorded] = {}
_observations: dict[str, Recorded] = {}


class Wrong(Exception):
    """Raised by a check when a part fails: the part's sentence."""


class Checker:
    """What a check function receives: `part()` records one verified thing; `run()` calls the answer."""

    def __init__(self, exercise: str, answer: Callable, limit: float):
        self.exercise, self.answer, self.limit = exercise, answer, limit
        self.parts: list[Part] = []
        self.printed: list[str] = []  # what the answer printed, each call (capped)

    def part(self, ok: bool, text: str) -> None:
        self.parts.append(Part("pass" if ok else "fail", text))
        if not ok:
            raise Wrong(text)

    def note(self, text: str) -> None:
        """Record information that is no verdict (it never fails the exercise)."""
        self.parts.append(Part("note", text))

    def run(self, *args, returns: Callable[[object], object] | None = None):
        """Call the student's answer in a child process, bounded in time and memory; `returns` converts what it
        returned (in the child: `sandbox.whole_number`, `sandbox.text`...), None ignores it. An exception, a hang,
        a crash or the wrong kind of result becomes the ❌ (with its line)."""
        try:
            outcome = sandbox.run(self.answer, args, self.limit, returns)
        except sandbox.Todo:
            raise NotImplementedError from None
        except sandbox.Failed as exc:
            raise AnswerFailed(str(exc)) from None
        if outcome.printed.strip():
            self.printed.append(outcome.printed)
        return outcome.value

    def run_each(self, calls: list[tuple], returns: Callable[[object], object]) -> list:
        """The answer called once per argument tuple, all in one child process; each result converted."""
        answer = self.answer

        def each():
            return [answer(*args) for args in calls]

        saved, self.answer = self.answer, each
        try:
            return self.run(returns=lambda values: [returns(v) for v in values])
        finally:
            self.answer = saved


class AnswerFailed(Exception):
    """The student's code raised, hung, or was not a function that takes these arguments."""


def is_stub(fn: object) -> bool:
    """Whether `fn` is still the chapter's stub: a function whose only name is NotImplementedError (it does
    nothing but raise it). Such an answer is "to do" before anything is measured or started for it."""
    code = getattr(fn, "__code__", None)
    return code is not None and code.co_names == ("NotImplementedError",)


@dataclass(frozen=True)
class Recorded:
    """A prediction or an observation: its value, when it was recorded, and (for an observation) the figures
    that explain it."""

    value: float
    at: float
    facts: dict


def record_prediction(exercise_id: str, value: float) -> None:
    _predictions[exercise_id] = Recorded(value, time.monotonic(), {})


def prediction(exercise_id: str) -> Recorded | None:
    """The prediction recorded for an exercise, or None."""
    return _predictions.get(exercise_id)


def observe(exercise_id: str, value: float, **facts: object) -> float:
    """Record what a measuring cell observed, with the figures that explain it (a prediction recorded after
    this does not count)."""
    _observations[exercise_id] = Recorded(value, time.monotonic(), facts)
    return value


def observation(exercise_id: str) -> Recorded | None:
    return _observations.get(exercise_id)
