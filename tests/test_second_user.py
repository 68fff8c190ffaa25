"""A classmate on the same host — a real second Unix user, created by the test and removed after — tries what a
careful classmate would: listen on a port the lab remembers while it is down, and read every process's command
line while an exercise's scratch servers run. The lab sends them no password, and shows them none."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from lab import credentials, exercises, servers, settings

from .conftest import need, run_lab

SYSTEM_PYTHON = "/usr/bin/python3"  # the classmate's own Python (ours lives in root's home)


@pytest.fixture
def classmate(tmp_path):
    """(a second Unix user, a folder they may write): CI runs as root and creates them; removed after."""
    need(os.geteuid() == 0 and shutil.which("useradd") is not None, "root and useradd, to create a second user")
    need(os.path.exists(SYSTEM_PYTHON), "a system python3 for the second user")
    name = f"wbmate{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    folder = Path(tempfile.mkdtemp(prefix="classmate-", dir="/tmp"))  # (pytest's folders are 0700: theirs is not)
    shutil.chown(folder, name)
    try:
        yield name, folder
    finally:
        for _ in range(20):
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            if subprocess.run(["userdel", name], capture_output=True).returncode in (0, 6):
                break
            time.sleep(0.25)
        shutil.rmtree(folder, ignore_errors=True)


LISTENER = """
import os, socket, sys, time
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
server.settimeout(0.1)
got = b""
end = time.monotonic() + float(sys.argv[3])
open(sys.argv[2] + ".ready", "w").close()
while time.monotonic() < end and not os.path.exists(sys.argv[2] + ".stop"):  # (told once the lab's commands end)
    try:
        conn, _ = server.accept()
    except socket.timeout:
        continue
    conn.settimeout(1)
    try:
        got += conn.recv(65536) or b""
    except OSError:
        pass
    conn.close()
open(sys.argv[2], "wb").write(got)
"""


def test_a_classmate_listening_on_the_labs_port_gets_no_password(classmate, lab_home):
    name, folder = classmate
    servers.up()
    s = settings.load()
    secrets_ = credentials.load(s.home).values()
    servers.down()
    heard = folder / "heard"
    listener = subprocess.Popen([SYSTEM_PYTHON, "-c", LISTENER, str(s.master_port), str(heard), "25"], user=name)
    deadline = time.monotonic() + 10
    while not Path(f"{heard}.ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    results = {verb: run_lab(*verb.split()) for verb in ("status", "up", "fetch test-key", "doctor")}
    Path(f"{heard}.stop").touch()  # (in the folder the classmate owns: they read it, we write it as root)
    listener.wait(40)
    said = heard.read_bytes()
    assert not any(secret.encode() in said for secret in secrets_), "a password reached the classmate"
    assert b"AUTH" not in said and b"HELLO" not in said and said == b"", said[:200]
    assert results["up"].returncode == 1 and name in results["up"].stderr, results["up"].stderr
    assert "Traceback" not in "".join(r.stderr for r in results.values())
    assert results["fetch test-key"].returncode == 0  # answered from the database, saying why


READER = """
import os, sys, time
seen = set()
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                seen.add(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    time.sleep(0.02)
open(sys.argv[1], "w").write("\\n".join(sorted(seen)))
"""


def test_a_classmate_reads_no_password_on_any_command_line(classmate, lab_home):
    name, folder = classmate
    servers.up()
    s = settings.load()
    seen = folder / "seen"
    reader = subprocess.Popen([SYSTEM_PYTHON, "-c", READER, str(seen), "6"], user=name)

    def slow_but_right(primary, secondary, primary_port):
        time.sleep(1.5)  # the scratch servers run meanwhile
        secondary.replicaof("127.0.0.1", primary_port)

    result = exercises.check("01.replicaof", slow_but_right)
    reader.wait(30)
    assert result.ok, result.lines()
    lines = seen.read_text().splitlines()
    redis_lines = [line for line in lines if "redis-server" in line]
    assert any("scratch-" in line for line in redis_lines), "the reader never saw the scratch servers"
    for line in redis_lines:
        assert not any(word in line for word in ("requirepass", "masterauth", "--pass", "AUTH")), line
    for secret in credentials.load(s.home).values():
        assert not any(secret in line for line in lines)
    probe = subprocess.run([SYSTEM_PYTHON, "-c", f"open({str(s.home / credentials.FILE)!r}).read()"], user=name,
                           capture_output=True, text=True)  # fmt: skip
    assert probe.returncode != 0 and "Permission denied" in probe.stderr
