"""The lab's lifecycle against real redis-server processes: up, reuse, down, crash and heal, security."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis

from lab import clients, credentials, servers, settings
from lab.core.errors import LabError
from lab.state.keys import KeySchema

from .conftest import REPO, lab_processes, run_lab


def pids(s):
    return {row.role: row.pid for row in servers.status()}


def test_up_starts_a_linked_pair(pair):
    rows = {row.role: row for row in servers.status()}
    assert rows["master"].state == rows["replica"].state == "up"
    assert rows["master"].actual_role == "master" and rows["replica"].actual_role == "slave"
    assert rows["replica"].link_status == "up"
    assert rows["master"].binary == os.environ["LAB_REDIS_SERVER"] or os.path.samefile(
        rows["master"].binary, os.environ["LAB_REDIS_SERVER"]
    )


def test_up_is_idempotent(pair):
    before = pids(pair)
    servers.up()
    servers.up()
    assert pids(pair) == before
    assert len(lab_processes(pair.home)) == 2


def test_concurrent_ups_make_one_pair(lab_home, redis_server):
    env = {"LAB_REDIS_SERVER": redis_server}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "lab", "up"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0, p.stderr.read()
    assert len(lab_processes(lab_home)) == 2


def test_replication_of_the_workshop_key(pair):
    clients.client("master").set("projet", "redis cool")
    replica = clients.client("replica")
    deadline = time.monotonic() + 5
    while replica.get("projet") != "redis cool" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert replica.get("projet") == "redis cool"
    with pytest.raises(redis.ReadOnlyError):
        replica.set("projet", "nope")


def test_down_leaves_nothing(lab):
    assert servers.down() == ["replica", "master"]
    assert lab_processes(lab.home) == []
    assert all(row.state == "down" for row in servers.status())
    assert not (lab.home / "master.pid").exists() and not (lab.home / "replica.pid").exists()


def test_kill_9_master_is_healed_with_its_data(lab):
    clients.client("master").set("survivor", "yes")
    clients.client("master").execute_command("BGREWRITEAOF")  # the AOF is on disk, not only fsync'ed per second
    time.sleep(1.2)
    os.kill(pids(lab)["master"], signal.SIGKILL)
    deadline = time.monotonic() + 5
    while servers.status()[0].state != "down" and time.monotonic() < deadline:
        time.sleep(0.02)
    rows = servers.status()
    assert rows[0].state == "down" and rows[1].state == "up"  # half-dead pair, reported without a traceback
    servers.up()
    rows = servers.status()
    assert rows[0].state == "up" and rows[1].link_status == "up"
    assert clients.client("replica").get("survivor") == "yes"
    assert len(lab_processes(lab.home)) == 2


def test_stale_pid_file_is_recovered_and_never_kills_a_stranger(lab):
    servers.down()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (lab.home / "master.pid").write_text(str(stranger.pid))
        (lab.home / "replica.pid").write_text("999999")
        servers.up()
        assert servers.status()[1].link_status == "up"
        servers.down()
        assert stranger.poll() is None, "down() killed a process that was not the lab's"
    finally:
        stranger.kill()
        stranger.wait()


def test_promoted_replica_is_put_back(lab):
    clients.client("replica").execute_command("REPLICAOF", "NO", "ONE")
    assert clients.client("replica").info("replication")["role"] == "master"
    servers.up()
    assert clients.client("replica").info("replication")["role"] == "slave"
    assert servers.status()[1].link_status == "up"


def test_port_held_by_another_program(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    holder = socket.socket()
    holder.bind(("127.0.0.1", settings.load().replica_port))
    holder.listen()
    try:
        with pytest.raises(LabError, match=r"held by another program.*the lab then chooses free ports itself"):
            servers.up()
        assert lab_processes(lab_home) == [], "the master was left half-started"
        result = run_lab("up")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "held by another program" in result.stderr
    finally:
        holder.close()


def test_ports_auto_picks_and_remembers_a_free_pair(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    monkeypatch.delenv("LAB_MASTER_PORT")
    monkeypatch.delenv("LAB_REPLICA_PORT")
    rows = servers.up(ports="auto")
    chosen = json.loads((lab_home / settings.PORTS_FILE).read_text())
    assert (rows[0].port, rows[1].port) == (chosen["master"], chosen["replica"])
    assert (chosen["master"], chosen["replica"]) != (6380, 6381)
    servers.up(ports="auto")
    assert json.loads((lab_home / settings.PORTS_FILE).read_text()) == chosen  # the same pair again
    env = run_lab("env").stdout
    assert f"LAB_MASTER_PORT={chosen['master']}" in env


def test_password_is_required(pair):
    with pytest.raises(redis.AuthenticationError):
        clients.anonymous("master").ping()
    with pytest.raises(redis.AuthenticationError):
        clients.anonymous("replica").ping()


def test_credentials_are_private_and_never_logged(pair):
    path = pair.home / credentials.FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    creds = credentials.load(pair.home)
    assert all(len(p) >= 32 for p in creds.values())
    assert "***" in repr(creds) and creds.admin not in repr(creds)
    for name in ("master.log", "replica.log"):
        log = (pair.home / name).read_text()
        assert not any(p in log for p in creds.values())
    for role in ("master", "replica"):
        assert oct((pair.home / f"{role}.runtime.conf").stat().st_mode & 0o777) == "0o600"
    for conf in (REPO / "conf").glob("*.conf"):
        text = conf.read_text()
        assert not any(p in text for p in creds.values()) and str(pair.home) not in text


def test_app_user_is_restricted(pair):
    app, hello = clients.client("master", "app"), KeySchema().value("hello")
    app.set(hello, "world", ex=60)
    assert app.get(hello) == "world" and app.ttl(hello) > 0
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.set("projet", "not mine")
    for forbidden in (
        app.flushall,
        app.flushdb,
        lambda: app.config_get("*"),
        lambda: app.keys("*"),
        lambda: app.execute_command("SHUTDOWN"),
        lambda: app.execute_command("DEBUG", "SLEEP", "0"),
    ):
        with pytest.raises(redis.exceptions.NoPermissionError):
            forbidden()
    assert clients.client("master").get(hello) == "world"


def _listening(port: int) -> set[str]:
    """The local addresses listening on `port`, read from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_listeners_are_loopback_only(pair):
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as the kernel writes them
    for port in (pair.master_port, pair.replica_port):
        addresses = _listening(port)
        assert addresses and addresses <= loopback, addresses


def test_status_when_down_is_not_a_traceback(lab_home):
    result = run_lab("status")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stdout.count(" down") == 2
    data = json.loads(run_lab("status", "--json").stdout)
    assert [row["state"] for row in data] == ["down", "down"]


def test_helpers_say_start_the_lab_when_it_is_down(lab_home, in_a_notebook):
    with pytest.raises(LabError, match=r"lab\.up\(\)"):
        clients.client("master")
