"""Progress bars for anything slow: tqdm in a live notebook or terminal, one summary line in the report."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator

from ..core.i18n import _, thousands
from ..state.settings import in_report

REPORT_VARIABLE = "LAB_REPORT"  # set by `./workbook report` for the kernels it runs (see settings.VARIABLES)


def progress(items: Iterable, desc: str, total: int | None = None, unit: str | None = None) -> Iterator:
    """Iterate with a progress bar ("12/50 writes", no rate: "4080.04rounds/s" helps nobody); in the exported
    report (no live widgets) print one line when done. `desc` and `unit` are shown as given: translated already."""
    unit = _("steps") if unit is None else unit
    if in_report():
        start = time.perf_counter()
        count = 0
        for item in items:
            count += 1
            yield item
        seconds = thousands(f"{time.perf_counter() - start:.1f}")
        print(_("{label}: {count} {unit} in {seconds} s").format(label=desc, count=count, unit=unit, seconds=seconds),
              file=sys.stdout)  # fmt: skip
        return
    from tqdm.auto import tqdm

    bar = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + unit + " [{elapsed}<{remaining}]"
    yield from tqdm(items, desc=desc, total=total, bar_format=bar)


def wait(seconds: float, desc: str) -> None:
    """Sleep `seconds` with a bar that counts seconds ("3.2/5.5 s"); one line in the report."""
    if in_report():
        time.sleep(seconds)
        print(_("{label}: waited {seconds} s").format(label=desc, seconds=thousands(f"{seconds:.1f}")), file=sys.stdout)
        return
    from tqdm.auto import tqdm

    start = time.monotonic()
    with tqdm(total=round(seconds, 1), desc=desc, bar_format="{desc}: {bar}| {n:.1f}/{total:.1f} s") as bar:
        while (elapsed := time.monotonic() - start) < seconds:
            time.sleep(min(0.1, seconds - elapsed))
            bar.n = round(min(seconds, time.monotonic() - start), 1)
            bar.refresh()
