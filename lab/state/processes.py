"""This lab's redis-server processes, found by more than a pid file, and stopped without harming anyone else's.

A server of the lab is a redis-server (or redis-sentinel) process whose command line names a runtime
configuration inside this state directory (the lab sets `proc-title-template` so that it does). A pid file is
only a hint: a stale one may point at any process, and nothing that is not such a server is ever signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

STOP_TIMEOUT = 10.0
PROC = Path("/proc")


def alive(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie (dead, only not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def command_line(pid: int) -> str:
    """The process's command line (a redis-server's shows its title: binary, address, mode, config file)."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return _ps(pid, "command=")


def _ps(pid: int, field: str) -> str:
    try:
        return subprocess.run(["ps", "-o", field, "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def is_redis(pid: int) -> bool:
    """Whether `pid` runs a redis-server binary (the embedded one included), whatever its title says."""
    try:
        name = Path(os.readlink(PROC / str(pid) / "exe")).name
    except OSError:
        name = Path(_ps(pid, "comm=")).name if not PROC.is_dir() else ""
    return name.startswith(("redis-server", "redis-sentinel", "redis-check"))


def is_lab_server(pid: int | None, conf: Path) -> bool:
    """True if `pid` is a live redis-server of this user started from the runtime configuration `conf`."""
    return pid is not None and alive(pid) and _owned(pid) and is_redis(pid) and str(conf) in command_line(pid)


def _owned(pid: int) -> bool:
    try:
        return (PROC / str(pid)).stat().st_uid == os.geteuid()
    except OSError:
        return not PROC.is_dir()  # (no /proc: macOS; `ps` below cannot tell, and the conf path must match)


def lab_servers(home: Path) -> dict[int, str]:
    """Every live redis-server of this state directory, by pid → its command line (forks for a snapshot or an
    AOF rewrite left out: they end with their parent)."""
    if not PROC.is_dir():
        return {}
    marker = f"{home}{os.sep}"
    found: dict[int, tuple[str, int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        try:
            mine = entry.stat().st_uid == os.geteuid()  # (root too: another user's process is never the lab's)
        except OSError:
            continue
        if mine and marker in line and ".runtime.conf" in line and alive(pid) and is_redis(pid):
            found[pid] = (line.strip(), parent)
    return {pid: line for pid, (line, parent) in found.items() if parent not in found}


def die_with_parent() -> None:
    """In a child about to exec (subprocess's preexec_fn): be killed when the process that started it dies —
    a kernel killed with -9, a report SIGKILLed mid-check — so that no server it owned is left behind (Linux's
    PR_SET_PDEATHSIG; elsewhere `down` still finds them, their runtime files being in the state directory)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def wait_gone(pid: int, timeout: float = STOP_TIMEOUT) -> bool:
    """Wait until process `pid` has exited; True if it did within `timeout`."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def stop(pid: int | None) -> None:
    """SIGTERM (Redis finishes its AOF and exits cleanly; a stopped one is continued first), then SIGKILL if
    it does not go."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)  # a server stopped with SIGSTOP (kill -STOP, Ctrl-Z) must run to exit
    except ProcessLookupError:
        return
    if not wait_gone(pid):
        kill(pid)


def kill(pid: int | None) -> None:
    """kill -9 and wait until it is gone (a crash: no clean shutdown; what it wrote to its AOF survives)."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_gone(pid)
