"""Small helpers for the sentences the workbook prints: counts with the right plural, gaps between numbers."""

from __future__ import annotations


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 hit`, `2 hits`, `0 hits` (`many` when the plural is not singular + "s")."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def number(value: float) -> str:
    """A measured or predicted number as a student writes it: 633, 2.5, 0.04."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", " ")
    return f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}".replace(",", " ")


def gap(predicted: float, measured: float, kind: str) -> str:
    """How far a prediction is from the measurement: `×4.2 apart` (a ratio) or `off by 1` (a difference)."""
    if predicted == measured:
        return "exactly what was measured"
    if kind == "ratio" and predicted > 0 and measured > 0:
        factor = max(predicted / measured, measured / predicted)
        side = "higher" if measured > predicted else "lower"
        return f"the measurement is ×{factor:.1f} {side} than the prediction"
    difference = measured - predicted
    return f"off by {number(abs(difference))} (the measurement is {'higher' if difference > 0 else 'lower'})"
