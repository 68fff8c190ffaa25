"""Starting JupyterLab on the chapters and the cache form as a Voilà app: on loopback, as root where
students run as root (containers, WSL), on a chosen port, without warnings that read like errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _, current
from ..servers import pair as servers
from ..state import settings
from ..state.ports import port_taken
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


def _with_this_clone() -> dict[str, str]:
    """The environment for JupyterLab or Voilà and their kernels: this clone's `lab` first on the path (as
    `./workbook` gives it; a hub's server proxy starts the app without the bootstrap)."""
    path = os.pathsep.join(p for p in (str(settings.REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def free_from(port: int, what: str, chosen: bool) -> int:
    """`port`, or — when it is taken (a classmate's Jupyter on a shared host) and was not asked for with --port —
    the next free one, said in a sentence."""
    if not port_taken(port):
        return port
    if chosen:
        raise LabError(_("Port {port} for {what} is taken (another program?); choose another with --port, e.g. "
                         "--port {next}.").format(port=port, what=what, next=port + 1))  # fmt: skip
    for candidate in range(port + 1, port + 100):
        if not port_taken(candidate):
            print(_("Port {port} is taken (another user's {what}?): {what} uses port {candidate} instead.").format(
                port=port, what=what, candidate=candidate), flush=True)  # fmt: skip
            return candidate
    raise LabError(_("Ports {first} to {last} are all taken; choose a free one with --port.").format(
        first=port, last=port + 99))  # fmt: skip


def lab(port_text: str | None = None, no_browser: bool = False) -> int:
    """`./workbook lab`: start the lab, then JupyterLab on notebooks/ (as root too, on a chosen port)."""
    port = free_from(settings.parse_port(port_text, "--port") if port_text else 8888, "JupyterLab", bool(port_text))
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
    if current() != "en":  # the chapters of the language asked for (notebooks/fr/), the whole tree beside them
        cmd.append(f"--ServerApp.default_url=/lab/tree/{current()}")
    print(
        _("JupyterLab: open the link it prints (on WSL, paste it into your Windows browser). Ctrl+C stops it;"
          " the Redis servers keep running until {down}.").format(down="`./workbook down`"), flush=True,
    )  # fmt: skip
    # ...and no "get notified about Jupyter news?" popup: the announcements plugin is off in the lab's own
    # Jupyter config folder (an extra config path: the student's own settings are untouched)
    extra = os.pathsep.join(p for p in (str(JUPYTER_CONFIG), os.environ.get("JUPYTER_CONFIG_PATH", "")) if p)
    try:
        code = subprocess.call(cmd, env={**_with_this_clone(), "JUPYTER_CONFIG_PATH": extra})
    except KeyboardInterrupt:
        return 0
    if code not in (0, 130, -2):
        print(_("❌ JupyterLab stopped with status {code} (its message is above); the Redis servers still run: "
                "{down} stops them.").format(code=code, down="`./workbook down`"), file=sys.stderr)  # fmt: skip
    return code


def _app_notebook() -> Path:
    """The form app's notebook in the current language (`notebooks/fr/app/` in French)."""
    french = settings.NOTEBOOKS_DIR / current() / settings.APP_NOTEBOOK.relative_to(settings.NOTEBOOKS_DIR)
    return french if current() != "en" and french.exists() else settings.APP_NOTEBOOK


def app(port_text: str | None = None, base_url: str = "/") -> int:
    """`./workbook app`: the cache form as a standalone Voilà app on 127.0.0.1."""
    s = settings.load()
    given = bool(port_text) or s.app_port_from_environment
    port = free_from(settings.parse_port(port_text, "--port") if port_text else s.app_port, _("the app"), given)
    servers.up()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(_app_notebook()),
        f"--port={port}",
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=False",
        # behind a hub's proxy, which strips its prefix: routes at /, links and the kernel's socket under it
        f"--Voila.base_url={base_url if base_url.endswith('/') else base_url + '/'}",
        "--Voila.server_url=/",
    ]
    print(
        _("The cache form app: {url}   (Ctrl+C stops it)").format(url=f"http://127.0.0.1:{port}{base_url}"), flush=True
    )
    try:
        return subprocess.call(cmd, cwd=_app_notebook().parent, env=_with_this_clone())
    except KeyboardInterrupt:
        return 0
