"""Small display helpers for the chapters: a file, a function's source, a redacted runtime config, a status table."""

from __future__ import annotations

import inspect
import re
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
