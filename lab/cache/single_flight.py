"""Single-flight: in one process, concurrent lookups of the same key share one database read (Go's
`singleflight`): the first caller runs it, the others wait for its answer. `CacheAside`'s default stampede
protection."""

from __future__ import annotations

import threading
import time


class Flight:
    def __init__(self):
        self.done = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.finished = 0.0  # perf_counter when the result was stored


class SingleFlight:
    """In one process, concurrent calls for the same key share one execution (Go's singleflight).

    A caller that saw the miss *before* a flight for its key finished, but reached `do` just after (a busy
    machine schedules threads late), shares that flight's result too: it is as fresh as a read it would make.
    """

    KEEP = 2.0  # seconds a finished flight's result stays available to such late callers

    def __init__(self):
        self._guard = threading.Lock()
        self._flights: dict[str, Flight] = {}
        self._finished: dict[str, Flight] = {}

    def do(self, key: str, fn, started: float | None = None):
        """(fn's result, True) for the caller that ran it; (the same result, False) for those that shared it.
        `started`: when the caller saw the miss (perf_counter), to share a flight that finished after it."""
        with self._guard:
            late = self._finished.get(key)
            if late is not None and started is not None and started < late.finished and not late.error:
                return late.result, False
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = Flight()
        if not leader:
            flight.done.wait()
            if flight.error:
                raise flight.error
            return flight.result, False
        try:
            flight.result = fn()
            return flight.result, True
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            flight.finished = time.perf_counter()
            with self._guard:
                del self._flights[key]
                now = flight.finished
                self._finished = {k: f for k, f in self._finished.items() if now - f.finished < self.KEEP}
                self._finished[key] = flight
            flight.done.set()
