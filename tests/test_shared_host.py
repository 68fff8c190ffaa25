"""On a shared host the lab's ports choose themselves: a remembered or default port someone else holds is left
for free ones (with new passwords, the data kept), sentinel and cluster ports likewise, JupyterLab and the
app take the next free port — except ports the student gave: those are refused in one sentence."""

from __future__ import annotations

import json
import socket

import pytest

from lab import clients, credentials, jupyter, ports, sentinel, servers, settings
from lab.core.errors import LabError

from .conftest import one_binary, run_lab


def _hold(port: int) -> socket.socket:
    held = socket.create_server(("127.0.0.1", port))
    held.listen()
    return held


@pytest.fixture
def remembered_lab(lab_home, monkeypatch):
    """A lab on remembered ports (not given by the environment), started once, then stopped."""
    monkeypatch.delenv("LAB_MASTER_PORT")
    monkeypatch.delenv("LAB_REPLICA_PORT")
    master, replica = ports.free_port_pair()
    lab_home.mkdir(parents=True)
    settings.remember_ports(lab_home, master, replica)
    servers.up()
    clients.client("master").set("kept", "across the move")
    servers.down()
    return lab_home, master, replica


@one_binary
def test_a_held_port_moves_the_lab_with_new_passwords_and_its_data(remembered_lab, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    home, master, replica = remembered_lab
    before = credentials.load(home)
    held = _hold(master)
    try:
        rows = servers.up()
    finally:
        held.close()
    moved = json.loads((home / "ports.json").read_text())
    assert moved["master"] != master and rows[0].port == moved["master"] and rows[0].state == "up"
    assert any("moved to free ports" in note and "new passwords" in note for note in rows.notes), rows.notes
    assert credentials.load(home).admin != before.admin
    assert clients.client("master").get("kept") == "across the move"
    assert "moved" not in " ".join(servers.up().notes)  # once moved, it stays


@one_binary
def test_ports_the_student_gave_are_never_moved(lab_home, redis_server, monkeypatch):
    monkeypatch.setenv("LAB_REDIS_SERVER", redis_server)
    held = _hold(settings.load().master_port)
    try:
        with pytest.raises(LabError, match="unset LAB_MASTER_PORT and LAB_REPLICA_PORT"):
            servers.up()
    finally:
        held.close()


@pytest.mark.slow
@one_binary
def test_a_sentinel_port_a_classmate_took_is_chosen_again(lab, monkeypatch):
    monkeypatch.delenv("LAB_SENTINEL_PORTS", raising=False)
    first = sentinel.ports()
    sentinel.up()
    sentinel.down()
    held = _hold(first[1])
    try:
        doctor = run_lab("doctor")
        assert "❌ fail Ports of sentinels" in doctor.stdout, doctor.stdout
        rows = sentinel.up()
    finally:
        held.close()
    assert all(r["state"] == "up" for r in rows) and first[1] not in sentinel.ports()
    sentinel.down()


def test_jupyterlab_and_the_app_take_the_next_free_port_unless_given(capsys):
    port = ports.free_ports(1)[0]
    held = _hold(port)
    try:
        assert jupyter.free_from(port, "JupyterLab", chosen=False) > port
        assert "uses port" in capsys.readouterr().out
        with pytest.raises(LabError, match="choose another with --port"):
            jupyter.free_from(port, "JupyterLab", chosen=True)
    finally:
        held.close()
