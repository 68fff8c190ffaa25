"""Small display helpers for the chapters: a file, a function's source, a redacted runtime config, a status table."""

from __future__ import annotations

import inspect
import os
import re
import shlex
from pathlib import Path

from ..state import settings


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def show_file(path: str | Path, language: str = "") -> object:
    """A file of the repository as a Markdown code block (e.g. `conf/master.conf`)."""
    full = Path(path) if Path(path).is_absolute() else settings.REPO_ROOT / path
    return _markdown(f"**`{full.relative_to(settings.REPO_ROOT)}`**\n\n```{language}\n{full.read_text()}```")


def show_source(obj: object) -> object:
    """The real code of a lab function, so the narrative never drifts from the library."""
    module = inspect.getmodule(obj)
    where = f"{module.__name__}" if module else ""
    return _markdown(f"*from `{where}`*\n\n```python\n{inspect.getsource(obj)}```")


def redact(text: str) -> str:
    """Hide every password in a Redis config text (`>secret` in ACL rules, `masterauth secret`)."""
    text = re.sub(r">\S+", ">***", text)
    return re.sub(r"(?m)^(masterauth|requirepass)\s+\S+", r"\1 ***", text)


def show_runtime_conf(role: str) -> object:
    """What the lab adds to `conf/<role>.conf` at start, with the passwords hidden."""
    from ..servers.nodes import pair_nodes

    node = pair_nodes(settings.load())[role]
    text = redact(node.runtime_conf.read_text()).replace(str(settings.REPO_ROOT), "<repo>")
    return _markdown(f"**the {role}'s runtime configuration** (passwords hidden)\n\n```\n{text}```")


def status_table():
    """`lab.status()` as a pandas DataFrame, one row per server."""
    import pandas as pd

    from ..servers.health import status

    return pd.DataFrame([r.as_dict() for r in status()]).set_index("role").drop(columns=["log"])


def redis_cli(lab, role: str, *args: str) -> None:
    """Run `redis-cli` as the workshop does — `redis-cli -p 6380 get cache:test-key` — and print the command, as
    you would type it, with its answer. The password travels in REDISCLI_AUTH, never on the command line, and only
    to this lab's own server (or the external Redis you gave, with its host, user and TLS)."""
    import subprocess
    from urllib.parse import unquote, urlsplit

    from ..state import binaries, credentials, listeners

    s = lab.settings
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    if s.is_external:
        url = urlsplit(s.endpoint(role) or s.endpoint("master"))
        if url.scheme == "unix":
            where = ["-s", url.path]
        else:
            host, port = url.hostname or "127.0.0.1", url.port or 6379
            if listeners.is_loopback(host):
                listeners.verify_owner(port)  # a Redis on this host: only this user's gets the password
            where = ["-h", host, "-p", str(port)]
            where += ["--tls"] if url.scheme == "rediss" else []
        where += ["--user", unquote(url.username)] if url.username else []
        if url.password:
            env["REDISCLI_AUTH"] = unquote(url.password)
    else:
        port = s.master_port if role == "master" else s.replica_port
        listeners.verify(port, s.home)  # the password goes to this lab's server, or nowhere
        where = ["-p", str(port)]
        env["REDISCLI_AUTH"] = credentials.load(s.home).admin
    command = [*where, *args]
    done = subprocess.run([binaries.cli(s.redis_cli).path, *command], env=env, capture_output=True, text=True,
                          timeout=10)  # fmt: skip
    print("$ redis-cli " + " ".join(shlex.quote(a) for a in command))
    print((done.stdout + done.stderr).rstrip())
