"""The fix a sentence tells a student to run, written for where they will run it.

In a notebook the fix is a Python call (`lab.up()`), or a shell command that works from the notebook's folder
(`!../workbook endpoint clear`); in a terminal it is `./workbook VERB`, from the clone (the path is relative to
the folder the command was run in). Never `python -m lab …`: a fresh terminal has no venv on its PATH.

    fix.command("down && up")   # "`lab.down(); lab.up()`" in a notebook, "`./workbook down && ./workbook up`"
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # (as settings has it: fix imports nothing of the lab)

# verbs that have a Python call: what a notebook cell runs instead of the command
PYTHON = {
    "up": "lab.up()",
    "up --ports auto": 'lab.up(ports="auto")',
    "up --ports default": 'lab.up(ports="default")',
    "up --sentinel": "lab.sentinel.up()",
    "down": "lab.down()",
    "status": "lab.status()",
    "doctor": "lab.doctor.show()",
    "cluster up": "lab.cluster.up()",
    "cluster down": "lab.cluster.down()",
}


def in_notebook() -> bool:
    """Whether this process is a notebook's kernel (its sentences are read in a notebook): IPython's shell
    there is the kernel's (a terminal IPython, or a process that merely imported ipykernel, is not)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def workbook() -> str:
    """The bootstrap's path as typed from the current folder: `./workbook` in the clone, `../workbook` in
    `notebooks/`, an absolute path elsewhere far away."""
    path = REPO_ROOT / "workbook"
    try:
        relative = os.path.relpath(path, os.getcwd())
    except ValueError:  # another drive (Windows)
        return str(path)
    if relative.count("..") > 2:
        return str(path)
    return relative if relative.startswith(".") else f"./{relative}"


def command(verbs: str, notebook: bool | None = None) -> str:
    """The fix for `verbs` ("up", "down && up", "endpoint clear"), in backquotes, for where it is read."""
    steps = [step.strip() for step in verbs.split("&&")]
    notebook = in_notebook() if notebook is None else notebook
    if notebook and all(step in PYTHON for step in steps):
        return "`" + "; ".join(PYTHON[step] for step in steps) + "`"
    prefix = "!" if notebook else ""
    return "`" + prefix + " && ".join(f"{workbook()} {step}" for step in steps) + "`"


def plain(verbs: str, notebook: bool | None = None) -> str:
    """The same fix without backquotes (a hint column, a checkpoint's `fix:`)."""
    return command(verbs, notebook).strip("`")
