"""The chapters as a class meets them: their order, and what each says of itself in its notebook's metadata
(`"workbook"`: minutes in class, on the 3-hour core path or going further, what it needs) — the card at its top
is written from it, and `report --core` runs the core path only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import in_language
from ..state import settings

PATHS = ("core", "further")
CARD_TAG = "chapter-card"


@dataclass(frozen=True)
class About:
    """What a chapter says of itself: its goal, minutes in class, its path, what it needs."""

    goal: str
    minutes: int
    path: str  # "core" (the 3-hour workshop) or "further"
    needs: str

    @classmethod
    def of(cls, path: Path) -> About:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))["metadata"]["workbook"]
            about = cls(str(meta["goal"]), int(meta["minutes"]), str(meta["path"]), str(meta["needs"]))
        except (OSError, ValueError, KeyError, TypeError):
            raise LabError(f'{path.name} has no readable chapter metadata ("workbook"); restore it with git.') from None
        if about.path not in PATHS or not 0 < about.minutes <= 120:
            raise LabError(f"{path.name}'s chapter metadata is out of bounds; restore it with git.")
        return about

    def card(self, language: str = "en") -> str:
        """The chapter's opening card (Markdown), from its metadata, with its labels in `language`."""
        path = (in_language(language, "**core path** — part of the 3-hour workshop") if self.path == "core"
                else in_language(language, "**going further** — after the 3-hour core path"))  # fmt: skip
        minutes = in_language(language, "about {minutes} min").format(minutes=self.minutes)
        goal, during, needs = (in_language(language, "Goal:"), in_language(language, "In class:"),
                               in_language(language, "Needs:"))  # fmt: skip
        return f"> **{goal}** {self.goal}  \n> **{during}** {minutes} · {path}  \n> **{needs}** {self.needs}"


def runs_alongside(path: Path) -> bool:
    """Whether a chapter runs on servers of its own that no other chapter touches (`"alongside": true` in its
    metadata: the cluster's six nodes), so that the report may run it beside the chapter before it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))["metadata"]["workbook"].get("alongside") is True
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def folder(language: str = "en") -> Path:
    """Where the chapters of `language` are: `notebooks/` (English), `notebooks/fr/` (French)."""
    return settings.NOTEBOOKS_DIR if language == "en" else settings.NOTEBOOKS_DIR / language


def find_chapters(names: list[str] | None = None, core: bool = False, language: str = "en") -> list[Path]:
    """The chapters in order, or the ones named (with or without `.ipynb`); with `core`, the core path's; in
    `language`'s edition."""
    found = sorted(folder(language).glob("[0-9][0-9]_*.ipynb"))
    if core:
        if names:
            raise LabError("--core runs the core path's chapters: give it without --chapter.")
        return [p for p in found if About.of(p).path == "core"]
    if not names:
        return found
    by_name = {p.stem: p for p in found}
    chosen = []
    for name in names:
        stem = Path(name).stem
        match = by_name.get(stem) or next(
            (p for s, p in by_name.items() if s.startswith(stem + "_") or s[:2] == stem), None
        )
        if match is None:
            raise LabError(f"Unknown chapter {name!r}; the chapters are: {', '.join(by_name)}.")
        chosen.append(match)
    return chosen


def path_of(chosen: list[Path]) -> str:
    """Which path a run covers: "full" (every chapter), "core" (exactly the core path), else "some"."""
    stems = [p.stem for p in chosen]
    if stems == [p.stem for p in find_chapters()]:
        return "full"
    return "core" if stems == [p.stem for p in find_chapters(core=True)] else "some"  # (the English: one source)
