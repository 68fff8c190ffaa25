"""Ports: is one taken, which are free, and the groups of ports the lab remembers (sentinels, cluster nodes).

Free ports are picked below the range the system gives to outgoing connections, so that a client's
connection cannot take one between the moment it is chosen and the moment a server binds it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import N_, _
from . import settings
from .private import write_private

# what `held_by_stranger` says, by the group its caller names (`what`), else HELD_BY
HELD = {
    "the sentinels'": N_("Port {port}, one of the sentinels', is held by {holder}: new ports were chosen "
                         "(remembered)."),
    "the cluster nodes'": N_("Port {port}, one of the cluster nodes', is held by {holder}: new ports were chosen "
                             "(remembered)."),
}  # fmt: skip
HELD_BY = N_("Port {port}, one of {what}, is held by {holder}: new ports were chosen (remembered).")


def port_taken(port: int) -> bool:
    """Whether something listens on `port` on loopback (IPv4's or IPv6's: the lab's servers bind both). Read from
    the kernel's socket tables, never by binding the port to try it: a test bind holds the port for an instant —
    long enough, when two students start at once, for the other's server to fail to bind it and move away."""
    from .listeners import listening

    try:
        sockets, anything = listening(port)
    except OSError:
        sockets, anything = [], False
    if anything:
        return bool(sockets)
    for family, address in ((socket.AF_INET, settings.HOST), (socket.AF_INET6, "::1")):  # the tables cannot tell
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no IPv6 on this machine
        with sock:
            sock.settimeout(0.5)
            if sock.connect_ex((address, port)) == 0:
                return True
    return False


def _unused(port: int) -> bool:
    """Free and not even lingering (TIME_WAIT) from a server that just stopped: a plain bind succeeds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((settings.HOST, port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int, plus: int = 0, avoid: tuple[int, ...] = ()) -> list[int]:
    """`count` ports free on loopback now, below the range the system gives to outgoing connections (so a
    client's connection cannot take one later). `plus`: port + plus must be free too (a cluster's bus)."""
    import random

    high = _ephemeral_low() - 1 - plus
    rng = random.Random()
    found: list[int] = []
    for _attempt in range(10_000):
        port = rng.randrange(10_000, max(10_001, high))
        if port in found or port in avoid or not _unused(port) or (plus and not _unused(port + plus)):
            continue
        found.append(port)
        if len(found) == count:
            return found
    raise LabError(_("No free ports were found on this machine; set the ports yourself (see the README)."))


def _remembered_group(path: Path, count: int, plus: int) -> list[int] | None:
    """A group's remembered ports, if the file holds `count` different ports in range (else it is damaged and
    forgotten: new ones are chosen)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (isinstance(data, list) and len(data) == count and all(type(p) is int for p in data)
            and len(set(data)) == count and all(1024 <= p <= 65535 - plus for p in data)):  # fmt: skip
        return data
    return None


def port_group(
    given: tuple[int, ...] | None, count: int, remembered: str, plus: int = 0, choose: bool = True
) -> list[int]:
    """Ports for a group of nodes (sentinels, cluster nodes): those `given` by the settings (an environment
    variable), else remembered in the state directory, else `count` free ones (then remembered, so that later
    commands find them). With `choose=False` (status, down: commands that only read) nothing is chosen or
    written: [] if none is known."""
    if given:
        return list(given)
    s = settings.load()
    path = s.path(remembered)
    found = _remembered_group(path, count, plus)
    if found:
        return found
    if not choose:
        return []
    found = free_ports(count, plus=plus, avoid=(s.master_port, s.replica_port))
    s.ensure_home()
    write_private(path, json.dumps(found) + "\n")
    return found


def held_by_stranger(given: tuple[int, ...] | None, remembered: str, what: str) -> str | None:
    """When a remembered port of a group (sentinels, cluster nodes) was taken by someone else while the group
    was down, the sentence that says so (the caller stops the group, then `forget_group`s its ports, so that free
    ones are chosen); None otherwise. Ports the environment gives are the student's own choice: never moved."""
    from .listeners import StrangerError, holder, verify

    if given:
        return None
    s = settings.load()
    try:
        data = json.loads(s.path(remembered).read_text())
        known = [p for p in data if type(p) is int and 1024 <= p <= 65535] if isinstance(data, list) else []
    except (OSError, ValueError):
        return None
    for port in known:
        if not port_taken(port):
            continue
        try:
            verify(port, s.home)
        except StrangerError:
            return _(HELD.get(what, HELD_BY)).format(port=port, what=what, holder=holder(port))
    return None


def forget_group(remembered: str) -> None:
    settings.load().path(remembered).unlink(missing_ok=True)


def free_port_pair() -> tuple[int, int]:
    """Two TCP ports that are free on loopback right now."""
    master, replica = free_ports(2)
    return master, replica


def choose_ports(spec: str, already_running: Callable[[settings.Settings], bool] = lambda s: False) -> None:
    """`--ports auto` (a free pair), `--ports 7000,7001`, or `--ports default`: remembered in the state directory."""
    home = settings.ensure_home_dir()
    if spec == "default":
        settings.forget_ports(home)
        return
    if spec == "auto":
        try:
            s = settings.load()
        except LabError:  # a damaged ports.json: choose afresh
            s = None
        remembered = s is not None and (home / settings.PORTS_FILE).exists()
        if remembered and not any(port_taken(p) for p in (s.master_port, s.replica_port)):
            return  # keep the pair chosen earlier: free again, or...
        if remembered and already_running(s):
            return  # ...already ours and running
        master, replica = free_port_pair()
    else:
        parts = spec.replace(" ", "").split(",")
        if len(parts) != 2:
            said = _("--ports {spec} is not understood; use `auto`, `default` or two ports like `7000,7001`.")
            raise LabError(said.format(spec=repr(spec)))
        master, replica = (settings.parse_port(p, "--ports") for p in parts)
        if master == replica:
            raise LabError(_("--ports needs two different ports, e.g. `7000,7001`."))
    settings.remember_ports(home, master, replica)
