"""What the lab relies on at run time, compared with what `conf/` says — and put back: a student's `CONFIG SET
maxmemory 2mb` with `noeviction`, an ACL user edited by hand, an interrupted lesson's shorter `repl-timeout`.
`doctor` reports the differences, `up` restores them; the disk the servers write to, and a write that
succeeds, are checked too (a full disk makes Redis refuse every write with MISCONF).
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

from ..core.i18n import _
from ..state import credentials
from ..state.settings import CONF_DIR

# the settings a lesson or a student may change at run time, and that the lab relies on (Redis' default when
# the conf file does not name it)
WATCHED = {"maxmemory": "0", "maxmemory-policy": "noeviction", "appendonly": "no", "appendfsync": "everysec",
           "replica-read-only": "yes", "repl-backlog-size": "1mb", "repl-timeout": "60",
           "repl-ping-replica-period": "10", "min-replicas-to-write": "0", "hz": "10"}  # fmt: skip
UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "gb": 1024**3, "g": 1000**3}
LOW_DISK = 64 * 2**20  # bytes free below which Redis' AOF and the lab's files are at risk


def _normal(value: str) -> str:
    """A setting as Redis answers it: memory sizes in bytes (`64mb` → 67108864)."""
    found = re.fullmatch(r"(\d+)\s*(b|k|kb|m|mb|g|gb)?", value.strip().lower())
    return str(int(found.group(1)) * UNITS[found.group(2) or ""]) if found else value.strip().lower()


def wanted(role: str) -> dict[str, str]:
    """The watched settings as `conf/<role>.conf` gives them (Redis' defaults where it does not)."""
    values = dict(WATCHED)
    for line in (CONF_DIR / f"{role}.conf").read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in WATCHED and not line.lstrip().startswith("#"):
            values[words[0]] = words[1].strip('"')
    return {name: _normal(value) for name, value in values.items()}


def drifted(client, role: str) -> dict[str, tuple[str, str]]:
    """{setting: (what the server has, what conf/ says)} for every watched setting that differs."""
    want = wanted(role)
    have = client.config_get("*")
    return {name: (have.get(name, "?"), value) for name, value in want.items() if _normal(have.get(name, "")) != value}


def restore(client, role: str) -> list[str]:
    """Put every drifted setting back; the names of those restored."""
    changed = drifted(client, role)
    for name, (_have, value) in changed.items():
        client.config_set(name, value)
    return list(changed)


def users_drifted(client, creds: credentials.Credentials) -> list[str]:
    """The lab's ACL users whose rules differ from the lab's (compared the way Redis itself normalises them: a
    probe user made with the lab's rules, read back beside the real one), and any user that is not the lab's."""
    ours = {line.split()[1] for line in credentials.acl_lines(creds)}
    stranger = _("{name} (not the lab's)")
    changed = [stranger.format(name=name) for name in client.acl_users() if name not in ours]
    for line in credentials.acl_lines(creds):
        words = line.split()
        name, rules = words[1], words[2:]
        probe = f"lab-probe-{secrets.token_hex(4)}"
        client.execute_command("ACL", "SETUSER", probe, *rules)
        try:
            mine, theirs = _rules(client, name), _rules(client, probe)
        finally:
            client.execute_command("ACL", "DELUSER", probe)
        if mine != theirs:
            changed.append(name)
    return changed


def _rules(client, name: str) -> dict:
    found = client.acl_getuser(name) or {}
    return {k: found.get(k) for k in ("flags", "passwords", "commands", "keys", "channels")}


def disk_free(home: Path) -> int:
    """Bytes free on the disk of the state directory (where the servers write their AOF and logs)."""
    try:
        return shutil.disk_usage(home).free
    except OSError:
        return 0
