"""The lab's passwords and ACL users: generated on first start, kept in the state directory (mode 0600).

Four Redis users exist on both servers:

- `default` — the admin the notebooks use. It is Redis's built-in user, given a password, so that
  `REDISCLI_AUTH` makes the workshop's `redis-cli -p 6380 ...` commands work exactly as written;
- `app` — the cache's restricted user: keys `cache:*` only, the few string/TTL commands the cache needs;
- `replication` — what the replica logs in as on the master: PSYNC/REPLCONF/PING and nothing else;
- `sentinel` — what the sentinels log in as: the commands a failover needs (INFO, ROLE, REPLICAOF, ...).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import _
from .private import private_dir, write_private

FILE = "credentials.json"
ADMIN_USER = "default"
APP_USER = "app"
REPLICATION_USER = "replication"
SENTINEL_USER = "sentinel"
# The ACL documentation's rule for a Sentinel user ("ACL rules for Sentinel and Replicas"), plus
# +replicaof.
SENTINEL_RULES = (
    "allchannels +multi +slaveof +replicaof +ping +exec +subscribe +config|rewrite +role +publish +info "
    "+client|setname +client|kill +script|kill"
)

# The string and TTL commands a cache-aside lookup is written with, in any of the usual idioms (`set(ex=)`,
# `setex`, `psetex`, `getex`, `expire` after `set`...): the exercises' texts list them (a test compares).
KEY_COMMANDS = (
    "get", "set", "setex", "psetex", "setnx", "getex", "getdel", "mget", "del", "unlink", "exists", "ttl", "pttl",
    "expire", "pexpire", "expireat", "pexpireat", "persist",
)  # fmt: skip
# What the cache-aside lookup needs, and nothing more (no KEYS/SCAN, no FLUSH*, no CONFIG, no admin).
APP_COMMANDS = (
    *(f"+{name}" for name in KEY_COMMANDS),
    "+ping", "+auth", "+hello", "+echo",
    # the stampede lock's owner-checked release: WATCH the lock, then MULTI/EXEC (no scripts: EVAL would let
    # any student run a loop that blocks everyone's lookups)
    "+watch", "+unwatch", "+multi", "+exec", "+discard",
    # what a cluster-aware client needs to find its way (the cluster chapter): topology, command table
    "+cluster|slots", "+cluster|shards", "+command", "+readonly",
)  # fmt: skip
APP_KEYS = "~cache:*"


def key_commands_text() -> str:
    """What the exercises' `r` may run, as their texts say it."""
    return ", ".join(name.upper() for name in KEY_COMMANDS)


@dataclass(frozen=True)
class Credentials:
    """One password per user. Never printed: its repr hides the values."""

    admin: str
    app: str
    replication: str
    sentinel: str  # what the sentinels log in to the servers as (their ACL user)
    sentinels: str  # what the sentinels ask of each other and of their clients: never the admin's password

    def __repr__(self) -> str:
        return "Credentials(admin=***, app=***, replication=***, sentinel=***, sentinels=***)"

    def values(self) -> tuple[str, ...]:
        return (self.admin, self.app, self.replication, self.sentinel, self.sentinels)


def _new_password() -> str:
    return secrets.token_urlsafe(36)  # 48 characters, URL-safe: no quoting trouble in a conf file


FIELDS = ("admin", "app", "replication", "sentinel", "sentinels")
PASSWORD = re.compile(r"[A-Za-z0-9_-]{16,200}")  # what _new_password makes: nothing a conf file could misread


def _read(home: Path) -> dict:
    """The file's passwords, checked: each one the kind the lab makes (a space or a line break in one would
    become a directive of the servers' runtime conf — `bind 0.0.0.0`)."""
    path = home / FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError):
        raise LabError(_damaged(path)) from None
    if not isinstance(data, dict):
        raise LabError(_damaged(path))
    wrong = [f for f in FIELDS if f in data and not (isinstance(data[f], str) and PASSWORD.fullmatch(data[f]))]
    if wrong:  # never replaced silently: running servers still use the passwords that were there
        said = _("{path} is damaged (field {field} is not a password the lab makes). Restore it from a copy, or start "
                 "afresh: {down} (it finds the servers without passwords), delete the file, {up}.")  # fmt: skip
        raise LabError(said.format(path=path, field=repr(wrong[0]), down=fix.command("down"), up=fix.command("up")))
    return data


def _damaged(path: Path) -> str:
    return _("{path} is damaged; delete it and run {restart}.").format(path=path, restart=fix.command("down && up"))


def load_or_create(home: Path) -> Credentials:
    """Read the state directory's credentials, creating them (mode 0600) on first use; a password a newer
    version of the lab needs is added to an older file (only `up` does that: it then restarts what needs it)."""
    data = _read(home)
    missing = [f for f in FIELDS if f not in data]
    if missing:
        data.update({f: _new_password() for f in missing})
        private_dir(home)
        write_private(home / FILE, json.dumps(data))
    return Credentials(*(data[f] for f in FIELDS))


def rotate(home: Path) -> Credentials:
    """New passwords for every user (the lab met a stranger on its port: whatever the old ones were, they are
    no longer used). Only while none of the lab's servers runs with the old ones."""
    data = {f: _new_password() for f in FIELDS}
    private_dir(home)
    write_private(home / FILE, json.dumps(data))
    return Credentials(*data.values())


def load(home: Path) -> Credentials:
    """Read the credentials (never writing them: a reading command changes nothing); a LabError if the lab was
    never started here, or by a version whose file lacks a password today's needs."""
    data = _read(home)
    if not data:
        raise LabError(
            _("The lab has not been started in {home} yet; start it with {up}.").format(home=home, up=fix.command("up"))
        )
    missing = [f for f in FIELDS if f not in data]
    if missing:
        said = _("The lab in {home} was started by an older version of the workbook; {up} brings it up to date.")
        raise LabError(said.format(home=home, up=fix.command("up")))
    return Credentials(*(data[f] for f in FIELDS))


def acl_lines(creds: Credentials) -> list[str]:
    """The `user` directives written into each server's runtime configuration."""
    return [
        f"user {ADMIN_USER} reset on >{creds.admin} ~* &* +@all",
        f"user {APP_USER} reset on >{creds.app} resetkeys {APP_KEYS} resetchannels -@all {' '.join(APP_COMMANDS)}",
        f"user {REPLICATION_USER} reset on >{creds.replication} resetkeys resetchannels -@all +psync +replconf +ping",
        f"user {SENTINEL_USER} reset on >{creds.sentinel} resetkeys {SENTINEL_RULES}",
    ]
