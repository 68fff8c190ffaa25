"""Every fix a student is told to run works where it is shown: a Python call in a notebook (or a command that
runs from the notebook's folder), `./workbook VERB` in a terminal, from the clone — never `python -m lab`."""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess

import pytest

import lab
from lab import fix
from lab.cli import main as cli

from .conftest import REPO


def _strings(path) -> list[str]:
    """Every string a module holds (f-strings' literal parts included), with the lines they start on."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(f"{path.name}:{node.lineno}: {node.value}")
    return found


def test_no_sentence_tells_a_student_to_run_python_m_lab():
    told = [s for p in sorted((REPO / "lab").glob("*.py")) if p.name not in ("fix.py", "__main__.py")
            for s in _strings(p) if "python -m lab" in s]  # fmt: skip
    for path in sorted((REPO / "notebooks").rglob("*.ipynb")):
        told += [f"{path.name}: {c['source'][:80]}" for c in json.loads(path.read_text())["cells"]
                 if "python -m lab" in "".join(c["source"])]  # fmt: skip
    for path in sorted((REPO / "conf").glob("*.conf")):
        told += [f"{path.name}: {line}" for line in path.read_text().splitlines() if "python -m lab" in line]
    assert told == []


def test_fixes_are_python_calls_in_a_notebook_and_workbook_commands_in_a_terminal(monkeypatch):
    monkeypatch.chdir(REPO)
    assert fix.command("down && up", notebook=True) == "`lab.down(); lab.up()`"
    assert fix.command("down && up", notebook=False) == "`./workbook down && ./workbook up`"
    monkeypatch.chdir(REPO / "notebooks")
    assert fix.command("endpoint clear", notebook=True) == "`!../workbook endpoint clear`"
    monkeypatch.chdir(REPO / "notebooks" / "app")
    assert fix.command("endpoint clear", notebook=True) == "`!../../workbook endpoint clear`"
    for verbs in fix.PYTHON:  # every terminal form is a command the lab understands
        for step in fix.plain(verbs, notebook=False).split(" && "):
            cli.parser().parse_args(shlex.split(step)[1:])  # exits (fails the test) if not


@pytest.mark.slow
def test_every_python_fix_runs_in_a_notebook(lab_home):
    order = ["up", "status", "doctor", "up --ports auto", "up --ports default", "up --sentinel", "cluster up",
             "cluster down", "down"]  # fmt: skip
    assert sorted(order) == sorted(fix.PYTHON)
    for verbs in order:
        call = fix.plain(verbs, notebook=True)
        try:
            exec(call, {"lab": lab})  # noqa: S102 - our own fixes
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"the fix {call!r} raised {type(exc).__name__}: {exc}")


def test_terminal_and_notebook_commands_run_from_where_they_are_shown(monkeypatch):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for folder, notebook in ((REPO, False), (REPO / "notebooks", True)):
        monkeypatch.chdir(folder)  # a kernel's folder is its notebook's; a terminal's, where the student is
        shown = fix.plain("endpoint show", notebook=notebook)
        command = shown.removeprefix("!")  # a notebook's `!` hands the rest to the shell, in the notebook's folder
        done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, (shown, done.stdout, done.stderr)
        assert "none: the lab runs its own servers" in done.stdout or "://" in done.stdout, done.stdout


def test_the_lab_env_exports_are_the_only_thing_on_stdout():
    """`eval "$(./workbook env)"` (chapter 01, the README): nothing but shell lines reach stdout."""
    done = subprocess.run(["bash", "-c", "./workbook env"], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "LAB_HOME": "/nonexistent-lab-home-for-a-test"})  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line]
    assert all(line.startswith(("#", "export ")) for line in lines), done.stdout
