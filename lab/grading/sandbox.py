"""A student's answer, run in a child process forked from the kernel (so a notebook's function needs no pickling):
a hard deadline and a memory limit, its prints captured and capped, its result converted to plain data *in the
child* (a `__repr__` or `__eq__` that sleeps or lies runs under the deadline too), and the state of the objects
it was handed (a database stand-in's reads) shipped back. Whatever the answer does — loops holding the GIL,
threads that linger, `os._exit`, a recursion bomb, 100 MB returned or printed — the kernel gets one sentence
within the limit and a second, and its own state is untouched.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.i18n import _, translations

LAB_DIR = Path(__file__).resolve().parents[1]  # frames from the lab are the check's, not the student's
MEMORY_MB = 512  # what an answer may allocate beyond what the kernel already uses
MAX_RESULT = 256 * 1024  # bytes of result: a check wants a number, a pair, a key name
MAX_OUTPUT = 8 * 1024  # bytes of what the answer printed that are shown


class Failed(Exception):
    """The answer raised, hung, crashed, returned the wrong kind of thing: the sentence says which."""


class Todo(Exception):
    """The answer raised NotImplementedError: the stub is still there."""


@dataclass
class Outcome:
    """What the child sent back: the value (converted), the objects' state, and what it printed."""

    value: object
    states: dict
    printed: str = ""


