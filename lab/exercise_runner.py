"""Running a student's answer: bounded in time, its exception turned into a sentence with its line, each part
a check verifies recorded; and the predictions and observations of "predict, then observe" exercises."""

from __future__ import annotations

import ctypes
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent  # frames from here are the check's, not the student's
_predictions: dict[str, Recorded] = {}
_observations: dict[str, Recorded] = {}


@dataclass
class Part:
    """One thing a check verified, and whether the answer did it; a `note` is no verdict, only information
    (how far a prediction was from the measurement, and why)."""

    ok: bool
    text: str
    note: bool = False

    @property
    def word(self) -> str:
        return "note" if self.note else "pass" if self.ok else "fail"


class Wrong(Exception):
    """Raised by a check when a part fails: the part's sentence."""


class Checker:
    """What a check function receives: `part()` records one verified thing; `run()` calls the answer."""

    def __init__(self, exercise: str, answer: Callable, limit: float):
        self.exercise, self.answer, self.limit = exercise, answer, limit
        self.parts: list[Part] = []

    def part(self, ok: bool, text: str) -> None:
        self.parts.append(Part(bool(ok), text))
        if not ok:
            raise Wrong(text)

    def note(self, text: str) -> None:
        """Record information that is no verdict (it never fails the exercise)."""
        self.parts.append(Part(True, text, note=True))

    def run(self, *args):
        """Call the student's answer, bounded in time; its exception becomes the ❌ (with its line)."""
        return call_bounded(self.answer, args, self.limit)


class AnswerFailed(Exception):
    """The student's code raised, hung, or was not a function that takes these arguments."""


def call_bounded(fn: Callable, args: tuple, limit: float):
    """fn(*args) in a thread; an exception, a wrong signature or running past `limit` becomes AnswerFailed."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except NotImplementedError:
            box["todo"] = True
        except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True, name="exercise-answer")
    worker.start()
    worker.join(limit)
    if worker.is_alive():  # interrupt a Python loop (a blocking Redis call ends with its socket timeout)
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(TimeoutError))
        worker.join(2)
        raise AnswerFailed(f"your code did not finish within {limit:.0f} s (a loop that never ends, or a wait?)")
    if box.get("todo"):
        raise NotImplementedError
    if "error" in box:
        exc = box["error"]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).parent != LAB_DIR]
        where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames and frames[-1].line else ""
        raise AnswerFailed(f"your code raised {type(exc).__name__}: {exc}{where}")
    return box.get("value")


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
