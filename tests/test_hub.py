"""A class on one host, as the README's admin sets it up: a shared environment built once from the system's
Python (root's, read-only for students), the workbook published as a git bundle, two real Unix students who
clone it and run a quick report at the same time on the default ports (the second lab moves by itself), and a
kernel started the way a hub starts one — without `./workbook` — that imports `lab` and starts its lab."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lab import ports

from .conftest import REPO, need

SYSTEM_PYTHON = "/usr/bin/python3"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub")]


@pytest.fixture(scope="module")
def shared_env():
    """`WORKBOOK_VENV=/opt/... /usr/bin/python3 ./workbook setup --hub`, as the admin runs it once."""
    need(os.geteuid() == 0 and shutil.which("useradd"), "root and useradd (to create students)")
    need(subprocess.run([SYSTEM_PYTHON, "-c", "import ensurepip, venv"]).returncode == 0,
         "the system's python3 with venv (apt-get install python3-venv)")  # fmt: skip
    venv = Path(f"/opt/wbtest-{secrets.token_hex(3)}")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/root", "WORKBOOK_VENV": str(venv)}
    done = subprocess.run([SYSTEM_PYTHON, str(REPO / "workbook"), "setup", "--hub"], env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    subprocess.run(["chmod", "-R", "go-w", str(venv)], check=True)  # read-only for the students
    yield venv
    shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """The workbook as the admin publishes it: a git bundle (a file: no repository ownership for git to doubt)."""
    folder = Path(f"/tmp/wbtest-src-{secrets.token_hex(3)}")
    folder.mkdir(mode=0o755)
    path = folder / "redis-workbook.bundle"
    subprocess.run(["git", "-C", str(REPO), "bundle", "create", str(path), "HEAD", "--branches"], check=True,
                   capture_output=True)  # fmt: skip
    path.chmod(0o644)
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def students():
    names = [f"wbstu{secrets.token_hex(2)}{n}" for n in range(2)]
    homes = {}
    for name in names:
        home = Path(f"/tmp/home-{name}")
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", name], check=True)
        home.chmod(0o700)
        homes[name] = home
    try:
        yield homes
    finally:
        for name in homes:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        time.sleep(0.3)
        for name, home in homes.items():
            subprocess.run(["userdel", "--remove", name], capture_output=True)
            shutil.rmtree(home, ignore_errors=True)


def _as(name: str, home: Path, command: str, venv: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """A student's shell command, with the environment a hub gives them (no root PATH, no PYTHONPATH)."""
    env = {"HOME": str(home), "USER": name, "PATH": f"{venv}/bin:/usr/bin:/bin", "WORKBOOK_VENV": str(venv),
           "LANG": "C.UTF-8"}  # fmt: skip
    return subprocess.run(["sh", "-c", command], user=name, env=env, cwd=home, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


HUB_KERNEL = """
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(cwd="{notebooks}")
try:
    reply = []
    kc.execute_interactive("import lab; rows = lab.up(); print('UP', rows[0].state, rows[1].link_status, lab.__file__)",
                           output_hook=lambda m: reply.append(m["content"].get("text", "")), timeout=120)
    print("".join(reply))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
"""


def test_a_class_on_one_host(shared_env, bundle, students):
    need(not ports.port_taken(6380) and not ports.port_taken(6381), "the default ports 6380/6381 free")
    for name, home in students.items():
        cloned = _as(name, home, f"git clone --quiet {bundle} redis-cache-workbook", shared_env)
        assert cloned.returncode == 0, cloned.stderr
    results: dict[str, subprocess.CompletedProcess] = {}
    started = time.monotonic()

    def report(name: str, home: Path) -> None:
        results[name] = _as(name, home, "cd redis-cache-workbook && ./workbook report --quick", shared_env)

    workers = [threading.Thread(target=report, args=item) for item in students.items()]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.monotonic() - started
    try:
        chosen = {}
        for name, home in students.items():
            result = results[name]
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            assert "Traceback" not in result.stderr and "all chapters passed" in result.stdout
            clone = home / "redis-cache-workbook"
            out = clone / "report"
            assert (
                stat.S_IMODE(out.stat().st_mode) == 0o700
                and stat.S_IMODE((out / "handin.html").stat().st_mode) == 0o600
            )
            status = _as(name, home, "cd redis-cache-workbook && ./workbook status", shared_env)
            chosen[name] = [
                line.split()[2] for line in status.stdout.splitlines() if line.startswith(("master", "replica"))
            ]
        assert len({tuple(p) for p in chosen.values()}) == 2, chosen  # the second lab moved to free ports
        assert ["6380", "6381"] in chosen.values()
        first, home = next(iter(students.items()))
        notebooks = home / "redis-cache-workbook" / "notebooks"
        kernel = _as(first, home, f"{shared_env}/bin/python -c '{HUB_KERNEL.format(notebooks=notebooks)}'", shared_env)
        assert "UP up up" in kernel.stdout and str(home / "redis-cache-workbook" / "lab") in kernel.stdout, (
            kernel.stdout + kernel.stderr
        )
        print(f"two students' quick reports at once: {wall:.0f} s")
    finally:
        for name, home in students.items():
            _as(name, home, "cd redis-cache-workbook && ./workbook down", shared_env, timeout=120)


def test_a_shared_environment_from_a_private_python_is_one_sentence(tmp_path):
    """Built from a Python under a private folder (root's pyenv under /root, 0700), it would break every
    student: the bootstrap refuses it in one sentence, with the command to use instead."""
    need(os.path.exists(SYSTEM_PYTHON), "a system python3")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    python = private / "python3"
    shutil.copy2(os.path.realpath(SYSTEM_PYTHON), python)  # (its standard library is found where it was built)
    done = subprocess.run([str(python), str(REPO / "workbook"), "setup"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "WORKBOOK_VENV": str(tmp_path / "shared")}, timeout=60)  # fmt: skip
    assert done.returncode == 1 and "which other users cannot run" in done.stderr, done.stderr
    assert "/usr/bin/python3 ./workbook setup" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "shared").exists()