def run(fn: Callable, args: tuple, limit: float, convert: Callable[[object], object] | None = None) -> Outcome:
    """`fn(*args)` in a forked child, bounded by `limit` seconds and MEMORY_MB; `convert` turns its return into
    plain data there (raising TypeError with a sentence when it is not what the check wants). Objects in `args`
    with `export_state()`/`import_state()` get the child's state back. Failed or Todo otherwise."""
    if not hasattr(os, "fork"):  # (the lab runs on Linux, macOS and WSL: there is always fork)
        raise Failed(_("answers run in a child process, which needs os.fork (Linux, macOS or WSL)"))
    translations()  # the catalogue loaded here: the child translates its sentences without reading files
    result_r, result_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(result_r)
        os.close(out_r)
        _child(fn, args, convert, result_w, out_w)
    os.close(result_w)
    os.close(out_w)
    try:
        payload, printed, dropped = _collect(pid, result_r, out_r, limit)
    finally:  # whatever happened (an answer done, a Ctrl-C in the kernel): nothing of the answer outlives the check
        _kill(pid)
        os.close(result_r)
        os.close(out_r)
    status = _exits.pop(pid, None)
    printed_text = printed.decode(errors="replace")
    if dropped:
        printed_text += "\n" + _("… (output cut: {kb} KB printed, the first 8 KB shown)").format(
            kb=(len(printed) + dropped) // 1024)  # fmt: skip
    if payload is None:
        raise Failed(_why_no_result(status, limit))
    if "todo" in payload:
        raise Todo
    if "error" in payload:
        raise Failed(payload["error"])
    for index, state in payload["states"].items():
        args[int(index)].import_state(state)
    return Outcome(payload["value"], payload["states"], printed_text)


def _child(fn, args, convert, result_w: int, out_w: int) -> None:
    """In the child: limits, prints to the pipe, the call, the conversion, one JSON payload; then _exit."""
    try:
        os.setpgid(0, 0)  # its own process group: anything it starts is stopped with it
        _limit_memory()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        stream = open(out_w, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
        sys.stdout = sys.stderr = stream  # the kernel's streams talk to the notebook over ZMQ: not from here
        try:
            value = fn(*args)
            converted = convert(value) if convert else None
            states = {str(i): a.export_state() for i, a in enumerate(args) if hasattr(a, "export_state")}
            payload = {"value": converted, "states": states}
        except NotImplementedError:
            payload = {"todo": True}
        except MemoryError:
            payload = {"error": _("your code used more than {mb} MB of memory").format(mb=MEMORY_MB)}
        except RecursionError:
            payload = {"error": _("your code recursed too deeply (a function that calls itself without end?)")}
        except TypeError as exc:
            payload = {"error": _said(exc) if getattr(exc, "lab_sentence", False) else _raised(exc)}
        except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
            payload = {"error": _raised(exc)}
        stream.flush()
        data = json.dumps(payload, default=str).encode()
        if len(data) > MAX_RESULT:
            said = _("your function returned {kb} KB of data; the check wants a small answer (a number, a pair, "
                     "a key name)").format(kb=len(data) // 1024)  # fmt: skip
            data = json.dumps({"error": said}).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(result_w, view) :]
    finally:
        os._exit(0)


def _limit_memory() -> None:
    """The answer's memory (MEMORY_MB beyond the kernel's), and no new process or thread of its own (an answer
    needs neither; one started with setsid would leave the answer's process group). Root is not bound by the
    second: its forks die with the group, at the end."""
    try:
        import resource

        used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        cap = used + MEMORY_MB * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (OSError, ValueError, ImportError):
        pass  # (macOS: no /proc, RLIMIT_AS not enforced) the deadline still holds


def _said(exc: BaseException) -> str:
    return str(exc)


def _raised(exc: BaseException) -> str:
    """`your code raised ValueError: oops (line 3: x = int(s))`, the student's own last line."""
    try:
        message = str(exc)[:300]
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        message = _("(its message could not be shown)")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not Path(f.filename).is_relative_to(LAB_DIR)]
    if frames and frames[-1].line:
        return _("your code raised {error}: {message} (line {line}: {code})").format(
            error=type(exc).__name__, message=message, line=frames[-1].lineno, code=frames[-1].line
        )
    return _("your code raised {error}: {message}").format(error=type(exc).__name__, message=message)


def _collect(pid: int, result_r: int, out_r: int, limit: float) -> tuple[dict | None, bytes, int]:
    """Read the child's result and prints until it exits or the deadline; kill it (and its group) at the deadline."""
    deadline = time.monotonic() + limit
    result, printed, dropped = b"", b"", 0
    open_fds = {result_r, out_r}
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            _kill(pid)
            return None, printed, dropped
        ready, _, _ = select.select(list(open_fds), [], [], left)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.discard(fd)
            elif fd == result_r:
                result += chunk
                if len(result) > MAX_RESULT * 2:  # (the child caps its own; this one is never trusted)
                    _kill(pid)
                    return {"error": _("your function returned too much data")}, printed, dropped
            else:
                keep = max(0, MAX_OUTPUT - len(printed))
                printed += chunk[:keep]
                dropped += len(chunk) - min(len(chunk), keep)
    _reap(pid, deadline + 1)
    try:
        return (json.loads(result) if result else None), printed, dropped
    except ValueError:
        return None, printed, dropped


def _kill(pid: int) -> None:
    """SIGKILL the answer's process group (what it forked too) and reap the answer."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass
    if pid not in _exits:
        _reap(pid, time.monotonic() + 5)


_exits: dict[int, int] = {}  # pid → its wait status, for the sentence


def _reap(pid: int, until: float) -> None:
    while time.monotonic() < until:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            _exits.setdefault(pid, 0)
            return
        if done:
            _exits[pid] = status
            return
        time.sleep(0.005)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _why_no_result(status: int | None, limit: float) -> str:
    if status is None or (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        return _("your code did not finish within {limit} s (a loop that never ends, or a wait?)").format(
            limit=f"{limit:.0f}"
        )
    if os.WIFSIGNALED(status):
        return _("your code crashed Python (signal {signal}: a recursion too deep, or memory?)").format(
            signal=os.WTERMSIG(status)
        )
    return _("your code ended the process (exit status {status}, os._exit?) before it returned").format(
        status=os.WEXITSTATUS(status)
    )


# -- what a check wants back -----------------------------------------------------------------------------


def _wrong_type(what: str, value: object) -> TypeError:
    error = TypeError(_("your function returned {type}, not {what}").format(type=type(value).__name__, what=what))
    error.lab_sentence = True  # type: ignore[attr-defined]
    return error


def whole_number(value: object) -> int:
    """An int (numpy's too, or a float with no fraction); never a bool, never an object that claims to equal."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or float(value) != int(float(value)):
        raise _wrong_type(_("a whole number"), value)
    return int(value)


def real_pair(value: object) -> list[float]:
    """Two numbers, as a tuple or a list."""
    import math
    import numbers

    if not isinstance(value, tuple | list) or len(value) != 2:
        raise _wrong_type(_("a pair of numbers (p50, p99)"), value)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)) for v in value):
        raise _wrong_type(_("a pair of numbers (p50, p99)"), value)
    return [float(v) for v in value]


def text_or_none(value: object) -> str | None:
    if value is not None and type(value) is not str:  # a str subclass could lie in __eq__
        raise _wrong_type(_("a string (or None)"), value)
    return value


def text(value: object) -> str:
    if type(value) is not str:
        raise _wrong_type(_("a string"), value)
    return value
