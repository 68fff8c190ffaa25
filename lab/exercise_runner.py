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
_predictions: dict[str, tuple[object, float]] = {}
_observations: dict[str, tuple[object, float]] = {}


@dataclass
class Part:
    """One thing a check verified, and whether the answer did it."""

    ok: bool
    text: str


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


def record_prediction(exercise_id: str, value: object) -> None:
    _predictions[exercise_id] = (value, time.monotonic())


def prediction(exercise_id: str) -> tuple[object, float] | None:
    """(the value, when) a prediction was recorded, or None."""
    return _predictions.get(exercise_id)


def observe(exercise_id: str, value: object) -> object:
    """Record what a measuring cell observed (a prediction recorded after this does not count)."""
    _observations[exercise_id] = (value, time.monotonic())
    return value


def observation(exercise_id: str) -> tuple[object, float] | None:
    return _observations.get(exercise_id)
