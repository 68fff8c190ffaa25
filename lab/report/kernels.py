"""The kernels the report runs the chapters in: each started while the previous chapter ends (never
while a chapter measures), given this clone's `lab`, quiet, and ended; and the interrupts (Ctrl-C, SIGTERM)
that must stop a report cleanly."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator

from ..lessons.progress import REPORT_VARIABLE
from ..state import settings
from . import chapters

# What the chapters import, loaded by each kernel as it boots — while the previous chapter shows its checkpoints
# and is exported — so that no chapter waits for pandas and matplotlib (~1 s); the names are deleted again.
PRELOAD = "import pandas as _p, matplotlib.pyplot as _m, ipywidgets as _w; del _p, _m, _w"


class Kernels:
    """Kernels for the chapters, each started while the previous chapter ends (a start takes ~0.5 s, the
    preload ~1 s). They talk over local sockets in a private folder, not TCP ports, and print one-line progress."""

    def __init__(self, language: str = "en"):
        self.language = language
        self._folder = tempfile.mkdtemp(prefix="lab-kernels-")
        self._count = 0
        self._live: list = []

    def start(self):
        from jupyter_client.manager import KernelManager

        self._count += 1
        km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(self._folder, f"k{self._count}"))
        path = os.pathsep.join(p for p in (str(settings.REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        # this clone's `lab`, whichever environment runs the kernel (a shared one has no tie to any clone)
        km.start_kernel(
            env={**os.environ, REPORT_VARIABLE: "1", "PYTHONPATH": path, "LAB_LANG": self.language},
            cwd=str(chapters.folder(self.language)),
            extra_arguments=[f"--IPKernelApp.exec_lines={[PRELOAD]!r}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # its words reach us as outputs
        self._live.append(km)
        return km

    def stop(self, km, now: bool = False) -> None:
        try:
            if km.has_kernel:
                km.shutdown_kernel(now=now)
        except Exception:  # noqa: BLE001 - an interrupted kernel may be half gone: end it, say nothing
            with contextlib.suppress(Exception):
                km.shutdown_kernel(now=True)
        finally:
            if km in self._live:
                self._live.remove(km)

    def close(self) -> None:
        for km in list(self._live):
            self.stop(km, now=True)
        shutil.rmtree(self._folder, ignore_errors=True)


@contextlib.contextmanager
def watch_interrupts() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM (each still raises KeyboardInterrupt where the program is)."""
    event = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001 - signal's signature
        event.set()
        raise KeyboardInterrupt

    try:
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: nothing to watch
        previous = {}
    try:
        yield event
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
