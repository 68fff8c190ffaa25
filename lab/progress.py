"""Progress bars for anything slow: tqdm in a live notebook or terminal, one summary line in the report."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator

from .settings import in_report

REPORT_VARIABLE = "LAB_REPORT"  # set by `python -m lab report` for the kernels it runs (see settings.VARIABLES)


def progress(items: Iterable, desc: str, total: int | None = None, unit: str = "it") -> Iterator:
    """Iterate with a progress bar; in the exported report (no live widgets) print one line when done."""
    if in_report():
        start = time.perf_counter()
        count = 0
        for item in items:
            count += 1
            yield item
        print(f"{desc}: {count} {unit} in {time.perf_counter() - start:.1f} s", file=sys.stdout)
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, unit=unit)
