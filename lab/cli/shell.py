"""The lab's connection details as shell exports, so that the workshop's redis-cli commands work as written."""

from __future__ import annotations

import os
import shlex

from ..state import credentials, settings
from ..state.binaries import BIN_DIR


def exports(s: settings.Settings | None = None) -> dict[str, str]:
    """Variables that let `redis-cli -p 6380 ...` reach the lab: password, ports, the chosen binaries first on PATH."""
    s = s or settings.load()
    creds = credentials.load(s.home)
    return {
        "REDISCLI_AUTH": creds.admin,
        "LAB_HOME": str(s.home),
        "LAB_MASTER_PORT": str(s.master_port),
        "LAB_REPLICA_PORT": str(s.replica_port),
        "PATH": f"{s.path(BIN_DIR)}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def shell_script(s: settings.Settings | None = None) -> str:
    """`export` lines for `eval "$(./workbook env)"`."""
    s = s or settings.load()
    lines = [
        '# eval "$(./workbook env)"  — then: redis-cli -p $LAB_MASTER_PORT ping',
        "# REDISCLI_AUTH is the lab's admin password: redis-cli sends it to whatever answers on the port you",
        "# give it. On a shared host, use it only while `./workbook status` shows the lab up on that port.",
    ]
    for name, value in exports(s).items():
        if name == "PATH":
            lines.append(f'export PATH={shlex.quote(str(s.path(BIN_DIR)))}:"$PATH"')
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    if (s.master_port, s.replica_port) != (settings.DEFAULT_MASTER_PORT, settings.DEFAULT_REPLICA_PORT):
        lines.append(
            f"# this lab runs on ports {s.master_port}/{s.replica_port}: use them where the workshop says 6380/6381"
        )
    return "\n".join(lines)


def export_env() -> None:
    """Set those variables in this process (a notebook kernel), so `!redis-cli` works; prints nothing."""
    os.environ.update(exports())
