"""Small helpers for the sentences the workbook prints: counts with the right plural, gaps between numbers."""

from __future__ import annotations

from .i18n import _, thousands


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 hit`, `2 hits`, `0 hits` (`many` when the plural is not singular + "s")."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def number(value: float) -> str:
    """A measured or predicted number as a student writes it: 633, 2.5, 0.04 (in French: 2,5 and 1 000)."""
    if value == int(value) and abs(value) < 1e15:
        return thousands(f"{int(value):,}".replace(",", " "))
    return thousands(f"{value:.3g}" if abs(value) < 1 else f"{value:,.1f}".replace(",", " "))


def gap(predicted: float, measured: float, kind: str) -> str:
    """How far a prediction is from the measurement: `×4.2 apart` (a ratio) or `off by 1` (a difference)."""
    if predicted == measured:
        return _("exactly what was measured")
    if kind == "ratio" and predicted > 0 and measured > 0:
        factor = thousands(f"{max(predicted / measured, measured / predicted):.1f}")
        if measured > predicted:
            return _("the measurement is ×{factor} higher than the prediction").format(factor=factor)
        return _("the measurement is ×{factor} lower than the prediction").format(factor=factor)
    difference = measured - predicted
    if difference > 0:
        return _("off by {difference} (the measurement is higher)").format(difference=number(abs(difference)))
    return _("off by {difference} (the measurement is lower)").format(difference=number(abs(difference)))
