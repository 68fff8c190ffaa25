"""How a verdict looks: one badge per status — a word on a colour, readable without an emoji font (a PDF, a
teacher's browser) — and the emoji kept only in plain text (a terminal, where it reads at a glance)."""

from __future__ import annotations

import html

# status: (the word, its colour, the emoji of the plain-text line)
LOOK = {
    "pass": ("pass", "#1a7f37", "✅"),
    "fail": ("fail", "#cf222e", "❌"),
    "done": ("done", "#1a7f37", "✅"),
    "wrong": ("wrong", "#cf222e", "❌"),
    "todo": ("to do", "#57606a", "⬜"),
    "skipped": ("skipped", "#57606a", "⏭️"),
    "note": ("note", "#0969da", "ℹ️"),
    "warn": ("warning", "#9a6700", "⚠️"),
}


def word(status: str) -> str:
    return LOOK[status][0]


def colour(status: str) -> str:
    return LOOK[status][1]


def plain(status: str) -> str:
    """`✅ pass`: the emoji and the word, for plain text."""
    return f"{LOOK[status][2]} {LOOK[status][0]}"


def badge(status: str) -> str:
    """The mark as HTML: the word, white on the status's colour (inline style: it travels into any page)."""
    text, background, _ = LOOK[status]
    return (
        f'<span class="lab-mark lab-mark-{status}" style="background:{background};color:#fff;border-radius:3px;'
        f'padding:0 .4em;font-size:.85em;font-weight:600;white-space:nowrap">{html.escape(text)}</span>'
    )
