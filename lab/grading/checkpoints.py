"""A chapter's checkpoints, shown at its end: `checkpoints.show(a, b, c)` displays the marks each measured result
gives (`result.marks()`: its checks, or one failed mark saying the measurement is incomplete). The checks
themselves live beside the code that measured (`lab.lessons`); each compares with something measured in the
same run, shows the figure it saw, and names the fix. The report collects the marks by their ids.
"""

from __future__ import annotations

from ..core.marks import Mark, check
from ..core.marks import show as show_marks


def marks(*results) -> list[Mark]:
    """Every mark of these results (a result's `marks()`, or marks given as they are)."""
    found: list[Mark] = []
    for result in results:
        found.extend([result] if isinstance(result, Mark) else result.marks())
    return found


def show(*results) -> None:
    """Display the checkpoints of these results, in order (returns nothing: nothing is shown twice)."""
    show_marks(marks(*results))


def checkpoint(id: str, title: str, ok: object, figure: str = "", hint: str = "") -> None:
    """Record and show one checkpoint a chapter checks in its own cell (chapters 00 and 01): its id ("01.linked"),
    the sentence, whether it held, what was seen, the fix."""
    show_marks(check(id, title, ok, figure, hint))
