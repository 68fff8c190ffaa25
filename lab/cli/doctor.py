"""`./workbook doctor` (`lab.doctor.show()` in a notebook): one ✅/❌ line per thing the lab needs, each ❌ with the
command that fixes it."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from ..core import fix, marks
from ..core.errors import LabError
from ..core.i18n import N_, _, ngettext
from ..servers import drift
from ..state import binaries, credentials, platform, settings
from ..state.listeners import holder
from ..state.private import too_open

SERVERS = {"master": N_("master server"), "replica": N_("replica server")}  # a check's name: _(SERVERS[role])


@dataclass(frozen=True)
class Check:
    """One thing the lab needs, and whether this machine has it (a doctor's line, not a chapter's mark)."""

    name: str
    ok: bool
    detail: str = ""
    hint: str = ""
    advice: bool = False  # a warning: said, with its fix, but it fails nothing
    server: bool = False  # a lab server's own line (the checks that need the servers run when all of these pass)

    @property
    def status(self) -> str:
        return "pass" if self.ok else "warn" if self.advice else "fail"

    def line(self) -> str:
        text = f"{marks.plain(self.status)} {self.name}" + (f" — {self.detail}" if self.detail else "")
        return text + ("\n   " + _("fix:") + f" {self.hint}" if not self.ok and self.hint else "")


def _python() -> Check:
    in_venv = sys.prefix != sys.base_prefix
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 10) and in_venv
    where = _(", virtualenv {prefix}").format(prefix=sys.prefix) if in_venv else _(", not in the workbook's .venv")
    return Check(
        _("Python and venv"),
        ok,
        f"Python {version}{where}",
        _("{command}   (in a terminal, from the clone; Python 3.10 or newer is needed)").format(
            command="./workbook setup"
        ),
    )


def _platform() -> Check:
    p = platform.detect()
    return Check(_("Platform"), p.supported, p.name, p.install_command)


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
        return Check(_("State directory"), False, str(exc), "export LAB_HOME=$HOME/.redis-lab")
    return Check(_("State directory"), True, str(s.home))


def _servers(s: settings.Settings) -> list[Check]:
    from ..servers.health import status, topology_problem

    checks = []
    rows = status()
    for row in rows:
        name = _(SERVERS.get(row.role, row.role))
        if row.state == "up":
            detail = _("port {port}, pid {pid}, Redis {version}").format(
                port=row.port, pid=row.pid, version=row.version
            )
            checks.append(Check(name, True, detail, server=True))
        elif row.state == "hung":
            checks.append(
                Check(name, False, _("port {port} does not answer (hung or busy)").format(port=row.port),
                      _("kill -CONT {pid}   (if you stopped it), else: {command}").format(
                          pid=row.pid, command=fix.plain("down && up")) if row.pid else fix.plain("down && up"),
                      server=True)
            )  # fmt: skip
        elif row.state == "foreign":
            checks.append(
                Check(
                    name,
                    False,
                    _("port {port} is held by {program}").format(port=row.port, program=holder(row.port)),
                    _("{command}   (or stop that program)").format(command=fix.plain("up --ports auto")),
                    server=True,
                )
            )
        else:
            detail = _("port {port}: not running").format(port=row.port)
            checks.append(Check(name, False, detail, fix.plain("up"), server=True))
    replica = rows[1]
    if replica.state == "up":
        link = _("replica link {status}").format(status=replica.link_status)
        checks.append(Check(_("Replication"), replica.link_status == "up", link, fix.plain("up")))
    if all(r.state == "up" for r in rows):
        problem = topology_problem(rows)
        checks.append(Check(_("One master, one replica"), problem is None, problem or _("master → replica"),
                            fix.plain("up")))  # fmt: skip
    return checks


def _groups(s: settings.Settings) -> list[Check]:
    """The sentinels' and the cluster's remembered ports: still free for them, or theirs."""
    from ..servers import cluster, sentinel
    from ..state.ports import held_by_stranger

    checks = []
    for name, what, given, remembered, verb in (
        (N_("Ports of sentinels"), "the sentinels'", s.sentinel_ports, sentinel.PORTS_FILE, "up --sentinel"),
        (N_("Ports of cluster nodes"), "the cluster nodes'", s.cluster_ports, cluster.PORTS_FILE, "cluster up"),
    ):
        if given or not s.path(remembered).exists():
            continue
        held = held_by_stranger(given, remembered, what)  # (`what` is a piece of that function's sentence)
        checks.append(Check(_(name), held is None, held or _("free, or held by this lab"),
                            _("{command}   (chooses free ones)").format(command=fix.plain(verb))))  # fmt: skip
    return checks


def _clone() -> list[Check]:
    """On a shared host, whether classmates can read this clone (its notebooks hold the student's answers)."""
    from ..state.private import other_people, readable_by_others

    people = other_people()
    if not people:
        return []
    open_to_others = readable_by_others(settings.REPO_ROOT)
    detail = (
        _("{clone} can be read by other users here (e.g. {user}): your notebooks hold your answers")
        if open_to_others
        else _("{clone} is yours alone")
    )
    detail = detail.format(clone=settings.REPO_ROOT, user=people[0])
    return [Check(_("Your answers private"), not open_to_others, detail, f"chmod 700 {settings.REPO_ROOT}",
                  advice=True)]  # fmt: skip


def _privacy(s: settings.Settings) -> Check:
    exposed = too_open(s.home)
    detail = (
        ngettext("{count} path readable by other users, e.g. {example}",
                 "{count} paths readable by other users, e.g. {example}", len(exposed)).format(
            count=len(exposed), example=exposed[0])
        if exposed
        else _("0700 folder, 0600 files")
    )  # fmt: skip
    return Check(_("State directory private"), not exposed, detail,
                 _("{command}   (repairs the modes)").format(command=fix.plain("up")))  # fmt: skip


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
            _("Password required"),
            required,
            _("a client without the password is refused") if required else _("the master answers without a password"),
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
            _("App user restricted"),
            refused,
            _("`app` may not run CONFIG") if refused else _("`app` may run CONFIG"),
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
    checks.append(Check(_("Disk space for the servers' files"), free >= drift.LOW_DISK,
                        _("{megabytes} MB free under {home}").format(megabytes=free // 2**20, home=s.home),
                        _("free some space on that disk (Redis refuses writes when it cannot write its AOF), then "
                          "{command}").format(command=fix.plain("up"))))  # fmt: skip
    try:
        with client("master", s=s) as c:
            with client("replica", s=s) as r:
                changed = {"master": drift.drifted(c, "master"), "replica": drift.drifted(r, "replica")}
            users = drift.users_drifted(c, credentials.load(s.home))
            probe = f"lab-doctor-{os.getpid()}"
            c.set(probe, "written", px=1000)
            c.delete(probe)
        wrote, why = True, _("SET and DEL on the master")
    except redis.ResponseError as exc:  # MISCONF (no disk), OOM (maxmemory with noeviction), READONLY...
        wrote, why = False, str(exc).splitlines()[0][:160]
        changed, users = {}, []
    differences = [f"{name} {have} (conf/{role}.conf: {want})" for role, found in changed.items()
                   for name, (have, want) in found.items()]  # fmt: skip
    back = _("{command}   (puts them back)").format(command=fix.plain("up"))
    checks.append(Check(_("Settings as conf/ gives them"), not differences,
                        "; ".join(differences) or _("maxmemory, eviction policy, persistence, replication timeouts"),
                        back))  # fmt: skip
    checks.append(Check(_("ACL users as the lab made them"), not users,
                        _("changed by hand: {users}").format(users=", ".join(users)) if users
                        else "default, app, replication, sentinel", back))  # fmt: skip
    checks.append(Check(_("A write succeeds"), wrote, why, _("{doctor} names the cause above; then {up}").format(
                        doctor=fix.plain("doctor"), up=fix.plain("up"))))  # fmt: skip
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
        rows_up = all(c.ok for c in server_checks if c.server)
    if rows_up and (s.home / credentials.FILE).exists():
        checks += _auth(s)
        checks += _runtime(s)
    return checks


def show() -> None:
    """Print every check, one line each (a notebook's `lab.doctor.show()`)."""
    for check in run():
        print(check.line())
