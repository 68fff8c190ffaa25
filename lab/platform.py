"""Which operating system this is (Linux, WSL1, WSL2, macOS, Windows) and how Redis is installed there."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


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


def detect(proc_version_file: str = "/proc/version") -> Platform:
    """Detect the platform this Python runs on."""
    if sys.platform == "darwin":
        return Platform("macOS", "brew install redis", "the lab starts its own servers; `brew services` is not needed")
    if os.name == "nt":
        return Platform(
            "Windows",
            "wsl --install -d Ubuntu   (then run the workbook inside Ubuntu)",
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
            "WSL may have no systemd: start the system's own Redis with `sudo service redis-server start` "
            "(the lab's servers need no service: `./workbook lab` starts them)",
        )
    return Platform("Linux", _linux_install_command(), "the lab starts its own servers; no system service is needed")
