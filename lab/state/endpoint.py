"""An external Redis: a managed one, or a server on another machine, that the lab did not start.

One place gives it: `LAB_REDIS_URL` (e.g. `rediss://user:password@host:6380/0`: `rediss` is TLS), or the
file `endpoint.url` in the state directory (`./workbook endpoint set URL`: mode 0600, git-ignored with
the rest of the state). `LAB_REDIS_REPLICA_URL` may name a replica to read from. While an endpoint is set,
`lab.up()` starts nothing (it checks the endpoint answers), clients connect to it as its URL's user, and the
chapters that must start or kill servers say so and are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core import fix
from ..core.errors import LabError
from ..core.i18n import _
from . import processes, settings
from .private import write_private
from .urls import passwords, redact  # noqa: F401  (the lab's callers use endpoint.redact)

FILE = settings.ENDPOINT_FILE
VARIABLE = "LAB_REDIS_URL"  # (read in settings, like every LAB_ variable)


class ChapterSkipped(LabError):
    """A chapter that needs the lab's own servers, while an external endpoint is set."""


def url(role: str = "master", s: settings.Settings | None = None) -> str | None:
    """The external endpoint's URL for `role`, or None when the lab runs its own servers."""
    return (s or settings.load()).endpoint(role)


def is_external(s: settings.Settings | None = None) -> bool:
    return (s or settings.load()).is_external


def save(address: str) -> Path:
    """Remember an endpoint in the state directory (mode 0600)."""
    if not re.match(r"^(redis|rediss|unix)://", address):
        said = _("{url} is not a Redis URL; use redis://[user:password@]host:port/0 (rediss:// for TLS).")
        raise LabError(said.format(url=repr(redact(address))))
    settings.check_endpoint_url(address)
    s = settings.load()
    s.ensure_home()
    if processes.lab_servers(s.home):
        said = _("The lab's own servers are running: one lab, one Redis. Stop them first with {down}, then set the "
                 "endpoint again.")  # fmt: skip
        raise LabError(said.format(down=fix.command("down")))
    path = s.path(FILE)
    write_private(path, address + "\n")
    return path


def clear() -> bool:
    path = settings.home_dir() / FILE  # (not settings.load(): the endpoint being cleared may be the broken part)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def require_local_lab(reason: str) -> None:
    """Stop a chapter that must start or kill servers while an external endpoint is set (one sentence)."""
    if is_external():
        said = _("This chapter needs the lab's own servers ({reason}), so it is skipped while the lab uses the "
                 "external Redis {url}; unset {variable} (or {clear}) to run it.")  # fmt: skip
        raise ChapterSkipped(
            said.format(reason=reason, url=redact(url()), variable=VARIABLE, clear=fix.command("endpoint clear"))
        )
