"""Who listens on a loopback port — so that the lab sends a password only to its own servers.

On a shared host a classmate can listen on a port the lab remembers while the lab is down; a client that
connected and logged in would hand them the password. Every connection the lab opens to a loopback port is
checked first (`GuardedConnection`): the listening socket (from `/proc/net/tcp` and `tcp6`) must belong to
this user, and to a redis-server of this state directory (its socket among that process's open files). A
listener that is not is a `StrangerError`: the connection is closed before a byte is sent.

Where `/proc/net` cannot tell (macOS, WSL 1: a laptop with one user), connections are not checked.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _

PROC_NET = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
LISTEN = "0A"
# addresses whose listener accepts a connection to 127.0.0.1 or ::1 (the lab's clients use 127.0.0.1)
LOOPBACK_V4 = {"0100007F", "00000000"}
LOOPBACK_V6 = {"00000000000000000000000001000000", "00000000000000000000000000000000",
               "0000000000000000FFFF00000100007F"}  # fmt: skip
_verified: set[tuple[int, int]] = set()  # (port, socket inode) already seen to be this lab's


class StrangerError(LabError):
    """The program listening on one of the lab's ports is not this lab's server."""


def listening(port: int) -> tuple[list[tuple[int, int]], bool]:
    """([(uid, inode)] of the listening sockets that would accept a loopback connection to `port`, whether any
    listening socket at all was seen — none means this system cannot tell). The kernel's socket diagnostics
    answer in tens of microseconds; reading /proc/net/tcp takes milliseconds (it walks every socket)."""
    try:
        return _listening_netlink(port)
    except OSError:
        return _listening_proc(port)


NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLMSG_ERROR, NLMSG_DONE = 4, 20, 2, 3
LOOPBACK = {
    2: {bytes([127, 0, 0, 1]), bytes(4)},  # AF_INET: 127.0.0.1, 0.0.0.0
    10: {bytes(15) + b"\1", bytes(16), bytes(10) + b"\xff\xff\x7f\0\0\1"},
}  # AF_INET6: ::1, ::, mapped


def _listening_netlink(port: int) -> tuple[list[tuple[int, int]], bool]:
    """The listening TCP sockets, from the kernel's sock_diag (what `ss -ltn` reads), v4 and v6."""
    import socket
    import struct

    found, anything = [], False
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        for family in (socket.AF_INET, socket.AF_INET6):
            any_socket = struct.pack("!HH16s16sI8s", 0, 0, bytes(16), bytes(16), 0, b"\xff" * 8)
            request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 1 << 10) + any_socket  # 10: LISTEN
            nl.send(struct.pack("=IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, 0x301, 1, 0) + request)
            done = False
            while not done:
                data, offset = nl.recv(65536), 0
                while offset + 16 <= len(data):
                    length, kind = struct.unpack_from("=IH", data, offset)
                    if kind == NLMSG_ERROR:
                        raise OSError("sock_diag refused the request")
                    if kind == NLMSG_DONE or length < 16:
                        done = True
                        break
                    body = offset + 16  # inet_diag_msg: family, state, timer, retrans, id (48 bytes), ..., uid, inode
                    anything = True
                    sport = struct.unpack_from("!H", data, body + 4)[0]
                    address = data[body + 8 : body + 8 + (4 if family == socket.AF_INET else 16)]
                    if sport == port and address in LOOPBACK[family]:
                        found.append(struct.unpack_from("=II", data, body + 64))
                    offset += (length + 3) & ~3
    return found, anything


def _listening_proc(port: int) -> tuple[list[tuple[int, int]], bool]:
    """The same from /proc/net/tcp and tcp6 (slower), where sock_diag is not available."""
    found, anything = [], False
    for table in PROC_NET:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            anything = True
            address, _colon, hexport = fields[1].partition(":")
            if int(hexport, 16) != port or address not in (LOOPBACK_V4 if len(address) == 8 else LOOPBACK_V6):
                continue
            found.append((int(fields[7]), int(fields[9])))
    return found, anything


def _holds_socket(pid: int, inode: int) -> bool:
    marker = f"socket:[{inode}]"
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == marker:
                return True
        except OSError:
            continue
    return False


def _owner_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def verify(port: int, home: Path) -> None:
    """Nothing, if what listens on loopback `port` is a server of the state directory `home`; a StrangerError
    (one sentence, naming the owner) otherwise."""
    from . import processes

    if not PROC_NET[0].exists():
        return  # no /proc/net: a platform that cannot tell (macOS); a single-user laptop
    sockets, anything = listening(port)
    if not anything:
        return  # the tables list no listening socket at all (WSL 1): they cannot tell
    me = os.geteuid()
    if not sockets:
        raise StrangerError(
            _("Nothing this lab can identify listens on port {port}; the lab sent it no password.").format(port=port)
        )
    for uid, inode in sockets:
        if uid != me:
            said = _("Port {port} is held by a program of another user ({user}), not by this lab's server: the lab "
                     "sent it no password.")  # fmt: skip
            raise StrangerError(said.format(port=port, user=_owner_name(uid)))
        if (port, inode) in _verified:
            continue
        if not any(_holds_socket(pid, inode) for pid in processes.lab_servers(home)):
            said = _("Port {port} is held by another program (not a server of this lab's state directory {home}): the "
                     "lab sent it no password.")  # fmt: skip
            raise StrangerError(said.format(port=port, home=home))
        _verified.add((port, inode))


def holder(port: int) -> str:
    """Who holds `port`, for a sentence: "a program of another user (bob)", or "another program"."""
    try:
        sockets, _anything = listening(port)
    except OSError:
        sockets = []
    others = sorted({_owner_name(uid) for uid, _inode in sockets if uid != os.geteuid()})
    if others:
        return _("a program of another user ({users})").format(users=", ".join(others))
    return _("another program")


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


def verify_owner(port: int) -> None:
    """Nothing, if what listens on loopback `port` is this user's (an endpoint the student runs themselves); a
    StrangerError naming the other user otherwise."""
    if not PROC_NET[0].exists():
        return
    sockets, anything = listening(port)
    others = sorted({_owner_name(uid) for uid, _inode in sockets if uid != os.geteuid()})
    if anything and others:
        said = _("Port {port} is held by a program of another user ({users}), not by the Redis you gave as the "
                 "endpoint: the lab sent it no password.")  # fmt: skip
        raise StrangerError(said.format(port=port, users=", ".join(others)))


class Guard:
    """redis-py's `redis_connect_func` for the lab's clients: once the socket is connected and before anything is
    sent on it (AUTH, HELLO), check who listens; then the usual handshake. `home` None: an endpoint's client on
    loopback, which must only be this user's."""

    def __init__(self, home: Path | None):
        self.home = home

    def check(self, connection) -> None:
        host, port = str(getattr(connection, "host", "")), getattr(connection, "port", 0)
        if is_loopback(host):
            try:
                verify(int(port), self.home) if self.home is not None else verify_owner(int(port))
            except StrangerError as exc:
                raise _stranger_connection_error(str(exc)) from None

    def __call__(self, connection) -> None:
        self.check(connection)
        connection.on_connect()


def _stranger_connection_error(sentence: str):
    """A redis-py ConnectionError: every caller already handles a refused connection (a probe says "held by
    another program", a lookup answers from the database); redis-py closes the socket."""
    global _StrangerConnectionError
    if _StrangerConnectionError is None:
        import redis

        _StrangerConnectionError = type("StrangerConnectionError", (redis.ConnectionError,), {})
    return _StrangerConnectionError(sentence)


_StrangerConnectionError = None


def is_stranger(exc: BaseException) -> bool:
    """Whether `exc` is the refusal above (a listener that is not this lab's server), whatever its language."""
    return any(kind.__name__ == "StrangerConnectionError" for kind in type(exc).__mro__)
