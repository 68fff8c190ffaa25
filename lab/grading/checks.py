"""Checkpoints: a ✅ or a ❌ with the hint that fixes it, shown in the notebook and collected by the report.

A checkpoint compares what the chapter measured with something measured in the same run (a hit against the
raw GET beside it, a miss against its database delay), never with a fixed speed of one machine. A failed
checkpoint shows its measured figure *and* its hint. Each mark carries a word too: a browser without an emoji
font shows ✅ and ❌ as the same empty box.
"""

from __future__ import annotations

import html
import sys
from dataclasses import asdict, dataclass

from ..core import marks

MIME = "application/vnd.redis-workbook.checkpoint+json"
MARKS = {True: marks.plain("pass"), False: marks.plain("fail")}


@dataclass(frozen=True)
class Check:
    """The outcome of one checkpoint."""

    name: str
    ok: bool
    detail: str = ""
    hint: str = ""
    advice: bool = False  # a doctor's warning: said, with its fix, but it fails nothing

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", bool(self.ok))  # numpy's True is no JSON: a plain bool travels anywhere

    @property
    def status(self) -> str:
        return "pass" if self.ok else "warn" if self.advice else "fail"

    def line(self) -> str:
        text = f"{marks.plain(self.status)} {self.name}"
        if self.detail:
            text += f" — {self.detail}"
        if not self.ok and self.hint:
            text += f"\n   fix: {self.hint}"
        return text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        status = self.status
        hint = f"<br><small>fix: <code>{html.escape(self.hint)}</code></small>" if not self.ok and self.hint else ""
        detail = f" — {html.escape(self.detail)}" if self.detail else ""
        return {
            "text/plain": self.line(),
            "text/html": f'<div class="lab-check">{marks.badge(status)} <b style="color:{marks.colour(status)}">'
            f"{html.escape(self.name)}</b>{detail}{hint}</div>",
            MIME: {k: v for k, v in asdict(self).items() if k != "advice"},
        }


def show(check: Check) -> None:
    """Display a check in a notebook (with the data the report collects), or print it elsewhere."""
    if "IPython" in sys.modules:
        from IPython import get_ipython

        if get_ipython() is not None:
            from IPython.display import display

            display(check)
            return
    print(check.line())


def checkpoint(name: str, ok: bool, hint: str = "", detail: str = "") -> None:
    """Record and show one checkpoint of a chapter (returns nothing, so it is not displayed twice)."""
    show(Check(name, bool(ok), detail, hint))
