"""Files and folders only you can read: the state directory holds passwords, and a shared host (thirty
students on one JupyterHub) has other users.

Every secret is written 0600 from its first byte (a new file, renamed into place, never an old file
rewritten), inside a 0700 directory; the servers the lab starts run with a umask of 077, so the files Redis
and Sentinel write themselves (`CONFIG REWRITE`, data, logs) are private too. `up` repairs modes it finds
too open, and `doctor` reports them.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

UMASK = 0o077  # for the processes the lab starts: what they create is theirs alone
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) as needed; `path` itself is 0700, whoever created it first."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(DIR_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` into `path` as a new 0600 file, renamed into place: no moment where it is readable by others."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def too_open(home: Path) -> list[Path]:
    """Folders and files under the state directory that other users could read (links are not followed)."""
    found = []
    if not home.is_dir():
        return found
    for root, dirs, files in os.walk(home):
        for name in [*dirs, *files]:
            path = Path(root, name)
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                found.append(path)
    if stat.S_IMODE(home.stat().st_mode) & 0o077:
        found.insert(0, home)
    return found


def repair(home: Path) -> list[Path]:
    """Make every folder 0700 and every file 0600 under the state directory; the paths that were changed."""
    fixed = []
    for path in too_open(home):
        try:
            path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)
            fixed.append(path)
        except OSError:
            pass
    return fixed


def readable_by_others(path: Path) -> bool:
    """Whether other users can list `path` (a folder): it lets them (r-x for others) and every folder above it
    lets them through."""
    try:
        if not stat.S_IMODE(path.stat().st_mode) & 0o005 == 0o005:
            return False
        return all(stat.S_IMODE(parent.stat().st_mode) & 0o001 for parent in path.resolve().parents)
    except OSError:
        return False


def other_people() -> list[str]:
    """The other people with an account here (uid 1000 and up, a login shell): a shared host when any."""
    try:
        import pwd
    except ImportError:
        return []
    me = os.geteuid()
    return sorted(u.pw_name for u in pwd.getpwall() if u.pw_uid >= 1000 and u.pw_uid != me and u.pw_uid < 60000
                  and not u.pw_shell.endswith(("nologin", "false")))  # fmt: skip
