"""A class on one JupyterHub: what `./workbook setup --hub` adds to a shared environment (the admin runs it once).

- a locator (a `.pth` line and a tiny module in the environment's site-packages): any Python of that
  environment — a kernel the hub starts, which never goes through `./workbook` — finds the student's own clone
  (`WORKBOOK_CLONE`, else the folder it runs in or one above it, else `~/redis-cache-workbook`) and imports
  `lab` from there; nothing per user to configure;
- jupyter-server-proxy entries, so that the cache form (Voilà) is reachable at `/user/<name>/cache-form/`, behind
  the student's own hub login (never open to other users; started on demand, on a free port).
"""

from __future__ import annotations

import json
import site
import sys
from pathlib import Path

from ..core.errors import LabError
from ..core.i18n import _

LOCATOR = "redis_workbook_locator"
CLONE_NAME = "redis-cache-workbook"  # where the README tells students to clone
LOCATOR_SOURCE = '''"""Written by `./workbook setup --hub`: lets a Python of this shared environment import `lab` from the
student's own clone of the Redis Cache Workbook. It only looks at folders; it never fails a start."""


def _find():
    import os
    from pathlib import Path

    given = os.environ.get("WORKBOOK_CLONE")
    places = [Path(given)] if given else []
    try:
        here = Path.cwd()
        places += [here, *here.parents]
    except OSError:
        pass
    places.append(Path.home() / "{clone}")
    for place in places:
        if (place / "lab" / "__init__.py").is_file() and (place / "workbook").is_file():
            return str(place)
    return None


def install():
    import sys
    from pathlib import Path

    if any((Path(p or ".") / "lab" / "__init__.py").is_file() for p in sys.path):
        return  # ./workbook already gave this process its clone (PYTHONPATH)
    found = _find()
    if found:
        sys.path.insert(0, found)


try:
    install()
except Exception:  # noqa: BLE001 - a start of Python must never fail because of this
    pass
'''


SINGLEUSER = """#!/bin/sh
# Written by `./workbook setup --hub`: what the hub starts for each student (c.Spawner.cmd). On the first start
# it clones the workbook for them from the admin's bundle, keeps the clone theirs alone (0700), then hands over
# to jupyterhub-singleuser, in this shared environment.
set -e
umask 077
clone="${{WORKBOOK_CLONE:-$HOME/{clone}}}"
source="${{WORKBOOK_SOURCE:-{source}}}"
if [ ! -e "$clone/workbook" ] && [ -r "$source" ]; then
  git clone --quiet "$source" "$clone"
fi
[ -d "$clone" ] && chmod 700 "$clone"
export WORKBOOK_VENV="{prefix}" PATH="{prefix}/bin:/usr/local/bin:/usr/bin:/bin"
exec "{prefix}/bin/jupyterhub-singleuser" "$@"
"""
SOURCE = "/srv/redis-workbook.bundle"  # where the README's admin steps put the workbook for students to clone


def server_proxy_config(python: str) -> dict:
    """jupyter-server-proxy's entries: the cache form at `<base_url>cache-form/`, started on demand."""
    return {
        "ServerProxy": {
            "servers": {
                "cache-form": {
                    "command": [python, "-m", "lab", "app", "--port", "{port}", "--base-url", "{base_url}cache-form/"],
                    "absolute_url": False,  # the proxy strips /user/<name>/cache-form: Voilà serves at /
                    "timeout": 120,
                    "launcher_entry": {"enabled": True, "title": _("Cache form (Voilà)")},
                }
            }
        }
    }


def install() -> list[Path]:
    """Write the locator and the server-proxy entries into this environment (sys.prefix); the files written."""
    if sys.prefix == sys.base_prefix:
        raise LabError(_("{setup} installs into a shared environment: run it as {command}.").format(
            setup="`setup --hub`", command="`WORKBOOK_VENV=/opt/redis-workbook ./workbook setup --hub`"))  # fmt: skip
    packages = Path(next(p for p in site.getsitepackages() if p.startswith(sys.prefix)))
    config = Path(sys.prefix, "etc", "jupyter")  # (a `.d` folder only enables extensions: settings go here)
    written = []
    try:
        (packages / f"{LOCATOR}.py").write_text(LOCATOR_SOURCE.replace("{clone}", CLONE_NAME))
        (packages / f"{LOCATOR}.pth").write_text(f"import {LOCATOR}\n")
        config.mkdir(parents=True, exist_ok=True)
        proxy = config / "jupyter_server_config.json"
        try:
            settings = json.loads(proxy.read_text())  # the environment's own settings, if it has any: kept
        except (OSError, ValueError):
            settings = {}
        settings.update(server_proxy_config(str(Path(sys.prefix, "bin", "python"))))
        proxy.write_text(json.dumps(settings, indent=2) + "\n")
        starter = Path(sys.prefix, "bin", "redis-workbook-singleuser")
        starter.write_text(SINGLEUSER.format(clone=CLONE_NAME, source=SOURCE, prefix=sys.prefix))
    except OSError as exc:
        raise LabError(_("Cannot write into the environment {prefix} ({cause}); run {setup} as the user who owns it "
                         "(the hub's admin).").format(prefix=sys.prefix, cause=exc.strerror, setup="`setup --hub`")
                       ) from None  # fmt: skip
    written += [packages / f"{LOCATOR}.py", packages / f"{LOCATOR}.pth", proxy]
    for path in written:
        path.chmod(0o644)  # readable by every student; writable by the admin only
    starter.chmod(0o755)
    return [*written, starter]
