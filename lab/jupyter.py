"""Starting JupyterLab on the chapters and the cache form as a Voilà app: on loopback, as root where
students run as root (containers, WSL), on a chosen port, without warnings that read like errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import servers, settings
from .errors import LabError
from .ports import port_taken
from .shell import export_env

# JupyterLab, without the deprecation warnings of its own extensions (Voilà turns traitlets' back on at
# import; they read like errors to a student and are nothing they can fix).
_QUIET_JUPYTER = """
import sys, warnings
import voila  # noqa: F401  (its import re-enables the warnings: silence them after it)
warnings.filterwarnings("ignore", category=DeprecationWarning)
from jupyterlab.labapp import main
sys.exit(main())
"""


JUPYTER_CONFIG = Path(__file__).parent / "jupyter_config"


def align_language_info(folder: Path = settings.NOTEBOOKS_DIR) -> list[Path]:
    """Give every notebook this kernel's `language_info` (Python's version among it) before JupyterLab opens
    them: JupyterLab writes the kernel's into a notebook it opens, and a notebook that differs shows as
    modified the moment it is opened. Only that metadata changes; the notebooks that were rewritten."""
    import json

    from ipykernel.ipkernel import IPythonKernel

    wanted = IPythonKernel.language_info
    changed = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a notebook JupyterLab will say it cannot read
        if nb.get("metadata", {}).get("language_info") == wanted:
            continue
        nb.setdefault("metadata", {})["language_info"] = wanted
        try:
            path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError:
            continue  # a read-only copy: it opens "modified", nothing worse
        changed.append(path)
    return changed


def lab(port_text: str | None = None, no_browser: bool = False) -> int:
    """`./workbook lab`: start the lab, then JupyterLab on notebooks/ (as root too, on a chosen port)."""
    port = settings.parse_port(port_text, "--port") if port_text else 8888
    if port_taken(port):
        raise LabError(f"Port {port} for JupyterLab is taken (another Jupyter?); choose another with --port, e.g. "
                       f"`./workbook lab --port {port + 1}`.")  # fmt: skip
    print(servers.up())
    export_env()
    align_language_info()
    cmd = [
        sys.executable,
        "-c",
        _QUIET_JUPYTER,
        f"--notebook-dir={settings.NOTEBOOKS_DIR}",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--log-level=WARN",
        "--KernelManager.transport=ipc",  # kernels over local sockets: private to you, nothing sent in clear
        "--LabApp.news_url=None",  # no Jupyter news fetched from the web...
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and WSL often run as root; Jupyter refuses it unless told
    if no_browser:
        cmd.append("--no-browser")
    print(
        "JupyterLab: open the link it prints (on WSL, paste it into your Windows browser). Ctrl+C stops it;"
        " the Redis servers keep running until `./workbook down`.", flush=True,
    )  # fmt: skip
    # ...and no "get notified about Jupyter news?" popup: the announcements plugin is off in the lab's own
    # Jupyter config folder (an extra config path: the student's own settings are untouched)
    extra = os.pathsep.join(p for p in (str(JUPYTER_CONFIG), os.environ.get("JUPYTER_CONFIG_PATH", "")) if p)
    try:
        code = subprocess.call(cmd, env={**os.environ, "JUPYTER_CONFIG_PATH": extra})
    except KeyboardInterrupt:
        return 0
    if code not in (0, 130, -2):
        print(f"❌ JupyterLab stopped with status {code} (its message is above); the Redis servers still run: "
              "`./workbook down` stops them.", file=sys.stderr)  # fmt: skip
    return code


def app(port_text: str | None = None) -> int:
    """`./workbook app`: the cache form as a standalone Voilà app on 127.0.0.1."""
    s = settings.load()
    port = settings.parse_port(port_text, "--port") if port_text else s.app_port
    if port_taken(port):
        raise LabError(f"Port {port} for the app is taken; free it or choose another with --port or LAB_APP_PORT.")
    servers.up()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(settings.APP_NOTEBOOK),
        f"--port={port}",
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=False",
    ]
    print(f"The cache form app: http://127.0.0.1:{port}/   (Ctrl+C stops it)", flush=True)
    try:
        return subprocess.call(cmd, cwd=settings.APP_NOTEBOOK.parent)
    except KeyboardInterrupt:
        return 0
