"""How a verdict looks: one badge per status — a word on a colour, readable without an emoji font (a PDF, a
teacher's browser) — and the emoji kept only in plain text (a terminal, where it reads at a glance)."""

from __future__ import annotations

import html
import re
import sys
from dataclasses import asdict, dataclass

from .i18n import N_, _

# status: (the word — translated where it is shown —, its colour, the emoji of the plain-text line)
LOOK = {
    "pass": (N_("pass"), "#1a7f37", "✅"),
    "fail": (N_("fail"), "#cf222e", "❌"),
    "todo": (N_("to do"), "#57606a", "⬜"),
    "skipped": (N_("skipped"), "#57606a", "⏭️"),
    "note": (N_("note"), "#0969da", "ℹ️"),
    "warn": (N_("warning"), "#9a6700", "⚠️"),
}


def word(status: str) -> str:
    return _(LOOK[status][0])


def colour(status: str) -> str:
    return LOOK[status][1]


def plain(status: str) -> str:
    """`✅ pass`: the emoji and the word, for plain text."""
    return f"{LOOK[status][2]} {word(status)}"


def badge(status: str) -> str:
    """The mark as HTML: the word, white on the status's colour (inline style: it travels into any page)."""
    text, background = word(status), colour(status)
    return (
        f'<span class="lab-mark lab-mark-{status}" style="background:{background};color:#fff;border-radius:3px;'
        f'padding:0 .4em;font-size:.85em;font-weight:600;white-space:nowrap">{html.escape(text)}</span>'
    )


# -- the one mark: a checkpoint, an exercise, a chapter that stopped ---------------------------------------

MIME = "application/vnd.redis-workbook.mark+json"
STATUSES = ("pass", "fail", "todo", "skipped")  # one vocabulary for every verdict
KINDS = ("checkpoint", "exercise", "chapter")
PART_STATUSES = ("pass", "fail", "note")
_ID = re.compile(r"\d\d(\.[a-z0-9_]+)?")


@dataclass(frozen=True)
class Part:
    """One thing an exercise's check verified (pass, fail), or information that is no verdict (note)."""

    status: str
    text: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@dataclass(frozen=True)
class Mark:
    """Every verdict the workbook gives, in one shape: a stable id ("04.hit_vs_get", "03.lookup", "05" for a
    chapter), its kind, a status from one vocabulary, the sentence shown, the figure measured, the hint that
    fixes it; an exercise's parts, message and what its answer printed. Reports, hand-ins and the class view read
    marks — by id, never by sentence."""

    id: str
    kind: str
    status: str
    title: str
    figure: str = ""
    hint: str = ""
    parts: tuple[Part, ...] = ()
    message: str = ""
    printed: str = ""

    def __post_init__(self) -> None:
        if len(self.id) > 60 or not _ID.fullmatch(self.id) or self.kind not in KINDS or self.status not in STATUSES:
            raise ValueError(f"not a mark: id {self.id!r}, kind {self.kind!r}, status {self.status!r}")
        if any(not isinstance(p, Part) or p.status not in PART_STATUSES for p in self.parts):
            raise ValueError(f"mark {self.id}: a part is not a pass, fail or note")

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    @property
    def chapter(self) -> str:
        return self.id[:2]

    def lines(self) -> list[str]:
        head = f"{plain(self.status)} {self.title}" + (f" — {self.figure}" if self.figure else "")
        head += f" — {self.message}" if self.message else ""
        body = [f"   {plain(p.status)} {p.text}" for p in self.parts]
        label, said = self._label(), _("your code printed:")
        fix = [f"   {label} {self.hint}"] if self.status == "fail" and self.hint else []
        printed = [f"   {said} {line}" for line in self.printed.splitlines()[:20]]
        return [head, *body, *fix, *printed]

    def _label(self) -> str:
        """What the hint is called: an exercise's gives a clue, a checkpoint's is the fix."""
        return _("hint:") if self.kind == "exercise" else _("fix:")

    def line(self) -> str:
        return "\n".join(self.lines())

    def html(self) -> str:
        esc = html.escape
        figure = f" — {esc(self.figure)}" if self.figure else ""
        message = f" — {esc(self.message)}" if self.message else ""
        parts = "".join(f'<li style="color:{colour(p.status)};list-style:none">{badge(p.status)} {esc(p.text)}</li>'
                        for p in self.parts)  # fmt: skip
        fix = (
            f"<div><small>{esc(self._label())} <code>{esc(self.hint)}</code></small></div>"
            if self.status == "fail" and self.hint
            else ""
        )
        said = esc(_("your code printed:"))
        printed = f"<div><small>{said}</small><pre>{esc(self.printed)}</pre></div>" if self.printed else ""
        listed = f"<ul>{parts}</ul>" if parts else ""
        return (f'<div class="lab-mark-{self.kind}">{badge(self.status)} <b style="color:{colour(self.status)}">'
                f"{esc(self.title)}</b>{figure}{message}{listed}{fix}{printed}</div>")  # fmt: skip

    def as_dict(self) -> dict:
        data = asdict(self)
        data["parts"] = [{"status": p.status, "text": p.text} for p in self.parts]
        return data

    @classmethod
    def from_dict(cls, data: object) -> Mark:
        """A mark read back from data (a notebook's output, a hand-in): ValueError unless it is one, whole."""
        fields = {"id", "kind", "status", "title", "figure", "hint", "parts", "message", "printed"}
        if not isinstance(data, dict) or not set(data) <= fields or not {"id", "kind", "status", "title"} <= set(data):
            raise ValueError("not a mark")
        if not all(isinstance(data.get(k, ""), str) for k in fields - {"parts"}):
            raise ValueError("not a mark")
        parts = data.get("parts", [])
        if not isinstance(parts, list) or not all(
            isinstance(p, dict) and isinstance(p.get("status"), str) and isinstance(p.get("text"), str) for p in parts
        ):
            raise ValueError("not a mark")
        return cls(**{**data, "parts": tuple(Part(p["status"], p["text"]) for p in parts)})

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": self.line(), "text/html": self.html(), MIME: self.as_dict()}


def show(*items) -> None:
    """Display marks (each, or lists of them) in a notebook — with the data the report collects — or print
    them elsewhere; returns nothing, so that nothing is displayed twice."""
    found = [m for item in items for m in (item if isinstance(item, list | tuple) else [item])]
    shell = None
    if "IPython" in sys.modules:
        from IPython import get_ipython

        shell = get_ipython()
    for mark in found:
        if shell is not None:
            from IPython.display import display

            display(mark)
        else:
            print(mark.line())


def check(id: str, title: str, ok: object, figure: str = "", hint: str = "") -> Mark:
    """A checkpoint's mark: `id` ("04.hit_vs_get"), the sentence, whether it held, what was measured, the fix."""
    return Mark(id, "checkpoint", "pass" if bool(ok) else "fail", title, figure, hint)
