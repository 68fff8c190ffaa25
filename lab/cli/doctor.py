"""`./workbook doctor` (`lab.doctor.show()` in a notebook): one ✅/❌ line per thing the lab needs, each ❌ with the command that fixes it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from ..core import fix, marks
from ..core.errors import LabError
from ..core.text import plural
from ..servers import drift
from ..state import binaries, credentials, platform, settings
from ..state.listeners import holder
from ..state.private import too_open


@dataclass(frozen=True)
class Check:
    """One thing the lab needs, and whether this machine has it (a doctor's line, not a chapter's mark)."""

    name: str
    ok: bool
    detail: str = ""
    hint: str = ""
    advice: bool = False  # a warning: said, with its fix, but it fails nothing

    @property
    def status(self) -> str:
        return "pass" if self.ok else "warn" if self.advice else "fail"

    def line(self) -> str:
        text = f"{marks.plain(self.status)} {self.name}" + (f" — {self.detail}" if self.detail else "")
        return text + (f"\n   fix: {self.hint}" if not self.ok and self.hint else "")


def _python() -> Check:
    in_venv = sys.prefix != sys.base_prefix
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 10) and in_venv
    detail = f"Python {version}" + (f", virtualenv {sys.prefix}" if in_venv else ", not in the workbook's .venv")
    return Check(
        "Python and venv",
        ok,
        detail,
        "./workbook setup   (in a terminal, from the clone; Python 3.10 or newer is needed)",
    )


def _platform() -> Check:
    p = platform.detect()
    return Check("Platform", p.supported, p.name, p.install_command)


def _binary(name: str, override: str | None) -> Check:
    try:
        found = binaries.find(name, override)
    except LabError as exc:
        return Check(name, False, str(exc), platform.detect().install_command)
    return Check(name, True, found.describe())


def _home(s: settings.Settings) -> Check:
    try:
        s.ensure_home()
    except LabError as exc:
        return Check("State directory", False, str(exc), "export LAB_HOME=$HOME/.redis-lab")
    return Check("State directory", True, str(s.home))


def _servers(s: settings.Settings) -> list[Check]:
    from ..servers.health import status, topology_problem

    checks = []
    rows = status()
    for row in rows:
        if row.state == "up":
            checks.append(Check(f"{row.role} server", True, f"port {row.port}, pid {row.pid}, Redis {row.version}"))
        elif row.state == "hung":
            checks.append(
                Check(f"{row.role} server", False, f"port {row.port} does not answer (hung or busy)",
                      f"kill -CONT {row.pid}   (if you stopped it), else: {fix.plain('down && up')}"
                      if row.pid else fix.plain("down && up"))
            )  # fmt: skip
        elif row.state == "foreign":
            checks.append(
                Check(
                    f"{row.role} server",
                    False,
                    f"port {row.port} is held by {holder(row.port)}",
                    f"{fix.plain('up --ports auto')}   (or stop that program)",
                )
            )
        else:
            checks.append(Check(f"{row.role} server", False, f"port {row.port}: not running", fix.plain("up")))
    replica = rows[1]
    if replica.state == "up":
        checks.append(
            Check("Replication", replica.link_status == "up", f"replica link {replica.link_status}", fix.plain("up"))
        )
    if all(r.state == "up" for r in rows):
        problem = topology_problem(rows)
        checks.append(Check("One master, one replica", problem is None, problem or "master → replica",
                            fix.plain("up")))  # fmt: skip
    return checks


def _groups(s: settings.Settings) -> list[Check]:
    """The sentinels' and the cluster's remembered ports: still free for them, or theirs."""
    from ..servers import cluster, sentinel
    from ..state.ports import held_by_stranger

    checks = []
    for what, given, remembered, verb in (
        ("the sentinels'", s.sentinel_ports, sentinel.PORTS_FILE, "up --sentinel"),
        ("the cluster nodes'", s.cluster_ports, cluster.PORTS_FILE, "cluster up"),
    ):
        if given or not s.path(remembered).exists():
            continue
        held = held_by_stranger(given, remembered, what)
        checks.append(Check(f"Ports of {what.removeprefix('the ').removesuffix(chr(39))}", held is None,
                            held or "free, or held by this lab", f"{fix.plain(verb)}   (chooses free ones)"))  # fmt: skip
    return checks


def _clone() -> list[Check]:
    """On a shared host, whether classmates can read this clone (its notebooks hold the student's answers)."""
    from ..state.private import other_people, readable_by_others

    people = other_people()
    if not people:
        return []
    open_to_others = readable_by_others(settings.REPO_ROOT)
    detail = (f"{settings.REPO_ROOT} can be read by other users here (e.g. {people[0]}): your notebooks hold your "
              "answers" if open_to_others else f"{settings.REPO_ROOT} is yours alone")  # fmt: skip
    return [Check("Your answers private", not open_to_others, detail, f"chmod 700 {settings.REPO_ROOT}", advice=True)]


def _privacy(s: settings.Settings) -> Check:
    exposed = too_open(s.home)
    detail = (
        f"{plural(len(exposed), 'path')} readable by other users, e.g. {exposed[0]}"
        if exposed
        else "0700 folder, 0600 files"
    )
    return Check("State directory private", not exposed, detail, f"{fix.plain('up')}   (repairs the modes)")


def _auth(s: settings.Settings) -> list[Check]:
    import redis

    from ..servers.clients import anonymous, client

    try:
        with anonymous("master", s) as nobody:
            nobody.ping()
        required = False
    except redis.AuthenticationError:
        required = True
    except (redis.ConnectionError, redis.TimeoutError):
        return []
    checks = [
        Check(
            "Password required",
            required,
            "a client without the password is refused" if required else "the master answers without a password",
            fix.plain("down && up"),
        )
    ]
    try:
        with client("master", "app", s=s) as app:
            app.config_get("maxmemory")  # harmless if it were allowed; an admin command the app must not have
        refused = False
    except redis.ResponseError:
        refused = True
    checks.append(
        Check(
            "App user restricted",
            refused,
            "`app` may not run CONFIG" if refused else "`app` may run CONFIG",
            fix.plain("down && up"),
        )
    )
    return checks


def _runtime(s: settings.Settings) -> list[Check]:
    """What the lab relies on while it runs: the settings conf/ gives, its ACL users, disk space, a write."""
    import redis

    from ..servers.clients import client

    checks = []
    free = drift.disk_free(s.home)
    checks.append(Check("Disk space for the servers' files", free >= drift.LOW_DISK,
                        f"{free // 2**20} MB free under {s.home}",
                        f"free some space on that disk (Redis refuses writes when it cannot write its AOF), then "
                        f"{fix.plain('up')}"))  # fmt: skip
    try:
        with client("master", s=s) as c:
            with client("replica", s=s) as r:
                changed = {"master": drift.drifted(c, "master"), "replica": drift.drifted(r, "replica")}
            users = drift.users_drifted(c, credentials.load(s.home))
            probe = f"lab-doctor-{os.getpid()}"
            c.set(probe, "written", px=1000)
            c.delete(probe)
        wrote, why = True, "SET and DEL on the master"
    except redis.ResponseError as exc:  # MISCONF (no disk), OOM (maxmemory with noeviction), READONLY...
        wrote, why = False, str(exc).splitlines()[0][:160]
        changed, users = {}, []
    differences = [f"{name} {have} (conf/{role}.conf: {want})" for role, found in changed.items()
                   for name, (have, want) in found.items()]  # fmt: skip
    checks.append(Check("Settings as conf/ gives them", not differences,
                        "; ".join(differences) or "maxmemory, eviction policy, persistence, replication timeouts",
                        f"{fix.plain('up')}   (puts them back)"))  # fmt: skip
    checks.append(Check("ACL users as the lab made them", not users,
                        f"changed by hand: {', '.join(users)}" if users else "default, app, replication, sentinel",
                        f"{fix.plain('up')}   (puts them back)"))  # fmt: skip
    checks.append(Check("A write succeeds", wrote, why, f"{fix.plain('doctor')} names the cause above; then "
                        f"{fix.plain('up')}"))  # fmt: skip
    return checks


def run() -> list[Check]:
    """All the checks, in the order a student fixes them."""
    s = settings.load()
    checks = [
        _python(),
        _platform(),
        _binary("redis-server", s.redis_server),
        _binary("redis-cli", s.redis_cli),
        _home(s),
    ]
    rows_up = False
    checks += _clone()
    if s.home.exists():
        checks.append(_privacy(s))
        checks += _groups(s)
        server_checks = _servers(s)
        checks += server_checks
        rows_up = all(c.ok for c in server_checks if c.name.endswith(" server"))
    if rows_up and (s.home / credentials.FILE).exists():
        checks += _auth(s)
        checks += _runtime(s)
    return checks


def show() -> None:
    """Print every check, one line each (a notebook's `lab.doctor.show()`)."""
    for check in run():
        print(check.line())
